# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad okms_service_key inputs fail with a message naming the option and what is allowed, sending nothing.

The integration target okms_service_key_validation keeps one of these cases
and proves with the emulator's audit log that nothing was sent; the whole
table runs here, against the in-memory fake of the API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.ovhcloud.kms.plugins.modules import okms_service_key
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.service_keys import install

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"

# (label, options, a part of the failure message); "{dir}" stands for a directory holding key files.
BAD_INPUTS = [
    ("size for EC", {"name": "bad", "type": "EC", "size": 256},
     "size does not apply to EC keys: an EC key has only a curve (one of P-256, P-384, P-521); remove size"),
    ("curve for RSA", {"name": "bad", "type": "RSA", "curve": "P-256"},
     "curve applies only to EC keys, not to RSA keys"),
    ("sign on oct", {"name": "bad", "type": "oct", "operations": ["sign", "verify"]},
     "operations for an oct key must be [encrypt, decrypt] or [wrapKey, unwrapKey]; got [sign, verify]"),
    ("encrypt and wrapKey mixed", {"name": "bad", "type": "oct", "operations": ["encrypt", "wrapKey"]},
     "operations for an oct key must be [encrypt, decrypt] or [wrapKey, unwrapKey]; got [encrypt, wrapKey]"),
    ("2048 for oct", {"name": "bad", "type": "oct", "size": 2048},
     "size for an oct key must be one of 128, 192, 256; got 2048"),
    ("1024 for RSA", {"name": "bad", "type": "RSA", "size": 1024},
     "size for an RSA key must be one of 2048, 3072, 4096; got 1024"),
    ("encrypt on RSA", {"name": "bad", "type": "RSA", "operations": ["encrypt", "decrypt"]},
     "operations for an RSA key must be [sign, verify]; got [encrypt, decrypt]"),
    ("sign only on EC", {"name": "bad", "type": "EC", "operations": ["sign"]},
     "operations for an EC key must be [sign, verify]; got [sign]"),
    ("duplicate operation", {"name": "bad", "type": "EC", "operations": ["sign", "sign"]},
     "operations lists an operation twice"),
    ("unknown operation", {"name": "bad", "type": "EC", "operations": ["sign", "frobnicate"]},
     "value of operations must be one or more of: encrypt, decrypt, sign, verify, wrapKey, unwrapKey"),
    ("name over 32 characters", {"name": "a-name-that-is-33-characters-long", "type": "oct"},
     "name is 33 characters long; at most 32 are allowed"),
    ("context over 64 characters", {"name": "bad", "type": "oct", "context": "c" * 65},
     "context is 65 characters long; at most 64 are allowed"),
    ("size without type", {"name": "bad", "size": 256},
     "size needs type (or jwk / key_path to import a key)"),
    ("deactivated for a compromise",
     {"name": "fixed", "key_state": "deactivated", "deactivation_reason": "key_compromise"},
     "deactivation_reason key_compromise marks the key compromised: use key_state compromised"),
    ("compromised for a supersession",
     {"name": "fixed", "key_state": "compromised", "deactivation_reason": "superseded"},
     "deactivation_reason for key_state compromised must be one of key_compromise, ca_compromise; got superseded"),
    ("unknown reason", {"name": "fixed", "key_state": "deactivated", "deactivation_reason": "bored"},
     "deactivation_reason must be one of unspecified, key_compromise, ca_compromise"),
    ("reason without key_state", {"name": "fixed", "deactivation_reason": "superseded"},
     "deactivation_reason needs key_state deactivated or compromised"),
    ("short oct JWK", {"name": "bad", "jwk": {"kty": "oct", "k": "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
     "jwk.k must be 16, 24 or 32 bytes (128, 192 or 256 bits); got 21 bytes"),
    ("public-only EC JWK", {"name": "bad", "jwk": {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}},
     "jwk is missing d: an EC private key needs crv, x, y, d (a public key cannot be imported)"),
    ("JWK together with type", {"name": "bad", "type": "oct", "jwk": {"kty": "oct", "k": "AAAAAAAAAAAAAAAAAAAAAA"}},
     "parameters are mutually exclusive: jwk|type"),
    ("key file of 33 bytes", {"name": "bad", "key_path": "{dir}/33.bin"},
     "must hold a PEM private key (RSA or EC) or a raw oct key of exactly 16, 24 or 32 bytes; the file is 33 bytes"),
    ("public key file", {"name": "bad", "key_path": "{dir}/ec.pub"},
     "is PEM but not an unencrypted RSA or EC private key (a public key or certificate cannot be imported)"),
    ("public key of an oct key", {"name": "bad", "type": "oct", "public_key_path": "{dir}/x.pem"},
     "public_key_path: an oct key is symmetric and has no public key"),
    ("public key file with state absent", {"name": "fixed", "state": "absent", "public_key_path": "{dir}/x.pem"},
     "public_key_path applies only with state present"),
    ("neither id nor name", {"type": "oct"},
     "one of the following is required: id, name"),
    ("other size than the existing key", {"name": "fixed", "type": "oct"},
     "service key fixed cannot be changed in place (size is 128, the task asks for 256)"),
    ("other type than the existing key", {"name": "fixed", "type": "RSA", "size": 4096},
     "type is oct, the task asks for RSA; size is 128, the task asks for 4096; operations is [encrypt, decrypt], "
     "the task asks for [sign, verify]"),
    ("missing key without type", {"name": "nowhere"},
     "service key nowhere does not exist in KMS"),
    ("unknown id", {"id": "00000000-0000-4000-8000-000000000000", "name": "renamed"},
     "no service key with id 00000000-0000-4000-8000-000000000000"),
    ("shared name", {"name": "twin", "key_state": "deactivated"},
     "2 service keys of KMS"),
    ("key file that cannot be read", {"name": "bad", "key_path": "{dir}/missing.pem"},
     "cannot read key_path {dir}/missing.pem: No such file or directory"),
]


@pytest.fixture
def api():
    """The KMS of the integration target: a key 'fixed' (oct, 128 bits) and two EC keys named 'twin'."""
    api = FakeOkmsApi()
    keys = install(api)
    keys.add_kms(OKMS_ID)
    keys.add_key(OKMS_ID, "fixed", "oct", size=128)
    keys.add_key(OKMS_ID, "twin", "EC")
    keys.add_key(OKMS_ID, "twin", "EC")
    return api


@pytest.fixture
def key_files(tmp_path):
    (tmp_path / "33.bin").write_bytes(os.urandom(33))
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    (tmp_path / "ec.pub").write_bytes(public.public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return str(tmp_path)


def with_dir(value, directory):
    if isinstance(value, str):
        return value.replace("{dir}", directory)
    return value


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check"])
@pytest.mark.parametrize("options, message", [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_fails_naming_the_option_and_sends_nothing(run_module, api, key_files, options, message,
                                                             check_mode):
    keys_before = api.service_keys.keys(OKMS_ID)
    options = dict((name, with_dir(value, key_files)) for name, value in options.items())
    outcome = run_module(okms_service_key, dict(options, okms_id=OKMS_ID), api, check_mode=check_mode)
    assert outcome.failed
    assert with_dir(message, key_files) in outcome.result["msg"]
    assert outcome.result.get("changed", False) is False
    assert api.mutations() == []
    assert api.service_keys.keys(OKMS_ID) == keys_before
