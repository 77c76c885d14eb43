"""KMIP managed objects of one KMS, their life cycle as OKMS applies it, and their cryptography.

No PyKMIP here: the control plane counts these objects (``kmipObjectCount``)
and the emulator runs without PyKMIP. Enumerations are kept by the names
PyKMIP gives KMIP's values (``SYMMETRIC_KEY``, ``PRE_ACTIVE``, ``AES``,
``PKCS_8``); ``kmip_engine.py`` converts them to and from the wire.

Record, ``store.data["okms"][okmsId]["kmipObjects"][uid]``::

    {"id": uuid, "objectType": "SYMMETRIC_KEY", "state": "PRE_ACTIVE",
     "algorithm": "AES" | None, "length": 256 | None, "curve": "P_256" | None,
     "format": "RAW", "material": base64 | None (None once destroyed),
     "usageMask": int | None, "names": [{"value": str, "type": "UNINTERPRETED_TEXT_STRING"}],
     "dates": {"Initial Date": int, "Activation Date": int, ...}, "created": float,
     "revocation": {"code": str, "message": str | None} | None,
     "certificateType": "X_509" | None, "secretDataType": "PASSWORD" | None,
     "opaqueType": int | None, "other": [hex TTLV of an attribute kept as the client sent it]}

Errors are :class:`KmipError` with a KMIP 1.x result reason name; every
message names the object and what is allowed, never key material.
"""

import base64
import os
import time
import uuid

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

OBJECTS = "kmipObjects"
DESTROYED_STATES = ("DESTROYED", "DESTROYED_COMPROMISED")
COMPROMISE_CODES = ("KEY_COMPROMISE", "CA_COMPROMISE")
# States in which an object may be used to protect (encrypt, sign) and to process (decrypt, verify).
PROTECT_STATES = ("ACTIVE",)
PROCESS_STATES = ("ACTIVE", "DEACTIVATED", "COMPROMISED")

USAGE = {"SIGN": 1, "VERIFY": 2, "ENCRYPT": 4, "DECRYPT": 8}
AES_LENGTHS = (128, 192, 256)
RSA_LENGTHS = (2048, 3072, 4096)
EC_CURVES = {256: ("P_256", ec.SECP256R1), 384: ("P_384", ec.SECP384R1), 521: ("P_521", ec.SECP521R1)}
EC_ALGORITHMS = ("EC", "ECDSA")
_CURVE_BY_NAME = {"secp256r1": 256, "secp384r1": 384, "secp521r1": 521}

# Dates the server sets, by their KMIP attribute names.
INITIAL, ACTIVATION, DEACTIVATION, DESTROY = "Initial Date", "Activation Date", "Deactivation Date", "Destroy Date"
COMPROMISE, COMPROMISE_OCCURRENCE = "Compromise Date", "Compromise Occurrence Date"
LAST_CHANGE, ORIGINAL_CREATION = "Last Change Date", "Original Creation Date"


class KmipError(Exception):
    """A failed operation: ``reason`` is a KMIP result reason name (``ITEM_NOT_FOUND``...)."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason
        self.message = message


def title(name):
    """``PRE_ACTIVE`` -> ``PreActive``: how KMIP spells an enumeration value in text."""
    return "".join(part.capitalize() for part in name.split("_"))


def b64(raw):
    return None if raw is None else base64.b64encode(raw).decode("ascii")


def material(obj):
    return base64.b64decode(obj["material"])


# --- the objects of a KMS -----------------------------------------------------------

def objects_of(record):
    return record.setdefault(OBJECTS, {})


def count(record):
    """``kmipObjectCount``: the KMS's KMIP objects that are not destroyed."""
    return sum(1 for obj in record.get(OBJECTS, {}).values() if obj["state"] not in DESTROYED_STATES)


def find(record, uid):
    obj = record.get(OBJECTS, {}).get(uid) if isinstance(uid, str) else None
    if obj is None:
        raise KmipError("ITEM_NOT_FOUND", f"object {uid} not found")
    return obj


