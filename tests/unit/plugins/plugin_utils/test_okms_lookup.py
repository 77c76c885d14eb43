# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OkmsLookupBase: a lookup gets the modules' connection options, client and error texts.

The lookup under test is defined here (the collection ships none yet): it GETs
each term with ``api_client()``. Its options come from the ``ovhcloud.kms.api``
fragment and its ``PLUGINS`` variant, merged and registered with Ansible's
configuration manager the way the plugin loader does it, so ``get_option``
resolves direct options, ``vars:`` and ``env:`` entries for real. Requests go
to a local HTTPS API (its CA trusted through REQUESTS_CA_BUNDLE), which shows
which credentials each one carried.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os

import pytest
import yaml

from ansible import constants as C
from ansible.errors import AnsibleError

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import CONNECTION_ARGUMENT_SPEC
from ansible_collections.ovhcloud.kms.plugins.plugin_utils import okms_lookup
from ansible_collections.ovhcloud.kms.plugins.plugin_utils.okms_lookup import OkmsLookupBase
from ansible_collections.ovhcloud.kms.tests.unit.plugins.plugin_utils.collection_doc_fragments import (
    merged_documentation,
)
from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.okms_fakes import make_ca_and_server_certificate
from ansible_collections.ovhcloud.kms.tests.unit.plugins.plugin_utils.local_ovh_api import LocalOvhApi

PROBE_NAME = "ovhcloud.kms.okms_unit_test_probe"
PROBE_DOCUMENTATION = r"""
name: okms_unit_test_probe
short_description: GETs each term with the collection's API client (test only)
description: [GETs each term with the collection's API client.]
extends_documentation_fragment:
  - ovhcloud.kms.api
  - ovhcloud.kms.api.plugins
"""
COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(okms_lookup.__file__))))

ENV_SECRET = "env-application-secret-1f4e"
CONF_SECRET = "conf-application-secret-77b2"
VAR_SECRET = "var-application-secret-c0d3"
DIRECT_SECRET = "direct-application-secret-9aa1"
ENV_CONSUMER = "env-consumer-key-5e6f"
CONF_CONSUMER = "conf-consumer-key-2c3d"
VAR_CONSUMER = "var-consumer-key-8b9a"
CLIENT_SECRET = "oauth2-client-secret-4d5e"
SECRETS = (ENV_SECRET, CONF_SECRET, VAR_SECRET, DIRECT_SECRET, ENV_CONSUMER, CONF_CONSUMER, VAR_CONSUMER,
           CLIENT_SECRET)


class LookupModule(OkmsLookupBase):
    def lookup(self, terms, variables):
        return [self.api_client().get(term) for term in terms]


def probe_documentation():
    return merged_documentation(PROBE_DOCUMENTATION, __file__)


@pytest.fixture
def make_probe():
    C.config.initialize_plugin_configuration_definitions("lookup", PROBE_NAME, probe_documentation()["options"])

    def make():
        probe = LookupModule()
        probe._load_name = PROBE_NAME
        return probe

    return make


@pytest.fixture
def api(monkeypatch):
    with LocalOvhApi() as local_api:
        # The default trust, as a user's own CA bundle would be.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", local_api.ca_path)
        yield local_api


@pytest.fixture
def ovh_conf(tmp_path):
    """Writes ~/.ovh.conf (HOME is tmp_path) with [default] and one endpoint section."""

    def write(endpoint, **credentials):
        lines = ["[default]", "endpoint=%s" % endpoint, "", "[%s]" % endpoint]
        lines += ["%s=%s" % item for item in sorted(credentials.items())]
        (tmp_path / ".ovh.conf").write_text("\n".join(lines) + "\n")

    return write


def the_request(api):
    """The one request the probe sent for its term (besides /auth/time and the token)."""
    calls = api.calls_to("/v2/okms/resource")
    assert len(calls) == 1
    return calls[0]


# --- the documentation ---------------------------------------------------------------

def test_plugins_variant_gives_each_connection_option_its_environment_variable_and_role_variable():
    options = probe_documentation()["options"]
    module_options = yaml.safe_load(
        importlib.import_module("ansible_collections.ovhcloud.kms.plugins.doc_fragments.api")
        .ModuleDocFragment.DOCUMENTATION)["options"]
    assert sorted(options) == sorted(CONNECTION_ARGUMENT_SPEC)
    with open(os.path.join(COLLECTION_ROOT, "roles", "okms", "defaults", "main.yml")) as handle:
        role_defaults = yaml.safe_load(handle)
    for name, option in options.items():
        # Descriptions, types and defaults are the modules'.
        for key in ("description", "type", "default"):
            assert option.get(key) == module_options[name].get(key), (name, key)
        variable = "okms_api_%s" % name
        assert option["vars"] == [{"name": variable}]
        assert variable in role_defaults, "%s is not a variable of the role" % variable
        if name in okms_lookup.RESOLVED_OPTIONS:
            assert option["env"] == [{"name": "OVH_%s" % name.upper()}]
        else:
            # The modules read no environment variable for these either.
            assert "env" not in option


# --- where each value comes from ----------------------------------------------------

