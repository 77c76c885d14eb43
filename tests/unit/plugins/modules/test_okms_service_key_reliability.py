# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_service_key under faults: lost answers are settled in the same run, and "absent" is decided safely.

A write whose answer is lost (before or after the server applied it) is
re-read: adopted when it took effect, sent again when the re-read proves it
absent, a failure naming what to check otherwise. A list that loses an item
while it is read never leads to a duplicate key.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhAmbiguousRequestError
from ansible_collections.ovhcloud.kms.plugins.modules import okms_service_key
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.service_keys import COLLECTION, ITEM, install

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
KEYS = "/v2/okms/resource/%s/serviceKey" % OKMS_ID


@pytest.fixture
def api():
    api = FakeOkmsApi()
    install(api).add_kms(OKMS_ID)
    return api


@pytest.fixture
def task(run_module, api):
    def run(check_mode=False, **options):
        return run_module(okms_service_key, dict(options, okms_id=OKMS_ID), api, check_mode=check_mode)
    return run


def live(api, name=None):
    return [key for key in api.service_keys.keys(OKMS_ID)
            if (name is None or key["name"] == name) and not key["state"].startswith("DESTROYED")]


def methods(requests):
    return ["%s %s" % (request.method, "KEYS" if request.path == KEYS else "KEY") for request in requests]


# --- lists ---------------------------------------------------------------------------------------------------


def test_every_list_read_asks_for_100_item_pages(task, api):
    for index in range(4):
        api.service_keys.add_key(OKMS_ID, "k%d" % index)
    task(name="new", type="oct")
    task(name="new", state="absent", force=True)
    lists = api.calls("GET", COLLECTION)
    assert len(lists) >= 4
    assert all(request.headers.get("X-Pagination-Size") == "100" for request in lists)


def hiding_db_by_deleting_between_pages(api, listings):
    """During the next ``listings`` list reads, whenever the next page would start with the key "db", another
    task deletes the oldest key: with offset cursors "db" slides onto the page already read, out of sight.
    The server serves one key per page, so that it can happen on every reading."""
    api.max_page_size = 1
    remaining = [listings]

    def hook(request, page):
        keys = api.service_keys.keys(OKMS_ID)
        next_offset = int(request.headers.get("X-Pagination-Cursor") or 0) + len(page)
        at_boundary = [key["name"] for key in keys].index("db") == next_offset
        if remaining[0] and at_boundary:
            remaining[0] -= 1
            del api.service_keys.kms[OKMS_ID][keys[0]["id"]]

    api.page_hooks.append(hook)
    return remaining


def listings(api):
    """The list reads made (their first pages)."""
    return [request for request in api.calls("GET", COLLECTION) if "X-Pagination-Cursor" not in request.headers]


def seed_with_db_third(api):
    for name in ("a", "b", "db", "d"):
        api.service_keys.add_key(OKMS_ID, name)
    return live(api, "db")[0]


def test_a_key_missed_by_a_shifting_list_is_found_by_the_second_reading_and_not_created(task, api):
    existing = seed_with_db_third(api)
    hidden = hiding_db_by_deleting_between_pages(api, listings=1)
    outcome = task(name="db", type="oct")
    assert hidden == [0]
    assert not outcome.failed, outcome.result
    # The first reading missed "db": a second one was made, and found it.
    assert len(listings(api)) == 2
    assert outcome.result["changed"] is False
    assert outcome.result["service_key"]["id"] == existing["id"]
    assert api.mutations() == []
    assert [key["id"] for key in live(api, "db")] == [existing["id"]]


