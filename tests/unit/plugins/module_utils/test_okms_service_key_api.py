# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ServiceKeyApi: paths, 404 as absent, re-reads after a lost answer, and errors that say what was being done."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_service_key import resolve_key_spec
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_service_key_api import (
    ServiceKeyApi,
    ServiceKeyNameConflict,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhAmbiguousRequestError, OvhApiError
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.service_keys import COLLECTION, ITEM, install

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
KEYS = "/v2/okms/resource/%s/serviceKey" % OKMS_ID
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


class LosesBeforeApplying(FakeOkmsApi):
    """A fake whose next write of ``method`` never reaches the server, but whose caller cannot know it."""

    def __init__(self, method):
        super(LosesBeforeApplying, self).__init__()
        self.lost_method = method
        self.lost = []  # (method, path) of the writes that never arrived

    def request(self, method, path, params=None, body=None):
        if method == self.lost_method:
            self.lost_method = None
            self.lost.append((method, path))
            raise OvhAmbiguousRequestError("the request may or may not have been applied (ReadTimeout)",
                                           method=method, path=path)
        return super(LosesBeforeApplying, self).request(method, path, params, body)


@pytest.fixture
def fake():
    fake = FakeOkmsApi()
    install(fake).add_kms(OKMS_ID)
    return fake


def keys_api(fake):
    return ServiceKeyApi(fake, OKMS_ID)


def test_paths():
    api = ServiceKeyApi(None, OKMS_ID)
    assert api.collection_path == KEYS
    assert api.key_path("k1") == KEYS + "/k1"


def test_a_missing_key_reads_as_none_and_other_errors_name_the_read(fake):
    api = keys_api(fake)
    assert api.get(UNKNOWN_ID) is None
    with pytest.raises(OvhApiError) as error:
        api.get("not-a-uuid")
    assert str(error.value).startswith("cannot read service key not-a-uuid: GET %s/not-a-uuid, HTTP 400" % KEYS)
    with pytest.raises(ValueError):
        api.get(UNKNOWN_ID, "DER")


def test_public_key_in_each_format(fake):
    api = keys_api(fake)
    ec_key = fake.service_keys.add_key(OKMS_ID, "ec", "EC", curve="P-521")
    oct_key = fake.service_keys.add_key(OKMS_ID, "aes")
    jwk = api.public_key(ec_key, "JWK")
    assert jwk["kid"] == ec_key["id"] and jwk["crv"] == "P-521" and "d" not in jwk
    assert api.public_key(ec_key, "PEM").startswith("-----BEGIN PUBLIC KEY-----")
    assert fake.calls("GET", ITEM)[-1].params == {"format": "PEM"}
    assert api.public_key(oct_key, "JWK") == {"kid": oct_key["id"], "kty": "oct", "key_ops": ["encrypt", "decrypt"]}
    assert api.public_key(oct_key, "PEM") is None
    assert api.public_key({"id": UNKNOWN_ID, "name": "gone"}, "JWK") is None


def test_find_by_name_skips_destroyed_keys_and_refuses_to_guess(fake):
    api = keys_api(fake)
    fake.service_keys.add_key(OKMS_ID, "db", state="DESTROYED")
    assert api.find_by_name("db") is None
    live = fake.service_keys.add_key(OKMS_ID, "db")
    assert api.find_by_name("db")["id"] == live["id"]
    second = fake.service_keys.add_key(OKMS_ID, "db", state="COMPROMISED")
    with pytest.raises(ServiceKeyNameConflict) as conflict:
        api.find_by_name("db")
    assert conflict.value.key_ids == [live["id"], second["id"]]
    assert str(conflict.value) == ("2 service keys of KMS %s are named db (ids: %s, %s): give id to choose one"
                                   % (OKMS_ID, live["id"], second["id"]))


def test_list_is_every_key_oldest_first(fake):
    api = keys_api(fake)
    names = ["a", "b", "c"]
    for name in names:
        fake.service_keys.add_key(OKMS_ID, name, state="DESTROYED" if name == "b" else "ACTIVE")
    assert [key["name"] for key in api.list()] == names


# --- writes whose answer is lost ------------------------------------------------------------------

def test_a_create_applied_but_unanswered_is_re_read_once_and_never_repeated(fake):
    fake.lose_answer("POST", COLLECTION)
    created = keys_api(fake).create("db", resolve_key_spec("oct"))
    assert created["name"] == "db" and created["id"] == fake.service_keys.keys(OKMS_ID)[0]["id"]
    assert [repr(request) for request in fake.requests] == ["POST %s" % KEYS, "GET %s" % KEYS]


def test_a_create_that_never_arrived_fails_naming_it_after_one_re_read():
    fake = LosesBeforeApplying("POST")
    install(fake).add_kms(OKMS_ID)
    with pytest.raises(OvhAmbiguousRequestError) as error:
        keys_api(fake).create("db", resolve_key_spec("RSA"))
    assert str(error.value).startswith("cannot create service key 'db': POST %s: the request may or may not" % KEYS)
    # Sent once, then one re-read by name found nothing: the POST is not repeated.
    assert fake.lost == [("POST", KEYS)]
    assert [repr(request) for request in fake.requests] == ["GET %s" % KEYS]
    assert fake.service_keys.keys(OKMS_ID) == []


def test_an_import_names_itself_in_errors(fake):
    with pytest.raises(OvhApiError) as error:
        keys_api(fake).import_key("db", {"kty": "oct", "k": "AAAA", "kid": "db", "key_ops": ["encrypt", "decrypt"]})
    assert str(error.value).startswith("cannot import service key 'db': POST %s, HTTP 400, "
                                       "Client::BadRequest::ServiceKeyKInvalidFormat" % KEYS)
    assert error.value.status == 400


def test_a_create_refused_names_the_key(fake):
    with pytest.raises(OvhApiError) as error:
        keys_api(fake).create("x" * 33, resolve_key_spec("oct"))
    assert str(error.value).startswith("cannot create service key '%s': POST %s, HTTP 400, "
                                       "Client::BadRequest::ServiceKeyNameMaxExceeded" % ("x" * 33, KEYS))
    # A refusal is an answer: nothing to re-read.
    assert [request.method for request in fake.requests] == ["POST"]


def test_an_update_applied_but_unanswered_is_confirmed_by_re_reading(fake):
    key = fake.service_keys.add_key(OKMS_ID, "db")
    fake.lose_answer("PUT", ITEM)
    current = keys_api(fake).rename(key, "db2")
    assert current["name"] == "db2"
    assert [request.method for request in fake.requests] == ["PUT", "GET"]


def test_a_deactivation_for_a_compromise_is_confirmed_as_compromised(fake):
    key = fake.service_keys.add_key(OKMS_ID, "db")
    fake.lose_answer("PUT", ITEM)
    current = keys_api(fake).change_state(key, {"state": "DEACTIVATED", "deactivationReason": "KEY_COMPROMISE"})
    assert current["state"] == "COMPROMISED"


def test_an_update_that_never_arrived_fails_naming_it():
    fake = LosesBeforeApplying("PUT")
    key = install(fake).add_key(fake.service_keys.add_kms(OKMS_ID), "db")
    with pytest.raises(OvhAmbiguousRequestError) as error:
        keys_api(fake).change_state(key, {"state": "DEACTIVATED", "deactivationReason": "SUPERSEDED"})
    assert str(error.value).startswith("cannot move service key 'db' (%s) to DEACTIVATED: PUT" % key["id"])
    with pytest.raises(OvhAmbiguousRequestError) as error:
        fake.lost_method = "PUT"
        keys_api(fake).change_state(key, {"state": "DEACTIVATED", "deactivationReason": "SUPERSEDED"},
                                    action="deactivate service key 'db' before deleting it")
    assert str(error.value).startswith("cannot deactivate service key 'db' before deleting it: PUT")
    assert len(fake.lost) == 2 and fake.mutations() == []
    assert fake.service_keys.keys(OKMS_ID)[0]["state"] == "ACTIVE"


def test_a_delete_applied_but_unanswered_is_done(fake):
    key = fake.service_keys.add_key(OKMS_ID, "db", state="DEACTIVATED")
    fake.lose_answer("DELETE", ITEM)
    keys_api(fake).delete(key)
    assert [request.method for request in fake.requests] == ["DELETE", "GET"]
    assert fake.service_keys.keys(OKMS_ID) == []


def test_a_delete_that_never_arrived_fails_naming_the_key():
    fake = LosesBeforeApplying("DELETE")
    key = install(fake).add_key(fake.service_keys.add_kms(OKMS_ID), "db", state="DEACTIVATED")
    with pytest.raises(OvhAmbiguousRequestError) as error:
        keys_api(fake).delete(key)
    assert str(error.value).startswith("cannot delete service key 'db' (%s): DELETE" % key["id"])
    assert [request.method for request in fake.requests] == ["GET"]
    assert len(fake.service_keys.keys(OKMS_ID)) == 1


def test_a_refused_delete_names_the_key(fake):
    key = fake.service_keys.add_key(OKMS_ID, "db")
    with pytest.raises(OvhApiError) as error:
        keys_api(fake).delete(key)
    assert str(error.value) == ("cannot delete service key 'db' (%s): DELETE %s/%s, HTTP 400, "
                                "Client::BadRequest::ServiceKeyStateInvalid: an ACTIVE key cannot be deleted: "
                                "deactivate it first" % (key["id"], KEYS, key["id"]))
