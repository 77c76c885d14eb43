"""IAM rights on the data plane, driven through data_plane.handle() with callers and policies
(the API that makes policies, and certificates and tokens over HTTPS, are in test_iam.py)."""

import base64
import json
import time

import pytest

from okms_emulator import data_plane, iam
from okms_emulator.data_rights import Caller, certificate_caller, token_caller
from okms_emulator.store import Store

OKMS_ID = "7c4f0c4e-9d3b-4b6a-8f1e-2a5d6c7b8e90"
KMS_URN = f"urn:v1:eu:resource:okms:{OKMS_ID}"
ACCOUNT = "urn:v1:eu:identity:account:xx1111-ovh"
APP = "urn:v1:eu:identity:user:xx1111-ovh/app"
OTHER = "urn:v1:eu:identity:user:xx1111-ovh/other"
OPS = "urn:v1:eu:identity:group:xx1111-ovh/ops"
SECRET_VALUE = "s3cr3t-value-never-echoed"


def b64(data):
    return base64.b64encode(data).decode()


@pytest.fixture
def store(tmp_path):
    st = Store(str(tmp_path))
    st.data["okms"][OKMS_ID] = {"id": OKMS_ID, "region": "eu-west-rbx", "serviceKeys": {}, "credentials": {}}
    return st


def caller(*urns):
    return certificate_caller({"id": "0e5c1c36-5f3c-4c8e-9d41-2b7a4f0e9c11", "identityURNs": list(urns)})


def call(store, who, method, path, body=None, query=None):
    payload = json.dumps(body).encode() if body is not None else b""
    return data_plane.handle(store, OKMS_ID, method, path, query or {}, payload, who.label, who)


def allow(store, identities, resources, allow=(), except_=(), deny=(), expired_at=None, name="p"):
    policy = iam.new_policy({
        "name": name, "description": None, "identities": list(identities),
        "resources": [{"urn": urn} for urn in resources],
        "permissions": {"allow": [{"action": a} for a in allow], "except": [{"action": a} for a in except_],
                        "deny": [{"action": a} for a in deny]},
        "expiredAt": expired_at})
    store.data.setdefault("iam", {}).setdefault("policies", {})[policy["id"]] = policy
    return policy


def refused(result, *words):
    status, body = result
    assert status == 403, body
    assert set(body) == {"error_code", "error_id", "errors", "request_id"}
    assert (body["error_code"] >> 12) & 0xF == 4  # category Authorization
    message = body["errors"][0]
    for word in words:
        assert word in message, (word, message)
    assert SECRET_VALUE not in json.dumps(body)
    return message


def account_setup(store):
    """A secret and an AES key made by the account (not bound by IAM)."""
    root = caller(ACCOUNT)
    assert call(store, root, "POST", "/v2/secret", {"path": "app/db",
                                                    "version": {"data": {"password": SECRET_VALUE}}})[0] == 200
    assert call(store, root, "POST", "/v2/secret", {"path": "web/tls", "version": {"data": {"k": "v"}}})[0] == 200
    status, key = call(store, root, "POST", "/v1/servicekey",
                       {"name": "k", "type": "oct", "size": 256, "operations": ["encrypt", "decrypt"]})
    assert status == 201
    return key["id"]


def test_the_account_is_not_bound_by_policies(store):
    key_id = account_setup(store)
    allow(store, ["*"], ["urn:v1:eu:resource:okms:*"], deny=["okms:apikms:*"])
    root = caller(APP, ACCOUNT)  # any identity of the certificate being the account is enough
    assert call(store, root, "GET", "/v2/secret/app/db", query={"includeData": ["true"]})[0] == 200
    assert call(store, root, "POST", f"/v1/servicekey/{key_id}/encrypt", {"plaintext": b64(b"x")})[0] == 200


def test_without_a_policy_everything_is_refused_with_the_action_and_the_resource(store):
    key_id = account_setup(store)
    app = caller(APP)
    message = refused(call(store, app, "GET", "/v2/secret/app/db", query={"includeData": ["true"]}),
                      "okms:apikms:secret/get", "'app/db'", f"{KMS_URN}/secret/app/db", APP, "no IAM policy allows it")
    assert message.startswith("forbidden: okms:apikms:secret/get on secret 'app/db'")
    refused(call(store, app, "POST", f"/v1/servicekey/{key_id}/encrypt", {"plaintext": b64(b"x")}),
            "okms:apikms:serviceKey/encrypt", f"service key {key_id}", f"{KMS_URN}/serviceKey/{key_id}")
    refused(call(store, app, "GET", "/v1/random"), "okms:apikms:random/get", f"KMS {OKMS_ID}")
    refused(call(store, app, "GET", "/v1/secret/data/app/db"), "okms:apikms:secret/version/getData", "'app/db'")
    refused(call(store, app, "GET", "/v2/secretConfig"), "okms:apikms:secretConfig/get")
    # Refused before anything is looked up: an unknown key or secret is no different (nothing leaks).
    refused(call(store, app, "GET", "/v2/secret/no/such"), "okms:apikms:secret/get", "'no/such'")
    # Secret errors use the Secret Manager's error domain, key errors the service keys' one.
    assert call(store, app, "GET", "/v2/secret/app/db")[1]["error_code"] >> 24 == 1
    assert call(store, app, "GET", "/v1/random")[1]["error_code"] >> 24 == 3