def new_object(record, object_type, raw, key_format, algorithm=None, length=None, curve=None, names=(),
               usage_mask=None, other=(), **kind):
    """Add a PreActive object (every new object is, on OKMS) and return it."""
    now = time.time()
    seconds = int(now)
    obj = {
        "id": str(uuid.uuid4()), "objectType": object_type, "state": "PRE_ACTIVE",
        "algorithm": algorithm, "length": length, "curve": curve, "format": key_format, "material": b64(raw),
        "usageMask": usage_mask, "names": [dict(n) for n in names],
        "dates": {INITIAL: seconds, LAST_CHANGE: seconds, ORIGINAL_CREATION: seconds}, "created": now,
        "revocation": None, "certificateType": kind.get("certificate_type"),
        "secretDataType": kind.get("secret_data_type"), "opaqueType": kind.get("opaque_type"),
        "other": list(other),
    }
    objects_of(record)[obj["id"]] = obj
    return obj


def _changed(obj, now, *dates):
    for date in dates:
        obj["dates"][date] = now
    obj["dates"][LAST_CHANGE] = now


def _describe(obj):
    return f"object {obj['id']} is {title(obj['state'])}"


def activate(obj, now=None):
    """PreActive -> Active. A second Activate fails, as on OKMS."""
    if obj["state"] != "PRE_ACTIVE":
        raise KmipError("PERMISSION_DENIED", f"{_describe(obj)}: only a PreActive object can be activated")
    obj["state"] = "ACTIVE"
    _changed(obj, int(now or time.time()), ACTIVATION)


def revoke(obj, code, message=None, occurred=None, now=None):
    """Compromise reasons: -> Compromised (from any live state). Others: PreActive or Active -> Deactivated.

    A second Revoke fails, as on OKMS.
    """
    now = int(now or time.time())
    if code in COMPROMISE_CODES:
        if obj["state"] not in ("PRE_ACTIVE", "ACTIVE", "DEACTIVATED"):
            raise KmipError("PERMISSION_DENIED", f"{_describe(obj)}: it cannot be revoked again")
        obj["state"] = "COMPROMISED"
        obj["dates"][COMPROMISE_OCCURRENCE] = int(occurred) if occurred is not None else now
        _changed(obj, now, COMPROMISE)
    else:
        if obj["state"] not in ("PRE_ACTIVE", "ACTIVE"):
            raise KmipError("PERMISSION_DENIED", f"{_describe(obj)}: only a PreActive or Active object can be "
                                                 "revoked (a compromised one only for a compromise)")
        obj["state"] = "DEACTIVATED"
        _changed(obj, now, DEACTIVATION)
    obj["revocation"] = {"code": code, "message": message}


def destroy(obj, now=None):
    """PreActive or revoked -> Destroyed: the key material is wiped, the attributes stay."""
    if obj["state"] not in ("PRE_ACTIVE", "DEACTIVATED", "COMPROMISED"):
        raise KmipError("PERMISSION_DENIED", f"{_describe(obj)}: only a PreActive or revoked object can be "
                                             "destroyed (revoke it first)")
    obj["state"] = "DESTROYED_COMPROMISED" if obj["state"] == "COMPROMISED" else "DESTROYED"
    obj["material"] = None
    _changed(obj, int(now or time.time()), DESTROY)


def locate(record, matches):
    """The ids of the objects ``matches(obj)`` accepts, most recent first; destroyed objects never."""
    found = [obj for obj in record.get(OBJECTS, {}).values()
             if obj["state"] not in DESTROYED_STATES and matches(obj)]
    return [obj["id"] for obj in sorted(found, key=lambda o: (-o["created"], o["id"]))]


def usable(obj, usage, states):
    """Refuse to use ``obj`` for ``usage`` (a USAGE name) unless its state and usage mask allow it."""
    if obj["state"] in DESTROYED_STATES or obj["material"] is None:
        raise KmipError("PERMISSION_DENIED", f"{_describe(obj)}: its key material is gone")
    if obj["state"] not in states:
        raise KmipError("PERMISSION_DENIED", f"{_describe(obj)}: {usage.lower()} needs an object in state "
                                             f"{' or '.join(title(s) for s in states)}")
    mask = obj.get("usageMask")
    if mask and not mask & USAGE[usage]:
        raise KmipError("PERMISSION_DENIED", f"the Cryptographic Usage Mask of object {obj['id']} does not "
                                             f"allow {title(usage)}")


