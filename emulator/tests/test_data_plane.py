"""Data-plane handlers, driven through handle() against a real Store."""

import base64
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from okms_emulator import data_plane, keys
from okms_emulator.store import Store

OKMS_ID = "7c4f0c4e-9d3b-4b6a-8f1e-2a5d6c7b8e90"
IDENTITY = "urn:v1:eu:identity:account:xx1111-ovh"


def b64(data):
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text)


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def store(tmp_path):
    st = Store(str(tmp_path))
    st.data["okms"][OKMS_ID] = {"id": OKMS_ID, "region": "eu-west-rbx", "serviceKeys": {}, "credentials": {}}
    st.save()
    return st


@pytest.fixture
def call(store):
    def _call(method, path, body=None, query=None, raw=None):
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        return data_plane.handle(store, OKMS_ID, method, path, query or {}, payload, IDENTITY)
    return _call


def create(call, **body):
    status, resp = call("POST", "/v1/servicekey", {"name": "k", **body})
    assert status == 201, resp
    return resp


def aes(call, size=256, ops=("encrypt", "decrypt")):
    return create(call, type="oct", size=size, operations=list(ops))


def assert_error(status, resp, expected_status):
    assert status == expected_status, resp
    assert set(resp) == {"error_code", "error_id", "errors", "request_id"}
    assert isinstance(resp["error_code"], int) and resp["errors"] and all(isinstance(e, str) for e in resp["errors"])
    assert (resp["error_code"] >> 24) == 3  # REST major, as okms-sdk-go decodes it


# --- create / get / list ------------------------------------------------------

def test_create_response_and_persistence(call, store):
    resp = create(call, type="oct", size=256, operations=["decrypt", "encrypt"], context="ctx")
    assert resp["type"] == "oct" and resp["size"] == 256 and resp["protectionLevel"] == "SOFTWARE"
    assert resp["attributes"]["state"] == "active" and resp["attributes"]["original_creation_date"]
    assert "context" not in resp and "keys" not in resp
    assert Store(store.state_dir).data["okms"][OKMS_ID]["serviceKeys"][resp["id"]]["state"] == "ACTIVE"


def test_create_with_user_id_and_jwk_format(call, store):
    key_id = "0b9f2f6e-8a55-4a3c-9a7e-3f1d2c4b5a69"
    status, resp = call("POST", "/v1/servicekey", {"id": key_id, "name": "ec", "type": "EC", "curve": "P-384",
                                                   "operations": ["sign", "verify"]}, {"format": ["jwk"]})
    # The data plane's KeySizes holds no EC size: an EC key has a curve and no size member.
    assert status == 201 and resp["id"] == key_id and resp["curve"] == "P-384" and "size" not in resp
    status, got = call("GET", f"/v1/servicekey/{key_id}")
    assert status == 200 and got["curve"] == "P-384" and "size" not in got
    # The shared record has no size either, so the v2 API reports size null for it.
    assert store.data["okms"][OKMS_ID]["serviceKeys"][key_id]["size"] is None
    (jwk,) = resp["keys"]
    assert jwk["kid"] == key_id and jwk["crv"] == "P-384" and "d" not in jwk
    status, resp = call("POST", "/v1/servicekey", {"id": key_id, "name": "again", "type": "EC", "curve": "P-384",
                                                   "operations": ["sign", "verify"]})
    assert_error(status, resp, 400)


def test_create_accepts_all_four_oct_operations(call):
    resp = aes(call, ops=("encrypt", "decrypt", "wrapKey", "unwrapKey"))
    assert sorted(resp["operations"]) == ["decrypt", "encrypt", "unwrapKey", "wrapKey"]


@pytest.mark.parametrize("body", [
    {"name": "k", "type": "oct", "size": 2048, "operations": ["encrypt", "decrypt"]},
    {"name": "", "type": "oct", "size": 256, "operations": ["encrypt", "decrypt"]},
    {"name": "k", "type": "oct", "size": 256, "operations": ["encrypt", "decrypt"], "colour": "blue"},
    {"name": "k", "type": "oct", "size": 256, "operations": ["encrypt", "decrypt"], "protectionLevel": "HSM"},
])
def test_create_rejects(call, body):
    assert_error(*call("POST", "/v1/servicekey", body), 400)


