# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_credential when things go wrong halfway: lists that change while they are read, a twin made by another
run, a run killed around its request, a wrong clock, files that cannot be read or written.

Each test runs the module against the stateful fake API (tests/unit/fake_okms), whose lists are paginated with
offset cursors like the emulator's, and asserts what is left: how many live credentials, which key is on disk,
which requests were sent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.ovhcloud.kms.plugins.module_utils import okms_files
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential_api import CredentialApi
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhAmbiguousRequestError
from ansible_collections.ovhcloud.kms.plugins.modules import okms_credential
from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.okms_fakes import FakeTime
from ansible_collections.ovhcloud.kms.tests.unit.plugins.modules.test_okms_credential_reconciler import (
    ACCOUNT,
    CREDENTIAL,
    USER,
    Kms,
    certificate_key,
    file_key,
    make_csr,
    methods,
    read,
)

UTC = datetime.timezone.utc
SHARED_KEY = ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def kms(tmp_path):
    directory = tmp_path / "okms"
    directory.mkdir()
    return Kms(directory)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(CredentialApi, "sleep", staticmethod(fake.sleep))
    monkeypatch.setattr(CredentialApi, "clock", staticmethod(fake.clock))
    return fake


class Killed(BaseException):
    """The module's process dies here (SIGKILL): nothing after this line of the run happens."""


def live(kms, name="web1"):
    return [c for c in kms.state.credentials(kms.okms_id) if c["name"] == name and c["status"] != "DELETING"]


def fill(kms, count):
    """``count`` credentials of other names, so that the list takes two pages of 100."""
    for index in range(count):
        kms.state.seed(kms.okms_id, "other-%03d" % index, public_key=SHARED_KEY.public_key())


def revoked_during_the_listing(kms, credential_id, listing=1):
    """The credential revoked by the previous task finishes DELETING right after page 1 of the ``listing``-th list.

    The cursor of page 2 is an offset: every item after the gone one moves up by one, and the first item of
    page 2 is never served.
    """
    lists = []

    def hook(request, page):
        if request.headers.get("X-Pagination-Cursor") is None:
            lists.append(request)
            if len(lists) == listing:
                kms.state.finish_deleting(kms.okms_id, credential_id)

    kms.api.page_hooks.append(hook)
    return lists


# -- "absent" is decided safely ------------------------------------------------------------------------


def test_a_credential_hidden_by_a_shifting_list_is_found_before_creating(run_module, kms):
    """Page 1 = items 0-99; the revoked one (item 0) disappears; page 2 starts at 100, where web1 was."""
    going = kms.state.seed(kms.okms_id, "web1-old", status="DELETING")
    fill(kms, 99)
    web1 = kms.seed()
    fill(kms, 20)
    lists = revoked_during_the_listing(kms, going["id"])

    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert not outcome.failed, outcome.result
    assert len(lists) == 2, "listed again before creating"
    assert outcome.result["credential"]["id"] == web1["id"]
    assert "issue_reasons" not in outcome.result
    assert kms.api.mutations() == []
    assert [c["id"] for c in live(kms)] == [web1["id"]]


def test_the_first_list_really_misses_the_credential(kms):
    """The scenario above is real: one pass over the shifting list does not see web1 (why a second pass)."""
    going = kms.state.seed(kms.okms_id, "web1-old", status="DELETING")
    fill(kms, 99)
    kms.seed()
    fill(kms, 20)
    revoked_during_the_listing(kms, going["id"])
    listed = CredentialApi(kms.api, kms.okms_id).list()
    # Page 1 still had the revoked one; web1 moved from page 2 to the end of page 1, after it was served.
    assert "web1" not in [c["name"] for c in listed]
    assert len(listed) == 120 and listed[0]["name"] == "web1-old"


def test_a_list_that_hides_it_on_the_second_pass_is_listed_a_third_time(run_module, kms):
    going = kms.state.seed(kms.okms_id, "web1-old", status="DELETING")
    fill(kms, 99)
    web1 = kms.seed(identity_urns=[USER])
    fill(kms, 20)
    # web1 needs replacing (its URNs differ): the first list sees it, the second one misses it.
    lists = revoked_during_the_listing(kms, going["id"], listing=2)
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert not outcome.failed, outcome.result
    # Planned on the 1st, the 2nd differs (re-planned: "none exists"), the 3rd agrees with the 1st; the 4th list
    # comes after the POST, looking for a twin.
    assert len(lists) == 4
    assert outcome.result["replaced_credential_id"] == web1["id"]
    assert outcome.result["issue_reasons"] == ["its identity URNs differ"]
    assert methods(kms.api) == ["POST", "DELETE"]
    assert [c["id"] for c in live(kms)] == [outcome.result["credential"]["id"]]


