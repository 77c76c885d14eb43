# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_service_key's decisions, against the in-memory fake of the API.

Each test runs the module's main() as a task would, usually the Ansible way
(check mode, real run, check-mode re-run, re-run), and reads the fake's
request log: check mode sends no mutating request, a re-run sends none either.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.ovhcloud.kms.plugins.modules import okms_service_key
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.service_keys import COLLECTION, ITEM, install

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
KEYS = "/v2/okms/resource/%s/serviceKey" % OKMS_ID
CONTEXT_WARNING = ("context is only applied when a key is created; it cannot be compared or changed on existing "
                   "service key %s (%s), so it was not sent: create a new key (another name) to use another context")


@pytest.fixture
def api():
    api = FakeOkmsApi()
    install(api).add_kms(OKMS_ID)
    return api


@pytest.fixture
def task(run_module, api):
    """``task(check_mode=False, **options)``: one okms_service_key task (diff on); returns the outcome."""
    def run(check_mode=False, **options):
        return run_module(okms_service_key, dict(options, okms_id=options.get("okms_id", OKMS_ID)), api,
                          check_mode=check_mode, diff=True)
    return run


@pytest.fixture
def converge(task, api):
    """Check mode, real run, check-mode re-run, re-run; asserts what every converging task must hold."""
    def run(**options):
        sent = len(api.mutations())
        first_check = task(check_mode=True, **options)
        assert not first_check.failed, first_check.result
        assert len(api.mutations()) == sent, "check mode sent %s" % api.mutations()[sent:]
        real = task(**options)
        assert not real.failed, real.result
        sent = len(api.mutations())
        second_check = task(check_mode=True, **options)
        again = task(**options)
        assert api.mutations()[sent:] == [], "a re-run sent %s" % api.mutations()[sent:]
        assert first_check.result["changed"] and real.result["changed"]
        assert not second_check.result["changed"] and not again.result["changed"]
        # Check mode predicts the real diff (a new key's id is only known once created).
        predicted = dict(first_check.result["diff"]["after"])
        actual = dict(real.result["diff"]["after"])
        for ignored in ("id", "public_key_file"):
            predicted.pop(ignored, None)
            actual.pop(ignored, None)
        assert predicted == actual
        assert first_check.result["diff"]["before"] == real.result["diff"]["before"]
        assert again.result["diff"]["before"] == again.result["diff"]["after"] == real.result["diff"]["after"]
        assert second_check.result["service_key"] == again.result["service_key"] == real.result["service_key"]
        return real
    return run


def seed(api, name, key_type="oct", **fields):
    return api.service_keys.add_key(OKMS_ID, name, key_type, **fields)


def key_named(api, name):
    return [key for key in api.service_keys.keys(OKMS_ID) if key["name"] == name]


def mutations(api):
    return [(request.method, request.path, request.body) for request in api.mutations()]


# --- creating ------------------------------------------------------------------------------

@pytest.mark.parametrize("options, body, expected", [
    ({"type": "oct"}, {"type": "oct", "size": 256, "operations": ["encrypt", "decrypt"]},
     {"type": "oct", "size": 256, "curve": None, "operations": ["encrypt", "decrypt"]}),
    ({"type": "oct", "size": 192, "operations": ["unwrapKey", "wrapKey"]},
     {"type": "oct", "size": 192, "operations": ["wrapKey", "unwrapKey"]},
     {"type": "oct", "size": 192, "curve": None, "operations": ["wrapKey", "unwrapKey"]}),
    ({"type": "RSA"}, {"type": "RSA", "size": 2048, "operations": ["sign", "verify"]},
     {"type": "RSA", "size": 2048, "curve": None, "operations": ["sign", "verify"]}),
    # An EC key is sent with its curve and no size, and comes back with size null.
    ({"type": "EC", "curve": "P-384"}, {"type": "EC", "curve": "P-384", "operations": ["sign", "verify"]},
     {"type": "EC", "size": None, "curve": "P-384", "operations": ["sign", "verify"]}),
])
def test_a_missing_key_is_generated_with_the_documented_defaults(converge, api, options, body, expected):
    real = converge(name="data", **options)
    assert mutations(api) == [("POST", KEYS, dict(body, name="data"))]
    key = real.result["service_key"]
    assert dict((field, key[field]) for field in expected) == expected
    assert key["state"] == "ACTIVE" and key["name"] == "data"
    # Re-read after creating: the answer of a create has no IAM metadata, a GET has.
    assert key["iam"]["urn"] == "urn:v1:eu:resource:okms:%s/serviceKey/%s" % (OKMS_ID, key["id"])
    assert key["iam"]["tags"] == {"ovh:type": expected["type"], "ovh:state": "ACTIVE"}
    assert key["created_at"] == key_named(api, "data")[0]["createdAt"]
    assert real.result["diff"]["before"] == {}
    assert real.warnings == []


