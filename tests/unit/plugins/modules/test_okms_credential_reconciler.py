# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_credential's decisions, run against the stateful fake API (tests/unit/fake_okms).

Each test reads like a user's run: a credential kept or replaced (and why),
a rotation that keeps the old credential until asked, check mode that sends
no mutating request and writes no file, a creation whose answer was lost.
The fake issues real certificates, so key/certificate matching is real; time
only passes when the module waits (a fake clock).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import functools
import hashlib
import os
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.ovhcloud.kms.plugins.module_utils.http_transport import RetryPolicy
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential_api import CredentialApi
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError
from ansible_collections.ovhcloud.kms.plugins.modules import okms_credential
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms import credentials as fake_credentials
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi
from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.okms_fakes import FakeTime

ACCOUNT = "urn:v1:eu:identity:account:xx1111-ovh"
USER = "urn:v1:eu:identity:user:xx1111-ovh/john.smith"
CREDENTIAL = "/v2/okms/resource/{okms_id}/credential"
ONE_CREDENTIAL = "/v2/okms/resource/{okms_id}/credential/{credential_id}"
UTC = datetime.timezone.utc


class Kms:
    """The fake API with one KMS, and the files of one credential in a directory of their own."""

    def __init__(self, directory, routes_first=()):
        self.api = FakeOkmsApi()
        for route in routes_first:
            self.api.route(*route)
        self.state = fake_credentials.install(self.api)
        self.okms_id = self.state.add_kms()
        self.directory = directory
        self.key_path = str(directory / "domain.key")
        self.cert_path = str(directory / "client.cert")
        self.ca_path = str(directory / "ca.pem")

    def args(self, **overrides):
        args = dict(okms_id=self.okms_id, name="web1", identity_urns=[ACCOUNT], private_key_path=self.key_path,
                    certificate_path=self.cert_path, ca_certificate_path=self.ca_path)
        args.update(overrides)
        return dict((name, value) for name, value in args.items() if value is not None)

    def seed(self, key=None, **kwargs):
        """A READY credential named web1 issued for ``key``, whose key is in the key file; returns its body."""
        key = key or ec.generate_private_key(ec.SECP256R1())
        write_key(self.key_path, key)
        return self.state.seed(self.okms_id, kwargs.pop("name", "web1"), public_key=key.public_key(), **kwargs)

    def status(self, credential_id):
        """The status a list shows now (None once gone)."""
        for credential in self.state.credentials(self.okms_id):
            if credential["id"] == credential_id:
                return credential["status"]
        return None

    def files(self):
        return sorted(os.listdir(str(self.directory)))


@pytest.fixture
def kms(tmp_path):
    directory = tmp_path / "okms"
    directory.mkdir()
    return Kms(directory)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """Waiting passes fake time; tests read the sleeps."""
    fake = FakeTime()
    monkeypatch.setattr(CredentialApi, "sleep", staticmethod(fake.sleep))
    monkeypatch.setattr(CredentialApi, "clock", staticmethod(fake.clock))
    return fake


def write_key(path, key):
    with open(path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(path, 0o600)


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


@functools.lru_cache(maxsize=None)
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_csr(key):
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "web1")])).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def certificate_key(certificate_pem):
    return x509.load_pem_x509_certificate(certificate_pem.encode("ascii")).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def file_key(path):
    key = serialization.load_pem_private_key(read(path), password=None)
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def methods(api):
    return [request.method for request in api.mutations()]


# -- create: check mode, real run, check-mode re-run, re-run --------------------------------------------