def test_import_jwk_shared_with_v2_record(call, store):
    k = bytes(range(32))
    jwk = {"kty": "oct", "kid": "mine", "key_ops": ["encrypt", "decrypt"],
           "k": base64.urlsafe_b64encode(k).rstrip(b"=").decode()}
    resp = create(call, keys=[jwk])
    record = store.data["okms"][OKMS_ID]["serviceKeys"][resp["id"]]
    assert keys.secret_bytes(record) == k and record["size"] == 256


def test_get_and_unknown_key(call):
    key = aes(call)
    status, resp = call("GET", f"/v1/servicekey/{key['id']}", query={"format": ["jwk"]})
    assert status == 200 and resp["keys"] == [{"kid": key["id"], "kty": "oct", "key_ops": ["encrypt", "decrypt"]}]
    assert_error(*call("GET", "/v1/servicekey/00000000-0000-0000-0000-000000000000"), 404)
    assert_error(*call("GET", f"/v1/servicekey/{key['id']}", query={"format": ["pem"]}), 400)


def test_key_created_by_v2_is_usable(call, store):
    fields = keys.build_service_key({"name": "v2", "type": "oct", "size": 128, "operations": ["encrypt", "decrypt"]})
    key_id = "5e0c1f4a-6b7d-4e8f-9a0b-1c2d3e4f5a6b"
    store.data["okms"][OKMS_ID]["serviceKeys"][key_id] = {
        "id": key_id, **fields, "state": "ACTIVE", "deactivationReason": None, "createdAt": "2024-05-01T10:00:00Z"}
    status, resp = call("POST", f"/v1/servicekey/{key_id}/encrypt", {"plaintext": b64(b"x")})
    assert status == 200
    assert json.loads(unb64u(resp["ciphertext"].split(".")[0]))["enc"] == "A128GCM"


def test_list_with_continuation(call):
    created = {aes(call)["id"] for _ in range(25)}
    seen, token, pages = [], None, 0
    while True:
        query = {"max": ["10"]}
        if token:
            query["continuation-token"] = [token]
        status, resp = call("GET", "/v1/servicekey", query=query)
        assert status == 200 and set(resp) == {"objects_list", "continuation_token", "is_truncated"}
        seen += [k["id"] for k in resp["objects_list"]]
        pages += 1
        if not resp["is_truncated"]:
            break
        token = resp["continuation_token"]
        assert token
    assert pages == 3 and len(seen) == 25 and set(seen) == created


def test_list_state_filter_and_bad_params(call):
    active, other = aes(call), aes(call)
    assert call("POST", f"/v1/servicekey/{other['id']}/deactivate", {"reason": "superseded"})[0] == 204
    ids = lambda q: [k["id"] for k in call("GET", "/v1/servicekey", query=q)[1]["objects_list"]]  # noqa: E731
    assert ids({"state": ["active"]}) == [active["id"]]
    assert ids({"state": ["deactivated"]}) == [other["id"]]
    assert sorted(ids({})) == sorted([active["id"], other["id"]])
    for query in ({"max": ["5"]}, {"max": ["101"]}, {"max": ["ten"]}, {"state": ["ACTIVE"]},
                  {"continuation-token": ["garbage!"]}):
        assert_error(*call("GET", "/v1/servicekey", query=query), 400)


def test_patch_name(call):
    key = aes(call)
    status, resp = call("PATCH", f"/v1/servicekey/{key['id']}", {"name": "renamed"})
    assert status == 200 and resp["name"] == "renamed"
    assert_error(*call("PATCH", f"/v1/servicekey/{key['id']}", {"name": "n" * 33}), 400)
    assert_error(*call("PATCH", f"/v1/servicekey/{key['id']}", {}), 400)


# --- state --------------------------------------------------------------------

def state_of(call, key_id):
    return call("GET", f"/v1/servicekey/{key_id}")[1]["attributes"]