def test_a_list_that_keeps_changing_fails_without_creating(run_module, kms):
    # Another run keeps adding broken credentials of the name: every listing differs from the one before.
    def hook(request, page):
        kms.state.seed(kms.okms_id, "web1", status="ERROR")

    kms.api.page_hooks.append(hook)
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert outcome.failed
    assert outcome.result["msg"].startswith(
        "the credentials named web1 kept changing while this task listed them 4 times (")
    assert outcome.result["msg"].endswith(
        "): another task or run is changing them; nothing was created or revoked, run again")
    assert kms.api.mutations() == []
    assert not os.path.exists(kms.key_path)


def test_a_twin_made_by_another_run_meanwhile_is_kept_and_this_runs_is_revoked(run_module, tmp_path):
    twins = []

    def another_run_first(request, okms_id):
        # Another run's credential of the same name lands between this run's last listing and its POST.
        twins.append(kms.state.seed(okms_id, "web1", created_at=datetime.datetime.now(UTC) - datetime.timedelta(
            seconds=5)))
        return kms.state.create_credential(request, okms_id)

    directory = tmp_path / "okms"
    directory.mkdir()
    kms = Kms(directory, routes_first=[("POST", CREDENTIAL, another_run_first)])
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert outcome.failed
    mine = kms.api.mutations()[1].path.rsplit("/", 1)[1]
    assert methods(kms.api) == ["POST", "DELETE"]
    assert outcome.result["msg"] == (
        "credential %s named web1 was created meanwhile by another task or run, before this run's credential %s, "
        "which was revoked so that one remains; run again to deploy %s" % (twins[0]["id"], mine, twins[0]["id"]))
    assert outcome.result["revoked_credential_ids"] == [mine]
    assert [c["id"] for c in live(kms)] == [twins[0]["id"]]
    # This run's key was never moved into place; its pending file is gone.
    assert kms.files() == []


# -- no key lost halfway ---------------------------------------------------------------------------------


def test_a_local_key_is_on_disk_0600_before_the_credential_is_requested(run_module, tmp_path):
    seen = []

    def look_first(request, okms_id):
        pending = kms.key_path + ".pending"
        seen.append((oct(os.stat(pending).st_mode & 0o777), file_key(pending)))
        return kms.state.create_credential(request, okms_id)

    directory = tmp_path / "okms"
    directory.mkdir()
    kms = Kms(directory, routes_first=[("POST", CREDENTIAL, look_first)])
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert not outcome.failed, outcome.result
    mode, pending_key = seen[0]
    assert mode == "0o600"
    assert pending_key == file_key(kms.key_path) == certificate_key(outcome.result["credential"]["certificate_pem"])
    assert sorted(kms.files()) == ["ca.pem", "client.cert", "domain.key"]


def test_a_refused_request_keeps_the_old_key_in_place(run_module, kms):
    seeded = kms.seed(identity_urns=[USER])
    before = read(kms.key_path)
    # The new credential never arrives: re-reading proves it absent each time, until the retry budget ends.
    kms.api.lose_answer("POST", CREDENTIAL, times=100, before_applying=True)
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert outcome.failed
    assert "nothing was changed" in outcome.result["msg"]
    assert outcome.result["changed"] is False
    assert read(kms.key_path) == before
    assert kms.files() == ["domain.key"]
    assert [c["id"] for c in live(kms)] == [seeded["id"]]