def test_a_key_missed_by_both_readings_is_created_then_the_new_twin_removed(task, api):
    existing = seed_with_db_third(api)
    hidden = hiding_db_by_deleting_between_pages(api, listings=2)
    outcome = task(name="db", type="oct")
    assert hidden == [0]
    assert not outcome.failed, outcome.result
    # Both readings before the create missed "db"; the one after it saw the twins.
    assert len(listings(api)) == 3
    # The older key is kept; the one just made is deactivated, then deleted.
    assert outcome.result["service_key"]["id"] == existing["id"]
    assert outcome.result["changed"] is True
    created = api.calls("POST", COLLECTION)
    assert len(created) == 1
    assert [(request.method, request.body) for request in api.mutations()[1:]] == [
        ("PUT", {"state": "DEACTIVATED", "deactivationReason": "SUPERSEDED"}), ("DELETE", None)]
    assert [key["id"] for key in live(api, "db")] == [existing["id"]]
    again = task(name="db", type="oct")
    assert again.result["changed"] is False and len(api.mutations()) == 3


def twin_made_first(api, key_type):
    """A POST route: the first create of "db" finds that another task has just made one of its own."""
    made = []

    def create(request, okms_id):
        if not made:
            made.append(api.service_keys.add_key(OKMS_ID, "db", key_type))
        return api.service_keys.create_key(request, okms_id)

    return create


def test_a_twin_made_by_another_task_meanwhile_is_kept_when_older(task, api):
    """Another task creates the same name between this task's lookup and its create: the older key wins."""
    api.route("POST", COLLECTION, twin_made_first(api, "oct"), first=True)
    outcome = task(name="db", type="oct")
    assert not outcome.failed, outcome.result
    survivors = live(api, "db")
    assert len(survivors) == 1
    assert outcome.result["service_key"]["id"] == survivors[0]["id"]
    assert [request.method for request in api.mutations()] == ["POST", "PUT", "DELETE"]


def test_a_kept_twin_that_does_not_fit_the_task_fails_naming_the_differences(task, api):
    api.route("POST", COLLECTION, twin_made_first(api, "RSA"), first=True)
    outcome = task(name="db", type="oct")
    assert outcome.failed
    assert outcome.result["changed"] is True
    assert outcome.result["msg"].startswith("service key db cannot be changed in place (type is RSA, the task asks "
                                            "for oct;")
    assert [key["type"] for key in live(api, "db")] == ["RSA"]


# --- lost answers, both ways ---------------------------------------------------------------------------------


def test_a_create_lost_before_applying_is_repeated_once_and_converges(task, api):
    api.lose_answer("POST", COLLECTION, before_applying=True)
    outcome = task(name="app", type="oct")
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert [key["id"] for key in live(api, "app")] == [outcome.result["service_key"]["id"]]
    assert len(api.calls("POST", COLLECTION)) == 2
    assert task(name="app", type="oct").result["changed"] is False


def test_a_create_applied_then_lost_is_adopted_not_repeated(task, api):
    api.lose_answer("POST", COLLECTION)
    outcome = task(name="app", type="RSA")
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert [key["id"] for key in live(api, "app")] == [outcome.result["service_key"]["id"]]
    assert len(api.calls("POST", COLLECTION)) == 1


@pytest.mark.parametrize("before_applying", [True, False])
def test_a_lost_state_update_converges_either_way(task, api, before_applying):
    key = api.service_keys.add_key(OKMS_ID, "life")
    api.lose_answer("PUT", ITEM, before_applying=before_applying)
    outcome = task(name="life", key_state="deactivated", deactivation_reason="SUPERSEDED")
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["service_key"]["state"] == "DEACTIVATED"
    assert len(api.calls("PUT", ITEM)) == (2 if before_applying else 1)
    assert api.service_keys.record(OKMS_ID, key["id"])["state"] == "DEACTIVATED"


@pytest.mark.parametrize("before_applying", [True, False])
def test_a_lost_rename_converges_either_way(task, api, before_applying):
    key = api.service_keys.add_key(OKMS_ID, "old")
    api.lose_answer("PUT", ITEM, before_applying=before_applying)
    outcome = task(id=key["id"], name="new")
    assert not outcome.failed, outcome.result
    assert outcome.result["service_key"]["name"] == "new"
    assert len(api.calls("PUT", ITEM)) == (2 if before_applying else 1)


