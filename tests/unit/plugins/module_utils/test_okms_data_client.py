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
                    "(error_id: e-1, request_id: r-42)")
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


class FakeControlClient:
    """The OVHcloud API client as build_data_client uses it: an auth strategy and KMS reads."""

    def __init__(self, auth_name, kms=None):
        self.auth = type("Auth", (), {"name": auth_name, "headers": lambda self, m, u, b: {
            "Authorization": "Bearer oauth2-token"}, "refresh_after": lambda self, error: False})()
        self.kms = kms
        self.reads = []

    def get(self, path, params=None):
        self.reads.append(path)
        if self.kms is None:
            raise KmsApiError("not found", status=404)
        return self.kms


def write_certificate(path, days_from_now=(-1, 1)):
    """A self-signed certificate valid from/until these days from now."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, OKMS_ID)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now + datetime.timedelta(days=days_from_now[0]))
            .not_valid_after(now + datetime.timedelta(days=days_from_now[1])).sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(Encoding.PEM))
    return str(path)


@pytest.fixture
def certificate(tmp_path):
    return write_certificate(tmp_path / "client.cert")


@pytest.fixture
def settings(certificate):
    from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_config import DataPlaneSettings

    def make(**kwargs):
        values = dict(rest_endpoint=ENDPOINT, okms_id=OKMS_ID, auth="mtls", client_cert=certificate, client_key="/k")
        values.update(kwargs)
        return DataPlaneSettings(**values)
    return make


def test_build_data_client_needs_no_control_client_for_a_certificate_with_an_endpoint(settings, certificate):
    from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_client import build_data_client

    def no_control_client():
        raise AssertionError("the OVHcloud API client must not be built")

    client = build_data_client(settings(), no_control_client)
    assert client.url("/v1/random") == ENDPOINT + "/api/%s/v1/random" % OKMS_ID
    assert client.transport.client_cert == (certificate, "/k")


def test_build_data_client_uses_the_oauth2_strategy_of_the_control_client(settings):
    from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_client import build_data_client
    control = FakeControlClient("oauth2")
    client = build_data_client(settings(auth="oauth2", client_cert=None, client_key=None), lambda: control)
    assert client.auth is control.auth and client.transport.client_cert is None


def test_build_data_client_refuses_application_key_credentials_for_the_data_plane(settings):
    from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_client import build_data_client
    with pytest.raises(OvhConfigurationError, match="application-key"):
        build_data_client(settings(auth="oauth2", client_cert=None, client_key=None),
                          lambda: FakeControlClient("application_key"))


def test_build_data_client_reads_the_rest_endpoint_of_the_kms_when_nothing_gives_it(settings):
    from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_client import build_data_client
    control = FakeControlClient("application_key", kms={"id": OKMS_ID, "restEndpoint": "https://kms.example"})
    client = build_data_client(settings(rest_endpoint=None), lambda: control)
    assert control.reads == ["/v2/okms/resource/%s" % OKMS_ID]
    assert client.url("/v1/x").startswith("https://kms.example/api/")
    with pytest.raises(OvhConfigurationError, match="does not exist"):
        build_data_client(settings(rest_endpoint=None), lambda: FakeControlClient("application_key"))


@pytest.mark.parametrize("days, message", [((-31, -1), "expired on"), ((1, 31), "is valid only from")])
def test_a_certificate_outside_its_dates_fails_before_any_request(settings, tmp_path, days, message):
    from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_client import build_data_client
    path = write_certificate(tmp_path / "dated.cert", days)

    def no_control_client():
        raise AssertionError("no request may be made")

    with pytest.raises(OvhConfigurationError) as caught:
        build_data_client(settings(client_cert=path), no_control_client)
    assert str(caught.value).startswith("client_cert: %s %s" % (path, message))
