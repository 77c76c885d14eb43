#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a private key and a CSR for it, as a tool outside Ansible would: make_key_and_csr.py ECDSA|RSA KEY CSR."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def main():
    key_type, key_path, csr_path = sys.argv[1:4]
    if key_type == "RSA":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP384R1())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "external")])).sign(key, hashes.SHA256())
    with open(csr_path, "wb") as handle:
        handle.write(csr.public_bytes(serialization.Encoding.PEM))


if __name__ == "__main__":
    main()
