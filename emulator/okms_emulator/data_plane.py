"""Data-plane (KMS REST API) handlers: /api/{okmsId}/v1/servicekey... and /v1/random.

Shapes follow okms-rest-api-2.14.yaml. Key records are shared with the v2
control plane (store.data["okms"][id]["serviceKeys"]); states are stored
with the v2 enum and shown here in lower case.

Ciphertexts are real JWE compact strings (RFC 7516):
- encrypt: alg "dir", enc A128GCM/A192GCM/A256GCM by key size, kid = key id.
  The optional context is bound as JWE AAD, the way RFC 7516 §5.1 step 14
  builds it: AAD = ASCII(protected) || "." || BASE64URL(context). It is not
  stored in the token, so decrypt needs the same context.
- datakey: alg "A128KW"/"A192KW"/"A256KW" (AES key wrap of a random CEK
  with the service key), enc "A256GCM"; the payload is the data key.
"""

import base64
import binascii
import json
import os
import re
import uuid

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from . import keys
from .keys import ServiceKeyError, b64url_decode, b64url_encode

PLAINTEXT_MAX = 4096
CONTEXT_MAX = 64
LIST_MAX_DEFAULT, LIST_MAX_MIN, LIST_MAX_MAX = 100, 10, 100
RANDOM_MAX = 4096
DATAKEY_SIZES = (128, 192, 256)  # what okms-sdk-go documents as acceptable
KEY_STATES = ("pre_active", "active", "deactivated", "compromised", "destroyed", "destroyed_compromised", "all")
REVOCATION_REASONS = tuple(r.lower() for r in keys.DEACTIVATION_REASONS)
# Processing operations (KMIP semantics): allowed on deactivated/compromised keys too.
PROCESS_STATES = ("ACTIVE", "DEACTIVATED", "COMPROMISED")

# error_code layout from okms-sdk-go: major<<24 | minor<<16 | category<<12 | code
_MAJOR_REST, _MINOR_SERVICEKEYS = 3, 3
_CATEGORY = {400: 2, 401: 3, 403: 4, 404: 5, 405: 2, 409: 2, 500: 1}

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SIGN_ALGS = {
    "ES256": ("EC", "P-256", hashes.SHA256), "ES384": ("EC", "P-384", hashes.SHA384),
    "ES512": ("EC", "P-521", hashes.SHA512),
    "RS256": ("RSA", None, hashes.SHA256), "RS384": ("RSA", None, hashes.SHA384), "RS512": ("RSA", None, hashes.SHA512),
    "PS256": ("RSA", None, hashes.SHA256), "PS384": ("RSA", None, hashes.SHA384), "PS512": ("RSA", None, hashes.SHA512),
}
_CREATE_FIELDS = {"id", "name", "context", "type", "size", "curve", "operations", "protectionLevel", "keys",
                  "extractable"}  # extractable: sent by newer okms-cli; accepted and ignored


class DataPlaneError(Exception):
    def __init__(self, status, message, app_code=1):
        super().__init__(message)
        self.status = status
        self.message = message
        self.app_code = app_code


def error_body(status, message, app_code=1):
    code = (_MAJOR_REST << 24) | (_MINOR_SERVICEKEYS << 16) | (_CATEGORY.get(status, 2) << 12) | (app_code & 0xFFF)
    return {"error_code": code, "error_id": str(uuid.uuid4()), "errors": [message], "request_id": str(uuid.uuid4())}


def handle(store, okms_id, method, path, query, body, identity):
    """Serve one data-plane request; return (status, json body or None for 204)."""
    try:
        return _route(store, okms_id, method.upper(), path, query or {}, body or b"")
    except DataPlaneError as exc:
        return exc.status, error_body(exc.status, exc.message, exc.app_code)
    except ServiceKeyError as exc:
        # Same validation as v2; the data plane reports the message, not the v2 class.
        return exc.status, error_body(exc.status, exc.message)


# --- routing ------------------------------------------------------------------

