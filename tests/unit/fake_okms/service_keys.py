# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service keys in the fake API: ``/v2/okms/resource/{okmsId}/serviceKey[/{keyId}]``.

Faithful to the emulator (``emulator/okms_emulator/keys.py`` and
``control_v2.py``), which is faithful to the real API: the same fields
(``iam`` on GET and list only), ``size`` null for EC keys, new keys ACTIVE,
the same allowed state transitions, the same refusal classes
(``Client::BadRequest::ServiceKey...``), ``format=JWK`` (public members only)
and ``format=PEM`` (RSA and EC only), and 404 ``Client::NotFound`` for an
unknown KMS or key. Key material is real, made with ``cryptography``; a
generated key's material is only made when its public key is first read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import datetime
import os
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError

COLLECTION = "/v2/okms/resource/{okms_id}/serviceKey"
ITEM = COLLECTION + "/{key_id}"

KEY_TYPES = ("oct", "RSA", "EC")
KEY_SIZES = (128, 192, 256, 384, 521, 2048, 3072, 4096)  # okms.KeySizeEnum
OPERATIONS = ("encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey")
OCT_SIZES = (128, 192, 256)
RSA_SIZES = (2048, 3072, 4096)
CURVES = {"P-256": (ec.SECP256R1, 256, 32), "P-384": (ec.SECP384R1, 384, 48), "P-521": (ec.SECP521R1, 521, 66)}
OCT_OPERATION_SETS = ({"encrypt", "decrypt"}, {"wrapKey", "unwrapKey"})
DESTROYED_STATES = ("DESTROYED", "DESTROYED_COMPROMISED")
DEACTIVATION_REASONS = ("UNSPECIFIED", "KEY_COMPROMISE", "CA_COMPROMISE", "AFFILIATION_CHANGED",
                        "SUPERSEDED", "CESSATION_OF_OPERATION", "PRIVILEGE_WITHDRAWN")
COMPROMISE_REASONS = ("KEY_COMPROMISE", "CA_COMPROMISE")
# Where each state may go through PUT; staying is always allowed.
TRANSITIONS = {
    "PRE_ACTIVE": ("ACTIVE", "DEACTIVATED", "COMPROMISED"),
    "ACTIVE": ("ACTIVE", "DEACTIVATED", "COMPROMISED"),
    "DEACTIVATED": ("ACTIVE", "DEACTIVATED", "COMPROMISED"),
    "COMPROMISED": ("ACTIVE", "COMPROMISED"),
    "DESTROYED": (),
    "DESTROYED_COMPROMISED": (),
}
STATE_INVALID = "Client::BadRequest::ServiceKeyStateInvalid"
CREATED_AT = datetime.datetime(2026, 1, 1, 12, 0, 0)


def refused(request, suffix, message, error_class=None):
    return OvhApiError(message, status=400, error_class=error_class or "Client::BadRequest::ServiceKey" + suffix,
                       method=request.method, path=request.path)


