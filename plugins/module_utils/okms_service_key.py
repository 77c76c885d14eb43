# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""OKMS service keys: the API's validation rules, JWK conversion and the returned shape.

Shared by ``okms_service_key`` and ``okms_service_key_info``. Everything here is
pure (no API call, no module object) so the rules can be unit-tested and a bad
request fails before anything is sent; the API calls are in
``okms_service_key_api``.

Error messages name options and JWK members, never the value of a secret
member (``k``, ``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import re

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.ovhcloud.kms.plugins.module_utils.cryptography_dependency import (
    HAS_CRYPTOGRAPHY,
    UnsupportedAlgorithm,
    ec,
    rsa,
    serialization,
)

KEY_TYPES = ("oct", "RSA", "EC")
OPERATIONS = ("encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey")
SIZES_BY_TYPE = {"oct": (128, 192, 256), "RSA": (2048, 3072, 4096)}
CURVES = ("P-256", "P-384", "P-521")
# Length of an EC key's x, y and d members.
CURVE_BYTES = {"P-256": 32, "P-384": 48, "P-521": 66}
OPERATION_SETS_BY_TYPE = {
    "oct": (("encrypt", "decrypt"), ("wrapKey", "unwrapKey")),
    "RSA": (("sign", "verify"),),
    "EC": (("sign", "verify"),),
}
# The API's reference (GET /v2/okms/reference/serviceKey) marks these as the defaults.
DEFAULT_SIZE = {"oct": 256, "RSA": 2048}
DEFAULT_CURVE = "P-256"
DEFAULT_OPERATIONS = {"oct": ["encrypt", "decrypt"], "RSA": ["sign", "verify"], "EC": ["sign", "verify"]}
NAME_MAX_LENGTH = 32
# The data-plane API's limit; the v2 API has a ContextMaxExceeded error but publishes no figure.
CONTEXT_MAX_LENGTH = 64

DESTROYED_STATES = ("DESTROYED", "DESTROYED_COMPROMISED")
DEACTIVATION_REASONS = ("UNSPECIFIED", "KEY_COMPROMISE", "CA_COMPROMISE", "AFFILIATION_CHANGED",
                        "SUPERSEDED", "CESSATION_OF_OPERATION", "PRIVILEGE_WITHDRAWN")
COMPROMISE_REASONS = ("KEY_COMPROMISE", "CA_COMPROMISE")

JWK_MEMBERS_BY_TYPE = {
    "oct": ("k",),
    "RSA": ("n", "e", "d", "p", "q", "dp", "dq", "qi"),
    "EC": ("crv", "x", "y", "d"),
}
JWK_COMMON_MEMBERS = ("kty", "kid", "key_ops", "alg", "use")
SECRET_JWK_MEMBERS = ("k", "d", "p", "q", "dp", "dq", "qi")
JWK_USE_BY_TYPE = {"oct": "enc", "RSA": "sig", "EC": "sig"}
JWK_ALGS = {"RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
            "P-256": ("ES256",), "P-384": ("ES384",), "P-521": ("ES512",)}
RAW_OCT_KEY_LENGTHS = (16, 24, 32)
BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")

# What diffs show of a key: its metadata, never key material.
DIFF_FIELDS = ("id", "name", "type", "size", "curve", "operations", "state")


class ServiceKeyValidationError(Exception):
    """A request the API would refuse, found before any API call."""


def _join(values):
    return ", ".join(str(value) for value in values)


def _operation_sets_text(key_type):
    return " or ".join("[%s]" % _join(ops) for ops in OPERATION_SETS_BY_TYPE[key_type])


# --- names, context, operations ------------------------------------------------

def validate_name(name, option="name"):
    if name is None or name == "":
        raise ServiceKeyValidationError("%s is required: 1 to %d printable characters" % (option, NAME_MAX_LENGTH))
    if len(name) > NAME_MAX_LENGTH:
        raise ServiceKeyValidationError("%s is %d characters long; at most %d are allowed"
                                        % (option, len(name), NAME_MAX_LENGTH))
    if not name.isprintable():
        raise ServiceKeyValidationError("%s must contain only printable characters" % option)


def validate_context(context):
    if context is None:
        return
    if not context.isprintable():
        raise ServiceKeyValidationError("context must contain only printable characters")
    if len(context) > CONTEXT_MAX_LENGTH:
        raise ServiceKeyValidationError("context is %d characters long; at most %d are allowed"
                                        % (len(context), CONTEXT_MAX_LENGTH))


def validate_operations(operations, key_type, option="operations"):
    """Return ``operations`` in canonical order, or raise naming the allowed sets for the type."""
    unknown = [op for op in operations if op not in OPERATIONS]
    if unknown:
        raise ServiceKeyValidationError("%s: unknown operation(s) %s; allowed values are %s"
                                        % (option, _join(unknown), _join(OPERATIONS)))
    if len(set(operations)) != len(operations):
        raise ServiceKeyValidationError("%s lists an operation twice: %s" % (option, _join(operations)))
    if set(operations) not in [set(ops) for ops in OPERATION_SETS_BY_TYPE[key_type]]:
        raise ServiceKeyValidationError("%s for an %s key must be %s; got [%s]"
                                        % (option, key_type, _operation_sets_text(key_type), _join(operations)))
    # Canonical order, so comparisons never depend on the order the user wrote.
    return [op for op in OPERATIONS if op in operations]


# --- generated keys ---------------------------------------------------------------

def resolve_key_spec(key_type, size=None, curve=None, operations=None):
    """Validate a generation request and fill in the defaults.

    Returns ``{type, size, curve, operations}`` as the API will report them:
    an EC key has a curve and no size (None), as OVHcloud returns it.
    """
    if key_type not in KEY_TYPES:
        raise ServiceKeyValidationError("type must be one of %s; got %s" % (_join(KEY_TYPES), key_type))
    if key_type == "EC":
        if size is not None:
            raise ServiceKeyValidationError(
                "size does not apply to EC keys: an EC key has only a curve (one of %s); remove size"
                % _join(CURVES))
        curve = curve or DEFAULT_CURVE
        if curve not in CURVES:
            raise ServiceKeyValidationError("curve must be one of %s; got %s" % (_join(CURVES), curve))
    else:
        if curve is not None:
            raise ServiceKeyValidationError("curve applies only to EC keys, not to %s keys (remove curve)" % key_type)
        allowed = SIZES_BY_TYPE[key_type]
        size = DEFAULT_SIZE[key_type] if size is None else size
        if size not in allowed:
            raise ServiceKeyValidationError("size for an %s key must be one of %s; got %s"
                                            % (key_type, _join(allowed), size))
    operations = DEFAULT_OPERATIONS[key_type] if operations is None else operations
    return {"type": key_type, "size": size, "curve": curve,
            "operations": validate_operations(operations, key_type)}


def creation_body(name, spec, context=None):
    body = {"name": name, "type": spec["type"], "operations": spec["operations"]}
    if spec["type"] == "EC":
        body["curve"] = spec["curve"]
    else:
        body["size"] = spec["size"]
    if context is not None:
        body["context"] = context
    return body


def import_body(name, jwk, context=None):
    body = {"name": name, "keys": [jwk]}
    if context is not None:
        body["context"] = context
    return body


# --- lifecycle ---------------------------------------------------------------------

def normalize_deactivation_reason(reason):
    """The API's reason enum from any case (``key_compromise`` -> ``KEY_COMPROMISE``)."""
    if reason is None:
        return None
    upper = reason.upper()
    if upper not in DEACTIVATION_REASONS:
        raise ServiceKeyValidationError("deactivation_reason must be one of %s (lower or upper case); got %s"
                                        % (_join(r.lower() for r in DEACTIVATION_REASONS), reason))
    return upper


def resolve_state_update(key_state, reason):
    """The PUT body moving a key to ``key_state`` (``active``, ``deactivated``, ``compromised``).

    ``reason`` is already normalized. Deactivating without a reason uses
    UNSPECIFIED; compromising without one uses KEY_COMPROMISE.
    """
    if key_state == "active":
        if reason is not None:
            raise ServiceKeyValidationError("deactivation_reason applies only with key_state deactivated or "
                                            "compromised (or state absent with force), not active")
        return {"state": "ACTIVE"}
    if key_state == "deactivated":
        if reason in COMPROMISE_REASONS:
            # The API would store COMPROMISED: say so instead of reporting a different state than asked.
            raise ServiceKeyValidationError("deactivation_reason %s marks the key compromised: use "
                                            "key_state compromised" % reason.lower())
        return {"state": "DEACTIVATED", "deactivationReason": reason or "UNSPECIFIED"}
    if key_state == "compromised":
        if reason is not None and reason not in COMPROMISE_REASONS:
            raise ServiceKeyValidationError("deactivation_reason for key_state compromised must be one of %s; got %s"
                                            % (_join(r.lower() for r in COMPROMISE_REASONS), reason.lower()))
        return {"state": "COMPROMISED", "deactivationReason": reason or "KEY_COMPROMISE"}
    raise ServiceKeyValidationError("key_state must be one of active, deactivated, compromised; got %s" % key_state)


def state_transition_refusal(current_state, target_state):
    """Why the API would refuse moving a key from ``current_state`` to ``target_state``, or None."""
    if current_state in DESTROYED_STATES:
        return "the key is %s and can no longer change state" % current_state
    if current_state == "COMPROMISED" and target_state == "DEACTIVATED":
        return ("a COMPROMISED key cannot be moved to DEACTIVATED (a compromise is never downgraded): "
                "use key_state compromised, or active to reactivate it")
    return None


# --- immutable attributes ----------------------------------------------------------

def immutable_differences(wanted, existing):
    """``[(attribute, wanted, existing)]`` for type, size, curve and operations.

    An EC key is compared on its curve only: the API reports no size for it.
    """
    differences = []
    for attribute in ("type", "size", "curve", "operations"):
        if attribute not in wanted:
            continue
        if attribute == "size" and wanted.get("type") == "EC":
            continue
        want, have = wanted[attribute], existing.get(attribute)
        if attribute == "operations":
            if sorted(want or []) != sorted(have or []):
                differences.append((attribute, want, have))
        elif want != have:
            differences.append((attribute, want, have))
    return differences


def immutable_differences_message(name, differences):
    details = "; ".join("%s is %s, the task asks for %s" % (attribute, _format(have), _format(want))
                        for attribute, want, have in differences)
    return ("service key %s cannot be changed in place (%s). type, size, curve and operations are fixed when "
            "a key is created; this module never replaces a key: create a key with another name and move "
            "your data to it, or delete this one explicitly" % (name, details))


def _format(value):
    if isinstance(value, list):
        return "[%s]" % _join(value)
    return str(value)


# --- returned shape ------------------------------------------------------------------

def service_key_to_result(api_key):
    """The key as both modules return it: the API's key in snake_case, IAM tag names (``ovh:type``) kept."""
    return camel_dict_to_snake_dict(api_key, ignore_list=["tags"])


def service_key_to_diff(api_key):
    """What diffs show: the key's metadata, never its material (an EC key's size is None, as the API says)."""
    if not api_key:
        return {}
    metadata = dict((field, api_key.get(field)) for field in DIFF_FIELDS)
    metadata["operations"] = list(metadata["operations"] or [])
    return metadata


# --- JWK ------------------------------------------------------------------------------

def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    # Strict: the standard decoder silently skips characters outside the alphabet.
    if not isinstance(text, str) or not BASE64URL.match(text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url")


def _int_to_b64url(value, length=None):
    length = length or max(1, (value.bit_length() + 7) // 8)
    return b64url_encode(value.to_bytes(length, "big"))


def _decode_member(jwk, member, option):
    try:
        return b64url_decode(jwk[member])
    except ValueError:
        # Never echo the value: it may be a private member.
        raise ServiceKeyValidationError("%s.%s must be base64url-encoded" % (option, member))


def normalize_jwk(jwk, operations=None, kid=None, option="jwk"):
    """Validate a private JWK for import; return ``(jwk, spec)``.

    ``jwk`` may hold None for absent members (module suboptions). ``key_ops``
    comes from the JWK, else ``operations``, else the type's default; both
    given must agree. ``kid`` is required by the API (which then uses the key
    id instead); ``kid`` fills it when the JWK has none. ``spec`` is the
    ``{type, size, curve, operations}`` the API will derive.
    """
    jwk = dict((member, value) for member, value in jwk.items() if value is not None)
    key_type = jwk.get("kty")
    if key_type not in KEY_TYPES:
        raise ServiceKeyValidationError("%s.kty must be one of %s" % (option, _join(KEY_TYPES)))
    allowed_members = JWK_COMMON_MEMBERS + JWK_MEMBERS_BY_TYPE[key_type]
    foreign = sorted(member for member in jwk if member not in allowed_members)
    if foreign:
        raise ServiceKeyValidationError("%s member(s) %s do not apply to %s keys (an %s JWK has %s)"
                                        % (option, _join(foreign), key_type, key_type,
                                           _join(JWK_MEMBERS_BY_TYPE[key_type])))
    missing = [member for member in JWK_MEMBERS_BY_TYPE[key_type] if member not in jwk]
    if missing:
        raise ServiceKeyValidationError("%s is missing %s: an %s private key needs %s (a public key cannot be "
                                        "imported)" % (option, _join(missing), key_type,
                                                       _join(JWK_MEMBERS_BY_TYPE[key_type])))
    size, curve = _check_jwk_material(jwk, key_type, option)

    jwk_ops = jwk.get("key_ops")
    if jwk_ops is not None and operations is not None and sorted(jwk_ops) != sorted(operations):
        raise ServiceKeyValidationError("operations [%s] and %s.key_ops [%s] disagree: give one of them"
                                        % (_join(operations), option, _join(jwk_ops)))
    if jwk_ops is not None:
        jwk["key_ops"] = validate_operations(jwk_ops, key_type, option="%s.key_ops" % option)
    else:
        jwk["key_ops"] = validate_operations(
            DEFAULT_OPERATIONS[key_type] if operations is None else operations, key_type)
    if "use" in jwk and jwk["use"] != JWK_USE_BY_TYPE[key_type]:
        raise ServiceKeyValidationError("%s.use must be %s for an %s key; got %s"
                                        % (option, JWK_USE_BY_TYPE[key_type], key_type, jwk["use"]))
    if "alg" in jwk:
        algs = JWK_ALGS.get(curve or key_type, ())
        if jwk["alg"] not in algs:
            raise ServiceKeyValidationError("%s.alg for this %s key must be one of %s; got %s"
                                            % (option, curve or key_type, _join(algs) or "(none: omit alg)",
                                               jwk["alg"]))
    if not jwk.get("kid"):
        jwk["kid"] = kid or "imported"
    return jwk, {"type": key_type, "size": size, "curve": curve, "operations": jwk["key_ops"]}


def _check_jwk_material(jwk, key_type, option):
    """Sizes and curves the API accepts; returns ``(size, curve)`` as the API reports them (EC: no size)."""
    for member in JWK_MEMBERS_BY_TYPE[key_type]:
        if member != "crv":
            _decode_member(jwk, member, option)
    if key_type == "oct":
        length = len(_decode_member(jwk, "k", option))
        if length not in RAW_OCT_KEY_LENGTHS:
            raise ServiceKeyValidationError("%s.k must be 16, 24 or 32 bytes (128, 192 or 256 bits); got %d bytes"
                                            % (option, length))
        return length * 8, None
    if key_type == "RSA":
        bits = int.from_bytes(_decode_member(jwk, "n", option), "big").bit_length()
        if bits not in SIZES_BY_TYPE["RSA"]:
            raise ServiceKeyValidationError("%s.n: the RSA modulus must be %s bits; got %d bits"
                                            % (option, _join(SIZES_BY_TYPE["RSA"]), bits))
        return bits, None
    curve = jwk["crv"]
    if curve not in CURVES:
        raise ServiceKeyValidationError("%s.crv must be one of %s; got %s" % (option, _join(CURVES), curve))
    for member in ("x", "y", "d"):
        if len(_decode_member(jwk, member, option)) > CURVE_BYTES[curve]:
            raise ServiceKeyValidationError("%s.%s is too long for curve %s (at most %d bytes)"
                                            % (option, member, curve, CURVE_BYTES[curve]))
    return None, curve


_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def jwk_from_key_file(content, path="key_path"):
    """A private JWK from a key file: a PEM private key (RSA or EC), or a raw 16/24/32-byte oct key.

    PEM may be PKCS#8 (``BEGIN PRIVATE KEY``), SEC1 (``BEGIN EC PRIVATE KEY``, the form
    OVHcloud returns its generated keys in) or PKCS#1 (``BEGIN RSA PRIVATE KEY``).
    """
    if content.lstrip().startswith(b"-----BEGIN"):
        return jwk_from_pem(content, path)
    if len(content) in RAW_OCT_KEY_LENGTHS:
        return {"kty": "oct", "k": b64url_encode(content)}
    raise ServiceKeyValidationError(
        "%s must hold a PEM private key (RSA or EC) or a raw oct key of exactly 16, 24 or 32 bytes; "
        "the file is %d bytes and not PEM" % (path, len(content)))


def jwk_from_pem(content, path="key_path"):
    if not HAS_CRYPTOGRAPHY:
        raise ImportError("cryptography")
    try:
        key = serialization.load_pem_private_key(content, password=None)
    except TypeError:
        raise ServiceKeyValidationError("%s holds an encrypted private key: decrypt it first "
                                        "(the module takes no passphrase)" % path)
    except (ValueError, UnsupportedAlgorithm):
        # cryptography's message may quote the input: keep it out.
        raise ServiceKeyValidationError("%s is PEM but not an unencrypted RSA or EC private key "
                                        "(a public key or certificate cannot be imported)" % path)
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.private_numbers()
        public = numbers.public_numbers
        return {"kty": "RSA", "n": _int_to_b64url(public.n), "e": _int_to_b64url(public.e),
                "d": _int_to_b64url(numbers.d), "p": _int_to_b64url(numbers.p), "q": _int_to_b64url(numbers.q),
                "dp": _int_to_b64url(numbers.dmp1), "dq": _int_to_b64url(numbers.dmq1),
                "qi": _int_to_b64url(numbers.iqmp)}
    if isinstance(key, ec.EllipticCurvePrivateKey):
        curve = _CURVE_NAMES.get(key.curve.name)
        if curve is None:
            raise ServiceKeyValidationError("%s holds an EC key on curve %s; OKMS accepts %s"
                                            % (path, key.curve.name, _join(CURVES)))
        length = CURVE_BYTES[curve]
        numbers = key.private_numbers()
        return {"kty": "EC", "crv": curve, "x": _int_to_b64url(numbers.public_numbers.x, length),
                "y": _int_to_b64url(numbers.public_numbers.y, length),
                "d": _int_to_b64url(numbers.private_value, length)}
    raise ServiceKeyValidationError("%s holds a %s private key; OKMS imports RSA and EC keys (and raw oct keys)"
                                    % (path, type(key).__name__.lstrip("_")))


def secret_values(jwk):
    """The JWK's private member values, for the module's no_log list."""
    return [jwk[member] for member in SECRET_JWK_MEMBERS if jwk.get(member)]


def public_jwk_material(jwk):
    """The public members that identify an RSA/EC key (None for oct: nothing public to compare)."""
    # Compared as numbers: some encoders drop leading zero bytes.
    if jwk.get("kty") == "RSA":
        return {"n": _b64url_int(jwk["n"]), "e": _b64url_int(jwk["e"])}
    if jwk.get("kty") == "EC":
        return {"crv": jwk["crv"], "x": _b64url_int(jwk["x"]), "y": _b64url_int(jwk["y"])}
    return None


def _b64url_int(text):
    return int.from_bytes(b64url_decode(text), "big")
