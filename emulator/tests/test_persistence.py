"""State survives a restart (SIGTERM -> exit 0 -> serve again)."""

import requests

from okms_emulator.testing import running_emulator

from conftest import FAST, URN, Api, app_client, order_kms, wait_ready


def test_restart_keeps_everything(tmp_path):
    with running_emulator(str(tmp_path), FAST) as conn1:
        api = Api(app_client(conn1))
        okms_id = order_kms(api)
        key = api.post(f"/v2/okms/resource/{okms_id}/serviceKey", name="persist", type="EC", curve="P-256",
                       operations=["sign", "verify"])
        api.call("POST", f"/v2/okms/resource/{okms_id}/secret",
                 {"path": "kept/db", "version": {"data": {"password": "p1"}}, "metadata": {"maxVersions": 4}})
        api.put(f"/v2/okms/resource/{okms_id}/secretConfig", casRequired=True)
        policy = api.call("POST", "/v2/iam/policy", {
            "name": "kept", "identities": ["urn:v1:eu:identity:user:xx1111-ovh/app"],
            "resources": [{"urn": f"urn:v1:eu:resource:okms:{okms_id}"}],
            "permissions": {"allow": [{"action": "okms:apikms:secret/get"}]}})
        policies = api.get("/v2/iam/policy")
        cred = api.post(f"/v2/okms/resource/{okms_id}/credential", name="p", identityURNs=[URN])
        ready = wait_ready(api, okms_id, cred["id"])
        (tmp_path / "c.pem").write_text(ready["certificatePEM"])
        (tmp_path / "c.key").write_text(cred["privateKeyPEM"])
    # running_emulator raises unless the emulator exited with status 0
    assert not (tmp_path / "connection.json").exists()

    with running_emulator(str(tmp_path), FAST, fresh=False) as conn2:
        for field in ("application_key", "application_secret", "consumer_key", "client_id", "client_secret"):
            assert conn2[field] == conn1[field]
        assert open(conn2["ca_path"]).read() == open(conn1["ca_path"]).read()
        api2 = Api(app_client(conn2))
        assert api2.get(f"/v2/okms/resource/{okms_id}/serviceKey/{key['id']}")["name"] == "persist"
        assert api2.get(f"/v2/okms/resource/{okms_id}/credential/{cred['id']}")["status"] == "READY"
        secret = api2.get(f"/v2/okms/resource/{okms_id}/secret/kept/db", includeData="true")
        assert secret["version"]["data"] == {"password": "p1"} and secret["metadata"]["maxVersions"] == 4
        assert api2.get(f"/v2/okms/resource/{okms_id}/secretConfig")["casRequired"] is True
        # IAM policies, the built-in one too (not made twice)
        assert api2.get(f"/v2/iam/policy/{policy['id']}") == policy
        assert api2.get("/v2/iam/policy") == policies
        # the KMS CA is trusted again by the restarted data plane
        response = requests.get(f"{conn2['data_endpoint']}/api/{okms_id}/v1/servicekey",
                                cert=(str(tmp_path / "c.pem"), str(tmp_path / "c.key")), verify=conn2["ca_path"])
        assert response.status_code == 200
