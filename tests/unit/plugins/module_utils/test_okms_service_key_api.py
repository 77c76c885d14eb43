# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ServiceKeyApi: paths, 404 as absent, 100-item pages, lost answers settled in the same run, twins, named errors."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_service_key import resolve_key_spec
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_service_key_api import (
    ServiceKeyApi,
    ServiceKeyNameConflict,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
    OvhWriteNotAppliedError,
)
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.service_keys import COLLECTION, ITEM, install

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
KEYS = "/v2/okms/resource/%s/serviceKey" % OKMS_ID
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


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
    # The re-read also serves as the check for a same-name twin.
    assert [repr(request) for request in fake.requests] == ["POST %s" % KEYS, "GET %s" % KEYS]


def test_a_create_that_never_arrived_is_sent_again_once_and_converges(fake):
    """Before the reliability issue this failed the task ("may or may not have been applied"): the re-read
    proves the key absent, so the create is now repeated, once, in the same run."""
    fake.lose_answer("POST", COLLECTION, before_applying=True)
    created = keys_api(fake).create("db", resolve_key_spec("RSA"))
    keys = fake.service_keys.keys(OKMS_ID)
    assert [key["id"] for key in keys] == [created["id"]]
    # Sent, re-read (absent), backed off, sent again, then checked for a twin.
    assert [repr(request) for request in fake.requests] == [
        "POST %s" % KEYS, "GET %s" % KEYS, "POST %s" % KEYS, "GET %s" % KEYS]
    assert fake.sleeps == [0.375]


def test_a_create_never_arriving_is_repeated_only_within_the_retry_budget(fake):
    fake.lose_answer("POST", COLLECTION, times=99, before_applying=True)
    with pytest.raises(OvhWriteNotAppliedError) as error:
        keys_api(fake).create("db", resolve_key_spec("oct"))
    policy = fake.retry_policy
    assert len(fake.calls("POST")) == policy.max_attempts == 8
    assert str(error.value) == (
        "cannot create service key 'db': POST %s: sent 8 times; every answer was lost and re-reading showed each "
        "time that it was not applied, so nothing was changed (last answer: the request may or may not have been "
        "applied (connection reset))" % KEYS)
    assert fake.service_keys.keys(OKMS_ID) == []


def test_the_retry_budget_in_time_bounds_repeated_writes(fake):
    fake.retry_policy.max_total = 1.0
    fake.lose_answer("POST", COLLECTION, times=99, before_applying=True)
    with pytest.raises(OvhWriteNotAppliedError):
        keys_api(fake).create("db", resolve_key_spec("oct"))
    # Backoffs of 0.375 s then 0.75 s: the second would pass the 1 s budget, so the key is sent twice.
    assert fake.sleeps == [0.375]
    assert len(fake.calls("POST")) == 2


def test_a_create_lost_when_the_re_read_fails_too_says_what_to_check(fake):
    fake.lose_answer("POST", COLLECTION, before_applying=True)
    fake.route("GET", COLLECTION, failing_list, first=True)
    with pytest.raises(OvhAmbiguousRequestError) as error:
        keys_api(fake).create("db", resolve_key_spec("oct"))
    assert str(error.value) == (
        "cannot create service key 'db': POST %s: the request may or may not have been applied (connection reset); "
        "re-reading to find out failed too (cannot read the service keys of KMS %s: GET %s, HTTP 503: busy): check "
        "whether a service key named 'db' exists in KMS %s (GET %s) before running again"
        % (KEYS, OKMS_ID, KEYS, OKMS_ID, KEYS))
    assert len(fake.calls("POST")) == 1


def failing_list(request, okms_id):
    raise OvhApiError("busy", status=503, method=request.method, path=request.path)


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


def test_an_update_that_never_arrived_is_sent_again_and_converges(fake):
    """Before the reliability issue this failed: the re-read shows the key still ACTIVE, so the PUT is repeated."""
    key = fake.service_keys.add_key(OKMS_ID, "db")
    fake.lose_answer("PUT", ITEM, before_applying=True)
    current = keys_api(fake).change_state(key, {"state": "DEACTIVATED", "deactivationReason": "SUPERSEDED"})
    assert current["state"] == "DEACTIVATED"
    assert [request.method for request in fake.requests] == ["PUT", "GET", "PUT"]
    assert fake.service_keys.keys(OKMS_ID)[0]["state"] == "DEACTIVATED"


def test_a_rename_that_never_arrived_is_sent_again_and_converges(fake):
    key = fake.service_keys.add_key(OKMS_ID, "db")
    fake.lose_answer("PUT", ITEM, before_applying=True)
    assert keys_api(fake).rename(key, "db2")["name"] == "db2"
    assert [request.method for request in fake.requests] == ["PUT", "GET", "PUT"]


def test_an_update_of_a_key_deleted_meanwhile_is_undecidable_and_says_what_to_check(fake):
    key = fake.service_keys.add_key(OKMS_ID, "db")

    def deleted_meanwhile(request, okms_id, key_id):
        del fake.service_keys.kms[okms_id][key_id]
        raise OvhAmbiguousRequestError("connection reset", method=request.method, path=request.path)

    fake.route("PUT", ITEM, deleted_meanwhile, first=True)
    with pytest.raises(OvhAmbiguousRequestError) as error:
        keys_api(fake).change_state(key, {"state": "DEACTIVATED", "deactivationReason": "SUPERSEDED"},
                                    action="deactivate service key 'db' before deleting it")
    assert str(error.value) == (
        "cannot deactivate service key 'db' before deleting it: PUT %s/%s: connection reset; re-reading could not "
        "tell whether it was: service key 'db' (%s) is no longer found in KMS %s (GET %s): check who deleted it"
        % (KEYS, key["id"], key["id"], OKMS_ID, KEYS))
    assert len(fake.calls("PUT")) == 1


def test_a_delete_applied_but_unanswered_is_done(fake):
    key = fake.service_keys.add_key(OKMS_ID, "db", state="DEACTIVATED")
    fake.lose_answer("DELETE", ITEM)
    keys_api(fake).delete(key)
    assert [request.method for request in fake.requests] == ["DELETE", "GET"]
    assert fake.service_keys.keys(OKMS_ID) == []


def test_a_delete_that_never_arrived_is_sent_again_and_converges(fake):
    """Before the reliability issue this failed: the re-read finds the key still there, so the DELETE is repeated."""
    key = fake.service_keys.add_key(OKMS_ID, "db", state="DEACTIVATED")
    fake.lose_answer("DELETE", ITEM, before_applying=True)
    assert keys_api(fake).delete(key) is None
    assert [request.method for request in fake.requests] == ["DELETE", "GET", "DELETE"]
    assert fake.service_keys.keys(OKMS_ID) == []


def test_a_refused_delete_names_the_key(fake):
    key = fake.service_keys.add_key(OKMS_ID, "db")
    with pytest.raises(OvhApiError) as error:
        keys_api(fake).delete(key)
    assert str(error.value) == ("cannot delete service key 'db' (%s): DELETE %s/%s, HTTP 400, "
                                "Client::BadRequest::ServiceKeyStateInvalid: an ACTIVE key cannot be deleted: "
                                "deactivate it first" % (key["id"], KEYS, key["id"]))
