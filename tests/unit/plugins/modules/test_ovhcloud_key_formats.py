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

import datetime
import uuid

import pytest
from ansible.module_utils import basic
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.plugins.modules import okms_credential, okms_host_key
from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.test_okms_module import module_args

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
CONNECTION = dict(endpoint="ovh-eu", client_id="cid", client_secret="s3cr3t")
ACCOUNT = "urn:v1:eu:identity:account:xx1111-ovh"
CREDENTIALS = "/v2/okms/resource/%s/credential" % OKMS_ID


class ModuleExit(Exception):
    def __init__(self, failed, kwargs):
        super(ModuleExit, self).__init__(kwargs.get("msg"))
        self.failed = failed
        self.result = kwargs


class CredentialApi:
    """GETs served from ``resources``; POST creates ``created`` (once); no other write is expected."""

    def __init__(self, resources, created=None):
        self.resources = resources
        self.created = created
        self.writes = []

    def get(self, path, params=None):
        return self.resources[path]

    def get_all(self, path, params=None, page_size=None):
        return list(self.resources.get(path, []))

    def post(self, path, body=None, params=None):
        self.writes.append(("POST", path, body))
        return dict(self.created)

    def put(self, path, body=None, params=None):
        raise AssertionError("unexpected PUT %s" % path)

    def delete(self, path, params=None):
        raise AssertionError("unexpected DELETE %s" % path)


@pytest.fixture
def run(monkeypatch):
    def exit_json(self, **kwargs):
        raise ModuleExit(False, kwargs)

    def fail_json(self, **kwargs):
        raise ModuleExit(True, kwargs)

    # OkmsModule is an AnsibleModule: patching the base covers okms_host_key too.
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def run_module(module, args, client=None):
        if client is not None:
            monkeypatch.setattr(OkmsModule, "client", property(lambda self: client))
            args = dict(CONNECTION, **args)
        with module_args(args):
            with pytest.raises(ModuleExit) as outcome:
                module.main()
        return outcome.value

    return run_module


def ovhcloud_style_pem(key):
    """A private key as OVHcloud returns it: SEC1 for EC, PKCS#1 for RSA (the traditional forms)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def certificate_for(key):
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, OKMS_ID)])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now)
                   .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def credential(key, certificate_type, status="READY"):
    now = datetime.datetime.now(datetime.timezone.utc)
    return {"id": str(uuid.uuid4()), "name": "web1", "identityURNs": [ACCOUNT], "description": None,
            "status": status, "fromCSR": False, "certificateType": certificate_type,
            "createdAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "expiredAt": (now + datetime.timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "certificatePEM": certificate_for(key)}


KEYS = {
    "ECDSA": (lambda: ec.generate_private_key(ec.SECP256R1()), b"-----BEGIN EC PRIVATE KEY-----\n"),
    "RSA": (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
            b"-----BEGIN RSA PRIVATE KEY-----\n"),
}


@pytest.mark.parametrize("certificate_type", ["ECDSA", "RSA"])
def test_ovh_generated_key_is_written_as_received_and_read_back(run, tmp_path, certificate_type):
    make_key, marker = KEYS[certificate_type]
    key = make_key()
    pem = ovhcloud_style_pem(key)
    assert pem.startswith(marker)
    key_path = str(tmp_path / "web1.key")
    args = dict(okms_id=OKMS_ID, name="web1", identity_urns=[ACCOUNT], private_key_source="ovh",
                certificate_type=certificate_type, private_key_path=key_path)

    # First run: the API creates the credential and hands out its key once.
    ready = credential(key, certificate_type)
    created = dict(ready, status="CREATING", certificatePEM=None, privateKeyPEM=pem.decode("ascii"))
    api = CredentialApi({CREDENTIALS: [], "%s/%s" % (CREDENTIALS, ready["id"]): ready}, created)
    first = run(okms_credential, args, api)
    assert not first.failed, first.result
    assert first.result["changed"] is True and len(api.writes) == 1
    with open(key_path, "rb") as handle:
        assert handle.read() == pem  # as OVHcloud returned it

    # Next run: the key file (SEC1 / PKCS#1) is read and matches the certificate: nothing to do.
    again = run(okms_credential, args, CredentialApi({CREDENTIALS: [ready]}))
    assert not again.failed, again.result
    assert again.result["changed"] is False
    assert again.result["credential"]["id"] == ready["id"]
    assert "issue_reasons" not in again.result and "replaced_credential_id" not in again.result


def test_a_sec1_key_that_does_not_match_the_certificate_is_told_apart(run, tmp_path):
    """Reading SEC1 is real parsing: another SEC1 key in the file means a new credential."""
    key_path = tmp_path / "web1.key"
    key_path.write_bytes(ovhcloud_style_pem(ec.generate_private_key(ec.SECP256R1())))
    current = credential(ec.generate_private_key(ec.SECP256R1()), "ECDSA")
    args = dict(okms_id=OKMS_ID, name="web1", identity_urns=[ACCOUNT], private_key_source="ovh",
                private_key_path=str(key_path))
    outcome = run(okms_credential, dict(args, _ansible_check_mode=True), CredentialApi({CREDENTIALS: [current]}))
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["issue_reasons"] == ["its certificate does not match the key in %s" % key_path]


@pytest.mark.parametrize("certificate_type", ["ECDSA", "RSA"])
def test_host_key_keeps_a_key_file_written_from_ovhcloud(run, tmp_path, certificate_type):
    make_key, marker = KEYS[certificate_type]
    key = make_key()
    key_path = tmp_path / "web1.key"
    key_path.write_bytes(ovhcloud_style_pem(key))
    key_path.chmod(0o600)
    outcome = run(okms_host_key, dict(path=str(key_path), type=certificate_type))
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is False and outcome.result["generated"] is False
    assert outcome.result["type"] == certificate_type
    assert key_path.read_bytes().startswith(marker)  # left as it is
    csr = x509.load_pem_x509_csr(outcome.result["csr"].encode("ascii"))
    assert csr.public_key().public_numbers() == key.public_key().public_numbers()


@pytest.mark.parametrize("certificate_type", ["ECDSA", "RSA"])
def test_host_key_installs_a_private_key_given_in_ovhcloud_form(run, tmp_path, certificate_type):
    make_key = KEYS[certificate_type][0]
    key = make_key()
    key_path = tmp_path / "web1.key"
    args = dict(path=str(key_path), type=certificate_type, private_key=ovhcloud_style_pem(key).decode("ascii"))
    installed = run(okms_host_key, args)
    assert not installed.failed, installed.result
    assert installed.result["changed"] is True and installed.result["type"] == certificate_type
    written = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert written.public_key().public_numbers() == key.public_key().public_numbers()
    # The same key given again: the file already holds it.
    again = run(okms_host_key, args)
    assert not again.failed, again.result
    assert again.result["changed"] is False
