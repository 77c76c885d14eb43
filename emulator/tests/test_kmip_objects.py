"""KMIP objects without the wire (kmip_objects.py): life cycle, counting, and the cryptography itself,
checked against cryptography's own primitives. test_kmip.py drives the same code through PyKMIP."""

import hashlib
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from okms_emulator import kmip_objects as ko
from okms_emulator.kmip_objects import KmipError


def reason(call):
    with pytest.raises(KmipError) as err:
        call()
    return err.value.reason


def aes(record, size=256, mask=None):
    return ko.new_object(record, "SYMMETRIC_KEY", os.urandom(size // 8), "RAW", "AES", size, usage_mask=mask)


def test_life_cycle_and_count():
    record = {}
    obj = aes(record)
    assert obj["state"] == "PRE_ACTIVE" and ko.count(record) == 1
    assert ko.find(record, obj["id"]) is obj
    assert reason(lambda: ko.find(record, "nope")) == "ITEM_NOT_FOUND"
    ko.revoke(obj, "UNSPECIFIED")  # a PreActive object may be revoked: Deactivated, never used
    assert obj["state"] == "DEACTIVATED" and ko.ACTIVATION not in obj["dates"]
    assert reason(lambda: ko.activate(obj)) == "PERMISSION_DENIED"
    ko.revoke(obj, "KEY_COMPROMISE", occurred=1)  # a compromise still applies to a deactivated object
    assert obj["state"] == "COMPROMISED" and obj["dates"][ko.COMPROMISE_OCCURRENCE] == 1
    assert reason(lambda: ko.revoke(obj, "KEY_COMPROMISE")) == "PERMISSION_DENIED"
    ko.destroy(obj)
    assert obj["state"] == "DESTROYED_COMPROMISED" and obj["material"] is None and ko.count(record) == 0
    assert ko.locate(record, lambda o: True) == []
    assert reason(lambda: ko.readable(obj)) == "ITEM_NOT_FOUND"

    active = aes(record)
    ko.activate(active)
    assert reason(lambda: ko.destroy(active)) == "PERMISSION_DENIED"
    newer = aes(record)
    assert ko.locate(record, lambda o: True) == [newer["id"], active["id"]]  # most recent first


def test_aes_modes_are_real():
    record = {}
    obj = aes(record)
    ko.activate(obj)
    key = ko.material(obj)
    data = b"sixteen byte blk" * 2

    out, iv, tag = ko.encrypt(obj, {"block_cipher_mode": "CBC", "padding_method": "NONE"}, data)
    assert tag is None and len(iv) == 16
    assert out == Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor().update(data)
    assert ko.decrypt(obj, {"block_cipher_mode": "CBC", "padding_method": "NONE"}, out, iv) == data
    assert reason(lambda: ko.encrypt(obj, {"block_cipher_mode": "CBC", "padding_method": "NONE"}, b"odd")) == \
        "INVALID_FIELD"

    out, iv, _ = ko.encrypt(obj, {"block_cipher_mode": "ECB"}, data)
    assert iv is None and len(out) == 48  # PKCS#5 adds a whole block
    assert ko.decrypt(obj, {"block_cipher_mode": "ECB"}, out) == data

    nonce = os.urandom(16)
    out, iv, _ = ko.encrypt(obj, {"block_cipher_mode": "CTR"}, b"abc", nonce)
    assert iv is None and out == Cipher(algorithms.AES(key), modes.CTR(nonce)).encryptor().update(b"abc")

    out, iv, tag = ko.encrypt(obj, {"block_cipher_mode": "GCM", "tag_length": 12}, b"gcm", aad=b"ctx")
    assert len(iv) == 12 and len(tag) == 12
    assert ko.decrypt(obj, {"block_cipher_mode": "GCM", "tag_length": 12}, out + tag, iv, aad=b"ctx") == b"gcm"
    assert reason(lambda: ko.decrypt(obj, {"block_cipher_mode": "GCM"}, out, iv, aad=b"ctx", tag=b"\0" * 16)) == \
        "CRYPTOGRAPHIC_FAILURE"
    assert reason(lambda: ko.encrypt(obj, {"block_cipher_mode": "XTS"}, data)) == "INVALID_FIELD"
    assert reason(lambda: ko.decrypt(obj, {}, b"x" * 16)) == "INVALID_FIELD"  # CBC needs the IV back

    masked = aes(record, 128, mask=ko.USAGE["DECRYPT"])
    ko.activate(masked)
    assert reason(lambda: ko.encrypt(masked, {}, data)) == "PERMISSION_DENIED"


def test_signatures_and_formats():
    record = {}
    private, public = ko.key_pair("RSA", 2048)
    signer = ko.new_object(record, "PRIVATE_KEY", private["raw"], private["format"], "RSA", 2048)
    checker = ko.new_object(record, "PUBLIC_KEY", public["raw"], public["format"], "RSA", 2048)
    ko.activate(signer)
    ko.activate(checker)
    pss = {"padding_method": "PSS", "hashing_algorithm": "SHA_384"}
    signature = ko.sign(signer, pss, b"message")
    serialization.load_der_public_key(public["raw"]).verify(
        signature, b"message", padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48), hashes.SHA384())
    assert ko.verify(checker, pss, signature, digested=hashlib.sha384(b"message").digest())
    assert not ko.verify(checker, {}, signature, data=b"message")  # PKCS#1 v1.5 by default: another scheme

    assert serialization.load_der_private_key(ko.exported(signer, "PKCS_8"), None).key_size == 2048
    assert reason(lambda: ko.exported(signer, "EC_PRIVATE_KEY")) == "KEY_FORMAT_TYPE_NOT_SUPPORTED"
    ec_private, ec_public = ko.key_pair("EC", 521)
    assert ec_private["curve"] == "P_521" and ec_public["format"] == "X_509"
    ec_key = ko.new_object(record, "PUBLIC_KEY", ec_public["raw"], "X_509", "EC", 521)
    assert reason(lambda: ko.exported(ec_key, "PKCS_1")) == "KEY_FORMAT_TYPE_NOT_SUPPORTED"

    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    assert ko.registered("PRIVATE_KEY", other, "PKCS_8")["curve"] == "P_256"
    assert reason(lambda: ko.registered("PRIVATE_KEY", other, "PKCS_8", "RSA")) == "INVALID_FIELD"
    assert reason(lambda: ko.registered("PRIVATE_KEY", other, "PKCS_8", "EC", 384)) == "INVALID_FIELD"
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    assert ko.registered("PUBLIC_KEY", small.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1), "PKCS_1")["length"] == 1024
    assert reason(lambda: ko.key_pair("RSA", 1024)) == "INVALID_FIELD"
    assert reason(lambda: ko.registered("SYMMETRIC_KEY", b"k" * 16, "RAW", "AES", 256)) == "INVALID_FIELD"