def test_check_mode_predicts_a_new_key_without_an_id(task, api):
    outcome = task(check_mode=True, name="signing", type="EC")
    assert outcome.result["changed"]
    assert outcome.result["service_key"] == {"id": None, "name": "signing", "type": "EC", "size": None,
                                             "curve": "P-256", "operations": ["sign", "verify"], "state": "ACTIVE"}
    assert api.mutations() == []
    assert key_named(api, "signing") == []


def test_context_is_sent_at_creation_and_warned_about_afterwards(task, api):
    created = task(name="ctx", type="oct", context="app=billing")
    assert mutations(api)[0][2]["context"] == "app=billing"
    assert created.warnings == []
    key_id = created.result["service_key"]["id"]
    for check_mode in (True, False):
        outcome = task(check_mode=check_mode, name="ctx", type="oct", context="another context")
        assert not outcome.failed and not outcome.result["changed"]
        assert outcome.warnings == [CONTEXT_WARNING % ("ctx", key_id)]
    assert len(api.mutations()) == 1


def test_a_missing_key_needs_type_and_cannot_be_made_with_an_id(task, api):
    without_type = task(name="nowhere")
    assert without_type.failed
    assert without_type.result["msg"] == ("service key nowhere does not exist in KMS %s: give type (or jwk / "
                                          "key_path) to create it" % OKMS_ID)
    unknown = "00000000-0000-4000-8000-000000000000"
    by_id = task(id=unknown, name="renamed", type="oct")
    assert by_id.failed
    assert by_id.result["msg"].startswith("no service key with id %s in KMS %s" % (unknown, OKMS_ID))
    assert by_id.result["changed"] is False
    assert api.mutations() == []


def test_destroyed_keys_are_ignored_by_name(converge, api):
    seed(api, "reborn", state="DESTROYED")
    real = converge(name="reborn", type="oct")
    assert real.result["service_key"]["state"] == "ACTIVE"
    assert [key["state"] for key in key_named(api, "reborn")] == ["DESTROYED", "ACTIVE"]


def test_two_keys_of_one_name_fail_listing_their_ids(task, api):
    first, second = seed(api, "twin", "EC"), seed(api, "twin", "EC", state="DEACTIVATED")
    outcome = task(name="twin", key_state="deactivated")
    assert outcome.failed
    assert outcome.result["msg"] == ("2 service keys of KMS %s are named twin (ids: %s, %s): give id to choose one"
                                     % (OKMS_ID, first["id"], second["id"]))
    assert api.mutations() == []


def test_an_unknown_kms_fails_naming_what_was_read(task, api):
    other = "11111111-2222-4333-8444-555555555555"
    outcome = task(okms_id=other, name="data", type="oct")
    assert outcome.failed and outcome.result["changed"] is False
    assert outcome.result["msg"] == ("cannot read the service keys of KMS %s: GET /v2/okms/resource/%s/serviceKey, "
                                     "HTTP 404, Client::NotFound: OKMS %s not found" % (other, other, other))
    assert outcome.result["api_error"]["status"] == 404


# --- immutable attributes ---------------------------------------------------------------

@pytest.mark.parametrize("options, differences", [
    ({"type": "oct"}, "size is 128, the task asks for 256"),
    ({"type": "oct", "size": 128, "operations": ["wrapKey", "unwrapKey"]},
     "operations is [encrypt, decrypt], the task asks for [wrapKey, unwrapKey]"),
    ({"type": "RSA", "size": 4096}, "type is oct, the task asks for RSA; size is 128, the task asks for 4096; "
                                    "operations is [encrypt, decrypt], the task asks for [sign, verify]"),
])
def test_other_immutable_attributes_fail_naming_each_one(task, api, options, differences):
    seed(api, "fixed", size=128)
    for check_mode in (True, False):
        outcome = task(check_mode=check_mode, name="fixed", **options)
        assert outcome.failed and outcome.result["changed"] is False
        assert outcome.result["msg"].startswith("service key fixed cannot be changed in place (%s). " % differences)
        assert "this module never replaces a key" in outcome.result["msg"]
    assert api.mutations() == []