_ACTIONS = {
    "encrypt": lambda s, o, k, q, b: _encrypt(s, o, k, b),
    "decrypt": lambda s, o, k, q, b: _decrypt(s, o, k, b),
    "datakey": lambda s, o, k, q, b: _datakey(s, o, k, b),
    "datakey/decrypt": lambda s, o, k, q, b: _datakey_decrypt(s, o, k, b),
    "sign": lambda s, o, k, q, b: _sign(s, o, k, q, b),
    "verify": lambda s, o, k, q, b: _verify(s, o, k, b),
    "activate": lambda s, o, k, q, b: _set_state(s, o, k, {"state": "ACTIVE"}),
    "deactivate": lambda s, o, k, q, b: _deactivate(s, o, k, b),
}


def _route(store, okms_id, method, path, query, body):
    parts = path.rstrip("/").split("/") if path.rstrip("/") else []
    if parts[:1] != [""] or len(parts) < 3 or parts[1] != "v1":
        raise DataPlaneError(404, f"no such path: {path}")
    resource, rest = parts[2], parts[3:]
    if resource == "random" and not rest:
        _allow(method, "GET")
        return _random(query)
    if resource != "servicekey":
        raise DataPlaneError(404, f"no such path: {path}")
    if not rest:
        if method == "POST":
            return _create(store, okms_id, query, body)
        _allow(method, "GET")
        return _list(store, okms_id, query)
    key_id, action = rest[0], "/".join(rest[1:])
    if not action:
        if method == "GET":
            return _get(store, okms_id, key_id, query)
        if method == "PATCH":
            return _patch(store, okms_id, key_id, body)
        _allow(method, "DELETE")
        return _delete(store, okms_id, key_id)
    if action not in _ACTIONS:
        raise DataPlaneError(404, f"no such path: {path}")
    _allow(method, "POST")
    return _ACTIONS[action](store, okms_id, key_id, query, body)


def _allow(method, expected):
    if method != expected:
        raise DataPlaneError(405, f"method {method} is not allowed here (use {expected})")


# --- request helpers ----------------------------------------------------------

