"""Every /v2/okms operation the emulator serves answers exactly the spec's models.

``Api`` (conftest) validates each response; this test drives every served
operation once and checks the validator itself catches deviations.
"""

import pytest

from conftest import SPEC, URN, wait_ready
from ovh_spec import SpecError

NOT_SERVED = ("/okms/resource/{okmsId}/log",)


def test_every_operation_conforms(api, kms_id):
    seen = set()

    def call(method, url, **data):
        result = api.call(method, url, data or None)
        seen.add((method, SPEC.operation(method, url.split("?")[0][len("/v2"):])[0]))
        return result

    call("GET", "/v2/okms/reference/regions")
    call("GET", "/v2/okms/reference/serviceKey?region=eu-west-rbx")
    call("GET", "/v2/okms/resource")
    call("GET", f"/v2/okms/resource/{kms_id}?publicCA=true")
    base = f"/v2/okms/resource/{kms_id}"
    cred = call("POST", base + "/credential", name="conf", identityURNs=[URN])
    call("GET", base + "/credential")
    wait_ready(api, kms_id, cred["id"])
    call("GET", f"{base}/credential/{cred['id']}")
    call("DELETE", f"{base}/credential/{cred['id']}")
    for body in ({"name": "c-oct", "type": "oct", "size": 256, "operations": ["encrypt", "decrypt"]},
                 {"name": "c-rsa", "type": "RSA", "size": 2048, "operations": ["sign", "verify"]},
                 {"name": "c-ec", "type": "EC", "curve": "P-384", "operations": ["sign", "verify"]}):
        key = call("POST", base + "/serviceKey", **body)
        for fmt in ("", "?format=JWK", "?format=PEM"):
            call("GET", f"{base}/serviceKey/{key['id']}{fmt}")
        call("PUT", f"{base}/serviceKey/{key['id']}", name=body["name"] + "-renamed")
        call("PUT", f"{base}/serviceKey/{key['id']}", state="DEACTIVATED", deactivationReason="UNSPECIFIED")
        call("DELETE", f"{base}/serviceKey/{key['id']}")
    call("GET", base + "/serviceKey")

    # Secret Manager: raw and percent-encoded paths, with and without data.
    call("GET", "/v2/okms/reference/secretConfig?region=eu-west-rbx")
    call("GET", base + "/secretConfig")
    call("PUT", base + "/secretConfig", maxVersions=10)
    call("POST", base + "/secret", path="conf/app/db", version={"data": {"password": "p"}},
         metadata={"customMetadata": {"env": "test"}, "deactivateVersionAfter": "0s"})
    call("GET", base + "/secret")
    for path in ("conf/app/db", "conf%2Fapp%2Fdb"):
        current = call("GET", f"{base}/secret/{path}")["metadata"]["currentVersion"]
        call("GET", f"{base}/secret/{path}?includeData=true")
        call("GET", f"{base}/secret/{path}?includeData=true&version=1")
        call("PUT", f"{base}/secret/{path}?cas={current}", version={"data": {"password": "q"}},
             metadata={"maxVersions": 5})
        call("PUT", f"{base}/secret/{path}", metadata={"casRequired": False})
        call("POST", f"{base}/secret/{path}/version", data={"password": "r"})
        call("GET", f"{base}/secret/{path}/version")
        call("GET", f"{base}/secret/{path}/version/1")
        call("GET", f"{base}/secret/{path}/version/1?includeData=true")
        call("PUT", f"{base}/secret/{path}/version/1", state="DEACTIVATED")
        call("GET", f"{base}/secret/{path}/version/1?includeData=true")  # deactivated: no data
        call("PUT", f"{base}/secret/{path}/version/1", state="ACTIVE")
    call("PUT", f"{base}/secret/conf/app/db/version/1", state="DELETED")
    call("DELETE", base + "/secret/conf%2Fapp%2Fdb")

    served = {(m, tpl) for m, _, tpl, _ in SPEC.operations if not tpl.startswith(NOT_SERVED)}
    assert served == seen


def test_validator_rejects_deviations():
    good = {"id": "8f9c8a1e-6d1e-4a9f-9d1e-3c2b1a0f9e8d", "name": "n", "type": "oct", "size": 256,
            "curve": None, "operations": ["encrypt"], "state": "ACTIVE", "createdAt": "2024-01-01T00:00:00Z"}
    SPEC.validate(good, "okms.serviceKey.Response")
    # An EC key has no size: the spec lets size be null (canBeNull).
    SPEC.validate({**good, "type": "EC", "size": None, "curve": "P-256", "operations": ["sign", "verify"]},
                  "okms.serviceKey.Response")
    for bad in ({**good, "extra": 1}, {**good, "state": "active"}, {**good, "size": "256"},
                {k: v for k, v in good.items() if k != "name"}, {**good, "operations": "encrypt"},
                {**good, "createdAt": "yesterday"}, {**good, "id": "nope"}, {**good, "size": 300},
                {**good, "curve": "P-192"}):
        with pytest.raises(SpecError):
            SPEC.validate(bad, "okms.serviceKey.Response")
    with pytest.raises(SpecError):
        SPEC.validate([{"id": "x"}], "okms.reference.Region[]")
    version = {"id": 1, "state": "ACTIVE", "createdAt": "2024-01-01T00:00:00.000001Z", "data": {"k": "v"}}
    SPEC.validate(version, "okms.secret.Version")
    for bad in ({**version, "state": "active"}, {**version, "id": "1"}, {**version, "urn": "u"},
                {k: v for k, v in version.items() if k != "createdAt"}):
        with pytest.raises(SpecError):
            SPEC.validate(bad, "okms.secret.Version")
    # A raw secret path holds "/": ".../version" is the version list, not the secret.
    assert SPEC.operation("GET", "/okms/resource/x/secret/a/b/version")[0] == \
        "/okms/resource/{okmsId}/secret/{path}/version"
    assert SPEC.operation("GET", "/okms/resource/x/secret/a/b/version/3")[0] == \
        "/okms/resource/{okmsId}/secret/{path}/version/{version}"
    assert SPEC.operation("GET", "/okms/resource/x/secret/a/b")[0] == "/okms/resource/{okmsId}/secret/{path}"
