# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CredentialApi over the fake API: paths, "not found" as None, lost answers confirmed by reading, named errors."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential import CredentialWaitError
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential_api import (
    CredentialApi,
    CredentialKeyLostError,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
    OvhWriteNotAppliedError,
)
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms import credentials as fake_credentials
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi
from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.okms_fakes import FakeTime

ACCOUNT = "urn:v1:eu:identity:account:xx1111-ovh"
CREDENTIAL = "/v2/okms/resource/{okms_id}/credential"
ONE_CREDENTIAL = "/v2/okms/resource/{okms_id}/credential/{credential_id}"
MISSING_ID = "00000000-0000-4000-8000-000000000000"
# One key for many seeded credentials: key generation is the slow part.
SHARED_KEY = ec.generate_private_key(ec.SECP256R1())


class Setup:
    def __init__(self, routes_first=()):
        self.fake = FakeOkmsApi()
        for route in routes_first:
            self.fake.route(*route)
        self.state = fake_credentials.install(self.fake)
        self.okms_id = self.state.add_kms()
        self.api = CredentialApi(self.fake, self.okms_id)
        self.time = FakeTime()
        self.api.sleep = self.time.sleep
        self.api.clock = self.time.clock

    @property
    def collection(self):
        return "/v2/okms/resource/%s/credential" % self.okms_id


@pytest.fixture
def setup():
    return Setup()


def csr_body(name="web1"):
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])).sign(key, hashes.SHA256())
    return dict(name=name, identityURNs=[ACCOUNT], validity=30,
                csr=csr.public_bytes(serialization.Encoding.PEM).decode("ascii"))


def test_paths(setup):
    assert setup.api.kms_path == "/v2/okms/resource/%s" % setup.okms_id
    assert setup.api.collection_path == setup.collection
    assert setup.api.credential_path("abc") == setup.collection + "/abc"


def test_get_returns_the_credential_or_none(setup):
    seeded = setup.state.seed(setup.okms_id, "web1")
    assert setup.api.get(seeded["id"]) == seeded
    assert setup.api.get(MISSING_ID) is None
    assert [repr(request) for request in setup.fake.requests] == [
        "GET %s/%s" % (setup.collection, seeded["id"]), "GET %s/%s" % (setup.collection, MISSING_ID)]


def test_other_read_errors_name_the_action(setup):
    api = CredentialApi(setup.fake, MISSING_ID)
    with pytest.raises(OvhApiError) as err:
        api.list()
    assert str(err.value).startswith("cannot list the credentials of KMS %s: GET " % MISSING_ID)
    with pytest.raises(OvhApiError) as err:
        api.kms_with_public_cas()
    assert err.value.status == 404, "a missing KMS is an error, not an absent CA"
    assert str(err.value).startswith("cannot read the CA of KMS %s: GET " % MISSING_ID)


def test_list_named_keeps_every_credential_of_the_name(setup):
    first = setup.state.seed(setup.okms_id, "web1")
    setup.state.seed(setup.okms_id, "db1")
    second = setup.state.seed(setup.okms_id, "web1", status="DELETING")
    assert [c["id"] for c in setup.api.list_named("web1")] == [first["id"], second["id"]]
    assert len(setup.api.list()) == 3


def test_kms_with_public_cas_asks_for_them(setup):
    kms = setup.api.kms_with_public_cas()
    assert kms["publicCA"] == setup.state.kms[setup.okms_id].ca.pem
    assert "BEGIN CERTIFICATE" in kms["publicRsaCA"]
    assert setup.fake.requests[-1].params == {"publicCA": "true"}


def test_create_returns_the_answer_with_the_generated_key(setup):
    created = setup.api.create(dict(name="web1", identityURNs=[ACCOUNT], certificateType="ECDSA"), set())
    assert created["status"] == "CREATING"
    assert created["privateKeyPEM"].startswith("-----BEGIN EC PRIVATE KEY-----\n")
    assert "certificatePEM" not in created


def test_a_lost_creation_answer_adopts_the_only_new_credential(setup):
    known = setup.state.seed(setup.okms_id, "web1")
    setup.fake.lose_answer("POST", CREDENTIAL)
    created = setup.api.create(csr_body(), {known["id"]})
    assert created["id"] != known["id"] and created["name"] == "web1"
    assert len(setup.fake.calls("POST")) == 1


