# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_secret's decisions, against the in-memory fake of the API.

Each converging test runs the module's main() the Ansible way (check mode, real
run, check-mode re-run, re-run) and reads the fake's request log: check mode
and re-runs send no mutating request. Every outcome is searched for the values
of the data: none may appear in a result, a diff or a message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.ovhcloud.kms.plugins.modules import okms_secret
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.secrets import COLLECTION, ITEM, install

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
ITEM_PATH = "/v2/okms/resource/%s/secret/app%%2Fdb" % OKMS_ID
LABEL = "secret 'app/db' of KMS %s" % OKMS_ID
OLD = {"username": "app", "password": "old-pass-7f3a", "gone": "removed-value-91c2"}
NEW = {"username": "app", "password": "new-pass-5d1e", "host": "db-host-value-3b8e"}
VALUES = ("old-pass-7f3a", "removed-value-91c2", "new-pass-5d1e", "db-host-value-3b8e")


@pytest.fixture
def api():
    api = FakeOkmsApi()
    install(api).add_kms(OKMS_ID)
    return api


def assert_no_value(outcome):
    text = json.dumps(outcome.result, sort_keys=True)
    for value in VALUES:
        assert value not in text, "a data value shows in %s" % text


@pytest.fixture
def task(run_module, api):
    """``task(check_mode=False, **options)``: one okms_secret task (diff on) on app/db by default."""
    def run(check_mode=False, **options):
        options.setdefault("path", "app/db")
        outcome = run_module(okms_secret, dict(options, okms_id=options.get("okms_id", OKMS_ID)), api,
                             check_mode=check_mode, diff=True)
        assert_no_value(outcome)
        return outcome
    return run


@pytest.fixture
def converge(task, api):
    """Check mode, real run, check-mode re-run, re-run; asserts what every converging task must hold."""
    def run(**options):
        sent = len(api.mutations())
        first_check = task(check_mode=True, **options)
        assert not first_check.failed, first_check.result
        assert len(api.mutations()) == sent, "check mode sent %s" % api.mutations()[sent:]
        real = task(**options)
        assert not real.failed, real.result
        sent = len(api.mutations())
        second_check = task(check_mode=True, **options)
        again = task(**options)
        assert api.mutations()[sent:] == [], "a re-run sent %s" % api.mutations()[sent:]
        assert first_check.result["changed"] and real.result["changed"]
        assert not second_check.result["changed"] and not again.result["changed"]
        # Check mode predicts the real diff.
        assert first_check.result["diff"] == real.result["diff"]
        assert again.result["diff"]["before"] == again.result["diff"]["after"] == unmarked(real.result["diff"]["after"])
        assert second_check.result["secret"] == again.result["secret"] == real.result["secret"]
        return first_check, real
    return run


def unmarked(diff_side):
    """A diff side as a re-run shows it: every key of the data is then just "(hidden)"."""
    side = dict(diff_side)
    if isinstance(side.get("data"), dict):
        side["data"] = dict((key, "(hidden)") for key in side["data"])
    return side


def seed(api, *versions, **metadata):
    return api.secrets.add_secret(OKMS_ID, "app/db", *versions, **metadata)


def stored(api, number=None):
    return api.secrets.data(OKMS_ID, "app/db", number)


# --- creating ----------------------------------------------------------------------------------

