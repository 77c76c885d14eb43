"""Data plane reached with real mutual TLS and issued credentials.

The data plane must refuse every certificate that is not a live credential of
the KMS in the path: revoked (401), expired (TLS handshake: certificate
expired), from a foreign CA (TLS handshake: unknown CA), and of another KMS
(403; a certificate naming this KMS but signed by another KMS's CA: 401).
"""

import datetime
import os
import socket
import ssl
import time
import warnings

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import URN, order_kms, saved_state, wait_ready
from okms_emulator import pki

DATA_ERROR_MEMBERS = {"error_code", "error_id", "errors", "request_id"}


def issue(api, okms_id, tmp_path, name="mtls"):
    cred = api.post(f"/v2/okms/resource/{okms_id}/credential", name=name, identityURNs=[URN])
    ready = wait_ready(api, okms_id, cred["id"])
    cert, key = tmp_path / f"{cred['id']}.pem", tmp_path / f"{cred['id']}.key"
    cert.write_text(ready["certificatePEM"])
    key.write_text(cred["privateKeyPEM"])
    return cred["id"], (str(cert), str(key))


def test_mtls_round_trip(api, conn, kms_id, tmp_path):
    cred_id, pair = issue(api, kms_id, tmp_path)
    url = f"{conn['data_endpoint']}/api/{kms_id}/v1/servicekey"
    ok = requests.get(url, cert=pair, verify=conn["ca_path"])
    assert ok.status_code == 200, ok.text
    assert "objects_list" in ok.json()

    no_cert = requests.get(url, verify=conn["ca_path"])
    assert no_cert.status_code == 401
    assert set(no_cert.json()) == {"error_code", "error_id", "errors", "request_id"}

    api.delete(f"/v2/okms/resource/{kms_id}/credential/{cred_id}")
    revoked = requests.get(url, cert=pair, verify=conn["ca_path"])
    assert revoked.status_code == 401


def kms_ca(conn, okms_id):
    """The KMS's ECDSA CA (certificate and key) as the emulator stores it."""
    return saved_state(conn, lambda state: okms_id in state["okms"])["okms"][okms_id]["ca"]


def forge(tmp_path, ca, okms_id, credential_id, not_before, not_after, name="forged"):
    """A certificate shaped exactly like an issued credential, signed by ``ca``; return (cert, key) paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_text(pki.issue_credential_certificate(ca, okms_id, credential_id, key.public_key(),
                                                          not_before, not_after))
    key_path.write_text(pki.key_to_pem(key))
    return str(cert_path), str(key_path)


def assert_handshake_refused(url, pair, ca_path, alert):
    """requests fails with an SSLError; the TLS alert the server sends names the reason.

    The alert is read on a bare TLS connection: with TLS 1.3 the server checks
    the client certificate after the client's side of the handshake, and a
    request already sent can make the client see a reset instead of the alert.
    """
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, cert=pair, verify=ca_path)
    ctx = ssl.create_default_context(cafile=ca_path)
    ctx.load_cert_chain(*pair)
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with pytest.raises(ssl.SSLError) as err:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                tls.recv(1)
    assert alert in str(err.value).lower(), err.value


def test_revoked_certificate_is_refused(api, conn, kms_id, tmp_path):
    cred_id, pair = issue(api, kms_id, tmp_path, "revoked")
    url = f"{conn['data_endpoint']}/api/{kms_id}/v1/servicekey"
    assert requests.get(url, cert=pair, verify=conn["ca_path"]).status_code == 200
    assert api.delete(f"/v2/okms/resource/{kms_id}/credential/{cred_id}")["status"] == "DELETING"
    refused = requests.get(url, cert=pair, verify=conn["ca_path"])  # revoked at once, while still DELETING
    assert refused.status_code == 401 and set(refused.json()) == DATA_ERROR_MEMBERS
    deadline = time.time() + 10
    while any(c["id"] == cred_id for c in api.get(f"/v2/okms/resource/{kms_id}/credential")):
        assert time.time() < deadline
        time.sleep(0.05)
    # gone from the control plane: still refused, on every path
    for path in ("/v1/servicekey", "/v1/random?length=8"):
        refused = requests.get(f"{conn['data_endpoint']}/api/{kms_id}{path}", cert=pair, verify=conn["ca_path"])
        assert refused.status_code == 401, path


@pytest.fixture(scope="module")
def live_credential(api, kms_id, tmp_path_factory):
    """The id of a READY credential of the session's KMS, for forged certificates that borrow it."""
    return issue(api, kms_id, tmp_path_factory.mktemp("live"), "live")[0]