def readable(obj):
    """Refuse Get of an object without key material (destroyed)."""
    if obj["material"] is None:
        raise KmipError("ITEM_NOT_FOUND", f"{_describe(obj)}: its key material is gone")


# --- new key material ---------------------------------------------------------------

def symmetric_key(algorithm, length):
    """Random key material for Create: AES 128, 192 or 256 bits."""
    if algorithm != "AES":
        raise KmipError("INVALID_FIELD", f"Create makes AES keys only (Cryptographic Algorithm {algorithm})")
    if length not in AES_LENGTHS:
        raise KmipError("INVALID_FIELD", f"Cryptographic Length {length} is not allowed for AES: "
                                         f"{', '.join(map(str, AES_LENGTHS))}")
    return os.urandom(length // 8)


def key_pair(algorithm, length):
    """(private, public) key descriptions for Create Key Pair: RSA 2048/3072/4096, EC/ECDSA P-256/384/521.

    The curve of an EC pair comes from its Cryptographic Length (PyKMIP, the codec, cannot
    read Cryptographic Domain Parameters). Each description: raw DER, format, algorithm, length, curve.
    """
    if algorithm == "RSA":
        if length not in RSA_LENGTHS:
            raise KmipError("INVALID_FIELD", f"Cryptographic Length {length} is not allowed for RSA: "
                                             f"{', '.join(map(str, RSA_LENGTHS))}")
        private = rsa.generate_private_key(public_exponent=65537, key_size=length)
        return (_private_description(private, "PKCS_1", algorithm),
                _public_description(private.public_key(), "PKCS_1", algorithm))
    if algorithm in EC_ALGORITHMS:
        if length not in EC_CURVES:
            raise KmipError("INVALID_FIELD", f"Cryptographic Length {length} is not allowed for {algorithm}: "
                                             "256 (P-256), 384 (P-384) or 521 (P-521)")
        private = ec.generate_private_key(EC_CURVES[length][1]())
        return (_private_description(private, "PKCS_8", algorithm),
                _public_description(private.public_key(), "X_509", algorithm))
    raise KmipError("INVALID_FIELD", f"Create Key Pair makes RSA, EC or ECDSA keys only "
                                     f"(Cryptographic Algorithm {algorithm})")


_PRIVATE_FORMATS = {"PKCS_1": serialization.PrivateFormat.TraditionalOpenSSL,
                    "EC_PRIVATE_KEY": serialization.PrivateFormat.TraditionalOpenSSL,
                    "PKCS_8": serialization.PrivateFormat.PKCS8}
_PUBLIC_FORMATS = {"PKCS_1": serialization.PublicFormat.PKCS1,
                   "X_509": serialization.PublicFormat.SubjectPublicKeyInfo}


def _key_facts(key, algorithm=None):
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "RSA", key.key_size, None
    size = _CURVE_BY_NAME.get(key.curve.name)
    if size is None:
        raise KmipError("INVALID_FIELD", f"elliptic curve {key.curve.name} is not supported (P-256, P-384, P-521)")
    return (algorithm if algorithm in EC_ALGORITHMS else "EC"), size, EC_CURVES[size][0]


def _private_description(key, key_format, algorithm=None):
    raw = key.private_bytes(serialization.Encoding.DER, _PRIVATE_FORMATS[key_format], serialization.NoEncryption())
    algorithm, length, curve = _key_facts(key, algorithm)
    return {"raw": raw, "format": key_format, "algorithm": algorithm, "length": length, "curve": curve}


def _public_description(key, key_format, algorithm=None):
    raw = key.public_bytes(serialization.Encoding.DER, _PUBLIC_FORMATS[key_format])
    algorithm, length, curve = _key_facts(key, algorithm)
    return {"raw": raw, "format": key_format, "algorithm": algorithm, "length": length, "curve": curve}


def _load_private(raw):
    try:
        key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError):
        raise KmipError("INVALID_FIELD", "the private key is not a DER PKCS#1, PKCS#8 or SEC1 key") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise KmipError("INVALID_FIELD", "only RSA and EC private keys are supported")
    return key