def test_create_with_a_local_key_then_keep_it(run_module, kms, clock):
    check = run_module(okms_credential, kms.args(), kms.api, check_mode=True, diff=True)
    assert not check.failed, check.result
    assert check.result["changed"] is True
    assert check.result["credential"] == {}
    assert check.result["issue_reasons"] == ["none exists"]
    assert kms.api.mutations() == [] and kms.files() == []
    assert sorted(check.result["diff"]["after"]["files"]) == sorted([kms.key_path, kms.cert_path, kms.ca_path])
    assert check.result["diff"]["after"]["credentials"] == [
        dict(name="web1", identity_urns=[ACCOUNT], description=None, status="(new)")]

    created = run_module(okms_credential, kms.args(), kms.api, diff=True)
    assert not created.failed, created.result
    credential = created.result["credential"]
    assert created.result["changed"] is True
    assert credential["status"] == "READY" and credential["from_csr"] is True
    assert credential["certificate_type"] == "ECDSA"
    assert credential["identity_urns"] == [ACCOUNT]
    assert "replaced_credential_id" not in created.result
    assert methods(kms.api) == ["POST"]
    # The key never left: the POST carried a CSR, the key file holds PKCS#8 and matches the certificate.
    body = kms.api.mutations()[0].body
    assert "csr" in body and "certificateType" not in body
    assert read(kms.key_path).startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert oct(os.stat(kms.key_path).st_mode & 0o777) == "0o600"
    assert oct(os.stat(kms.cert_path).st_mode & 0o777) == "0o644"
    assert file_key(kms.key_path) == certificate_key(credential["certificate_pem"])
    assert read(kms.cert_path).decode("ascii") == credential["certificate_pem"]
    assert read(kms.ca_path).decode("ascii") == kms.state.kms[kms.okms_id].ca.pem.strip() + "\n"
    assert "PRIVATE KEY" not in repr(created.result)
    # CREATING for one read, READY at the second, each read after a short wait (never right after the POST).
    assert clock.sleeps == [0.25, 0.25]
    assert created.result["diff"]["before"]["credentials"] == []
    assert [c["id"] for c in created.result["diff"]["after"]["credentials"]] == [credential["id"]]

    kms.api.requests = []
    again_check = run_module(okms_credential, kms.args(), kms.api, check_mode=True)
    again = run_module(okms_credential, kms.args(), kms.api)
    for outcome in (again_check, again):
        assert not outcome.failed, outcome.result
        assert outcome.result["changed"] is False
        assert outcome.result["credential"]["id"] == credential["id"]
        assert outcome.warnings == []
        assert "issue_reasons" not in outcome.result
    assert kms.api.mutations() == []
    assert again.result["credential"] == credential


def test_without_waiting_the_credential_is_returned_creating_and_no_certificate_is_written(run_module, kms):
    outcome = run_module(okms_credential, kms.args(wait=False), kms.api)
    assert not outcome.failed, outcome.result
    assert outcome.result["credential"]["status"] == "CREATING"
    assert outcome.result["credential"]["certificate_pem"] is None
    assert kms.files() == ["domain.key"]


def test_a_creating_credential_is_waited_for_and_kept(run_module, kms, clock):
    seeded = kms.seed(status="CREATING")
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True  # the certificate files are new
    assert outcome.result["credential"]["id"] == seeded["id"]
    assert outcome.result["credential"]["status"] == "READY"
    assert kms.api.mutations() == []
    assert clock.sleeps == [0.25, 0.25]


def test_waiting_gives_up_at_wait_timeout_and_keeps_the_new_key(run_module, kms, clock):
    kms.state.ready_after_reads = 1000
    outcome = run_module(okms_credential, kms.args(wait_timeout=3), kms.api)
    assert outcome.failed
    assert outcome.result["changed"] is True
    assert outcome.result["msg"].startswith("credential ")
    assert outcome.result["msg"].endswith(" is still CREATING after 3 seconds (name web1)")
    assert outcome.result["credential"]["status"] == "CREATING"
    assert sum(clock.sleeps) == pytest.approx(3.0)
    # The key was written before waiting: the next run finds the credential and its key.
    assert kms.files() == ["domain.key"]
    kms.state.record(kms.okms_id, outcome.result["credential"]["id"]).reads_until_ready = 0
    again = run_module(okms_credential, kms.args(), kms.api)
    assert not again.failed, again.result
    assert again.result["credential"]["id"] == outcome.result["credential"]["id"]
    assert methods(kms.api) == ["POST"]


# -- keep or replace ------------------------------------------------------------------------------------


def test_a_matching_credential_is_kept_and_its_files_deployed(run_module, kms):
    seeded = kms.seed(identity_urns=[USER, ACCOUNT], description="app")
    outcome = run_module(okms_credential, kms.args(identity_urns=[ACCOUNT, USER, ACCOUNT], description="app"),
                         kms.api)
    assert not outcome.failed, outcome.result
    assert outcome.result["credential"]["id"] == seeded["id"]
    assert outcome.result["changed"] is True  # the certificate and CA files were written
    assert kms.api.mutations() == []
    assert read(kms.cert_path).decode("ascii") == seeded["certificatePEM"]


def expired_yesterday():
    now = datetime.datetime.now(UTC)
    return dict(created_at=now - datetime.timedelta(days=31), expired_at=now - datetime.timedelta(days=1))


def expiring_in(days):
    now = datetime.datetime.now(UTC)
    return dict(created_at=now - datetime.timedelta(days=365 - days), expired_at=now + datetime.timedelta(days=days))