def test_an_ec_key_is_compared_on_its_curve_and_without_type_nothing_is_compared(task, api):
    seed(api, "signing", "EC", curve="P-384")
    assert not task(name="signing", type="EC", curve="P-384").result["changed"]
    other_curve = task(name="signing", type="EC")
    assert other_curve.failed and "curve is P-384, the task asks for P-256" in other_curve.result["msg"]
    assert not task(name="signing").result["changed"]
    assert api.mutations() == []


# --- import --------------------------------------------------------------------------------

def pem_file(tmp_path, name, key, private_format=serialization.PrivateFormat.PKCS8):
    path = tmp_path / name
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, private_format, serialization.NoEncryption()))
    return str(path)


def test_an_oct_jwk_is_imported_and_its_secret_returned_nowhere(converge, task, api):
    secret = "S" * 43
    real = converge(name="aes", jwk={"kty": "oct", "k": secret, "use": "enc"}, context="app=billing")
    assert mutations(api) == [("POST", KEYS, {"name": "aes", "context": "app=billing", "keys": [
        {"kty": "oct", "k": secret, "use": "enc", "kid": "aes", "key_ops": ["encrypt", "decrypt"]}]})]
    assert real.result["service_key"]["size"] == 256
    assert secret not in json.dumps(real.result)
    # An oct key's material is never returned, so another one under the same name cannot be told apart.
    other = task(name="aes", jwk={"kty": "oct", "k": "T" * 43})
    assert not other.failed and not other.result["changed"]


def test_a_pem_key_is_imported_and_the_same_key_in_another_form_is_unchanged(converge, task, api, tmp_path):
    key = ec.generate_private_key(ec.SECP384R1())
    real = converge(name="im-ec", key_path=pem_file(tmp_path, "ec.pem", key), key_state="active")
    stored = api.service_keys.record(OKMS_ID, real.result["service_key"]["id"])
    assert stored["jwk"]["d"] == api.mutations()[0].body["keys"][0]["d"]
    assert real.result["service_key"]["curve"] == "P-384" and real.result["service_key"]["size"] is None
    assert stored["jwk"]["d"] not in json.dumps(real.result)
    sec1 = pem_file(tmp_path, "ec-sec1.pem", key, serialization.PrivateFormat.TraditionalOpenSSL)
    for check_mode in (True, False):
        again = task(check_mode=check_mode, name="im-ec", key_path=sec1, key_state="active")
        assert not again.failed and not again.result["changed"]
    assert len(api.mutations()) == 1


def test_another_rsa_key_under_the_same_name_is_refused(task, api, tmp_path):
    first = task(name="im-rsa", key_path=pem_file(tmp_path, "rsa.pem", rsa.generate_private_key(65537, 2048)))
    assert not first.failed, first.result
    other = task(name="im-rsa", key_path=pem_file(tmp_path, "other.pem", rsa.generate_private_key(65537, 2048)))
    assert other.failed
    assert "holds another public key than the one to import" in other.result["msg"]
    assert len(api.mutations()) == 1
    # The public key was read to compare it.
    assert api.calls("GET", ITEM)[-1].params == {"format": "JWK"}


def test_import_operations_are_compared_like_a_generated_key(task, api, tmp_path):
    raw = tmp_path / "aes.bin"
    raw.write_bytes(os.urandom(32))
    created = task(name="im-aes", key_path=str(raw), operations=["wrapKey", "unwrapKey"])
    assert created.result["service_key"]["operations"] == ["wrapKey", "unwrapKey"]
    clash = task(name="im-aes", key_path=str(raw))
    assert clash.failed
    assert "operations is [wrapKey, unwrapKey], the task asks for [encrypt, decrypt]" in clash.result["msg"]


# --- rename and key states ---------------------------------------------------------------

def test_rename_by_id(converge, api):
    key = seed(api, "lc-life")
    real = converge(id=key["id"], name="lc-life-renamed")
    assert mutations(api) == [("PUT", "%s/%s" % (KEYS, key["id"]), {"name": "lc-life-renamed"})]
    assert real.result["diff"]["before"]["name"] == "lc-life"
    assert real.result["diff"]["after"]["name"] == "lc-life-renamed"
    assert real.result["service_key"]["id"] == key["id"]
    assert real.result["service_key"]["iam"]["display_name"] == "lc-life-renamed"


