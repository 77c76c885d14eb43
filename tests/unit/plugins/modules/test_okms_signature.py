# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_signature and okms_signature_info against a fake KMS REST API that signs with real keys.

The fake answers like the emulator's data plane (emulator/okms_emulator/data_plane.py): keys as
``GET /v1/servicekey/{id}`` shows them, ``sign`` returning ECDSA as raw r||s, ``verify`` answering
``result: false`` for a bad signature. Every signature the modules make is checked with cryptography
alone, with the key's public key.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import stat

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_module import OkmsDataModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_signature_format import der_from_raw
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import KmsApiError
from ansible_collections.ovhcloud.kms.plugins.modules import okms_signature, okms_signature_info

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
CURVES = {"P-256": (ec.SECP256R1, 32), "P-384": (ec.SECP384R1, 48), "P-521": (ec.SECP521R1, 66)}
SIGNING_ALGS = {"EC": ("ES",), "RSA": ("RS", "PS")}
SECRET_CONTENT = "confidential-message-4f1e"


def pss(hash_class):
    return padding.PSS(mgf=padding.MGF1(hash_class()), salt_length=hash_class.digest_size)


def check_signature(public_key, alg, data, signature, signature_format="der"):
    """Raises InvalidSignature unless ``signature`` is ``public_key``'s signature of ``data`` (cryptography only)."""
    hash_class = HASHES[alg[2:]]
    if alg.startswith("ES"):
        if signature_format == "raw":
            size = len(signature) // 2
            signature = utils.encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                                   int.from_bytes(signature[size:], "big"))
        public_key.verify(signature, data, ec.ECDSA(hash_class()))
    elif alg.startswith("PS"):
        public_key.verify(signature, data, pss(hash_class), hash_class())
    else:
        public_key.verify(signature, data, padding.PKCS1v15(), hash_class())


class FakeKmsRestApi:
    """The service keys of one KMS on its REST API, as the emulator serves them."""

    def __init__(self):
        self.okms_id = OKMS_ID
        self.keys = {}
        self.private = {}
        self.requests = []

    def add_key(self, name, key_type, size_or_curve, state="active", operations=None):
        key_id = "7c1e9d52-4f0b-4c2e-9d6a-%012x" % (len(self.keys) + 1)
        key = {"id": key_id, "name": name, "type": key_type, "protectionLevel": "SOFTWARE",
               "operations": operations or (["encrypt", "decrypt"] if key_type == "oct" else ["sign", "verify"]),
               "attributes": {"state": state, "original_creation_date": "2025-01-01T12:00:00Z"}}
        if key_type == "EC":
            key["curve"] = size_or_curve
            self.private[key_id] = ec.generate_private_key(CURVES[size_or_curve][0]())
        else:
            key["size"] = size_or_curve
            if key_type == "RSA":
                self.private[key_id] = rsa.generate_private_key(public_exponent=65537, key_size=size_or_curve)
        self.keys[key_id] = key
        return key

    def public_key(self, key):
        return self.private[key["id"]].public_key()

    def paths(self, suffix):
        return [path for method, path, body in self.requests if path.endswith(suffix)]

    def _key(self, method, path):
        key_id = path.split("/")[3]
        if key_id not in self.keys:
            raise KmsApiError("service key not found", status=404, error_code=17, method=method, path=path)
        return self.keys[key_id]

    def get(self, path, params=None):
        self.requests.append(("GET", path, None))
        return dict(self._key("GET", path))

    def list_all(self, path, items_field, params=None, page_size=100):
        self.requests.append(("GET", path, None))
        return [dict(key) for key in self.keys.values()]

    def post(self, path, body=None, params=None):
        self.requests.append(("POST", path, body))
        key = self._key("POST", path)
        alg = body["alg"]
        assert body["isdigest"] is True
        hash_class = HASHES[alg[2:]]
        message = base64.b64decode(body["message"])
        assert len(message) == hash_class.digest_size, "a whole message was sent, not its digest"
        prehashed = utils.Prehashed(hash_class())
        if key["type"] == "EC":
            scheme = (ec.ECDSA(prehashed),)
        elif alg.startswith("PS"):
            scheme = (pss(hash_class), prehashed)
        else:
            scheme = (padding.PKCS1v15(), prehashed)
        if path.endswith("/sign"):
            signature = self.private[key["id"]].sign(message, *scheme)
            if key["type"] == "EC":
                r, s = utils.decode_dss_signature(signature)
                size = CURVES[key["curve"]][1]
                signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
            return {"signature": base64.b64encode(signature).decode("ascii")}
        signature = base64.b64decode(body["signature"])
        if key["type"] == "EC":
            size = CURVES[key["curve"]][1]
            assert len(signature) == 2 * size, "the module sent a signature the KMS would not take"
            signature = utils.encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                                   int.from_bytes(signature[size:], "big"))
        try:
            self.public_key(key).verify(signature, message, *scheme)
        except InvalidSignature:
            return {"result": False}
        return {"result": True}