def test_create_with_metadata(converge, api):
    first_check, real = converge(data=NEW, max_versions=3, custom_metadata={"owner": "team-data", "days": 90})
    assert [(r.method, r.path) for r in api.mutations()] == [("POST", COLLECTION.replace("{okms_id}", OKMS_ID))]
    assert stored(api) == NEW
    secret = real.result["secret"]
    assert secret["path"] == "app/db"
    assert secret["metadata"]["current_version"] == 1
    assert secret["metadata"]["max_versions"] == 3
    assert secret["metadata"]["custom_metadata"] == {"owner": "team-data", "days": "90"}
    assert secret["version"]["state"] == "ACTIVE" and secret["version"]["id"] == 1
    assert secret["iam"]["urn"] == "urn:v1:eu:resource:okms:%s/secret/app/db" % OKMS_ID
    assert real.result["diff"] == {"before": {}, "after": {
        "path": "app/db", "cas_required": False, "custom_metadata": {"owner": "team-data", "days": "90"},
        "deactivate_version_after": "0s", "max_versions": 3, "current_version": 1,
        "data": {"username": "(hidden)", "password": "(hidden)", "host": "(hidden)"}}}
    # In check mode the secret is what it would be, without the values only the API gives.
    assert first_check.result["secret"]["metadata"]["created_at"] is None
    assert first_check.result["secret"]["iam"] is None


def test_a_missing_secret_needs_data(task, api):
    outcome = task(max_versions=3)
    assert outcome.failed and outcome.result["msg"] == "%s does not exist: give data to create it" % LABEL
    assert api.mutations() == []


def test_cas_zero_creates_and_another_cas_never_does(task, api):
    outcome = task(data=NEW, cas=4)
    assert outcome.failed and outcome.result["msg"] == (
        "%s does not exist, so it is not at version 4 (cas): give cas 0, or no cas, to create it" % LABEL)
    assert api.mutations() == []
    assert task(data=NEW, cas=0).result["changed"]
    assert stored(api) == NEW


# --- updating ----------------------------------------------------------------------------------

def test_new_data_makes_one_version_with_cas_and_the_diff_names_the_keys(converge, api):
    seed(api, OLD)
    _check, real = converge(data=NEW)
    write, = api.mutations()
    assert (write.method, write.path, write.params, write.body) == (
        "PUT", ITEM_PATH, {"cas": 1}, {"version": {"data": NEW}})
    assert stored(api) == NEW and real.result["secret"]["metadata"]["current_version"] == 2
    diff = real.result["diff"]
    assert diff["before"]["data"] == {"username": "(hidden)", "password": "(hidden)", "gone": "(hidden)"}
    assert diff["after"]["data"] == {"username": "(hidden)", "password": "(hidden, changed)",
                                     "host": "(hidden, added)"}
    assert (diff["before"]["current_version"], diff["after"]["current_version"]) == (1, 2)


def test_the_same_data_in_another_order_writes_nothing(task, api):
    seed(api, {"b": [1, 2], "a": {"y": True, "x": None}})
    outcome = task(data={"a": {"x": None, "y": True}, "b": [1, 2]})
    assert not outcome.result["changed"] and api.mutations() == []


def test_metadata_only_makes_no_version(converge, api):
    seed(api, OLD)
    _check, real = converge(cas_required=True, deactivate_version_after="7d", custom_metadata={"o": "x"})
    write, = api.mutations()
    assert (write.method, write.params, write.body) == (
        "PUT", {}, {"metadata": {"casRequired": True, "deactivateVersionAfter": "7d", "customMetadata": {"o": "x"}}})
    assert stored(api) == OLD and api.secrets.record(OKMS_ID, "app/db")["currentVersion"] == 1
    assert real.result["diff"]["before"]["data"] == real.result["diff"]["after"]["data"]


def test_metadata_is_written_before_the_data(task, api):
    seed(api, OLD)
    task(data=NEW, deactivate_version_after="1h")
    assert [(r.method, sorted(r.body)) for r in api.mutations()] == [("PUT", ["metadata"]), ("PUT", ["version"])]
    # So the new version gets the new lifetime.
    assert api.secrets.record(OKMS_ID, "app/db")["versions"]["2"]["deactivateAt"] == api.retry_policy.clock() + 3600


def test_lowering_max_versions_prunes(converge, api):
    seed(api, {"n": "1"}, {"n": "2"}, {"n": "3"}, {"n": "4"})
    _check, real = converge(max_versions=2)
    assert sorted(api.secrets.record(OKMS_ID, "app/db")["versions"], key=int) == ["3", "4"]
    assert real.result["secret"]["metadata"]["oldest_version"] == 3


