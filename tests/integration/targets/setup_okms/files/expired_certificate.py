#!/usr/bin/env python
"""Write an access certificate that expired yesterday, for a key whose live credential the KMS knows.

OVHcloud issues certificates for at least a day, so a test cannot wait for one
to expire. Like the emulator's own tests, this signs one with the KMS's CA,
read from the emulator's state: same subject, SAN and serial as the live
credential, only the validity period is in the past.

usage: expired_certificate.py STATE_DIR OKMS_ID CREDENTIAL_ID KEY_PATH CERT_PATH
"""

import datetime
import json
import os
import sys
import time

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from okms_emulator import pki


def kms_record(state_dir, okms_id, credential_id):
    # The emulator writes its state in bursts: wait until it holds the credential.
    deadline = time.monotonic() + 10
    while True:
        try:
            with open(os.path.join(state_dir, "state.json"), encoding="utf-8") as handle:
                record = json.load(handle)["okms"][okms_id]
            if credential_id in record["credentials"]:
                return record
        except (OSError, ValueError, KeyError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit("credential %s of KMS %s is not in %s/state.json" % (credential_id, okms_id, state_dir))
        time.sleep(0.1)


def main(state_dir, okms_id, credential_id, key_path, cert_path):
    record = kms_record(state_dir, okms_id, credential_id)
    with open(key_path, "rb") as handle:
        key = load_pem_private_key(handle.read(), password=None)
    ca = record["rsaCa"] if isinstance(key, rsa.RSAPrivateKey) else record["ca"]
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    pem = pki.issue_credential_certificate(ca, okms_id, credential_id, key.public_key(),
                                           now - datetime.timedelta(days=31), now - datetime.timedelta(days=1))
    with open(cert_path, "w", encoding="ascii") as handle:
        handle.write(pem)


if __name__ == "__main__":
    main(*sys.argv[1:])
