# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import tempfile

import pytest
import requests
from urllib3.exceptions import NewConnectionError

from ansible_collections.ovhcloud.kms.plugins.module_utils.http_transport import (
    HttpTransport,
    RetryPolicy,
    parse_retry_after,
    tls_verify,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_api import OvhApiClient, error_from_response
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_auth import application_key_signature
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_config import resolve_config
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
    OvhConfigurationError,
)

from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.okms_fakes import (
    FakeSession,
    FakeTime,
    LocalTlsServer,
    make_ca_and_server_certificate,
    make_response,
)

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


def test_signed_request_carries_exact_body_url_and_the_local_time(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1700000000.0)
    client = make_client([make_response(200, {"id": "k1"})])
    assert client.post("/v2/okms/resource/o1/serviceKey", {"name": "k", "type": "oct"}, params={"b": "2", "a": "1"}) \
        == {"id": "k1"}
    [call] = client.transport.session.calls
    assert call["url"] == "https://eu.api.ovh.com/v2/okms/resource/o1/serviceKey?a=1&b=2"
    assert call["data"] == b'{"name":"k","type":"oct"}'
    headers = call["headers"]
    assert headers["X-Ovh-Timestamp"] == "1700000000"
    assert headers["X-Ovh-Signature"] == application_key_signature(
        "AS-s3cr3t", "CK-s3cr3t", "POST", call["url"], call["data"], 1700000000)
    assert headers["Content-Type"] == "application/json"


def test_a_right_clock_never_asks_the_server_time():
    client = make_client([make_response(200, []), make_response(200, [])])
    client.get("/v2/okms/resource")
    client.get("/v2/okms/resource")
    assert [c["url"].endswith("/auth/time") for c in client.transport.session.calls] == [False, False]


def test_a_refused_timestamp_fetches_the_server_time_once_and_the_request_goes_again(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1699999000.0)  # 1,000 s behind the server
    stale = make_response(400, {"class": "Client::BadRequest", "errorCode": "QUERY_TIME_OUT",
                                "httpCode": "400 Bad Request",
                                "message": "Query out of time"})
    client = make_client([stale, time_answer(), make_response(200, {"id": "k1"}), make_response(200, {"ok": 1})])
    # A POST too: a timestamp refused is a request refused, never applied.
    assert client.post("/v2/okms/resource/o1/serviceKey", {"name": "k"}) == {"id": "k1"}
    assert client.get("/me") == {"ok": 1}
    calls = client.transport.session.calls
    assert [c["url"].rsplit("/", 1)[-1] for c in calls] == ["serviceKey", "time", "serviceKey", "me"]
    assert [c["headers"].get("X-Ovh-Timestamp") for c in calls] == ["1699999000", None, "1700000000", "1700000000"]


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
    answers = [connection_refused()] * 2
    client = make_client(answers, max_attempts=2)
    with pytest.raises(OvhApiError) as err:
        client.get("/v2/okms/resource", params={"iamTags": "x"})
    assert "cannot reach https://eu.api.ovh.com/v2/okms/resource:" in str(err.value)
    assert client.transport.session.calls[0]["url"] == "https://eu.api.ovh.com/v2/okms/resource?iamTags=x"
    assert "iamTags" not in str(err.value)


# --- retries ------------------------------------------------------------------


def test_get_retried_on_503_with_jittered_exponential_backoff():
    answers = [make_response(503, {"message": "busy"})] * 3 + [make_response(200, {"ok": True})]
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
    answers = [make_response(429, {"message": "slow down"}, headers={"Retry-After": "7"}),
               make_response(200, {"id": "c1"})]
    client = make_client(answers)
    assert client.post("/v2/okms/resource/o/credential", {"name": "x"}) == {"id": "c1"}
    assert client.fake_time.sleeps == [7.0]
    assert [c["method"] for c in client.transport.session.calls] == ["POST", "POST"]