@pytest.mark.parametrize("seed, args, reason", [
    (dict(identity_urns=[USER]), dict(), "its identity URNs differ"),
    (dict(description="old"), dict(description="new"), "its description differs"),
    (dict(), dict(certificate_type="RSA"), "its certificate type is ECDSA, not RSA"),
    (expiring_in(20), dict(), "it expires within 30 days ("),
    (expiring_in(20), dict(renew_before=10, validity=30), None),
    (expiring_in(40), dict(renew_before=45, validity=90), "it expires within 45 days ("),
    (dict(status="ERROR"), dict(), "its status is ERROR"),
    (expired_yesterday(), dict(), "its status is EXPIRED"),
], ids=["urns", "description", "type", "expiring", "not-yet-expiring", "renew_before", "error", "expired"])
def test_a_credential_that_differs_is_replaced_then_revoked(run_module, kms, seed, args, reason):
    seeded = kms.seed(**seed)
    first_key = read(kms.key_path)
    outcome = run_module(okms_credential, kms.args(**args), kms.api)
    assert not outcome.failed, outcome.result
    if reason is None:
        assert outcome.result["credential"]["id"] == seeded["id"]
        assert kms.api.mutations() == []
        return
    assert any(r.startswith(reason) for r in outcome.result["issue_reasons"]), outcome.result["issue_reasons"]
    assert outcome.result["replaced_credential_id"] == seeded["id"]
    assert outcome.result["revoked_credential_ids"] == [seeded["id"]]
    assert outcome.result["credential"]["id"] != seeded["id"]
    assert methods(kms.api) == ["POST", "DELETE"]
    assert kms.status(seeded["id"]) == "DELETING"
    # A new local key, and the certificate that carries it.
    assert read(kms.key_path) != first_key
    assert file_key(kms.key_path) == certificate_key(outcome.result["credential"]["certificate_pem"])
    assert outcome.warnings == []


def test_a_lost_private_key_means_a_new_credential_with_a_warning(run_module, kms):
    seeded = kms.seed()
    os.unlink(kms.key_path)
    reason = "its private key is not in %s" % kms.key_path
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert not outcome.failed, outcome.result
    assert outcome.result["issue_reasons"] == [reason]
    assert outcome.warnings == ["credential %s (web1) is replaced because its private key is lost: %s"
                                % (seeded["id"], reason)]
    assert outcome.result["revoked_credential_ids"] == [seeded["id"]]
    assert file_key(kms.key_path) == certificate_key(outcome.result["credential"]["certificate_pem"])


def public_fingerprint(key):
    return "sha256:" + hashlib.sha256(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).hexdigest()


@pytest.mark.parametrize("other, described", [
    (lambda: ec.generate_private_key(ec.SECP256R1()), "an ECDSA P-256 key"),
    (rsa_key, "an RSA 2048-bit key"),
    (lambda: ec.generate_private_key(ec.SECP384R1()), "an ECDSA P-384 key"),
], ids=["another EC key", "an RSA key beside an ECDSA certificate", "another curve"])
def test_a_key_that_does_not_match_the_certificate_is_an_error_and_is_never_overwritten(
        run_module, kms, other, described):
    """Before the reliability issue another key meant "key lost, replace with a warning" (overwriting the file),
    and a key of another type (RSA beside an ECDSA certificate) was reported as success. A file that holds a key
    is now only overwritten when the key is the replaced credential's; a missing file is still a lost key."""
    certified = ec.generate_private_key(ec.SECP256R1())
    seeded = kms.seed(key=certified)
    wrong = other()
    write_key(kms.key_path, wrong)
    before = read(kms.key_path)
    for check_mode in (True, False):
        outcome = run_module(okms_credential, kms.args(), kms.api, check_mode=check_mode)
        assert outcome.failed
        assert outcome.result["changed"] is False
        assert outcome.result["msg"] == (
            "private_key_path %s holds %s (public key %s), but the certificate of credential %s (web1) is for an "
            "ECDSA P-256 key (public key %s). The file is not overwritten: put the key of that certificate back, or "
            "move the file away to have the credential replaced by a new one with a new key (nothing was changed)"
            % (kms.key_path, described, public_fingerprint(wrong), seeded["id"], public_fingerprint(certified)))
    assert kms.api.mutations() == []
    assert read(kms.key_path) == before
    assert kms.files() == ["domain.key"]

    # Moved away: the key is lost, and the credential is replaced with a warning.
    os.rename(kms.key_path, kms.key_path + ".wrong")
    replaced = run_module(okms_credential, kms.args(), kms.api)
    assert not replaced.failed, replaced.result
    assert replaced.result["revoked_credential_ids"] == [seeded["id"]]
    assert len(replaced.warnings) == 1 and "private key is lost" in replaced.warnings[0]
    assert read(kms.key_path + ".wrong") == before


