# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_host_key: keep, generate, replace (per ``regenerate``) or install the host's key; check mode writes nothing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import hashlib
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.ovhcloud.kms.plugins.module_utils import okms_files
from ansible_collections.ovhcloud.kms.plugins.modules import okms_host_key


@pytest.fixture
def key_path(tmp_path):
    return tmp_path / "domain.key"


@functools.lru_cache(maxsize=None)
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key, private_format=serialization.PrivateFormat.PKCS8):
    return key.private_bytes(serialization.Encoding.PEM, private_format, serialization.NoEncryption())


def public_der(key):
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def file_public_der(path):
    return public_der(serialization.load_pem_private_key(path.read_bytes(), password=None))


def csr_public_der(outcome):
    csr = x509.load_pem_x509_csr(outcome.result["csr"].encode("ascii"))
    assert csr.is_signature_valid
    return csr.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def mode_of(path):
    return os.stat(str(path)).st_mode & 0o777


def test_a_missing_key_is_generated_once(run_module, key_path):
    check = run_module(okms_host_key, dict(path=str(key_path)), check_mode=True, diff=True)
    assert not check.failed, check.result
    assert check.result["changed"] is True and check.result["generated"] is True
    assert check.result["diff"]["before"] == {"path": str(key_path), "state": "absent"}
    # A throw-away key's CSR, so that a following check-mode okms_credential predicts a new credential.
    assert "BEGIN CERTIFICATE REQUEST" in check.result["csr"]
    assert not key_path.exists()

    generated = run_module(okms_host_key, dict(path=str(key_path)), diff=True)
    assert generated.result["changed"] is True and generated.result["generated"] is True
    assert generated.result["type"] == "ECDSA"
    assert mode_of(key_path) == 0o600
    assert key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert csr_public_der(generated) == file_public_der(key_path)
    assert generated.result["diff"]["after"]["public_key_fingerprint"] == generated.result["public_key_fingerprint"]
    assert "PRIVATE KEY" not in repr(generated.result)

    for check_mode in (True, False):
        again = run_module(okms_host_key, dict(path=str(key_path)), check_mode=check_mode)
        assert again.result["changed"] is False and again.result["generated"] is False
        assert again.result["public_key_fingerprint"] == generated.result["public_key_fingerprint"]


@pytest.mark.parametrize("regenerate", ["never", "type_mismatch", "always"])
def test_a_key_of_another_type_follows_regenerate(run_module, key_path, regenerate):
    key_path.write_bytes(pem(ec.generate_private_key(ec.SECP256R1())))
    before = key_path.read_bytes()
    outcome = run_module(okms_host_key, dict(path=str(key_path), type="RSA", regenerate=regenerate))
    if regenerate == "never":
        assert outcome.failed
        assert outcome.result["msg"] == ("path %s holds a key of type ECDSA, but type is RSA; set regenerate: "
                                         "type_mismatch to replace it" % key_path)
        assert key_path.read_bytes() == before
        return
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True and outcome.result["generated"] is True
    assert outcome.result["type"] == "RSA"
    assert isinstance(serialization.load_pem_private_key(key_path.read_bytes(), password=None), rsa.RSAPrivateKey)
    expected_warnings = ["path %s held a key of type ECDSA, but type is RSA: replaced by a new key" % key_path] \
        if regenerate == "type_mismatch" else []
    assert outcome.warnings == expected_warnings


def test_an_unsupported_curve_counts_as_another_type(run_module, key_path):
    key_path.write_bytes(pem(ec.generate_private_key(ec.SECP256K1())))
    outcome = run_module(okms_host_key, dict(path=str(key_path)))
    assert outcome.failed
    assert "holds a key of type unsupported, but type is ECDSA" in outcome.result["msg"]


def test_regenerate_always_replaces_a_matching_key_every_run(run_module, key_path):
    original = ec.generate_private_key(ec.SECP256R1())
    key_path.write_bytes(pem(original))
    before = key_path.read_bytes()
    check = run_module(okms_host_key, dict(path=str(key_path), regenerate="always"), check_mode=True)
    assert check.result["changed"] is True
    assert key_path.read_bytes() == before
    first = run_module(okms_host_key, dict(path=str(key_path), regenerate="always"))
    assert first.result["changed"] is True
    assert first.result["public_key_fingerprint"] == "sha256:" + hashlib.sha256(file_public_der(key_path)).hexdigest()
    second = run_module(okms_host_key, dict(path=str(key_path), regenerate="always"))
    assert second.result["changed"] is True
    fingerprints = {"sha256:" + hashlib.sha256(public_der(original)).hexdigest(),
                    first.result["public_key_fingerprint"], second.result["public_key_fingerprint"]}
    assert len(fingerprints) == 3


