# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
import requests
from urllib3.exceptions import NewConnectionError

from ansible_collections.ovhcloud.kms.plugins.module_utils.http_transport import RetryPolicy, parse_retry_after
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_api import OvhApiClient
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_auth import application_key_signature
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_config import resolve_config
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
)

from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.okms_fakes import FakeSession, FakeTime, make_response

BASE = "https://eu.api.ovh.com/1.0"


def ak_config():
    return resolve_config(dict(endpoint="ovh-eu", application_key="AK", application_secret="AS-s3cr3t",
                               consumer_key="CK-s3cr3t"), {}, ())


def oauth_config(endpoint="ovh-eu"):
    return resolve_config(dict(endpoint=endpoint, client_id="cid", client_secret="cs-s3cr3t"), {}, ())


def time_answer():
    return make_response(200, raw=b"1700000000")


def make_client(answers, config=None, max_attempts=5, max_total=60.0, rand=0.5, **kwargs):
    """A client on a scripted session; ``client.transport.session.calls`` and ``client.fake_time.sleeps`` record what it did."""
    fake_time = FakeTime()
    policy = RetryPolicy(max_attempts=max_attempts, base_delay=1.0, max_delay=8.0, max_total=max_total,
                         sleep=fake_time.sleep, clock=fake_time.clock, rand=lambda: rand)
    client = OvhApiClient(config or ak_config(), retry_policy=policy, session=FakeSession(answers), **kwargs)
    client.fake_time = fake_time
    return client


def connection_refused():
    return requests.exceptions.ConnectionError(NewConnectionError(None, "Connection refused"))


# --- signing on the wire ------------------------------------------------------


def test_signed_request_carries_exact_body_url_and_time_delta(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1699999990.0)
    client = make_client([time_answer(), make_response(200, {"id": "k1"})])
    assert client.post("/v2/okms/resource/o1/serviceKey", {"name": "k", "type": "oct"}, params={"b": "2", "a": "1"}) \
        == {"id": "k1"}
    assert client.transport.session.calls[0]["url"] == BASE + "/auth/time"
    assert "X-Ovh-Signature" not in client.transport.session.calls[0]["headers"]
    call = client.transport.session.calls[1]
    assert call["url"] == "https://eu.api.ovh.com/v2/okms/resource/o1/serviceKey?a=1&b=2"
    assert call["data"] == b'{"name":"k","type":"oct"}'
    headers = call["headers"]
    assert headers["X-Ovh-Timestamp"] == "1700000000"
    assert headers["X-Ovh-Signature"] == application_key_signature(
        "AS-s3cr3t", "CK-s3cr3t", "POST", call["url"], call["data"], 1700000000)
    assert headers["Content-Type"] == "application/json"


def test_server_time_fetched_once_per_client():
    client = make_client([time_answer(), make_response(200, []), make_response(200, [])])
    client.get("/v2/okms/resource")
    client.get("/v2/okms/resource")
    assert [c["url"].endswith("/auth/time") for c in client.transport.session.calls] == [True, False, False]


def test_query_time_out_refetches_the_clock_once():
    stale = make_response(400, {"class": "Client::BadRequest", "errorCode": "QUERY_TIME_OUT",
                                "httpCode": "400 Bad Request",
                                "message": "Query out of time"})
    client = make_client([time_answer(), stale, time_answer(), make_response(200, {"ok": 1})])
    assert client.get("/me") == {"ok": 1}
    assert len(client.transport.session.calls) == 4


def test_oauth2_token_fetched_once_and_refreshed_on_401():
    token = make_response(200, {"access_token": "T1", "token_type": "Bearer", "expires_in": 3599})
    token2 = make_response(200, {"access_token": "T2", "token_type": "Bearer", "expires_in": 3599})
    client = make_client(
        [token, make_response(200, []), make_response(401, {"class": "Client::Unauthorized", "message": "expired"}),
         token2, make_response(200, [])], config=oauth_config())
    client.get("/v2/okms/resource")
    client.get("/v2/okms/resource")
    token_call = client.transport.session.calls[0]
    assert token_call["url"] == "https://www.ovh.com/auth/oauth2/token"
    assert token_call["method"] == "POST"
    assert b"grant_type=client_credentials" in token_call["data"]
    assert client.transport.session.calls[1]["headers"]["Authorization"] == "Bearer T1"
    assert client.transport.session.calls[4]["headers"]["Authorization"] == "Bearer T2"


