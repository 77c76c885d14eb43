#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks signatures with cryptography alone, as anyone holding the public key would, without the KMS.

signature_check.py verify PUBLIC_PEM ALG FORMAT DATA SIGNATURE [PUBLIC_PEM ALG FORMAT DATA SIGNATURE ...]: for
each check, print "valid" when SIGNATURE (a file, in FORMAT der or raw) is the signature of the file DATA by the
key of PUBLIC_PEM with ALG, else "invalid: <why>"; exit 0 when every check is valid, 1 otherwise.
signature_check.py flip IN OUT: write IN to OUT with one bit of its 11th byte flipped (a tampered copy).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def verify(public_pem, alg, signature_format, data_path, signature_path):
    public_key = serialization.load_pem_public_key(read(public_pem))
    data = read(data_path)
    signature = read(signature_path)
    hash_class = HASHES[alg[2:]]
    if alg.startswith("ES"):
        if signature_format == "raw":
            size = len(signature) // 2
            signature = utils.encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                                   int.from_bytes(signature[size:], "big"))
        public_key.verify(signature, data, ec.ECDSA(hash_class()))
    elif alg.startswith("PS"):
        # JOSE's RSA-PSS: MGF1 with the same hash, a salt as long as the digest.
        public_key.verify(signature, data, padding.PSS(mgf=padding.MGF1(hash_class()),
                                                       salt_length=hash_class.digest_size), hash_class())
    else:
        public_key.verify(signature, data, padding.PKCS1v15(), hash_class())


def main():
    if sys.argv[1] == "flip":
        data = bytearray(read(sys.argv[2]))
        data[10] ^= 0x01
        with open(sys.argv[3], "wb") as handle:
            handle.write(bytes(data))
        return 0
    checks = sys.argv[2:]
    if not checks or len(checks) % 5:
        raise SystemExit("verify takes groups of PUBLIC_PEM ALG FORMAT DATA SIGNATURE")
    status = 0
    for start in range(0, len(checks), 5):
        try:
            verify(*checks[start:start + 5])
        except (InvalidSignature, ValueError) as exc:
            print("invalid: %s" % (str(exc) or type(exc).__name__))
            status = 1
        else:
            print("valid")
    return status


if __name__ == "__main__":
    sys.exit(main())