@pytest.fixture
def kms(monkeypatch):
    fake = FakeKmsRestApi()
    monkeypatch.setattr(OkmsDataModule, "data_client", property(lambda self: fake))
    return fake


@pytest.fixture
def sign(run_module, kms):
    def run(check_mode=False, diff=False, **options):
        options.setdefault("okms_id", OKMS_ID)
        return run_module(okms_signature, options, kms, check_mode=check_mode, diff=diff)
    return run


@pytest.fixture
def verify(run_module, kms):
    def run(check_mode=False, **options):
        options.setdefault("okms_id", OKMS_ID)
        return run_module(okms_signature_info, options, kms, check_mode=check_mode)
    return run


def signed(outcome):
    assert not outcome.failed, outcome.result
    return base64.b64decode(outcome.result["signature"])


# --- signing ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type, size_or_curve, alg, signature_format", [
    ("EC", "P-256", None, "der"),
    ("EC", "P-384", "ES384", "raw"),
    ("EC", "P-521", None, "der"),
    ("EC", "P-521", "ES512", "raw"),
    ("RSA", 2048, None, "der"),
    ("RSA", 2048, "PS384", "raw"),
    ("RSA", 3072, "RS512", "der"),
    ("RSA", 2048, "PS256", "der"),
])
def test_a_signature_verifies_with_cryptography_and_the_public_key_alone(sign, kms, key_type, size_or_curve, alg,
                                                                         signature_format):
    key = kms.add_key("signer", key_type, size_or_curve)
    options = dict(alg=alg) if alg else {}
    outcome = sign(key_name="signer", content=SECRET_CONTENT, signature_format=signature_format, **options)
    assert not outcome.failed, outcome.result
    expected_alg = alg or {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}.get(size_or_curve, "RS256")
    assert outcome.result["alg"] == expected_alg
    assert outcome.result["key_id"] == key["id"]
    assert outcome.result["signature_format"] == signature_format
    assert not outcome.result["changed"]
    assert "dest" not in outcome.result
    check_signature(kms.public_key(key), expected_alg, SECRET_CONTENT.encode(), signed(outcome), signature_format)


def test_only_the_digest_is_sent_and_the_content_shows_nowhere(sign, kms):
    kms.add_key("signer", "EC", "P-384")
    outcome = sign(key_name="signer", content=SECRET_CONTENT)
    (method, path, body), = [request for request in kms.requests if request[0] == "POST"]
    assert path.endswith("/sign")
    assert body == {"message": base64.b64encode(hashlib.sha384(SECRET_CONTENT.encode()).digest()).decode(),
                    "alg": "ES384", "isdigest": True}
    assert SECRET_CONTENT not in json.dumps(outcome.result)
    assert okms_signature.ARGUMENT_SPEC["content"]["no_log"] is True


def test_a_file_of_any_size_is_hashed_in_chunks(sign, kms, tmp_path):
    key = kms.add_key("signer", "RSA", 2048)
    data = os.urandom(2 * 1024 * 1024 + 12345)  # over the 4 KiB the KMS signs, across chunk boundaries
    src = tmp_path / "release.tar.gz"
    src.write_bytes(data)
    outcome = sign(key_id=key["id"], src=str(src), alg="PS512")
    check_signature(kms.public_key(key), "PS512", data, signed(outcome))
    assert kms.paths("/sign") and kms.requests[0] == ("GET", "/v1/servicekey/%s" % key["id"], None)


def test_without_dest_check_mode_signs_as_a_real_run_does(sign, kms):
    key = kms.add_key("signer", "EC", "P-256")
    outcome = sign(key_name="signer", content="x", check_mode=True)
    assert not outcome.failed and not outcome.result["changed"]
    check_signature(kms.public_key(key), "ES256", b"x", signed(outcome))
    assert len(kms.paths("/sign")) == 1


# --- dest: check mode, run, check mode, run ---------------------------------------------------------------