def test_activate_deactivate_compromise_delete(call, store):
    key = aes(call)
    path = f"/v1/servicekey/{key['id']}"
    assert call("POST", path + "/activate") == (204, None)  # already active: succeeds
    assert_error(*call("DELETE", path), 400)
    assert call("POST", path + "/deactivate", {"reason": "unspecified"}) == (204, None)
    assert state_of(call, key["id"])["state"] == "deactivated"
    assert call("POST", path + "/deactivate", {"reason": "key_compromise"}) == (204, None)
    attrs = state_of(call, key["id"])
    assert attrs["state"] == "compromised" and attrs["compromise_date"]
    assert store.data["okms"][OKMS_ID]["serviceKeys"][key["id"]]["state"] == "COMPROMISED"
    assert call("POST", path + "/activate") == (204, None)
    attrs = state_of(call, key["id"])
    assert attrs["state"] == "active" and "compromise_date" not in attrs
    assert call("POST", path + "/deactivate", {"reason": "superseded"}) == (204, None)
    assert call("DELETE", path) == (204, None)
    assert_error(*call("GET", path), 404)


def test_deactivate_rejects_bad_reason(call):
    key = aes(call)
    path = f"/v1/servicekey/{key['id']}/deactivate"
    assert_error(*call("POST", path, {"reason": "KEY_COMPROMISE"}), 400)
    assert_error(*call("POST", path, {}), 400)


def test_compromised_key_cannot_be_plainly_deactivated(call):
    key = aes(call)
    path = f"/v1/servicekey/{key['id']}/deactivate"
    assert call("POST", path, {"reason": "key_compromise"})[0] == 204
    assert_error(*call("POST", path, {"reason": "superseded"}), 400)


# --- encrypt / decrypt --------------------------------------------------------

@pytest.mark.parametrize("size", [128, 192, 256])
def test_encrypt_decrypt_round_trip(call, store, size):
    key = aes(call, size)
    status, resp = call("POST", f"/v1/servicekey/{key['id']}/encrypt", {"plaintext": b64(b"Hello World !!!")})
    assert status == 200
    parts = resp["ciphertext"].split(".")
    assert len(parts) == 5 and parts[1] == ""
    header = json.loads(unb64u(parts[0]))
    assert header == {"alg": "dir", "enc": f"A{size}GCM", "kid": key["id"]}
    # A standard JWE decryption with the key material works: it is real AES-GCM.
    secret = keys.secret_bytes(store.data["okms"][OKMS_ID]["serviceKeys"][key["id"]])
    assert AESGCM(secret).decrypt(unb64u(parts[2]), unb64u(parts[3]) + unb64u(parts[4]),
                                  parts[0].encode()) == b"Hello World !!!"
    status, resp = call("POST", f"/v1/servicekey/{key['id']}/decrypt", {"ciphertext": resp["ciphertext"]})
    assert status == 200 and unb64(resp["plaintext"]) == b"Hello World !!!"


def test_context_is_bound(call):
    key = aes(call)
    base = f"/v1/servicekey/{key['id']}"
    ct = call("POST", base + "/encrypt", {"plaintext": b64(b"secret"), "context": "tenant-a"})[1]["ciphertext"]
    assert "tenant-a" not in json.dumps(json.loads(unb64u(ct.split(".")[0])))
    assert unb64(call("POST", base + "/decrypt", {"ciphertext": ct, "context": "tenant-a"})[1]["plaintext"]) == b"secret"
    assert_error(*call("POST", base + "/decrypt", {"ciphertext": ct, "context": "tenant-b"}), 400)
    assert_error(*call("POST", base + "/decrypt", {"ciphertext": ct}), 400)
    plain_ct = call("POST", base + "/encrypt", {"plaintext": b64(b"secret")})[1]["ciphertext"]
    assert_error(*call("POST", base + "/decrypt", {"ciphertext": plain_ct, "context": "tenant-a"}), 400)