@pytest.mark.parametrize("before_applying", [True, False])
def test_a_lost_delete_converges_either_way(task, api, before_applying):
    api.service_keys.add_key(OKMS_ID, "gone")
    api.lose_answer("PUT", ITEM, before_applying=before_applying)
    api.lose_answer("DELETE", ITEM, before_applying=before_applying)
    outcome = task(name="gone", state="absent", force=True)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert live(api, "gone") == []
    expected = ["PUT", "PUT", "DELETE", "DELETE"] if before_applying else ["PUT", "DELETE"]
    assert [request.method for request in api.mutations()] == expected


def test_an_undecidable_write_fails_saying_what_to_check(task, api):
    key = api.service_keys.add_key(OKMS_ID, "life")

    def deleted_as_the_answer_is_lost(request, okms_id, key_id):
        del api.service_keys.kms[okms_id][key_id]
        raise OvhAmbiguousRequestError("the request may or may not have been applied (connection reset)",
                                       method=request.method, path=request.path)

    api.route("PUT", ITEM, deleted_as_the_answer_is_lost, first=True)
    outcome = task(name="life", key_state="deactivated", deactivation_reason="SUPERSEDED")
    assert outcome.failed
    assert outcome.result["changed"] is True
    assert outcome.result["msg"] == (
        "cannot move service key 'life' (%s) to DEACTIVATED: PUT %s/%s: the request may or may not have been "
        "applied (connection reset); re-reading could not tell whether it was: service key 'life' (%s) is no longer "
        "found in KMS %s (GET %s): check who deleted it" % (key["id"], KEYS, key["id"], key["id"], OKMS_ID, KEYS))
    assert len(api.calls("PUT", ITEM)) == 1


def test_a_write_proved_absent_past_the_retry_budget_fails_unchanged(task, api):
    api.lose_answer("POST", COLLECTION, times=99, before_applying=True)
    outcome = task(name="app", type="oct")
    assert outcome.failed
    # Every re-read showed nothing was made: the task says so and reports no change.
    assert outcome.result["changed"] is False
    assert "sent 8 times; every answer was lost and re-reading showed each time that it was not applied, so " \
           "nothing was changed" in outcome.result["msg"]
    assert outcome.result["msg"].startswith("cannot create service key 'app': POST %s" % KEYS)
    assert live(api) == []


# --- many lost answers at once --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [11, 2024])
def test_100_creates_and_50_updates_and_deletes_losing_half_the_answers(task, api, seed):
    """Half of the writes lose their answer (half of those before the server applied them): every task still
    succeeds in one run, and the KMS ends with exactly the keys asked for, never a duplicate."""
    losses = api.lose_at_random(0.5, seed)
    failures = []
    for index in range(100):
        outcome = task(name="key-%03d" % index, type="oct")
        if outcome.failed:
            failures.append(outcome.result["msg"])
    for index in range(50):
        name = "key-%03d" % index
        if index % 2:
            outcome = task(name=name, key_state="deactivated", deactivation_reason="SUPERSEDED")
        else:
            outcome = task(name=name, state="absent", force=True)
        if outcome.failed:
            failures.append(outcome.result["msg"])
    assert failures == []
    assert losses.lost["before"] > 20 and losses.lost["after"] > 20
    names = collections.Counter(key["name"] for key in live(api))
    assert max(names.values()) == 1
    assert sorted(names) == ["key-%03d" % index for index in range(100) if index >= 50 or index % 2]
    states = dict((key["name"], key["state"]) for key in live(api))
    assert all(states["key-%03d" % index] == "DEACTIVATED" for index in range(1, 50, 2))
    assert all(states["key-%03d" % index] == "ACTIVE" for index in range(50, 100))