def test_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_retries_bounded_by_attempt_count():
    answers = [make_response(500, {"class": "Server::InternalServerError", "message": "boom"},
                             headers={"X-Ovh-QueryID": "EU.ext-1.abc"})] * 3
    client = make_client(answers, max_attempts=3)
    with pytest.raises(OvhApiError) as err:
        client.get("/v2/okms/resource")
    assert len(client.transport.session.calls) == 3
    assert err.value.status == 500
    assert "EU.ext-1.abc" in str(err.value)


def test_retries_bounded_by_total_time():
    answers = [make_response(429, {}, headers={"Retry-After": "40"})] * 5
    client = make_client(answers, max_total=60.0)
    with pytest.raises(OvhApiError) as err:
        client.get("/v2/okms/resource")
    assert err.value.status == 429
    assert client.fake_time.sleeps == [40.0]
    assert len(client.transport.session.calls) == 2


def test_post_not_retried_on_5xx_and_reported_ambiguous():
    client = make_client([make_response(502, {"message": "bad gateway"})])
    with pytest.raises(OvhAmbiguousRequestError) as err:
        client.post("/v2/okms/resource/o/serviceKey", {"name": "k"})
    assert "re-read" in str(err.value)
    assert len(client.transport.session.calls) == 1
    assert client.fake_time.sleeps == []


def test_post_not_retried_after_read_timeout():
    client = make_client([requests.exceptions.ReadTimeout("read timed out")])
    with pytest.raises(OvhAmbiguousRequestError):
        client.delete("/v2/okms/resource/o/serviceKey/k")
    assert len(client.transport.session.calls) == 1


def test_post_retried_when_connection_was_refused():
    client = make_client([connection_refused(), make_response(200, {"id": "c"})])
    assert client.post("/v2/okms/resource/o/credential", {"name": "x"}) == {"id": "c"}
    assert len(client.transport.session.calls) == 2


def test_get_retried_after_read_timeout_then_gives_up_clearly():
    answers = [requests.exceptions.ReadTimeout("read timed out")] * 2
    client = make_client(answers, max_attempts=2)
    with pytest.raises(OvhApiError) as err:
        client.get("/me")
    assert not isinstance(err.value, OvhAmbiguousRequestError)
    assert "cannot reach" in str(err.value)


def test_tls_errors_are_not_retried_and_mention_ca_path():
    client = make_client([requests.exceptions.SSLError("certificate verify failed")])
    with pytest.raises(OvhApiError, match="ca_path"):
        client.get("/me")
    assert len(client.transport.session.calls) == 1


# --- pagination ---------------------------------------------------------------


def test_get_all_follows_cursors_to_the_last_page():
    answers = [make_response(200, [1, 2], headers={"X-Pagination-Cursor-Next": "c1"}),
               make_response(200, [3, 4], headers={"X-Pagination-Cursor-Next": "c2"}),
               make_response(200, [5])]
    client = make_client(answers)
    assert client.get_all("/v2/okms/resource", page_size=2) == [1, 2, 3, 4, 5]
    pages = client.transport.session.calls
    assert "X-Pagination-Cursor" not in pages[0]["headers"]
    assert [p["headers"].get("X-Pagination-Cursor") for p in pages[1:]] == ["c1", "c2"]
    assert all(p["headers"]["X-Pagination-Size"] == "2" for p in pages)


def test_get_all_refuses_a_cursor_loop():
    loop = make_response(200, [1], headers={"X-Pagination-Cursor-Next": "same"})
    client = make_client([loop, make_response(200, [1], headers={"X-Pagination-Cursor-Next": "same"})])
    with pytest.raises(OvhApiError, match="same pagination cursor"):
        client.get_all("/v2/okms/resource")


# --- errors -------------------------------------------------------------------


