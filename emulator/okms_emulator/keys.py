"""Service-key semantics shared by the v2 control plane and the data plane.

A key record (see store.py) keeps the full private JWK; everything the API
returns is derived from it here, so both planes always agree on a key's
type, size, curve, operations and public material.

Error classes are the ones the v2 spec lists for the operation; where the
spec is silent the choice is written next to the check (and in the README).
"""

import base64
import binascii
import datetime
import os
import uuid

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

BAD_REQUEST = "Client::BadRequest"
STATE_INVALID = "Client::BadRequest::ServiceKeyStateInvalid"

KEY_TYPES = ("oct", "RSA", "EC")
KEY_SIZES = (128, 192, 256, 384, 521, 2048, 3072, 4096)  # okms.KeySizeEnum
KEY_OPS = ("encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey")
OCT_SIZES = (128, 192, 256)
RSA_SIZES = (2048, 3072, 4096)
CURVES = {"P-256": (ec.SECP256R1, 256, 32), "P-384": (ec.SECP384R1, 384, 48), "P-521": (ec.SECP521R1, 521, 66)}
OCT_OPERATION_SETS = ({"encrypt", "decrypt"}, {"wrapKey", "unwrapKey"})
# Observed on the real data plane (okms-cli/okms-sdk-go create such keys).
OCT_COMBINED_OPERATIONS = {"encrypt", "decrypt", "wrapKey", "unwrapKey"}
SIGN_OPERATIONS = {"sign", "verify"}
NAME_MAX = 32
CONTEXT_MAX = 64  # the data-plane spec's maxLength; v2 gives no figure

STATES = ("PRE_ACTIVE", "ACTIVE", "DEACTIVATED", "COMPROMISED", "DESTROYED", "DESTROYED_COMPROMISED")
UPDATE_STATES = ("ACTIVE", "DEACTIVATED", "COMPROMISED")
DEACTIVATION_REASONS = (
    "UNSPECIFIED", "KEY_COMPROMISE", "CA_COMPROMISE", "AFFILIATION_CHANGED",
    "SUPERSEDED", "CESSATION_OF_OPERATION", "PRIVILEGE_WITHDRAWN",
)
COMPROMISE_REASONS = ("KEY_COMPROMISE", "CA_COMPROMISE")

# Which target states each current state may move to (v2 PUT and data-plane
# activate/deactivate). Staying in the same state is always allowed.
TRANSITIONS = {
    "PRE_ACTIVE": {"ACTIVE", "DEACTIVATED", "COMPROMISED"},
    "ACTIVE": {"ACTIVE", "DEACTIVATED", "COMPROMISED"},
    "DEACTIVATED": {"ACTIVE", "DEACTIVATED", "COMPROMISED"},
    # A compromised key can be reactivated (observed) but never quietly
    # downgraded to a plain deactivation.
    "COMPROMISED": {"ACTIVE", "COMPROMISED"},
    "DESTROYED": set(),
    "DESTROYED_COMPROMISED": set(),
}


class ServiceKeyError(Exception):
    def __init__(self, error_class, message, status=400):
        super().__init__(message)
        self.error_class = error_class
        self.message = message
        self.status = status


def _err(suffix, message):
    return ServiceKeyError(f"Client::BadRequest::ServiceKey{suffix}", message)


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- base64url helpers --------------------------------------------------------

def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    """Strict base64url (padding optional); raises ValueError."""
    if not isinstance(text, str) or not text:
        raise ValueError("empty or not a string")
    if any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=" for c in text):
        raise ValueError("not base64url")
    stripped = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(str(exc)) from exc