def test_ovh_conf_alone_configures_the_lookup(make_probe, api, ovh_conf):
    ovh_conf(api.endpoint, application_key="conf-ak", application_secret=CONF_SECRET, consumer_key=CONF_CONSUMER)
    api.answers["/v2/okms/resource"] = (200, [{"id": "kms-1"}], {})

    assert make_probe().run(["/v2/okms/resource"], variables={}) == [[{"id": "kms-1"}]]

    request = the_request(api)
    assert request.headers["X-Ovh-Application"] == "conf-ak"
    assert api.signed_with(request, CONF_SECRET, CONF_CONSUMER)


def test_environment_wins_over_ovh_conf_field_by_field(make_probe, api, ovh_conf, monkeypatch):
    ovh_conf(api.endpoint, application_key="conf-ak", application_secret=CONF_SECRET, consumer_key=CONF_CONSUMER)
    monkeypatch.setenv("OVH_APPLICATION_KEY", "env-ak")
    monkeypatch.setenv("OVH_CONSUMER_KEY", ENV_CONSUMER)

    make_probe().run(["/v2/okms/resource"], variables={})

    request = the_request(api)
    assert request.headers["X-Ovh-Application"] == "env-ak"
    assert api.signed_with(request, CONF_SECRET, ENV_CONSUMER)


def test_role_variables_win_over_environment_and_the_lookup_option_over_both(make_probe, api, ovh_conf, monkeypatch):
    ovh_conf("ovh-eu", application_key="conf-ak", application_secret=CONF_SECRET, consumer_key=CONF_CONSUMER)
    monkeypatch.setenv("OVH_ENDPOINT", "ovh-ca")
    monkeypatch.setenv("OVH_APPLICATION_KEY", "env-ak")
    monkeypatch.setenv("OVH_APPLICATION_SECRET", ENV_SECRET)
    monkeypatch.setenv("OVH_CONSUMER_KEY", ENV_CONSUMER)
    variables = dict(okms_api_endpoint=api.endpoint, okms_api_application_key="var-ak",
                     okms_api_application_secret=VAR_SECRET, okms_api_consumer_key=VAR_CONSUMER)

    make_probe().run(["/v2/okms/resource"], variables=variables)
    request = the_request(api)
    assert request.headers["X-Ovh-Application"] == "var-ak"
    assert api.signed_with(request, VAR_SECRET, VAR_CONSUMER)

    api.requests[:] = []
    make_probe().run(["/v2/okms/resource"], variables=variables, application_key="direct-ak",
                     application_secret=DIRECT_SECRET)
    request = the_request(api)
    assert request.headers["X-Ovh-Application"] == "direct-ak"
    assert api.signed_with(request, DIRECT_SECRET, VAR_CONSUMER)


def test_empty_role_variables_and_options_count_as_unset(make_probe, api, monkeypatch):
    # The role's defaults: every okms_api_* variable is "" (or null).
    monkeypatch.setenv("OVH_ENDPOINT", api.endpoint)
    monkeypatch.setenv("OVH_CLIENT_ID", "env-client")
    monkeypatch.setenv("OVH_CLIENT_SECRET", CLIENT_SECRET)
    variables = dict(okms_api_endpoint="", okms_api_application_key="", okms_api_application_secret="",
                     okms_api_consumer_key="", okms_api_client_id="", okms_api_client_secret="",
                     okms_api_ca_path="", okms_api_validate_certs=None, okms_api_timeout=None)
    probe = make_probe()

    probe.run(["/v2/okms/resource"], variables=variables, client_id="", ca_path="")

    token_request, = api.calls_to("/auth/oauth2/token")
    assert token_request.form()["client_id"] == "env-client"
    assert token_request.form()["client_secret"] == CLIENT_SECRET
    assert the_request(api).headers["Authorization"] == "Bearer token-of-env-client"
    transport = probe.api_client().transport
    # An empty ca_path is no CA file (Ansible would have made it the current directory).
    assert transport.verify is True
    assert transport.timeout == 30


def test_oauth2_credentials_from_a_role_variable_and_the_environment(make_probe, api, monkeypatch):
    monkeypatch.setenv("OVH_CLIENT_SECRET", CLIENT_SECRET)

    make_probe().run(["/v2/okms/resource"], variables=dict(okms_api_endpoint=api.endpoint,
                                                           okms_api_client_id="var-client"))

    token_request, = api.calls_to("/auth/oauth2/token")
    assert token_request.form()["client_id"] == "var-client"
    assert token_request.form()["client_secret"] == CLIENT_SECRET
    assert the_request(api).headers["Authorization"] == "Bearer token-of-var-client"


