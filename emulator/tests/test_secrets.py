"""Secret Manager rules, each on both planes (control v2, data-plane v2) and with
both URL forms of a path (raw ``a/b`` and percent-encoded ``a%2Fb``).

The Vault-KV2 API is tested in test_kv2.py, hvac against it in test_hvac.py.
"""

import time
import uuid

import ovh
import pytest

from conftest import order_kms
from secret_planes import ControlPlane, DataPlaneV2, refused

SECRET = "Client::BadRequest::Secret"
UNKNOWN_SECRET_CODE = 17125377  # okms-api.md: the data plane's 404 for an unknown secret


def new_path(label):
    # "/" for the hierarchy, and every other character a path may hold
    return f"rules/{label}/{uuid.uuid4().hex[:8]}/db:main=1@site.example-x_y"


@pytest.fixture(params=[("control", False), ("control", True), ("data", False), ("data", True)],
                ids=["control-raw", "control-encoded", "data-raw", "data-encoded"])
def plane(request, api, conn, kms_id, data_session):
    kind, encoded = request.param
    if kind == "control":
        return ControlPlane(api, kms_id, encoded)
    return DataPlaneV2(data_session, conn["data_endpoint"], kms_id, encoded)


@pytest.fixture
def planes(api, conn, kms_id, data_session):
    return ControlPlane(api, kms_id), DataPlaneV2(data_session, conn["data_endpoint"], kms_id)


def test_create_and_read(plane):
    path = new_path("create")
    status, body = plane.create(path, {"user": "app", "password": "s3cret"},
                                {"customMetadata": {"owner": "team-a"}, "deactivateVersionAfter": "1d"})
    assert status == 200 and body["path"] == path and "version" not in body
    meta = body["metadata"]
    assert (meta["currentVersion"], meta["oldestVersion"], meta["customMetadata"]) == (1, 0, {"owner": "team-a"})
    # Unset settings defer to the KMS (false, 0, "0s"); a duration is kept verbatim.
    assert (meta["casRequired"], meta["maxVersions"], meta["deactivateVersionAfter"]) == (False, 0, "1d")
    assert meta["createdAt"] == meta["updatedAt"]

    status, got = plane.get(path)
    assert status == 200 and "version" not in got  # includeData defaults to false: no data
    status, got = plane.get(path, include_data=True)
    assert got["version"]["data"] == {"user": "app", "password": "s3cret"}
    assert (got["version"]["id"], got["version"]["state"]) == (1, plane.state("active"))
    urn = got["iam"]["urn"] if plane.name == "control" else got["metadata"]["urn"]
    assert urn == f"urn:v1:eu:resource:okms:{plane.okms_id}/secret/{path}"
    status, got = plane.get(path, include_data=False, version=1)
    assert status == 200 and got["version"]["id"] == 1 and "data" not in got["version"]

    refused(plane, plane.create(path, {"other": "data"}), 400, "Client::BadRequest", "already exists")
    missing = refused(plane, plane.get(path + "-missing"), 404, "Client::NotFound")
    if plane.name == "data":
        assert missing["error_code"] == UNKNOWN_SECRET_CODE
    assert plane.delete(path)[0] in (200, 204)
    refused(plane, plane.get(path), 404, "Client::NotFound")
    refused(plane, plane.delete(path), 404, "Client::NotFound")


def test_every_data_write_is_a_new_version(plane):
    path = new_path("versions")
    plane.create(path, {"k": "v"})
    assert plane.update(path, {"k": "v"})[1]["metadata"]["currentVersion"] == 2  # identical data: still new
    status, body = plane.update(path, {"k": "v"})
    assert status == 200 and body["metadata"]["currentVersion"] == 3
    status, body = plane.update(path, metadata={"customMetadata": {"a": "1"}})  # metadata only: no version
    assert body["metadata"]["currentVersion"] == 3 and body["metadata"]["customMetadata"] == {"a": "1"}
    status, version = plane.add_version(path, {"k": "w"})
    assert status == 200 and version["id"] == 4 and version["state"] == plane.state("active")
    versions = plane.all_versions(path)
    assert [v["id"] for v in versions] == [1, 2, 3, 4] and all("data" not in v for v in versions)
    assert plane.get(path, include_data=True, version=1)[1]["version"]["data"] == {"k": "v"}
    assert plane.get(path, include_data=True)[1]["version"]["data"] == {"k": "w"}
    assert plane.version(path, 4, include_data=True)[1]["data"] == {"k": "w"}
    assert "data" not in plane.version(path, 4)[1]
    refused(plane, plane.version(path, 9), 404, "Client::NotFound")