def test_dest_is_written_once_and_kept_while_it_verifies(sign, kms, tmp_path):
    key = kms.add_key("signer", "EC", "P-256")
    src = tmp_path / "app.bin"
    src.write_bytes(b"release 1.0\n")
    dest = tmp_path / "app.bin.sig"
    args = dict(key_name="signer", src=str(src), dest=str(dest))

    check = sign(check_mode=True, diff=True, **args)
    assert not check.failed and check.result["changed"]
    assert "signature" not in check.result and check.result["dest"] == str(dest)
    assert not dest.exists() and kms.paths("/sign") == [] and kms.paths("/verify") == []
    assert check.result["diff"]["before"] == "signature of src %s by service key 'signer' (%s) (ES256, der): absent\n" \
        % (src, key["id"])
    assert check.result["diff"]["after"].startswith("# mode 0644, owner ")
    assert check.result["diff"]["after"].endswith("(ES256, der): valid\n")

    first = sign(diff=True, **args)
    assert first.result["changed"] and len(kms.paths("/sign")) == 1
    assert dest.read_bytes() == signed(first)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    check_signature(kms.public_key(key), "ES256", src.read_bytes(), dest.read_bytes())
    assert [name for name in os.listdir(str(tmp_path)) if name.startswith(".")] == [], "a temporary file was left"

    again_check = sign(check_mode=True, **args)
    again = sign(diff=True, **args)
    for outcome in (again_check, again):
        assert not outcome.failed and not outcome.result["changed"]
        assert signed(outcome) == signed(first)
    assert len(kms.paths("/sign")) == 1, "a valid signature was signed again"
    assert len(kms.paths("/verify")) == 2
    assert again.result["diff"]["before"] == again.result["diff"]["after"]


def test_a_signature_that_no_longer_verifies_is_replaced(sign, kms, tmp_path):
    key = kms.add_key("signer", "EC", "P-521")
    src = tmp_path / "app.bin"
    src.write_bytes(b"release 1.0\n")
    dest = tmp_path / "app.bin.sig"
    first = signed(sign(key_name="signer", src=str(src), dest=str(dest)))
    src.write_bytes(b"release 1.1\n")

    check = sign(key_name="signer", src=str(src), dest=str(dest), check_mode=True, diff=True)
    assert check.result["changed"] and "signature" not in check.result
    assert check.result["diff"]["before"].endswith("(ES512, der): invalid\n")
    assert dest.read_bytes() == first and len(kms.paths("/sign")) == 1

    second = sign(key_name="signer", src=str(src), dest=str(dest))
    assert second.result["changed"] and dest.read_bytes() == signed(second) != first
    check_signature(kms.public_key(key), "ES512", b"release 1.1\n", dest.read_bytes())


@pytest.mark.parametrize("garbage", [b"", b"not a signature", der_from_raw(b"\x01" * 132, 66)[:-1], b"\x30" * 139])
def test_a_file_that_is_no_signature_is_replaced_without_asking_the_kms_to_verify_it(sign, kms, tmp_path, garbage):
    key = kms.add_key("signer", "EC", "P-521")
    dest = tmp_path / "sig"
    dest.write_bytes(garbage)
    outcome = sign(key_name="signer", content="hello", dest=str(dest))
    assert outcome.result["changed"] and kms.paths("/verify") == []
    check_signature(kms.public_key(key), "ES512", b"hello", dest.read_bytes())


def test_a_signature_in_the_other_format_or_by_another_alg_is_replaced(sign, kms, tmp_path):
    kms.add_key("signer", "RSA", 2048)
    dest = tmp_path / "sig"
    sign(key_name="signer", content="hello", dest=str(dest), alg="RS256")
    outcome = sign(key_name="signer", content="hello", dest=str(dest), alg="PS256")
    assert outcome.result["changed"] and len(kms.paths("/verify")) == 1 and len(kms.paths("/sign")) == 2

    kms.add_key("ec", "EC", "P-256")
    ec_dest = tmp_path / "ec.sig"
    sign(key_name="ec", content="hello", dest=str(ec_dest), signature_format="raw")
    outcome = sign(key_name="ec", content="hello", dest=str(ec_dest), signature_format="der")
    assert outcome.result["changed"] and len(ec_dest.read_bytes()) != 64


