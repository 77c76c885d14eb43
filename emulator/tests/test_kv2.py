"""The Vault-KV2-compatible API on the wire (``/api/{okmsId}/v1/secret/...``),
raw and percent-encoded paths; the same store as the v2 APIs."""

import urllib.parse
import uuid

import pytest

from secret_planes import ControlPlane

ENVELOPE = {"request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings", "auth"}
VERSION_METADATA = {"created_time", "custom_metadata", "deletion_time", "destroyed", "version"}
ERROR = {"error_code", "error_id", "errors", "request_id"}
UNKNOWN_SECRET_CODE = 17125377


class KV:
    def __init__(self, session, data_endpoint, okms_id, encoded):
        self.session = session
        self.base = f"{data_endpoint}/api/{okms_id}/v1/secret"
        self.encoded = encoded

    def url(self, kind, path="", **query):
        quoted = urllib.parse.quote(path, safe="") if self.encoded else path
        url = f"{self.base}/{kind}/{quoted}" if path else f"{self.base}/{kind}"
        return url + ("?" + urllib.parse.urlencode(query) if query else "")

    def call(self, method, kind, path="", body=None, **query):
        response = self.session.request(method, self.url(kind, path, **query), json=body)
        # Vault clients (hvac) read a JSON body only when it is typed exactly so.
        if response.content:
            assert response.headers["Content-Type"] == "application/json"
        return response


def ok(response, status=200):
    assert response.status_code == status, response.text
    if status == 204:
        assert not response.content
        return None
    body = response.json()
    assert set(body) == ENVELOPE, body
    assert (body["lease_id"], body["renewable"], body["lease_duration"]) == ("", False, 0)
    return body["data"]


