# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service-key rules, JWK conversion and the returned shape (pure functions, no API)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_service_key import (
    ServiceKeyValidationError,
    creation_body,
    immutable_differences,
    immutable_differences_message,
    jwk_from_key_file,
    normalize_deactivation_reason,
    normalize_jwk,
    public_jwk_material,
    resolve_key_spec,
    resolve_state_update,
    secret_values,
    service_key_to_diff,
    service_key_to_result,
    state_transition_refusal,
    validate_context,
    validate_name,
)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# --- generation defaults and the validation table ----------------------------------

@pytest.mark.parametrize("args, expected", [
    (("oct",), {"type": "oct", "size": 256, "curve": None, "operations": ["encrypt", "decrypt"]}),
    (("oct", 128, None, ["unwrapKey", "wrapKey"]),
     {"type": "oct", "size": 128, "curve": None, "operations": ["wrapKey", "unwrapKey"]}),
    (("RSA",), {"type": "RSA", "size": 2048, "curve": None, "operations": ["sign", "verify"]}),
    (("RSA", 4096), {"type": "RSA", "size": 4096, "curve": None, "operations": ["sign", "verify"]}),
    # An EC key has a curve and no size: the API returns size null for it.
    (("EC",), {"type": "EC", "size": None, "curve": "P-256", "operations": ["sign", "verify"]}),
    (("EC", None, "P-521", ["verify", "sign"]),
     {"type": "EC", "size": None, "curve": "P-521", "operations": ["sign", "verify"]}),
])
def test_defaults_and_canonical_operations(args, expected):
    assert resolve_key_spec(*args) == expected


@pytest.mark.parametrize("args, message", [
    (("EC", 256, "P-256"), "size does not apply to EC keys: an EC key has only a curve (one of P-256, P-384, "
                           "P-521); remove size"),
    (("RSA", 2048, "P-256"), "curve applies only to EC keys, not to RSA keys"),
    (("oct", None, "P-384"), "curve applies only to EC keys, not to oct keys"),
    (("oct", 2048), "size for an oct key must be one of 128, 192, 256; got 2048"),
    (("RSA", 256), "size for an RSA key must be one of 2048, 3072, 4096; got 256"),
    (("RSA", 1024), "size for an RSA key must be one of 2048, 3072, 4096; got 1024"),
    (("oct", None, None, ["sign", "verify"]),
     "operations for an oct key must be [encrypt, decrypt] or [wrapKey, unwrapKey]; got [sign, verify]"),
    (("oct", None, None, ["encrypt", "wrapKey"]),
     "operations for an oct key must be [encrypt, decrypt] or [wrapKey, unwrapKey]; got [encrypt, wrapKey]"),
    (("oct", None, None, ["encrypt"]), "operations for an oct key must be"),
    (("RSA", None, None, ["encrypt", "decrypt"]), "operations for an RSA key must be [sign, verify]"),
    (("EC", None, None, ["sign"]), "operations for an EC key must be [sign, verify]; got [sign]"),
    (("EC", None, None, ["sign", "sign"]), "operations lists an operation twice"),
    (("EC", None, None, ["sign", "frobnicate"]), "unknown operation(s) frobnicate; allowed values are"),
    (("EC", None, "P-192"), "curve must be one of P-256, P-384, P-521; got P-192"),
    (("AES",), "type must be one of oct, RSA, EC; got AES"),
])
def test_invalid_combinations_name_the_option_and_allowed_values(args, message):
    with pytest.raises(ServiceKeyValidationError) as err:
        resolve_key_spec(*args)
    assert message in str(err.value)


def test_name_and_context_limits():
    validate_name("a" * 32)
    with pytest.raises(ServiceKeyValidationError, match="name is 33 characters long; at most 32"):
        validate_name("a" * 33)
    with pytest.raises(ServiceKeyValidationError, match="name is required"):
        validate_name("")
    with pytest.raises(ServiceKeyValidationError, match="printable"):
        validate_name("bad\nname")
    validate_context("c" * 64)
    with pytest.raises(ServiceKeyValidationError, match="context is 65 characters long; at most 64"):
        validate_context("c" * 65)


