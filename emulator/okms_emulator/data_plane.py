"""Data plane (KMS REST API): /api/{okmsId}/v1/servicekey..., /v1/random, and the
Secret Manager's v2 REST API (``data_secrets.py``) and Vault-KV2 API (``kv2.py``).

Every request under /api/{okmsId}/ is first authenticated (once, in
:meth:`DataPlane.serve`) by its client certificate (mTLS) or, without one, by
an OAuth2 access token of the emulator (``Authorization: Bearer`` or Vault's
``X-Vault-Token``), then dispatched through a
:class:`~okms_emulator.routing.Router` whose 404/405 use the data-plane error
body. Adding a path is one ``router.add(...)`` line in ``DataPlane.register``.
Each handler then checks the caller's IAM rights for its action
(``data_rights.py``) before it touches a key or a secret.

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
import datetime
import json
import os
import re
import secrets
import uuid

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from . import data_rights, keys, pki
from .data_errors import SECRETS, SERVICE_KEYS, DataPlaneError, error_body
from .data_rights import require
from .data_secrets import DataSecrets
from .errors import ApiError
from .keys import ServiceKeyError, b64url_decode, b64url_encode
from .kv2 import KV2, is_kv2_path
from .pagination import Paginator
from .routing import Request, Response, Router
from .secret_manager import SecretError

PLAINTEXT_MAX = 4096
CONTEXT_MAX = 64
LIST_MAX_DEFAULT, LIST_MAX_MIN, LIST_MAX_MAX = 100, 10, 100
RANDOM_MAX = 4096
DATAKEY_SIZES = (128, 192, 256)  # what okms-sdk-go documents as acceptable
KEY_STATES = ("pre_active", "active", "deactivated", "compromised", "destroyed", "destroyed_compromised", "all")
REVOCATION_REASONS = tuple(r.lower() for r in keys.DEACTIVATION_REASONS)
# Processing operations (KMIP semantics): allowed on deactivated/compromised keys too.
PROCESS_STATES = ("ACTIVE", "DEACTIVATED", "COMPROMISED")

# Everything under /api/{okmsId}/ needs a client certificate of that KMS (or a token), known path or not.
_KMS_PATH = re.compile(r"^/api/([^/]*)/")
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SIGN_ALGS = {
    "ES256": ("EC", "P-256", hashes.SHA256), "ES384": ("EC", "P-384", hashes.SHA384),
    "ES512": ("EC", "P-521", hashes.SHA512),
    "RS256": ("RSA", None, hashes.SHA256), "RS384": ("RSA", None, hashes.SHA384), "RS512": ("RSA", None, hashes.SHA512),
    "PS256": ("RSA", None, hashes.SHA256), "PS384": ("RSA", None, hashes.SHA384), "PS512": ("RSA", None, hashes.SHA512),
}
_CREATE_FIELDS = {"id", "name", "context", "type", "size", "curve", "operations", "protectionLevel", "keys",
                  "extractable"}  # extractable: sent by newer okms-cli; accepted and ignored


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
    if not isinstance(ctx, (str, type(None))):
        raise DataPlaneError(400, f"field 'context' must be a string of at most {CONTEXT_MAX} characters")
    if ctx is not None and len(ctx) > CONTEXT_MAX:
        raise DataPlaneError(400, f"field 'context' is {len(ctx)} characters; at most {CONTEXT_MAX} are allowed")
    return ctx or None  # an empty context binds nothing, like no context (README, unconfirmed points)


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



# --- data keys and signatures: helpers ---------------------------------------

def _datakey_op(record, kind, states=("ACTIVE",)):
    # Unconfirmed which operation gates data keys: either the wrap or the encrypt pair is accepted.
    ops = ("wrapKey", "encrypt") if kind == "wrap" else ("unwrapKey", "decrypt")
    op = next((o for o in ops if o in record["operations"]), ops[0])
    return _oct_key(record, op, states)


def _default_alg(record):
    """verify's ``alg`` when absent (the spec does not require it): the one an EC curve allows."""
    if record["type"] == "EC":
        return next(a for a, (_, curve, _) in _SIGN_ALGS.items() if curve == record["curve"])
    raise DataPlaneError(400, f"field 'alg' is required to verify with RSA service key {record['id']} "
                              "(RS256, RS384, RS512, PS256, PS384 or PS512)")