def _load_public(raw):
    try:
        key = serialization.load_der_public_key(raw)
    except (ValueError, TypeError):
        raise KmipError("INVALID_FIELD", "the public key is not a DER PKCS#1 or X.509 public key") from None
    if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise KmipError("INVALID_FIELD", "only RSA and EC public keys are supported")
    return key


def registered(object_type, raw, key_format, algorithm=None, length=None):
    """Check the material of a Register and describe it: format, algorithm, length, curve (derived for keys)."""
    if object_type == "SYMMETRIC_KEY":
        if key_format != "RAW":
            raise KmipError("KEY_FORMAT_TYPE_NOT_SUPPORTED", f"a symmetric key is registered as Raw, not {key_format}")
        if algorithm is None:
            raise KmipError("INVALID_FIELD", "a symmetric key needs its Cryptographic Algorithm")
        if length is not None and length != len(raw) * 8:
            raise KmipError("INVALID_FIELD", f"Cryptographic Length {length} does not match the key "
                                             f"({len(raw) * 8} bits)")
        if algorithm == "AES" and len(raw) * 8 not in AES_LENGTHS:
            raise KmipError("INVALID_FIELD", f"an AES key has 128, 192 or 256 bits, not {len(raw) * 8}")
        return {"raw": raw, "format": key_format, "algorithm": algorithm, "length": len(raw) * 8, "curve": None}
    if object_type == "PRIVATE_KEY":
        if key_format not in _PRIVATE_FORMATS:
            raise KmipError("KEY_FORMAT_TYPE_NOT_SUPPORTED", f"a private key is registered as PKCS_1, PKCS_8 or "
                                                             f"EC_PRIVATE_KEY, not {key_format}")
        return _matching({**_private_description(_load_private(raw), key_format, algorithm), "raw": raw},
                         algorithm, length)
    if object_type == "PUBLIC_KEY":
        if key_format not in _PUBLIC_FORMATS:
            raise KmipError("KEY_FORMAT_TYPE_NOT_SUPPORTED", f"a public key is registered as PKCS_1 or X_509, "
                                                             f"not {key_format}")
        return _matching({**_public_description(_load_public(raw), key_format, algorithm), "raw": raw},
                         algorithm, length)
    if object_type == "CERTIFICATE":
        try:
            x509.load_der_x509_certificate(raw)
        except ValueError:
            raise KmipError("INVALID_FIELD", "the certificate is not a DER X.509 certificate") from None
        return {"raw": raw, "format": None, "algorithm": None, "length": None, "curve": None}
    if object_type in ("SECRET_DATA", "OPAQUE_DATA"):
        if not raw:
            raise KmipError("INVALID_FIELD", "the object holds no data")
        return {"raw": raw, "format": key_format, "algorithm": algorithm, "length": length, "curve": None}
    raise KmipError("INVALID_FIELD", f"{title(object_type)} objects are not supported: Register takes symmetric "
                                     "keys, public and private keys, certificates, secret data and opaque objects")


def _matching(description, algorithm, length):
    """Refuse a key whose stated algorithm or length is not what its material is."""
    family = {"RSA": "RSA", "EC": "EC", "ECDSA": "EC"}
    if algorithm is not None and family.get(algorithm) != family[description["algorithm"]]:
        raise KmipError("INVALID_FIELD", f"Cryptographic Algorithm {algorithm} does not match the key "
                                         f"({description['algorithm']})")
    if length is not None and length != description["length"]:
        raise KmipError("INVALID_FIELD", f"Cryptographic Length {length} does not match the key "
                                         f"({description['length']} bits)")
    return description