def test_a_key_that_does_not_match_is_an_error_even_when_the_credential_is_replaced_anyway(run_module, kms):
    seeded = kms.seed()
    write_key(kms.key_path, ec.generate_private_key(ec.SECP256R1()))
    outcome = run_module(okms_credential, kms.args(identity_urns=[USER]), kms.api)
    assert outcome.failed
    assert outcome.result["msg"].startswith("private_key_path %s holds an ECDSA P-256 key" % kms.key_path)
    assert seeded["id"] in outcome.result["msg"]
    assert kms.api.mutations() == []


def test_the_key_of_another_credential_is_named_and_never_overwritten(run_module, kms):
    # The documented mistake: two credentials sharing one key file.
    other = kms.seed(name="db1")
    before = read(kms.key_path)
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert outcome.failed
    assert outcome.result["msg"] == (
        "private_key_path %s holds the key of credential %s (named 'db1'): a new credential 'web1' would overwrite "
        "it. Each credential needs a key file of its own: give another private_key_path (nothing was changed)"
        % (kms.key_path, other["id"]))
    assert kms.api.mutations() == []
    assert read(kms.key_path) == before

    # Same file, but web1 exists and its certificate carries another key: the message says whose key it is.
    web1 = kms.state.seed(kms.okms_id, "web1")
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert outcome.failed
    assert ", the key of credential %s (named 'db1'), but the certificate of credential %s (web1)" % (
        other["id"], web1["id"]) in outcome.result["msg"]
    assert kms.api.mutations() == []


def test_a_key_left_by_a_revoked_credential_is_replaced(run_module, kms):
    """No credential of the name, and the file's key is no live credential's: the new key replaces it."""
    gone = kms.seed()
    kms.state.finish_deleting(kms.okms_id, gone["id"])
    before = read(kms.key_path)
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert not outcome.failed, outcome.result
    assert outcome.result["issue_reasons"] == ["none exists"]
    assert read(kms.key_path) != before
    assert file_key(kms.key_path) == certificate_key(outcome.result["credential"]["certificate_pem"])


def test_check_mode_predicts_a_replacement_without_sending_or_writing(run_module, kms):
    seeded = kms.seed()
    before = dict((name, read(str(kms.directory / name))) for name in kms.files())
    outcome = run_module(okms_credential, kms.args(identity_urns=[USER]), kms.api, check_mode=True, diff=True)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["credential"] == {}
    assert outcome.result["replaced_credential_id"] == seeded["id"]
    assert outcome.result["revoked_credential_ids"] == [seeded["id"]]
    assert outcome.result["issue_reasons"] == ["its identity URNs differ"]
    assert kms.api.mutations() == []
    assert dict((name, read(str(kms.directory / name))) for name in kms.files()) == before
    assert outcome.result["diff"]["after"]["files"][kms.key_path]["fingerprint"] == "(known after the run)"
    assert [c.get("status") for c in outcome.result["diff"]["after"]["credentials"]] == ["(new)"]
    assert kms.status(seeded["id"]) == "READY"


def test_rotation_keeps_the_replaced_credential_until_revoke_replaced(run_module, kms):
    seeded = kms.seed()
    rotated = run_module(okms_credential, kms.args(identity_urns=[ACCOUNT, USER], revoke_replaced=False), kms.api)
    assert not rotated.failed, rotated.result
    new_id = rotated.result["credential"]["id"]
    assert rotated.result["replaced_credential_id"] == seeded["id"]
    assert rotated.result["kept_replaced_credential_ids"] == [seeded["id"]]
    assert rotated.result["revoked_credential_ids"] == []
    assert methods(kms.api) == ["POST"]
    assert kms.status(seeded["id"]) == "READY"

    # Same names: the newest is the current one, the older one stays "replaced".
    again = run_module(okms_credential, kms.args(identity_urns=[ACCOUNT, USER], revoke_replaced=False), kms.api)
    assert again.result["changed"] is False
    assert again.result["credential"]["id"] == new_id
    assert again.result["kept_replaced_credential_ids"] == [seeded["id"]]

    revoke_check = run_module(okms_credential, kms.args(identity_urns=[USER, ACCOUNT]), kms.api, check_mode=True)
    assert revoke_check.result["changed"] is True
    assert revoke_check.result["revoked_credential_ids"] == [seeded["id"]]
    assert methods(kms.api) == ["POST"]

    revoked = run_module(okms_credential, kms.args(identity_urns=[USER, ACCOUNT]), kms.api)
    assert not revoked.failed, revoked.result
    assert revoked.result["changed"] is True
    assert revoked.result["credential"]["id"] == new_id
    assert revoked.result["revoked_credential_ids"] == [seeded["id"]]
    assert revoked.result["kept_replaced_credential_ids"] == []
    assert "issue_reasons" not in revoked.result
    assert methods(kms.api) == ["POST", "DELETE"]
    assert kms.status(seeded["id"]) == "DELETING"