def test_oauth2_refused_credentials_message_has_no_secret():
    refused = make_response(401, {"error": "invalid_client", "error_description": "bad client credentials"})
    client = make_client([refused], config=oauth_config())
    with pytest.raises(OvhApiError) as err:
        client.get("/v2/okms/resource")
    assert "OAuth2 authentication refused" in str(err.value)
    assert "s3cr3t" not in str(err.value)


def test_oauth2_ca_falls_back_to_second_token_url():
    answers = [make_response(404, {"message": "no"}),
               make_response(200, {"access_token": "T", "expires_in": 3599}), make_response(200, [])]
    client = make_client(answers, config=oauth_config("ovh-ca"))
    client.get("/v2/okms/resource")
    assert [c["url"] for c in client.transport.session.calls[:2]] == [
        "https://ca.ovh.com/auth/oauth2/token", "https://www.ovh.ca/auth/oauth2/token"]


def test_unreachable_token_url_is_named_not_the_api_url():
    # Token requests are retried like a GET: every attempt fails to connect.
    client = make_client([connection_refused()] * 2, config=oauth_config(), max_attempts=2)
    with pytest.raises(OvhApiError) as err:
        client.get("/v2/okms/resource")
    message = str(err.value)
    assert "cannot reach https://www.ovh.com/auth/oauth2/token:" in message
    assert "eu.api.ovh.com" not in message
    assert [c["url"] for c in client.transport.session.calls] == ["https://www.ovh.com/auth/oauth2/token"] * 2
    # The form body carried the secret; the message and the structured result never do.
    assert b"cs-s3cr3t" in client.transport.session.calls[0]["data"]
    assert "s3cr3t" not in message + json.dumps(err.value.to_result())
    assert "client_secret" not in message and "grant_type" not in message


def test_tls_error_on_a_custom_token_url_names_that_url_without_query():
    config = resolve_config(dict(endpoint="https://127.0.0.1:8443/1.0", client_id="cid", client_secret="cs-s3cr3t"),
                            {}, ())
    client = make_client([requests.exceptions.SSLError("certificate verify failed")], config=config,
                         token_urls=["https://user:pw@127.0.0.1:9443/auth/oauth2/token?tenant=t1#frag"])
    with pytest.raises(OvhApiError, match="ca_path") as err:
        client.get("/v2/okms/resource")
    message = str(err.value)
    assert "TLS error talking to https://127.0.0.1:9443/auth/oauth2/token:" in message
    for absent in ("127.0.0.1:8443", "tenant", "frag", "user", "pw@", "s3cr3t", "client_secret"):
        assert absent not in message
    assert len(client.transport.session.calls) == 1


def test_transport_errors_name_the_contacted_api_url_without_query():
    answers = [time_answer()] + [connection_refused()] * 2
    client = make_client(answers, max_attempts=2)
    with pytest.raises(OvhApiError) as err:
        client.get("/v2/okms/resource", params={"iamTags": "x"})
    assert "cannot reach https://eu.api.ovh.com/v2/okms/resource:" in str(err.value)
    assert client.transport.session.calls[1]["url"] == "https://eu.api.ovh.com/v2/okms/resource?iamTags=x"
    assert "iamTags" not in str(err.value)


# --- retries ------------------------------------------------------------------


def test_get_retried_on_503_with_jittered_exponential_backoff():
    answers = [time_answer()] + [make_response(503, {"message": "busy"})] * 3 + [make_response(200, {"ok": True})]
    client = make_client(answers, rand=0.5)
    assert client.get("/me") == {"ok": True}
    # ceilings 1, 2, 4 with "equal jitter" at rand=0.5 -> 3/4 of each ceiling
    assert client.fake_time.sleeps == [0.75, 1.5, 3.0]