def _signing_setup(record, data, verifying=False):
    alg = data.get("alg")
    if alg is None and verifying:
        alg = _default_alg(record)
    if alg not in _SIGN_ALGS:
        raise DataPlaneError(400, f"field 'alg' must be one of {', '.join(_SIGN_ALGS)} (got {alg!r})")
    kty, curve, hash_cls = _SIGN_ALGS[alg]
    if record["type"] != kty or (curve is not None and record["curve"] != curve):
        expected = [a for a, (t, c, _) in _SIGN_ALGS.items()
                    if t == record["type"] and c in (None, record.get("curve"))]
        raise DataPlaneError(400, f"alg {alg} does not fit service key {record['id']} "
                                  f"({record['type']} {record.get('curve') or record.get('size')}); "
                                  f"use {', '.join(expected) or 'no signature algorithm'}")
    isdigest = data.get("isdigest")
    if isdigest is None:
        isdigest = False
    elif not isinstance(isdigest, bool):
        raise DataPlaneError(400, "field 'isdigest' must be a boolean")
    # verify's message may be absent or null (the spec's VerifyRequest): the empty message.
    raw_message = "" if verifying and data.get("message") is None else data.get("message")
    message = _b64(raw_message, "message", PLAINTEXT_MAX, allow_empty=verifying)
    hash_alg = hash_cls()
    if isdigest:
        if len(message) != hash_alg.digest_size:
            raise DataPlaneError(400, f"isdigest is true: 'message' must be the {hash_alg.digest_size}-byte "
                                      f"{hash_alg.name} digest {alg} signs, got {len(message)} bytes")
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


# --- the plane ----------------------------------------------------------------

def _not_found(method, path):
    return DataPlaneError(404, f"no such path: {path}")


def _method_not_allowed(method, path, allowed):
    return DataPlaneError(405, f"method {method} is not allowed here (use {' or '.join(allowed)})")


# The data plane's lists: the spec's default (and largest) X-Pagination-Size is 100.
DATA_PAGE_SIZE = 100