def test_a_credential_being_deleted_is_neither_current_nor_revoked_again(run_module, kms):
    going = kms.seed(status="DELETING")
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert not outcome.failed, outcome.result
    assert outcome.result["issue_reasons"] == ["none exists"]
    assert outcome.result["revoked_credential_ids"] == []
    assert methods(kms.api) == ["POST"]
    assert outcome.result["credential"]["id"] != going["id"]


# -- key sources ------------------------------------------------------------------------------------


def test_csr_source_sends_the_csr_and_the_type_follows_its_key(run_module, kms):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    args = kms.args(private_key_source="csr", csr=make_csr(key), private_key_path=None)
    created = run_module(okms_credential, args, kms.api)
    assert not created.failed, created.result
    credential = created.result["credential"]
    assert credential["certificate_type"] == "RSA" and credential["from_csr"] is True
    assert certificate_key(credential["certificate_pem"]) == key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    # An RSA certificate chains to the KMS's RSA CA: that one is deployed.
    assert read(kms.ca_path).decode("ascii") == kms.state.kms[kms.okms_id].rsa_ca.pem.strip() + "\n"
    assert not os.path.exists(kms.key_path)

    again = run_module(okms_credential, args, kms.api)
    assert again.result["changed"] is False

    # Another CSR: the certificate no longer carries the key in use. No "lost key" warning: the key is not ours.
    other = run_module(okms_credential, dict(args, csr=make_csr(ec.generate_private_key(ec.SECP256R1()))), kms.api)
    assert not other.failed, other.result
    assert "its certificate does not match the CSR" in other.result["issue_reasons"]
    assert other.result["revoked_credential_ids"] == [credential["id"]]
    assert other.warnings == []


@pytest.mark.parametrize("certificate_type, marker", [
    ("ECDSA", b"-----BEGIN EC PRIVATE KEY-----\n"),
    ("RSA", b"-----BEGIN RSA PRIVATE KEY-----\n"),
])
def test_ovh_source_writes_the_key_as_received_and_never_returns_it(run_module, kms, certificate_type, marker):
    args = kms.args(private_key_source="ovh", certificate_type=certificate_type)
    created = run_module(okms_credential, args, kms.api, diff=True)
    assert not created.failed, created.result
    body = kms.api.mutations()[0].body
    assert body["certificateType"] == certificate_type and "csr" not in body
    assert read(kms.key_path).startswith(marker)
    assert created.result["credential"]["from_csr"] is False
    assert file_key(kms.key_path) == certificate_key(created.result["credential"]["certificate_pem"])
    assert "PRIVATE KEY" not in repr(created.result)
    assert "private_key_pem" not in created.result["credential"]

    again = run_module(okms_credential, args, kms.api)
    assert again.result["changed"] is False
    assert methods(kms.api) == ["POST"]


def test_switching_between_local_and_ovh_keeps_the_credential(run_module, kms):
    seeded = kms.seed()
    outcome = run_module(okms_credential, kms.args(private_key_source="ovh"), kms.api)
    assert outcome.result["credential"]["id"] == seeded["id"]
    assert kms.api.mutations() == []


# -- answers lost on the way back ------------------------------------------------------------------


@pytest.mark.parametrize("source", ["local", "csr"])
def test_a_lost_creation_answer_adopts_the_credential_it_made(run_module, kms, source):
    kms.api.lose_answer("POST", CREDENTIAL)
    args = kms.args()
    if source == "csr":
        args = kms.args(private_key_source="csr", csr=make_csr(ec.generate_private_key(ec.SECP256R1())),
                        private_key_path=None)
    outcome = run_module(okms_credential, args, kms.api)
    assert not outcome.failed, outcome.result
    made = kms.state.credentials(kms.okms_id)
    assert len(made) == 1
    assert outcome.result["credential"]["id"] == made[0]["id"]
    assert outcome.result["credential"]["status"] == "READY"
    assert methods(kms.api) == ["POST"]
    if source == "local":
        assert file_key(kms.key_path) == certificate_key(outcome.result["credential"]["certificate_pem"])


