# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keys OVHcloud generates are read wherever the modules read a key.

OVHcloud returns a generated credential key (``privateKeyPEM``) as SEC1
(``BEGIN EC PRIVATE KEY``), not PKCS#8; an RSA key would come in the matching
traditional form, PKCS#1. okms_credential writes that key as received, so the
next run of okms_credential (``private_key_path``) and okms_host_key (the file,
or ``private_key``) must read it. These tests drive the modules' main().
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential_api import CredentialApi
from ansible_collections.ovhcloud.kms.plugins.modules import okms_credential, okms_host_key
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms import credentials as fake_credentials
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi

ACCOUNT = "urn:v1:eu:identity:account:xx1111-ovh"


@pytest.fixture
def kms(monkeypatch):
    """The fake API with one KMS: (api, state, okms_id); waiting takes no time."""
    monkeypatch.setattr(CredentialApi, "sleep", staticmethod(lambda seconds: None))
    api = FakeOkmsApi()
    state = fake_credentials.install(api)
    return api, state, state.add_kms()


def ovhcloud_style_pem(key):
    """A private key as OVHcloud returns it: SEC1 for EC, PKCS#1 for RSA (the traditional forms)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


KEYS = {
    "ECDSA": (lambda: ec.generate_private_key(ec.SECP256R1()), b"-----BEGIN EC PRIVATE KEY-----\n"),
    "RSA": (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
            b"-----BEGIN RSA PRIVATE KEY-----\n"),
}


@pytest.mark.parametrize("certificate_type", ["ECDSA", "RSA"])
def test_ovh_generated_key_is_written_as_received_and_read_back(run_module, kms, tmp_path, certificate_type):
    api, state, okms_id = kms
    marker = KEYS[certificate_type][1]
    key_path = str(tmp_path / "web1.key")
    args = dict(okms_id=okms_id, name="web1", identity_urns=[ACCOUNT], private_key_source="ovh",
                certificate_type=certificate_type, private_key_path=key_path)

    # First run: the API creates the credential and hands out its key once.
    first = run_module(okms_credential, args, api)
    assert not first.failed, first.result
    assert first.result["changed"] is True and len(api.mutations()) == 1
    with open(key_path, "rb") as handle:
        written = handle.read()
    # As OVHcloud returned it: the traditional form, byte for byte, of the key the certificate carries.
    assert written.startswith(marker)
    key = serialization.load_pem_private_key(written, password=None)
    assert ovhcloud_style_pem(key) == written
    certificate = x509.load_pem_x509_certificate(first.result["credential"]["certificate_pem"].encode("ascii"))
    assert key.public_key().public_numbers() == certificate.public_key().public_numbers()

    # Next run: the key file (SEC1 / PKCS#1) is read and matches the certificate: nothing to do.
    again = run_module(okms_credential, args, api)
    assert not again.failed, again.result
    assert again.result["changed"] is False
    assert again.result["credential"]["id"] == first.result["credential"]["id"]
    assert "issue_reasons" not in again.result and "replaced_credential_id" not in again.result
    assert len(api.mutations()) == 1


def test_a_sec1_key_that_does_not_match_the_certificate_is_told_apart(run_module, kms, tmp_path):
    """Reading SEC1 is real parsing: another SEC1 key in the file is named by its public key.

    (Before the reliability issue such a file meant "key lost, new credential"; a file holding another key is now
    an error that leaves it in place, see test_okms_credential_reconciler.py.)
    """
    api, state, okms_id = kms
    key_path = tmp_path / "web1.key"
    other = ec.generate_private_key(ec.SECP256R1())
    key_path.write_bytes(ovhcloud_style_pem(other))
    seeded = state.seed(okms_id, "web1", public_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
                        from_csr=False)
    args = dict(okms_id=okms_id, name="web1", identity_urns=[ACCOUNT], private_key_source="ovh",
                private_key_path=str(key_path))
    outcome = run_module(okms_credential, args, api, check_mode=True)
    assert outcome.failed
    fingerprint = "sha256:" + hashlib.sha256(other.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()
    assert outcome.result["msg"].startswith("private_key_path %s holds an ECDSA P-256 key (public key %s), but the "
                                            "certificate of credential %s (web1)" % (key_path, fingerprint,
                                                                                     seeded["id"]))
    assert api.mutations() == []


@pytest.mark.parametrize("certificate_type", ["ECDSA", "RSA"])
def test_host_key_keeps_a_key_file_written_from_ovhcloud(run_module, tmp_path, certificate_type):
    make_key, marker = KEYS[certificate_type]
    key = make_key()
    key_path = tmp_path / "web1.key"
    key_path.write_bytes(ovhcloud_style_pem(key))
    key_path.chmod(0o600)
    outcome = run_module(okms_host_key, dict(path=str(key_path), type=certificate_type))
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is False and outcome.result["generated"] is False
    assert outcome.result["type"] == certificate_type
    assert key_path.read_bytes().startswith(marker)  # left as it is
    csr = x509.load_pem_x509_csr(outcome.result["csr"].encode("ascii"))
    assert csr.public_key().public_numbers() == key.public_key().public_numbers()


@pytest.mark.parametrize("certificate_type", ["ECDSA", "RSA"])
def test_host_key_installs_a_private_key_given_in_ovhcloud_form(run_module, tmp_path, certificate_type):
    make_key = KEYS[certificate_type][0]
    key = make_key()
    key_path = tmp_path / "web1.key"
    args = dict(path=str(key_path), type=certificate_type, private_key=ovhcloud_style_pem(key).decode("ascii"))
    installed = run_module(okms_host_key, args)
    assert not installed.failed, installed.result
    assert installed.result["changed"] is True and installed.result["type"] == certificate_type
    written = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert written.public_key().public_numbers() == key.public_key().public_numbers()
    # The same key given again: the file already holds it.
    again = run_module(okms_host_key, args)
    assert not again.failed, again.result
    assert again.result["changed"] is False
