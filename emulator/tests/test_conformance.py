"""Every /v2/okms operation the emulator serves answers exactly the spec's models.

``Api`` (conftest) validates each response; this test drives every served
operation once and checks the validator itself catches deviations.
"""

import pytest

from conftest import SPEC, URN, wait_ready
from ovh_spec import SpecError

NOT_SERVED = ("/okms/resource/{okmsId}/secret", "/okms/resource/{okmsId}/secretConfig",
              "/okms/reference/secretConfig", "/okms/resource/{okmsId}/log")


def test_every_operation_conforms(api, kms_id):
    seen = set()

    def call(method, path, **data):
        result = api.call(method, path, data or None)
        seen.add((method, SPEC.operation(method, path.split("?")[0][len("/v2"):])[0]))
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