def test_a_creation_lost_before_it_arrived_is_sent_again(setup):
    known = setup.state.seed(setup.okms_id, "web1")
    setup.fake.lose_answer("POST", CREDENTIAL, before_applying=True)
    created = setup.api.create(csr_body(), {known["id"]})
    # Re-reading proved it absent: sent again, once, and its answer arrived.
    assert [request.method for request in setup.fake.requests] == ["POST", "GET", "POST"]
    assert [c["id"] for c in setup.state.credentials(setup.okms_id)] == [known["id"], created["id"]]


def test_a_creation_that_never_arrives_stops_at_the_retry_budget_saying_nothing_changed():
    def dropped(request, okms_id):
        raise OvhAmbiguousRequestError("the request may or may not have been applied (ReadTimeout)",
                                       method=request.method, path=request.path)

    lost = Setup(routes_first=[("POST", CREDENTIAL, dropped)])
    with pytest.raises(OvhWriteNotAppliedError) as err:
        lost.api.create(csr_body(), set())
    attempts = lost.fake.retry_policy.max_attempts
    assert str(err.value) == (
        "cannot create credential 'web1': POST %s: sent %d times; every answer was lost and re-reading showed each "
        "time that it was not applied, so nothing was changed (last answer: the request may or may not have been "
        "applied (ReadTimeout))" % (lost.collection, attempts))
    # Each sending was followed by a listing that proved it absent.
    assert [request.method for request in lost.fake.requests] == ["POST", "GET"] * attempts
    assert lost.state.credentials(lost.okms_id) == []


def test_two_new_credentials_after_a_lost_answer_cannot_be_told_apart():
    def twins_appear(request, okms_id):
        twins.state.seed(okms_id, "web1")
        twins.state.seed(okms_id, "web1")
        raise OvhAmbiguousRequestError("connection reset", method=request.method, path=request.path)

    twins = Setup(routes_first=[("POST", CREDENTIAL, twins_appear)])
    with pytest.raises(OvhAmbiguousRequestError) as err:
        twins.api.create(csr_body(), set())
    ids = sorted(c["id"] for c in twins.state.credentials(twins.okms_id))
    assert str(err.value) == (
        "cannot create credential 'web1': POST %s: connection reset; re-reading could not tell whether it was: 2 "
        "credentials named 'web1' appeared meanwhile (%s): list them with okms_credential_info"
        % (twins.collection, ", ".join(ids)))
    assert [request.method for request in twins.fake.requests] == ["POST", "GET"]


def test_a_lost_creation_answer_without_a_csr_lost_the_key(setup):
    setup.fake.lose_answer("POST", CREDENTIAL)
    with pytest.raises(CredentialKeyLostError) as err:
        setup.api.create(dict(name="web1", identityURNs=[ACCOUNT]), set())
    made = setup.state.credentials(setup.okms_id)
    assert len(made) == 1
    assert err.value.credential_id == made[0]["id"]
    assert err.value.credential["name"] == "web1"
    assert str(err.value) == (
        "credential %s was created but the response carrying its private key was lost (POST %s: the request may or "
        "may not have been applied (connection reset))" % (made[0]["id"], setup.collection))
    assert err.value.to_result()["status"] is None
    assert [request.method for request in setup.fake.requests] == ["POST", "GET"]


def test_a_refused_creation_names_the_action(setup):
    with pytest.raises(OvhApiError) as err:
        setup.api.create(dict(name="web1", identityURNs=["urn:v1:fr:identity:account:x"]), set())
    assert err.value.status == 400
    assert err.value.error_class == "Client::BadRequest::CredentialIdentityURNsInvalidURN"
    assert str(err.value).startswith("cannot create credential 'web1': POST ")


def test_revoke_deletes_once_and_counts_gone_or_deleting_as_done(setup):
    seeded = setup.state.seed(setup.okms_id, "web1")
    answer = setup.api.revoke(seeded)
    assert answer["status"] == "DELETING"
    # Already DELETING (400 ...StatusInvalid), then gone (404): both are done.
    assert setup.api.revoke(seeded) is None
    assert setup.api.get(seeded["id"])["status"] == "DELETING"
    assert setup.api.get(seeded["id"]) is None
    assert setup.api.revoke(seeded) is None
    assert len(setup.fake.calls("DELETE")) == 3


