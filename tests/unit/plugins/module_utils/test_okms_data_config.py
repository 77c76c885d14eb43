# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils import okms_data_config
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_config import (
    okms_id_from_certificate,
    parse_simple_yaml,
    read_config_file,
    resolve_data_plane,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhConfigurationError

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"

ROLE_CONFIG = """\
# Ansible managed
# okms-cli configuration for KMS x (demo).
version: 1
profile: default
profiles:
  default:
    restapi:
      endpoint: https://eu-west-rbx.okms.ovh.net
      ca: /etc/okms/rest-ca.pem
      auth:
        type: mtls
        cert: /etc/okms/client.cert
        key: /etc/okms/domain.key
        okmsId: %s
    kmip:
      endpoint: eu-west-rbx.okms.ovh.net:5696
      auth:
        type: mtls
        cert: /etc/okms/client.cert
        key: /etc/okms/domain.key
  ci:
    restapi:
      endpoint: "https://ca-east-bhs.okms.ovh.net"   # quoted, with a comment
      auth: {type: token, token: s3cr3t-token, okmsId: '%s'}
""" % (OKMS_ID, OKMS_ID)


def fake_certificate(san_text):
    # Enough DER-looking bytes for the SAN search; the reader needs no X.509 parser.
    value = san_text.encode()
    der = b"\x30\x82\x01\x00\xa0\x30\x06\x0a+\x06\x01\x04\x01\x827\x14\x02\x03\x0c" + bytes([len(value)]) + value + b"0" * 8
    body = base64.encodebytes(der).decode()
    return ("-----BEGIN CERTIFICATE-----\n%s-----END CERTIFICATE-----\n" % body).encode()


def params(**given):
    values = dict.fromkeys(["config_file", "profile", "rest_endpoint", "okms_id", "client_cert", "client_key",
                            "token", "ca_path", "client_id", "client_secret"])
    values.update(given)
    return values


def resolve(text=ROLE_CONFIG, oauth2=False, certificate=None, **given):
    given.setdefault("config_file", "/etc/okms/okms.yaml")
    return resolve_data_plane(params(**given), lambda: oauth2, read_text=lambda path: text,
                              read_bytes=lambda path: certificate or fake_certificate("okms.domain:" + OKMS_ID))


def test_the_simple_reader_reads_what_pyyaml_reads():
    yaml = pytest.importorskip("yaml")
    assert parse_simple_yaml(ROLE_CONFIG) == yaml.safe_load(ROLE_CONFIG)


@pytest.mark.parametrize("text", ["profiles:\n  - a\n", "a: |\n  x\n", "a b c\n"])
def test_the_simple_reader_refuses_what_it_does_not_understand(text):
    with pytest.raises(ValueError, match="line"):
        parse_simple_yaml(text)


def test_the_role_config_gives_mutual_tls_with_its_files():
    settings = resolve()
    assert settings.auth == "mtls"
    assert (settings.rest_endpoint, settings.okms_id) == ("https://eu-west-rbx.okms.ovh.net", OKMS_ID)
    assert (settings.client_cert, settings.client_key) == ("/etc/okms/client.cert", "/etc/okms/domain.key")
    assert settings.ca_path == "/etc/okms/rest-ca.pem"
    assert settings.sources["client_cert"] == "profile 'default' of /etc/okms/okms.yaml"


def test_a_profile_with_a_token():
    settings = resolve(profile="ci")
    assert (settings.auth, settings.token, settings.client_cert) == ("token", "s3cr3t-token", None)
    assert settings.rest_endpoint == "https://ca-east-bhs.okms.ovh.net"


def test_options_win_over_the_file_setting_by_setting():
    settings = resolve(rest_endpoint="https://127.0.0.1:8443", ca_path="/tmp/ca.pem", token="t2")
    assert (settings.rest_endpoint, settings.ca_path, settings.auth, settings.token) == (
        "https://127.0.0.1:8443", "/tmp/ca.pem", "token", "t2")
    assert settings.client_cert is None


def test_relative_paths_in_the_file_are_relative_to_it():
    text = ROLE_CONFIG.replace("/etc/okms/client.cert", "client.cert")
    assert resolve(text, config_file="/srv/app/okms.yaml").client_cert == "/srv/app/client.cert"


def test_the_kms_id_comes_from_the_certificate_when_nothing_names_it():
    text = ROLE_CONFIG.replace("        okmsId: %s\n" % OKMS_ID, "", 1)
    settings = resolve(text)
    assert settings.okms_id == OKMS_ID
    assert settings.sources["okms_id"] == "the SAN of /etc/okms/client.cert"


def test_the_kms_id_reader_finds_the_san_of_a_real_certificate(tmp_path):
    pytest.importorskip("cryptography")
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, OKMS_ID)])
    upn = b"\x0c" + bytes([len("okms.domain:" + OKMS_ID)]) + ("okms.domain:" + OKMS_ID).encode()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), upn)]), critical=False)
            .sign(key, hashes.SHA256()))
    path = tmp_path / "client.cert"
    path.write_bytes(cert.public_bytes(Encoding.PEM))
    assert okms_id_from_certificate(str(path)) == OKMS_ID


@pytest.mark.parametrize("given, message", [
    (dict(profile="nope"), "has no profile 'nope' (its profiles: ci, default)"),
    (dict(client_cert="/c", token="t"), "one way only"),
    (dict(client_cert="/c"), "client_key is required"),
    (dict(okms_id="not-an-id"), "okms_id (from option okms_id) must be a KMS id"),
    (dict(rest_endpoint="http://kms"), "rest_endpoint (from option rest_endpoint) must be an https:// URL"),
])
def test_bad_settings_name_the_option(given, message):
    with pytest.raises(OvhConfigurationError) as caught:
        resolve(**given)
    assert message in str(caught.value)


def test_no_identity_lists_every_way():
    with pytest.raises(OvhConfigurationError, match="config_file.*client_cert.*token.*OAuth2"):
        resolve_data_plane(params(rest_endpoint="https://k", okms_id=OKMS_ID), lambda: False)


def test_a_certificate_wins_over_an_oauth2_service_account_of_module_defaults():
    settings = resolve(client_id="id", client_secret="s", oauth2=True)
    assert (settings.auth, settings.client_cert) == ("mtls", "/etc/okms/client.cert")


def test_an_oauth2_service_account_needs_the_kms_id():
    assert resolve_data_plane(params(okms_id=OKMS_ID), lambda: True).auth == "oauth2"
    with pytest.raises(OvhConfigurationError, match="okms_id is required"):
        resolve_data_plane(params(client_id="id", client_secret="s"), lambda: False)


def test_an_unreadable_file_names_it(tmp_path):
    path = tmp_path / "okms.yaml"
    with pytest.raises(OvhConfigurationError, match="config_file: cannot read .*okms.yaml"):
        read_config_file(str(path))


def test_a_token_never_appears_in_messages():
    text = ROLE_CONFIG.replace("type: token, token: s3cr3t-token", "type: magic, token: s3cr3t-token")
    with pytest.raises(OvhConfigurationError) as caught:
        resolve(text, profile="ci")
    assert "s3cr3t" not in str(caught.value) and "magic" in str(caught.value)


def test_without_pyyaml_the_built_in_reader_is_used(monkeypatch):
    monkeypatch.setattr(okms_data_config, "HAS_YAML", False)
    assert resolve(profile="ci").token == "s3cr3t-token"