def test_context_limits_and_messages(call):
    key = aes(call)
    base = f"/v1/servicekey/{key['id']}"
    longest = "c" * 64
    ct = call("POST", base + "/encrypt", {"plaintext": b64(b"p"), "context": longest})[1]["ciphertext"]
    assert unb64(call("POST", base + "/decrypt", {"ciphertext": ct, "context": longest})[1]["plaintext"]) == b"p"
    for body in ({"plaintext": b64(b"p"), "context": "c" * 65}, {"plaintext": b64(b"p"), "context": 7}):
        status, resp = call("POST", base + "/encrypt", body)
        assert_error(status, resp, 400)
        assert "'context'" in resp["errors"][0] and "64" in resp["errors"][0]
    status, resp = call("POST", base + "/decrypt", {"ciphertext": ct, "context": "c" * 65})
    assert_error(status, resp, 400)
    assert "'context'" in resp["errors"][0]
    # A different context: 400, and the message says what can be wrong, never the plaintext.
    status, resp = call("POST", base + "/decrypt", {"ciphertext": ct, "context": "other"})
    assert_error(status, resp, 400)
    assert "context" in resp["errors"][0] and "decryption failed" in resp["errors"][0]
    # An empty context binds nothing: it is the same as none (README, unconfirmed points).
    empty = call("POST", base + "/encrypt", {"plaintext": b64(b"p"), "context": ""})[1]["ciphertext"]
    assert call("POST", base + "/decrypt", {"ciphertext": empty})[0] == 200
    assert call("POST", base + "/decrypt", {"ciphertext": empty, "context": None})[0] == 200


def test_decrypt_rejects_other_key_and_tampering(call):
    key, other = aes(call), aes(call)
    ct = call("POST", f"/v1/servicekey/{key['id']}/encrypt", {"plaintext": b64(b"data")})[1]["ciphertext"]
    status, resp = call("POST", f"/v1/servicekey/{other['id']}/decrypt", {"ciphertext": ct})
    assert_error(status, resp, 400)
    assert other["id"] in resp["errors"][0]  # names the key it was not made with
    parts = ct.split(".")
    body = bytearray(unb64u(parts[3]))
    body[0] ^= 1
    parts[3] = base64.urlsafe_b64encode(bytes(body)).rstrip(b"=").decode()
    assert_error(*call("POST", f"/v1/servicekey/{key['id']}/decrypt", {"ciphertext": ".".join(parts)}), 400)
    assert_error(*call("POST", f"/v1/servicekey/{key['id']}/decrypt", {"ciphertext": "a.b.c"}), 400)


def test_plaintext_limits(call):
    key = aes(call)
    path = f"/v1/servicekey/{key['id']}/encrypt"
    ct = call("POST", path, {"plaintext": b64(b"\x01" * 4096)})[1]["ciphertext"]
    decrypted = call("POST", f"/v1/servicekey/{key['id']}/decrypt", {"ciphertext": ct})[1]["plaintext"]
    assert unb64(decrypted) == b"\x01" * 4096
    status, resp = call("POST", path, {"plaintext": b64(b"\x01" * 4097)})
    assert_error(status, resp, 400)
    assert "'plaintext'" in resp["errors"][0] and "4097" in resp["errors"][0] and "4096" in resp["errors"][0]
    assert len(b64(b"\x01" * 4096)) == 5464  # the spec's maxLength of the base64 member
    assert_error(*call("POST", path, {"plaintext": ""}), 400)  # minLength 1
    assert_error(*call("POST", path, {"plaintext": b64(b"x"), "aad": "x"}), 400)  # additionalProperties false
    assert_error(*call("POST", path, {"plaintext": "not base64!"}), 400)
    assert_error(*call("POST", path, {}), 400)
    assert_error(*call("POST", path, raw=b"{not json"), 400)


def test_operations_and_state_gate_usage(call):
    wrap_only = aes(call, ops=("wrapKey", "unwrapKey"))
    assert_error(*call("POST", f"/v1/servicekey/{wrap_only['id']}/encrypt", {"plaintext": b64(b"x")}), 400)
    key = aes(call)
    base = f"/v1/servicekey/{key['id']}"
    ct = call("POST", base + "/encrypt", {"plaintext": b64(b"x")})[1]["ciphertext"]
    call("POST", base + "/deactivate", {"reason": "superseded"})
    assert_error(*call("POST", base + "/encrypt", {"plaintext": b64(b"x")}), 400)
    # Deactivated keys still decrypt (KMIP: processing is allowed after deactivation).
    assert call("POST", base + "/decrypt", {"ciphertext": ct})[0] == 200
    ec_key = create(call, type="EC", curve="P-256", operations=["sign", "verify"])
    assert_error(*call("POST", f"/v1/servicekey/{ec_key['id']}/encrypt", {"plaintext": b64(b"x")}), 400)


