"""Authentication: application-key signatures and OAuth2, as python-ovh sees them."""

import time
import uuid

import ovh
import pytest
import requests
from ovh.exceptions import BadParametersError, InvalidCredential, InvalidKey, OAuth2FailureError

from okms_emulator.testing import running_emulator

from conftest import FAST, Api, app_client, oauth_client


def test_auth_time_is_a_bare_integer(conn):
    response = requests.get(conn["endpoint"] + "/auth/time", verify=conn["ca_path"])
    assert response.status_code == 200
    assert abs(int(response.text) - time.time()) < 5
    assert response.headers["X-Ovh-QueryID"]


def test_list_with_application_key_signature(conn):
    result = Api(app_client(conn)).get("/v2/okms/resource")
    assert isinstance(result, list)


def test_list_with_oauth2_client_credentials(conn, kms_id):
    result = Api(oauth_client(conn)).get("/v2/okms/resource")
    assert result and all(r["iam"]["urn"].endswith(r["id"]) for r in result)


def _error(exc):
    return exc.value.response.json()


def test_wrong_signature(conn):
    client = app_client(conn, application_secret="x" * 32)
    with pytest.raises(BadParametersError) as exc:
        client.get("/v2/okms/resource")
    assert _error(exc)["errorCode"] == "INVALID_SIGNATURE"
    assert _error(exc)["httpCode"] == "400 Bad Request"
    assert exc.value.response.headers["X-Ovh-QueryID"]


def test_unknown_application_key(conn):
    with pytest.raises(InvalidKey) as exc:
        app_client(conn, application_key="unknownAppKey123").get("/v2/okms/resource")
    assert _error(exc)["errorCode"] == "INVALID_KEY"
    assert exc.value.response.status_code == 403


def test_unknown_consumer_key(conn):
    with pytest.raises(InvalidCredential) as exc:
        app_client(conn, consumer_key="c" * 32).get("/v2/okms/resource")
    assert _error(exc)["errorCode"] == "INVALID_CREDENTIAL"


def test_stale_timestamp(conn):
    client = app_client(conn)
    client._time_delta = -3600  # a clock one hour late
    with pytest.raises(BadParametersError) as exc:
        client.get("/v2/okms/resource")
    assert _error(exc)["errorCode"] == "QUERY_TIME_OUT"


def test_signature_covers_query_string_and_body(conn, kms_id):
    client = app_client(conn)
    # a signed request replayed against another URL must fail
    now = str(int(time.time()))
    from okms_emulator.auth import signature
    url = conn["base_url"] + "/v2/okms/resource"
    headers = {"X-Ovh-Application": conn["application_key"], "X-Ovh-Consumer": conn["consumer_key"],
               "X-Ovh-Timestamp": now,
               "X-Ovh-Signature": signature(conn["application_secret"], conn["consumer_key"], "GET", url, "", now)}
    ok = requests.get(url, headers=headers, verify=conn["ca_path"])
    assert ok.status_code == 200
    bad = requests.get(url + "?publicCA=true", headers=headers, verify=conn["ca_path"])
    assert bad.status_code == 400 and bad.json()["errorCode"] == "INVALID_SIGNATURE"
    assert client.get("/v2/okms/resource/" + kms_id + "?publicCA=true")["publicCA"].startswith("-----BEGIN")


def test_missing_authentication(conn):
    response = requests.get(conn["base_url"] + "/v2/okms/resource", verify=conn["ca_path"])
    assert response.status_code == 401
    assert response.json()["errorCode"] == "NOT_AUTHENTICATED"
    assert response.headers["X-Ovh-QueryID"]


def test_bad_oauth2_client(conn):
    with pytest.raises(OAuth2FailureError):
        oauth_client(conn, client_secret="wrong").get("/v2/okms/resource")
    response = requests.post(conn["token_url"], data={"grant_type": "client_credentials", "client_id": "nope",
                                                      "client_secret": "x", "scope": "all"},
                             verify=conn["ca_path"])
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_bearer_token_expires(tmp_path):
    with running_emulator(str(tmp_path), [*FAST, "--token-lifetime", "1"]) as conn:
        token = requests.post(conn["token_url"], data={
            "grant_type": "client_credentials", "client_id": conn["client_id"],
            "client_secret": conn["client_secret"], "scope": "all"}, verify=conn["ca_path"]).json()
        assert token["token_type"] == "Bearer" and token["expires_in"] == 1 and token["scope"] == "all"
        headers = {"Authorization": "Bearer " + token["access_token"]}
        url = conn["base_url"] + "/v2/okms/resource"
        assert requests.get(url, headers=headers, verify=conn["ca_path"]).status_code == 200
        # The data plane takes the same token (Bearer or X-Vault-Token): this account has no KMS, so 404.
        data_url = f"{conn['data_endpoint']}/api/{uuid.uuid4()}/v2/secret"
        vault_headers = {"X-Vault-Token": token["access_token"]}
        assert requests.get(data_url, headers=headers, verify=conn["ca_path"]).status_code == 404
        assert requests.get(data_url, headers=vault_headers, verify=conn["ca_path"]).status_code == 404
        time.sleep(1.3)
        expired = requests.get(url, headers=headers, verify=conn["ca_path"])
        assert expired.status_code == 401
        assert expired.json()["class"] == "Client::Unauthorized"
        for expired_headers in (headers, vault_headers):
            expired = requests.get(data_url, headers=expired_headers, verify=conn["ca_path"])
            assert expired.status_code == 401 and "expired" in expired.json()["errors"][0]
        # python-ovh renews transparently
        assert oauth_client(conn).get("/v2/okms/resource") == []


def test_consumer_key_request(conn):
    client = app_client(conn, consumer_key=None)
    ck = client.new_consumer_key_request()
    ck.add_recursive_rules(ovh.API_READ_ONLY, "/v2/okms")
    answer = ck.request()
    assert answer["state"] == "pendingValidation"
    client2 = app_client(conn, consumer_key=answer["consumerKey"])
    assert isinstance(client2.get("/v2/okms/resource"), list)