def test_a_run_killed_after_the_server_created_the_credential_is_adopted_by_the_next(run_module, tmp_path):
    """Killed before the answer came back: the pending key is the new credential's; the old key still works."""
    def created_then_killed(request, okms_id):
        kms.state.create_credential(request, okms_id)
        raise Killed()

    directory = tmp_path / "okms"
    directory.mkdir()
    kms = Kms(directory, routes_first=[("POST", CREDENTIAL, created_then_killed)])
    old = kms.seed(identity_urns=[USER])
    old_key = read(kms.key_path)
    with pytest.raises(Killed):
        run_module(okms_credential, kms.args(), kms.api)
    assert read(kms.key_path) == old_key, "the old credential's key stays in place meanwhile"
    assert sorted(kms.files()) == ["domain.key", "domain.key.pending"]
    new = [c for c in live(kms) if c["id"] != old["id"]][0]

    kms.api.requests = []
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert not outcome.failed, outcome.result
    assert outcome.result["credential"]["id"] == new["id"]
    assert outcome.result["revoked_credential_ids"] == [old["id"]]
    assert methods(kms.api) == ["DELETE"]
    assert outcome.warnings == [
        "credential %s (web1) was created for the key an interrupted run left in %s.pending: that key is moved to %s"
        % (new["id"], kms.key_path, kms.key_path)]
    assert sorted(kms.files()) == ["ca.pem", "client.cert", "domain.key"]
    assert file_key(kms.key_path) == certificate_key(outcome.result["credential"]["certificate_pem"])
    assert [c["id"] for c in live(kms)] == [new["id"]]


def test_a_run_killed_before_the_request_arrived_leaves_nothing_behind_the_next(run_module, tmp_path):
    def killed(request, okms_id):
        raise Killed()

    directory = tmp_path / "okms"
    directory.mkdir()
    kms = Kms(directory, routes_first=[("POST", CREDENTIAL, killed)])
    old = kms.seed(identity_urns=[USER])
    with pytest.raises(Killed):
        run_module(okms_credential, kms.args(), kms.api)
    kms.api._routes.pop(0)

    check = run_module(okms_credential, kms.args(), kms.api, check_mode=True)
    assert check.result["changed"] is True
    assert sorted(kms.files()) == ["domain.key", "domain.key.pending"]
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert not outcome.failed, outcome.result
    assert outcome.result["revoked_credential_ids"] == [old["id"]]
    assert sorted(kms.files()) == ["ca.pem", "client.cert", "domain.key"]
    assert file_key(kms.key_path) == certificate_key(outcome.result["credential"]["certificate_pem"])
    assert [c["id"] for c in live(kms)] == [outcome.result["credential"]["id"]]


def test_an_ovh_key_run_killed_before_writing_the_key_leaves_no_orphan_after_the_next(run_module, tmp_path):
    def created_then_killed(request, okms_id):
        kms.state.create_credential(request, okms_id)
        raise Killed()

    directory = tmp_path / "okms"
    directory.mkdir()
    kms = Kms(directory, routes_first=[("POST", CREDENTIAL, created_then_killed)])
    old = kms.seed(identity_urns=[USER])
    with pytest.raises(Killed):
        run_module(okms_credential, kms.args(private_key_source="ovh"), kms.api)
    orphan = [c for c in live(kms) if c["id"] != old["id"]][0]
    kms.api._routes.pop(0)

    outcome = run_module(okms_credential, kms.args(private_key_source="ovh"), kms.api)
    assert not outcome.failed, outcome.result
    assert outcome.warnings[0] == (
        "credential %s (web1) is revoked: its private key, generated by OVHcloud, never reached %s (an interrupted "
        "run), while that file holds the key of credential %s" % (orphan["id"], kms.key_path, old["id"]))
    assert outcome.result["revoked_credential_ids"] == [orphan["id"], old["id"]]
    assert outcome.result["replaced_credential_id"] == old["id"]
    assert [c["id"] for c in live(kms)] == [outcome.result["credential"]["id"]]
    assert file_key(kms.key_path) == certificate_key(outcome.result["credential"]["certificate_pem"])


def test_an_answer_lost_for_good_keeps_the_pending_key_and_says_so(run_module, tmp_path):
    """Re-reading cannot tell (two credentials of the name appeared): the task fails, the pending key stays for the
    next run, which adopts whichever credential carries it."""
    def two_appear(request, okms_id):
        kms.state.create_credential(request, okms_id)
        kms.state.seed(okms_id, "web1", created_at=datetime.datetime.now(UTC) - datetime.timedelta(seconds=1))
        raise OvhAmbiguousRequestError("connection reset", method="POST", path=request.path)

    directory = tmp_path / "okms"
    directory.mkdir()
    kms = Kms(directory, routes_first=[("POST", CREDENTIAL, two_appear)])
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert outcome.failed
    assert "re-reading could not tell whether it was: 2 credentials named 'web1' appeared meanwhile" in \
        outcome.result["msg"]
    assert outcome.warnings == [
        "the new private key stays in %s.pending: if the credential was created, the next run finds it and moves the "
        "key to private_key_path" % kms.key_path]
    assert kms.files() == ["domain.key.pending"]


