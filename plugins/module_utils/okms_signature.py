# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What ``okms_signature`` and ``okms_signature_info`` share: their options, the message, the key.

The message (a file on the machine running the module, or the ``content``
option) is hashed here, in chunks, so it may be of any size and never leaves
the machine: only its digest goes to the KMS (``isdigest``). The key is found
and checked (its type and curve against ``alg``, its operations, its state)
before any signing or verifying request. Signatures are converted between the
KMS's own form and the one the task asks for (okms_signature_format).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_keys import (
    PROCESS_STATES,
    SIGNATURE_ALGORITHMS,
    KeyUsageError,
    ServiceKeyOperations,
    key_label,
    require_operation,
    signature_algorithm,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_reconciler import TaskError
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_signature_format import (
    EC_COORDINATE_BYTES,
    SIGNATURE_FORMATS,
    SignatureFormatError,
    from_kms_signature,
    to_kms_signature,
)

# Documented in each module (the two modules say the same about them).
SIGNATURE_ARGUMENT_SPEC = dict(
    # A key's id and name are not secrets.
    key_id=dict(type="str", no_log=False),
    key_name=dict(type="str", no_log=False),
    alg=dict(type="str", choices=list(SIGNATURE_ALGORITHMS)),
    src=dict(type="path"),
    # What is signed may be confidential: only its digest is sent, and it is never logged.
    content=dict(type="str", no_log=True),
    signature_format=dict(type="str", choices=list(SIGNATURE_FORMATS), default="der"),
)
SIGNATURE_MUTUALLY_EXCLUSIVE = [["key_id", "key_name"], ["src", "content"]]
SIGNATURE_REQUIRED_ONE_OF = [["key_id", "key_name"], ["src", "content"]]

_CHUNK_BYTES = 1024 * 1024


class Message:
    """What is signed or verified: the file ``src`` (opened now, read in chunks later) or ``content``."""

    def __init__(self, src=None, content=None):
        self.src = src
        self.content = content
        self._handle = None
        if src is not None:
            if os.path.isdir(src):
                raise TaskError("src %s is a directory: give the path of a file" % src)
            try:
                self._handle = open(src, "rb")
            except (IOError, OSError) as exc:
                raise TaskError("src %s cannot be read: %s" % (src, exc.strerror or exc))

    @property
    def label(self):
        """How a diff or a message names the message (never the content itself)."""
        return "src %s" % self.src if self.src is not None else "content"

    def digest(self, alg):
        """The digest ``alg`` signs (the hash of its name: SHA-256 for ES256, RS256 and PS256...)."""
        hashed = hashlib.new(SIGNATURE_ALGORITHMS[alg][2])
        if self._handle is None:
            hashed.update(self.content.encode("utf-8"))
            return hashed.digest()
        try:
            self._handle.seek(0)
            for chunk in iter(lambda: self._handle.read(_CHUNK_BYTES), b""):
                hashed.update(chunk)
        except (IOError, OSError) as exc:
            raise TaskError("src %s cannot be read: %s" % (self.src, exc.strerror or exc))
        return hashed.digest()

    def close(self):
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class SigningKey:
    """A service key found and checked for one operation, with the algorithm it signs or verifies with."""

    def __init__(self, operations, key, alg):
        self.operations = operations
        self.key = key
        self.alg = alg

    @classmethod
    def find(cls, client, params, operation):
        """The key ``key_id`` or ``key_name`` names, fit for ``operation``; TaskError naming the option otherwise.

        Only reads: the key itself (or the list of keys, by name).
        """
        operations = ServiceKeyOperations(client)
        try:
            key = operations.find(key_id=params.get("key_id"), name=params.get("key_name"))
            alg = signature_algorithm(key, params.get("alg"))
            require_operation(key, operation, ": key_id or key_name must name an RSA or EC key made with "
                                              "operations sign and verify",
                              states=PROCESS_STATES if operation == "verify" else ("active",))
        except KeyUsageError as exc:
            raise TaskError(str(exc))
        return cls(operations, key, alg)

    @property
    def id(self):
        return self.key.get("id")

    @property
    def label(self):
        return key_label(self.key)

    def _has_kms_size(self, signature):
        """Whether a signature in the KMS's form is as long as the key's signatures are."""
        coordinate_bytes = EC_COORDINATE_BYTES.get(self.alg)
        if coordinate_bytes is not None:
            return len(signature) == 2 * coordinate_bytes
        size = self.key.get("size")
        return not size or len(signature) == int(size) // 8

    def sign(self, digest, signature_format):
        """The KMS's signature of ``digest``, in ``signature_format``."""
        signature = self.operations.sign(self.key, self.alg, digest)
        if not self._has_kms_size(signature):
            raise TaskError("the KMS returned a %d-byte %s signature with %s, not the size this key makes"
                            % (len(signature), self.alg, self.label))
        return from_kms_signature(signature, self.alg, signature_format)

    def verify(self, digest, signature, signature_format):
        """Whether ``signature`` (in ``signature_format``) is the key's signature of ``digest``.

        Bytes that cannot be a signature of the key in that format (malformed DER, a wrong size) are
        not one: False, without asking the KMS.
        """
        try:
            kms_signature = to_kms_signature(signature, self.alg, signature_format)
        except SignatureFormatError:
            return False
        if not self._has_kms_size(kms_signature):
            return False
        return self.operations.verify(self.key, self.alg, digest, kms_signature)
