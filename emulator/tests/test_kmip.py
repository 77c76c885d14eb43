"""KMIP, driven by an unmodified client: PyKMIP's ProxyKmipClient (and its KMIPProxy for raw payloads)
over real TLS with access certificates issued by the control plane.

The rules checked are OKMS's as observed on the real service: UUIDs, new objects PreActive, a second
Activate or Revoke fails, Destroy needs a PreActive or revoked object, destroyed objects leave Locate,
objects per KMS (from the certificate), kmipObjectCount, IAM rights okms:kmip:<op>, audit plane "kmip".
"""

import datetime
import json
import os
import socket
import ssl
import uuid
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID
from kmip.core import attributes as kattributes
from kmip.core import enums
from kmip.core import exceptions as kexceptions
from kmip.core import objects as kobjects
from kmip.core.factories.attributes import AttributeFactory
from kmip.core.messages import payloads
from kmip.pie import objects as pie
from kmip.pie.client import ProxyKmipClient
from kmip.pie.exceptions import KmipOperationFailure
from kmip.services.kmip_client import KMIPProxy

from conftest import URN, order_kms, saved_state, wait_ready
from okms_emulator import pki

USER = "urn:v1:eu:identity:user:xx1111-ovh/kmip-app"
CBC = {"cryptographic_algorithm": enums.CryptographicAlgorithm.AES,
       "block_cipher_mode": enums.BlockCipherMode.CBC, "padding_method": enums.PaddingMethod.PKCS5}
ATTRIBUTES = AttributeFactory()


class Access:
    """An access certificate of a KMS, as files a KMIP client loads."""

    def __init__(self, api, okms_id, directory, urns=(URN,), rsa_key=False, name="kmip"):
        body = {"name": name, "identityURNs": list(urns)}
        if rsa_key:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            csr = x509.CertificateSigningRequestBuilder().subject_name(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])).sign(key, hashes.SHA256())
            body["csr"] = csr.public_bytes(serialization.Encoding.PEM).decode()
            key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
        cred = api.post(f"/v2/okms/resource/{okms_id}/credential", **body)
        if not rsa_key:
            key_pem = cred["privateKeyPEM"]
        self.id, self.okms_id = cred["id"], okms_id
        self.cert, self.key = os.path.join(directory, f"{self.id}.pem"), os.path.join(directory, f"{self.id}.key")
        with open(self.cert, "w", encoding="utf-8") as handle:
            handle.write(wait_ready(api, okms_id, self.id)["certificatePEM"])
        with open(self.key, "w", encoding="utf-8") as handle:
            handle.write(key_pem)


def kmip_client(conn, access, endpoint="kmip_endpoint", **kwargs):
    host, port = conn[endpoint].rsplit(":", 1)
    return ProxyKmipClient(hostname=host, port=int(port), cert=access.cert, key=access.key, ca=conn["ca_path"],
                           **kwargs)


