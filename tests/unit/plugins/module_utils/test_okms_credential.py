# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of okms_credential: option checks, CSRs and keys, keep-or-replace, result shape, polling."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential import (
    UTC,
    CredentialOptionError,
    CredentialWaitError,
    PrivateKeyFileError,
    WantedCredential,
    build_csr,
    certificate_matches_public_key,
    credential_to_diff,
    credential_to_result,
    effective_renew_before,
    filter_credentials,
    generate_private_key,
    issuing_ca_pems,
    key_certificate_type,
    load_csr,
    load_private_key,
    parse_api_datetime,
    private_key_pem,
    private_key_type,
    replacement_reasons,
    select_current,
    validate_description,
    validate_identity_urns,
    validate_name,
    validate_validity,
    wait_until_ready,
)
from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.okms_fakes import FakeTime

NOW = datetime.datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
ACCOUNT = "urn:v1:eu:identity:account:xx1111-ovh"
USER = "urn:v1:eu:identity:user:xx1111-ovh/john.smith"


# -- identity URNs ---------------------------------------------------------------------------

@pytest.mark.parametrize("urn", [
    ACCOUNT,
    USER,
    "urn:v1:ca:identity:group:xx1111-ovh/my_group",
    "urn:v1:us:identity:credential:xx1111-ovh/oauth2-0123abcd",
    "urn:v1:eu:identity:user:xx1111-ovh/john.smith@example.com",
])
def test_documented_identity_urn_forms_are_accepted(urn):
    assert validate_identity_urns([urn]) == [urn]


@pytest.mark.parametrize("urn", [
    "urn:v1:fr:identity:account:xx1111-ovh",              # unknown zone
    "urn:v1:eu:identity:robot:xx1111-ovh/x",              # unknown identity kind
    "urn:v1:eu:identity:user:xx1111-ovh",                 # a user needs <account>/<name>
    "urn:v1:eu:identity:account:xx1111-ovh/john",         # the account root has no path
    "urn:v1:eu:resource:okms:0b4b1a3e",                   # a resource, not an identity
    "urn:v1:eu:identity:user:xx1111-ovh/" + "a" * 250,    # over 255 characters
    " " + ACCOUNT,
])
def test_invalid_identity_urns_are_refused_and_named(urn):
    with pytest.raises(CredentialOptionError) as err:
        validate_identity_urns([ACCOUNT, urn])
    assert repr(urn) in str(err.value)
    assert repr(ACCOUNT) not in str(err.value), "only the bad URN is quoted"


def test_identity_urn_count_is_checked_after_removing_duplicates():
    assert validate_identity_urns([ACCOUNT, USER, ACCOUNT]) == [ACCOUNT, USER]
    many = ["urn:v1:eu:identity:user:xx1111-ovh/u%d" % i for i in range(25)]
    assert len(validate_identity_urns(many + many)) == 25
    with pytest.raises(CredentialOptionError, match="at most 25"):
        validate_identity_urns(many + [USER])
    with pytest.raises(CredentialOptionError, match="at least one"):
        validate_identity_urns([])


# -- other options ---------------------------------------------------------------------------

@pytest.mark.parametrize("validity", [0, -1, 366, 400])
def test_validity_out_of_range_is_refused(validity):
    with pytest.raises(CredentialOptionError, match="between 1 and 365"):
        validate_validity(validity)


def test_validity_bounds_are_accepted():
    validate_validity(1)
    validate_validity(365)


def test_renew_before_defaults_to_30_days_or_a_third_of_short_validity():
    assert effective_renew_before(365, None) == 30
    assert effective_renew_before(30, None) == 10
    assert effective_renew_before(1, None) == 0
    assert effective_renew_before(90, 60) == 60


@pytest.mark.parametrize("validity,renew_before", [(30, 30), (30, 45), (365, -1)])
def test_renew_before_that_would_replace_at_every_run_is_refused(validity, renew_before):
    with pytest.raises(CredentialOptionError, match="renew_before"):
        effective_renew_before(validity, renew_before)


def test_name_and_description_limits():
    validate_name("n" * 50)
    with pytest.raises(CredentialOptionError, match="at most 50"):
        validate_name("n" * 51)
    with pytest.raises(CredentialOptionError, match="empty"):
        validate_name("")
    with pytest.raises(CredentialOptionError, match="control"):
        validate_name("a\nb")
    validate_description(None)
    with pytest.raises(CredentialOptionError, match="at most 200"):
        validate_description("d" * 201)