def test_versions_beyond_max_versions_are_pruned(plane):
    path = new_path("prune")
    plane.create(path, {"n": 1}, {"maxVersions": 3})
    for n in range(2, 6):
        plane.update(path, {"n": n})
    assert [v["id"] for v in plane.all_versions(path)] == [3, 4, 5]
    assert plane.get(path)[1]["metadata"]["oldestVersion"] == 3
    refused(plane, plane.get(path, include_data=True, version=1), 404, "Client::NotFound", "pruned")
    # Lowering maxVersions prunes at once; 0 hands the choice back to the KMS (10).
    assert plane.update(path, metadata={"maxVersions": 2})[1]["metadata"]["oldestVersion"] == 4
    assert [v["id"] for v in plane.all_versions(path)] == [4, 5]
    plane.update(path, metadata={"maxVersions": 0})
    for n in range(6, 17):
        plane.add_version(path, {"n": n})
    meta = plane.get(path)[1]["metadata"]
    assert (meta["currentVersion"], meta["oldestVersion"], meta["maxVersions"]) == (16, 7, 0)
    assert [v["id"] for v in plane.all_versions(path)] == list(range(7, 17))


def test_version_states(plane):
    path = new_path("states")
    plane.create(path, {"n": 1})
    plane.update(path, {"n": 2})
    status, version = plane.set_state(path, 2, "DEACTIVATED")
    assert status == 200 and version["state"] == plane.state("deactivated") and version["deactivatedAt"]
    assert "data" not in version
    # Deactivated: 200, the state, never the data.
    status, got = plane.get(path, include_data=True)
    assert status == 200 and got["version"]["state"] == plane.state("deactivated") and "data" not in got["version"]
    assert "data" not in plane.version(path, 2, include_data=True)[1]
    # ... but the data is kept: reactivated, it is back.
    status, version = plane.set_state(path, 2, "ACTIVE")
    assert version["state"] == plane.state("active") and "deactivatedAt" not in version
    assert plane.get(path, include_data=True)[1]["version"]["data"] == {"n": 2}
    # Deleted is final: no data, no way back.
    assert plane.set_state(path, 1, "DELETED")[1]["state"] == plane.state("deleted")
    assert "data" not in plane.version(path, 1, include_data=True)[1]
    refused(plane, plane.set_state(path, 1, "ACTIVE"), 400, "Client::BadRequest", "deleted")
    refused(plane, plane.set_state(path, 1, "DEACTIVATED"), 400, "Client::BadRequest", "deleted")
    assert plane.set_state(path, 1, "DELETED")[0] == 200
    assert plane.version(path, 1)[1]["state"] == plane.state("deleted")
    refused(plane, plane.request("PUT", plane._secret(path, "/version/2"), {"state": "gone"}), 400)