def test_expired_certificate_fails_the_handshake(conn, kms_id, live_credential, tmp_path):
    # A live credential's id and the KMS's own CA: only the validity period is wrong.
    cred_id = live_credential
    now = pki.utcnow()
    pair = forge(tmp_path, kms_ca(conn, kms_id), kms_id, cred_id,
                 now - datetime.timedelta(days=31), now - datetime.timedelta(days=1), "expired")
    url = f"{conn['data_endpoint']}/api/{kms_id}/v1/servicekey"
    assert_handshake_refused(url, pair, conn["ca_path"], "certificate expired")


def test_foreign_ca_certificate_fails_the_handshake(conn, kms_id, live_credential, tmp_path):
    # A CA of our own that copies the KMS CA's name: same subject, other key.
    cred_id = live_credential
    real = pki.load_cert(kms_ca(conn, kms_id)["certificatePEM"])
    impostor_key = ec.generate_private_key(ec.SECP384R1())
    impostor = {"keyPEM": pki.key_to_pem(impostor_key),
                "certificatePEM": pki.cert_to_pem(pki._make_ca(real.subject, impostor_key, 30))}
    now = pki.utcnow()
    pair = forge(tmp_path, impostor, kms_id, cred_id, now - datetime.timedelta(hours=1),
                 now + datetime.timedelta(days=30), "foreign")
    url = f"{conn['data_endpoint']}/api/{kms_id}/v1/servicekey"
    assert_handshake_refused(url, pair, conn["ca_path"], "unknown ca")


def test_certificate_of_another_kms(api, conn, kms_id, live_credential, tmp_path):
    other = order_kms(api, region="eu-west-sbg")
    other_cred, pair = issue(api, other, tmp_path, "other")
    wrong = requests.get(f"{conn['data_endpoint']}/api/{kms_id}/v1/servicekey", cert=pair, verify=conn["ca_path"])
    assert wrong.status_code == 403 and set(wrong.json()) == DATA_ERROR_MEMBERS
    right = requests.get(f"{conn['data_endpoint']}/api/{other}/v1/servicekey", cert=pair, verify=conn["ca_path"])
    assert right.status_code == 200
    # Naming this KMS is not enough: signed by the other KMS's CA (trusted by TLS), it is refused.
    now = pki.utcnow()
    for cred_id in (live_credential, other_cred):
        forged = forge(tmp_path, kms_ca(conn, other), kms_id, cred_id, now - datetime.timedelta(hours=1),
                       now + datetime.timedelta(days=30), f"cross-{cred_id}")
        refused = requests.get(f"{conn['data_endpoint']}/api/{kms_id}/v1/servicekey", cert=forged,
                               verify=conn["ca_path"])
        assert refused.status_code == 401 and set(refused.json()) == DATA_ERROR_MEMBERS


def test_untrusted_certificate_fails_handshake(conn, kms_id, tmp_path):
    # the emulator's own server certificate is not issued by any KMS CA
    state = os.path.dirname(conn["ca_path"])
    pair = (os.path.join(state, "server.pem"), os.path.join(state, "server.key"))
    assert_handshake_refused(f"{conn['data_endpoint']}/api/{kms_id}/v1/servicekey", pair, conn["ca_path"],
                             "unknown ca")


def test_tls_1_1_refused(conn):
    ctx = ssl.create_default_context(cafile=conn["ca_path"])
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    except ValueError:
        pytest.skip("local OpenSSL cannot speak TLS 1.1")
    host, port = conn["data_endpoint"].rsplit("//", 1)[1].split(":")
    with socket.create_connection((host, int(port))) as sock:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(sock, server_hostname=host)