def test_metadata_and_data_are_separate_rights(store):
    account_setup(store)
    app = caller(APP)
    allow(store, [APP], [KMS_URN], allow=["okms:apikms:secret/get"])
    status, body = call(store, app, "GET", "/v2/secret/app/db")
    assert status == 200 and "version" not in body
    refused(call(store, app, "GET", "/v2/secret/app/db", query={"includeData": ["true"]}),
            "okms:apikms:secret/version/getData", "'app/db'")
    refused(call(store, app, "GET", "/v2/secret/app/db/version/1", query={"includeData": ["true"]}),
            "okms:apikms:secret/version/getData")
    assert call(store, app, "GET", "/v2/secret/app/db/version/1")[0] == 200
    assert call(store, app, "GET", "/v1/secret/metadata/app/db")[0] == 200
    refused(call(store, app, "GET", "/v1/secret/data/app/db"), "okms:apikms:secret/version/getData")
    allow(store, [APP], [KMS_URN], allow=["okms:apikms:secret/version/getData"], name="data")
    status, body = call(store, app, "GET", "/v2/secret/app/db", query={"includeData": ["true"]})
    assert status == 200 and body["version"]["data"] == {"password": SECRET_VALUE}
    assert call(store, app, "GET", "/v1/secret/data/app/db")[1]["data"]["data"] == {"password": SECRET_VALUE}


def test_a_policy_on_secret_urns_covers_those_secrets_only_and_lists_filter(store):
    account_setup(store)
    app = caller(APP)
    allow(store, [APP], [f"{KMS_URN}/secret/app/*"], allow=["okms:apikms:secret/*"])
    assert call(store, app, "GET", "/v2/secret/app/db", query={"includeData": ["true"]})[0] == 200
    refused(call(store, app, "GET", "/v2/secret/web/tls"), "'web/tls'")
    assert [s["path"] for s in call(store, app, "GET", "/v2/secret")[1]] == ["app/db"]
    assert call(store, app, "GET", "/v1/secret/metadata", query={"list": ["true"]})[1]["data"]["keys"] == ["app/"]
    # Creating needs secret/create on the new secret's own URN.
    assert call(store, app, "POST", "/v2/secret", {"path": "app/new", "version": {"data": {"a": 1}}})[0] == 200
    refused(call(store, app, "POST", "/v2/secret", {"path": "web/new", "version": {"data": {"a": 1}}}),
            "okms:apikms:secret/create", "'web/new'")
    # KV2: the first write of a path is secret/create, the next ones secret/version/create.
    assert call(store, app, "POST", "/v1/secret/data/app/kv", {"data": {"n": 1}})[0] == 200
    assert call(store, app, "POST", "/v1/secret/data/app/kv", {"data": {"n": 2}})[0] == 200
    # Nothing is allowed at the KMS level.
    refused(call(store, app, "GET", "/v2/secretConfig"), "okms:apikms:secretConfig/get", f"KMS {OKMS_ID}")


def test_kv2_create_and_version_rights_are_told_apart(store):
    account_setup(store)
    app = caller(APP)
    allow(store, [APP], [KMS_URN], allow=["okms:apikms:secret/create"])
    assert call(store, app, "POST", "/v1/secret/data/fresh", {"data": {"n": 1}})[0] == 200
    refused(call(store, app, "POST", "/v1/secret/data/fresh", {"data": {"n": 2}}), "okms:apikms:secret/version/create")
    refused(call(store, app, "PUT", "/v2/secret/fresh", {"version": {"data": {"n": 2}}}),
            "okms:apikms:secret/version/create")
    refused(call(store, app, "PUT", "/v2/secret/fresh", {"metadata": {"maxVersions": 3}}),
            "okms:apikms:secret/updateMetadata")
    refused(call(store, app, "PUT", "/v2/secret/fresh/version/1", {"state": "deactivated"}),
            "okms:apikms:secret/version/deactivate")
    refused(call(store, app, "POST", "/v1/secret/destroy/fresh", {"versions": [1]}),
            "okms:apikms:secret/version/delete")
    refused(call(store, app, "DELETE", "/v2/secret/fresh"), "okms:apikms:secret/delete")