def test_cas(plane):
    path = new_path("cas")
    plane.create(path, {"n": 1})
    refused(plane, plane.update(path, {"n": 2}, cas=5), 400, "Client::BadRequest", "cas")
    assert plane.update(path, {"n": 2}, cas=1)[1]["metadata"]["currentVersion"] == 2
    refused(plane, plane.add_version(path, {"n": 3}, cas=1), 400, "Client::BadRequest", "cas")
    assert plane.add_version(path, {"n": 3}, cas=2)[1]["id"] == 3

    # casRequired on the secret: every data write needs cas; a metadata-only write does not.
    assert plane.update(path, metadata={"casRequired": True})[1]["metadata"]["casRequired"] is True
    refused(plane, plane.update(path, {"n": 4}), 400, SECRET + "CasMinRequired", "cas")
    refused(plane, plane.add_version(path, {"n": 4}), 400, SECRET + "CasMinRequired", "cas")
    assert plane.update(path, metadata={"customMetadata": {"no": "cas"}})[0] == 200

    # A metadata change in the same request is applied before the cas check ...
    refused(plane, plane.update(path, {"n": 4}, {"customMetadata": {"step": "kept"}}, cas=1), 400, mentions="cas")
    meta = plane.get(path)[1]["metadata"]
    assert meta["customMetadata"] == {"step": "kept"} and meta["currentVersion"] == 3
    # ... so switching casRequired off in the same request lets the write through.
    status, body = plane.update(path, {"n": 4}, {"casRequired": False})
    assert status == 200 and body["metadata"]["currentVersion"] == 4 and body["metadata"]["casRequired"] is False


def test_refusals(plane):
    path = new_path("refusals")

    def create(path_=path, data=None, **metadata):
        return plane.create(path_, {"k": "v"} if data is None else data, metadata or None)

    for bad in ("white space", "semi;colon", "per%cent", "/leading", "trailing/", "dou//ble", ""):
        refused(plane, create(bad), 400, SECRET + "PathInvalidCharacter")
    refused(plane, create("p" * 256), 400, SECRET + "PathMaxExceeded")
    for bad_data in (["a", "list"], "text", 3):
        refused(plane, create(data=bad_data), 400, SECRET + "DataInvalidKeyValueJson")
    refused(plane, create(data={"blob": "x" * (64 * 1024)}), 400, SECRET + "DataMaxExceeded")
    refused(plane, create(customMetadata={f"k{i}": "v" for i in range(65)}), 400, SECRET + "CustomMetadataMaxExceeded")
    refused(plane, create(customMetadata={"": "v"}), 400, SECRET + "CustomMetadataKeyMinRequired")
    refused(plane, create(customMetadata={"a b": "v"}), 400, SECRET + "CustomMetadataKeyInvalidCharacter")
    refused(plane, create(customMetadata={"k" * 129: "v"}), 400, SECRET + "CustomMetadataKeyMaxExceeded")
    for duration in ("soon", "-1h", "1y", "1h30"):
        refused(plane, create(deactivateVersionAfter=duration), 400, SECRET + "DeactivateVersionAfterInvalidDuration")
    refused(plane, create(maxVersions=24001), 400, SECRET + "MaxVersionsMaxExceeded")
    refused(plane, create(maxVersions=-1), 400, SECRET + "MaxVersionsMinRequired")
    refused(plane, plane.get(path), 404, "Client::NotFound")  # nothing refused was stored

    # The limits themselves are accepted.
    edge = "e/" + "x" * 253
    assert create(edge, {"blob": "x" * (64 * 1024 - 20)}, customMetadata={f"k{i}": "v" for i in range(64)},
                  deactivateVersionAfter="1h30m15s")[0] == 200
    assert plane.get(edge)[1]["metadata"]["deactivateVersionAfter"] == "1h30m15s"
    plane.delete(edge)

    plane.create(path, {"k": "v"})
    refused(plane, plane.get("semi;colon"), 400, SECRET + "PathInvalidCharacter")
    refused(plane, plane.get(path, version=0), 400, SECRET + "VersionMinRequired")
    refused(plane, plane.get(path, version=24001), 400, SECRET + "VersionMaxExceeded")
    refused(plane, plane.version(path, 0), 400, SECRET + "VersionMinRequired")
    refused(plane, plane.update(path), 400, SECRET + "FieldRequired")
    refused(plane, plane.update(path, {"k": "w"}, cas=-1), 400, SECRET + "CasMinRequired")
    refused(plane, plane.update(path, {"k": "w"}, cas=24001), 400, SECRET + "CasMaxExceeded")
    refused(plane, plane.update(path, "not an object"), 400)
    refused(plane, plane.request("PUT", plane._secret(path), {"metadata": {"colour": "blue"}}), 400)
    assert plane.get(path)[1]["metadata"]["currentVersion"] == 1