def test_v2_error_body_maps_to_one_exception():
    body = {"class": "Client::BadRequest::ServiceKeySizeIncompatible", "message": "size not allowed for EC",
            "details": {"field": "size"}}
    client = make_client([make_response(400, body, headers={"X-Ovh-QueryID": "EU.q1"})])
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
    client = make_client([forbidden, make_response(404, raw=b"<html>nope</html>")])
    with pytest.raises(OvhApiError) as err:
        client.get("/me")
    assert err.value.error_class == err.value.error_code == "INVALID_CREDENTIAL"
    assert "403, INVALID_CREDENTIAL: This credential does not exist" in str(err.value)
    with pytest.raises(OvhApiError) as err:
        client.get("/me")
    assert err.value.status == 404
    assert "Not Found" in str(err.value)


def test_no_secret_in_any_error_message():
    client = make_client([make_response(400, {"class": "Client::BadRequest", "message": "bad"})])
    with pytest.raises(OvhApiError) as err:
        client.post("/v2/okms/resource/o/credential", {"name": "x"})
    assert "s3cr3t" not in str(err.value) + json.dumps(err.value.to_result())


# --- TLS trust: the extra CA, in memory --------------------------------------------


def write(path, data):
    path.write_bytes(data)
    return str(path)


def test_the_extra_ca_and_the_default_bundle_are_both_trusted_for_every_request(tmp_path, monkeypatch):
    """ca_path adds a CA to the default trust (here REQUESTS_CA_BUNDLE, as requests reads it), for real handshakes."""
    default_ca, default_cert, default_key = make_ca_and_server_certificate("default")
    extra_ca, extra_cert, extra_key = make_ca_and_server_certificate("extra")
    (tmp_path / "default").mkdir()
    (tmp_path / "extra").mkdir()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", write(tmp_path / "default-bundle.pem", default_ca))
    ca_path = write(tmp_path / "extra-ca.pem", extra_ca)
    with LocalTlsServer(default_cert, default_key, tmp_path / "default") as by_default, \
            LocalTlsServer(extra_cert, extra_key, tmp_path / "extra") as by_extra:
        with_extra = HttpTransport(error_from_response, verify=tls_verify(True, ca_path), timeout=5)
        for url in (by_default.url, by_extra.url, by_default.url, by_extra.url):
            assert with_extra.send("GET", url, "/v2/okms/resource").json() == []
        default_only = HttpTransport(error_from_response, verify=tls_verify(True, None), timeout=5)
        assert default_only.send("GET", by_default.url, "/v2/okms/resource").json() == []
        with pytest.raises(OvhApiError) as refused:
            default_only.send("GET", by_extra.url, "/v2/okms/resource")
    assert "certificate verify failed" in str(refused.value) and "ca_path" in str(refused.value)


def test_the_extra_ca_leaves_no_file_behind(tmp_path, monkeypatch):
    ca, _cert, _key = make_ca_and_server_certificate("extra")
    ca_path = write(tmp_path / "ca.pem", ca)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    client = make_client([make_response(200, [])], ca_path=ca_path)
    client.get("/v2/okms/resource")
    assert list(temp.iterdir()) == []
    # Mounted on the session in memory; each request still says verify=True, so requests keeps
    # reading REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE for the default trust.
    adapter = client.transport.session.adapters["https://"]
    assert adapter.ssl_context is client.transport.extra_ca.context
    subjects = [dict(item[0] for item in cert["subject"]).get("commonName")
                for cert in adapter.ssl_context.get_ca_certs()]
    assert "extra test CA" in subjects
    assert client.transport.session.calls[0]["verify"] is True


def test_a_ca_path_that_holds_no_certificate_is_refused_naming_the_file(tmp_path):
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(OSError) as err:
        make_client([], ca_path=str(not_pem))
    assert err.value.filename == str(not_pem)
    assert err.value.strerror == "it holds no PEM certificate that can be read"
    with pytest.raises(OSError) as err:
        make_client([], ca_path=str(tmp_path / "missing.pem"))
    assert err.value.strerror == "No such file or directory"