def test_a_lost_creation_answer_with_an_ovh_key_revokes_the_orphan_and_asks_again_once(run_module, kms):
    """Before the reliability issue the task failed and the next run replaced the orphan; now the same run does."""
    kms.api.lose_answer("POST", CREDENTIAL)
    outcome = run_module(okms_credential, kms.args(private_key_source="ovh"), kms.api)
    assert not outcome.failed, outcome.result
    orphan_id = kms.api.mutations()[1].path.rsplit("/", 1)[1]
    assert methods(kms.api) == ["POST", "DELETE", "POST"]
    assert outcome.result["revoked_credential_ids"] == [orphan_id]
    assert outcome.warnings == [
        "credential %s was created but the response carrying its private key was lost (POST /v2/okms/resource/%s/"
        "credential: the request may or may not have been applied (connection reset)): it was revoked, and a new "
        "credential was requested" % (orphan_id, kms.okms_id)]
    credential = outcome.result["credential"]
    assert credential["id"] != orphan_id and credential["status"] == "READY"
    assert kms.status(orphan_id) in ("DELETING", None)
    assert file_key(kms.key_path) == certificate_key(credential["certificate_pem"])
    # No orphan is left: one live credential, whose key is on disk.
    assert [c["id"] for c in kms.state.credentials(kms.okms_id) if c["status"] != "DELETING"] == [credential["id"]]

    again = run_module(okms_credential, kms.args(private_key_source="ovh"), kms.api)
    assert again.result["changed"] is False and again.result["credential"]["id"] == credential["id"]


def test_two_lost_ovh_key_answers_revoke_both_and_the_third_request_is_kept(run_module, kms):
    kms.api.lose_answer("POST", CREDENTIAL, times=2)
    outcome = run_module(okms_credential, kms.args(private_key_source="ovh"), kms.api)
    assert not outcome.failed, outcome.result
    assert methods(kms.api) == ["POST", "DELETE", "POST", "DELETE", "POST"]
    first, second = [request.path.rsplit("/", 1)[1] for request in kms.api.mutations() if request.method == "DELETE"]
    assert outcome.result["revoked_credential_ids"] == [first, second]
    assert len(outcome.warnings) == 2
    credential = outcome.result["credential"]
    assert [c["id"] for c in kms.state.credentials(kms.okms_id) if c["status"] != "DELETING"] == [credential["id"]]
    assert file_key(kms.key_path) == certificate_key(credential["certificate_pem"])


def test_ovh_key_answers_lost_as_often_as_the_retry_budget_allows_revoke_each_and_fail(run_module, kms):
    attempts = RetryPolicy().max_attempts
    kms.api.lose_answer("POST", CREDENTIAL, times=attempts)
    outcome = run_module(okms_credential, kms.args(private_key_source="ovh"), kms.api)
    assert outcome.failed
    assert methods(kms.api) == ["POST", "DELETE"] * attempts
    revoked = [request.path.rsplit("/", 1)[1] for request in kms.api.mutations() if request.method == "DELETE"]
    assert outcome.result["revoked_credential_ids"] == revoked
    assert outcome.result["changed"] is True
    assert outcome.result["msg"].startswith("credential %s was created but the response carrying its private key "
                                            "was lost (" % revoked[-1])
    assert outcome.result["msg"].endswith("; it was revoked, as were credentials %s, whose answers were lost the same "
                                          "way. Nothing is left without its key: run again" % ", ".join(revoked[:-1]))
    assert [c for c in kms.state.credentials(kms.okms_id) if c["status"] != "DELETING"] == []
    assert not os.path.exists(kms.key_path)


def test_a_lost_revocation_answer_is_confirmed_by_reading(run_module, kms):
    seeded = kms.seed()
    kms.api.lose_answer("DELETE", ONE_CREDENTIAL)
    outcome = run_module(okms_credential, dict(okms_id=kms.okms_id, name="web1", state="absent"), kms.api)
    assert not outcome.failed, outcome.result
    assert outcome.result["revoked_credential_ids"] == [seeded["id"]]
    assert methods(kms.api) == ["DELETE"]


# -- validity ---------------------------------------------------------------------------------------


