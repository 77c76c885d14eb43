"""Audit log: one JSON line per request, with a reliable "mutating" flag."""

import json

import requests

from conftest import Api, oauth_client
from okms_emulator.audit import is_mutating


def _lines(conn):
    with open(conn["audit_log"], encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_audit_lines(api, conn, kms_id):
    before = len(_lines(conn))
    api.get(f"/v2/okms/resource/{kms_id}")
    key = api.post(f"/v2/okms/resource/{kms_id}/serviceKey", name="audited", type="oct", size=128,
                   operations=["encrypt", "decrypt"])
    Api(oauth_client(conn)).get("/v2/okms/reference/regions")
    requests.get(conn["base_url"] + "/v2/okms/resource", verify=conn["ca_path"],
                 headers={"User-Agent": "audit-test/1.0 (okms_service_key)"})
    new = _lines(conn)[before:]
    for line in new:
        assert set(line) == {"time", "plane", "identity", "method", "path", "query", "status", "mutating", "fault",
                             "user_agent"}
        assert line["fault"] is None
    assert new[-1]["user_agent"] == "audit-test/1.0 (okms_service_key)"
    assert new[0]["user_agent"].startswith("python-requests")  # python-ovh sends requests' own
    get, post = new[0], new[1]
    assert get == {**get, "plane": "control", "identity": "account:xx1111-ovh", "method": "GET",
                   "path": f"/v2/okms/resource/{kms_id}", "status": 200, "mutating": False}
    assert post["method"] == "POST" and post["mutating"] is True and post["status"] == 200
    token = [l for l in new if l["path"] == "/auth/oauth2/token"]
    assert token and token[0]["mutating"] is False
    assert any(l["identity"] == f"oauth2:{conn['client_id']}" and l["path"] == "/v2/okms/reference/regions"
               for l in new)
    assert new[-1]["identity"] is None and new[-1]["status"] == 401
    assert key["id"]


def test_reads_do_not_mutate(api, conn, kms_id):
    before = len(_lines(conn))
    api.get("/v2/okms/resource")
    api.get(f"/v2/okms/resource/{kms_id}/credential")
    api.get("/me/notification/email/history")
    assert not any(l["mutating"] for l in _lines(conn)[before:])


def test_kmip_operations_that_mutate():
    """KMIP lines: the operation is the method; those that change objects are mutating, failed or not."""
    for operation in ("Create", "CreateKeyPair", "Register", "Activate", "Revoke", "Destroy", "Rekey",
                      "ModifyAttribute"):
        assert is_mutating("kmip", operation, "/kmip/x/y") is True, operation
    for operation in ("Get", "GetAttributes", "GetAttributeList", "Locate", "Encrypt", "Decrypt", "Sign",
                      "SignatureVerify", "Query", "DiscoverVersions", None):
        assert is_mutating("kmip", operation, "/kmip/x") is False, operation
    assert is_mutating("data", "Create", "/api/x") is False  # not an HTTP method on the REST planes
