# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Cryptography with a KMS's service keys, through its REST API (``/api/{okmsId}/v1/servicekey``).

Used by ``okms_encrypt``, ``okms_signature``, ``okms_signature_info`` and the
``okms_decrypt`` lookup. Inputs are checked here, before any request, with
messages naming the option: plaintext size, the signature algorithm against
the key's type and curve, the key's operations. Byte fields travel as
standard base64; a signature is returned as the KMS makes it (ECDSA: raw
``r||s``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import json
import re

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote  # type: ignore

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import api_action

# The KMS takes at most 4 KiB to encrypt or sign (okms-rest-api: 5464 base64 characters).
PLAINTEXT_MAX_BYTES = 4096
CONTEXT_MAX_CHARACTERS = 64

# alg: (key type, EC curve or None, hashlib name). ECDSA's curve follows its hash, as in JOSE.
SIGNATURE_ALGORITHMS = {
    "ES256": ("EC", "P-256", "sha256"),
    "ES384": ("EC", "P-384", "sha384"),
    "ES512": ("EC", "P-521", "sha512"),
    "RS256": ("RSA", None, "sha256"),
    "RS384": ("RSA", None, "sha384"),
    "RS512": ("RSA", None, "sha512"),
    "PS256": ("RSA", None, "sha256"),
    "PS384": ("RSA", None, "sha384"),
    "PS512": ("RSA", None, "sha512"),
}
EC_DEFAULT_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}

_KEY_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class KeyUsageError(ValueError):
    """An input the KMS would refuse, found before sending anything; the message names the option."""


def b64encode(data):
    return base64.b64encode(data).decode("ascii")