def _int_to_b64(value, length=None):
    length = length or max(1, (value.bit_length() + 7) // 8)
    return b64url_encode(value.to_bytes(length, "big"))


# --- name / context -----------------------------------------------------------

def validate_name(name):
    if name is None or name == "":
        raise _err("NameMinRequired", "name is required: 1 to 32 printable characters")
    if not isinstance(name, str):
        raise _err("NameInvalidCharacter", "name must be a string of printable characters")
    if len(name) > NAME_MAX:
        raise _err("NameMaxExceeded", f"name is {len(name)} characters long; at most {NAME_MAX} are allowed")
    if not name.isprintable():
        raise _err("NameInvalidCharacter", "name must contain only printable characters (no control characters)")


def _validate_context(context):
    if context is None:
        return
    if not isinstance(context, str) or not context.isprintable():
        raise _err("ContextInvalidCharacter", "context must be a string of printable characters")
    if len(context) > CONTEXT_MAX:
        raise _err("ContextMaxExceeded", f"context is {len(context)} characters long; at most {CONTEXT_MAX} are allowed")


# --- operations ---------------------------------------------------------------

def _check_operations(ops, key_type, required_suffix, invalid_suffix, incompatible_suffix, field,
                      allow_combined_oct_operations):
    if ops is None or ops == []:
        raise _err(required_suffix, f"{field} is required: a list of {', '.join(KEY_OPS)}")
    if not isinstance(ops, list) or any(not isinstance(op, str) or op not in KEY_OPS for op in ops) \
            or len(set(ops)) != len(ops):
        raise _err(invalid_suffix, f"{field} must be a list of distinct values among {', '.join(KEY_OPS)}")
    wanted = set(ops)
    if key_type == "oct":
        allowed = list(OCT_OPERATION_SETS) + ([OCT_COMBINED_OPERATIONS] if allow_combined_oct_operations else [])
        if wanted not in allowed:
            choices = " or ".join("[" + ", ".join(sorted(s)) + "]" for s in allowed)
            raise _err(incompatible_suffix, f"{field} for an oct key must be {choices}")
    elif wanted != SIGN_OPERATIONS:
        raise _err(incompatible_suffix, f"{field} for an {key_type} key must be [sign, verify]")
    # Canonical order, so that request order never matters.
    return [op for op in KEY_OPS if op in wanted]


# --- generation ---------------------------------------------------------------

def _generate(key_type, size, curve, operations):
    kid = str(uuid.uuid4())
    if key_type == "oct":
        return {"kty": "oct", "kid": kid, "key_ops": operations, "k": b64url_encode(os.urandom(size // 8))}
    if key_type == "RSA":
        return _rsa_private_jwk(rsa.generate_private_key(public_exponent=65537, key_size=size), kid, operations)
    return _ec_private_jwk(ec.generate_private_key(CURVES[curve][0]()), curve, kid, operations)


def _rsa_private_jwk(key, kid, operations):
    priv = key.private_numbers()
    pub = priv.public_numbers
    return {
        "kty": "RSA", "kid": kid, "key_ops": operations,
        "n": _int_to_b64(pub.n), "e": _int_to_b64(pub.e), "d": _int_to_b64(priv.d),
        "p": _int_to_b64(priv.p), "q": _int_to_b64(priv.q),
        "dp": _int_to_b64(priv.dmp1), "dq": _int_to_b64(priv.dmq1), "qi": _int_to_b64(priv.iqmp),
    }


def _ec_private_jwk(key, curve, kid, operations):
    length = CURVES[curve][2]
    priv = key.private_numbers()
    return {
        "kty": "EC", "kid": kid, "key_ops": operations, "crv": curve,
        "x": _int_to_b64(priv.public_numbers.x, length), "y": _int_to_b64(priv.public_numbers.y, length),
        "d": _int_to_b64(priv.private_value, length),
    }


def _build_generated(body, allow_combined_oct_operations):
    key_type, size, curve = body.get("type"), body.get("size"), body.get("curve")
    if key_type is None:
        raise _err("TypeRequired", "type is required: one of oct, RSA, EC (or give keys to import)")
    if key_type not in KEY_TYPES:
        # The spec lists no ...TypeInvalid; TypeIncompatible is the closest class.
        raise _err("TypeIncompatible", f"type {key_type!r} is not one of oct, RSA, EC")
    if size is not None and (isinstance(size, bool) or size not in KEY_SIZES):
        raise _err("SizeInvalid", f"size {size!r} is not one of {', '.join(map(str, KEY_SIZES))}")
    if key_type == "EC":
        if curve is None:
            raise _err("CurveRequired", "curve is required for an EC key: one of P-256, P-384, P-521")
        if curve not in CURVES:
            raise _err("CurveIncompatible", f"curve {curve!r} is not one of P-256, P-384, P-521")
        bits = CURVES[curve][1]
        # EC takes no size; the curve's own size is tolerated on input (okms.KeySizeEnum
        # has 384/521, which only a curve matches). OVHcloud reports an EC key's size as null.
        if size is not None and size != bits:
            raise _err("SizeIncompatible", f"an EC key takes no size (curve {curve} is {bits} bits)")
        size = None
    else:
        allowed = OCT_SIZES if key_type == "oct" else RSA_SIZES
        if curve is not None:
            raise _err("CurveIncompatible", f"curve applies only to EC keys, not to {key_type}")
        if size is None:
            raise _err("SizeRequired", f"size is required for an {key_type} key: one of {', '.join(map(str, allowed))}")
        if size not in allowed:
            raise _err("SizeIncompatible",
                       f"size {size} is not valid for an {key_type} key: one of {', '.join(map(str, allowed))}")
    operations = _check_operations(body.get("operations"), key_type, "OperationsRequired", "OperationsInvalid",
                                   "OperationsIncompatible", "operations", allow_combined_oct_operations)
    return {"type": key_type, "size": size, "curve": curve if key_type == "EC" else None,
            "operations": operations, "jwk": _generate(key_type, size, curve, operations)}


# --- import -------------------------------------------------------------------

def _member(jwk, name, suffix):
    """Decode a required base64url JWK member: missing -> XRequired, bad -> XInvalidFormat."""
    value = jwk.get(name)
    if value is None or value == "":
        raise _err(f"{suffix}Required", f"JWK member {name!r} is required")
    try:
        return b64url_decode(value)
    except ValueError:
        # dp/dq/qi have no ...InvalidFormat class in the spec: report them as required.
        fmt = f"{suffix}InvalidFormat" if suffix in ("K", "N", "E", "D", "P", "Q", "X", "Y") else f"{suffix}Required"
        raise _err(fmt, f"JWK member {name!r} must be base64url-encoded") from None


def _import_oct(jwk):
    k = _member(jwk, "k", "K")
    if len(k) * 8 not in OCT_SIZES:
        raise _err("KInvalidFormat", f"JWK member 'k' is {len(k)} bytes; an oct key must be 16, 24 or 32 bytes")
    return len(k) * 8, None, {"k": b64url_encode(k)}


def _import_rsa(jwk):
    n, e = _member(jwk, "n", "N"), _member(jwk, "e", "E")
    parts = {m: int.from_bytes(_member(jwk, m, s), "big")
             for m, s in (("d", "D"), ("p", "P"), ("q", "Q"), ("dp", "Dp"), ("dq", "Dq"), ("qi", "Qi"))}
    n_int = int.from_bytes(n, "big")
    if n_int.bit_length() not in RSA_SIZES:
        raise _err("NInvalidSize", f"RSA modulus is {n_int.bit_length()} bits; it must be 2048, 3072 or 4096")
    try:
        key = rsa.RSAPrivateNumbers(
            p=parts["p"], q=parts["q"], d=parts["d"], dmp1=parts["dp"], dmq1=parts["dq"], iqmp=parts["qi"],
            public_numbers=rsa.RSAPublicNumbers(int.from_bytes(e, "big"), n_int),
        ).private_key()
    except (ValueError, UnsupportedAlgorithm):
        # No class names an inconsistent private key; D is the private exponent.
        raise _err("DInvalidFormat", "RSA private key members do not form a valid key (n, e, d, p, q, dp, dq, qi)") from None
    jwk_out = _rsa_private_jwk(key, None, None)
    return n_int.bit_length(), None, {m: jwk_out[m] for m in ("n", "e", "d", "p", "q", "dp", "dq", "qi")}


def _import_ec(jwk):
    curve = jwk.get("crv")
    if curve not in CURVES:
        raise _err("CrvRequired", "JWK member 'crv' is required for an EC key: one of P-256, P-384, P-521")
    curve_cls, _, length = CURVES[curve]
    coords = {}
    for m, s in (("x", "X"), ("y", "Y"), ("d", "D")):
        raw = _member(jwk, m, s)
        # Shorter is tolerated: some encoders (okms-sdk-go) drop leading zero bytes.
        if len(raw) > length:
            raise _err(f"{s}InvalidFormat", f"JWK member {m!r} must be at most {length} bytes for {curve}")
        coords[m] = int.from_bytes(raw, "big")
    try:
        public = ec.EllipticCurvePublicNumbers(coords["x"], coords["y"], curve_cls()).public_key()
    except ValueError:
        raise _err("XInvalidFormat", f"point (x, y) is not on curve {curve}") from None
    try:
        key = ec.derive_private_key(coords["d"], curve_cls())
    except ValueError:
        raise _err("DInvalidFormat", f"JWK member 'd' is not a valid {curve} private scalar") from None
    if key.public_key().public_numbers() != public.public_numbers():
        raise _err("DInvalidFormat", "JWK member 'd' does not match the public point (x, y)")
    # No size: OVHcloud reports an EC key's size as null, its curve says it all.
    return None, curve, {m: v for m, v in _ec_private_jwk(key, curve, None, None).items() if m in ("crv", "x", "y", "d")}


_SIG_ALGS = {"RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
             "P-256": ("ES256",), "P-384": ("ES384",), "P-521": ("ES512",)}


def _build_imported(keys, allow_combined_oct_operations):
    if not isinstance(keys, list):
        raise ServiceKeyError(BAD_REQUEST, "keys must be a list holding one JWK")
    if len(keys) == 0:
        raise _err("KeysMinRequired", "keys must hold exactly one JWK (got none)")
    if len(keys) > 1:
        raise _err("KeysMaxExceeded", f"keys must hold exactly one JWK (got {len(keys)})")
    jwk = keys[0]
    if not isinstance(jwk, dict):
        raise ServiceKeyError(BAD_REQUEST, "keys[0] must be a JWK object")
    kty = jwk.get("kty")
    if kty is None:
        raise _err("KtyRequired", "JWK member 'kty' is required: one of oct, RSA, EC")
    if kty not in KEY_TYPES:
        raise _err("TypeIncompatible", f"JWK member 'kty' {kty!r} is not one of oct, RSA, EC")
    if not jwk.get("kid"):
        raise _err("KidRequired", "JWK member 'kid' is required")
    operations = _check_operations(jwk.get("key_ops"), kty, "KeyOpsRequired", "KeyOpsInvalidUsage",
                                   "KeyOpsInvalidUsage", "JWK member 'key_ops'", allow_combined_oct_operations)
    use = jwk.get("use")
    if use is not None:
        expected = "sig" if kty != "oct" else "enc"
        if use != expected:
            raise _err("UseInconsistentUsage", f"JWK member 'use' must be {expected!r} for key_ops {operations}")
    size, curve, material = {"oct": _import_oct, "RSA": _import_rsa, "EC": _import_ec}[kty](jwk)
    alg = jwk.get("alg")
    if alg is not None and alg not in _SIG_ALGS.get(curve or kty, ()):
        # No ...AlgInvalid class exists; the JWK as a whole is incompatible.
        raise _err("KeysIncompatible", f"JWK member 'alg' {alg!r} does not fit a {curve or kty} key")
    stored = {"kty": kty, "kid": str(jwk["kid"]), "key_ops": operations, **material}
    return {"type": kty, "size": size, "curve": curve, "operations": operations, "jwk": stored}


def build_service_key(body, *, allow_combined_oct_operations=False):
    """Validate a v2 create/import body; return {name, type, size, curve, operations, context, jwk}.

    allow_combined_oct_operations: the data plane also accepts oct keys with
    all four of encrypt/decrypt/wrapKey/unwrapKey (observed); v2 does not.
    """
    if not isinstance(body, dict):
        raise ServiceKeyError(BAD_REQUEST, "request body must be a JSON object")
    validate_name(body.get("name"))
    _validate_context(body.get("context"))
    if body.get("keys") is not None:
        given = [f for f in ("type", "size", "curve", "operations") if body.get(f) is not None]
        if given:
            raise _err("KeysIncompatible", f"keys (import) cannot be combined with {', '.join(given)}: "
                                           "they are derived from the JWK")
        fields = _build_imported(body["keys"], allow_combined_oct_operations)
    else:
        fields = _build_generated(body, allow_combined_oct_operations)
    return {"name": body["name"], "context": body.get("context"), **fields}


# --- update / delete ----------------------------------------------------------

def apply_service_key_update(record, body):
    """Apply a v2 PUT body (name, state, deactivationReason) to record, in place."""
    if not isinstance(body, dict):
        raise ServiceKeyError(BAD_REQUEST, "request body must be a JSON object")
    name, state, reason = body.get("name"), body.get("state"), body.get("deactivationReason")
    if name is not None:
        validate_name(name)
    if state is not None and state not in UPDATE_STATES:
        raise ServiceKeyError(BAD_REQUEST, f"state {state!r} is not one of {', '.join(UPDATE_STATES)}")
    if reason is not None and reason not in DEACTIVATION_REASONS:
        raise ServiceKeyError(BAD_REQUEST,
                              f"deactivationReason {reason!r} is not one of {', '.join(DEACTIVATION_REASONS)}")
    if reason is not None and state not in ("DEACTIVATED", "COMPROMISED"):
        raise _err("DeactivationReasonIncompatible",
                   "deactivationReason is only accepted with state DEACTIVATED or COMPROMISED")
    if state == "DEACTIVATED" and reason is None:
        raise _err("DeactivationReasonRequired", "state DEACTIVATED requires a deactivationReason: "
                   + ", ".join(DEACTIVATION_REASONS))
    if state == "COMPROMISED":
        if reason is None:
            reason = "KEY_COMPROMISE"
        elif reason not in COMPROMISE_REASONS:
            raise _err("DeactivationReasonIncompatibleReason",
                       "state COMPROMISED only accepts deactivationReason KEY_COMPROMISE or CA_COMPROMISE")
    if state == "DEACTIVATED" and reason in COMPROMISE_REASONS:
        state = "COMPROMISED"  # a compromise is a deactivation that marks the key compromised

    if state is not None:
        current = record.get("state", "ACTIVE")
        if state not in TRANSITIONS.get(current, set()):
            raise ServiceKeyError(STATE_INVALID, f"a {current} key cannot be moved to {state}")
    if name is not None:
        record["name"] = name
    if state is None:
        return record
    stamp = now_rfc3339()
    if state == "ACTIVE":
        if record.get("state") != "ACTIVE":
            record["activatedAt"] = stamp
        record["deactivationReason"] = None
        record["deactivatedAt"] = None
        record["compromisedAt"] = None
    else:
        if record.get("state") in ("ACTIVE", "PRE_ACTIVE") or not record.get("deactivatedAt"):
            record["deactivatedAt"] = stamp
        if state == "COMPROMISED" and (record.get("state") != "COMPROMISED" or not record.get("compromisedAt")):
            record["compromisedAt"] = stamp
        record["deactivationReason"] = reason
    record["state"] = state
    return record


def check_deletable(record):
    # The spec names no class for this; see README (ServiceKeyStateInvalid, 400).
    if record.get("state", "ACTIVE") == "ACTIVE":
        raise ServiceKeyError(STATE_INVALID, "an ACTIVE key cannot be deleted: deactivate it first "
                                             "(state DEACTIVATED with a deactivationReason)")


# --- public material ----------------------------------------------------------

def public_jwk(record):
    jwk = record["jwk"]
    out = {"kid": record["id"], "kty": jwk["kty"], "key_ops": list(record["operations"])}
    if jwk["kty"] == "RSA":
        out.update(n=jwk["n"], e=jwk["e"])
    elif jwk["kty"] == "EC":
        out.update(crv=jwk["crv"], x=jwk["x"], y=jwk["y"])
    return out


def private_key(record):
    """cryptography private key object for an RSA/EC record."""
    jwk = record["jwk"]
    num = {m: int.from_bytes(b64url_decode(jwk[m]), "big") for m in jwk if m in ("n", "e", "d", "p", "q", "dp", "dq", "qi", "x", "y")}
    if jwk["kty"] == "RSA":
        return rsa.RSAPrivateNumbers(num["p"], num["q"], num["d"], num["dp"], num["dq"], num["qi"],
                                     rsa.RSAPublicNumbers(num["e"], num["n"])).private_key()
    if jwk["kty"] == "EC":
        return ec.derive_private_key(num["d"], CURVES[jwk["crv"]][0]())
    raise ValueError("oct keys have no private key object")


def secret_bytes(record):
    return b64url_decode(record["jwk"]["k"])


def public_pem(record):
    if record["jwk"]["kty"] == "oct":
        return None
    return private_key(record).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