def test_deactivate_version_after(planes):
    """Lazily applied: a version past its time is deactivated when next read, as of its deadline."""
    paths = {}
    for plane in planes:
        paths[plane] = new_path("expiry")
        status, body = plane.create(paths[plane], {"n": 1}, {"deactivateVersionAfter": "400ms"})
        assert status == 200 and body["metadata"]["deactivateVersionAfter"] == "400ms"
        assert plane.get(paths[plane], include_data=True)[1]["version"]["data"] == {"n": 1}
    time.sleep(0.5)
    for plane, path in paths.items():
        version = plane.get(path, include_data=True)[1]["version"]
        assert version["state"] == plane.state("deactivated") and "data" not in version
        created = time.mktime(time.strptime(version["createdAt"][:19], "%Y-%m-%dT%H:%M:%S"))
        deactivated = time.mktime(time.strptime(version["deactivatedAt"][:19], "%Y-%m-%dT%H:%M:%S"))
        assert 0 <= deactivated - created <= 1  # the deadline, not the moment it was noticed
        # A new version starts its own clock; a reactivated one stays active.
        assert plane.update(path, {"n": 2})[0] == 200
        assert plane.get(path, include_data=True)[1]["version"]["data"] == {"n": 2}
        plane.set_state(path, 1, "ACTIVE")
        assert plane.version(path, 1, include_data=True)[1]["data"] == {"n": 1}


def test_one_store_for_both_planes(planes):
    control, data = planes
    path = new_path("shared")
    control.create(path, {"from": "control"})
    assert data.get(path, include_data=True)[1]["version"]["data"] == {"from": "control"}
    data.update(path, {"from": "data"}, cas=1)
    version = control.get(path, include_data=True)[1]["version"]
    assert (version["id"], version["state"], version["data"]) == (2, "ACTIVE", {"from": "data"})
    data.set_state(path, 1, "DEACTIVATED")
    assert control.version(path, 1)[1]["state"] == "DEACTIVATED" and data.version(path, 1)[1]["state"] == "deactivated"
    control.delete(path)
    refused(data, data.get(path), 404)


@pytest.mark.parametrize("kind", ["control", "data"])
def test_lists_are_paged(kind, api, conn, kms_id, data_session):
    plane = ControlPlane(api, kms_id) if kind == "control" else DataPlaneV2(data_session, conn["data_endpoint"], kms_id)
    prefix = f"paged/{uuid.uuid4().hex[:8]}"
    mine = [f"{prefix}/s{i}" for i in range(5)]
    for path in mine:
        plane.create(path, {"p": path})
    seen, cursor = [], None
    while True:
        headers = {"X-Pagination-Size": "10"}
        if cursor:
            headers["X-Pagination-Cursor"] = cursor
        status, page = plane.list(headers)
        assert status == 200 and len(page) <= 10
        assert all("version" not in item for item in page)  # a list never carries data
        seen += [item["path"] for item in page]
        cursor = plane.last_headers.get("X-Pagination-Cursor-Next")
        if not cursor:
            break
    assert seen == sorted(seen) and [p for p in seen if p.startswith(prefix)] == mine
    refused(plane, plane.list({"X-Pagination-Cursor": "forged"}), 400,
            "Client::BadRequest::SecretPaginationCursorInvalidValue")
    for n in range(2, 6):
        plane.update(mine[0], {"n": n})
    status, first = plane.versions(mine[0], {"X-Pagination-Size": "2"})
    cursor = plane.last_headers["X-Pagination-Cursor-Next"]
    status, second = plane.versions(mine[0], {"X-Pagination-Size": "2", "X-Pagination-Cursor": cursor})
    assert [v["id"] for v in first + second] == [1, 2, 3, 4]