def test_creation_body_sends_curve_for_ec_and_size_otherwise():
    assert creation_body("k", resolve_key_spec("EC", curve="P-384"), "ctx") == {
        "name": "k", "type": "EC", "curve": "P-384", "operations": ["sign", "verify"], "context": "ctx"}
    assert creation_body("k", resolve_key_spec("oct")) == {
        "name": "k", "type": "oct", "size": 256, "operations": ["encrypt", "decrypt"]}


# --- lifecycle -------------------------------------------------------------------------

def test_reasons_accept_any_case_and_name_the_choices():
    assert normalize_deactivation_reason("key_compromise") == "KEY_COMPROMISE"
    assert normalize_deactivation_reason("Superseded") == "SUPERSEDED"
    with pytest.raises(ServiceKeyValidationError, match="deactivation_reason must be one of unspecified, "):
        normalize_deactivation_reason("bored")


def test_state_updates_and_their_defaults():
    assert resolve_state_update("active", None) == {"state": "ACTIVE"}
    assert resolve_state_update("deactivated", None) == {"state": "DEACTIVATED", "deactivationReason": "UNSPECIFIED"}
    assert resolve_state_update("deactivated", "SUPERSEDED")["deactivationReason"] == "SUPERSEDED"
    assert resolve_state_update("compromised", None) == {"state": "COMPROMISED",
                                                         "deactivationReason": "KEY_COMPROMISE"}
    with pytest.raises(ServiceKeyValidationError, match="use key_state compromised"):
        resolve_state_update("deactivated", "CA_COMPROMISE")
    with pytest.raises(ServiceKeyValidationError, match="must be one of key_compromise, ca_compromise; got superseded"):
        resolve_state_update("compromised", "SUPERSEDED")
    with pytest.raises(ServiceKeyValidationError, match="not active"):
        resolve_state_update("active", "SUPERSEDED")


def test_refused_transitions():
    assert state_transition_refusal("ACTIVE", "DEACTIVATED") is None
    assert state_transition_refusal("COMPROMISED", "ACTIVE") is None
    assert "never downgraded" in state_transition_refusal("COMPROMISED", "DEACTIVATED")
    assert "no longer change state" in state_transition_refusal("DESTROYED", "ACTIVE")


# --- immutable attributes and the diff -------------------------------------------------

EXISTING_OCT = {"id": "k1", "name": "data", "type": "oct", "size": 128, "curve": None,
                "operations": ["decrypt", "encrypt"], "state": "ACTIVE", "createdAt": "2025-01-01T00:00:00Z"}


def test_operations_compare_as_sets_and_defaults_are_compared():
    assert immutable_differences(resolve_key_spec("oct", 128), EXISTING_OCT) == []
    differences = immutable_differences(resolve_key_spec("oct"), EXISTING_OCT)
    assert differences == [("size", 256, 128)]
    message = immutable_differences_message("data", immutable_differences(
        resolve_key_spec("oct", 128, None, ["wrapKey", "unwrapKey"]), EXISTING_OCT))
    assert "operations is [decrypt, encrypt], the task asks for [wrapKey, unwrapKey]" in message
    assert "never replaces a key" in message


def test_ec_keys_compare_on_curve_not_size():
    existing = {"type": "EC", "size": 256, "curve": "P-256", "operations": ["sign", "verify"]}
    assert immutable_differences(resolve_key_spec("EC"), existing) == []
    existing_without_size = dict(existing, size=None)
    assert immutable_differences(resolve_key_spec("EC"), existing_without_size) == []
    assert immutable_differences(resolve_key_spec("EC", curve="P-384"), existing) == [("curve", "P-384", "P-256")]
    assert immutable_differences(resolve_key_spec("RSA"), existing)[0] == ("type", "RSA", "EC")


# The API's answer for an EC key (create, get, list and update all look like this).
API_EC_KEY = {"id": "k2", "name": "signing", "type": "EC", "size": None, "curve": "P-384",
              "operations": ["sign", "verify"], "state": "ACTIVE", "createdAt": "2025-01-01T00:00:00Z"}