# --- data keys ----------------------------------------------------------------

@pytest.mark.parametrize("ops", [("wrapKey", "unwrapKey"), ("encrypt", "decrypt")])
@pytest.mark.parametrize("dk_size", [128, 192, 256])
def test_datakey_round_trip(call, ops, dk_size):
    key = aes(call, 256, ops)
    status, resp = call("POST", f"/v1/servicekey/{key['id']}/datakey", {"size": dk_size, "name": "dk"})
    assert status == 201 and len(unb64(resp["plaintext"])) == dk_size // 8
    parts = resp["key"].split(".")
    assert len(parts) == 5 and json.loads(unb64u(parts[0]))["alg"] == "A256KW"
    status, out = call("POST", f"/v1/servicekey/{key['id']}/datakey/decrypt", {"key": resp["key"]})
    assert status == 200 and out["plaintext"] == resp["plaintext"]


def test_datakey_errors(call):
    key = aes(call)
    base = f"/v1/servicekey/{key['id']}"
    assert_error(*call("POST", base + "/datakey", {"size": 100}), 400)
    assert_error(*call("POST", base + "/datakey", {}), 400)
    ct = call("POST", base + "/encrypt", {"plaintext": b64(b"x")})[1]["ciphertext"]
    assert_error(*call("POST", base + "/datakey/decrypt", {"key": ct}), 400)  # a ciphertext is not a data key
    other = aes(call)
    dk = call("POST", base + "/datakey", {"size": 256})[1]["key"]
    assert_error(*call("POST", f"/v1/servicekey/{other['id']}/datakey/decrypt", {"key": dk}), 400)


# --- sign / verify ------------------------------------------------------------

MESSAGE = b"hello world !!!"
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


@pytest.fixture(scope="module")
def signing_keys(tmp_path_factory):
    """One store with an RSA and three EC keys, shared by the sign/verify tests (RSA generation is slow)."""
    st = Store(str(tmp_path_factory.mktemp("sign")))
    st.data["okms"][OKMS_ID] = {"id": OKMS_ID, "region": "eu-west-rbx", "serviceKeys": {}, "credentials": {}}

    def _call(method, path, body=None, query=None):
        return data_plane.handle(st, OKMS_ID, method, path, query or {},
                                 json.dumps(body).encode() if body is not None else b"", IDENTITY)
    ids = {"RSA": create(_call, type="RSA", size=2048, operations=["sign", "verify"])["id"]}
    for curve in ("P-256", "P-384", "P-521"):
        ids[curve] = create(_call, type="EC", curve=curve, operations=["sign", "verify"])["id"]
    return st, _call, ids


def public_key(st, key_id):
    return serialization.load_pem_public_key(keys.public_pem(st.data["okms"][OKMS_ID]["serviceKeys"][key_id]).encode())


