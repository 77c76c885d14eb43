"""Data plane reached with real mutual TLS and issued credentials."""

import os
import ssl
import time
import warnings

import pytest
import requests

from conftest import URN, order_kms, wait_ready


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


def test_certificate_of_another_kms(api, conn, kms_id, tmp_path):
    other = order_kms(api, region="eu-west-sbg")
    _, pair = issue(api, other, tmp_path, "other")
    wrong = requests.get(f"{conn['data_endpoint']}/api/{kms_id}/v1/servicekey", cert=pair, verify=conn["ca_path"])
    assert wrong.status_code == 403
    right = requests.get(f"{conn['data_endpoint']}/api/{other}/v1/servicekey", cert=pair, verify=conn["ca_path"])
    assert right.status_code == 200


def test_untrusted_certificate_fails_handshake(conn, kms_id, tmp_path):
    # the emulator's own server certificate is not issued by any KMS CA
    state = os.path.dirname(conn["ca_path"])
    pair = (os.path.join(state, "server.pem"), os.path.join(state, "server.key"))
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{conn['data_endpoint']}/api/{kms_id}/v1/servicekey", cert=pair, verify=conn["ca_path"])


def test_tls_1_1_refused(conn):
    ctx = ssl.create_default_context(cafile=conn["ca_path"])
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    except ValueError:
        pytest.skip("local OpenSSL cannot speak TLS 1.1")
    import socket
    host, port = conn["data_endpoint"].rsplit("//", 1)[1].split(":")
    with socket.create_connection((host, int(port))) as sock:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(sock, server_hostname=host)
