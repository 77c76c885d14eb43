"""hvac, HashiCorp Vault's Python client, unmodified, against the KV2 API:
``hvac.Client(url=<data endpoint>/api/<okmsId>, token=<OAuth2 access token>)``."""

import uuid

import hvac
import pytest
from hvac.exceptions import InvalidPath, InvalidRequest

from secret_planes import ControlPlane


@pytest.fixture
def kv(conn, kms_id, token):
    client = hvac.Client(url=f"{conn['data_endpoint']}/api/{kms_id}", token=token, verify=conn["ca_path"])
    return client.secrets.kv.v2  # mount point "secret", as on the real service


def read(kv, path, version=None):
    return kv.read_secret_version(path, version=version, raise_on_deleted_version=True)["data"]


# hvac's own patch() reads without raise_on_deleted_version and warns about its future default.
@pytest.mark.filterwarnings("ignore:The raise_on_deleted_version parameter:DeprecationWarning")
def test_hvac_writes_reads_lists_and_deletes(kv):
    top = f"hvac/{uuid.uuid4().hex[:8]}"
    path = top + "/app/db"
    assert kv.create_or_update_secret(path, {"password": "one"})["data"]["version"] == 1
    assert kv.create_or_update_secret(path, {"password": "two"}, cas=1)["data"]["version"] == 2
    with pytest.raises(InvalidRequest) as mismatch:
        kv.create_or_update_secret(path, {"password": "lost"}, cas=1)
    assert "cas" in str(mismatch.value)
    current = read(kv, path)
    assert current["data"] == {"password": "two"} and current["metadata"]["version"] == 2
    assert read(kv, path, version=1)["data"] == {"password": "one"}
    kv.patch(path, {"user": "app"})  # hvac reads, merges and writes with cas
    assert read(kv, path)["data"] == {"password": "two", "user": "app"}

    kv.create_or_update_secret(top + "/web", {"n": 1})
    assert kv.list_secrets(top)["data"]["keys"] == ["app/", "web"]  # the LIST verb
    assert kv.list_secrets(top + "/app")["data"]["keys"] == ["db"]
    with pytest.raises(InvalidPath):
        kv.list_secrets(top + "/nothing")

    metadata = kv.read_secret_metadata(path)["data"]
    assert metadata["current_version"] == 3 and sorted(metadata["versions"]) == ["1", "2", "3"]
    kv.update_metadata(path, max_versions=5, custom_metadata={"owner": "hvac"})
    assert kv.read_secret_metadata(path)["data"]["custom_metadata"] == {"owner": "hvac"}

    kv.delete_latest_version_of_secret(path)  # soft delete
    with pytest.raises(InvalidPath):
        read(kv, path)
    deleted = kv.read_secret_version(path, raise_on_deleted_version=False)  # hvac reads the 404's body
    assert deleted["data"]["data"] is None and deleted["data"]["metadata"]["deletion_time"]
    kv.undelete_secret_versions(path, [3])
    assert read(kv, path)["data"] == {"password": "two", "user": "app"}
    kv.delete_secret_versions(path, [1])
    kv.destroy_secret_versions(path, [1])
    assert kv.read_secret_metadata(path)["data"]["versions"]["1"]["destroyed"] is True
    with pytest.raises(InvalidPath):
        read(kv, path, version=1)

    kv.delete_metadata_and_all_versions(path)
    with pytest.raises(InvalidPath):
        read(kv, path)
    assert kv.list_secrets(top)["data"]["keys"] == ["web"]


def test_hvac_and_the_control_plane_share_one_store(kv, api, kms_id):
    control = ControlPlane(api, kms_id)
    top = f"hvac/{uuid.uuid4().hex[:8]}"
    kv.create_or_update_secret(top + "/from-hvac", {"token": "abc"})
    kv.create_or_update_secret(top + "/from-hvac", {"token": "def"})
    got = control.get(top + "/from-hvac", include_data=True)[1]
    assert got["version"]["data"] == {"token": "def"} and got["metadata"]["currentVersion"] == 2
    kv.destroy_secret_versions(top + "/from-hvac", [1])
    assert control.version(top + "/from-hvac", 1)[1]["state"] == "DELETED"

    control.create(top + "/from-control", {"password": "p"}, {"customMetadata": {"via": "v2"}})
    control.update(top + "/from-control", {"password": "q"})
    control.set_state(top + "/from-control", 2, "DEACTIVATED")
    assert read(kv, top + "/from-control", version=1)["data"] == {"password": "p"}
    with pytest.raises(InvalidPath):  # deactivated: a soft-deleted version for Vault clients
        read(kv, top + "/from-control")
    kv.undelete_secret_versions(top + "/from-control", [2])
    assert read(kv, top + "/from-control")["data"] == {"password": "q"}
    assert kv.read_secret_metadata(top + "/from-control")["data"]["custom_metadata"] == {"via": "v2"}
    assert sorted(kv.list_secrets(top)["data"]["keys"]) == ["from-control", "from-hvac"]


def test_hvac_configuration(kv):
    config = kv.read_configuration()["data"]
    assert config == {"cas_required": False, "delete_version_after": "0s", "max_versions": 10}