def test_a_file_that_is_not_a_key_is_never_replaced(run_module, key_path):
    key_path.write_bytes(b"not a key\n")
    outcome = run_module(okms_host_key, dict(path=str(key_path), regenerate="always"))
    assert outcome.failed
    assert outcome.result["msg"] == ("path %s exists but it is not an unencrypted PEM private key; it is left "
                                     "untouched: move it away to let the module generate a new key" % key_path)
    assert key_path.read_bytes() == b"not a key\n"


def test_the_file_mode_converges_without_a_new_key(run_module, key_path):
    run_module(okms_host_key, dict(path=str(key_path)))
    fingerprint = file_public_der(key_path)
    os.chmod(str(key_path), 0o644)
    outcome = run_module(okms_host_key, dict(path=str(key_path)))
    assert outcome.result["changed"] is True and outcome.result["generated"] is False
    assert mode_of(key_path) == 0o600
    assert file_public_der(key_path) == fingerprint


@pytest.mark.parametrize("private_format", [serialization.PrivateFormat.PKCS8,
                                            serialization.PrivateFormat.TraditionalOpenSSL])
def test_a_given_key_is_installed_once(run_module, key_path, private_format):
    key = rsa_key()
    args = dict(path=str(key_path), type="RSA", private_key=pem(key, private_format).decode("ascii"))
    check = run_module(okms_host_key, args, check_mode=True)
    assert check.result["changed"] is True
    assert not key_path.exists()
    installed = run_module(okms_host_key, args)
    assert installed.result["changed"] is True and installed.result["type"] == "RSA"
    assert file_public_der(key_path) == public_der(key)
    assert csr_public_der(installed) == public_der(key)
    assert "PRIVATE KEY" not in repr(installed.result)
    again = run_module(okms_host_key, args)
    assert again.result["changed"] is False


def test_a_given_key_replaces_another_key_in_the_file(run_module, key_path):
    key_path.write_bytes(pem(ec.generate_private_key(ec.SECP256R1())))
    given = ec.generate_private_key(ec.SECP256R1())
    outcome = run_module(okms_host_key, dict(path=str(key_path), private_key=pem(given).decode("ascii")), diff=True)
    assert outcome.result["changed"] is True
    assert file_public_der(key_path) == public_der(given)
    assert outcome.result["diff"]["before"]["public_key_fingerprint"] != \
        outcome.result["diff"]["after"]["public_key_fingerprint"]


@pytest.mark.parametrize("private_key, message", [
    ("not a key", "private_key cannot be used: it is not an unencrypted PEM private key"),
    (None, "private_key is not a key the KMS accepts (RSA of 2048 bits or more, or EC P-256/384/521)"),
])
def test_a_given_key_that_cannot_be_used_is_refused_without_quoting_it(run_module, key_path, private_key, message):
    if private_key is None:
        private_key = pem(ec.generate_private_key(ec.SECP256K1())).decode("ascii")
    outcome = run_module(okms_host_key, dict(path=str(key_path), private_key=private_key))
    assert outcome.failed
    assert outcome.result["msg"] == message
    assert not key_path.exists()


def test_a_key_file_that_cannot_be_read_names_the_option(run_module, key_path, monkeypatch):
    key_path.write_bytes(pem(ec.generate_private_key(ec.SECP256R1())))
    before = key_path.read_bytes()
    real_open = open

    def denied(path, *args, **kwargs):
        if str(path) == str(key_path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(okms_files, "open", denied, raising=False)
    outcome = run_module(okms_host_key, dict(path=str(key_path)))
    assert outcome.failed
    assert outcome.result["msg"] == "path %s cannot be read: Permission denied" % key_path
    monkeypatch.undo()
    assert key_path.read_bytes() == before


def test_a_key_file_the_user_may_not_read_is_refused_before_anything(run_module, key_path, monkeypatch):
    key_path.write_bytes(pem(ec.generate_private_key(ec.SECP256R1())))
    real_access = os.access
    monkeypatch.setattr(okms_files.os, "access",
                        lambda path, mode: False if str(path) == str(key_path) else real_access(path, mode))
    outcome = run_module(okms_host_key, dict(path=str(key_path)))
    assert outcome.failed
    assert outcome.result["msg"] == ("path %s cannot be read by user %s: the module compares it with what it would "
                                     "write" % (key_path, okms_files._user_name()))


@pytest.mark.parametrize("where, message", [
    ("dir", "path {path} is a directory: give the path of a file"),
    ("missing/domain.key", "path {path} cannot be written: directory {tmp}/missing does not exist"),
])
def test_a_path_that_cannot_hold_the_key_is_refused_without_a_traceback(run_module, tmp_path, where, message):
    (tmp_path / "dir").mkdir()
    path = tmp_path / where
    outcome = run_module(okms_host_key, dict(path=str(path)))
    assert outcome.failed
    assert outcome.result["msg"] == message.format(path=path, tmp=tmp_path)
    assert sorted(os.listdir(str(tmp_path))) == ["dir"]