# -- the clock -------------------------------------------------------------------------------------------


def at_local_time(monkeypatch, kms, days):
    """The local clock ``days`` away from the server's (the fake API answers with the real time)."""
    monkeypatch.setattr(okms_credential, "utc_now", lambda: datetime.datetime.now(UTC) + datetime.timedelta(days=days))
    kms.api.server_time = time.time


def test_a_clock_far_ahead_does_not_make_a_valid_credential_look_expired(run_module, kms, monkeypatch):
    """Before the reliability issue, the local clock decided: a year ahead, the credential was replaced."""
    seeded = kms.seed()
    at_local_time(monkeypatch, kms, 400)
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert not outcome.failed, outcome.result
    assert outcome.result["credential"]["id"] == seeded["id"]
    assert kms.api.mutations() == []
    assert len(outcome.warnings) == 1
    assert outcome.warnings[0].startswith("the clock of this host is wrong: local time ")
    assert "(400 days ahead, more than the 30 days renew_before allows); expiry is judged by the server's time" in \
        outcome.warnings[0]


@pytest.mark.parametrize("days, way", [(400, "ahead"), (-60, "behind")])
def test_a_wrong_clock_refuses_to_revoke(run_module, kms, monkeypatch, days, way):
    seeded = kms.seed(identity_urns=[USER])
    at_local_time(monkeypatch, kms, days)
    for check_mode in (True, False):
        outcome = run_module(okms_credential, kms.args(), kms.api, check_mode=check_mode)
        assert outcome.failed
        assert outcome.result["changed"] is False
        message = outcome.result["msg"]
        assert message.startswith("the clock of this host is wrong: local time ")
        assert ", server time " in message
        assert "(%d days %s, more than the 30 days renew_before allows). Refusing to revoke credential(s) %s: set " \
               "the clock right (NTP) and run again; nothing was changed" % (abs(days), way, seeded["id"]) in message
    assert kms.api.mutations() == []
    assert kms.status(seeded["id"]) == "READY"


def test_expiry_is_judged_by_the_server_clock_when_the_local_clock_is_behind(run_module, kms, monkeypatch):
    # Expires in 5 days by the server's clock; the local clock is 2 days behind (within renew_before: 30 days).
    now = datetime.datetime.now(UTC)
    seeded = kms.seed(created_at=now - datetime.timedelta(days=360), expired_at=now + datetime.timedelta(days=5))
    monkeypatch.setattr(okms_credential, "utc_now", lambda: datetime.datetime.now(UTC) - datetime.timedelta(days=2))
    kms.api.server_time = time.time
    outcome = run_module(okms_credential, kms.args(renew_before=6, validity=365), kms.api)
    assert not outcome.failed, outcome.result
    assert outcome.result["replaced_credential_id"] == seeded["id"]
    assert outcome.result["issue_reasons"][0].startswith("it expires within 6 days")
    assert outcome.warnings == []


# -- a CSR for another key -------------------------------------------------------------------------------


def test_a_csr_for_another_key_without_waiting_keeps_the_working_credential(run_module, kms):
    key = ec.generate_private_key(ec.SECP256R1())
    # Issued an hour ago: the API's createdAt has one-second steps, and the newest credential is the current one.
    kms.state.seed(kms.okms_id, "web1", public_key=key.public_key())
    args = kms.args(private_key_source="csr", csr=make_csr(key), private_key_path=None)
    first = run_module(okms_credential, args, kms.api)
    working = first.result["credential"]
    assert kms.api.mutations() == []
    kms.api.requests = []

    other = dict(args, csr=make_csr(ec.generate_private_key(ec.SECP256R1())))
    outcome = run_module(okms_credential, dict(other, wait=False), kms.api)
    assert not outcome.failed, outcome.result
    assert outcome.result["credential"]["status"] == "CREATING"
    assert outcome.result["revoked_credential_ids"] == []
    assert outcome.result["kept_replaced_credential_ids"] == [working["id"]]
    assert methods(kms.api) == ["POST"]
    assert kms.status(working["id"]) == "READY"
    assert outcome.warnings == ["credential(s) %s not revoked yet: credential %s is not READY; a run that finds it "
                                "READY revokes them" % (working["id"], outcome.result["credential"]["id"])]
    assert read(kms.cert_path).decode("ascii") == working["certificate_pem"], "its files are untouched"

    done = run_module(okms_credential, other, kms.api)
    assert not done.failed, done.result
    assert done.result["credential"]["id"] == outcome.result["credential"]["id"]
    assert done.result["revoked_credential_ids"] == [working["id"]]
    assert read(kms.cert_path).decode("ascii") == done.result["credential"]["certificate_pem"]