def test_only_the_mode_of_a_valid_signature_changes(sign, kms, tmp_path):
    kms.add_key("signer", "EC", "P-256")
    dest = tmp_path / "sig"
    first = signed(sign(key_name="signer", content="hello", dest=str(dest), mode="0600"))
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    check = sign(key_name="signer", content="hello", dest=str(dest), mode="u=rw,go=r", check_mode=True, diff=True)
    assert check.result["changed"] and stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert check.result["diff"]["before"].startswith("# mode 0600,")
    assert check.result["diff"]["after"].startswith("# mode 0644,")
    outcome = sign(key_name="signer", content="hello", dest=str(dest), mode="u=rw,go=r")
    assert outcome.result["changed"] and signed(outcome) == first and stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert len(kms.paths("/sign")) == 1


# --- bad inputs fail before any signing request -----------------------------------------------------------


def only_reads(kms):
    return [path for method, path, body in kms.requests if method != "GET"] == []


def test_a_wrong_alg_names_the_alg_the_key_and_what_fits(sign, verify, kms):
    key = kms.add_key("signer", "EC", "P-384")
    for run in (sign, verify):
        extra = {} if run is sign else {"signature": "AAAA"}
        outcome = run(key_name="signer", content="x", alg="ES256", **extra)
        assert outcome.failed
        assert outcome.result["msg"] == ("alg ES256 does not fit service key 'signer' (%s), a EC P-384 key; use ES384"
                                         % key["id"])
    rsa_key = kms.add_key("rsa", "RSA", 2048)
    outcome = sign(key_id=rsa_key["id"], content="x", alg="ES512")
    assert outcome.failed and outcome.result["msg"].endswith("use RS256, RS384, RS512, PS256, PS384, PS512")
    assert only_reads(kms)


def test_an_oct_key_does_not_sign(sign, verify, kms):
    kms.add_key("aes", "oct", 256)
    for outcome in (sign(key_name="aes", content="x"), verify(key_name="aes", content="x", signature="AAAA")):
        assert outcome.failed and "is a oct 256 key: only RSA and EC keys sign" in outcome.result["msg"]
    assert only_reads(kms)


def test_a_key_that_is_not_active_does_not_sign(sign, kms):
    kms.add_key("old", "EC", "P-256", state="deactivated")
    outcome = sign(key_name="old", content="x")
    assert outcome.failed and outcome.result["msg"].endswith("is deactivated: sign needs an active key")
    assert only_reads(kms)


def test_an_unknown_key(sign, kms):
    outcome = sign(key_name="nope", content="x")
    assert outcome.failed and outcome.result["msg"] == "key_name: KMS %s has no service key named 'nope'" % OKMS_ID
    outcome = sign(key_id="00000000-0000-4000-8000-000000000000", content="x")
    assert outcome.failed and "HTTP 404" in outcome.result["msg"] and outcome.result["api_error"]["status"] == 404
    outcome = sign(key_id="signer", content="x")
    assert outcome.failed and outcome.result["msg"].startswith("key_id must be a service key id (a UUID)")


@pytest.mark.parametrize("make_args, message", [
    (lambda d: dict(src=str(d / "missing")), "src %(d)s/missing cannot be read: No such file or directory"),
    (lambda d: dict(src=str(d)), "src %(d)s is a directory: give the path of a file"),
    (lambda d: dict(content="x", dest=str(d / "no" / "sig")),
     "dest %(d)s/no/sig cannot be written: directory %(d)s/no does not exist"),
    (lambda d: dict(content="x", dest=str(d)), "dest %(d)s is a directory: give the path of a file"),
    (lambda d: dict(src=str(d / "data"), dest=str(d / "data")),
     "dest %(d)s/data is src: the signature would replace the file it signs; give another path"),
    (lambda d: dict(content="x", dest=str(d / "sig"), mode="rwx"), "mode 'rwx' is not a file mode"),
    (lambda d: dict(content="x", dest=str(d / "sig"), owner="no-such-user-okms"),
     "owner no-such-user-okms is not a user of this host"),
    (lambda d: dict(content="x", owner="root"), "missing parameter(s) required by 'owner': dest"),
    (lambda d: dict(content="x", src=str(d / "data")), "parameters are mutually exclusive: src|content"),
])
def test_bad_file_options_fail_before_any_request(sign, kms, tmp_path, make_args, message):
    kms.add_key("signer", "EC", "P-256")
    (tmp_path / "data").write_bytes(b"data")
    outcome = sign(key_name="signer", **make_args(tmp_path))
    assert outcome.failed
    assert outcome.result["msg"].startswith(message % {"d": tmp_path})
    assert kms.requests == []