@pytest.mark.parametrize("kind", ["control", "data"])
def test_raw_path_ending_in_version(kind, api, conn, kms_id, data_session):
    """Raw, ``a/version`` is the version list of ``a``; the secret ``a/version`` needs ``a%2Fversion``."""
    raw = ControlPlane(api, kms_id) if kind == "control" else DataPlaneV2(data_session, conn["data_endpoint"], kms_id)
    encoded = ControlPlane(api, kms_id, True) if kind == "control" else \
        DataPlaneV2(data_session, conn["data_endpoint"], kms_id, True)
    base = new_path("ambiguous")
    raw.create(base, {"is": "base"})
    raw.create(base + "/version", {"is": "child"})
    status, versions = raw.request("GET", f"{raw.base}/secret/{base}/version")
    assert status == 200 and [v["id"] for v in versions] == [1]
    assert encoded.get(base + "/version", include_data=True)[1]["version"]["data"] == {"is": "child"}
    refused(raw, raw.request("PUT", f"{raw.base}/secret/{base}/version", {"version": {"data": {}}}), 405)
    refused(raw, raw.request("DELETE", f"{raw.base}/secret/{base}/version/1"), 405)


def test_kms_secret_config(api, conn, data_session):
    """Per-KMS defaults (a KMS of its own: they apply to every secret of it)."""
    kms = order_kms(api)
    control, data = ControlPlane(api, kms), DataPlaneV2(data_session, conn["data_endpoint"], kms)
    assert api.get("/v2/okms/reference/secretConfig?region=eu-west-rbx") == {"casRequired": False, "maxVersions": 10}
    with pytest.raises(ovh.exceptions.BadParametersError):
        api.get("/v2/okms/reference/secretConfig?region=mars-north-1")
    defaults = {"casRequired": False, "maxVersions": 10, "deactivateVersionAfter": "0s"}
    assert control.config() == (200, defaults) and data.config() == (200, defaults)
    for plane in (control, data):
        refused(plane, plane.set_config(), 400, SECRET + "FieldRequired")
        refused(plane, plane.set_config(maxVersions=24001), 400, SECRET + "MaxVersionsMaxExceeded")
        refused(plane, plane.set_config(deactivateVersionAfter="later"), 400,
                SECRET + "DeactivateVersionAfterInvalidDuration")

    # casRequired and maxVersions of the KMS rule the secrets that leave them unset.
    assert control.set_config(casRequired=True, maxVersions=2)[1] == {**defaults, "casRequired": True, "maxVersions": 2}
    assert data.config()[1] == {**defaults, "casRequired": True, "maxVersions": 2}
    data.create("cfg/a", {"v": 1})  # creation takes no cas
    refused(control, control.update("cfg/a", {"v": 2}), 400, SECRET + "CasMinRequired", "cas")
    refused(data, data.update("cfg/a", {"v": 2}), 400, mentions="cas")
    control.update("cfg/a", {"v": 2}, cas=1)
    data.update("cfg/a", {"v": 3}, cas=2)
    assert [v["id"] for v in control.all_versions("cfg/a")] == [2, 3]
    control.create("cfg/own", {"v": 1}, {"maxVersions": 3})
    for n in (2, 3, 4):
        control.update("cfg/own", {"v": n}, cas=n - 1)
    assert [v["id"] for v in control.all_versions("cfg/own")] == [2, 3, 4]

    # deactivateVersionAfter: a secret's "0s" defers to the KMS; its own duration wins.
    data.set_config(deactivateVersionAfter="300ms", casRequired=False)
    control.create("cfg/b", {"v": 1})
    control.create("cfg/c", {"v": 1}, {"deactivateVersionAfter": "1h"})
    time.sleep(0.4)
    assert control.get("cfg/b", include_data=True)[1]["version"]["state"] == "DEACTIVATED"
    assert control.get("cfg/c", include_data=True)[1]["version"]["data"] == {"v": 1}

    body = api.get(f"/v2/okms/resource/{kms}")
    assert (body["secretCount"], body["secretVersionCount"]) == (4, 2 + 3 + 1 + 1)
    control.delete("cfg/own")
    body = api.get(f"/v2/okms/resource/{kms}")
    assert (body["secretCount"], body["secretVersionCount"]) == (3, 4)
