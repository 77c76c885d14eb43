"""IAM policies (``/v2/iam/policy``) through python-ovh, and the rights they give on the data plane to
access certificates and tokens over real HTTPS (the evaluation rules themselves: test_data_rights.py)."""

import base64
import json
import time
import uuid

import ovh
import pytest
import requests

from conftest import Api, oauth_client, wait_ready

ACCOUNT_URN = "urn:v1:eu:identity:account:xx1111-ovh"
RESPONSE_MEMBERS = {"id", "name", "owner", "readOnly", "identities", "resources", "permissions",
                    "permissionsGroups", "createdAt", "updatedAt"}
ERROR = {"error_code", "error_id", "errors", "request_id"}


def _audit(conn):
    with open(conn["audit_log"], encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def user_urn():
    return f"urn:v1:eu:identity:user:xx1111-ovh/app-{uuid.uuid4().hex[:8]}"


def policy_body(identities, resources, allow=(), deny=(), except_=(), name=None, **extra):
    permissions = {"allow": [{"action": a} for a in allow]}
    if deny:
        permissions["deny"] = [{"action": a} for a in deny]
    if except_:
        permissions["except"] = [{"action": a} for a in except_]
    return {"name": name or f"test-{uuid.uuid4().hex[:8]}", "identities": list(identities),
            "resources": [{"urn": urn} for urn in resources], "permissions": permissions, **extra}


@pytest.fixture
def policies(api):
    """Create policies with ``policies(body)``; every one is deleted at the end of the test."""
    made = []

    def create(body):
        made.append(api.call("POST", "/v2/iam/policy", body))
        return made[-1]
    yield create
    for policy in made:
        try:
            api.delete(f"/v2/iam/policy/{policy['id']}")
        except ovh.exceptions.ResourceNotFoundError:
            pass


def kms_urn(kms_id):
    return f"urn:v1:eu:resource:okms:{kms_id}"


def issue(api, kms_id, tmp_path, urns):
    cred = api.post(f"/v2/okms/resource/{kms_id}/credential", name="iam", identityURNs=list(urns))
    ready = wait_ready(api, kms_id, cred["id"])
    cert, key = tmp_path / f"{cred['id']}.pem", tmp_path / f"{cred['id']}.key"
    cert.write_text(ready["certificatePEM"])
    key.write_text(cred["privateKeyPEM"])
    return cred["id"], (str(cert), str(key))


# --- the API --------------------------------------------------------------------------

def test_the_service_account_policy_is_built_in_and_read_only(api, conn):
    listed = api.get("/v2/iam/policy", readOnly="true")
    (builtin,) = [p for p in listed if p["name"] == "ovh-okms-emulator-service-account"]
    assert set(builtin) == RESPONSE_MEMBERS | {"description"}
    assert builtin["readOnly"] is True and builtin["owner"] == "xx1111-ovh"
    assert builtin["identities"] == [f"urn:v1:eu:identity:credential:xx1111-ovh/oauth2-{conn['client_id']}"]
    assert builtin["resources"] == [{"urn": "urn:v1:eu:resource:okms:*"}, {"urn": "urn:v1:ca:resource:okms:*"}]
    assert builtin["permissions"] == {"allow": [{"action": "okms:*"}]}
    body = policy_body(builtin["identities"], ["urn:v1:eu:resource:okms:*"], allow=["okms:apikms:random/get"])
    for call in (lambda: api.call("PUT", f"/v2/iam/policy/{builtin['id']}", body),
                 lambda: api.delete(f"/v2/iam/policy/{builtin['id']}")):
        with pytest.raises(ovh.exceptions.Forbidden) as refused:
            call()
        assert "read-only" in str(refused.value)
    assert api.get(f"/v2/iam/policy/{builtin['id']}") == builtin


def test_create_read_update_delete(api, kms_id):
    identity = user_urn()
    body = policy_body([identity], [kms_urn(kms_id)], allow=["okms:apikms:secret/get"],
                       except_=["okms:apikms:secret/delete"], description="the app reads its secrets")
    created = api.call("POST", "/v2/iam/policy", body)
    try:
        assert set(created) == RESPONSE_MEMBERS | {"description"}
        assert str(uuid.UUID(created["id"])) == created["id"]
        assert created == {**created, "name": body["name"], "description": "the app reads its secrets",
                           "owner": "xx1111-ovh", "readOnly": False, "identities": [identity],
                           "resources": [{"urn": kms_urn(kms_id)}], "permissionsGroups": [],
                           "permissions": {"allow": [{"action": "okms:apikms:secret/get"}],
                                           "except": [{"action": "okms:apikms:secret/delete"}]}}
        assert created["createdAt"].endswith("Z") and created["updatedAt"] == created["createdAt"]
        assert api.get(f"/v2/iam/policy/{created['id']}") == created
        detailed = api.get(f"/v2/iam/policy/{created['id']}", details="true")
        assert detailed["resources"] == [{"urn": kms_urn(kms_id), "resource": {
            "id": kms_id, "name": kms_id, "displayName": kms_id, "owner": "xx1111-ovh", "type": "okms",
            "tags": {"ovh:region": "eu-west-rbx"}}}]
        assert created in api.get("/v2/iam/policy", identity=identity)

        time.sleep(0.01)
        update = policy_body([identity], [kms_urn(kms_id)], allow=["okms:apikms:*"], name=body["name"] + "-2")
        updated = api.call("PUT", f"/v2/iam/policy/{created['id']}", update)
        assert updated["name"] == body["name"] + "-2" and "description" not in updated
        assert updated["permissions"] == {"allow": [{"action": "okms:apikms:*"}]}
        assert updated["createdAt"] == created["createdAt"] and updated["updatedAt"] > created["updatedAt"]
        # What a client read may be sent back: the read-only members are ignored.
        assert api.call("PUT", f"/v2/iam/policy/{created['id']}", updated)["permissions"] == updated["permissions"]
    finally:
        assert api.delete(f"/v2/iam/policy/{created['id']}") is None
    with pytest.raises(ovh.exceptions.ResourceNotFoundError):
        api.get(f"/v2/iam/policy/{created['id']}")
    with pytest.raises(ovh.exceptions.ResourceNotFoundError):
        api.delete(f"/v2/iam/policy/{created['id']}")


def test_a_terraform_shaped_body_is_accepted(api, policies, kms_id):
    # terraform-provider-ovh sends null for the lists it has not set.
    body = {"name": "tf-like", "identities": [user_urn()], "resources": [{"urn": kms_urn(kms_id)}],
            "permissions": {"allow": [{"action": "okms:apikms:random/get"}], "except": None, "deny": None},
            "permissionsGroups": None}
    assert policies(body)["permissions"] == {"allow": [{"action": "okms:apikms:random/get"}]}


@pytest.mark.parametrize("change,member", [
    ({"name": None}, "name"),
    ({"name": "ovh-mine"}, "name"),
    ({"identities": []}, "identities"),
    ({"identities": ["john"]}, "identities[0]"),
    ({"identities": ["urn:v1:eu:identity:*:xx1111-ovh"]}, "identities[0]"),
    ({"resources": None}, "resources"),
    ({"resources": ["urn:v1:eu:resource:okms:x"]}, "resources[0]"),
    ({"resources": [{"urn": "okms"}]}, "resources[0].urn"),
    ({"permissions": None}, "permissions"),
    ({"permissions": {"allow": ["okms:apikms:*"]}}, "permissions.allow"),
    ({"permissions": {"allow": [{"action": "okms: apikms"}]}}, "permissions.allow[0].action"),
    ({"permissions": {"grant": []}}, "grant"),
    ({"permissionsGroups": [{"urn": "urn:v1:eu:permissionsGroup:ovh:default"}]}, "permissionsGroups"),
    ({"conditions": {"operator": "MATCH", "values": {"request.IP": "192.0.2.1"}}}, "conditions"),
    ({"expiredAt": "tomorrow"}, "expiredAt"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_bodies_are_refused_naming_the_member(api, kms_id, change, member):
    marker = f"urn:v1:eu:identity:group:xx1111-ovh/bad-{uuid.uuid4().hex[:8]}"
    body = {**policy_body([marker], [kms_urn(kms_id)], allow=["okms:apikms:*"]), **change}
    with pytest.raises(ovh.exceptions.BadParametersError) as refused:
        api.call("POST", "/v2/iam/policy", body)
    assert member in str(refused.value)
    assert api.get("/v2/iam/policy", identity=marker) == []  # nothing was created


def test_the_api_authenticates_like_every_v2_call(conn, policies, kms_id):
    response = requests.get(conn["base_url"] + "/v2/iam/policy", verify=conn["ca_path"])
    assert response.status_code == 401 and response.json()["errorCode"] == "NOT_AUTHENTICATED"
    with_token = Api(oauth_client(conn))
    made = with_token.call("POST", "/v2/iam/policy", policy_body([user_urn()], [kms_urn(kms_id)],
                                                                 allow=["okms:apikms:random/get"]))
    try:
        assert with_token.get(f"/v2/iam/policy/{made['id']}")["id"] == made["id"]
    finally:
        with_token.delete(f"/v2/iam/policy/{made['id']}")


def test_filters_pagination_and_audit(api, conn, policies, kms_id):
    identity = user_urn()
    before = len(_audit(conn))
    made = [policies(policy_body([identity], [kms_urn(kms_id)], allow=[f"okms:apikms:action{i}"]))
            for i in range(4)]
    mine = api.get("/v2/iam/policy", identity=identity)  # the default page of 3
    assert mine == made[:3]
    pages, cursor = [], None
    while True:
        headers = {"X-Pagination-Size": "3", **({"X-Pagination-Cursor": cursor} if cursor else {})}
        response = api.client.raw_call("GET", f"/v2/iam/policy?identity={identity}", headers=headers)
        assert response.status_code == 200
        pages.append(response.json())
        cursor = response.headers.get("X-Pagination-Cursor-Next")
        if not cursor:
            break
    assert pages == [made[:3], made[3:]]
    assert api.get("/v2/iam/policy", identity=identity, action="okms:apikms:action2") == [made[2]]
    assert api.get("/v2/iam/policy", resourceURN=kms_urn(kms_id), identity=identity, readOnly="true") == []
    with pytest.raises(ovh.exceptions.BadParametersError):
        api.get("/v2/iam/policy", readOnly="maybe")
    api.call("PUT", f"/v2/iam/policy/{made[0]['id']}",
             policy_body([identity], [kms_urn(kms_id)], allow=["okms:apikms:x"], name="renamed"))
    lines = [line for line in _audit(conn)[before:] if line["path"].startswith("/v2/iam/policy")]
    assert {(line["method"], line["mutating"]) for line in lines} == {("POST", True), ("GET", False), ("PUT", True)}
    assert all(line["plane"] == "control" and line["identity"] == "account:xx1111-ovh" for line in lines)


# --- rights on the data plane -------------------------------------------------------------

def test_a_certificate_of_a_user_needs_policies(api, conn, policies, kms_id, tmp_path):
    identity = user_urn()
    _, pair = issue(api, kms_id, tmp_path, [identity])
    path = f"iam/{uuid.uuid4().hex[:8]}/db"
    value = "value-" + uuid.uuid4().hex
    api.call("POST", f"/v2/okms/resource/{kms_id}/secret", {"path": path, "version": {"data": {"password": value}}})
    key = api.post(f"/v2/okms/resource/{kms_id}/serviceKey", name="iam", type="oct", size=256,
                   operations=["encrypt", "decrypt"])
    base = f"{conn['data_endpoint']}/api/{kms_id}"

    def get(url, **kwargs):
        return requests.request(kwargs.pop("method", "GET"), base + url, cert=pair, verify=conn["ca_path"], **kwargs)

    def refused(response, action, resource):
        assert response.status_code == 403, response.text
        body = response.json()
        assert set(body) == ERROR and value not in response.text
        assert f"okms:apikms:{action}" in body["errors"][0] and resource in body["errors"][0]
        assert identity in body["errors"][0]

    refused(get(f"/v2/secret/{path}?includeData=true"), "secret/get", f"'{path}'")
    refused(get(f"/v1/secret/data/{path}"), "secret/version/getData", f"'{path}'")
    refused(get(f"/v1/servicekey/{key['id']}/encrypt", method="POST", json={"plaintext": "eA=="}),
            "serviceKey/encrypt", key["id"])

    reader = policies(policy_body([identity], [kms_urn(kms_id)], allow=["okms:apikms:secret/get"]))
    assert get(f"/v2/secret/{path}").status_code == 200  # metadata only
    refused(get(f"/v2/secret/{path}?includeData=true"), "secret/version/getData", f"'{path}'")
    policies(policy_body([identity], [f"{kms_urn(kms_id)}/secret/{path}"],
                         allow=["okms:apikms:secret/version/getData"]))
    read = get(f"/v2/secret/{path}?includeData=true")
    assert read.status_code == 200 and read.json()["version"]["data"] == {"password": value}
    assert get(f"/v1/secret/data/{path}").json()["data"]["data"] == {"password": value}

    policies(policy_body([identity], [f"{kms_urn(kms_id)}/serviceKey/{key['id']}"],
                         allow=["okms:apikms:serviceKey/encrypt", "okms:apikms:serviceKey/decrypt"]))
    sealed = get(f"/v1/servicekey/{key['id']}/encrypt", method="POST", json={"plaintext": "eA==", "context": "c"})
    assert sealed.status_code == 200
    opened = get(f"/v1/servicekey/{key['id']}/decrypt", method="POST",
                 json={"ciphertext": sealed.json()["ciphertext"], "context": "c"})
    assert opened.status_code == 200 and opened.json()["plaintext"] == "eA=="

    api.delete(f"/v2/iam/policy/{reader['id']}")  # rights follow the policies at once
    refused(get(f"/v2/secret/{path}"), "secret/get", f"'{path}'")


def test_a_deny_binds_the_token_but_never_the_account(api, conn, policies, kms_id, tmp_path, data_session):
    _, account_pair = issue(api, kms_id, tmp_path, [ACCOUNT_URN])
    url = f"{conn['data_endpoint']}/api/{kms_id}/v1/random?length=8"
    assert data_session.get(url).status_code == 200
    service_account = f"urn:v1:eu:identity:credential:xx1111-ovh/oauth2-{conn['client_id']}"
    deny = policies(policy_body([service_account, ACCOUNT_URN], [kms_urn(kms_id)],
                                deny=["okms:apikms:random/get"]))
    response = data_session.get(url)
    assert response.status_code == 403 and set(response.json()) == ERROR
    assert "okms:apikms:random/get" in response.text and service_account in response.text
    assert requests.get(url, cert=account_pair, verify=conn["ca_path"]).status_code == 200
    api.delete(f"/v2/iam/policy/{deny['id']}")
    assert data_session.get(url).status_code == 200


# --- what the new modules use: encrypt, sign, over both authentications -----------------

def _b64(data):
    return base64.b64encode(data).decode()


def _b64url_int(text):
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def _public_keys(api, kms_id, key_id):
    """The key's public key as the control plane gives it: from PEM and from JWK."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    base = f"/v2/okms/resource/{kms_id}/serviceKey/{key_id}"
    pem = serialization.load_pem_public_key(api.get(base, format="PEM")["keysPEM"][0]["pem"].encode())
    (jwk,) = api.get(base, format="JWK")["keys"]
    if jwk["kty"] == "RSA":
        from_jwk = rsa.RSAPublicNumbers(_b64url_int(jwk["e"]), _b64url_int(jwk["n"])).public_key()
    else:
        curve = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}[jwk["crv"]]()
        from_jwk = ec.EllipticCurvePublicNumbers(_b64url_int(jwk["x"]), _b64url_int(jwk["y"]), curve).public_key()
    return pem, from_jwk


def _verify_locally(public, alg, signature, message):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

    hash_alg = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}[alg[2:]]()
    if alg.startswith("ES"):
        half = len(signature) // 2
        public.verify(utils.encode_dss_signature(int.from_bytes(signature[:half], "big"),
                                                 int.from_bytes(signature[half:], "big")), message, ec.ECDSA(hash_alg))
    elif alg.startswith("PS"):
        public.verify(signature, message, padding.PSS(padding.MGF1(hash_alg), hash_alg.digest_size), hash_alg)
    else:
        public.verify(signature, message, padding.PKCS1v15(), hash_alg)


@pytest.fixture(scope="module")
def control_plane_keys(api, kms_id):
    """Signing keys made on the control plane (RSA is slow to generate: once per module)."""
    made = {"RSA": api.post(f"/v2/okms/resource/{kms_id}/serviceKey", name="sig-rsa", type="RSA", size=2048,
                            operations=["sign", "verify"])["id"]}
    for curve in ("P-256", "P-384", "P-521"):
        made[curve] = api.post(f"/v2/okms/resource/{kms_id}/serviceKey", name=f"sig-{curve}", type="EC",
                               curve=curve, operations=["sign", "verify"])["id"]
    return made


@pytest.mark.parametrize("kind,alg", [("P-256", "ES256"), ("P-384", "ES384"), ("P-521", "ES512"),
                                      ("RSA", "RS256"), ("RSA", "PS384"), ("RSA", "RS512")])
def test_signatures_verify_with_the_public_key_of_the_control_plane(
        api, conn, kms_id, control_plane_keys, data_session, tmp_path, kind, alg):
    from cryptography.hazmat.primitives import hashes

    key_id = control_plane_keys[kind]
    _, pair = issue(api, kms_id, tmp_path, [ACCOUNT_URN])
    certificate = requests.Session()
    certificate.cert, certificate.verify = pair, conn["ca_path"]
    url = f"{conn['data_endpoint']}/api/{kms_id}/v1/servicekey/{key_id}"
    message = b"issue 14: sign me"
    digest = hashes.Hash({"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}[alg[2:]]())
    digest.update(message)
    digest = digest.finalize()
    pem_key, jwk_key = _public_keys(api, kms_id, key_id)
    for session in (data_session, certificate):
        for body in ({"message": _b64(message), "alg": alg},
                     {"message": _b64(digest), "alg": alg, "isdigest": True}):
            signed = session.post(url + "/sign", json=body)
            assert signed.status_code == 200, signed.text
            signature = base64.b64decode(signed.json()["signature"])
            _verify_locally(pem_key, alg, signature, message)
            _verify_locally(jwk_key, alg, signature, message)
            verified = session.post(url + "/verify", json={**body, "signature": signed.json()["signature"]})
            assert verified.json() == {"result": True}
            forged = session.post(url + "/verify", json={**body, "signature": _b64(bytes(len(signature)))})
            assert forged.status_code == 200 and forged.json() == {"result": False}
    wrong = "ES256" if kind != "P-256" else "ES384"
    refused = data_session.post(url + "/sign", json={"message": _b64(message), "alg": wrong})
    assert refused.status_code == 400 and set(refused.json()) == ERROR
    assert wrong in refused.json()["errors"][0] and key_id in refused.json()["errors"][0]


def test_encrypt_with_and_without_context_over_both_authentications(api, conn, kms_id, data_session, tmp_path):
    key_id = api.post(f"/v2/okms/resource/{kms_id}/serviceKey", name="enc", type="oct", size=256,
                      operations=["encrypt", "decrypt"])["id"]
    other_id = api.post(f"/v2/okms/resource/{kms_id}/serviceKey", name="enc2", type="oct", size=256,
                        operations=["encrypt", "decrypt"])["id"]
    _, pair = issue(api, kms_id, tmp_path, [ACCOUNT_URN])
    certificate = requests.Session()
    certificate.cert, certificate.verify = pair, conn["ca_path"]
    url = f"{conn['data_endpoint']}/api/{kms_id}/v1/servicekey"
    plaintext = _b64(b"\x00secret bytes\xff" * 100)
    for sealer, opener in ((data_session, certificate), (certificate, data_session)):
        for context in (None, "host=web1", "x" * 64):
            body = {"plaintext": plaintext, **({"context": context} if context else {})}
            sealed = sealer.post(f"{url}/{key_id}/encrypt", json=body)
            assert sealed.status_code == 200, sealed.text
            ciphertext = sealed.json()["ciphertext"]
            opened = opener.post(f"{url}/{key_id}/decrypt",
                                 json={"ciphertext": ciphertext, **({"context": context} if context else {})})
            assert opened.status_code == 200 and opened.json() == {"plaintext": plaintext}
            for wrong_url, wrong in ((f"{url}/{key_id}/decrypt", {"context": "another"}),
                                     (f"{url}/{other_id}/decrypt", {"context": context} if context else {})):
                failed = opener.post(wrong_url, json={"ciphertext": ciphertext, **wrong})
                assert failed.status_code == 400 and set(failed.json()) == ERROR
                assert plaintext not in failed.text
    too_long = data_session.post(f"{url}/{key_id}/encrypt", json={"plaintext": plaintext, "context": "x" * 65})
    assert too_long.status_code == 400 and "'context'" in too_long.json()["errors"][0]


def test_the_readme_example_gives_a_certificate_its_secret(api, conn, kms_id, tmp_path):
    from test_testing import readme_block

    code = readme_block("### Evaluation", "python")
    _, pair = issue(api, kms_id, tmp_path, ["urn:v1:eu:identity:user:xx1111-ovh/web1"])
    api.call("POST", f"/v2/okms/resource/{kms_id}/secret", {"path": "app/db", "version": {"data": {"pw": "x"}}})
    url = f"{conn['data_endpoint']}/api/{kms_id}/v2/secret/app/db?includeData=true"
    assert requests.get(url, cert=pair, verify=conn["ca_path"]).status_code == 403
    before = {p["id"] for p in api.get("/v2/iam/policy", identity="urn:v1:eu:identity:user:xx1111-ovh/web1")}
    exec(code, {"client": api.client, "okms_id": kms_id})  # noqa: S102 - the README's own example
    try:
        read = requests.get(url, cert=pair, verify=conn["ca_path"])
        assert read.status_code == 200 and read.json()["version"]["data"] == {"pw": "x"}
        other = f"{conn['data_endpoint']}/api/{kms_id}/v2/secret/app/other"
        assert requests.get(other, cert=pair, verify=conn["ca_path"]).status_code == 403
    finally:
        for policy in api.get("/v2/iam/policy", identity="urn:v1:eu:identity:user:xx1111-ovh/web1"):
            if policy["id"] not in before:
                api.delete(f"/v2/iam/policy/{policy['id']}")
        api.delete(f"/v2/okms/resource/{kms_id}/secret/app/db")
