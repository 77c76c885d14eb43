# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_service_keys: many keys of one KMS in one run, against the in-memory fake of the API.

What the plural module adds to okms_service_key: one list read for all keys, every item checked
before any request, a key that fails does not stop the others, and per-key results and diffs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError
from ansible_collections.ovhcloud.kms.plugins.modules import okms_service_key, okms_service_keys
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.service_keys import COLLECTION, install

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
KEYS_PATH = "/v2/okms/resource/%s/serviceKey" % OKMS_ID

KEYS = [
    {"name": "data", "type": "oct"},
    {"name": "wrapping", "type": "oct", "size": 128, "operations": ["wrapKey", "unwrapKey"]},
    {"name": "signing", "type": "EC", "curve": "P-384"},
    {"name": "releases", "type": "RSA", "size": 3072, "key_state": "deactivated"},
]


@pytest.fixture
def api():
    api = FakeOkmsApi()
    install(api).add_kms(OKMS_ID)
    return api


@pytest.fixture
def task(run_module, api):
    """``task(keys, check_mode=False)``: one okms_service_keys task (diff on); returns the outcome."""
    def run(keys, check_mode=False, **options):
        return run_module(okms_service_keys, dict(options, okms_id=OKMS_ID, keys=keys), api,
                          check_mode=check_mode, diff=True)
    return run


@pytest.fixture
def single(run_module, api):
    """One okms_service_key task, for comparing shapes."""
    def run(check_mode=False, **options):
        return run_module(okms_service_key, dict(options, okms_id=OKMS_ID), api, check_mode=check_mode, diff=True)
    return run


def live(api, name):
    return [key for key in api.service_keys.keys(OKMS_ID)
            if key["name"] == name and key["state"] not in ("DESTROYED", "DESTROYED_COMPROMISED")]


def listings(api):
    """The list reads made (their first pages)."""
    return [request for request in api.calls("GET", COLLECTION) if "X-Pagination-Cursor" not in request.headers]


def by_name(outcome):
    return dict((item["name"], item) for item in outcome.result["service_keys"])


def test_check_mode_run_check_mode_rerun_and_rerun(task, api):
    first_check = task(KEYS, check_mode=True)
    assert not first_check.failed, first_check.result
    assert api.mutations() == []
    assert first_check.result["changed"]
    assert [item["name"] for item in first_check.result["service_keys"]] == [key["name"] for key in KEYS]
    assert all(item["changed"] and not item["failed"] and item["service_key"]["id"] is None
               for item in first_check.result["service_keys"])

    real = task(KEYS)
    assert not real.failed, real.result
    assert real.result["changed"]
    assert sorted(request.method for request in api.mutations()) == ["POST"] * 4 + ["PUT"]
    for key in KEYS:
        assert len(live(api, key["name"])) == 1
    returned = by_name(real)
    assert returned["releases"]["service_key"]["state"] == "DEACTIVATED"
    assert returned["signing"]["service_key"]["curve"] == "P-384"
    assert returned["wrapping"]["service_key"]["operations"] == ["wrapKey", "unwrapKey"]
    assert returned["data"]["service_key"]["id"] == live(api, "data")[0]["id"]
    # Check mode predicted the real diff, but the ids.
    for name in returned:
        predicted = dict(first_check.result["diff"]["after"][name], id=None)
        assert predicted == dict(real.result["diff"]["after"][name], id=None)
    # A key that does not exist yet is {} before, as in okms_service_key's diff.
    assert real.result["diff"]["before"] == first_check.result["diff"]["before"] == dict(
        (key["name"], {}) for key in KEYS)

    sent = len(api.mutations())
    second_check = task(KEYS, check_mode=True)
    again = task(KEYS)
    assert api.mutations()[sent:] == []
    assert not second_check.result["changed"] and not again.result["changed"]
    assert not any(item["changed"] for item in again.result["service_keys"])
    assert again.result["diff"]["before"] == again.result["diff"]["after"] == real.result["diff"]["after"]
    assert second_check.result["service_keys"] == again.result["service_keys"] == [
        dict(item, changed=False) for item in real.result["service_keys"]]