def test_overwrite_false_never_replaces_the_data(task, api, converge):
    seed(api, OLD)
    outcome = task(data=NEW, overwrite=False)
    assert not outcome.result["changed"] and api.mutations() == []
    assert stored(api) == OLD
    # Its metadata is still converged.
    assert task(data=NEW, overwrite=False, max_versions=4).result["changed"]
    assert stored(api) == OLD


def test_overwrite_false_creates_a_missing_secret(converge, api):
    converge(data=NEW, overwrite=False, path="app/db")
    assert stored(api) == NEW


def test_explicit_cas_writes_when_it_is_the_current_version(task, api):
    seed(api, OLD, {"p": "second"})
    outcome = task(data=NEW, cas=2)
    assert outcome.result["changed"] and api.mutations()[0].params == {"cas": 2}


def test_explicit_cas_of_another_version_fails_before_any_write(task, api):
    seed(api, OLD, {"p": "second"})
    for check_mode in (True, False):
        outcome = task(check_mode=check_mode, data=NEW, cas=1, max_versions=5)
        assert outcome.failed and not outcome.result["changed"]
        assert outcome.result["msg"] == (
            "%s is at version 2, not at version 1 (cas): another version was written since the one cas names, so "
            "the new data was not written. Read the secret again (ovhcloud.kms.okms_secret_info, "
            "metadata.current_version), check that your data should replace its current version, and set cas to "
            "that version; or leave cas unset to write over whatever version is current" % LABEL)
    assert api.mutations() == []


def test_cas_is_not_compared_when_the_data_is_already_there(task, api):
    seed(api, OLD, NEW)
    outcome = task(data=NEW, cas=1)
    assert not outcome.failed and not outcome.result["changed"] and api.mutations() == []


def test_a_version_written_by_someone_else_between_read_and_write_is_refused_by_the_api(task, api):
    seed(api, OLD)
    reads = []

    def read_then_someone_writes(request, okms_id, path):
        answer = api.secrets.get_secret(request, okms_id, path)
        if not reads:
            api.secrets.write(okms_id, "app/db", {"p": "theirs"})
        reads.append(answer)
        return answer
    api.route("GET", ITEM, read_then_someone_writes, first=True)
    outcome = task(data=NEW)
    assert outcome.failed and not outcome.result["changed"]
    assert outcome.result["msg"].startswith(
        "another version of %s was written between this task's read (version 1) and its write, so the API refused "
        "the new version for its check-and-set version (cas 1) and the data was not written. Someone else writes "
        "this secret too: run the task again to write over the newer version once you know that is what you want "
        "(cannot write a new version of %s: PUT %s, HTTP 400, Client::BadRequest: cas mismatch" % (LABEL, LABEL,
                                                                                                   ITEM_PATH))
    assert outcome.result["api_error"]["status"] == 400
    assert stored(api) == {"p": "theirs"}


def test_cas_required_by_the_kms_is_fulfilled(task, api):
    api.secrets.config[OKMS_ID]["casRequired"] = True
    seed(api, OLD)
    assert task(data=NEW).result["changed"]
    assert stored(api) == NEW


def test_a_deactivated_current_version_is_replaced(converge, api):
    seed(api, OLD, NEW)
    api.secrets.record(OKMS_ID, "app/db")["versions"]["2"]["state"] = "DEACTIVATED"
    _check, real = converge(data=NEW)
    assert api.secrets.record(OKMS_ID, "app/db")["currentVersion"] == 3
    assert real.result["diff"]["before"]["data"] == "(version 2 is DEACTIVATED: its data cannot be read)"
    assert real.result["secret"]["version"]["state"] == "ACTIVE"