def test_validate_certs_false_is_sent_with_each_request():
    client = make_client([make_response(200, [])], validate_certs=False)
    client.get("/v2/okms/resource")
    assert client.transport.session.calls[0]["verify"] is False


# --- clock: the server's time, and certificates outside their dates ------------------------------


def test_server_time_is_learned_from_the_answers_date_header(monkeypatch):
    now = [1700000000.0]
    monkeypatch.setattr("time.time", lambda: now[0])
    dated = make_response(200, [], headers={"Date": "Tue, 14 Nov 2023 22:14:20 GMT"})  # 1700000060
    client = make_client([make_response(200, {"access_token": "T", "expires_in": 3600}), dated],
                         config=oauth_config())
    assert client.server_time() is None and client.clock_skew() is None
    client.get("/v2/okms/resource")
    assert client.clock_skew() == 60.0
    now[0] += 10
    assert client.server_time() == 1700000070.0
    # Every answer counts, refusals included: the last one wins.
    client.transport.session.answers.append(
        make_response(404, {"message": "no"}, headers={"Date": "Tue, 14 Nov 2023 22:13:00 GMT"}))
    with pytest.raises(OvhApiError):
        client.get("/v2/okms/resource/x")
    assert client.clock_skew() == -30.0


def test_server_time_also_comes_from_auth_time_when_the_signature_fetched_it(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1699999000.0)
    stale = make_response(400, {"class": "Client::BadRequest", "errorCode": "QUERY_TIME_OUT",
                                "message": "Query out of time"})
    client = make_client([stale, time_answer(), make_response(200, [])])
    client.get("/v2/okms/resource")
    assert client.clock_skew() == 1000.0
    assert client.server_time() == 1700000000.0


def tls_failure(reason):
    return requests.exceptions.SSLError(
        "HTTPSConnectionPool(host='eu.api.ovh.com', port=443): Max retries exceeded (Caused by SSLError("
        "SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: %s "
        "(_ssl.c:1000)')))" % reason)


def test_a_certificate_not_yet_valid_says_the_clock_is_likely_wrong(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1600000000.0)
    client = make_client([make_response(200, {"access_token": "T", "expires_in": 3600},
                                        headers={"Date": "Tue, 14 Nov 2023 22:13:20 GMT"}),
                          tls_failure("certificate is not yet valid")], config=oauth_config())
    with pytest.raises(OvhApiError) as err:
        client.get("/me")
    message = str(err.value)
    assert message.startswith(
        "GET /me: TLS error talking to https://eu.api.ovh.com/1.0/me: the server's certificate is not yet valid by "
        "this machine's clock, which is likely wrong (behind): this machine's time is 2020-09-13T12:26:40Z; the "
        "server's is 2023-11-14T22:13:20Z. Set the clock right (NTP), then run again")
    assert "validate_certs" not in message


def test_an_expired_server_certificate_says_the_clock_may_be_ahead_without_a_known_server_time(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1900000000.0)
    client = make_client([tls_failure("certificate has expired")], config=oauth_config())
    with pytest.raises(OvhApiError) as err:
        client.get("/me")
    assert str(err.value).startswith(
        "POST https://www.ovh.com/auth/oauth2/token: TLS error talking to https://www.ovh.com/auth/oauth2/token: "
        "the server's certificate has expired by this machine's clock, which is likely wrong (ahead): this "
        "machine's time is 2030-03-17T17:46:40Z; the server's is not known yet. Set the clock right (NTP), then "
        "run again; if the clock is right, the server's certificate really has expired")


