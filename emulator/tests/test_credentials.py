"""Access credentials: validation, asynchronous issuance, certificate contents."""

import datetime
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from ovh.exceptions import BadParametersError, ResourceNotFoundError

from conftest import URN, wait_ready

UPN = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")


def _check_cert(cert_pem, okms_id, cred, ca_pem):
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == okms_id
    assert cert.serial_number == int.from_bytes(uuid.UUID(cred["id"]).bytes, "big")
    assert cert.issuer == ca.subject
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value.startswith("CCMUsers")
    cert.verify_directly_issued_by(ca)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical
    [other] = san.value.get_values_for_type(x509.OtherName)
    assert other.type_id == UPN
    value = f"okms.domain:{okms_id}".encode()
    assert other.value == b"\x0c" + bytes([len(value)]) + value  # DER UTF8String
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    expired_at = datetime.datetime.fromisoformat(cred["expiredAt"].replace("Z", "+00:00"))
    assert cert.not_valid_after_utc == expired_at
    return cert


def test_create_without_csr(api, kms_id):
    cred = api.post(f"/v2/okms/resource/{kms_id}/credential", name="no-csr", identityURNs=[URN],
                    description="d", validity=30)
    assert cred["status"] == "CREATING" and cred["fromCSR"] is False and cred["certificateType"] == "ECDSA"
    key = serialization.load_pem_private_key(cred["privateKeyPEM"].encode(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    # SEC1, as OVHcloud returns it (its guide, Terraform's acceptance test), not PKCS#8.
    assert cred["privateKeyPEM"].startswith("-----BEGIN EC PRIVATE KEY-----\n")
    assert cred["privateKeyPEM"].rstrip().endswith("-----END EC PRIVATE KEY-----")
    created = datetime.datetime.fromisoformat(cred["createdAt"].replace("Z", "+00:00"))
    expired = datetime.datetime.fromisoformat(cred["expiredAt"].replace("Z", "+00:00"))
    assert expired - created == datetime.timedelta(days=30)

    early = api.get(f"/v2/okms/resource/{kms_id}/credential/{cred['id']}")
    assert early["status"] == "CREATING" and early.get("certificatePEM") is None
    ready = wait_ready(api, kms_id, cred["id"])
    assert ready["status"] == "READY" and "privateKeyPEM" not in ready
    kms = api.get(f"/v2/okms/resource/{kms_id}", publicCA="true")
    cert = _check_cert(ready["certificatePEM"], kms_id, cred, kms["publicCA"])
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()


def test_create_rsa(api, kms_id):
    cred = api.post(f"/v2/okms/resource/{kms_id}/credential", name="rsa", identityURNs=[URN],
                    certificateType="RSA")
    key = serialization.load_pem_private_key(cred["privateKeyPEM"].encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 4096
    # PKCS#1, the traditional form that matches SEC1 for EC (unconfirmed for RSA: see README).
    assert cred["privateKeyPEM"].startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    ready = wait_ready(api, kms_id, cred["id"])
    kms = api.get(f"/v2/okms/resource/{kms_id}", publicCA="true")
    _check_cert(ready["certificatePEM"], kms_id, cred, kms["publicRsaCA"])


def _csr(key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "whatever")])).sign(key, hashes.SHA256())
    return key, csr.public_bytes(serialization.Encoding.PEM).decode()


def test_create_with_csr(api, kms_id):
    key, pem = _csr()
    cred = api.post(f"/v2/okms/resource/{kms_id}/credential", name="csr", identityURNs=[URN], csr=pem)
    assert cred["fromCSR"] is True and cred.get("privateKeyPEM") is None
    ready = wait_ready(api, kms_id, cred["id"])
    kms = api.get(f"/v2/okms/resource/{kms_id}", publicCA="true")
    cert = _check_cert(ready["certificatePEM"], kms_id, cred, kms["publicCA"])
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()


def _tampered_csr():
    _, pem = _csr()
    der = bytearray(x509.load_pem_x509_csr(pem.encode()).public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0x01  # break the self-signature
    return x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize("body, error_class", [
    ({"name": "x" * 51}, "CredentialNameMaximumExceeded"),
    ({"name": "bad\x01"}, "CredentialNameInvalidCharacter"),
    ({"identityURNs": []}, "CredentialIdentityURNsMinimumRequired"),
    ({"identityURNs": [URN] * 26}, "CredentialIdentityURNsMaximumExceeded"),
    ({"identityURNs": ["urn:v1:eu:resource:okms:x"]}, "CredentialIdentityURNsInvalidURN"),
    ({"validity": 0}, "CredentialValidityMinimumRequired"),
    ({"validity": 366}, "CredentialValidityMaximumExceeded"),
    ({"description": "d" * 201}, "CredentialDescriptionMaximumExceeded"),
    ({"certificateType": "DSA"}, "CredentialCertificateTypeInvalidEnum"),
    ({"certificateType": "RSA", "csr": "x"}, "CredentialCertificateTypeIncompatibleFields"),
    ({"csr": "not a csr"}, "CredentialCSRInvalidCharacter"),
    ({"csr": "tampered"}, "CredentialCSRInvalidCharacter"),
    ({"csr": "x" * 9000}, "CredentialCSRMaximumExceeded"),
])
def test_validation(api, kms_id, body, error_class):
    payload = {"name": "v", "identityURNs": [URN], **body}
    if payload.get("csr") == "tampered":
        payload["csr"] = _tampered_csr()
    with pytest.raises(BadParametersError) as exc:
        api.post(f"/v2/okms/resource/{kms_id}/credential", **payload)
    assert exc.value.response.json()["class"] == "Client::BadRequest::" + error_class


@pytest.mark.parametrize("body", [{"unknown": 1}, {"validity": "10"}, {"identityURNs": "urn"}, {"name": None}])
def test_bad_types(api, kms_id, body):
    payload = {"name": "v", "identityURNs": [URN], **body}
    with pytest.raises(BadParametersError) as exc:
        api.post(f"/v2/okms/resource/{kms_id}/credential", **payload)
    assert exc.value.response.json()["class"] == "Client::BadRequest"


def test_delete(api, kms_id):
    cred = api.post(f"/v2/okms/resource/{kms_id}/credential", name="del", identityURNs=[URN])
    wait_ready(api, kms_id, cred["id"])
    gone = api.delete(f"/v2/okms/resource/{kms_id}/credential/{cred['id']}")
    assert gone["status"] == "DELETING"
    with pytest.raises(BadParametersError) as exc:
        api.delete(f"/v2/okms/resource/{kms_id}/credential/{cred['id']}")
    assert exc.value.response.json()["class"] == "Client::BadRequest::CredentialStatusInvalid"
    import time
    time.sleep(0.4)
    with pytest.raises(ResourceNotFoundError):
        api.get(f"/v2/okms/resource/{kms_id}/credential/{cred['id']}")


def test_unknown_ids(api, kms_id):
    with pytest.raises(ResourceNotFoundError):
        api.get(f"/v2/okms/resource/{uuid.uuid4()}")
    with pytest.raises(ResourceNotFoundError):
        api.get(f"/v2/okms/resource/{kms_id}/credential/{uuid.uuid4()}")
    with pytest.raises(ResourceNotFoundError):
        api.get(f"/v2/okms/resource/{kms_id}/serviceKey/{uuid.uuid4()}")