def _json(body, allowed, required=()):
    try:
        data = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError):
        raise DataPlaneError(400, "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise DataPlaneError(400, "request body must be a JSON object")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise DataPlaneError(400, f"unknown field(s) in request body: {', '.join(unknown)}")
    for field in required:
        if data.get(field) is None:
            raise DataPlaneError(400, f"field {field!r} is required")
    return data


def _b64(value, field, max_bytes=None, allow_empty=False):
    if not isinstance(value, str):
        raise DataPlaneError(400, f"field {field!r} must be a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise DataPlaneError(400, f"field {field!r} is not valid base64") from None
    if not raw and not allow_empty:
        raise DataPlaneError(400, f"field {field!r} must not be empty")
    if max_bytes is not None and len(raw) > max_bytes:
        raise DataPlaneError(400, f"field {field!r} is {len(raw)} bytes; at most {max_bytes} are allowed")
    return raw


def _b64out(raw):
    return base64.b64encode(raw).decode("ascii")


def _one(query, name):
    values = query.get(name) or []
    return values[-1] if values else None


def _int_param(query, name, default, low, high):
    raw = _one(query, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise DataPlaneError(400, f"query parameter {name!r} must be an integer") from None
    if not low <= value <= high:
        raise DataPlaneError(400, f"query parameter {name!r} must be between {low} and {high}")
    return value


def _context(data):
    ctx = data.get("context")
    if ctx is None:
        return None
    if not isinstance(ctx, str) or len(ctx) > CONTEXT_MAX:
        raise DataPlaneError(400, f"field 'context' must be a string of at most {CONTEXT_MAX} characters")
    return ctx


def _kms(store, okms_id):
    kms = store.data.get("okms", {}).get(okms_id)
    if kms is None:
        raise DataPlaneError(404, f"KMS {okms_id} not found")
    return kms


def _key(store, okms_id, key_id):
    record = _kms(store, okms_id).setdefault("serviceKeys", {}).get(key_id.lower())
    if record is None:
        raise DataPlaneError(404, f"service key {key_id} not found")
    return record


def _usable(record, operation, states=("ACTIVE",)):
    if operation not in record["operations"]:
        raise DataPlaneError(400, f"service key {record['id']} does not allow operation {operation!r} "
                                  f"(operations: {', '.join(record['operations'])})")
    if record.get("state", "ACTIVE") not in states:
        raise DataPlaneError(400, f"service key {record['id']} is {record['state'].lower()}; "
                                  f"{operation} needs a key in state {' or '.join(s.lower() for s in states)}")


# --- representation -----------------------------------------------------------

def key_response(record, with_jwk=False):
    out = {"id": record["id"], "name": record["name"], "type": record["type"],
           "operations": list(record["operations"]),
           "protectionLevel": record.get("protectionLevel") or "SOFTWARE"}
    if record["type"] == "EC":
        out["curve"] = record["curve"]  # data-plane KeySizes has no EC sizes
    elif record.get("size") is not None:
        out["size"] = record["size"]
    attributes = {"state": record.get("state", "ACTIVE").lower(),
                  "original_creation_date": record.get("createdAt")}
    for field, attr in (("activatedAt", "activation_date"), ("deactivatedAt", "deactivation_date"),
                        ("compromisedAt", "compromise_date")):
        if record.get(field):
            attributes[attr] = record[field]
    out["attributes"] = attributes
    if with_jwk:
        out["keys"] = [keys.public_jwk(record)]
    return out


def _with_jwk(query):
    fmt = _one(query, "format")
    if fmt is not None and fmt != "jwk":
        raise DataPlaneError(400, f"query parameter 'format' must be 'jwk' (got {fmt!r})")
    return fmt == "jwk"


# --- key management -----------------------------------------------------------

def _create(store, okms_id, query, body):
    with_jwk = _with_jwk(query)
    data = _json(body, _CREATE_FIELDS)
    level = data.get("protectionLevel")
    if level not in (None, "SOFTWARE"):
        raise DataPlaneError(400, f"protectionLevel {level!r} is not available: this emulator models SOFTWARE only")
    key_id = data.get("id")
    if key_id is not None and (not isinstance(key_id, str) or not _UUID_RE.match(key_id)):
        raise DataPlaneError(400, "field 'id' must be a UUID")
    fields = keys.build_service_key({k: v for k, v in data.items() if k in (
        "name", "context", "type", "size", "curve", "operations", "keys")}, allow_combined_oct_operations=True)
    with store.lock:
        service_keys = _kms(store, okms_id).setdefault("serviceKeys", {})
        key_id = (key_id or str(uuid.uuid4())).lower()
        if key_id in service_keys:
            raise DataPlaneError(400, f"a service key with id {key_id} already exists")
        stamp = keys.now_rfc3339()
        record = {"id": key_id, **fields, "state": "ACTIVE", "deactivationReason": None,
                  "createdAt": stamp, "activatedAt": stamp}
        service_keys[key_id] = record
        store.save()
        return 201, key_response(record, with_jwk)


def _list(store, okms_id, query):
    state = _one(query, "state") or "all"
    if state not in KEY_STATES:
        raise DataPlaneError(400, f"query parameter 'state' must be one of {', '.join(KEY_STATES)}")
    size = _int_param(query, "max", LIST_MAX_DEFAULT, LIST_MAX_MIN, LIST_MAX_MAX)
    token = _one(query, "continuation-token")
    after = None
    if token:
        try:
            after = tuple(json.loads(b64url_decode(token)))
            if len(after) != 2 or not all(isinstance(x, str) for x in after):
                raise ValueError
        except ValueError:
            raise DataPlaneError(400, "query parameter 'continuation-token' is not a valid token") from None
    with store.lock:
        records = sorted(_kms(store, okms_id).get("serviceKeys", {}).values(),
                         key=lambda r: (r.get("createdAt") or "", r["id"]))
        if state != "all":
            records = [r for r in records if r.get("state", "ACTIVE").lower() == state]
        if after is not None:
            records = [r for r in records if ((r.get("createdAt") or ""), r["id"]) > after]
        page, truncated = records[:size], len(records) > size
        next_token = ""
        if truncated:
            last = page[-1]
            next_token = b64url_encode(json.dumps([last.get("createdAt") or "", last["id"]]).encode())
        return 200, {"objects_list": [key_response(r) for r in page],
                     "continuation_token": next_token, "is_truncated": truncated}


def _get(store, okms_id, key_id, query):
    with_jwk = _with_jwk(query)
    with store.lock:
        return 200, key_response(_key(store, okms_id, key_id), with_jwk)


def _patch(store, okms_id, key_id, body):
    data = _json(body, {"name", "extractable"}, required=("name",))
    keys.validate_name(data["name"])
    with store.lock:
        record = _key(store, okms_id, key_id)
        record["name"] = data["name"]
        store.save()
        return 200, key_response(record)


def _set_state(store, okms_id, key_id, update):
    with store.lock:
        record = _key(store, okms_id, key_id)
        keys.apply_service_key_update(record, update)
        store.save()
    return 204, None


def _deactivate(store, okms_id, key_id, body):
    data = _json(body, {"reason"}, required=("reason",))
    if data["reason"] not in REVOCATION_REASONS:
        raise DataPlaneError(400, f"field 'reason' must be one of {', '.join(REVOCATION_REASONS)}")
    return _set_state(store, okms_id, key_id, {"state": "DEACTIVATED", "deactivationReason": data["reason"].upper()})


def _delete(store, okms_id, key_id):
    with store.lock:
        record = _key(store, okms_id, key_id)
        keys.check_deletable(record)
        del _kms(store, okms_id)["serviceKeys"][record["id"]]
        store.save()
    return 204, None


# --- JWE ----------------------------------------------------------------------

def _enc_for(record):
    return f"A{record['size']}GCM"


def _jwe_seal(header, cek, plaintext, aad_extra=None, encrypted_key=b""):
    protected = b64url_encode(json.dumps(header, separators=(",", ":")).encode())
    aad = protected.encode("ascii") + (b"." + b64url_encode(aad_extra.encode()).encode() if aad_extra is not None else b"")
    iv = os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, plaintext, aad)
    return ".".join((protected, b64url_encode(encrypted_key) if encrypted_key else "", b64url_encode(iv),
                     b64url_encode(sealed[:-16]), b64url_encode(sealed[-16:])))


def _jwe_parse(token, field):
    if not isinstance(token, str):
        raise DataPlaneError(400, f"field {field!r} must be a JWE compact string")
    parts = token.split(".")
    if len(parts) != 5:
        raise DataPlaneError(400, f"field {field!r} is not a JWE compact string (5 dot-separated parts)")
    try:
        header = json.loads(b64url_decode(parts[0]))
        encrypted_key = b64url_decode(parts[1]) if parts[1] else b""
        iv, ciphertext, tag = (b64url_decode(p) if p else b"" for p in parts[2:])
    except ValueError:
        raise DataPlaneError(400, f"field {field!r} is not a well-formed JWE") from None
    if not isinstance(header, dict) or len(iv) != 12 or len(tag) != 16:
        raise DataPlaneError(400, f"field {field!r} is not a well-formed JWE")
    return parts[0], header, encrypted_key, iv, ciphertext, tag


def _jwe_open(record, protected, header, cek, iv, ciphertext, tag, aad_extra, field):
    if header.get("kid") != record["id"]:
        raise DataPlaneError(400, f"field {field!r} was not produced with service key {record['id']}")
    aad = protected.encode("ascii") + (b"." + b64url_encode(aad_extra.encode()).encode() if aad_extra is not None else b"")
    try:
        return AESGCM(cek).decrypt(iv, ciphertext + tag, aad)
    except (InvalidTag, ValueError):
        raise DataPlaneError(400, "decryption failed: wrong key, altered ciphertext or different context") from None


def _oct_key(record, operation, states=("ACTIVE",)):
    if record["type"] != "oct":
        raise DataPlaneError(400, f"{operation} needs an oct (symmetric) key; {record['id']} is {record['type']}")
    _usable(record, operation, states)
    return keys.secret_bytes(record)


# --- encrypt / decrypt / data keys ---------------------------------------------

def _encrypt(store, okms_id, key_id, body):
    data = _json(body, {"plaintext", "context"}, required=("plaintext",))
    plaintext = _b64(data["plaintext"], "plaintext", PLAINTEXT_MAX)
    context = _context(data)
    with store.lock:
        record = _key(store, okms_id, key_id)
        secret = _oct_key(record, "encrypt")
        header = {"alg": "dir", "enc": _enc_for(record), "kid": record["id"]}
        return 200, {"ciphertext": _jwe_seal(header, secret, plaintext, context)}


def _decrypt(store, okms_id, key_id, body):
    data = _json(body, {"ciphertext", "context"}, required=("ciphertext",))
    context = _context(data)
    protected, header, encrypted_key, iv, ct, tag = _jwe_parse(data["ciphertext"], "ciphertext")
    with store.lock:
        record = _key(store, okms_id, key_id)
        secret = _oct_key(record, "decrypt", PROCESS_STATES)
        if header.get("alg") != "dir" or header.get("enc") != _enc_for(record) or encrypted_key:
            raise DataPlaneError(400, "ciphertext was not produced by the encrypt operation of this key")
        plaintext = _jwe_open(record, protected, header, secret, iv, ct, tag, context, "ciphertext")
        return 200, {"plaintext": _b64out(plaintext)}


def _datakey_op(record, kind, states=("ACTIVE",)):
    # Unconfirmed which operation gates data keys: either the wrap or the encrypt pair is accepted.
    ops = ("wrapKey", "encrypt") if kind == "wrap" else ("unwrapKey", "decrypt")
    op = next((o for o in ops if o in record["operations"]), ops[0])
    return _oct_key(record, op, states)


def _datakey(store, okms_id, key_id, body):
    data = _json(body, {"size", "name"}, required=("size",))
    size = data["size"]
    if isinstance(size, bool) or size not in DATAKEY_SIZES:
        raise DataPlaneError(400, f"field 'size' must be one of {', '.join(map(str, DATAKEY_SIZES))} (bits)")
    name = data.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 32):
        raise DataPlaneError(400, "field 'name' must be a string of at most 32 characters")
    with store.lock:
        record = _key(store, okms_id, key_id)
        secret = _datakey_op(record, "wrap")
        datakey, cek = os.urandom(size // 8), AESGCM.generate_key(256)
        header = {"alg": f"A{record['size']}KW", "enc": "A256GCM", "kid": record["id"]}
        token = _jwe_seal(header, cek, datakey, encrypted_key=aes_key_wrap(secret, cek))
        return 201, {"key": token, "plaintext": _b64out(datakey)}


def _datakey_decrypt(store, okms_id, key_id, body):
    data = _json(body, {"key"}, required=("key",))
    protected, header, encrypted_key, iv, ct, tag = _jwe_parse(data["key"], "key")
    with store.lock:
        record = _key(store, okms_id, key_id)
        secret = _datakey_op(record, "unwrap", PROCESS_STATES)
        if header.get("alg") != f"A{record['size']}KW" or header.get("enc") != "A256GCM" or not encrypted_key:
            raise DataPlaneError(400, "key is not a data key produced by this service key")
        if header.get("kid") != record["id"]:
            raise DataPlaneError(400, f"key was not produced with service key {record['id']}")
        try:
            cek = aes_key_unwrap(secret, encrypted_key)
        except (InvalidUnwrap, ValueError):
            raise DataPlaneError(400, "data key could not be unwrapped with this service key") from None
        plaintext = _jwe_open(record, protected, header, cek, iv, ct, tag, None, "key")
        return 200, {"plaintext": _b64out(plaintext)}


# --- sign / verify ------------------------------------------------------------

def _signing_setup(record, data):
    alg = data.get("alg")
    if alg not in _SIGN_ALGS:
        raise DataPlaneError(400, f"field 'alg' must be one of {', '.join(_SIGN_ALGS)}")
    kty, curve, hash_cls = _SIGN_ALGS[alg]
    if record["type"] != kty or (curve is not None and record["curve"] != curve):
        expected = [a for a, (t, c, _) in _SIGN_ALGS.items()
                    if t == record["type"] and c in (None, record.get("curve"))]
        raise DataPlaneError(400, f"alg {alg} does not fit service key {record['id']} "
                                  f"({record['type']} {record.get('curve') or record.get('size')}); "
                                  f"use {', '.join(expected) or 'no signature algorithm'}")
    isdigest = data.get("isdigest") or False
    if not isinstance(isdigest, bool):
        raise DataPlaneError(400, "field 'isdigest' must be a boolean")
    message = _b64(data.get("message"), "message", PLAINTEXT_MAX)
    hash_alg = hash_cls()
    if isdigest:
        if len(message) != hash_alg.digest_size:
            raise DataPlaneError(400, f"a {hash_alg.name} digest is {hash_alg.digest_size} bytes, got {len(message)}")
        hash_arg = utils.Prehashed(hash_alg)
    else:
        hash_arg = hash_alg
    if kty == "EC":
        scheme = ec.ECDSA(hash_arg)
    elif alg.startswith("PS"):
        scheme = padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=hash_alg.digest_size)
    else:
        scheme = padding.PKCS1v15()
    return kty, message, hash_arg, scheme


def _sign(store, okms_id, key_id, query, body):
    fmt = _one(query, "format")
    if fmt not in (None, "raw"):
        raise DataPlaneError(400, f"signature format {fmt!r} is not supported by this emulator (only raw)")
    data = _json(body, {"message", "alg", "isdigest"}, required=("message", "alg"))
    with store.lock:
        record = _key(store, okms_id, key_id)
        _usable(record, "sign")
        kty, message, hash_arg, scheme = _signing_setup(record, data)
        key = keys.private_key(record)
    if kty == "EC":
        r, s = utils.decode_dss_signature(key.sign(message, scheme))
        length = keys.CURVES[record["curve"]][2]
        signature = r.to_bytes(length, "big") + s.to_bytes(length, "big")
    else:
        signature = key.sign(message, scheme, hash_arg)
    return 200, {"signature": _b64out(signature)}


def _verify(store, okms_id, key_id, body):
    data = _json(body, {"message", "signature", "alg", "isdigest"}, required=("message", "signature", "alg"))
    with store.lock:
        record = _key(store, okms_id, key_id)
        _usable(record, "verify", PROCESS_STATES)
        kty, message, hash_arg, scheme = _signing_setup(record, data)
        public = keys.private_key(record).public_key()
    signature = _b64(data["signature"], "signature")
    try:
        if kty == "EC":
            length = keys.CURVES[record["curve"]][2]
            if len(signature) != 2 * length:
                return 200, {"result": False}
            der = utils.encode_dss_signature(int.from_bytes(signature[:length], "big"),
                                             int.from_bytes(signature[length:], "big"))
            public.verify(der, message, scheme)
        else:
            public.verify(signature, message, scheme, hash_arg)
    except (InvalidSignature, ValueError):
        return 200, {"result": False}
    return 200, {"result": True}


# --- random -------------------------------------------------------------------

def _random(query):
    length = _int_param(query, "length", 1, 1, RANDOM_MAX)
    return 200, {"bytes": _b64out(os.urandom(length))}