@pytest.mark.parametrize("dates, said", [
    ((1, 30), "is not yet valid by this machine's clock"),
    ((-30, -1), "has expired by this machine's clock"),
])
def test_real_handshakes_with_certificates_outside_their_dates_blame_the_clock(tmp_path, dates, said):
    """What OpenSSL really says, through requests and urllib3, is recognised."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca, cert, key = make_ca_and_server_certificate("dated", not_before=now + datetime.timedelta(days=dates[0]),
                                                   not_after=now + datetime.timedelta(days=dates[1]))
    ca_path = write(tmp_path / "ca.pem", ca)
    with LocalTlsServer(cert, key, tmp_path) as server:
        transport = HttpTransport(error_from_response, verify=tls_verify(True, ca_path), timeout=5)
        with pytest.raises(OvhApiError) as err:
            transport.send("GET", server.url, "/v2/okms/resource")
    assert said in str(err.value)
    assert "which is likely wrong" in str(err.value)


# --- credentials refused, and plain http --------------------------------------------------


@pytest.mark.parametrize("code, status, option", [
    ("INVALID_SIGNATURE", 400, "application_secret"),
    ("INVALID_CREDENTIAL", 403, "consumer_key"),
    ("INVALID_KEY", 403, "application_key"),
])
def test_refused_application_key_credentials_name_the_option_to_check(code, status, option):
    config = resolve_config(dict(endpoint="ovh-eu", application_key="AK"), {
        "OVH_APPLICATION_SECRET": "AS-s3cr3t", "OVH_CONSUMER_KEY": "CK-s3cr3t"}, ())
    refused = make_response(status, {"errorCode": code, "httpCode": "%d" % status, "message": "Refused"})
    client = make_client([refused], config=config)
    with pytest.raises(OvhApiError) as err:
        client.get("/me")
    message = str(err.value)
    assert ": Refused: check %s (from " % option in message
    assert "(from environment variable OVH_%s)" % option.upper() in message or option == "application_key"
    assert err.value.error_code == code
    for secret in ("AS-s3cr3t", "CK-s3cr3t"):
        assert secret not in message + json.dumps(err.value.to_result())


def test_an_oauth2_refusal_names_no_application_key_option():
    refused = make_response(401, {"errorCode": "INVALID_CREDENTIAL", "message": "Invalid or expired access token"})
    client = make_client([make_response(200, {"access_token": "T1", "expires_in": 3600}), refused,
                          make_response(200, {"access_token": "T2", "expires_in": 3600}), refused],
                         config=oauth_config())
    with pytest.raises(OvhApiError) as err:
        client.get("/me")
    assert "consumer_key" not in str(err.value)


def test_plain_http_is_refused_wherever_a_url_is_accepted():
    with pytest.raises(OvhConfigurationError) as err:
        resolve_config(dict(endpoint="http://127.0.0.1:8080/1.0", client_id="cid", client_secret="cs"), {}, ())
    assert str(err.value).startswith("endpoint is an http:// URL: every request carries the consumer key or an "
                                     "OAuth2 token")
    config = resolve_config(dict(endpoint="https://127.0.0.1:8443/1.0", client_id="cid", client_secret="cs"), {}, ())
    with pytest.raises(OvhApiError) as err:
        make_client([], config=config, token_urls=["http://127.0.0.1:8080/auth/oauth2/token"])
    assert str(err.value) == ("the OAuth2 token URL http://127.0.0.1:8080/auth/oauth2/token is not an https:// URL: "
                              "it would send the credentials (consumer key, OAuth2 client secret, tokens) in clear, "
                              "so it is refused")
    transport = HttpTransport(error_from_response, session=FakeSession([]))
    with pytest.raises(OvhApiError, match="is not an https:// URL"):
        transport.send("GET", "HTTP://eu.api.ovh.com/1.0/me", "/me")
    assert transport.session.calls == []


def test_get_all_asks_for_100_item_pages_by_default():
    client = make_client([make_response(200, [1])])
    assert client.get_all("/v2/okms/resource") == [1]
    assert client.transport.session.calls[0]["headers"]["X-Pagination-Size"] == "100"