@pytest.mark.parametrize("rand, low, high", [(0.0, 0.5, 1.0), (0.999, 0.5, 1.0)])
def test_backoff_jitter_stays_within_bounds(rand, low, high):
    policy = RetryPolicy(base_delay=1.0, rand=lambda: rand)
    assert low <= policy.backoff_delay(1) <= high
    assert policy.backoff_delay(10) <= policy.max_delay


def test_429_honours_retry_after_even_for_post():
    answers = [time_answer(), make_response(429, {"message": "slow down"}, headers={"Retry-After": "7"}),
               make_response(200, {"id": "c1"})]
    client = make_client(answers)
    assert client.post("/v2/okms/resource/o/credential", {"name": "x"}) == {"id": "c1"}
    assert client.fake_time.sleeps == [7.0]
    assert [c["method"] for c in client.transport.session.calls] == ["GET", "POST", "POST"]


def test_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_retries_bounded_by_attempt_count():
    answers = [time_answer()] + [make_response(500, {"class": "Server::InternalServerError", "message": "boom"},
                                               headers={"X-Ovh-QueryID": "EU.ext-1.abc"})] * 3
    client = make_client(answers, max_attempts=3)
    with pytest.raises(OvhApiError) as err:
        client.get("/v2/okms/resource")
    assert len(client.transport.session.calls) == 4
    assert err.value.status == 500
    assert "EU.ext-1.abc" in str(err.value)


def test_retries_bounded_by_total_time():
    answers = [time_answer()] + [make_response(429, {}, headers={"Retry-After": "40"})] * 5
    client = make_client(answers, max_total=60.0)
    with pytest.raises(OvhApiError) as err:
        client.get("/v2/okms/resource")
    assert err.value.status == 429
    assert client.fake_time.sleeps == [40.0]
    assert len(client.transport.session.calls) == 3


def test_post_not_retried_on_5xx_and_reported_ambiguous():
    client = make_client([time_answer(), make_response(502, {"message": "bad gateway"})])
    with pytest.raises(OvhAmbiguousRequestError) as err:
        client.post("/v2/okms/resource/o/serviceKey", {"name": "k"})
    assert "re-read" in str(err.value)
    assert len(client.transport.session.calls) == 2
    assert client.fake_time.sleeps == []


def test_post_not_retried_after_read_timeout():
    client = make_client([time_answer(), requests.exceptions.ReadTimeout("read timed out")])
    with pytest.raises(OvhAmbiguousRequestError):
        client.delete("/v2/okms/resource/o/serviceKey/k")
    assert len(client.transport.session.calls) == 2


def test_post_retried_when_connection_was_refused():
    client = make_client([time_answer(), connection_refused(), make_response(200, {"id": "c"})])
    assert client.post("/v2/okms/resource/o/credential", {"name": "x"}) == {"id": "c"}
    assert len(client.transport.session.calls) == 3


def test_get_retried_after_read_timeout_then_gives_up_clearly():
    answers = [time_answer()] + [requests.exceptions.ReadTimeout("read timed out")] * 2
    client = make_client(answers, max_attempts=2)
    with pytest.raises(OvhApiError) as err:
        client.get("/me")
    assert not isinstance(err.value, OvhAmbiguousRequestError)
    assert "cannot reach" in str(err.value)


def test_tls_errors_are_not_retried_and_mention_ca_path():
    client = make_client([time_answer(), requests.exceptions.SSLError("certificate verify failed")])
    with pytest.raises(OvhApiError, match="ca_path"):
        client.get("/me")
    assert len(client.transport.session.calls) == 2


# --- pagination ---------------------------------------------------------------