def independent_verify(pub, alg, signature, message, prehashed=False):
    hash_alg = HASHES[alg[2:]]()
    arg = utils.Prehashed(hash_alg) if prehashed else hash_alg
    if alg.startswith("ES"):
        half = len(signature) // 2
        der = utils.encode_dss_signature(int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big"))
        pub.verify(der, message, ec.ECDSA(arg))
    elif alg.startswith("PS"):
        pub.verify(signature, message, padding.PSS(mgf=padding.MGF1(hash_alg), salt_length=hash_alg.digest_size), arg)
    else:
        pub.verify(signature, message, padding.PKCS1v15(), arg)


SIGN_CASES = [("RSA", a) for a in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")] + [
    ("P-256", "ES256"), ("P-384", "ES384"), ("P-521", "ES512")]


@pytest.mark.parametrize("kind,alg", SIGN_CASES)
def test_sign_verify(signing_keys, kind, alg):
    st, call, ids = signing_keys
    base = f"/v1/servicekey/{ids[kind]}"
    status, resp = call("POST", base + "/sign", {"message": b64(MESSAGE), "alg": alg})
    assert status == 200
    signature = unb64(resp["signature"])
    if alg.startswith("ES"):
        assert len(signature) == {"P-256": 64, "P-384": 96, "P-521": 132}[kind]
    independent_verify(public_key(st, ids[kind]), alg, signature, MESSAGE)
    ok = call("POST", base + "/verify", {"message": b64(MESSAGE), "signature": resp["signature"], "alg": alg})
    assert ok == (200, {"result": True})
    bad = call("POST", base + "/verify", {"message": b64(MESSAGE + b"!"), "signature": resp["signature"], "alg": alg})
    assert bad == (200, {"result": False})
    junk = call("POST", base + "/verify", {"message": b64(MESSAGE), "signature": "YmFkIHNpZ25hdHVyZQo=", "alg": alg})
    assert junk == (200, {"result": False})


def digest_of(alg, message):
    h = hashes.Hash(HASHES[alg[2:]]())
    h.update(message)
    return h.finalize()


@pytest.mark.parametrize("kind,alg", SIGN_CASES)
def test_sign_prehashed_digest(signing_keys, kind, alg):
    """isdigest true: the client hashes locally and sends the digest; the signature is the message's."""
    st, call, ids = signing_keys
    base = f"/v1/servicekey/{ids[kind]}"
    digest = digest_of(alg, MESSAGE)
    status, resp = call("POST", base + "/sign", {"message": b64(digest), "alg": alg, "isdigest": True})
    assert status == 200
    signature = unb64(resp["signature"])
    if alg.startswith("ES"):
        assert len(signature) == {"P-256": 64, "P-384": 96, "P-521": 132}[kind]  # raw r||s, fixed length
    independent_verify(public_key(st, ids[kind]), alg, signature, MESSAGE)
    independent_verify(public_key(st, ids[kind]), alg, signature, digest, prehashed=True)
    # The same signature verifies both ways on the KMS: digest with isdigest, message without.
    assert call("POST", base + "/verify", {"message": b64(digest), "signature": resp["signature"], "alg": alg,
                                           "isdigest": True}) == (200, {"result": True})
    assert call("POST", base + "/verify", {"message": b64(MESSAGE), "signature": resp["signature"], "alg": alg,
                                           "isdigest": False}) == (200, {"result": True})
    assert call("POST", base + "/verify", {"message": b64(digest_of(alg, b"other")), "signature": resp["signature"],
                                           "alg": alg, "isdigest": True}) == (200, {"result": False})
    status, resp = call("POST", base + "/sign", {"message": b64(digest[:-1]), "alg": alg, "isdigest": True})
    assert_error(status, resp, 400)
    assert "isdigest" in resp["errors"][0] and str(len(digest)) in resp["errors"][0]
    assert_error(*call("POST", base + "/sign", {"message": b64(digest), "alg": alg, "isdigest": "yes"}), 400)


def test_sign_message_limits(signing_keys):
    _, call, ids = signing_keys
    base = f"/v1/servicekey/{ids['P-256']}"
    assert call("POST", base + "/sign", {"message": b64(b"m" * 4096), "alg": "ES256"})[0] == 200
    status, resp = call("POST", base + "/sign", {"message": b64(b"m" * 4097), "alg": "ES256"})
    assert_error(status, resp, 400)
    assert "'message'" in resp["errors"][0] and "4096" in resp["errors"][0]
    assert_error(*call("POST", base + "/sign", {"message": "", "alg": "ES256"}), 400)
    assert_error(*call("POST", base + "/sign", {"alg": "ES256"}), 400)
    assert_error(*call("POST", base + "/sign", {"message": b64(MESSAGE)}), 400)


def test_verify_takes_what_the_spec_requires_only(signing_keys):
    """VerifyRequest requires signature only: an EC key's curve gives the alg; RSA needs it."""
    _, call, ids = signing_keys
    sig = call("POST", f"/v1/servicekey/{ids['P-384']}/sign",
               {"message": b64(MESSAGE), "alg": "ES384"})[1]["signature"]
    assert call("POST", f"/v1/servicekey/{ids['P-384']}/verify", {"message": b64(MESSAGE), "signature": sig}) == \
        (200, {"result": True})
    # No message: the empty message, which this signature is not of.
    assert call("POST", f"/v1/servicekey/{ids['P-384']}/verify", {"signature": sig}) == (200, {"result": False})
    status, resp = call("POST", f"/v1/servicekey/{ids['RSA']}/verify", {"message": b64(MESSAGE), "signature": sig})
    assert_error(status, resp, 400)
    assert "'alg'" in resp["errors"][0] and ids["RSA"] in resp["errors"][0]
    assert_error(*call("POST", f"/v1/servicekey/{ids['P-384']}/verify", {"message": b64(MESSAGE)}), 400)


@pytest.mark.parametrize("kind,alg", [("RSA", "ES256"), ("P-256", "ES384"), ("P-384", "RS256"), ("P-521", "ES256"),
                                      ("RSA", "HS256")])
def test_wrong_alg_is_refused(signing_keys, kind, alg):
    _, call, ids = signing_keys
    status, resp = call("POST", f"/v1/servicekey/{ids[kind]}/sign", {"message": b64(MESSAGE), "alg": alg})
    assert_error(status, resp, 400)
    assert alg in resp["errors"][0]
    if alg != "HS256":  # an alg of the spec's list: the message also names the key it does not fit
        assert ids[kind] in resp["errors"][0]
    assert_error(*call("POST", f"/v1/servicekey/{ids[kind]}/verify",
                       {"message": b64(MESSAGE), "signature": b64(b"x" * 64), "alg": alg}), 400)


def test_signature_is_not_forgeable_across_keys(signing_keys):
    st, call, ids = signing_keys
    sig = unb64(call("POST", f"/v1/servicekey/{ids['P-256']}/sign", {"message": b64(MESSAGE), "alg": "ES256"})[1]["signature"])
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(InvalidSignature):
        independent_verify(other, "ES256", sig, MESSAGE)


def test_sign_needs_active_key_verify_does_not(call):
    key = create(call, type="EC", curve="P-256", operations=["sign", "verify"])
    base = f"/v1/servicekey/{key['id']}"
    sig = call("POST", base + "/sign", {"message": b64(MESSAGE), "alg": "ES256"})[1]["signature"]
    call("POST", base + "/deactivate", {"reason": "cessation_of_operation"})
    status, resp = call("POST", base + "/sign", {"message": b64(MESSAGE), "alg": "ES256"})
    assert_error(status, resp, 400)
    assert key["id"] in resp["errors"][0] and "deactivated" in resp["errors"][0]
    assert call("POST", base + "/verify", {"message": b64(MESSAGE), "signature": sig, "alg": "ES256"}) == \
        (200, {"result": True})
    oct_key = aes(call)
    status, resp = call("POST", f"/v1/servicekey/{oct_key['id']}/sign", {"message": b64(MESSAGE), "alg": "ES256"})
    assert_error(status, resp, 400)  # a key without the sign operation
    assert oct_key["id"] in resp["errors"][0] and "'sign'" in resp["errors"][0]


# --- random, routing, errors ---------------------------------------------------

def test_random(call):
    assert len(unb64(call("GET", "/v1/random")[1]["bytes"])) == 1
    assert len(unb64(call("GET", "/v1/random", query={"length": ["4096"]})[1]["bytes"])) == 4096
    first, second = (call("GET", "/v1/random", query={"length": ["32"]})[1]["bytes"] for _ in range(2))
    assert first != second
    for length in ("0", "4097", "-1", "abc"):
        assert_error(*call("GET", "/v1/random", query={"length": [length]}), 400)


def test_routing_errors(call):
    assert_error(*call("GET", "/v1/nothing"), 404)
    assert_error(*call("GET", "/v2/nothing"), 404)  # /v2/secret is served since the Secret Manager
    assert_error(*call("POST", "/v1/servicekey/abc/explode", {}), 404)
    assert_error(*call("PUT", "/v1/servicekey"), 405)
    assert_error(*call("POST", "/v1/random"), 405)
    key = aes(call)
    assert_error(*call("GET", f"/v1/servicekey/{key['id']}/encrypt"), 405)


def test_unknown_kms_is_404(store):
    status, resp = data_plane.handle(store, "00000000-0000-0000-0000-000000000000", "GET", "/v1/servicekey", {}, b"",
                                     IDENTITY)
    assert_error(status, resp, 404)