@pytest.mark.parametrize("count", [1, 4, 30])
def test_a_no_op_run_reads_the_keys_once_whatever_their_number(task, api, count):
    keys = [{"name": "key-%02d" % index, "type": "oct"} for index in range(count)]
    for key in keys:
        api.service_keys.add_key(OKMS_ID, key["name"])
    outcome = task(keys)
    assert not outcome.failed and not outcome.result["changed"], outcome.result
    # One list read, in one 100-item page, and nothing else.
    assert [(request.method, request.path) for request in api.requests] == [("GET", KEYS_PATH)]
    assert api.requests[0].headers.get("X-Pagination-Size") == "100"


def test_each_item_returns_what_okms_service_key_returns(task, single, api):
    api.service_keys.add_key(OKMS_ID, "data")
    plural = task([{"name": "data", "type": "oct"}, {"name": "gone", "state": "absent"}])
    one = single(name="data", type="oct")
    assert by_name(plural)["data"]["service_key"] == one.result["service_key"]
    assert by_name(plural)["data"]["service_key"]["iam"]["tags"] == {"ovh:type": "oct", "ovh:state": "ACTIVE"}
    assert plural.result["diff"]["after"]["data"] == one.result["diff"]["after"]
    assert by_name(plural)["gone"] == {"name": "gone", "changed": False, "failed": False, "service_key": {}}


@pytest.mark.parametrize("keys, message", [
    ([{"name": "ok", "type": "oct"}, {"name": "bad", "type": "EC", "size": 256}],
     "keys[1] (bad): size does not apply to EC keys"),
    ([{"name": "x" * 33, "type": "oct"}], "keys[0] (%s): name is 33 characters long" % ("x" * 33)),
    ([{"name": "ok", "type": "oct"}, {"name": "r", "type": "RSA", "curve": "P-256"}],
     "keys[1] (r): curve applies only to EC keys"),
    ([{"name": "a", "deactivation_reason": "bored", "key_state": "deactivated"}],
     "keys[0] (a): deactivation_reason must be one of"),
    ([{"name": "a", "size": 128}], "keys[0] (a): size needs type"),
    ([{"name": "a", "type": "oct"}, {"name": "b", "type": "oct"}, {"name": "a", "type": "RSA"}],
     "keys[2] (a): the name a is already given to keys[0]; give each key once"),
])
def test_every_item_is_checked_before_any_request(task, api, keys, message):
    outcome = task(keys)
    assert outcome.failed
    assert message in outcome.result["msg"]
    assert api.requests == []


def test_every_problem_of_every_item_is_reported_at_once(task, api):
    outcome = task([{"name": "a", "type": "EC", "size": 256}, {"name": "b", "type": "oct"},
                    {"name": "c", "type": "oct", "operations": ["sign", "verify"]}])
    assert outcome.failed
    assert outcome.result["msg"].startswith("keys[0] (a): size does not apply to EC keys")
    assert "; keys[2] (c): operations for an oct key must be" in outcome.result["msg"]
    assert "keys[1]" not in outcome.result["msg"]
    assert api.requests == []


def test_an_item_with_an_unknown_choice_is_refused_before_any_request(task, api):
    outcome = task([{"name": "a", "type": "oct"}, {"name": "b", "type": "AES"}])
    assert outcome.failed
    assert "type" in outcome.result["msg"] and "AES" in outcome.result["msg"]
    assert api.requests == []