def test_deny_wins_and_except_stays_in_its_policy(store):
    key_id = account_setup(store)
    app = caller(APP)
    encrypt = f"/v1/servicekey/{key_id}/encrypt"
    allow(store, [APP], [KMS_URN], allow=["okms:apikms:*"], except_=["okms:apikms:serviceKey/encrypt"])
    refused(call(store, app, "POST", encrypt, {"plaintext": b64(b"x")}), "okms:apikms:serviceKey/encrypt")
    assert call(store, app, "GET", "/v1/random")[0] == 200
    allow(store, [APP], [f"{KMS_URN}/serviceKey/{key_id}"], allow=["okms:apikms:serviceKey/encrypt"], name="enc")
    assert call(store, app, "POST", encrypt, {"plaintext": b64(b"x")})[0] == 200  # another policy allows it
    allow(store, ["urn:v1:eu:identity:user:xx1111-ovh/*"], ["urn:v1:eu:resource:okms:*"],
          deny=["okms:apikms:serviceKey/encrypt"], name="no-encrypt")
    refused(call(store, app, "POST", encrypt, {"plaintext": b64(b"x")}),
            "okms:apikms:serviceKey/encrypt", "denied by IAM policy 'no-encrypt'")


def test_any_identity_of_the_certificate_counts_and_policies_expire(store):
    account_setup(store)
    allow(store, [OPS], [KMS_URN], allow=["okms:apikms:random/get"])
    assert call(store, caller(OTHER, OPS), "GET", "/v1/random")[0] == 200
    refused(call(store, caller(OTHER), "GET", "/v1/random"), "okms:apikms:random/get", OTHER)
    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    allow(store, [OTHER], [KMS_URN], allow=["okms:apikms:random/get"], expired_at=past, name="expired")
    refused(call(store, caller(OTHER), "GET", "/v1/random"), "okms:apikms:random/get")
    # A policy on another KMS, or for another action, grants nothing here.
    allow(store, [OTHER], ["urn:v1:eu:resource:okms:00000000-0000-0000-0000-000000000000"],
          allow=["okms:apikms:*"], name="elsewhere")
    allow(store, [OTHER], [KMS_URN], allow=["okms:apiovh:*"], name="control-plane")
    refused(call(store, caller(OTHER), "GET", "/v1/random"), "okms:apikms:random/get")


def test_key_lists_and_key_management_need_their_actions(store):
    key_id = account_setup(store)
    app = caller(APP)
    assert call(store, app, "GET", "/v1/servicekey")[1]["objects_list"] == []  # listed only with serviceKey/get
    allow(store, [APP], [f"{KMS_URN}/serviceKey/{key_id}"], allow=["okms:apikms:serviceKey/get"])
    assert [k["id"] for k in call(store, app, "GET", "/v1/servicekey")[1]["objects_list"]] == [key_id]
    assert call(store, app, "GET", f"/v1/servicekey/{key_id}")[0] == 200
    refused(call(store, app, "POST", "/v1/servicekey", {"name": "n", "type": "oct", "size": 128,
                                                        "operations": ["encrypt", "decrypt"]}),
            "okms:apikms:serviceKey/create", f"KMS {OKMS_ID}")
    refused(call(store, app, "POST", "/v1/servicekey", {"name": "n", "keys": [{"kty": "oct"}]}),
            "okms:apikms:serviceKey/import")
    for method, suffix, body, action in (("PATCH", "", {"name": "x"}, "update"), ("DELETE", "", None, "delete"),
                                         ("POST", "/activate", None, "activate"),
                                         ("POST", "/deactivate", {"reason": "superseded"}, "deactivate"),
                                         ("POST", "/decrypt", {"ciphertext": "a"}, "decrypt"),
                                         ("POST", "/datakey", {"size": 256}, "dataKey/create"),
                                         ("POST", "/datakey/decrypt", {"key": "a"}, "dataKey/decrypt"),
                                         ("POST", "/sign", {"message": "eA==", "alg": "ES256"}, "sign"),
                                         ("POST", "/verify", {"signature": "eA=="}, "verify")):
        refused(call(store, app, method, f"/v1/servicekey/{key_id}{suffix}", body), f"okms:apikms:serviceKey/{action}")


def test_a_token_is_its_service_account(store):
    account_setup(store)
    token = token_caller("oauth2:EU.abc", "EU.abc")
    assert token.identities == ("urn:v1:eu:identity:credential:xx1111-ovh/oauth2-EU.abc",)
    refused(call(store, token, "GET", "/v1/random"), "access token of service account "
            "urn:v1:eu:identity:credential:xx1111-ovh/oauth2-EU.abc")
    iam.ensure_service_account_policy(store, "EU.abc")
    assert call(store, token, "GET", "/v1/random")[0] == 200
    assert call(store, token, "GET", "/v2/secret/app/db", query={"includeData": ["true"]})[0] == 200


def test_a_caller_of_another_account_is_bound(store):
    account_setup(store)
    stranger = Caller("certificate:x", ("urn:v1:eu:identity:account:zz9999-ovh",), "a stranger")
    refused(call(store, stranger, "GET", "/v1/random"), "okms:apikms:random/get")