# -- keys, CSRs, certificates ------------------------------------------------------------------

def make_ca(common_name, key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert


def issue(ca_cert, ca_key, public_key):
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "okms")]))
            .issuer_name(ca_cert.subject).public_key(public_key).serial_number(2)
            .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=90))
            .sign(ca_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def pki():
    ec_ca_key = ec.generate_private_key(ec.SECP384R1())
    rsa_ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return dict(ec_ca_key=ec_ca_key, ec_ca=make_ca("CCMUsersCA", ec_ca_key),
                rsa_ca_key=rsa_ca_key, rsa_ca=make_ca("CCMUsersRSACA", rsa_ca_key))


def test_local_csr_carries_the_local_key_and_parses():
    key = generate_private_key("ECDSA")
    csr = load_csr(build_csr(key, "web1"))
    assert csr.public_key().public_numbers() == key.public_key().public_numbers()
    assert key_certificate_type(csr.public_key()) == "ECDSA"


def test_generated_keys_have_the_asked_type_and_round_trip_through_pem():
    for certificate_type in ("ECDSA", "RSA"):
        key = generate_private_key(certificate_type)
        assert key_certificate_type(key.public_key()) == certificate_type
        loaded = load_private_key(private_key_pem(key))
        assert loaded.public_key().public_numbers() == key.public_key().public_numbers()


@pytest.mark.parametrize("text", ["not a csr", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                                               "-----END CERTIFICATE REQUEST-----\n", ""])
def test_unparseable_csr_is_refused(text):
    with pytest.raises(CredentialOptionError, match="not a PEM certificate signing request"):
        load_csr(text)


def test_csr_with_a_weak_key_is_refused():
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(CredentialOptionError, match="2048"):
        load_csr(build_csr(weak, "weak"))


def test_csr_with_an_unsupported_curve_is_refused():
    key = ec.generate_private_key(ec.SECP256K1())
    with pytest.raises(CredentialOptionError, match="P-256"):
        load_csr(build_csr(key, "k1"))


@pytest.mark.parametrize("certificate_type, private_format, marker", [
    # OVHcloud returns its generated EC keys as SEC1; RSA would be PKCS#1, the matching form.
    ("ECDSA", "TraditionalOpenSSL", b"-----BEGIN EC PRIVATE KEY-----"),
    ("RSA", "TraditionalOpenSSL", b"-----BEGIN RSA PRIVATE KEY-----"),
    ("ECDSA", "PKCS8", b"-----BEGIN PRIVATE KEY-----"),
    ("RSA", "PKCS8", b"-----BEGIN PRIVATE KEY-----"),
])
def test_private_keys_are_read_in_sec1_pkcs1_and_pkcs8(certificate_type, private_format, marker):
    key = generate_private_key(certificate_type)
    content = key.private_bytes(serialization.Encoding.PEM, getattr(serialization.PrivateFormat, private_format),
                                serialization.NoEncryption())
    assert content.startswith(marker)
    loaded = load_private_key(content)
    assert key_certificate_type(loaded.public_key()) == certificate_type
    assert loaded.public_key().public_numbers() == key.public_key().public_numbers()


def test_private_key_type_names_only_keys_the_kms_accepts():
    assert private_key_type(generate_private_key("ECDSA")) == "ECDSA"
    assert private_key_type(ec.generate_private_key(ec.SECP384R1())) == "ECDSA"
    assert private_key_type(rsa.generate_private_key(public_exponent=65537, key_size=2048)) == "RSA"
    assert private_key_type(rsa.generate_private_key(public_exponent=65537, key_size=1024)) is None
    assert private_key_type(ec.generate_private_key(ec.SECP256K1())) is None


def test_locally_generated_keys_are_written_as_pkcs8():
    assert private_key_pem(generate_private_key("ECDSA")).startswith(b"-----BEGIN PRIVATE KEY-----\n")


def test_unusable_private_key_file_errors_never_quote_the_content():
    key_pem = private_key_pem(generate_private_key("ECDSA"))
    broken = key_pem[:-40]
    with pytest.raises(PrivateKeyFileError) as err:
        load_private_key(broken)
    assert broken.decode()[30:90] not in str(err.value)
    encrypted = generate_private_key("ECDSA").private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"))
    with pytest.raises(PrivateKeyFileError, match="passphrase"):
        load_private_key(encrypted)


def test_certificate_matches_only_its_own_key(pki):
    key = generate_private_key("ECDSA")
    other = generate_private_key("ECDSA")
    cert = issue(pki["ec_ca"], pki["ec_ca_key"], key.public_key())
    assert certificate_matches_public_key(cert, key.public_key())
    assert not certificate_matches_public_key(cert, other.public_key())


def test_issuing_ca_is_chosen_by_the_certificate_issuer(pki):
    kms = {"publicCA": pem(pki["ec_ca"]), "publicRsaCA": pem(pki["rsa_ca"])}
    rsa_cert = issue(pki["rsa_ca"], pki["rsa_ca_key"], generate_private_key("RSA").public_key())
    ec_cert = issue(pki["ec_ca"], pki["ec_ca_key"], generate_private_key("ECDSA").public_key())
    assert issuing_ca_pems(rsa_cert, kms) == [kms["publicRsaCA"]]
    assert issuing_ca_pems(ec_cert, kms) == [kms["publicCA"]]
    # A KMS without the RSA CA (or a certificate from elsewhere): every CA it has.
    assert issuing_ca_pems(rsa_cert, {"publicCA": kms["publicCA"]}) == [kms["publicCA"]]


# -- API objects ---------------------------------------------------------------------------------

def credential(**overrides):
    value = {"id": "11111111-1111-1111-1111-111111111111", "name": "web1", "description": None,
             "identityURNs": [ACCOUNT, USER], "status": "READY", "fromCSR": True, "certificateType": "ECDSA",
             "createdAt": "2025-05-01T12:00:00Z", "expiredAt": "2026-05-01T12:00:00Z", "certificatePEM": None}
    value.update(overrides)
    return value


def wanted(**overrides):
    options = dict(identity_urns=[USER, ACCOUNT], description=None, certificate_type="ECDSA", renew_before=30)
    options.update(overrides)
    return WantedCredential(**options)


def test_matching_credential_is_kept_whatever_the_urn_order():
    assert replacement_reasons(credential(), wanted(), None, NOW) == []


def test_empty_and_missing_descriptions_are_the_same():
    assert replacement_reasons(credential(description=""), wanted(description=None), None, NOW) == []


@pytest.mark.parametrize("current,asked,reason", [
    (dict(identityURNs=[ACCOUNT]), dict(), "identity URNs differ"),
    (dict(description="old"), dict(description="new"), "description differs"),
    (dict(certificateType="RSA"), dict(), "certificate type is RSA, not ECDSA"),
    (dict(expiredAt="2025-06-20T12:00:00Z"), dict(), "expires within 30 days"),
    (dict(status="EXPIRED", expiredAt="2025-05-31T12:00:00Z"), dict(), "status is EXPIRED"),
    (dict(status="ERROR"), dict(), "status is ERROR"),
])
def test_any_difference_means_a_new_credential(current, asked, reason):
    reasons = replacement_reasons(credential(**current), wanted(**asked), None, NOW)
    assert any(reason in r for r in reasons), reasons


def test_renew_before_boundary():
    # Expires in 31 days: kept with renew_before 30, replaced with 31.
    current = credential(expiredAt="2025-07-02T12:00:00Z")
    assert replacement_reasons(current, wanted(renew_before=30), None, NOW) == []
    assert replacement_reasons(current, wanted(renew_before=31), None, NOW)


def test_certificate_for_another_key_means_a_new_credential(pki):
    key = generate_private_key("ECDSA")
    current = credential(certificatePEM=issue(pki["ec_ca"], pki["ec_ca_key"], key.public_key()))
    assert replacement_reasons(current, wanted(), key.public_key(), NOW) == []
    other = generate_private_key("ECDSA").public_key()
    assert replacement_reasons(current, wanted(), other, NOW, "the key in /k") == \
        ["its certificate does not match the key in /k"]


def test_result_shape_is_snake_case_and_never_has_the_private_key():
    api = credential(privateKeyPEM="-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n",
                     certificatePEM="CERT")
    result = credential_to_result(api)
    assert sorted(result) == sorted(["id", "name", "description", "identity_urns", "status", "from_csr",
                                     "certificate_type", "created_at", "expired_at", "certificate_pem"])
    assert result["identity_urns"] == [ACCOUNT, USER]
    assert result["certificate_pem"] == "CERT"
    assert "SECRET" not in repr(result)
    assert "privateKeyPEM" in api, "the caller's object is left alone"


def test_diff_shape_has_no_certificate_body_and_sorted_urns():
    api = credential(privateKeyPEM="SECRET", certificatePEM="CERT", identityURNs=[USER, ACCOUNT])
    assert credential_to_diff(api) == dict(
        id=api["id"], name="web1", status="READY", identity_urns=sorted([USER, ACCOUNT]), description=None,
        certificate_type="ECDSA", expired_at="2026-05-01T12:00:00Z")


def test_newest_credential_is_current_and_deleting_ones_are_ignored():
    old = credential(id="a", createdAt="2025-01-01T00:00:00Z")
    new = credential(id="b", createdAt="2025-02-01T00:00:00.5Z")
    going = credential(id="c", createdAt="2025-03-01T00:00:00Z", status="DELETING")
    assert select_current([new, going, old]) == (new, [old])
    assert select_current([going]) == (None, [])
    assert select_current([]) == (None, [])


def test_api_dates_with_offsets_and_fractions():
    assert parse_api_datetime("2025-01-01T12:00:00Z") == datetime.datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert parse_api_datetime("2025-01-01T14:00:00+02:00") == datetime.datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert parse_api_datetime("2025-01-01T12:00:00.250Z").microsecond == 250000
    with pytest.raises(ValueError):
        parse_api_datetime("yesterday")


def test_info_filters_combine():
    items = [credential(id="a", name="web1", expiredAt="2025-06-10T00:00:00Z"),
             credential(id="b", name="web1", status="EXPIRED", expiredAt="2025-05-10T00:00:00Z"),
             credential(id="c", name="db1", expiredAt="2026-01-01T00:00:00Z")]

    def ids(selected):
        return [c["id"] for c in selected]

    assert ids(filter_credentials(items, name="web1", now=NOW)) == ["a", "b"]
    assert ids(filter_credentials(items, statuses=["READY"], now=NOW)) == ["a", "c"]
    assert ids(filter_credentials(items, expires_within_days=30, now=NOW)) == ["a", "b"]
    assert ids(filter_credentials(items, name="web1", statuses=["READY"], expires_within_days=30, now=NOW)) == ["a"]


# -- waiting -----------------------------------------------------------------------------------

@pytest.mark.parametrize("server_delay", [0.3, 1.0, 1.9, 3.0, 7.3, 29.9])
def test_ready_is_seen_within_half_a_second_of_the_server_making_it_so(server_delay):
    fake = FakeTime(now=0.0)
    fetches = []

    def fetch():
        fetches.append(fake.now)
        return credential(status="READY" if fake.now >= server_delay else "CREATING")

    ready = wait_until_ready(fetch, 120, sleep=fake.sleep, clock=fake.clock)
    assert ready["status"] == "READY"
    assert server_delay <= fetches[-1] <= server_delay + 0.5
    # The caller has just seen it CREATING: no check before the first wait.
    assert fetches[0] > 0


def test_a_long_wait_backs_off_to_a_check_every_five_seconds():
    fake = FakeTime(now=0.0)
    with pytest.raises(CredentialWaitError, match="still CREATING after 300 seconds"):
        wait_until_ready(lambda: credential(status="CREATING"), 300, sleep=fake.sleep, clock=fake.clock)
    assert fake.sleeps[:8] == [0.25] * 8 and fake.sleeps[8] == 0.5
    assert max(fake.sleeps) == 5.0
    assert len(fake.sleeps) < 8 + 56 + 60  # 2 s at 0.25, 28 s at 0.5, then growing to 5 s


def test_polling_gives_up_at_the_deadline_without_oversleeping():
    fake = FakeTime()
    with pytest.raises(CredentialWaitError, match="still CREATING after 2 seconds"):
        wait_until_ready(lambda: credential(status="CREATING"), 2, sleep=fake.sleep, clock=fake.clock)
    assert sum(fake.sleeps) == pytest.approx(2.0)


def test_polling_stops_on_an_error_status_and_hands_it_back():
    fake = FakeTime()
    with pytest.raises(CredentialWaitError) as err:
        wait_until_ready(lambda: credential(status="ERROR"), 60, sleep=fake.sleep, clock=fake.clock)
    assert err.value.credential["status"] == "ERROR"
    assert fake.sleeps == [0.25]