def not_found(request, message):
    return OvhApiError(message, status=404, error_class="Client::NotFound", method=request.method, path=request.path)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_int(value, length=None):
    return b64url(value.to_bytes(length or max(1, (value.bit_length() + 7) // 8), "big"))


def b64url_decode(text):
    if not isinstance(text, str) or not text or any(
            c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=" for c in text):
        raise ValueError("not base64url")
    text = text.rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def private_jwk_of(key):
    """A private JWK (without kid and key_ops) of a cryptography RSA or EC private key."""
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.private_numbers()
        return {"kty": "RSA", "n": b64url_int(numbers.public_numbers.n), "e": b64url_int(numbers.public_numbers.e),
                "d": b64url_int(numbers.d), "p": b64url_int(numbers.p), "q": b64url_int(numbers.q),
                "dp": b64url_int(numbers.dmp1), "dq": b64url_int(numbers.dmq1), "qi": b64url_int(numbers.iqmp)}
    curve = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[key.curve.name]
    length = CURVES[curve][2]
    numbers = key.private_numbers()
    return {"kty": "EC", "crv": curve, "x": b64url_int(numbers.public_numbers.x, length),
            "y": b64url_int(numbers.public_numbers.y, length), "d": b64url_int(numbers.private_value, length)}


def private_key_of(jwk):
    """The cryptography private key of an RSA or EC JWK."""
    num = dict((m, int.from_bytes(b64url_decode(jwk[m]), "big"))
               for m in ("n", "e", "d", "p", "q", "dp", "dq", "qi", "x", "y") if m in jwk)
    if jwk["kty"] == "RSA":
        return rsa.RSAPrivateNumbers(num["p"], num["q"], num["d"], num["dp"], num["dq"], num["qi"],
                                     rsa.RSAPublicNumbers(num["e"], num["n"])).private_key()
    return ec.derive_private_key(num["d"], CURVES[jwk["crv"]][0]())


class ServiceKeys:
    """The service keys of every KMS of the fake account."""

    def __init__(self):
        self.kms = {}  # okms_id -> {key_id: record}
        self._created = 0

    # -- seeding --------------------------------------------------------------------

    def add_kms(self, okms_id=None):
        okms_id = okms_id or str(uuid.uuid4())
        self.kms.setdefault(okms_id, {})
        return okms_id

    def add_key(self, okms_id, name, key_type="oct", size=None, curve=None, operations=None, state="ACTIVE",
                jwk=None):
        """A key as if created earlier; returns its GET answer."""
        if key_type == "EC":
            curve, size = curve or "P-256", None
        elif size is None:
            size = 256 if key_type == "oct" else 2048
        if operations is None:
            operations = ["encrypt", "decrypt"] if key_type == "oct" else ["sign", "verify"]
        record = self._store(okms_id, {"name": name, "type": key_type, "size": size, "curve": curve,
                                       "operations": [op for op in OPERATIONS if op in operations],
                                       "context": None, "jwk": jwk})
        record["state"] = state
        return self.body(okms_id, record, with_iam=True)

    def record(self, okms_id, key_id):
        """The stored key (with its private JWK, if made), for assertions."""
        return self.kms[okms_id][key_id]

    def keys(self, okms_id):
        return [self.body(okms_id, record, with_iam=True) for record in self._sorted(okms_id)]

    # -- answers --------------------------------------------------------------------

    def body(self, okms_id, record, with_iam, key_format=None):
        body = {"id": record["id"], "name": record["name"], "type": record["type"],
                "size": None if record["type"] == "EC" else record["size"], "curve": record["curve"],
                "operations": list(record["operations"]), "state": record["state"], "createdAt": record["createdAt"]}
        if with_iam:
            body["iam"] = {"id": record["id"], "urn": "urn:v1:eu:resource:okms:%s/serviceKey/%s" % (okms_id, record["id"]),
                           "displayName": record["name"],
                           "tags": {"ovh:type": record["type"], "ovh:state": record["state"]}, "state": "OK"}
        if key_format == "JWK":
            body["keys"] = [self._public_jwk(record)]
        elif key_format == "PEM" and record["type"] != "oct":
            pem = private_key_of(self._material(record)).public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
            body["keysPEM"] = [{"pem": pem}]
        return copy.deepcopy(body)

    def _public_jwk(self, record):
        jwk = self._material(record)
        public = {"kid": record["id"], "kty": record["type"], "key_ops": list(record["operations"])}
        for member in ("n", "e", "crv", "x", "y"):
            if member in jwk:
                public[member] = jwk[member]
        return public

    def _material(self, record):
        if record["jwk"] is None:
            if record["type"] == "oct":
                record["jwk"] = {"kty": "oct", "k": b64url(os.urandom(record["size"] // 8))}
            elif record["type"] == "RSA":
                record["jwk"] = private_jwk_of(rsa.generate_private_key(public_exponent=65537,
                                                                        key_size=record["size"]))
            else:
                record["jwk"] = private_jwk_of(ec.generate_private_key(CURVES[record["curve"]][0]()))
        return record["jwk"]

    def _store(self, okms_id, fields):
        self._created += 1
        record = dict(fields, id=str(uuid.uuid4()), state="ACTIVE", deactivationReason=None,
                      createdAt=(CREATED_AT + datetime.timedelta(seconds=self._created)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.kms[okms_id][record["id"]] = record
        return record

    def _sorted(self, okms_id):
        return sorted(self.kms[okms_id].values(), key=lambda record: (record["createdAt"], record["id"]))

    def _kms(self, request, okms_id):
        _uuid(request, okms_id, "okmsId")
        if okms_id not in self.kms:
            raise not_found(request, "OKMS %s not found" % okms_id)
        return self.kms[okms_id]

    def _key(self, request, okms_id, key_id):
        keys = self._kms(request, okms_id)
        _uuid(request, key_id, "keyId")
        if key_id not in keys:
            raise not_found(request, "Service key %s not found" % key_id)
        return keys[key_id]

    # -- routes ---------------------------------------------------------------------

    def list_keys(self, request, okms_id):
        self._kms(request, okms_id)
        return self.keys(okms_id)

    def get_key(self, request, okms_id, key_id):
        key_format = request.params.get("format")
        if key_format is not None and key_format not in ("JWK", "PEM"):
            raise refused(request, "", "Invalid value for parameter format: %r is not a valid okms.KeyFormatEnum"
                          % key_format, error_class="Client::BadRequest")
        return self.body(okms_id, self._key(request, okms_id, key_id), with_iam=True, key_format=key_format)

    def create_key(self, request, okms_id):
        self._kms(request, okms_id)
        body = request.body or {}
        _check_name(request, body.get("name"))
        _check_context(request, body.get("context"))
        if body.get("keys") is not None:
            given = [field for field in ("type", "size", "curve", "operations") if body.get(field) is not None]
            if given:
                raise refused(request, "KeysIncompatible", "keys (import) cannot be combined with %s"
                              % ", ".join(given))
            fields = _imported(request, body["keys"])
        else:
            fields = _generated(request, body)
        record = self._store(okms_id, dict(fields, name=body["name"], context=body.get("context")))
        return self.body(okms_id, record, with_iam=False)

    def update_key(self, request, okms_id, key_id):
        record = self._key(request, okms_id, key_id)
        body = request.body or {}
        name, state, reason = body.get("name"), body.get("state"), body.get("deactivationReason")
        if name is not None:
            _check_name(request, name)
        if state is not None and state not in ("ACTIVE", "DEACTIVATED", "COMPROMISED"):
            raise refused(request, "", "state %r is not one of ACTIVE, DEACTIVATED, COMPROMISED" % state,
                          error_class="Client::BadRequest")
        if reason is not None and reason not in DEACTIVATION_REASONS:
            raise refused(request, "", "deactivationReason %r is not valid" % reason, error_class="Client::BadRequest")
        if reason is not None and state not in ("DEACTIVATED", "COMPROMISED"):
            raise refused(request, "DeactivationReasonIncompatible",
                          "deactivationReason is only accepted with state DEACTIVATED or COMPROMISED")
        if state == "DEACTIVATED" and reason is None:
            raise refused(request, "DeactivationReasonRequired", "state DEACTIVATED requires a deactivationReason")
        if state == "COMPROMISED":
            if reason is None:
                reason = "KEY_COMPROMISE"
            elif reason not in COMPROMISE_REASONS:
                raise refused(request, "DeactivationReasonIncompatibleReason",
                              "state COMPROMISED only accepts deactivationReason KEY_COMPROMISE or CA_COMPROMISE")
        if state == "DEACTIVATED" and reason in COMPROMISE_REASONS:
            state = "COMPROMISED"
        if state is not None and state not in TRANSITIONS[record["state"]]:
            raise refused(request, "", "a %s key cannot be moved to %s" % (record["state"], state),
                          error_class=STATE_INVALID)
        if name is not None:
            record["name"] = name
        if state is not None:
            record["state"] = state
            record["deactivationReason"] = None if state == "ACTIVE" else reason
        return self.body(okms_id, record, with_iam=False)

    def delete_key(self, request, okms_id, key_id):
        record = self._key(request, okms_id, key_id)
        if record["state"] == "ACTIVE":
            raise refused(request, "", "an ACTIVE key cannot be deleted: deactivate it first",
                          error_class=STATE_INVALID)
        del self.kms[okms_id][key_id]
        return None


def _uuid(request, value, name):
    try:
        uuid.UUID(value)
    except ValueError:
        raise refused(request, "", "Invalid value for parameter %s: %r is not a uuid" % (name, value),
                      error_class="Client::BadRequest")


def _check_name(request, name):
    if name is None or name == "":
        raise refused(request, "NameMinRequired", "name is required: 1 to 32 printable characters")
    if len(name) > 32:
        raise refused(request, "NameMaxExceeded", "name is %d characters long; at most 32 are allowed" % len(name))
    if not name.isprintable():
        raise refused(request, "NameInvalidCharacter", "name must contain only printable characters")


def _check_context(request, context):
    if context is None:
        return
    if not context.isprintable():
        raise refused(request, "ContextInvalidCharacter", "context must be a string of printable characters")
    if len(context) > 64:
        raise refused(request, "ContextMaxExceeded", "context is %d characters long; at most 64 are allowed"
                      % len(context))


def _operations(request, operations, key_type, prefix, field):
    required, invalid, incompatible = prefix
    if not operations:
        raise refused(request, required, "%s is required" % field)
    if any(op not in OPERATIONS for op in operations) or len(set(operations)) != len(operations):
        raise refused(request, invalid, "%s must be a list of distinct values among %s" % (field, ", ".join(OPERATIONS)))
    wanted = set(operations)
    if (key_type == "oct" and wanted not in OCT_OPERATION_SETS) or (key_type != "oct" and wanted != {"sign", "verify"}):
        raise refused(request, incompatible, "%s do not fit an %s key" % (field, key_type))
    return [op for op in OPERATIONS if op in wanted]


def _generated(request, body):
    key_type, size, curve = body.get("type"), body.get("size"), body.get("curve")
    if key_type is None:
        raise refused(request, "TypeRequired", "type is required: one of oct, RSA, EC (or give keys to import)")
    if key_type not in KEY_TYPES:
        raise refused(request, "TypeIncompatible", "type %r is not one of oct, RSA, EC" % key_type)
    if size is not None and size not in KEY_SIZES:
        raise refused(request, "SizeInvalid", "size %r is not valid" % size)
    if key_type == "EC":
        if curve is None:
            raise refused(request, "CurveRequired", "curve is required for an EC key")
        if curve not in CURVES:
            raise refused(request, "CurveIncompatible", "curve %r is not one of P-256, P-384, P-521" % curve)
        if size is not None and size != CURVES[curve][1]:
            raise refused(request, "SizeIncompatible", "an EC key takes no size")
        size = None
    else:
        if curve is not None:
            raise refused(request, "CurveIncompatible", "curve applies only to EC keys")
        allowed = OCT_SIZES if key_type == "oct" else RSA_SIZES
        if size is None:
            raise refused(request, "SizeRequired", "size is required for an %s key" % key_type)
        if size not in allowed:
            raise refused(request, "SizeIncompatible", "size %s is not valid for an %s key" % (size, key_type))
    operations = _operations(request, body.get("operations"), key_type,
                             ("OperationsRequired", "OperationsInvalid", "OperationsIncompatible"), "operations")
    return {"type": key_type, "size": size, "curve": curve, "operations": operations, "jwk": None}


def _member(request, jwk, name):
    suffix = name[0].upper() + name[1:]
    if not jwk.get(name):
        raise refused(request, suffix + "Required", "JWK member %r is required" % name)
    try:
        return b64url_decode(jwk[name])
    except ValueError:
        fmt = "InvalidFormat" if name in ("k", "n", "e", "d", "p", "q", "x", "y") else "Required"
        raise refused(request, suffix + fmt, "JWK member %r must be base64url-encoded" % name)


def _imported(request, keys):
    if not keys:
        raise refused(request, "KeysMinRequired", "keys must hold exactly one JWK (got none)")
    if len(keys) > 1:
        raise refused(request, "KeysMaxExceeded", "keys must hold exactly one JWK (got %d)" % len(keys))
    jwk = keys[0]
    kty = jwk.get("kty")
    if kty is None:
        raise refused(request, "KtyRequired", "JWK member 'kty' is required")
    if kty not in KEY_TYPES:
        raise refused(request, "TypeIncompatible", "JWK member 'kty' %r is not one of oct, RSA, EC" % kty)
    if not jwk.get("kid"):
        raise refused(request, "KidRequired", "JWK member 'kid' is required")
    operations = _operations(request, jwk.get("key_ops"), kty,
                             ("KeyOpsRequired", "KeyOpsInvalidUsage", "KeyOpsInvalidUsage"), "JWK member 'key_ops'")
    if jwk.get("use") is not None and jwk["use"] != ("enc" if kty == "oct" else "sig"):
        raise refused(request, "UseInconsistentUsage", "JWK member 'use' does not fit key_ops")
    curve = None
    if kty == "oct":
        length = len(_member(request, jwk, "k"))
        if length * 8 not in OCT_SIZES:
            raise refused(request, "KInvalidFormat", "JWK member 'k' is %d bytes; an oct key must be 16, 24 or 32 "
                          "bytes" % length)
        size, material = length * 8, {"kty": "oct", "k": jwk["k"]}
    elif kty == "RSA":
        for member in ("n", "e", "d", "p", "q", "dp", "dq", "qi"):
            _member(request, jwk, member)
        size = int.from_bytes(b64url_decode(jwk["n"]), "big").bit_length()
        if size not in RSA_SIZES:
            raise refused(request, "NInvalidSize", "RSA modulus is %d bits; it must be 2048, 3072 or 4096" % size)
        try:
            material = private_jwk_of(private_key_of(jwk))
        except ValueError:
            raise refused(request, "DInvalidFormat", "RSA private key members do not form a valid key")
    else:
        curve = jwk.get("crv")
        if curve not in CURVES:
            raise refused(request, "CrvRequired", "JWK member 'crv' is required for an EC key")
        for member in ("x", "y", "d"):
            if len(_member(request, jwk, member)) > CURVES[curve][2]:
                raise refused(request, member.upper() + "InvalidFormat", "JWK member %r is too long" % member)
        material = private_jwk_of(private_key_of(jwk))
        if (material["x"], material["y"]) != (b64url_int(int.from_bytes(b64url_decode(jwk["x"]), "big"),
                                                         CURVES[curve][2]),
                                              b64url_int(int.from_bytes(b64url_decode(jwk["y"]), "big"),
                                                         CURVES[curve][2])):
            raise refused(request, "DInvalidFormat", "JWK member 'd' does not match the public point (x, y)")
        size = None
    return {"type": kty, "size": size, "curve": curve, "operations": operations, "jwk": material}


def install(api):
    """Add the service-key routes to ``api`` (a FakeOkmsApi); returns the state (also ``api.service_keys``)."""
    state = ServiceKeys()
    api.route("GET", COLLECTION, state.list_keys)
    api.route("POST", COLLECTION, state.create_key)
    api.route("GET", ITEM, state.get_key)
    api.route("PUT", ITEM, state.update_key)
    api.route("DELETE", ITEM, state.delete_key)
    api.service_keys = state
    return state