def test_a_version_past_deactivate_version_after_is_replaced_on_the_next_run(task, api):
    seed(api, OLD, deactivateVersionAfter="1h")
    assert not task(data=OLD).result["changed"]
    api.retry_policy.sleep(3601)
    outcome = task(data=OLD)
    assert outcome.result["changed"] and api.secrets.record(OKMS_ID, "app/db")["currentVersion"] == 2


def test_a_lost_answer_makes_one_version(task, api):
    seed(api, OLD)
    api.lose_answer("PUT", ITEM)
    outcome = task(data=NEW)
    assert outcome.result["changed"] and outcome.result["secret"]["metadata"]["current_version"] == 2
    assert api.secrets.record(OKMS_ID, "app/db")["currentVersion"] == 2


# --- deleting ----------------------------------------------------------------------------------

def test_absent_deletes_every_version(converge, api):
    seed(api, OLD, NEW)
    _check, real = converge(state="absent")
    assert "app/db" not in api.secrets.kms[OKMS_ID]
    assert real.result["secret"] == {}
    assert real.result["diff"]["after"] == {} and real.result["diff"]["before"]["current_version"] == 2


def test_absent_of_a_missing_secret_changes_nothing(task, api):
    outcome = task(state="absent")
    assert not outcome.result["changed"] and outcome.result["secret"] == {} and api.mutations() == []


# --- bad inputs ----------------------------------------------------------------------------------

BAD_INPUTS = [
    ({"path": "app db", "data": NEW}, 'path "app db" holds " ": only the characters [a-zA-Z0-9_.:/=@-] are allowed'),
    ({"path": "/app", "data": NEW},
     'path "/app" must not start or end with / nor hold //: each segment between two / needs a name'),
    ({"path": "x" * 256, "data": NEW}, "path is 256 characters long; at most 255 are allowed"),
    ({"data": {"k": "v" * 65536}}, "data is 65544 bytes as JSON; at most 65536 (64 KiB) are allowed"),
    ({"data": NEW, "max_versions": -1}, "max_versions must be a whole number from 0 to 24000, got -1"),
    ({"data": NEW, "max_versions": 24001}, "max_versions must be a whole number from 0 to 24000, got 24001"),
    ({"data": NEW, "cas": -2}, "cas must be a whole number from 0 to 24000, got -2"),
    ({"data": NEW, "deactivate_version_after": "1 week"},
     'deactivate_version_after "1 week" is not a duration: give a number followed by a unit (ns, us, ms, s, m, h, '
     'd), several of them in a row, or bare seconds, for example 0s (never), 90s, 1h30m, 24h, 7d or 3600'),
    ({"data": NEW, "custom_metadata": dict(("k%d" % i, "v") for i in range(65))},
     "custom_metadata has 65 entries; at most 64 are allowed"),
    ({"data": NEW, "custom_metadata": {"a b": "v"}},
     'custom_metadata key "a b" is invalid: use 1 to 128 characters of [a-zA-Z0-9_.:/=@%-]'),
    ({"data": NEW, "custom_metadata": {"k": ["v"]}}, 'custom_metadata value of "k" must be a string (quote it), not a list'),
    ({"state": "absent", "data": NEW}, "data: only with state present (state absent deletes the secret)"),
    ({"state": "absent", "max_versions": 2, "cas": 1},
     "cas, max_versions: only with state present (state absent deletes the secret)"),
]


@pytest.mark.parametrize("check_mode", [True, False], ids=["check", "run"])
@pytest.mark.parametrize("options, message", BAD_INPUTS, ids=[str(i) for i in range(len(BAD_INPUTS))])
def test_bad_input_fails_naming_the_option_before_any_request(run_module, api, options, message, check_mode):
    seed(api, OLD)
    options = dict({"okms_id": OKMS_ID, "path": "app/db"}, **options)
    outcome = run_module(okms_secret, options, api, check_mode=check_mode)
    assert outcome.failed and outcome.result["msg"] == message
    assert api.requests == []
    assert_no_value(outcome)