def error(response, status, mentions=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert ERROR <= set(body), body
    if mentions:
        assert mentions in " ".join(body["errors"]), body
    return body


@pytest.fixture(params=[False, True], ids=["raw", "encoded"])
def kv(request, conn, kms_id, data_session):
    return KV(data_session, conn["data_endpoint"], kms_id, request.param)


@pytest.fixture
def control(api, kms_id):
    return ControlPlane(api, kms_id)


def folder():
    return f"kv2/{uuid.uuid4().hex[:8]}"


def test_write_and_read(kv, control):
    path = folder() + "/app/db"
    written = ok(kv.call("POST", "data", path, {"data": {"password": "one"}}))
    assert set(written) == VERSION_METADATA
    assert (written["version"], written["deletion_time"], written["destroyed"]) == (1, "", False)
    assert ok(kv.call("PUT", "data", path, {"data": {"password": "one"}, "options": {}}))["version"] == 2  # identical
    current = ok(kv.call("GET", "data", path))
    assert current["data"] == {"password": "one"} and current["metadata"]["version"] == 2
    ok(kv.call("POST", "data", path, {"data": {"password": "three"}}))
    assert ok(kv.call("GET", "data", path, version=1))["data"] == {"password": "one"}
    assert ok(kv.call("GET", "data", path, version=0))["data"] == {"password": "three"}  # 0: the current one
    # one store: the v2 control plane sees the KV2 versions
    got = control.get(path, include_data=True)[1]
    assert got["metadata"]["currentVersion"] == 3 and got["version"]["data"] == {"password": "three"}

    missing = error(kv.call("GET", "data", path + "-missing"), 404)
    assert missing["error_code"] == UNKNOWN_SECRET_CODE
    error(kv.call("GET", "data", path, version=9), 404)
    error(kv.call("POST", "data", path, {"data": ["not", "an", "object"]}), 400)
    error(kv.call("POST", "data", path, {"data": {"a": 1}, "colour": "blue"}), 400)
    error(kv.call("POST", "data", "semi;colon", {"data": {"a": 1}}), 400)
    error(kv.call("GET", "data", path, version="x"), 400)


def test_check_and_set(kv):
    path = folder() + "/cas"
    error(kv.call("POST", "data", path, {"data": {"n": 0}, "options": {"cas": 1}}), 400, "cas")  # absent
    assert ok(kv.call("POST", "data", path, {"data": {"n": 1}, "options": {"cas": 0}}))["version"] == 1
    error(kv.call("POST", "data", path, {"data": {"n": 2}, "options": {"cas": 0}}), 400, "cas")  # 0: only if absent
    error(kv.call("POST", "data", path, {"data": {"n": 2}, "options": {"cas": 5}}), 400, "cas")
    assert ok(kv.call("POST", "data", path, {"data": {"n": 2}, "options": {"cas": 1}}))["version"] == 2
    ok(kv.call("POST", "metadata", path, {"cas_required": True}), 204)
    error(kv.call("POST", "data", path, {"data": {"n": 3}}), 400, "cas")
    assert ok(kv.call("POST", "data", path, {"data": {"n": 3}, "options": {"cas": 2}}))["version"] == 3
    error(kv.call("POST", "data", path, {"data": {"n": 4}, "options": {"cas": "2"}}), 400, "cas")


def test_list(kv):
    top = folder()
    for name in ("app/db", "app/cache/main", "web"):
        ok(kv.call("POST", "data", f"{top}/{name}", {"data": {"n": name}}))
    assert ok(kv.call("LIST", "metadata", top))["keys"] == ["app/", "web"]  # the next level only
    assert ok(kv.call("GET", "metadata", top, list="true"))["keys"] == ["app/", "web"]
    assert ok(kv.call("LIST", "metadata", top + "/app"))["keys"] == ["cache/", "db"]
    trailing = kv.session.request("LIST", kv.url("metadata", top + "/app") + "/")
    assert ok(trailing)["keys"] == ["cache/", "db"]
    assert top.split("/")[0] + "/" in ok(kv.call("LIST", "metadata"))["keys"]  # the root
    error(kv.call("LIST", "metadata", top + "/nothing"), 404)
    error(kv.call("LIST", "data", top), 405)


def test_delete_undelete_destroy_are_version_states(kv, control):
    """KV2 delete = deactivate, undelete = activate, destroy = delete (final)."""
    path = folder() + "/states"
    ok(kv.call("POST", "data", path, {"data": {"n": 1}}))
    ok(kv.call("POST", "data", path, {"data": {"n": 2}}))
    ok(kv.call("DELETE", "data", path), 204)  # the latest version
    gone = error(kv.call("GET", "data", path), 404)
    assert gone["data"]["data"] is None and gone["data"]["metadata"]["deletion_time"] != ""
    assert control.version(path, 2)[1]["state"] == "DEACTIVATED"
    ok(kv.call("POST", "undelete", path, {"versions": [2]}), 204)
    assert ok(kv.call("GET", "data", path))["data"] == {"n": 2}
    assert control.version(path, 2)[1]["state"] == "ACTIVE"

    ok(kv.call("POST", "delete", path, {"versions": [1, 7]}), 204)  # unknown versions are skipped
    assert control.version(path, 1)[1]["state"] == "DEACTIVATED"
    ok(kv.call("PUT", "destroy", path, {"versions": [1]}), 204)
    assert control.version(path, 1)[1]["state"] == "DELETED"
    ok(kv.call("POST", "undelete", path, {"versions": [1]}), 204)  # skipped: destroyed is final
    versions = ok(kv.call("GET", "metadata", path))["versions"]
    assert versions["1"]["destroyed"] is True
    assert (versions["2"]["destroyed"], versions["2"]["deletion_time"]) == (False, "")
    destroyed = error(kv.call("GET", "data", path, version=1), 404)
    assert destroyed["data"]["metadata"]["destroyed"] is True
    # a version deactivated through the control plane is "deleted" for KV2
    control.set_state(path, 2, "DEACTIVATED")
    error(kv.call("GET", "data", path), 404)
    error(kv.call("POST", "delete", path, {"versions": []}), 400)
    error(kv.call("POST", "delete", path + "-missing", {"versions": [1]}), 404)


def test_metadata(kv, control):
    path = folder() + "/meta"
    ok(kv.call("POST", "data", path, {"data": {"n": 1}}))
    meta = ok(kv.call("GET", "metadata", path))
    assert set(meta) == {"cas_required", "created_time", "current_version", "custom_metadata",
                         "delete_version_after", "max_versions", "oldest_version", "updated_time", "urn", "versions"}
    assert (meta["current_version"], meta["oldest_version"], meta["max_versions"]) == (1, 0, 0)
    assert meta["urn"] == f"urn:v1:eu:resource:okms:{control.okms_id}/secret/{path}"
    ok(kv.call("POST", "metadata", path, {"max_versions": 2, "delete_version_after": "2h",
                                          "custom_metadata": {"a": "1", "b": "2"}}), 204)
    v2 = control.get(path)[1]["metadata"]
    assert (v2["maxVersions"], v2["deactivateVersionAfter"], v2["customMetadata"], v2["currentVersion"]) == \
        (2, "2h", {"a": "1", "b": "2"}, 1)  # metadata only: no new version
    ok(kv.call("PATCH", "metadata", path, {"custom_metadata": {"a": None, "c": "3"}}), 204)
    assert ok(kv.call("GET", "metadata", path))["custom_metadata"] == {"b": "2", "c": "3"}
    for n in (2, 3):
        ok(kv.call("POST", "data", path, {"data": {"n": n}}))
    meta = ok(kv.call("GET", "metadata", path))
    assert sorted(meta["versions"]) == ["2", "3"] and meta["oldest_version"] == 2
    assert meta["versions"]["3"]["deletion_time"] != ""  # delete_version_after 2h: scheduled, as Vault shows it
    error(kv.call("POST", "metadata", path, {"max_versions": -1}), 400)
    error(kv.call("POST", "metadata", path, {"delete_version_after": "soon"}), 400)
    error(kv.call("POST", "metadata", path + "-missing", {"max_versions": 3}), 404)
    ok(kv.call("DELETE", "metadata", path), 204)  # every version
    error(kv.call("GET", "data", path), 404)
    error(kv.call("GET", "metadata", path), 404)


def test_patch_and_subkeys(kv):
    path = folder() + "/patch"
    ok(kv.call("POST", "data", path, {"data": {"a": 1, "nested": {"x": 1, "y": {"z": 2}}}}))
    patched = ok(kv.call("PATCH", "data", path, {"data": {"a": None, "b": 2, "nested": {"x": 5}},
                                                 "options": {"cas": 1}}))
    assert patched["version"] == 2
    assert ok(kv.call("GET", "data", path))["data"] == {"b": 2, "nested": {"x": 5, "y": {"z": 2}}}
    error(kv.call("PATCH", "data", path, {"data": {"c": 3}, "options": {"cas": 1}}), 400, "cas")
    sub = ok(kv.call("GET", "subkeys", path))
    assert sub["subkeys"] == {"b": None, "nested": {"x": None, "y": {"z": None}}} and sub["metadata"]["version"] == 2
    assert ok(kv.call("GET", "subkeys", path, depth=1))["subkeys"] == {"b": None, "nested": None}
    assert ok(kv.call("GET", "subkeys", path, version=1))["subkeys"] == {"a": None, "nested": {"x": None,
                                                                                            "y": {"z": None}}}
    error(kv.call("PATCH", "data", path + "-missing", {"data": {"c": 3}}), 404)


def test_engine_configuration(conn, kms_id, data_session):
    kv = KV(data_session, conn["data_endpoint"], kms_id, False)
    config = ok(kv.call("GET", "config"))
    assert config == {"cas_required": False, "delete_version_after": "0s", "max_versions": 10}
    ok(kv.call("POST", "config", body={"max_versions": 12, "delete_version_after": "0s"}), 204)
    try:
        assert ok(kv.call("GET", "config"))["max_versions"] == 12
        v2 = data_session.get(f"{conn['data_endpoint']}/api/{kms_id}/v2/secretConfig").json()
        assert v2 == {"casRequired": False, "deactivateVersionAfter": "0s", "maxVersions": 12}
        error(kv.call("POST", "config", body={"max_versions": 24001}), 400)
        error(kv.call("POST", "config", body={"colour": "blue"}), 400)
    finally:
        ok(kv.call("POST", "config", body={"max_versions": 10}), 204)