def audit_lines(conn):
    with open(conn["audit_log"], encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def failure(call, reason):
    """Run ``call``; it must fail with the KMIP result ``reason``; return the server's message."""
    with pytest.raises(KmipOperationFailure) as err:
        call()
    assert err.value.reason == reason, err.value
    return err.value.message


def template(*pairs):
    return kobjects.TemplateAttribute(attributes=[ATTRIBUTES.create_attribute(kind, value) for kind, value in pairs])


def state_of(client, uid):
    _, found = client.get_attributes(uid, ["State"])
    return found[0].attribute_value.value


@pytest.fixture(scope="module")
def access(api, kms_id, tmp_path_factory):
    """A certificate of the session's KMS naming the account (not bound by IAM)."""
    return Access(api, kms_id, str(tmp_path_factory.mktemp("kmip")))


@pytest.fixture
def client(conn, access):
    with kmip_client(conn, access) as opened:
        yield opened


def test_proxy_kmip_client_runs_a_key_life_cycle(conn, api, kms_id, access, client):
    """The proof: create -> activate -> get -> locate -> encrypt/decrypt -> revoke -> destroy."""
    count = api.get(f"/v2/okms/resource/{kms_id}")["kmipObjectCount"]
    name = f"life-{uuid.uuid4()}"
    uid = client.create(enums.CryptographicAlgorithm.AES, 256, name=name)
    assert str(uuid.UUID(uid)) == uid
    assert state_of(client, uid) == enums.State.PRE_ACTIVE
    assert api.get(f"/v2/okms/resource/{kms_id}")["kmipObjectCount"] == count + 1

    client.activate(uid)
    assert state_of(client, uid) == enums.State.ACTIVE
    key = client.get(uid)
    assert isinstance(key, pie.SymmetricKey) and len(key.value) == 32
    assert key.cryptographic_algorithm == enums.CryptographicAlgorithm.AES and key.cryptographic_length == 256
    name_filter = ATTRIBUTES.create_attribute(enums.AttributeType.NAME, name)
    assert client.locate(attributes=[name_filter]) == [uid]

    plaintext = b"attack at dawn, in sixteen bytes or more"
    ciphertext, iv = client.encrypt(plaintext, uid=uid, cryptographic_parameters=CBC)
    assert len(iv) == 16 and ciphertext != plaintext
    # Real AES-CBC with PKCS#5 padding: the key Get returned decrypts it here too.
    decryptor = Cipher(algorithms.AES(key.value), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    assert unpadder.update(decryptor.update(ciphertext) + decryptor.finalize()) + unpadder.finalize() == plaintext
    assert client.decrypt(ciphertext, uid=uid, cryptographic_parameters=CBC, iv_counter_nonce=iv) == plaintext

    client.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid, revocation_message="rotated")
    assert state_of(client, uid) == enums.State.DEACTIVATED
    assert client.decrypt(ciphertext, uid=uid, cryptographic_parameters=CBC, iv_counter_nonce=iv) == plaintext
    failure(lambda: client.encrypt(plaintext, uid=uid, cryptographic_parameters=CBC),
            enums.ResultReason.PERMISSION_DENIED)
    client.destroy(uid)
    assert client.locate(attributes=[name_filter]) == []
    assert state_of(client, uid) == enums.State.DESTROYED
    failure(lambda: client.get(uid), enums.ResultReason.ITEM_NOT_FOUND)
    assert api.get(f"/v2/okms/resource/{kms_id}")["kmipObjectCount"] == count

    # Kept with the KMS in state.json, its key material wiped by Destroy.
    state = saved_state(conn, lambda s: s["okms"][kms_id]["kmipObjects"][uid]["state"] == "DESTROYED")
    assert state["okms"][kms_id]["kmipObjects"][uid]["material"] is None

    lines = [line for line in audit_lines(conn) if line["path"] == f"/kmip/{kms_id}/{uid}"]
    assert [line["method"] for line in lines if line["method"] != "GetAttributes"] == [
        "Create", "Activate", "Get", "Encrypt", "Decrypt", "Revoke", "Decrypt", "Encrypt", "Destroy", "Get"]
    for line in lines:
        assert line["plane"] == "kmip" and line["identity"] == f"certificate:{access.id}"
        assert line["mutating"] is (line["method"] in ("Create", "Activate", "Revoke", "Destroy"))
        assert line["fault"] is None and line["query"] == ""
    refused = [line for line in lines if line["status"] != "Success"]
    assert [(line["method"], line["status"], line["result_reason"]) for line in refused] == [
        ("Encrypt", "OperationFailed", "PermissionDenied"), ("Get", "OperationFailed", "ItemNotFound")]


def test_life_cycle_rules_of_okms(client):
    first = client.create(enums.CryptographicAlgorithm.AES, 128)
    client.activate(first)
    message = failure(lambda: client.activate(first), enums.ResultReason.PERMISSION_DENIED)
    assert first in message and "Active" in message
    message = failure(lambda: client.destroy(first), enums.ResultReason.PERMISSION_DENIED)
    assert "revoke it first" in message
    client.revoke(enums.RevocationReasonCode.SUPERSEDED, first)
    failure(lambda: client.revoke(enums.RevocationReasonCode.SUPERSEDED, first), enums.ResultReason.PERMISSION_DENIED)
    client.destroy(first)
    failure(lambda: client.destroy(first), enums.ResultReason.PERMISSION_DENIED)

    # A PreActive object may be destroyed at once; a compromise moves to Compromised, then DestroyedCompromised.
    second = client.create(enums.CryptographicAlgorithm.AES, 192)
    client.destroy(second)
    assert state_of(client, second) == enums.State.DESTROYED
    third = client.create(enums.CryptographicAlgorithm.AES, 256)
    client.activate(third)
    client.revoke(enums.RevocationReasonCode.KEY_COMPROMISE, third, compromise_occurrence_date=1700000000)
    assert state_of(client, third) == enums.State.COMPROMISED
    _, dates = client.get_attributes(third, ["Compromise Occurrence Date"])
    assert dates[0].attribute_value.value == 1700000000
    client.destroy(third)
    assert state_of(client, third) == enums.State.DESTROYED_COMPROMISED

    failure(lambda: client.get(str(uuid.uuid4())), enums.ResultReason.ITEM_NOT_FOUND)
    failure(lambda: client.create(enums.CryptographicAlgorithm.AES, 100), enums.ResultReason.INVALID_FIELD)


def test_key_pairs_sign_and_verify(client):
    public_id, private_id = client.create_key_pair(
        enums.CryptographicAlgorithm.RSA, 2048, public_name="rsa-pub", private_name="rsa-priv",
        public_usage_mask=[enums.CryptographicUsageMask.VERIFY], private_usage_mask=[enums.CryptographicUsageMask.SIGN])
    assert state_of(client, public_id) == state_of(client, private_id) == enums.State.PRE_ACTIVE
    client.activate(private_id)
    client.activate(public_id)
    params = {"cryptographic_algorithm": enums.CryptographicAlgorithm.RSA,
              "hashing_algorithm": enums.HashingAlgorithm.SHA_256, "padding_method": enums.PaddingMethod.PKCS1v15}
    signature = client.sign(b"signed by the KMS", uid=private_id, cryptographic_parameters=params)
    public = serialization.load_der_public_key(client.get(public_id).value)
    public.verify(signature, b"signed by the KMS", asym_padding.PKCS1v15(), hashes.SHA256())
    assert client.signature_verify(b"signed by the KMS", signature, public_id, params) == \
        enums.ValidityIndicator.VALID
    assert client.signature_verify(b"tampered", signature, public_id, params) == enums.ValidityIndicator.INVALID
    failure(lambda: client.sign(b"x", uid=public_id, cryptographic_parameters=params), enums.ResultReason.INVALID_FIELD)
    # The usage masks hold: the private key (Sign only) does not verify.
    assert "Usage Mask" in failure(lambda: client.signature_verify(b"x", signature, private_id, params),
                                   enums.ResultReason.PERMISSION_DENIED)

    ec_public, ec_private = client.create_key_pair(enums.CryptographicAlgorithm.ECDSA, 384)
    client.activate(ec_private)
    client.activate(ec_public)
    ecdsa = {"digital_signature_algorithm": enums.DigitalSignatureAlgorithm.ECDSA_WITH_SHA384}
    signature = client.sign(b"curve", uid=ec_private, cryptographic_parameters=ecdsa)
    key = serialization.load_der_public_key(client.get(ec_public).value)
    assert key.curve.name == "secp384r1"
    key.verify(signature, b"curve", ec.ECDSA(hashes.SHA384()))
    assert client.signature_verify(b"curve", signature, ec_public, ecdsa) == enums.ValidityIndicator.VALID
    assert client.signature_verify(b"other", signature, ec_public, ecdsa) == enums.ValidityIndicator.INVALID


def test_register_and_locate(client):
    aes = os.urandom(32)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    private_der = ec_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
    public_der = ec_key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    now = pki.utcnow()
    cert_der = x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reg")])) \
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reg")])).public_key(ec_key.public_key()) \
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)) \
        .sign(ec_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    group = f"group-{uuid.uuid4()}"
    registered = {
        "symmetric": (pie.SymmetricKey(enums.CryptographicAlgorithm.AES, 256, aes, name="reg-aes"), aes),
        "secret": (pie.SecretData(b"s3cr3t", enums.SecretDataType.PASSWORD, name="reg-secret"), b"s3cr3t"),
        "certificate": (pie.X509Certificate(cert_der, name="reg-cert"), cert_der),
        "public": (pie.PublicKey(enums.CryptographicAlgorithm.EC, 256, public_der, enums.KeyFormatType.X_509),
                   public_der),
        "private": (pie.PrivateKey(enums.CryptographicAlgorithm.EC, 256, private_der, enums.KeyFormatType.PKCS_8),
                    private_der),
    }
    ids = {}
    for label, (managed, raw) in registered.items():
        ids[label] = client.register(managed)
        assert client.get(ids[label]).value == raw, label
        assert state_of(client, ids[label]) == enums.State.PRE_ACTIVE
    failure(lambda: client.register(pie.PrivateKey(enums.CryptographicAlgorithm.RSA, 2048, b"not a key",
                                                   enums.KeyFormatType.PKCS_1)), enums.ResultReason.INVALID_FIELD)

    by_type = client.locate(attributes=[ATTRIBUTES.create_attribute(enums.AttributeType.OBJECT_TYPE,
                                                                    enums.ObjectType.SECRET_DATA)])
    assert ids["secret"] in by_type and ids["symmetric"] not in by_type
    client.activate(ids["symmetric"])
    active = client.locate(attributes=[ATTRIBUTES.create_attribute(enums.AttributeType.STATE, enums.State.ACTIVE)])
    assert ids["symmetric"] in active and ids["public"] not in active
    names = client.get_attribute_list(ids["certificate"])
    assert "Certificate Type" in names and "Cryptographic Algorithm" not in names

    # Attributes the engine does not model (here Object Group) are kept as sent, returned and located.
    created = client.proxy.send_request_payload(enums.Operation.CREATE, payloads.CreateRequestPayload(
        object_type=enums.ObjectType.SYMMETRIC_KEY, template_attribute=template(
            (enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM, enums.CryptographicAlgorithm.AES),
            (enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 128), (enums.AttributeType.OBJECT_GROUP, group))))
    group_filter = ATTRIBUTES.create_attribute(enums.AttributeType.OBJECT_GROUP, group)
    assert client.locate(attributes=[group_filter]) == [created.unique_identifier]
    _, listed = client.get_attributes(created.unique_identifier, ["Object Group"])
    assert [a.attribute_value.value for a in listed] == [group]


def test_gcm_and_raw_messages(conn, access):
    """KMIP 1.4 payloads sent as built here: AES-GCM with additional data and a separate tag."""
    host, port = conn["kmip_endpoint"].rsplit(":", 1)
    proxy = KMIPProxy(host=host, port=int(port), certfile=access.cert, keyfile=access.key, ca_certs=conn["ca_path"],
                      kmip_version=enums.KMIPVersion.KMIP_1_4)
    proxy.open()
    try:
        created = proxy.send_request_payload(enums.Operation.CREATE, payloads.CreateRequestPayload(
            object_type=enums.ObjectType.SYMMETRIC_KEY, template_attribute=template(
                (enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM, enums.CryptographicAlgorithm.AES),
                (enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 128))))
        uid = created.unique_identifier
        proxy.send_request_payload(enums.Operation.ACTIVATE, payloads.ActivateRequestPayload(
            unique_identifier=kattributes.UniqueIdentifier(uid)))
        params = kattributes.CryptographicParameters(block_cipher_mode=enums.BlockCipherMode.GCM, tag_length=16)
        sealed = proxy.send_request_payload(enums.Operation.ENCRYPT, payloads.EncryptRequestPayload(
            unique_identifier=uid, cryptographic_parameters=params, data=b"gcm text", auth_additional_data=b"aad"))
        assert len(sealed.iv_counter_nonce) == 12 and len(sealed.auth_tag) == 16
        opened = proxy.send_request_payload(enums.Operation.DECRYPT, payloads.DecryptRequestPayload(
            unique_identifier=uid, cryptographic_parameters=params, data=sealed.data,
            iv_counter_nonce=sealed.iv_counter_nonce, auth_additional_data=b"aad", auth_tag=sealed.auth_tag))
        assert opened.data == b"gcm text"
        with pytest.raises(kexceptions.OperationFailure) as err:
            proxy.send_request_payload(enums.Operation.DECRYPT, payloads.DecryptRequestPayload(
                unique_identifier=uid, cryptographic_parameters=params, data=sealed.data,
                iv_counter_nonce=sealed.iv_counter_nonce, auth_additional_data=b"other", auth_tag=sealed.auth_tag))
        assert err.value.reason == enums.ResultReason.CRYPTOGRAPHIC_FAILURE

        versions = proxy.discover_versions()
        assert [(v.major, v.minor) for v in versions.protocol_versions] == [(1, 4), (1, 3), (1, 2), (1, 1), (1, 0)]
        query = proxy.query(query_functions=[enums.QueryFunction.QUERY_OPERATIONS,
                                             enums.QueryFunction.QUERY_SERVER_INFORMATION])
        assert {enums.Operation.CREATE, enums.Operation.LOCATE, enums.Operation.SIGNATURE_VERIFY} <= \
            set(query.operations)
        assert query.vendor_identification == "OVHcloud OKMS emulator"
    finally:
        proxy.close()


def test_objects_belong_to_the_kms_of_the_certificate(conn, api, kms_id, client, tmp_path):
    other = order_kms(api, region="eu-west-sbg")
    mine = client.create(enums.CryptographicAlgorithm.AES, 256, name="isolated")
    with kmip_client(conn, Access(api, other, str(tmp_path))) as theirs:
        failure(lambda: theirs.get(mine), enums.ResultReason.ITEM_NOT_FOUND)
        failure(lambda: theirs.activate(mine), enums.ResultReason.ITEM_NOT_FOUND)
        assert mine not in theirs.locate()
        own = theirs.create(enums.CryptographicAlgorithm.AES, 128)
    assert api.get(f"/v2/okms/resource/{other}")["kmipObjectCount"] == 1
    assert own not in client.locate() and mine in client.locate()
    # A certificate naming this KMS but signed by the other KMS's CA (trusted by TLS) is refused.
    ca = saved_state(conn, lambda s: other in s["okms"])["okms"][other]["ca"]
    key = ec.generate_private_key(ec.SECP256R1())
    now = pki.utcnow()
    forged_cert, forged_key = tmp_path / "forged.pem", tmp_path / "forged.key"
    forged_cert.write_text(pki.issue_credential_certificate(ca, kms_id, str(uuid.uuid4()), key.public_key(),
                                                            now - datetime.timedelta(hours=1),
                                                            now + datetime.timedelta(days=1)))
    forged_key.write_text(pki.key_to_pem(key))
    forged = type("Forged", (), {"cert": str(forged_cert), "key": str(forged_key)})()
    with kmip_client(conn, forged) as client_forged:
        message = failure(lambda: client_forged.get(mine), enums.ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
    assert "not issued by this domain's CA" in message


def test_tls_and_certificates(conn, api, kms_id, access, tmp_path):
    host, port = conn["kmip_endpoint"].rsplit(":", 1)
    rsa_host, rsa_port = conn["kmip_rsa_endpoint"].rsplit(":", 1)
    served = {}
    for label, (h, p) in (("ecdsa", (host, port)), ("rsa", (rsa_host, rsa_port))):
        ctx = ssl.create_default_context(cafile=conn["ca_path"])  # verifies the chain and 127.0.0.1
        ctx.load_cert_chain(access.cert, access.key)
        with socket.create_connection((h, int(p)), timeout=10) as raw, ctx.wrap_socket(raw, server_hostname=h) as tls:
            served[label] = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).public_key()
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    assert isinstance(served["ecdsa"], ec.EllipticCurvePublicKey)
    assert isinstance(served["rsa"], rsa.RSAPublicKey)
    kms = api.get(f"/v2/okms/resource/{kms_id}")
    assert kms["kmipEndpoint"] == conn["kmip_endpoint"] and kms["kmipRsaEndpoint"] == conn["kmip_rsa_endpoint"]
    assert {r["kmipEndpoint"] for r in api.get("/v2/okms/reference/regions")} == {conn["kmip_endpoint"]}

    # An RSA access certificate through the RSA endpoint, with PyKMIP.
    with kmip_client(conn, Access(api, kms_id, str(tmp_path), rsa_key=True, name="rsa"), "kmip_rsa_endpoint") as c:
        assert str(uuid.UUID(c.create(enums.CryptographicAlgorithm.AES, 128)))

    def refused(cert=None, maximum=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(conn["ca_path"])
        if cert:
            ctx.load_cert_chain(*cert)
        if maximum:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version, ctx.maximum_version = ssl.TLSVersion.MINIMUM_SUPPORTED, maximum
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            with pytest.raises((ssl.SSLError, ConnectionError)):
                with ctx.wrap_socket(raw, server_hostname=host) as tls:
                    tls.sendall(b"\x42\x00\x78\x01\x00\x00\x00\x00")
                    assert tls.recv(1) == b""  # TLS 1.3: the refusal comes after the client's handshake

    refused()  # no client certificate
    state = os.path.dirname(conn["ca_path"])  # the emulator's own server certificate is no access certificate
    refused((os.path.join(state, "server.pem"), os.path.join(state, "server.key")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        tls_1_1 = ssl.TLSVersion.TLSv1_1
    try:
        refused((access.cert, access.key), tls_1_1)
    except ValueError:
        pass  # the local OpenSSL cannot even offer TLS 1.1

    # A revoked certificate passes TLS (its KMS's CA issued it) and gets nothing.
    revoked = Access(api, kms_id, str(tmp_path), name="revoked")
    with kmip_client(conn, revoked) as c:
        c.create(enums.CryptographicAlgorithm.AES, 128)
        api.delete(f"/v2/okms/resource/{kms_id}/credential/{revoked.id}")
        assert "revoked" in failure(lambda: c.create(enums.CryptographicAlgorithm.AES, 128),
                                    enums.ResultReason.AUTHENTICATION_NOT_SUCCESSFUL)
    line = audit_lines(conn)[-1]
    assert (line["plane"], line["identity"], line["method"], line["mutating"], line["result_reason"]) == \
        ("kmip", None, "Create", True, "AuthenticationNotSuccessful")


def test_iam_rights_okms_kmip(conn, api, kms_id, access, tmp_path):
    """A certificate whose identity is not the account needs okms:kmip:<op> policies (data_rights.py)."""
    with kmip_client(conn, access) as root:
        theirs = root.create(enums.CryptographicAlgorithm.AES, 128, name="not-for-app")
    app = Access(api, kms_id, str(tmp_path), urns=(USER,), name="app")
    kms_urn = f"urn:v1:eu:resource:okms:{kms_id}"
    policies = []
    try:
        with kmip_client(conn, app) as client:
            message = failure(lambda: client.create(enums.CryptographicAlgorithm.AES, 128),
                              enums.ResultReason.PERMISSION_DENIED)
            assert f"okms:kmip:create on KMS {kms_id}" in message and USER in message
            assert client.locate() == []
            policies.append(api.post("/v2/iam/policy", name="kmip-app", identities=[USER],
                                     resources=[{"urn": kms_urn}],
                                     permissions={"allow": [{"action": "okms:kmip:create"},
                                                            {"action": "okms:kmip:activate"}]}))
            uid = client.create(enums.CryptographicAlgorithm.AES, 128)
            client.activate(uid)
            message = failure(lambda: client.get(uid), enums.ResultReason.PERMISSION_DENIED)
            assert f"okms:kmip:get on KMIP object {uid} ({kms_urn}/kmip/{uid})" in message
            # Rights on one object: Locate shows that one only.
            policies.append(api.post("/v2/iam/policy", name="kmip-app-one", identities=[USER],
                                     resources=[{"urn": f"{kms_urn}/kmip/{uid}"}],
                                     permissions={"allow": [{"action": "okms:kmip:*"}]}))
            assert client.locate() == [uid]
            assert len(client.get(uid).value) == 16
            failure(lambda: client.get(theirs), enums.ResultReason.PERMISSION_DENIED)
            policies.append(api.post("/v2/iam/policy", name="kmip-app-no-get", identities=[USER],
                                     resources=[{"urn": kms_urn}],
                                     permissions={"deny": [{"action": "okms:kmip:get"}]}))
            assert "denied by IAM policy 'kmip-app-no-get'" in failure(lambda: client.get(uid),
                                                                         enums.ResultReason.PERMISSION_DENIED)
    finally:
        for policy in policies:
            api.delete(f"/v2/iam/policy/{policy['id']}")


def test_kmip_off_without_pykmip(tmp_path, monkeypatch):
    """Without PyKMIP the emulator starts all the same, KMIP off, and says so."""
    from okms_emulator.testing import running_emulator
    from conftest import Api, app_client

    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "sitecustomize.py").write_text("import sys\nsys.modules['kmip'] = None  # PyKMIP not installed\n")
    monkeypatch.setenv("PYTHONPATH", str(stub))
    log = tmp_path / "emulator.log"
    with running_emulator(str(tmp_path / "state"), log_path=str(log)) as off:
        assert off["kmip_endpoint"] is None and off["kmip_rsa_endpoint"] is None
        regions = Api(app_client(off)).get("/v2/okms/reference/regions")
        assert all(r["kmipEndpoint"] == f"{r['id']}.okms.ovh.net:5696" for r in regions)
    assert "KMIP listeners off: PyKMIP is not installed" in log.read_text()
    monkeypatch.delenv("PYTHONPATH")
    with running_emulator(str(tmp_path / "rsa-off"), ["--kmip-rsa-port", "-1"]) as no_rsa:
        assert no_rsa["kmip_endpoint"] and no_rsa["kmip_rsa_endpoint"] is None


def test_readme_kmip_example_runs_as_written(conn, access):
    from test_testing import readme_block

    namespace = {}
    exec(readme_block("### Example (PyKMIP)", "python"), namespace)  # noqa: S102 - the README's own code
    uid = namespace["kmip_round_trip"](conn, access.cert, access.key)
    with kmip_client(conn, access) as client:
        assert state_of(client, uid) == enums.State.DESTROYED