def test_a_lost_revocation_answer_is_confirmed_by_reading(setup):
    seeded = setup.state.seed(setup.okms_id, "web1")
    setup.fake.lose_answer("DELETE", ONE_CREDENTIAL)
    confirmed = setup.api.revoke(seeded)
    assert confirmed["status"] == "DELETING"
    assert [request.method for request in setup.fake.requests] == ["DELETE", "GET"]


def test_a_revocation_lost_before_it_arrived_is_sent_again(setup):
    seeded = setup.state.seed(setup.okms_id, "web1")
    setup.fake.lose_answer("DELETE", ONE_CREDENTIAL, before_applying=True)
    answer = setup.api.revoke(seeded)
    assert answer["status"] == "DELETING"
    assert [request.method for request in setup.fake.requests] == ["DELETE", "GET", "DELETE"]


def test_a_revocation_that_never_arrives_stops_at_the_retry_budget():
    def dropped(request, okms_id, credential_id):
        raise OvhAmbiguousRequestError("connection reset", method=request.method, path=request.path)

    lost = Setup(routes_first=[("DELETE", ONE_CREDENTIAL, dropped)])
    seeded = lost.state.seed(lost.okms_id, "web1")
    with pytest.raises(OvhWriteNotAppliedError) as err:
        lost.api.revoke(seeded)
    assert str(err.value).startswith("cannot revoke credential %s ('web1'): DELETE " % seeded["id"])
    assert "nothing was changed" in str(err.value)
    assert lost.state.credentials(lost.okms_id)[0]["status"] == "READY"


def test_a_revocation_whose_re_read_fails_says_what_to_check():
    def dropped(request, okms_id, credential_id):
        raise OvhAmbiguousRequestError("connection reset", method=request.method, path=request.path)

    def unavailable(request, okms_id, credential_id):
        raise OvhApiError("Service Unavailable", status=503, method=request.method, path=request.path)

    lost = Setup(routes_first=[("DELETE", ONE_CREDENTIAL, dropped), ("GET", ONE_CREDENTIAL, unavailable)])
    seeded = lost.state.seed(lost.okms_id, "web1")
    with pytest.raises(OvhAmbiguousRequestError) as err:
        lost.api.revoke(seeded)
    path = "%s/%s" % (lost.collection, seeded["id"])
    assert str(err.value).startswith("cannot revoke credential %s ('web1'): DELETE %s: connection reset; "
                                     "re-reading to find out failed too (" % (seeded["id"], path))
    assert str(err.value).endswith(": check whether credential %s is still READY (GET %s) before running again"
                                   % (seeded["id"], path))


def test_list_reads_pages_of_100(setup):
    for index in range(150):
        setup.state.seed(setup.okms_id, "c%d" % index, public_key=SHARED_KEY.public_key())
    assert len(setup.api.list()) == 150
    assert [request.headers.get("X-Pagination-Size") for request in setup.fake.requests] == ["100", "100"]


def test_server_now_is_the_clients_server_time_or_none(setup):
    assert setup.api.server_now() is None
    setup.fake.server_time = lambda: 1767225600.0
    assert setup.api.server_now() == datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def test_wait_until_ready_polls_with_the_fake_clock(setup):
    setup.state.ready_after_reads = 4
    created = setup.api.create(csr_body(), set())
    ready = setup.api.wait_until_ready(created["id"], 60)
    assert ready["status"] == "READY" and "BEGIN CERTIFICATE" in ready["certificatePEM"]
    # The fake turns READY on its 4th read; each read comes after a wait (the caller has just seen CREATING).
    assert setup.time.sleeps == [0.25] * 4


def test_wait_until_ready_stops_when_the_credential_is_gone(setup):
    seeded = setup.state.seed(setup.okms_id, "web1", status="CREATING")
    setup.state.record(setup.okms_id, seeded["id"]).deleted = True
    with pytest.raises(CredentialWaitError) as err:
        setup.api.wait_until_ready(seeded["id"], 60)
    assert str(err.value) == "credential %s no longer exists" % seeded["id"]
    assert err.value.credential is None