def test_a_csr_for_another_key_revokes_only_after_the_new_certificate_is_written(run_module, tmp_path):
    order = []

    def revoke_and_note(request, okms_id, credential_id):
        order.append(("DELETE", read(kms.cert_path).decode("ascii")))
        return kms.state.delete_credential(request, okms_id, credential_id)

    directory = tmp_path / "okms"
    directory.mkdir()
    kms = Kms(directory, routes_first=[("DELETE", CREDENTIAL + "/{credential_id}", revoke_and_note)])
    args = kms.args(private_key_source="csr", csr=make_csr(ec.generate_private_key(ec.SECP256R1())),
                    private_key_path=None)
    run_module(okms_credential, args, kms.api)
    outcome = run_module(okms_credential, dict(args, csr=make_csr(ec.generate_private_key(ec.SECP256R1()))), kms.api)
    assert not outcome.failed, outcome.result
    assert order == [("DELETE", outcome.result["credential"]["certificate_pem"])]


# -- files that cannot be read or written ----------------------------------------------------------------


def test_a_key_file_that_cannot_be_read_names_the_option(run_module, kms, monkeypatch):
    kms.seed()
    real_open = open

    def denied(path, *args, **kwargs):
        if str(path) == kms.key_path:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(okms_files, "open", denied, raising=False)
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert outcome.failed
    assert outcome.result["msg"] == ("private_key_path %s cannot be read: Permission denied (nothing was changed)"
                                     % kms.key_path)
    assert kms.api.mutations() == []


def test_a_directory_that_cannot_be_written_fails_before_any_request(run_module, kms, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(okms_files.os, "access",
                        lambda path, mode: False if str(path) == str(kms.directory) else real_access(path, mode))
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert outcome.failed
    assert outcome.result["msg"] == (
        "private_key_path %s cannot be written: directory %s is not writable by user %s (nothing was sent to the API)"
        % (kms.key_path, kms.directory, okms_files._user_name()))
    assert kms.api.requests == []


def test_the_pending_file_is_checked_like_the_key_file(run_module, kms):
    os.mkdir(kms.key_path + ".pending")
    outcome = run_module(okms_credential, kms.args(), kms.api)
    assert outcome.failed
    assert outcome.result["msg"] == ("private_key_path %s.pending is a directory: give the path of a file (nothing was "
                                     "sent to the API)" % kms.key_path)
    assert kms.api.requests == []


def test_paths_are_checked_in_check_mode_too(run_module, kms):
    """A path that cannot be a file fails check mode as it fails a run, before any request."""
    directory = kms.directory / "a-directory"
    directory.mkdir()
    outcome = run_module(okms_credential, kms.args(identity_urns=[ACCOUNT], certificate_path=str(directory)),
                         kms.api, check_mode=True)
    assert outcome.failed
    assert outcome.result["msg"] == ("certificate_path %s is a directory: give the path of a file (nothing was sent "
                                     "to the API)" % directory)
    assert kms.api.requests == []


def test_a_directory_still_to_be_created_is_not_an_error_in_check_mode(run_module, kms):
    """In a check-mode play the task creating the directory did not run: predict, do not fail; a real run fails."""
    missing = kms.directory / "no" / "client.cert"
    args = kms.args(identity_urns=[ACCOUNT], certificate_path=str(missing))
    predicted = run_module(okms_credential, args, kms.api, check_mode=True)
    assert not predicted.failed, predicted.result
    assert predicted.result["changed"] is True
    assert kms.api.mutations() == []
    real = run_module(okms_credential, args, kms.api)
    assert real.failed
    assert real.result["msg"] == ("certificate_path %s cannot be written: directory %s does not exist (nothing was "
                                  "sent to the API)" % (missing, missing.parent))
    assert kms.api.mutations() == []
    assert kms.files() == []