class DataPlane:
    """The KMS REST API of every KMS in the store.

    ``authenticator`` (auth.Authenticator) checks access tokens; ``paginator``
    pages the secret lists (a private one when None, e.g. in unit tests).
    """

    def __init__(self, store, authenticator=None, paginator=None):
        self.store = store
        self.authenticator = authenticator
        self.paginator = paginator or Paginator(secrets.token_bytes(32), DATA_PAGE_SIZE, DATA_PAGE_SIZE)
        self.router = Router(not_found=_not_found, method_not_allowed=_method_not_allowed)
        self.register(self.router)

    def register(self, router):
        keys_path = "/api/{okmsId}/v1/servicekey"
        key_path = keys_path + "/{keyId}"
        router.add("GET", keys_path, self.list_keys)
        router.add("POST", keys_path, self.create_key)
        router.add("GET", key_path, self.get_key)
        router.add("PATCH", key_path, self.rename_key)
        router.add("DELETE", key_path, self.delete_key)
        router.add("POST", key_path + "/activate", self.activate_key)
        router.add("POST", key_path + "/deactivate", self.deactivate_key)
        router.add("POST", key_path + "/encrypt", self.encrypt)
        router.add("POST", key_path + "/decrypt", self.decrypt)
        router.add("POST", key_path + "/datakey", self.datakey)
        router.add("POST", key_path + "/datakey/decrypt", self.datakey_decrypt)
        router.add("POST", key_path + "/sign", self.sign)
        router.add("POST", key_path + "/verify", self.verify)
        router.add("GET", "/api/{okmsId}/v1/random", self.random)
        DataSecrets(self.store, self.paginator).register(router)
        KV2(self.store, self.paginator).register(router)

    # --- dispatch ---------------------------------------------------------------

    def serve(self, req, peer_certificate):
        """Authorise ``req`` by its client certificate (DER or None) or its token, then dispatch it.

        Sets ``req.identity`` when the caller is accepted. A client certificate,
        when sent, decides alone, exactly as before tokens were accepted.
        """
        try:
            found = _KMS_PATH.match(req.path)
            if found is None:
                raise DataPlaneError(404, f"no such path: {req.path}")
            if peer_certificate:
                caller = self.authorise(found.group(1), peer_certificate)
            else:
                caller = self.authorise_token(found.group(1), req.headers)
            req.identity, req.extra["caller"] = caller.label, caller
        except DataPlaneError as exc:
            response = _error_response(exc.status, exc.message, exc.app_code)
        else:
            response = self.dispatch(req)
        if is_kv2_path(req.path):
            response.content_type = "application/json"  # exactly what Vault sends (hvac reads errors only then)
        return response

    def dispatch(self, req):
        """Route an authorised request; every error becomes a data-plane error response."""
        try:
            # A trailing slash is tolerated: /v1/servicekey/ lists the keys.
            handler, params, _ = self.router.match(req.method.upper(), req.path.rstrip("/") or "/")
            return handler(req, **params)
        except DataPlaneError as exc:
            return _error_response(exc.status, exc.message, exc.app_code, exc.domain)
        except ServiceKeyError as exc:
            # Same validation as v2; the data plane reports the message, not the v2 class.
            return _error_response(exc.status, exc.message)
        except SecretError as exc:
            return _error_response(exc.status, exc.message, domain=SECRETS)
        except ApiError as exc:  # the paginator's (size or cursor)
            return _error_response(exc.status, exc.message, domain=SECRETS)

    def authorise(self, okms_id, der):
        """mTLS checks beyond the handshake; return the caller (data_rights.Caller) or raise 401/403."""
        if not der:
            raise DataPlaneError(401, "a client certificate is required")
        cert = x509.load_der_x509_certificate(der)
        cns = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
        if not cns or cns[0].value != okms_id:
            raise DataPlaneError(403, f"certificate is not valid for domain {okms_id}")
        return access_certificate_caller(self.store, okms_id, cert)

    def authorise_token(self, okms_id, headers):
        """Without a certificate: an OAuth2 access token (scope ``all``) of the emulator's account."""
        authorization = headers.get("Authorization") or ""
        token = authorization[7:].strip() if authorization[:7].lower() == "bearer " else None
        token = token or (headers.get("X-Vault-Token") or "").strip()
        if not token:
            raise DataPlaneError(401, "a client certificate or an access token "
                                      "(Authorization: Bearer, X-Vault-Token) is required")
        if self.authenticator is None:
            raise DataPlaneError(401, "access tokens are not accepted here")
        try:
            identity = self.authenticator.check_token(token)
        except ApiError:
            raise DataPlaneError(401, "invalid or expired access token") from None
        with self.store.lock:
            if okms_id not in self.store.data["okms"]:
                raise DataPlaneError(404, f"KMS {okms_id} not found")
        return data_rights.token_caller(identity, identity.partition(":")[2])

    # --- key management ---------------------------------------------------------

    def create_key(self, req, okmsId):
        with_jwk = _with_jwk(req.query)
        data = _json(req.body, _CREATE_FIELDS)
        level = data.get("protectionLevel")
        if level not in (None, "SOFTWARE"):
            raise DataPlaneError(400, f"protectionLevel {level!r} is not available: "
                                      "this emulator models SOFTWARE only")
        key_id = data.get("id")
        if key_id is not None and (not isinstance(key_id, str) or not _UUID_RE.match(key_id)):
            raise DataPlaneError(400, "field 'id' must be a UUID")
        require(self.store, req, okmsId, "serviceKey/import" if data.get("keys") is not None else "serviceKey/create")
        fields = keys.build_service_key({k: v for k, v in data.items() if k in (
            "name", "context", "type", "size", "curve", "operations", "keys")}, allow_combined_oct_operations=True)
        with self.store.lock:
            service_keys = _kms(self.store, okmsId).setdefault("serviceKeys", {})
            key_id = (key_id or str(uuid.uuid4())).lower()
            if key_id in service_keys:
                raise DataPlaneError(400, f"a service key with id {key_id} already exists")
            stamp = keys.now_rfc3339()
            record = {"id": key_id, **fields, "state": "ACTIVE", "deactivationReason": None,
                      "createdAt": stamp, "activatedAt": stamp}
            service_keys[key_id] = record
            self.store.save()
            return Response(201, key_response(record, with_jwk))

    def list_keys(self, req, okmsId):
        state = _one(req.query, "state") or "all"
        if state not in KEY_STATES:
            raise DataPlaneError(400, f"query parameter 'state' must be one of {', '.join(KEY_STATES)}")
        size = _int_param(req.query, "max", LIST_MAX_DEFAULT, LIST_MAX_MIN, LIST_MAX_MAX)
        token = _one(req.query, "continuation-token")
        after = None
        if token:
            try:
                after = tuple(json.loads(b64url_decode(token)))
                if len(after) != 2 or not all(isinstance(x, str) for x in after):
                    raise ValueError
            except ValueError:
                raise DataPlaneError(400, "query parameter 'continuation-token' is not a valid token") from None
        with self.store.lock:
            records = sorted(_kms(self.store, okmsId).get("serviceKeys", {}).values(),
                             key=lambda r: (r.get("createdAt") or "", r["id"]))
            if state != "all":
                records = [r for r in records if r.get("state", "ACTIVE").lower() == state]
            # serviceKey/get is needed on each key listed: the others are left out.
            records = [r for r in records
                       if data_rights.may(self.store, req, okmsId, "serviceKey/get", data_rights.key(r["id"]))]
            if after is not None:
                records = [r for r in records if ((r.get("createdAt") or ""), r["id"]) > after]
            page, truncated = records[:size], len(records) > size
            next_token = ""
            if truncated:
                last = page[-1]
                next_token = b64url_encode(json.dumps([last.get("createdAt") or "", last["id"]]).encode())
            return Response(200, {"objects_list": [key_response(r) for r in page],
                                  "continuation_token": next_token, "is_truncated": truncated})

    def get_key(self, req, okmsId, keyId):
        require(self.store, req, okmsId, "serviceKey/get", data_rights.key(keyId))
        with_jwk = _with_jwk(req.query)
        with self.store.lock:
            return Response(200, key_response(_key(self.store, okmsId, keyId), with_jwk))

    def rename_key(self, req, okmsId, keyId):
        require(self.store, req, okmsId, "serviceKey/update", data_rights.key(keyId))
        data = _json(req.body, {"name", "extractable"}, required=("name",))
        keys.validate_name(data["name"])
        with self.store.lock:
            record = _key(self.store, okmsId, keyId)
            record["name"] = data["name"]
            self.store.save()
            return Response(200, key_response(record))

    def activate_key(self, req, okmsId, keyId):
        require(self.store, req, okmsId, "serviceKey/activate", data_rights.key(keyId))
        return self._set_state(okmsId, keyId, {"state": "ACTIVE"})

    def deactivate_key(self, req, okmsId, keyId):
        require(self.store, req, okmsId, "serviceKey/deactivate", data_rights.key(keyId))
        data = _json(req.body, {"reason"}, required=("reason",))
        if data["reason"] not in REVOCATION_REASONS:
            raise DataPlaneError(400, f"field 'reason' must be one of {', '.join(REVOCATION_REASONS)}")
        return self._set_state(okmsId, keyId,
                               {"state": "DEACTIVATED", "deactivationReason": data["reason"].upper()})

    def _set_state(self, okms_id, key_id, update):
        with self.store.lock:
            record = _key(self.store, okms_id, key_id)
            keys.apply_service_key_update(record, update)
            self.store.save()
        return Response(204, None)

    def delete_key(self, req, okmsId, keyId):
        require(self.store, req, okmsId, "serviceKey/delete", data_rights.key(keyId))
        with self.store.lock:
            record = _key(self.store, okmsId, keyId)
            keys.check_deletable(record)
            del _kms(self.store, okmsId)["serviceKeys"][record["id"]]
            self.store.save()
        return Response(204, None)

    # --- encrypt / decrypt / data keys -----------------------------------------

    def encrypt(self, req, okmsId, keyId):
        require(self.store, req, okmsId, "serviceKey/encrypt", data_rights.key(keyId))
        data = _json(req.body, {"plaintext", "context"}, required=("plaintext",))
        plaintext = _b64(data["plaintext"], "plaintext", PLAINTEXT_MAX)
        context = _context(data)
        with self.store.lock:
            record = _key(self.store, okmsId, keyId)
            secret = _oct_key(record, "encrypt")
            header = {"alg": "dir", "enc": _enc_for(record), "kid": record["id"]}
            return Response(200, {"ciphertext": _jwe_seal(header, secret, plaintext, context)})

    def decrypt(self, req, okmsId, keyId):
        require(self.store, req, okmsId, "serviceKey/decrypt", data_rights.key(keyId))
        data = _json(req.body, {"ciphertext", "context"}, required=("ciphertext",))
        context = _context(data)
        protected, header, encrypted_key, iv, ct, tag = _jwe_parse(data["ciphertext"], "ciphertext")
        with self.store.lock:
            record = _key(self.store, okmsId, keyId)
            secret = _oct_key(record, "decrypt", PROCESS_STATES)
            if header.get("alg") != "dir" or header.get("enc") != _enc_for(record) or encrypted_key:
                raise DataPlaneError(400, "ciphertext was not produced by the encrypt operation of this key")
            plaintext = _jwe_open(record, protected, header, secret, iv, ct, tag, context, "ciphertext")
            return Response(200, {"plaintext": _b64out(plaintext)})

    def datakey(self, req, okmsId, keyId):
        require(self.store, req, okmsId, "serviceKey/dataKey/create", data_rights.key(keyId))
        data = _json(req.body, {"size", "name"}, required=("size",))
        size = data["size"]
        if isinstance(size, bool) or size not in DATAKEY_SIZES:
            raise DataPlaneError(400, f"field 'size' must be one of {', '.join(map(str, DATAKEY_SIZES))} (bits)")
        name = data.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 32):
            raise DataPlaneError(400, "field 'name' must be a string of at most 32 characters")
        with self.store.lock:
            record = _key(self.store, okmsId, keyId)
            secret = _datakey_op(record, "wrap")
            datakey, cek = os.urandom(size // 8), AESGCM.generate_key(256)
            header = {"alg": f"A{record['size']}KW", "enc": "A256GCM", "kid": record["id"]}
            token = _jwe_seal(header, cek, datakey, encrypted_key=aes_key_wrap(secret, cek))
            return Response(201, {"key": token, "plaintext": _b64out(datakey)})

    def datakey_decrypt(self, req, okmsId, keyId):
        require(self.store, req, okmsId, "serviceKey/dataKey/decrypt", data_rights.key(keyId))
        data = _json(req.body, {"key"}, required=("key",))
        protected, header, encrypted_key, iv, ct, tag = _jwe_parse(data["key"], "key")
        with self.store.lock:
            record = _key(self.store, okmsId, keyId)
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
            return Response(200, {"plaintext": _b64out(plaintext)})

    # --- sign / verify ----------------------------------------------------------

    def sign(self, req, okmsId, keyId):
        require(self.store, req, okmsId, "serviceKey/sign", data_rights.key(keyId))
        fmt = _one(req.query, "format")
        if fmt not in (None, "raw"):
            raise DataPlaneError(400, f"signature format {fmt!r} is not supported by this emulator (only raw)")
        data = _json(req.body, {"message", "alg", "isdigest"}, required=("message", "alg"))
        with self.store.lock:
            record = _key(self.store, okmsId, keyId)
            _usable(record, "sign")
            kty, message, hash_arg, scheme = _signing_setup(record, data)
            key = keys.private_key(record)
        if kty == "EC":
            r, s = utils.decode_dss_signature(key.sign(message, scheme))
            length = keys.CURVES[record["curve"]][2]
            signature = r.to_bytes(length, "big") + s.to_bytes(length, "big")
        else:
            signature = key.sign(message, scheme, hash_arg)
        return Response(200, {"signature": _b64out(signature)})

    def verify(self, req, okmsId, keyId):
        require(self.store, req, okmsId, "serviceKey/verify", data_rights.key(keyId))
        data = _json(req.body, {"message", "signature", "alg", "isdigest"}, required=("signature",))
        with self.store.lock:
            record = _key(self.store, okmsId, keyId)
            _usable(record, "verify", PROCESS_STATES)
            kty, message, hash_arg, scheme = _signing_setup(record, data, verifying=True)
            public = keys.private_key(record).public_key()
        signature = _b64(data["signature"], "signature")
        try:
            if kty == "EC":
                length = keys.CURVES[record["curve"]][2]
                if len(signature) != 2 * length:
                    return Response(200, {"result": False})
                der = utils.encode_dss_signature(int.from_bytes(signature[:length], "big"),
                                                 int.from_bytes(signature[length:], "big"))
                public.verify(der, message, scheme)
            else:
                public.verify(signature, message, scheme, hash_arg)
        except (InvalidSignature, ValueError):
            return Response(200, {"result": False})
        return Response(200, {"result": True})

    # --- random -----------------------------------------------------------------

    def random(self, req, okmsId):
        require(self.store, req, okmsId, "random/get")
        length = _int_param(req.query, "length", 1, 1, RANDOM_MAX)
        return Response(200, {"bytes": _b64out(os.urandom(length))})


def access_certificate_caller(store, okms_id, cert):
    """The caller of a client certificate of KMS ``okms_id`` (the REST API's and KMIP's check), or a 401.

    The handshake proved the certificate chains to some KMS's CA; this checks that it is valid now,
    issued by this KMS's CA, and the certificate of a credential that exists and was not revoked.
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    if cert.not_valid_after_utc < now or cert.not_valid_before_utc > now:
        raise DataPlaneError(401, "certificate expired or not yet valid")
    credential_id = str(uuid.UUID(int=cert.serial_number)) if cert.serial_number < 2 ** 128 else None
    with store.lock:
        record = store.data["okms"].get(okms_id)
        if record is None:
            raise DataPlaneError(401, "unknown domain")
        if not any(pki.issued_by(cert, record[name]["certificatePEM"]) for name in ("ca", "rsaCa")):
            raise DataPlaneError(401, "certificate not issued by this domain's CA")
        if credential_id is None or credential_id in record["revokedCredentials"] \
                or credential_id not in record["credentials"]:
            raise DataPlaneError(401, "certificate revoked")
        return data_rights.certificate_caller(record["credentials"][credential_id])


def _error_response(status, message, app_code=1, domain=SERVICE_KEYS):
    return Response(status, error_body(status, message, app_code, domain))


def handle(store, okms_id, method, path, query, body, identity, caller=None):
    """Dispatch one already-authorised request for ``/api/{okms_id}`` + ``path``.

    Returns (status, json body or None for 204). The unit tests drive the
    handlers this way, without TLS, as ``caller`` (a data_rights.Caller; the account by default).
    """
    req = Request(method, f"/api/{okms_id}{path}", query or {}, {}, body or b"", identity=identity,
                  extra={"caller": caller or data_rights.ACCOUNT_CALLER})
    response = DataPlane(store).dispatch(req)
    return response.status, response.body