def exported(obj, key_format=None):
    """The key material of ``obj`` in ``key_format`` (None: as stored) for Get."""
    raw = material(obj)
    if key_format is None or key_format == obj["format"]:
        return raw
    if obj["objectType"] == "PRIVATE_KEY" and key_format in _PRIVATE_FORMATS:
        key = _load_private(raw)
        fits = {"PKCS_8": True, "PKCS_1": isinstance(key, rsa.RSAPrivateKey),
                "EC_PRIVATE_KEY": isinstance(key, ec.EllipticCurvePrivateKey)}[key_format]
        if fits:
            return key.private_bytes(serialization.Encoding.DER, _PRIVATE_FORMATS[key_format],
                                     serialization.NoEncryption())
    if obj["objectType"] == "PUBLIC_KEY" and key_format in _PUBLIC_FORMATS:
        key = _load_public(raw)
        if key_format == "X_509" or isinstance(key, rsa.RSAPublicKey):
            return key.public_bytes(serialization.Encoding.DER, _PUBLIC_FORMATS[key_format])
    raise KmipError("KEY_FORMAT_TYPE_NOT_SUPPORTED", f"object {obj['id']} is kept as {obj['format']} and cannot "
                                                     f"be returned as {key_format}")


# --- encryption (AES) ------------------------------------------------------------------

_MODES = ("CBC", "ECB", "CTR", "GCM")
_IV_BYTES = {"CBC": 16, "CTR": 16, "GCM": 12}


def _cipher_setup(obj, params, iv, encrypting):
    if obj["objectType"] != "SYMMETRIC_KEY" or obj["algorithm"] != "AES":
        raise KmipError("INVALID_FIELD", f"object {obj['id']} is not an AES key: Encrypt and Decrypt use AES keys")
    wanted = params.get("cryptographic_algorithm")
    if wanted not in (None, "AES"):
        raise KmipError("INVALID_FIELD", f"Cryptographic Algorithm {wanted} does not match AES key {obj['id']}")
    mode = params.get("block_cipher_mode") or "CBC"
    if mode not in _MODES:
        raise KmipError("INVALID_FIELD", f"Block Cipher Mode {mode} is not supported: {', '.join(_MODES)}")
    default_padding = "PKCS5" if mode in ("CBC", "ECB") else "NONE"
    pad = params.get("padding_method") or default_padding
    if pad not in ("NONE", "PKCS5") or (pad == "PKCS5" and mode not in ("CBC", "ECB")):
        raise KmipError("INVALID_FIELD", f"Padding Method {pad} is not supported with {mode} "
                                         f"(CBC and ECB: PKCS5 or None; CTR and GCM: None)")
    if mode == "ECB":
        if iv:
            raise KmipError("INVALID_FIELD", "ECB takes no IV/Counter/Nonce")
        return mode, pad, None, False
    generated = False
    if not iv:
        if not encrypting:
            raise KmipError("INVALID_FIELD", f"Decrypt with {mode} needs the IV/Counter/Nonce")
        size = (params.get("iv_length") or _IV_BYTES[mode] * 8) // 8
        iv, generated = os.urandom(size), True
    elif params.get("random_iv") and encrypting:
        raise KmipError("INVALID_FIELD", "an IV/Counter/Nonce was sent while Random IV is true")
    if mode in ("CBC", "CTR") and len(iv) != 16:
        raise KmipError("INVALID_FIELD", f"the IV/Counter/Nonce of {mode} has 16 bytes, not {len(iv)}")
    if mode == "GCM" and not 8 <= len(iv) <= 128:
        raise KmipError("INVALID_FIELD", f"the GCM nonce has 8 to 128 bytes, not {len(iv)}")
    return mode, pad, iv, generated


def _tag_length(params):
    length = params.get("tag_length") or 16
    if not 12 <= length <= 16:
        raise KmipError("INVALID_FIELD", f"Tag Length {length} is not supported: 12 to 16 bytes")
    return length