@pytest.mark.parametrize("start, options, body, end", [
    ("ACTIVE", {"key_state": "deactivated", "deactivation_reason": "superseded"},
     {"state": "DEACTIVATED", "deactivationReason": "SUPERSEDED"}, "DEACTIVATED"),
    ("ACTIVE", {"key_state": "deactivated"}, {"state": "DEACTIVATED", "deactivationReason": "UNSPECIFIED"},
     "DEACTIVATED"),
    ("DEACTIVATED", {"key_state": "active"}, {"state": "ACTIVE"}, "ACTIVE"),
    ("ACTIVE", {"key_state": "compromised"}, {"state": "COMPROMISED", "deactivationReason": "KEY_COMPROMISE"},
     "COMPROMISED"),
    ("DEACTIVATED", {"key_state": "compromised", "deactivation_reason": "CA_COMPROMISE"},
     {"state": "COMPROMISED", "deactivationReason": "CA_COMPROMISE"}, "COMPROMISED"),
    ("COMPROMISED", {"key_state": "active"}, {"state": "ACTIVE"}, "ACTIVE"),
    ("PRE_ACTIVE", {"key_state": "active"}, {"state": "ACTIVE"}, "ACTIVE"),
])
def test_each_allowed_transition(converge, api, start, options, body, end):
    key = seed(api, "life", state=start)
    real = converge(name="life", **options)
    assert mutations(api) == [("PUT", "%s/%s" % (KEYS, key["id"]), body)]
    assert real.result["service_key"]["state"] == end
    assert real.result["service_key"]["iam"]["tags"]["ovh:state"] == end
    assert (real.result["diff"]["before"]["state"], real.result["diff"]["after"]["state"]) == (start, end)


@pytest.mark.parametrize("start, key_state, message", [
    ("COMPROMISED", "deactivated", "service key life: a COMPROMISED key cannot be moved to DEACTIVATED (a "
                                   "compromise is never downgraded): use key_state compromised, or active to "
                                   "reactivate it"),
    ("DESTROYED", "active", "service key life: the key is DESTROYED and can no longer change state"),
    ("DESTROYED_COMPROMISED", "deactivated",
     "service key life: the key is DESTROYED_COMPROMISED and can no longer change state"),
])
def test_refused_transitions_fail_before_any_request(task, api, start, key_state, message):
    key = seed(api, "life", state=start)
    for check_mode in (True, False):
        outcome = task(check_mode=check_mode, id=key["id"], key_state=key_state)
        assert outcome.failed and outcome.result["msg"] == message
    assert api.mutations() == []


def test_a_new_key_is_created_then_moved_to_the_asked_state(converge, api):
    real = converge(name="cold", type="RSA", key_state="deactivated")
    key_id = real.result["service_key"]["id"]
    assert [repr(request) for request in api.mutations()] == ["POST %s" % KEYS, "PUT %s/%s" % (KEYS, key_id)]
    assert real.result["service_key"]["state"] == "DEACTIVATED"


# --- deleting ------------------------------------------------------------------------------

def test_an_active_key_is_not_deleted_without_force(task, api):
    key = seed(api, "kept")
    for check_mode in (True, False):
        outcome = task(check_mode=check_mode, name="kept", state="absent")
        assert outcome.failed and outcome.result["changed"] is False
        assert outcome.result["msg"] == (
            "service key kept (%s) is ACTIVE and was not deleted: deleting a key is permanent and every ciphertext "
            "made with it can never be decrypted again. Deactivate it first (key_state: deactivated), or set force: "
            "true to deactivate and delete it in one task" % key["id"])
    assert api.mutations() == []
    assert key_named(api, "kept")[0]["state"] == "ACTIVE"


def test_force_deactivates_then_deletes(converge, api):
    key = seed(api, "gone")
    real = converge(name="gone", state="absent", force=True, deactivation_reason="cessation_of_operation")
    path = "%s/%s" % (KEYS, key["id"])
    assert mutations(api) == [("PUT", path, {"state": "DEACTIVATED", "deactivationReason": "CESSATION_OF_OPERATION"}),
                              ("DELETE", path, None)]
    assert real.result["service_key"] == {}
    assert real.result["diff"]["before"]["id"] == key["id"] and real.result["diff"]["after"] == {}
    assert key_named(api, "gone") == []


@pytest.mark.parametrize("start", ["DEACTIVATED", "COMPROMISED"])
def test_a_key_that_is_not_active_is_deleted_by_id_without_force(converge, api, start):
    key = seed(api, "old", state=start)
    converge(id=key["id"], state="absent")
    assert mutations(api) == [("DELETE", "%s/%s" % (KEYS, key["id"]), None)]


def test_a_missing_key_is_already_absent(task, api):
    assert not task(name="never", state="absent").result["changed"]
    outcome = task(id="00000000-0000-4000-8000-000000000000", state="absent")
    assert not outcome.failed and not outcome.result["changed"]
    assert outcome.result["service_key"] == {}
    assert api.mutations() == []