def test_an_unreadable_config_file_fails_before_any_request(run_module, tmp_path):
    outcome = run_module(okms_signature, dict(key_name="signer", content="x", config_file=str(tmp_path / "okms.yaml")))
    assert outcome.failed
    assert outcome.result["msg"] == ("KMS REST API configuration: config_file: cannot read %s: No such file or "
                                     "directory" % (tmp_path / "okms.yaml"))


# --- verifying ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type, size_or_curve, alg", [
    ("EC", "P-256", "ES256"), ("EC", "P-384", "ES384"), ("EC", "P-521", "ES512"),
    ("RSA", 2048, "RS384"), ("RSA", 2048, "PS512"),
])
@pytest.mark.parametrize("signature_format", ["der", "raw"])
def test_a_signature_made_by_okms_signature_verifies(sign, verify, kms, tmp_path, key_type, size_or_curve, alg,
                                                     signature_format):
    key = kms.add_key("signer", key_type, size_or_curve)
    src = tmp_path / "data"
    src.write_bytes(b"data " * 1000)
    dest = tmp_path / "data.sig"
    made = sign(key_name="signer", src=str(src), dest=str(dest), alg=alg, signature_format=signature_format)
    options = dict(key_id=key["id"], src=str(src), alg=alg, signature_format=signature_format)

    by_file = verify(signature_file=str(dest), **options)
    assert not by_file.failed and by_file.result == dict(
        by_file.result, changed=False, valid=True, alg=alg, key_id=key["id"], signature_format=signature_format)
    # Given as base64, wrapped over lines as a file of base64 would be.
    text = made.result["signature"]
    wrapped = "\n".join(text[i:i + 64] for i in range(0, len(text), 64)) + "\n"
    assert verify(signature=wrapped, check_mode=True, **options).result["valid"] is True

    src.write_bytes(b"data " * 999 + b"date ")
    assert verify(signature_file=str(dest), **options).result["valid"] is False


def test_an_altered_signature_is_not_valid(verify, sign, kms):
    kms.add_key("signer", "RSA", 2048)
    signature = bytearray(signed(sign(key_name="signer", content="hello")))
    signature[10] ^= 0x01
    outcome = verify(key_name="signer", content="hello", signature=base64.b64encode(bytes(signature)).decode())
    assert not outcome.failed and outcome.result["valid"] is False
    assert len(kms.paths("/verify")) == 1


@pytest.mark.parametrize("key_type, size_or_curve, blob", [
    ("EC", "P-256", b"\x01" * 64),   # raw where DER is expected
    ("EC", "P-256", b"\x30\x02\x02\x00"),
    ("RSA", 2048, b"\x01" * 255),
    ("RSA", 2048, b""),
])
def test_a_malformed_signature_is_not_valid_without_asking_the_kms(verify, kms, key_type, size_or_curve, blob):
    kms.add_key("signer", key_type, size_or_curve)
    outcome = verify(key_name="signer", content="x", signature=base64.b64encode(blob).decode())
    assert not outcome.failed and outcome.result["valid"] is False
    assert kms.paths("/verify") == []


def test_a_raw_signature_of_the_wrong_size_is_not_valid(verify, kms):
    kms.add_key("signer", "EC", "P-384")
    outcome = verify(key_name="signer", content="x", signature_format="raw",
                     signature=base64.b64encode(b"\x01" * 64).decode())
    assert outcome.result["valid"] is False and kms.paths("/verify") == []


def test_bad_signature_options_fail_before_any_request(verify, kms, tmp_path):
    kms.add_key("signer", "EC", "P-256")
    outcome = verify(key_name="signer", content="x", signature="not base64!")
    assert outcome.failed and outcome.result["msg"] == "signature is not valid base64"
    outcome = verify(key_name="signer", content="x", signature_file=str(tmp_path / "missing.sig"))
    assert outcome.failed and outcome.result["msg"] == "signature_file %s does not exist" % (tmp_path / "missing.sig")
    outcome = verify(key_name="signer", content="x", signature_file=str(tmp_path))
    assert outcome.failed and outcome.result["msg"] == "signature_file %s is a directory, not a file" % tmp_path
    outcome = verify(key_name="signer", content="x")
    assert outcome.failed and "one of the following is required: signature, signature_file" in outcome.result["msg"]
    assert kms.requests == []


def test_verifying_needs_the_verify_operation(verify, kms):
    kms.add_key("signer", "EC", "P-256", operations=["sign"])
    outcome = verify(key_name="signer", content="x", signature="AAAA")
    assert outcome.failed and "does not allow verify (its operations: sign)" in outcome.result["msg"]
    assert only_reads(kms)