def b64decode(text, what):
    try:
        return base64.b64decode(text.encode("ascii") if isinstance(text, str) else text, validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise KeyUsageError("%s is not valid base64" % what)


def check_plaintext_size(data, option):
    if not data:
        raise KeyUsageError("%s is empty: the KMS encrypts 1 to %d bytes" % (option, PLAINTEXT_MAX_BYTES))
    if len(data) > PLAINTEXT_MAX_BYTES:
        raise KeyUsageError("%s is %d bytes: the KMS encrypts at most %d bytes (4 KiB); encrypt larger data "
                            "locally with a data key" % (option, len(data), PLAINTEXT_MAX_BYTES))


def check_context(context):
    if context is not None and len(context) > CONTEXT_MAX_CHARACTERS:
        raise KeyUsageError("context is %d characters: the KMS takes at most %d"
                            % (len(context), CONTEXT_MAX_CHARACTERS))


def key_label(key):
    return "service key '%s' (%s)" % (key.get("name"), key.get("id"))


def key_description(key):
    """``EC P-256``, ``RSA 3072``, ``oct 256``."""
    return "%s %s" % (key.get("type"), key.get("curve") or key.get("size"))


def algorithms_for(key):
    """The signature algorithms that fit the key, in the spec's order."""
    return [alg for alg, (kty, curve, dummy) in SIGNATURE_ALGORITHMS.items()
            if kty == key.get("type") and curve in (None, key.get("curve"))]


def signature_algorithm(key, alg):
    """``alg``, or the key's natural one when None; a KeyUsageError when it does not fit the key."""
    fitting = algorithms_for(key)
    if not fitting:
        raise KeyUsageError("%s is a %s key: only RSA and EC keys sign" % (key_label(key), key_description(key)))
    if alg is None:
        return EC_DEFAULT_ALGORITHMS.get(key.get("curve")) if key.get("type") == "EC" else "RS256"
    if alg not in fitting:
        raise KeyUsageError("alg %s does not fit %s, a %s key; use %s"
                            % (alg, key_label(key), key_description(key), ", ".join(fitting)))
    return alg


# Verifying and decrypting still work on keys taken out of service (KMIP's processing semantics).
PROCESS_STATES = ("active", "deactivated", "compromised")


def require_operation(key, operation, option_hint, states=("active",)):
    """KeyUsageError unless the key allows ``operation`` and is in one of ``states``."""
    if operation not in (key.get("operations") or []):
        raise KeyUsageError("%s does not allow %s (its operations: %s)%s"
                            % (key_label(key), operation, ", ".join(key.get("operations") or []) or "none",
                               option_hint))
    state = (key.get("attributes") or {}).get("state") or key.get("state")
    if state and str(state).lower() not in states:
        wanted = "an active key" if tuple(states) == ("active",) else "a key in state %s" % " or ".join(states)
        raise KeyUsageError("%s is %s: %s needs %s" % (key_label(key), str(state).lower(), operation, wanted))


def key_id_of_ciphertext(ciphertext):
    """The ``kid`` in a KMS ciphertext's JWE header (the key that made it), or None when there is none."""
    header = str(ciphertext).split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        kid = json.loads(decoded.decode("utf-8")).get("kid")
    except (binascii.Error, ValueError, UnicodeDecodeError, AttributeError):
        return None
    return kid if isinstance(kid, str) and _KEY_ID.match(kid) else None


def digest(alg, data):
    """The digest ``alg`` signs, computed here so the message never leaves this machine."""
    return hashlib.new(SIGNATURE_ALGORITHMS[alg][2], data).digest()


class ServiceKeyOperations:
    """The service keys of one KMS, for cryptographic operations, as the client's identity."""

    def __init__(self, client):
        self.client = client

    def _path(self, key_id, operation=None):
        path = "/v1/servicekey/%s" % quote(key_id, safe="")
        return path + "/" + operation if operation else path

    def find(self, key_id=None, name=None):
        """The key with this id, or the only key with this name (active first); KeyUsageError when none or several."""
        if key_id is not None:
            if not _KEY_ID.match(key_id):
                raise KeyUsageError("key_id must be a service key id (a UUID), got %r; give a name with key_name"
                                    % key_id)
            with api_action("read service key %s of KMS %s" % (key_id, self.client.okms_id)):
                found = self.client.get(self._path(key_id))
            return found
        with api_action("list the service keys of KMS %s" % self.client.okms_id):
            keys = [key for key in self.client.list_all("/v1/servicekey", "objects_list")
                    if key.get("name") == name]
        if not keys:
            raise KeyUsageError("key_name: KMS %s has no service key named '%s'" % (self.client.okms_id, name))
        active = [key for key in keys if (key.get("attributes") or {}).get("state") == "active"]
        if len(active if active else keys) > 1:
            raise KeyUsageError("key_name: KMS %s has %d service keys named '%s' (%s); give key_id"
                                % (self.client.okms_id, len(keys), name, ", ".join(k["id"] for k in keys)))
        return (active or keys)[0]

    def encrypt(self, key, plaintext, context=None):
        """The JWE compact ciphertext of ``plaintext`` (bytes)."""
        body = {"plaintext": b64encode(plaintext)}
        if context is not None:
            body["context"] = context
        with api_action("encrypt with %s" % key_label(key)):
            return self.client.post(self._path(key["id"], "encrypt"), body)["ciphertext"]

    def decrypt(self, key_id, ciphertext, context=None):
        """The plaintext (bytes) of a ciphertext made by :meth:`encrypt` with the same context."""
        body = {"ciphertext": ciphertext}
        if context is not None:
            body["context"] = context
        with api_action("decrypt with service key %s of KMS %s" % (key_id, self.client.okms_id)):
            answer = self.client.post(self._path(key_id, "decrypt"), body)
        return b64decode(answer["plaintext"], "the KMS's plaintext")

    def sign(self, key, alg, message_digest):
        """The signature (bytes) of a digest computed with :func:`digest`."""
        body = {"message": b64encode(message_digest), "alg": alg, "isdigest": True}
        with api_action("sign with %s" % key_label(key)):
            answer = self.client.post(self._path(key["id"], "sign"), body)
        return b64decode(answer["signature"], "the KMS's signature")

    def verify(self, key, alg, message_digest, signature):
        """Whether ``signature`` (bytes) is the key's signature of the digest."""
        body = {"message": b64encode(message_digest), "signature": b64encode(signature), "alg": alg,
                "isdigest": True}
        with api_action("verify a signature with %s" % key_label(key)):
            return bool(self.client.post(self._path(key["id"], "verify"), body)["result"])