def test_a_key_that_fails_does_not_stop_the_others(task, api):
    clash = api.service_keys.add_key(OKMS_ID, "clash", "oct")
    active = api.service_keys.add_key(OKMS_ID, "active-one", "oct")
    keys = [{"name": "first", "type": "oct"},
            {"name": "clash", "type": "EC"},
            {"name": "active-one", "state": "absent"},
            {"name": "last", "type": "RSA"}]
    outcome = task(keys)
    assert outcome.failed
    assert outcome.result["changed"]
    items = by_name(outcome)
    assert [item["name"] for item in outcome.result["service_keys"]] == ["first", "clash", "active-one", "last"]
    assert items["first"]["changed"] and not items["first"]["failed"] and "msg" not in items["first"]
    assert items["last"]["service_key"]["type"] == "RSA" and live(api, "last")
    assert items["clash"]["failed"] and not items["clash"]["changed"] and items["clash"]["service_key"] == {}
    assert items["clash"]["msg"].startswith("service key clash cannot be changed in place (type is oct, the task "
                                            "asks for EC")
    assert items["active-one"]["failed"] and "is ACTIVE and was not deleted" in items["active-one"]["msg"]
    assert outcome.result["msg"] == (
        "2 of 4 service keys of KMS %s could not be converged: clash: %s; active-one: %s"
        % (OKMS_ID, items["clash"]["msg"], items["active-one"]["msg"]))
    # The failed keys were left as they were; their diffs are not shown.
    assert live(api, "clash")[0]["id"] == clash["id"] and live(api, "clash")[0]["type"] == "oct"
    assert live(api, "active-one")[0]["id"] == active["id"]
    assert sorted(outcome.result["diff"]["after"]) == ["first", "last"]
    assert [(request.method, request.body["name"]) for request in api.mutations()] == [
        ("POST", "first"), ("POST", "last")]


def test_a_failed_listing_fails_every_key_and_sends_nothing(task, api):
    def refuse(request, **path):
        raise OvhApiError("read the service keys: forbidden", status=403, error_class="Client::Forbidden")

    api.route("GET", COLLECTION, refuse, first=True)
    outcome = task([{"name": "a", "type": "oct"}, {"name": "b", "type": "oct"}])
    assert outcome.failed and not outcome.result["changed"]
    assert [item["failed"] for item in outcome.result["service_keys"]] == [True, True]
    assert all("forbidden" in item["msg"] for item in outcome.result["service_keys"])
    assert api.mutations() == []


def test_check_mode_sends_no_mutating_request_for_any_change(task, api):
    api.service_keys.add_key(OKMS_ID, "to-deactivate")
    api.service_keys.add_key(OKMS_ID, "to-delete")
    api.service_keys.add_key(OKMS_ID, "to-delete-forced", state="DEACTIVATED")
    keys = [{"name": "new", "type": "oct"},
            {"name": "to-deactivate", "key_state": "compromised"},
            {"name": "to-delete", "state": "absent", "force": True},
            {"name": "to-delete-forced", "state": "absent"}]
    outcome = task(keys, check_mode=True)
    assert not outcome.failed, outcome.result
    assert api.mutations() == []
    assert [item["changed"] for item in outcome.result["service_keys"]] == [True, True, True, True]
    assert outcome.result["diff"]["after"]["to-deactivate"]["state"] == "COMPROMISED"
    assert outcome.result["diff"]["after"]["to-delete"] == {}
    assert outcome.result["diff"]["before"]["to-delete"]["name"] == "to-delete"
    real = task(keys)
    assert not real.failed, real.result
    assert not live(api, "to-delete") and not live(api, "to-delete-forced")
    assert live(api, "to-deactivate")[0]["state"] == "COMPROMISED"
    again = task(keys)
    assert not again.result["changed"]


def test_an_empty_list_sends_nothing(task, api):
    outcome = task([])
    assert not outcome.failed and not outcome.result["changed"]
    assert outcome.result["service_keys"] == []
    assert api.requests == []


def test_a_missing_key_is_read_again_before_it_is_created(task, api):
    """The duplicate guard: the shared listing missed "db", the second reading before creating finds it."""
    existing = api.service_keys.add_key(OKMS_ID, "db")
    api.service_keys.add_key(OKMS_ID, "other")
    served = []

    def hide_db_from_the_first_listing(request, page):
        if not served:
            page[:] = [key for key in page if key["name"] != "db"]
        served.append(request)

    api.page_hooks.append(hide_db_from_the_first_listing)
    outcome = task([{"name": "other", "type": "oct"}, {"name": "db", "type": "oct"}])
    assert not outcome.failed, outcome.result
    assert len(listings(api)) == 2  # the shared one, then "db" read again before creating
    assert api.mutations() == []
    assert not outcome.result["changed"]
    assert by_name(outcome)["db"]["service_key"]["id"] == existing["id"]
    assert [key["id"] for key in live(api, "db")] == [existing["id"]]