def test_check_mode_prediction_of_an_ec_key_matches_the_api_answer():
    spec = resolve_key_spec("EC", curve="P-384")
    predicted = dict(spec, id=None, name="signing", state="ACTIVE")  # what check mode reports
    assert service_key_to_diff(predicted) == dict(service_key_to_diff(API_EC_KEY), id=None)
    # Both modules return the prediction and the answer through the same shaping.
    assert service_key_to_result(predicted) == dict(service_key_to_diff(API_EC_KEY), id=None)
    assert service_key_to_diff(API_EC_KEY)["size"] is None and service_key_to_diff(API_EC_KEY)["curve"] == "P-384"
    assert immutable_differences(spec, API_EC_KEY) == []


def test_metadata_for_diff_holds_no_material_and_snake_case_keeps_tags():
    api_key = dict(EXISTING_OCT, keys=[{"kid": "k1", "kty": "oct"}],
                   iam={"displayName": "data", "tags": {"ovh:type": "oct", "ovh:state": "ACTIVE"}})
    shaped = service_key_to_result(api_key)
    assert shaped["created_at"] == "2025-01-01T00:00:00Z"
    assert shaped["iam"] == {"display_name": "data", "tags": {"ovh:type": "oct", "ovh:state": "ACTIVE"}}
    assert service_key_to_diff(api_key) == {"id": "k1", "name": "data", "type": "oct", "size": 128, "curve": None,
                                            "operations": ["decrypt", "encrypt"], "state": "ACTIVE"}
    assert service_key_to_diff(None) == {}


# --- JWK conversion -----------------------------------------------------------------------

def pem_of(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.mark.parametrize("size", [2048, 3072])
def test_rsa_pem_becomes_a_private_jwk_of_the_same_key(size):
    key = rsa.generate_private_key(public_exponent=65537, key_size=size)
    jwk, spec = normalize_jwk(jwk_from_key_file(pem_of(key)), kid="signing")
    assert spec == {"type": "RSA", "size": size, "curve": None, "operations": ["sign", "verify"]}
    assert jwk["kid"] == "signing" and jwk["key_ops"] == ["sign", "verify"]
    numbers = key.private_numbers()
    assert int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=="), "big") == numbers.public_numbers.n
    assert int.from_bytes(base64.urlsafe_b64decode(jwk["qi"] + "=="), "big") == numbers.iqmp
    assert set(secret_values(jwk)) == set(jwk[m] for m in ("d", "p", "q", "dp", "dq", "qi"))


@pytest.mark.parametrize("curve, name, length", [(ec.SECP256R1, "P-256", 32), (ec.SECP384R1, "P-384", 48),
                                                 (ec.SECP521R1, "P-521", 66)])
def test_ec_pem_becomes_a_jwk_with_fixed_length_coordinates(curve, name, length):
    key = ec.generate_private_key(curve())
    traditional = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
    jwk, spec = normalize_jwk(jwk_from_key_file(traditional))
    assert spec == {"type": "EC", "size": None, "curve": name, "operations": ["sign", "verify"]}
    for member in ("x", "y", "d"):
        assert len(base64.urlsafe_b64decode(jwk[member] + "==")) == length
    assert public_jwk_material(jwk) == {"crv": name, "x": key.public_key().public_numbers().x,
                                        "y": key.public_key().public_numbers().y}


def _pem(key, private_format):
    return key.private_bytes(serialization.Encoding.PEM, private_format, serialization.NoEncryption())


@pytest.mark.parametrize("make_key, traditional_marker", [
    (lambda: ec.generate_private_key(ec.SECP256R1()), b"-----BEGIN EC PRIVATE KEY-----"),
    (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), b"-----BEGIN RSA PRIVATE KEY-----"),
])
def test_key_files_are_read_in_sec1_pkcs1_and_pkcs8_alike(make_key, traditional_marker):
    """OVHcloud hands out SEC1 EC keys; PKCS#1 and PKCS#8 files are read the same way."""
    key = make_key()
    traditional = _pem(key, serialization.PrivateFormat.TraditionalOpenSSL)
    pkcs8 = _pem(key, serialization.PrivateFormat.PKCS8)
    assert traditional.startswith(traditional_marker) and pkcs8.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert normalize_jwk(jwk_from_key_file(traditional)) == normalize_jwk(jwk_from_key_file(pkcs8))