def encrypt(obj, params, data, iv=None, aad=None):
    """(ciphertext, the IV when the server made it, the GCM tag or None)."""
    usable(obj, "ENCRYPT", PROTECT_STATES)
    mode, pad, iv, generated = _cipher_setup(obj, params, iv, encrypting=True)
    key = material(obj)
    if pad == "PKCS5":
        padder = padding.PKCS7(128).padder()
        data = padder.update(data) + padder.finalize()
    elif mode in ("CBC", "ECB") and len(data) % 16:
        raise KmipError("INVALID_FIELD", f"without padding, {mode} encrypts whole 16-byte blocks "
                                         f"({len(data)} bytes sent)")
    tag = None
    if mode == "GCM":
        encryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
        if aad:
            encryptor.authenticate_additional_data(aad)
        out = encryptor.update(data) + encryptor.finalize()
        tag = encryptor.tag[:_tag_length(params)]
    else:
        cipher_mode = {"CBC": lambda: modes.CBC(iv), "ECB": modes.ECB, "CTR": lambda: modes.CTR(iv)}[mode]()
        encryptor = Cipher(algorithms.AES(key), cipher_mode).encryptor()
        out = encryptor.update(data) + encryptor.finalize()
    return out, (iv if generated else None), tag


def decrypt(obj, params, data, iv=None, aad=None, tag=None):
    """The plaintext. For GCM, ``tag`` None reads the tag at the end of ``data``."""
    usable(obj, "DECRYPT", PROCESS_STATES)
    mode, pad, iv, _ = _cipher_setup(obj, params, iv, encrypting=False)
    key = material(obj)
    try:
        if mode == "GCM":
            if tag is None:
                length = _tag_length(params)
                if len(data) < length:
                    raise KmipError("CRYPTOGRAPHIC_FAILURE", "the data is shorter than the GCM tag")
                data, tag = data[:-length], data[-length:]
            decryptor = Cipher(algorithms.AES(key), modes.GCM(iv, tag, min_tag_length=len(tag))).decryptor()
            if aad:
                decryptor.authenticate_additional_data(aad)
            return decryptor.update(data) + decryptor.finalize()
        if mode in ("CBC", "ECB") and len(data) % 16:
            raise KmipError("CRYPTOGRAPHIC_FAILURE", f"{mode} ciphertext is whole 16-byte blocks ({len(data)} bytes)")
        cipher_mode = {"CBC": lambda: modes.CBC(iv), "ECB": modes.ECB, "CTR": lambda: modes.CTR(iv)}[mode]()
        decryptor = Cipher(algorithms.AES(key), cipher_mode).decryptor()
        out = decryptor.update(data) + decryptor.finalize()
        if pad == "PKCS5":
            unpadder = padding.PKCS7(128).unpadder()
            out = unpadder.update(out) + unpadder.finalize()
        return out
    except InvalidTag:
        raise KmipError("CRYPTOGRAPHIC_FAILURE", "decryption failed: the GCM tag does not match") from None
    except ValueError:
        raise KmipError("CRYPTOGRAPHIC_FAILURE", "decryption failed: bad padding (wrong key or IV?)") from None


# --- signatures (RSA, ECDSA) -------------------------------------------------------------

_HASHES = {"SHA_1": hashes.SHA1, "SHA_224": hashes.SHA224, "SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384,
           "SHA_512": hashes.SHA512}
_SIGNATURE_ALGORITHMS = {
    "SHA1_WITH_RSA_ENCRYPTION": ("RSA", "SHA_1", "PKCS1v15"),
    "SHA224_WITH_RSA_ENCRYPTION": ("RSA", "SHA_224", "PKCS1v15"),
    "SHA256_WITH_RSA_ENCRYPTION": ("RSA", "SHA_256", "PKCS1v15"),
    "SHA384_WITH_RSA_ENCRYPTION": ("RSA", "SHA_384", "PKCS1v15"),
    "SHA512_WITH_RSA_ENCRYPTION": ("RSA", "SHA_512", "PKCS1v15"),
    "RSASSA_PSS": ("RSA", None, "PSS"),
    "ECDSA_WITH_SHA1": ("EC", "SHA_1", None), "ECDSA_WITH_SHA224": ("EC", "SHA_224", None),
    "ECDSA_WITH_SHA256": ("EC", "SHA_256", None), "ECDSA_WITH_SHA384": ("EC", "SHA_384", None),
    "ECDSA_WITH_SHA512": ("EC", "SHA_512", None),
}
_EC_DEFAULT_HASH = {"P_256": "SHA_256", "P_384": "SHA_384", "P_521": "SHA_512"}