def test_a_credential_issued_for_another_validity_is_kept_with_a_warning(run_module, kms):
    seeded = kms.seed(validity=10)
    outcome = run_module(okms_credential, kms.args(validity=20), kms.api)
    assert not outcome.failed, outcome.result
    assert outcome.result["credential"]["id"] == seeded["id"]
    assert kms.api.mutations() == []
    assert len(outcome.warnings) == 1
    assert outcome.warnings[0].startswith(
        "validity is 20 days but credential %s (web1) was issued for 10 days: a credential cannot be changed, so "
        "validity applies from its next renewal, on " % seeded["id"])
    assert "(renew_before: 6, counted back from its expiry on %s)" % seeded["expiredAt"] in outcome.warnings[0]
    assert outcome.warnings[0].endswith("; to renew it now, run once with renew_before: 10")


# -- absent -----------------------------------------------------------------------------------------


def test_absent_revokes_every_credential_of_the_name_once(run_module, kms):
    first = kms.seed()
    second = kms.seed(created_at=datetime.datetime.now(UTC) - datetime.timedelta(minutes=30))
    other = kms.state.seed(kms.okms_id, "db1")
    absent = dict(okms_id=kms.okms_id, name="web1", state="absent")

    check = run_module(okms_credential, absent, kms.api, check_mode=True)
    assert check.result["changed"] is True
    assert check.result["credential"] == {}
    assert check.result["revoked_credential_ids"] == [first["id"], second["id"]]
    assert kms.api.mutations() == []

    removed = run_module(okms_credential, absent, kms.api, diff=True)
    assert not removed.failed, removed.result
    assert removed.result["changed"] is True
    assert removed.result["credential"] == {}
    assert removed.result["revoked_credential_ids"] == [first["id"], second["id"]]
    assert removed.result["diff"]["after"]["credentials"] == []
    assert methods(kms.api) == ["DELETE", "DELETE"]
    assert kms.status(other["id"]) == "READY"
    assert os.path.exists(kms.key_path), "files stay unless remove_files"

    again = run_module(okms_credential, absent, kms.api)
    assert again.result["changed"] is False
    assert again.result["revoked_credential_ids"] == []
    assert methods(kms.api) == ["DELETE", "DELETE"]


def test_absent_removes_the_files_only_when_asked(run_module, kms):
    run_module(okms_credential, kms.args(), kms.api)
    assert kms.files() == ["ca.pem", "client.cert", "domain.key"]
    absent = kms.args(state="absent", identity_urns=None, remove_files=True)
    check = run_module(okms_credential, absent, kms.api, check_mode=True)
    assert check.result["changed"] is True
    assert kms.files() == ["ca.pem", "client.cert", "domain.key"]
    removed = run_module(okms_credential, absent, kms.api)
    assert removed.result["changed"] is True
    assert kms.files() == []
    again = run_module(okms_credential, absent, kms.api)
    assert again.result["changed"] is False


# -- errors -----------------------------------------------------------------------------------------


def test_an_api_error_names_what_was_being_done(run_module, kms):
    outcome = run_module(okms_credential, kms.args(okms_id="0b4b1a3e-0000-4000-8000-000000000000"), kms.api)
    assert outcome.failed
    assert outcome.result["changed"] is False
    assert outcome.result["msg"] == (
        "cannot list the credentials of KMS 0b4b1a3e-0000-4000-8000-000000000000: GET /v2/okms/resource/"
        "0b4b1a3e-0000-4000-8000-000000000000/credential, HTTP 404, Client::NotFound: OKMS "
        "0b4b1a3e-0000-4000-8000-000000000000 not found")
    assert outcome.result["api_error"]["status"] == 404


def test_a_refused_creation_fails_with_the_api_error_and_its_action(run_module, tmp_path):
    def refuse(request, okms_id):
        raise OvhApiError("csr exceeds 8192 characters", status=400,
                          error_class="Client::BadRequest::CredentialCSRMaximumExceeded", method=request.method,
                          path=request.path)

    kms = Kms(tmp_path, routes_first=[("POST", CREDENTIAL, refuse)])
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert outcome.failed
    assert outcome.result["msg"] == (
        "cannot create credential 'web1': POST /v2/okms/resource/%s/credential, HTTP 400, "
        "Client::BadRequest::CredentialCSRMaximumExceeded: csr exceeds 8192 characters" % kms.okms_id)
    assert outcome.result["api_error"]["error_class"] == "Client::BadRequest::CredentialCSRMaximumExceeded"
    assert methods(kms.api) == ["POST"]


