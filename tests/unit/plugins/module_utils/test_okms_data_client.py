# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.http_transport import RetryPolicy
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_client import KmsDataClient
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    KmsApiError,
    OvhAmbiguousRequestError,
    OvhConfigurationError,
)

from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.okms_fakes import FakeSession, FakeTime, make_response

ENDPOINT = "https://eu-west-rbx.okms.ovh.net"
OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"


def make_client(answers, **kwargs):
    fake_time = FakeTime()
    policy = RetryPolicy(max_attempts=3, base_delay=1.0, sleep=fake_time.sleep, clock=fake_time.clock,
                         rand=lambda: 0.5)
    kwargs.setdefault("client_cert", "/etc/okms/client.cert")
    kwargs.setdefault("client_key", "/etc/okms/domain.key")
    return KmsDataClient(ENDPOINT, OKMS_ID, retry_policy=policy, session=FakeSession(answers), **kwargs)


def test_mutual_tls_sends_the_certificate_and_no_authorization_header():
    client = make_client([make_response(200, {"plaintext": "aGk="})])
    assert client.post("/v1/servicekey/k1/decrypt", {"ciphertext": "x"}) == {"plaintext": "aGk="}
    call = client.transport.session.calls[0]
    assert call["url"] == ENDPOINT + "/api/%s/v1/servicekey/k1/decrypt" % OKMS_ID
    assert call["cert"] == ("/etc/okms/client.cert", "/etc/okms/domain.key")
    assert "Authorization" not in call["headers"]
    assert call["data"] == b'{"ciphertext":"x"}'


def test_a_token_is_sent_as_bearer_without_a_certificate():
    client = make_client([make_response(200, {"bytes": "AA=="})], client_cert=None, client_key=None,
                         token="tok-s3cr3t")
    client.get("/v1/random", params={"length": 1})
    call = client.transport.session.calls[0]
    assert call["headers"]["Authorization"] == "Bearer tok-s3cr3t"
    assert call["cert"] is None
    assert call["url"].endswith("/v1/random?length=1")


@pytest.mark.parametrize("kwargs, message", [
    (dict(client_cert=None, client_key=None), "either client_cert and client_key"),
    (dict(token="t"), "not both"),
    (dict(client_key=None), "go together"),
])
def test_one_way_to_authenticate(kwargs, message):
    with pytest.raises(OvhConfigurationError, match=message):
        make_client([], **kwargs)


def test_plain_http_is_refused():
    with pytest.raises(OvhConfigurationError, match="https://"):
        KmsDataClient("http://eu-west-rbx.okms.ovh.net", OKMS_ID, token="t")


def test_error_body_becomes_one_readable_line():
    body = {"error_code": 50466817, "error_id": "e-1", "errors": ["key not found", "check the id"],
            "request_id": "r-42"}
    client = make_client([make_response(404, body)])
    with pytest.raises(KmsApiError) as err:
        client.get("/v1/servicekey/missing")
    text = str(err.value)
    assert text == ("GET /v1/servicekey/missing, HTTP 404, 50466817: key not found; check the id "
                    "(request_id: r-42)")
    assert "\n" not in text
    assert err.value.to_result()["error_id"] == "e-1"


def test_lost_answer_to_a_write_is_ambiguous_not_repeated():
    client = make_client([make_response(502, {"errors": ["bad gateway"]})])
    with pytest.raises(OvhAmbiguousRequestError):
        client.post("/v1/servicekey", {"name": "k"})
    assert len(client.transport.session.calls) == 1


def test_list_follows_continuation_tokens_with_100_item_pages():
    client = make_client([
        make_response(200, {"objects_list": [{"id": "a"}], "continuation_token": "t1", "is_truncated": True}),
        make_response(200, {"objects_list": [{"id": "b"}], "continuation_token": "", "is_truncated": False}),
    ])
    assert client.list_all("/v1/servicekey", "objects_list") == [{"id": "a"}, {"id": "b"}]
    urls = [call["url"] for call in client.transport.session.calls]
    assert urls[0].endswith("/v1/servicekey?max=100")
    assert urls[1].endswith("/v1/servicekey?continuation-token=t1&max=100")