# --- public key file -------------------------------------------------------------------------

def test_the_public_key_is_written_as_pem_atomically_and_kept_on_re_runs(converge, task, api, tmp_path):
    (tmp_path / "keys").mkdir()
    path = tmp_path / "keys" / "rsa.pem"
    real = converge(name="signing", type="RSA", public_key_path=str(path))
    key_id = real.result["service_key"]["id"]
    public = api.service_keys.body(OKMS_ID, api.service_keys.record(OKMS_ID, key_id), True, "PEM")
    assert path.read_text() == public["keysPEM"][0]["pem"]
    assert serialization.load_pem_public_key(path.read_bytes()).key_size == 2048
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert real.result["public_key_file"] == {"path": str(path), "changed": True}
    assert real.result["diff"]["before"]["public_key_file"] == {"path": str(path), "state": "absent"}
    assert real.result["diff"]["after"]["public_key_file"]["fingerprint"].startswith("sha256:")
    # A re-run leaves the very same file in place (converge checked it reports no change).
    inode, mtime = path.stat().st_ino, path.stat().st_mtime_ns
    assert not task(name="signing", type="RSA", public_key_path=str(path)).result["changed"]
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (inode, mtime)
    # A file that does not match is replaced by a rename, never rewritten in place; no temporary file is left.
    path.write_text("something else\n")
    inode = path.stat().st_ino
    fixed = task(name="signing", public_key_path=str(path))
    assert fixed.result["changed"] and fixed.result["public_key_file"]["changed"]
    assert path.read_text() == public["keysPEM"][0]["pem"] and path.stat().st_ino != inode
    assert os.listdir(str(tmp_path / "keys")) == ["rsa.pem"]
    assert len(api.mutations()) == 1


def test_the_public_key_as_jwk_holds_no_private_member(converge, api, tmp_path):
    seed(api, "tokens", "EC", curve="P-384")
    path = tmp_path / "ec.jwk"
    real = converge(name="tokens", public_key_path=str(path), public_key_format="jwk", public_key_mode="0600")
    written = json.loads(path.read_text())
    assert written["kid"] == real.result["service_key"]["id"]
    assert written["crv"] == "P-384" and "d" not in written
    assert set(written) == {"kid", "kty", "key_ops", "crv", "x", "y"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert api.mutations() == []


def test_check_mode_writes_no_public_key_file(task, api, tmp_path):
    path = tmp_path / "new.pem"
    predicted = task(check_mode=True, name="signing", type="EC", public_key_path=str(path))
    assert predicted.result["public_key_file"] == {"path": str(path), "changed": True}
    seed(api, "existing", "EC")
    existing = task(check_mode=True, name="existing", public_key_path=str(path))
    assert existing.result["changed"] and existing.result["public_key_file"]["changed"]
    assert not path.exists()
    assert api.mutations() == []


def test_an_oct_key_found_by_name_has_no_public_key(task, api, tmp_path):
    seed(api, "aes")
    outcome = task(name="aes", public_key_path=str(tmp_path / "aes.pem"))
    assert outcome.failed
    assert outcome.result["msg"] == "public_key_path: service key aes is an oct (symmetric) key and has no public key"
    assert not (tmp_path / "aes.pem").exists()


# --- answers lost on the way back --------------------------------------------------------------

def test_a_lost_create_answer_is_re_read_not_repeated(task, api):
    api.lose_answer("POST", COLLECTION)
    outcome = task(name="app", type="oct")
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["service_key"]["id"] == key_named(api, "app")[0]["id"]
    assert len(api.calls("POST", COLLECTION)) == 1


def test_a_lost_update_answer_is_checked_by_re_reading(task, api):
    key = seed(api, "life")
    api.lose_answer("PUT", ITEM)
    outcome = task(name="life", key_state="compromised")
    assert not outcome.failed, outcome.result
    assert outcome.result["service_key"]["state"] == "COMPROMISED"
    assert len(api.calls("PUT", ITEM)) == 1
    assert api.service_keys.record(OKMS_ID, key["id"])["state"] == "COMPROMISED"


def test_a_lost_delete_answer_is_checked_by_re_reading(task, api):
    seed(api, "gone", state="DEACTIVATED")
    api.lose_answer("DELETE", ITEM)
    outcome = task(name="gone", state="absent")
    assert not outcome.failed and outcome.result["changed"]
    assert len(api.calls("DELETE", ITEM)) == 1