def _signature_scheme(obj, key, params):
    """(hash algorithm instance, RSA padding or None for ECDSA) from the Cryptographic Parameters."""
    family = "RSA" if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)) else "EC"
    named = params.get("digital_signature_algorithm")
    hash_name, pad = params.get("hashing_algorithm"), params.get("padding_method")
    if named is not None:
        if named not in _SIGNATURE_ALGORITHMS:
            raise KmipError("INVALID_FIELD", f"Digital Signature Algorithm {named} is not supported: "
                                             f"{', '.join(_SIGNATURE_ALGORITHMS)}")
        wanted, named_hash, pad = _SIGNATURE_ALGORITHMS[named]
        hash_name = named_hash or hash_name
        if wanted != family:
            raise KmipError("INVALID_FIELD", f"Digital Signature Algorithm {named} does not fit the "
                                             f"{family} key {obj['id']}")
    algorithm = params.get("cryptographic_algorithm")
    if algorithm is not None and ("RSA" if algorithm == "RSA" else "EC") != family:
        raise KmipError("INVALID_FIELD", f"Cryptographic Algorithm {algorithm} does not fit the {family} key "
                                         f"{obj['id']}")
    if hash_name is None:
        hash_name = "SHA_256" if family == "RSA" else _EC_DEFAULT_HASH.get(_curve_of(key), "SHA_256")
    if hash_name not in _HASHES:
        raise KmipError("INVALID_FIELD", f"Hashing Algorithm {hash_name} is not supported: {', '.join(_HASHES)}")
    digest = _HASHES[hash_name]()
    if family == "EC":
        if pad not in (None, "NONE"):
            raise KmipError("INVALID_FIELD", f"Padding Method {pad} does not apply to ECDSA")
        return digest, None
    pad = pad or "PKCS1v15"
    if pad == "PKCS1v15":
        return digest, asym_padding.PKCS1v15()
    if pad == "PSS":
        return digest, asym_padding.PSS(mgf=asym_padding.MGF1(digest), salt_length=digest.digest_size)
    raise KmipError("INVALID_FIELD", f"Padding Method {pad} is not supported for RSA signatures: PKCS1v15, PSS")


def _curve_of(key):
    size = _CURVE_BY_NAME.get(key.curve.name)
    return EC_CURVES[size][0] if size else None


def sign(obj, params, data):
    if obj["objectType"] != "PRIVATE_KEY":
        raise KmipError("INVALID_FIELD", f"object {obj['id']} is not a private key: Sign uses private keys")
    usable(obj, "SIGN", PROTECT_STATES)
    key = _load_private(material(obj))
    digest, pad = _signature_scheme(obj, key, params)
    if pad is None:
        return key.sign(data, ec.ECDSA(digest))
    return key.sign(data, pad, digest)


def verify(obj, params, signature, data=None, digested=None):
    """Whether ``signature`` is valid for ``data`` (or for the already hashed ``digested``)."""
    if obj["objectType"] == "PUBLIC_KEY":
        usable(obj, "VERIFY", PROCESS_STATES)
        key = _load_public(material(obj))
    elif obj["objectType"] == "PRIVATE_KEY":
        usable(obj, "VERIFY", PROCESS_STATES)
        key = _load_private(material(obj)).public_key()
    elif obj["objectType"] == "CERTIFICATE":
        usable(obj, "VERIFY", PROCESS_STATES)
        key = x509.load_der_x509_certificate(material(obj)).public_key()
    else:
        raise KmipError("INVALID_FIELD", f"object {obj['id']} is not a public key, private key or certificate")
    digest, pad = _signature_scheme(obj, key, params)
    algorithm = digest
    if digested is not None:
        data, algorithm = digested, asym_utils.Prehashed(digest)
    if data is None:
        raise KmipError("MISSING_DATA", "Signature Verify needs Data or Digested Data")
    try:
        if pad is None:
            key.verify(signature, data, ec.ECDSA(algorithm))
        else:
            key.verify(signature, data, pad, algorithm)
    except (InvalidSignature, ValueError):
        return False
    return True