@pytest.mark.parametrize("length", [16, 24, 32])
def test_raw_oct_key_file(length):
    raw = bytes(range(length))
    jwk, spec = normalize_jwk(jwk_from_key_file(raw), operations=["wrapKey", "unwrapKey"], kid="wrap")
    assert jwk == {"kty": "oct", "k": b64(raw), "kid": "wrap", "key_ops": ["wrapKey", "unwrapKey"]}
    assert spec["size"] == length * 8
    assert public_jwk_material(jwk) is None


def test_key_files_that_cannot_be_imported_fail_without_quoting_the_content():
    secret = b"0123456789abcdef0123456789abcdef\n"  # 33 bytes: a hex string with a newline
    with pytest.raises(ServiceKeyValidationError) as err:
        jwk_from_key_file(secret)
    assert "exactly 16, 24 or 32 bytes; the file is 33 bytes" in str(err.value)
    assert "0123" not in str(err.value)

    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(ServiceKeyValidationError, match="a public key or certificate cannot be imported"):
        jwk_from_key_file(public)

    encrypted = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass"))
    with pytest.raises(ServiceKeyValidationError, match="encrypted private key"):
        jwk_from_key_file(encrypted)

    with pytest.raises(ServiceKeyValidationError, match="OKMS imports RSA and EC keys"):
        jwk_from_key_file(pem_of(ed25519.Ed25519PrivateKey.generate()))

    with pytest.raises(ServiceKeyValidationError, match="curve secp256k1"):
        jwk_from_key_file(pem_of(ec.generate_private_key(ec.SECP256K1())))


def test_small_rsa_key_is_refused_before_the_api():
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ServiceKeyValidationError, match="RSA modulus must be 2048, 3072, 4096 bits; got 1024"):
        normalize_jwk(jwk_from_key_file(pem_of(key)))


SECRET_K = b64(b"S" * 32)


@pytest.mark.parametrize("jwk, operations, message", [
    ({"kty": "oct", "k": b64(b"S" * 20)}, None, "jwk.k must be 16, 24 or 32 bytes"),
    ({"kty": "oct", "k": "not base64url!"}, None, "jwk.k must be base64url-encoded"),
    ({"kty": "oct"}, None, "jwk is missing k"),
    ({"kty": "oct", "k": SECRET_K, "d": SECRET_K}, None, "jwk member(s) d do not apply to oct keys"),
    ({"kty": "oct", "k": SECRET_K, "key_ops": ["sign", "verify"]}, None, "jwk.key_ops for an oct key must be"),
    ({"kty": "oct", "k": SECRET_K, "key_ops": ["encrypt", "decrypt"]}, ["wrapKey", "unwrapKey"], "disagree"),
    ({"kty": "oct", "k": SECRET_K, "use": "sig"}, None, "jwk.use must be enc for an oct key; got sig"),
    ({"kty": "oct", "k": SECRET_K, "alg": "RS256"}, None, "jwk.alg for this oct key must be one of (none"),
    ({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}, None, "jwk is missing d"),
    ({"kty": "EC", "crv": "P-192", "x": "AA", "y": "AA", "d": "AA"}, None, "jwk.crv must be one of"),
])
def test_bad_jwks_name_the_member_never_the_secret(jwk, operations, message):
    with pytest.raises(ServiceKeyValidationError) as err:
        normalize_jwk(jwk, operations)
    assert message in str(err.value)
    assert SECRET_K not in str(err.value)


def test_jwk_suboptions_left_unset_are_ignored_and_kid_kept():
    jwk, spec = normalize_jwk({"kty": "oct", "k": SECRET_K, "kid": "mine", "n": None, "use": "enc"}, kid="name")
    assert jwk == {"kty": "oct", "k": SECRET_K, "kid": "mine", "use": "enc", "key_ops": ["encrypt", "decrypt"]}
    assert spec == {"type": "oct", "size": 256, "curve": None, "operations": ["encrypt", "decrypt"]}
