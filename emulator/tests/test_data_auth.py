"""Data-plane authentication: the access certificate (mTLS) or, without one, an
OAuth2 access token of the emulator (``Authorization: Bearer`` or ``X-Vault-Token``)."""

import json
import time
import uuid

import requests

from test_mtls import issue

ERROR = {"error_code", "error_id", "errors", "request_id"}


def _audit(conn):
    with open(conn["audit_log"], encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _data_lines(conn, before, count, mine=lambda line: True):
    """The data-plane audit lines after ``before`` that are ``mine``, once ``count`` are there
    (a line is written just after its answer is sent)."""
    deadline = time.time() + 5
    while True:
        lines = [line for line in _audit(conn)[before:] if line["plane"] == "data" and mine(line)]
        if len(lines) >= count or time.time() > deadline:
            return lines
        time.sleep(0.05)


def test_token_in_either_header(conn, kms_id, token):
    base = f"{conn['data_endpoint']}/api/{kms_id}"
    for headers in ({"Authorization": "Bearer " + token}, {"X-Vault-Token": token}):
        for path in ("/v1/servicekey", "/v2/secret", "/v1/secret/config"):
            response = requests.get(base + path, headers=headers, verify=conn["ca_path"])
            assert response.status_code == 200, (headers.keys(), path, response.text)


def test_no_credential_or_a_bad_token_is_401(conn, kms_id, token):
    base = f"{conn['data_endpoint']}/api/{kms_id}"
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"X-Vault-Token": "not-a-token"},
                    {"Authorization": "Basic " + token}):
        for path in ("/v2/secret", "/v1/secret/data/any", "/v1/servicekey"):
            response = requests.get(base + path, headers=headers, verify=conn["ca_path"])
            assert response.status_code == 401, (headers, path, response.text)
            assert set(response.json()) == ERROR
    other = f"{conn['data_endpoint']}/api/{uuid.uuid4()}/v2/secret"
    response = requests.get(other, headers={"X-Vault-Token": token}, verify=conn["ca_path"])
    assert response.status_code == 404 and set(response.json()) == ERROR  # a token reaches every KMS of its account


def test_audit_identity_and_mutating_flags(conn, kms_id, data_session):
    before = len(_audit(conn))
    base = f"{conn['data_endpoint']}/api/{kms_id}"
    top = f"audit-{uuid.uuid4().hex[:8]}"
    path = top + "/s"
    calls = [("POST", "/v2/secret", {"path": path, "version": {"data": {"n": 1}}}, 200),
             ("GET", f"/v2/secret/{path}?includeData=true", None, 200),
             ("PUT", f"/v2/secret/{path}", {"version": {"data": {"n": 2}}}, 200),
             ("GET", f"/v1/secret/data/{path}", None, 200),
             ("LIST", f"/v1/secret/metadata/{top}", None, 200),
             ("GET", f"/v1/secret/metadata/{top}?list=true", None, 200),
             ("POST", f"/v1/secret/data/{path}", {"data": {"n": 3}}, 200),
             ("POST", f"/v1/secret/delete/{path}", {"versions": [1]}, 204),
             ("DELETE", f"/v2/secret/{path}", None, 204)]
    for method, url, body, status in calls:
        assert data_session.request(method, base + url, json=body).status_code == status, (method, url)
    lines = _data_lines(conn, before, len(calls),
                        lambda line: top in line["path"] or line["path"].endswith(f"/{kms_id}/v2/secret"))
    assert [(line["method"], line["status"], line["mutating"]) for line in lines] == [
        (method, status, method in ("POST", "PUT", "DELETE")) for method, _, _, status in calls]
    assert all(line["identity"] == f"oauth2:{conn['client_id']}" for line in lines)


def test_certificate_requests_unchanged(api, conn, kms_id, tmp_path):
    credential_id, pair = issue(api, kms_id, tmp_path, "secrets-mtls")
    base = f"{conn['data_endpoint']}/api/{kms_id}"
    path = f"mtls/{uuid.uuid4().hex[:8]}"
    before = len(_audit(conn))
    created = requests.post(base + "/v2/secret", json={"path": path, "version": {"data": {"via": "mtls"}}},
                            cert=pair, verify=conn["ca_path"])
    assert created.status_code == 200, created.text
    # A certificate decides alone: a bad token next to it changes nothing.
    read = requests.get(f"{base}/v1/secret/data/{path}", cert=pair, verify=conn["ca_path"],
                        headers={"X-Vault-Token": "not-a-token"})
    assert read.status_code == 200 and read.json()["data"]["data"] == {"via": "mtls"}
    lines = _data_lines(conn, before, 2,
                        lambda line: path in line["path"] or line["path"].endswith(f"/{kms_id}/v2/secret"))
    assert len(lines) == 2 and {line["identity"] for line in lines} == {f"certificate:{credential_id}"}
    api.delete(f"/v2/okms/resource/{kms_id}/credential/{credential_id}")
    revoked = requests.get(f"{base}/v1/secret/data/{path}", cert=pair, verify=conn["ca_path"])
    assert revoked.status_code == 401