INVALID_URN = "identity_urns holds invalid identity URN"
BAD_INPUTS = [
    # label, arguments, message: the integration target's matrix, with the same messages.
    ("unknown zone in a URN", dict(identity_urns=["urn:v1:fr:identity:account:xx1111-ovh"]), INVALID_URN),
    ("user URN without a name", dict(identity_urns=["urn:v1:eu:identity:user:xx1111-ovh"]), INVALID_URN),
    ("not a URN", dict(identity_urns=["xx1111-ovh"]), INVALID_URN),
    ("no URN", dict(identity_urns=[]), "at least one identity URN"),
    ("26 URNs", dict(identity_urns=["urn:v1:eu:identity:user:xx1111-ovh/u%d" % i for i in range(26)]), "at most 25"),
    ("validity 0", dict(validity=0), "validity must be between 1 and 365"),
    ("validity 400", dict(validity=400), "validity must be between 1 and 365"),
    ("renew_before not shorter than validity", dict(validity=30, renew_before=30), "renew_before"),
    ("name too long", dict(name="n" * 51), "name must be at most 50"),
    ("description too long", dict(description="d" * 201), "description must be at most 200"),
    ("RSA type with a CSR", dict(private_key_source="csr", certificate_type="RSA", csr_path="rsa.csr",
                                 private_key_path=None), "RSA cannot be combined with a CSR"),
    ("ECDSA type with an RSA CSR", dict(private_key_source="csr", certificate_type="ECDSA", csr_path="rsa.csr",
                                        private_key_path=None), "CSR holds an RSA key"),
    ("CSR that does not parse", dict(private_key_source="csr", private_key_path=None,
                                     csr="-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----"),
     "^csr: the CSR is not a PEM certificate signing request"),
    ("CSR file that does not parse", dict(private_key_source="csr", csr_path="garbage.csr", private_key_path=None),
     "^csr_path .*garbage.csr: the CSR is not a PEM certificate signing request"),
    ("csr source without a CSR", dict(private_key_source="csr", private_key_path=None), "needs csr or csr_path"),
    ("ovh source without a key path", dict(private_key_source="ovh", private_key_path=None),
     "private_key_source=ovh needs private_key_path"),
    ("local source without a key path", dict(private_key_source="local", private_key_path=None),
     "private_key_source=local needs private_key_path"),
    ("CSR file that does not exist", dict(private_key_source="csr", csr_path="missing.csr", private_key_path=None),
     "csr_path .*missing.csr does not exist"),
    ("a key path with a CSR", dict(private_key_source="csr", csr_path="rsa.csr"), "private_key_path is not used"),
    ("a CSR with a local key", dict(csr_path="rsa.csr"), "csr and csr_path need private_key_source=csr"),
    ("no wait", dict(wait_timeout=0), "wait_timeout must be a positive number of seconds"),
    ("empty name", dict(name=""), "name must not be empty"),
    ("control character in the name", dict(name="a\nb"), "name must not contain control characters"),
]


@functools.lru_cache(maxsize=None)
def rsa_csr():
    return make_csr(rsa_key())


@pytest.fixture
def bad_files(kms):
    (kms.directory / "rsa.csr").write_text(rsa_csr())
    (kms.directory / "garbage.csr").write_text(
        "-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgY3Ny\n-----END CERTIFICATE REQUEST-----\n")
    return kms.directory


@pytest.mark.parametrize("label, args, message", BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_fails_before_any_request(run_module, kms, bad_files, label, args, message):
    if args.get("csr_path"):
        args = dict(args, csr_path=str(bad_files / args["csr_path"]))
    outcome = run_module(okms_credential, kms.args(**args), kms.api)
    assert outcome.failed, label
    assert outcome.result["changed"] is False
    assert re.search(message, outcome.result["msg"]), outcome.result["msg"]
    assert outcome.result["msg"].endswith("(nothing was sent to the API)")
    assert kms.api.requests == []
    assert not os.path.exists(kms.key_path)


def test_absent_only_checks_the_name(run_module, kms):
    outcome = run_module(okms_credential, dict(okms_id=kms.okms_id, name="n" * 51, state="absent"), kms.api)
    assert outcome.failed
    assert outcome.result["msg"] == "name must be at most 50 characters, got 51 (nothing was sent to the API)"
    assert kms.api.requests == []


def test_a_key_file_that_is_not_a_key_is_never_overwritten(run_module, kms):
    with open(kms.key_path, "w") as handle:
        handle.write("this is not a private key\n")
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert outcome.failed
    assert outcome.result["msg"] == (
        "private_key_path %s cannot be used: it is not an unencrypted PEM private key. It is not overwritten; move "
        "it away to let the module write a new key" % kms.key_path)
    assert kms.api.mutations() == []
    assert read(kms.key_path) == b"this is not a private key\n"