def test_tls_and_timeout_options_come_from_role_variables(make_probe, api, monkeypatch, tmp_path):
    warnings = []
    monkeypatch.setattr(okms_lookup.display, "warning", warnings.append)
    ca_file = tmp_path / "extra-ca.pem"
    ca_file.write_bytes(make_ca_and_server_certificate("extra")[0])
    connection = dict(okms_api_endpoint=api.endpoint, okms_api_client_id="cid", okms_api_client_secret=CLIENT_SECRET)

    probe = make_probe()
    probe.run([], variables=dict(connection, okms_api_ca_path=str(ca_file), okms_api_timeout="7"))
    transport = probe.api_client().transport
    assert transport.timeout == 7
    assert transport.extra_ca.ca_path == str(ca_file)
    trusted = [dict(item[0] for item in cert["subject"]).get("commonName")
               for cert in transport.extra_ca.context.get_ca_certs()]
    assert "extra test CA" in trusted and "local OVHcloud API test CA" in trusted
    assert warnings == []

    probe.run([], variables=dict(connection, okms_api_validate_certs=False))
    assert probe.api_client().transport.verify is False
    assert warnings == ["validate_certs is false: the API server's TLS certificate is not checked."]


def test_one_client_per_run(make_probe, api, ovh_conf):
    ovh_conf(api.endpoint, application_key="conf-ak", application_secret=CONF_SECRET, consumer_key=CONF_CONSUMER)
    probe = make_probe()

    probe.run(["/v2/okms/resource", "/v2/okms/resource"], variables={})
    client = probe.api_client()
    assert probe.api_client() is client
    # A right clock signs every request: the server time is never asked.
    assert api.calls_to("/1.0/auth/time") == []
    assert len(api.calls_to("/v2/okms/resource")) == 2

    probe.run(["/v2/okms/resource"], variables={})
    assert probe.api_client() is not client


def test_the_client_names_the_lookup_in_its_user_agent(make_probe, api, ovh_conf):
    ovh_conf(api.endpoint, application_key="conf-ak", application_secret=CONF_SECRET, consumer_key=CONF_CONSUMER)
    make_probe().run(["/v2/okms/resource"], variables={})
    assert the_request(api).headers["User-Agent"].endswith(" (lookup okms_unit_test_probe)")


# --- failures ------------------------------------------------------------------------

def assert_no_secret(text):
    for secret in SECRETS:
        assert secret not in text


def test_configuration_errors_name_each_source_and_no_secret(make_probe, monkeypatch, ovh_conf):
    ovh_conf("ovh-eu", client_secret=CLIENT_SECRET)
    monkeypatch.setenv("OVH_APPLICATION_KEY", "env-ak")
    monkeypatch.setenv("OVH_APPLICATION_SECRET", ENV_SECRET)
    variables = dict(okms_api_consumer_key=VAR_CONSUMER, okms_api_client_id="var-client")

    with pytest.raises(AnsibleError) as failure:
        make_probe().run(["/v2/okms/resource"], variables=variables)

    message = str(failure.value)
    assert message.startswith("OVHcloud API configuration: Both application-key credentials (")
    assert "application_key (from environment variable OVH_APPLICATION_KEY)" in message
    assert "application_secret (from environment variable OVH_APPLICATION_SECRET)" in message
    assert "client_secret (from [ovh-eu] client_secret in files " in message
    assert "use exactly one authentication method" in message
    assert_no_secret(message)


def test_missing_endpoint_is_reported_naming_the_lookups_sources(make_probe):
    with pytest.raises(AnsibleError) as failure:
        make_probe().run(["/v2/okms/resource"], variables=dict(okms_api_client_secret=CLIENT_SECRET))

    assert str(failure.value).startswith(
        "OVHcloud API configuration: No OVHcloud API endpoint configured. Looked in: "
        "lookup option or okms_api_* variable endpoint, environment variable OVH_ENDPOINT, [default] endpoint in files ")


def test_api_errors_keep_the_modules_text_and_no_secret(make_probe, api):
    api.answers["/v2/okms/resource"] = (
        403, {"class": "Client::Forbidden", "message": "This call has not been granted"},
        {"X-Ovh-QueryID": "EU.ext-3.6789abcd"})
    variables = dict(okms_api_endpoint=api.endpoint, okms_api_application_key="var-ak",
                     okms_api_application_secret=VAR_SECRET, okms_api_consumer_key=VAR_CONSUMER)

    with pytest.raises(AnsibleError) as failure:
        make_probe().run(["/v2/okms/resource"], variables=variables)

    assert str(failure.value) == ("GET /v2/okms/resource, HTTP 403, Client::Forbidden: This call has not been "
                                  "granted (X-Ovh-QueryID: EU.ext-3.6789abcd)")


def test_bad_timeout_and_unreadable_ca_path_are_refused_before_any_request(make_probe, api, tmp_path):
    connection = dict(okms_api_endpoint=api.endpoint, okms_api_client_id="cid", okms_api_client_secret=CLIENT_SECRET)

    with pytest.raises(AnsibleError) as failure:
        make_probe().run(["/v2/okms/resource"], variables=connection, timeout=0)
    assert str(failure.value) == "timeout must be a positive number of seconds, got 0"

    missing = str(tmp_path / "no-such-ca.pem")
    with pytest.raises(AnsibleError) as failure:
        make_probe().run(["/v2/okms/resource"], variables=dict(connection, okms_api_ca_path=missing))
    assert str(failure.value) == "ca_path: cannot read %s: No such file or directory" % missing
    assert api.requests == []
