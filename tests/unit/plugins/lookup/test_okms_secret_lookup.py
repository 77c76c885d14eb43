# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The okms_secret lookup, run in-process against the fake API.

Its options are registered with Ansible's configuration manager from its own
documentation merged with the collection's fragments, as the plugin loader does;
``api_client()`` is the fake. Every error names the path and the KMS, and never
shows a value of the data. (How the connection is configured is
OkmsLookupBase's, tested in tests/unit/plugins/plugin_utils; the lookup through
ansible-playbook is tested by the okms_secret_lookup integration target.)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast

import pytest

from ansible import constants as C
from ansible.errors import AnsibleError

from ansible_collections.ovhcloud.kms.plugins.lookup import okms_secret as lookup_plugin
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.secrets import ITEM, install
from ansible_collections.ovhcloud.kms.tests.unit.plugins.plugin_utils.collection_doc_fragments import (
    merged_documentation,
)

NAME = "ovhcloud.kms.okms_secret"
OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
LABEL = "secret 'app/db' of KMS %s" % OKMS_ID
V1 = {"username": "app", "password": "first-pass-2c4e"}
V2 = {"username": "app", "password": "second-pass-8a1f", "port": 5432}


def documentation():
    with open(lookup_plugin.__file__) as handle:
        tree = ast.parse(handle.read())
    text = next(node.value.value for node in tree.body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION")
    return merged_documentation(text, lookup_plugin.__file__)


@pytest.fixture
def api():
    api = FakeOkmsApi()
    install(api).add_kms(OKMS_ID)
    api.secrets.add_secret(OKMS_ID, "app/db", V1, V2)
    api.secrets.add_secret(OKMS_ID, "app/token", {"token": "tok-value-77"})
    return api


@pytest.fixture
def lookup(api, monkeypatch):
    """``lookup(*terms, **options)``: the plugin's result list."""
    C.config.initialize_plugin_configuration_definitions("lookup", NAME, documentation()["options"])
    monkeypatch.setattr(lookup_plugin.LookupModule, "api_client", lambda self: api)

    def run(*terms, **options):
        plugin = lookup_plugin.LookupModule()
        plugin._load_name = NAME
        options.setdefault("okms_id", OKMS_ID)
        return plugin.run(list(terms), variables={}, **options)
    return run


def failure(lookup, *terms, **options):
    with pytest.raises(AnsibleError) as error:
        lookup(*terms, **options)
    message = str(error.value)
    for value in ("first-pass-2c4e", "second-pass-8a1f", "tok-value-77"):
        assert value not in message
    return message


def test_the_data_of_the_current_version(lookup, api):
    assert lookup("app/db") == [V2]
    assert [request.params for request in api.calls("GET")] == [{"includeData": "true"}]
    assert api.mutations() == []


def test_one_field_of_an_older_version_and_several_terms(lookup):
    assert lookup("app/db", version=1, field="password") == ["first-pass-2c4e"]
    assert lookup("app/db", "app/token") == [V2, {"token": "tok-value-77"}]
    assert lookup("app/db", field="port") == [5432]


def test_a_missing_secret(lookup):
    assert failure(lookup, "app/nope") == "secret 'app/nope' of KMS %s does not exist" % OKMS_ID


def test_a_missing_version(lookup):
    assert failure(lookup, "app/db", version=9) == (
        "%s has no version 9 (never written, or deleted for good to keep only maxVersions versions)" % LABEL)


def test_a_missing_field_lists_the_fields_never_their_values(lookup):
    assert failure(lookup, "app/db", field="pasword") == (
        "%s has no field 'pasword' in its current version; its fields are: password, port, username" % LABEL)
    assert failure(lookup, "app/db", field="port", version=1) == (
        "%s has no field 'port' in version 1; its fields are: password, username" % LABEL)


def test_a_deactivated_or_deleted_version(lookup, api):
    versions = api.secrets.record(OKMS_ID, "app/db")["versions"]
    versions["2"]["state"] = "DEACTIVATED"
    assert failure(lookup, "app/db") == (
        "version 2 of %s is deactivated: its data cannot be read until the version is reactivated, or read an active "
        "version with version=" % LABEL)
    assert lookup("app/db", version=1) == [V1]
    versions["1"].update(state="DELETED", data=None)
    assert failure(lookup, "app/db", version=1) == "version 1 of %s is deleted: its data is gone for good" % LABEL


def test_a_kms_that_does_not_exist(lookup):
    assert failure(lookup, "app/db", okms_id="00000000-0000-4000-8000-000000000000") == (
        "secret 'app/db' of KMS 00000000-0000-4000-8000-000000000000 cannot be read: KMS "
        "00000000-0000-4000-8000-000000000000 does not exist (check okms_id)")


def test_a_refused_request_names_the_secret_and_the_kms(lookup, api):
    def forbidden(request, okms_id, path):
        raise OvhApiError("This call has not been granted", status=403, error_class="Client::Forbidden",
                          method=request.method, path=request.path)
    api.route("GET", ITEM, forbidden, first=True)
    assert failure(lookup, "app/db") == (
        "cannot read %s: GET /v2/okms/resource/%s/secret/app%%2Fdb, HTTP 403, Client::Forbidden: This call has not "
        "been granted" % (LABEL, OKMS_ID))


@pytest.mark.parametrize("terms, options, message", [
    (["a b"], {}, 'secret path "a b" holds " ": only the characters [a-zA-Z0-9_.:/=@-] are allowed (KMS %s)'
     % OKMS_ID),
    (["app/db"], {"version": 0}, "version must be a version number from 1 to 24000, got 0"),
    (["app/db"], {"okms_id": ""}, "okms_id is required: the id of the KMS that holds the secrets"),
])
def test_bad_input_fails_before_any_request(lookup, api, terms, options, message):
    assert failure(lookup, *terms, **options) == message
    assert api.requests == []
