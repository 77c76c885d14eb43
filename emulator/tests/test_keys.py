"""Service-key semantics: validation classes, real key material, transitions."""

import base64
import copy

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from okms_emulator import keys
from okms_emulator.keys import ServiceKeyError


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_int(value, length=None):
    return b64u(value.to_bytes(length or (value.bit_length() + 7) // 8, "big"))


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rsa_jwk(key, **extra):
    priv = key.private_numbers()
    jwk = {"kty": "RSA", "kid": "imported-rsa", "key_ops": ["sign", "verify"],
           "n": b64u_int(priv.public_numbers.n), "e": b64u_int(priv.public_numbers.e), "d": b64u_int(priv.d),
           "p": b64u_int(priv.p), "q": b64u_int(priv.q), "dp": b64u_int(priv.dmp1), "dq": b64u_int(priv.dmq1),
           "qi": b64u_int(priv.iqmp)}
    jwk.update(extra)
    return jwk


def ec_jwk(key, crv="P-256", length=32, **extra):
    priv = key.private_numbers()
    jwk = {"kty": "EC", "kid": "imported-ec", "key_ops": ["verify", "sign"], "crv": crv,
           "x": b64u_int(priv.public_numbers.x, length), "y": b64u_int(priv.public_numbers.y, length),
           "d": b64u_int(priv.private_value, length)}
    jwk.update(extra)
    return jwk


def oct_jwk(nbytes=32, **extra):
    jwk = {"kty": "oct", "kid": "imported-oct", "key_ops": ["encrypt", "decrypt"], "k": b64u(bytes(range(nbytes)))}
    jwk.update(extra)
    return jwk


def record_from(fields, key_id="11111111-2222-3333-4444-555555555555", state="ACTIVE"):
    return {"id": key_id, "state": state, "deactivationReason": None, "createdAt": "2024-01-01T00:00:00Z", **fields}


OCT = {"name": "k", "type": "oct", "size": 256, "operations": ["encrypt", "decrypt"]}
EC_P256 = {"name": "k", "type": "EC", "curve": "P-256", "operations": ["sign", "verify"]}


# --- generation ---------------------------------------------------------------

@pytest.mark.parametrize("size", [128, 192, 256])
@pytest.mark.parametrize("ops", [["encrypt", "decrypt"], ["unwrapKey", "wrapKey"]])
def test_oct_generation(size, ops):
    fields = keys.build_service_key({"name": "aes", "type": "oct", "size": size, "operations": ops})
    assert fields["type"] == "oct" and fields["size"] == size and fields["curve"] is None
    assert sorted(fields["operations"]) == sorted(ops)
    assert len(keys.b64url_decode(fields["jwk"]["k"])) == size // 8
    assert fields["jwk"]["kid"]


@pytest.mark.parametrize("size", [2048, 3072, 4096])
def test_rsa_generation(size):
    fields = keys.build_service_key({"name": "rsa", "type": "RSA", "size": size, "operations": ["verify", "sign"]})
    assert fields["operations"] == ["sign", "verify"]  # canonical order, request order irrelevant
    record = record_from(fields)
    assert keys.private_key(record).key_size == size
    pem = keys.public_pem(record)
    assert serialization.load_pem_public_key(pem.encode()).key_size == size


@pytest.mark.parametrize("curve,cls,bits", [("P-256", ec.SECP256R1, 256), ("P-384", ec.SECP384R1, 384),
                                             ("P-521", ec.SECP521R1, 521)])
def test_ec_generation(curve, cls, bits):
    fields = keys.build_service_key({"name": "ec", "type": "EC", "curve": curve, "operations": ["sign", "verify"]})
    # OVHcloud reports no size for an EC key (null), only its curve.
    assert fields["curve"] == curve and fields["size"] is None
    # The curve's own size is tolerated in the request, and still not reported.
    sized = keys.build_service_key({"name": "ec", "type": "EC", "curve": curve, "size": bits,
                                    "operations": ["sign", "verify"]})
    assert sized["curve"] == curve and sized["size"] is None
    record = record_from(fields)
    public = serialization.load_pem_public_key(keys.public_pem(record).encode())
    assert isinstance(public.curve, cls)


def test_generated_keys_are_distinct():
    a, b = (keys.build_service_key(dict(OCT))["jwk"]["k"] for _ in range(2))
    assert a != b


def test_context_is_kept():
    assert keys.build_service_key({**OCT, "context": "app=billing"})["context"] == "app=billing"


def test_combined_oct_operations_only_when_allowed():
    body = {**OCT, "operations": ["encrypt", "decrypt", "wrapKey", "unwrapKey"]}
    with pytest.raises(ServiceKeyError) as exc:
        keys.build_service_key(body)
    assert exc.value.error_class.endswith("ServiceKeyOperationsIncompatible")
    assert len(keys.build_service_key(body, allow_combined_oct_operations=True)["operations"]) == 4


# --- validation classes -------------------------------------------------------

P = "Client::BadRequest::ServiceKey"

VALIDATION_CASES = [
    ({**OCT, "name": None}, "NameMinRequired"),
    ({**OCT, "name": ""}, "NameMinRequired"),
    ({**OCT, "name": "x" * 33}, "NameMaxExceeded"),
    ({**OCT, "name": "bad\nname"}, "NameInvalidCharacter"),
    ({**OCT, "name": 12}, "NameInvalidCharacter"),
    ({**OCT, "context": "c" * 65}, "ContextMaxExceeded"),
    ({**OCT, "context": "tab\there"}, "ContextInvalidCharacter"),
    ({"name": "k", "size": 256, "operations": ["encrypt", "decrypt"]}, "TypeRequired"),
    ({**OCT, "type": "AES"}, "TypeIncompatible"),
    ({**OCT, "size": None}, "SizeRequired"),
    ({"name": "k", "type": "RSA", "operations": ["sign", "verify"]}, "SizeRequired"),
    ({**OCT, "size": 100}, "SizeInvalid"),
    ({**OCT, "size": "256"}, "SizeInvalid"),
    ({**OCT, "size": 2048}, "SizeIncompatible"),
    ({"name": "k", "type": "RSA", "size": 256, "operations": ["sign", "verify"]}, "SizeIncompatible"),
    ({**EC_P256, "size": 384}, "SizeIncompatible"),
    ({**EC_P256, "curve": None}, "CurveRequired"),
    ({**EC_P256, "curve": "P-192"}, "CurveIncompatible"),
    ({**OCT, "curve": "P-256"}, "CurveIncompatible"),
    ({**OCT, "operations": None}, "OperationsRequired"),
    ({**OCT, "operations": []}, "OperationsRequired"),
    ({**OCT, "operations": ["encrypt", "explode"]}, "OperationsInvalid"),
    ({**OCT, "operations": ["encrypt", "encrypt"]}, "OperationsInvalid"),
    ({**OCT, "operations": ["sign", "verify"]}, "OperationsIncompatible"),
    ({**OCT, "operations": ["encrypt"]}, "OperationsIncompatible"),
    ({**EC_P256, "operations": ["encrypt", "decrypt"]}, "OperationsIncompatible"),
    ({"name": "k", "keys": []}, "KeysMinRequired"),
    ({"name": "k", "keys": [oct_jwk(), oct_jwk()]}, "KeysMaxExceeded"),
    ({"name": "k", "type": "oct", "keys": [oct_jwk()]}, "KeysIncompatible"),
    ({"name": "k", "operations": ["encrypt", "decrypt"], "keys": [oct_jwk()]}, "KeysIncompatible"),
    ({"name": "k", "keys": [{k: v for k, v in oct_jwk().items() if k != "kty"}]}, "KtyRequired"),
    ({"name": "k", "keys": [oct_jwk(kty="DES")]}, "TypeIncompatible"),
    ({"name": "k", "keys": [{k: v for k, v in oct_jwk().items() if k != "kid"}]}, "KidRequired"),
    ({"name": "k", "keys": [oct_jwk(key_ops=None)]}, "KeyOpsRequired"),
    ({"name": "k", "keys": [oct_jwk(key_ops=["sign", "verify"])]}, "KeyOpsInvalidUsage"),
    ({"name": "k", "keys": [oct_jwk(key_ops=["fly"])]}, "KeyOpsInvalidUsage"),
    ({"name": "k", "keys": [oct_jwk(use="sig")]}, "UseInconsistentUsage"),
    ({"name": "k", "keys": [oct_jwk(k=None)]}, "KRequired"),
    ({"name": "k", "keys": [oct_jwk(k="not base64!")]}, "KInvalidFormat"),
    ({"name": "k", "keys": [oct_jwk(nbytes=20)]}, "KInvalidFormat"),
]


@pytest.mark.parametrize("body,suffix", VALIDATION_CASES)
def test_validation_classes(body, suffix):
    with pytest.raises(ServiceKeyError) as exc:
        keys.build_service_key(body)
    assert exc.value.error_class == P + suffix
    assert exc.value.status == 400
    assert exc.value.message


def _drop(jwk, member):
    return {k: v for k, v in jwk.items() if k != member}


@pytest.mark.parametrize("member,suffix", [("n", "NRequired"), ("e", "ERequired"), ("d", "DRequired"),
                                           ("p", "PRequired"), ("q", "QRequired"), ("dp", "DpRequired"),
                                           ("dq", "DqRequired"), ("qi", "QiRequired")])
def test_rsa_import_missing_members(rsa_key, member, suffix):
    with pytest.raises(ServiceKeyError) as exc:
        keys.build_service_key({"name": "k", "keys": [_drop(rsa_jwk(rsa_key), member)]})
    assert exc.value.error_class == P + suffix


@pytest.mark.parametrize("member,suffix", [("n", "NInvalidFormat"), ("e", "EInvalidFormat"), ("d", "DInvalidFormat"),
                                           ("p", "PInvalidFormat"), ("q", "QInvalidFormat")])
def test_rsa_import_malformed_members(rsa_key, member, suffix):
    with pytest.raises(ServiceKeyError) as exc:
        keys.build_service_key({"name": "k", "keys": [rsa_jwk(rsa_key, **{member: "*&^"})]})
    assert exc.value.error_class == P + suffix


def test_rsa_import_rejects_small_modulus():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ServiceKeyError) as exc:
        keys.build_service_key({"name": "k", "keys": [rsa_jwk(small)]})
    assert exc.value.error_class == P + "NInvalidSize"


def test_rsa_import_rejects_inconsistent_key(rsa_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = rsa_jwk(rsa_key, d=rsa_jwk(other)["d"])
    with pytest.raises(ServiceKeyError) as exc:
        keys.build_service_key({"name": "k", "keys": [jwk]})
    assert exc.value.error_class == P + "DInvalidFormat"


def test_rsa_import_rejects_wrong_alg(rsa_key):
    with pytest.raises(ServiceKeyError) as exc:
        keys.build_service_key({"name": "k", "keys": [rsa_jwk(rsa_key, alg="ES256")]})
    assert exc.value.error_class == P + "KeysIncompatible"


@pytest.mark.parametrize("member,suffix", [("crv", "CrvRequired"), ("x", "XRequired"), ("y", "YRequired"),
                                           ("d", "DRequired")])
def test_ec_import_missing_members(member, suffix):
    jwk = _drop(ec_jwk(ec.generate_private_key(ec.SECP256R1())), member)
    with pytest.raises(ServiceKeyError) as exc:
        keys.build_service_key({"name": "k", "keys": [jwk]})
    assert exc.value.error_class == P + suffix


def test_ec_import_rejects_point_off_curve():
    jwk = ec_jwk(ec.generate_private_key(ec.SECP256R1()))
    y = int.from_bytes(keys.b64url_decode(jwk["y"]), "big")
    jwk["y"] = b64u_int(y ^ 1, 32)
    with pytest.raises(ServiceKeyError) as exc:
        keys.build_service_key({"name": "k", "keys": [jwk]})
    assert exc.value.error_class == P + "XInvalidFormat"


def test_ec_import_rejects_mismatched_d_and_bad_formats():
    jwk = ec_jwk(ec.generate_private_key(ec.SECP256R1()))
    jwk["d"] = ec_jwk(ec.generate_private_key(ec.SECP256R1()))["d"]
    with pytest.raises(ServiceKeyError) as exc:
        keys.build_service_key({"name": "k", "keys": [jwk]})
    assert exc.value.error_class == P + "DInvalidFormat"
    for member, suffix in (("x", "XInvalidFormat"), ("y", "YInvalidFormat")):
        bad = ec_jwk(ec.generate_private_key(ec.SECP256R1()), **{member: "@@"})
        with pytest.raises(ServiceKeyError) as exc:
            keys.build_service_key({"name": "k", "keys": [bad]})
        assert exc.value.error_class == P + suffix


# --- import -------------------------------------------------------------------

def test_import_oct():
    fields = keys.build_service_key({"name": "imp", "keys": [oct_jwk(24, key_ops=["wrapKey", "unwrapKey"])]})
    assert (fields["type"], fields["size"], fields["curve"]) == ("oct", 192, None)
    assert fields["operations"] == ["wrapKey", "unwrapKey"]
    assert keys.b64url_decode(fields["jwk"]["k"]) == bytes(range(24))


def test_import_rsa(rsa_key):
    fields = keys.build_service_key({"name": "imp", "keys": [rsa_jwk(rsa_key, alg="PS256", use="sig")]})
    assert (fields["type"], fields["size"], fields["operations"]) == ("RSA", 2048, ["sign", "verify"])
    record = record_from(fields)
    assert keys.private_key(record).private_numbers() == rsa_key.private_numbers()


@pytest.mark.parametrize("curve,cls,length", [("P-256", ec.SECP256R1, 32), ("P-384", ec.SECP384R1, 48),
                                               ("P-521", ec.SECP521R1, 66)])
def test_import_ec(curve, cls, length):
    key = ec.generate_private_key(cls())
    fields = keys.build_service_key({"name": "imp", "keys": [ec_jwk(key, curve, length)]})
    assert (fields["type"], fields["size"], fields["curve"]) == ("EC", None, curve)
    assert keys.private_key(record_from(fields)).private_numbers() == key.private_numbers()


# --- public material ----------------------------------------------------------

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


def test_public_jwk_has_no_private_members(rsa_key):
    for body in (dict(OCT), dict(EC_P256), {"name": "k", "keys": [rsa_jwk(rsa_key)]}):
        record = record_from(keys.build_service_key(body))
        jwk = keys.public_jwk(record)
        assert not PRIVATE_MEMBERS & set(jwk)
        assert jwk["kid"] == record["id"]
        assert jwk["key_ops"] == record["operations"]
    oct_record = record_from(keys.build_service_key(dict(OCT)))
    assert set(keys.public_jwk(oct_record)) == {"kid", "kty", "key_ops"}
    assert keys.public_pem(oct_record) is None


def test_public_pem_matches_key(rsa_key):
    record = record_from(keys.build_service_key({"name": "k", "keys": [rsa_jwk(rsa_key)]}))
    loaded = serialization.load_pem_public_key(keys.public_pem(record).encode())
    assert loaded.public_numbers() == rsa_key.public_key().public_numbers()


# --- update / transitions -----------------------------------------------------

def _record(state="ACTIVE"):
    return record_from(keys.build_service_key(dict(OCT)), state=state)


def test_rename():
    record = _record()
    keys.apply_service_key_update(record, {"name": "renamed"})
    assert record["name"] == "renamed" and record["state"] == "ACTIVE"
    with pytest.raises(ServiceKeyError) as exc:
        keys.apply_service_key_update(record, {"name": "y" * 40})
    assert exc.value.error_class == P + "NameMaxExceeded"


TRANSITION_CASES = [
    # (from, body, resulting state, resulting reason)
    ("ACTIVE", {"state": "ACTIVE"}, "ACTIVE", None),
    ("ACTIVE", {"state": "DEACTIVATED", "deactivationReason": "SUPERSEDED"}, "DEACTIVATED", "SUPERSEDED"),
    ("ACTIVE", {"state": "DEACTIVATED", "deactivationReason": "KEY_COMPROMISE"}, "COMPROMISED", "KEY_COMPROMISE"),
    ("ACTIVE", {"state": "DEACTIVATED", "deactivationReason": "CA_COMPROMISE"}, "COMPROMISED", "CA_COMPROMISE"),
    ("ACTIVE", {"state": "COMPROMISED"}, "COMPROMISED", "KEY_COMPROMISE"),
    ("ACTIVE", {"state": "COMPROMISED", "deactivationReason": "CA_COMPROMISE"}, "COMPROMISED", "CA_COMPROMISE"),
    ("DEACTIVATED", {"state": "ACTIVE"}, "ACTIVE", None),
    ("DEACTIVATED", {"state": "DEACTIVATED", "deactivationReason": "UNSPECIFIED"}, "DEACTIVATED", "UNSPECIFIED"),
    ("DEACTIVATED", {"state": "DEACTIVATED", "deactivationReason": "KEY_COMPROMISE"}, "COMPROMISED", "KEY_COMPROMISE"),
    ("DEACTIVATED", {"state": "COMPROMISED"}, "COMPROMISED", "KEY_COMPROMISE"),
    ("COMPROMISED", {"state": "ACTIVE"}, "ACTIVE", None),
    ("COMPROMISED", {"state": "COMPROMISED"}, "COMPROMISED", "KEY_COMPROMISE"),
    ("PRE_ACTIVE", {"state": "ACTIVE"}, "ACTIVE", None),
]


@pytest.mark.parametrize("start,body,state,reason", TRANSITION_CASES)
def test_transitions(start, body, state, reason):
    record = _record(start)
    keys.apply_service_key_update(record, body)
    assert record["state"] == state
    assert record["deactivationReason"] == reason
    if state == "COMPROMISED":
        assert record["compromisedAt"]
    if state == "ACTIVE":
        assert record["compromisedAt"] is None and record["deactivatedAt"] is None


REJECTED_UPDATES = [
    ("ACTIVE", {"state": "DEACTIVATED"}, P + "DeactivationReasonRequired"),
    ("ACTIVE", {"deactivationReason": "SUPERSEDED"}, P + "DeactivationReasonIncompatible"),
    ("DEACTIVATED", {"state": "ACTIVE", "deactivationReason": "SUPERSEDED"}, P + "DeactivationReasonIncompatible"),
    ("ACTIVE", {"state": "COMPROMISED", "deactivationReason": "SUPERSEDED"},
     P + "DeactivationReasonIncompatibleReason"),
    ("COMPROMISED", {"state": "DEACTIVATED", "deactivationReason": "SUPERSEDED"}, keys.STATE_INVALID),
    ("DESTROYED", {"state": "ACTIVE"}, keys.STATE_INVALID),
    ("DESTROYED_COMPROMISED", {"state": "COMPROMISED"}, keys.STATE_INVALID),
    ("ACTIVE", {"state": "DESTROYED"}, "Client::BadRequest"),
    ("ACTIVE", {"state": "DEACTIVATED", "deactivationReason": "BORED"}, "Client::BadRequest"),
]


@pytest.mark.parametrize("start,body,error_class", REJECTED_UPDATES)
def test_rejected_updates_leave_record_untouched(start, body, error_class):
    record = _record(start)
    before = copy.deepcopy(record)
    with pytest.raises(ServiceKeyError) as exc:
        keys.apply_service_key_update(record, {**body, "name": "should-not-apply"})
    assert exc.value.error_class == error_class
    assert record == before


def test_check_deletable():
    with pytest.raises(ServiceKeyError) as exc:
        keys.check_deletable(_record("ACTIVE"))
    assert exc.value.error_class == keys.STATE_INVALID and exc.value.status == 400
    for state in ("DEACTIVATED", "COMPROMISED"):
        keys.check_deletable(_record(state))


# --- the control plane's answers ------------------------------------------------

def test_ec_key_has_no_size_on_every_control_plane_answer(api, kms_id):
    """create, get (every format), list and update all say size null and give the curve."""
    base = f"/v2/okms/resource/{kms_id}/serviceKey"
    created = [api.post(base, name="ec-nosize", type="EC", curve="P-256", operations=["sign", "verify"]),
               api.post(base, name="ec-sized", type="EC", curve="P-384", size=384, operations=["sign", "verify"]),
               api.post(base, name="ec-imported", keys=[ec_jwk(ec.generate_private_key(ec.SECP521R1()), "P-521", 66)])]
    rsa_created = api.post(base, name="rsa-sized", type="RSA", size=3072, operations=["sign", "verify"])
    try:
        answers = list(created)
        for key in created:
            for fmt in ({}, {"format": "JWK"}, {"format": "PEM"}):
                answers.append(api.get(f"{base}/{key['id']}", **fmt))
            answers.append(api.put(f"{base}/{key['id']}", name=key["name"] + "-2"))
            answers.append(api.put(f"{base}/{key['id']}", state="DEACTIVATED", deactivationReason="SUPERSEDED"))
        response = api.call("GET", base, headers={"X-Pagination-Size": "100"})
        api.check("GET", base, response.json())
        listed = {key["id"]: key for key in response.json()}
        answers.extend(listed[key["id"]] for key in created)
        assert len(answers) == 3 * 7  # create, 3 gets, 2 updates, list
        for answer in answers:
            assert answer["type"] == "EC" and answer["size"] is None, answer
        assert [key["curve"] for key in created] == ["P-256", "P-384", "P-521"]
        # Other types keep their size.
        assert listed[rsa_created["id"]]["size"] == 3072 and listed[rsa_created["id"]]["curve"] is None
    finally:
        api.put(f"{base}/{rsa_created['id']}", state="DEACTIVATED", deactivationReason="UNSPECIFIED")
        for key in created + [rsa_created]:
            api.delete(f"{base}/{key['id']}")