def test_get_all_follows_cursors_to_the_last_page():
    answers = [time_answer(),
               make_response(200, [1, 2], headers={"X-Pagination-Cursor-Next": "c1"}),
               make_response(200, [3, 4], headers={"X-Pagination-Cursor-Next": "c2"}),
               make_response(200, [5])]
    client = make_client(answers)
    assert client.get_all("/v2/okms/resource", page_size=2) == [1, 2, 3, 4, 5]
    pages = client.transport.session.calls[1:]
    assert "X-Pagination-Cursor" not in pages[0]["headers"]
    assert [p["headers"].get("X-Pagination-Cursor") for p in pages[1:]] == ["c1", "c2"]
    assert all(p["headers"]["X-Pagination-Size"] == "2" for p in pages)


def test_get_all_refuses_a_cursor_loop():
    loop = make_response(200, [1], headers={"X-Pagination-Cursor-Next": "same"})
    client = make_client([time_answer(), loop, make_response(200, [1], headers={"X-Pagination-Cursor-Next": "same"})])
    with pytest.raises(OvhApiError, match="same pagination cursor"):
        client.get_all("/v2/okms/resource")


# --- errors -------------------------------------------------------------------


def test_v2_error_body_maps_to_one_exception():
    body = {"class": "Client::BadRequest::ServiceKeySizeIncompatible", "message": "size not allowed for EC",
            "details": {"field": "size"}}
    client = make_client([time_answer(), make_response(400, body, headers={"X-Ovh-QueryID": "EU.q1"})])
    with pytest.raises(OvhApiError) as err:
        client.post("/v2/okms/resource/o/serviceKey", {"name": "k"})
    exc = err.value
    assert (exc.status, exc.error_class, exc.query_id) == (400, "Client::BadRequest::ServiceKeySizeIncompatible", "EU.q1")
    assert str(exc) == ("POST /v2/okms/resource/o/serviceKey, HTTP 400, Client::BadRequest::ServiceKeySizeIncompatible: "
                        "size not allowed for EC (X-Ovh-QueryID: EU.q1)")
    assert exc.to_result()["details"] == {"field": "size"}


def test_v1_auth_error_body_and_non_json_error():
    forbidden = make_response(403, {"errorCode": "INVALID_CREDENTIAL", "httpCode": "403 Forbidden",
                                    "message": "This credential does not exist"})
    client = make_client([time_answer(), forbidden, make_response(404, raw=b"<html>nope</html>")])
    with pytest.raises(OvhApiError) as err:
        client.get("/me")
    assert err.value.error_class == err.value.error_code == "INVALID_CREDENTIAL"
    assert "403, INVALID_CREDENTIAL: This credential does not exist" in str(err.value)
    with pytest.raises(OvhApiError) as err:
        client.get("/me")
    assert err.value.status == 404
    assert "Not Found" in str(err.value)


def test_no_secret_in_any_error_message():
    client = make_client([time_answer(), make_response(400, {"class": "Client::BadRequest", "message": "bad"})])
    with pytest.raises(OvhApiError) as err:
        client.post("/v2/okms/resource/o/credential", {"name": "x"})
    assert "s3cr3t" not in str(err.value) + json.dumps(err.value.to_result())


def test_extra_ca_is_added_to_the_default_bundle_and_sent_with_each_request(tmp_path, monkeypatch):
    default = tmp_path / "default.pem"
    default.write_bytes(b"-----BEGIN CERTIFICATE-----\nDEFAULT\n-----END CERTIFICATE-----\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(default))
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nEXTRA\n-----END CERTIFICATE-----\n")
    client = make_client([time_answer()], ca_path=str(ca))
    with open(client.transport.verify, "rb") as handle:
        bundle = handle.read()
    assert b"DEFAULT" in bundle and b"EXTRA" in bundle
    client.auth.headers("GET", BASE, None)
    # Per request, because requests lets REQUESTS_CA_BUNDLE override a session-level setting.
    assert client.transport.session.calls[0]["verify"] == client.transport.verify


def test_validate_certs_false_is_sent_with_each_request():
    client = make_client([time_answer()], validate_certs=False)
    client.auth.headers("GET", BASE, None)
    assert client.transport.session.calls[0]["verify"] is False
