# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_instance's reconciler (and okms_instance_info) against the in-memory OVHcloud account.

The account (``tests/unit/fake_okms/instances.py``) keeps KMS instances, carts,
orders, services and emails, and answers the requests the modules send, so each
test reads like a user's run: an order left pending, a region spelled the old
way, an account of another subsidiary. Time only moves when the module polls (a
fake sleep): each poll moves every order to its next status.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import uuid

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils import okms_polling
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_instance import cart_description, normalize_region
from ansible_collections.ovhcloud.kms.plugins.modules import okms_instance, okms_instance_info
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms import instances
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi
from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.okms_fakes import FakeTime

REGIONS = instances.REGIONS


def new_account(subsidiary="FR"):
    """An empty OVHcloud account on a fresh fake API."""
    return instances.install(FakeOkmsApi(), subsidiary=subsidiary)


@pytest.fixture
def run(run_module, monkeypatch):
    """Run a module's main() against an account; returns its outcome (failed or not)."""
    fake_time = FakeTime()
    accounts = []

    def sleep(seconds):
        fake_time.sleep(seconds)
        accounts[-1].tick()

    monkeypatch.setattr(okms_instance, "poll_until", functools.partial(
        okms_polling.poll_until, sleep=sleep, clock=fake_time.clock))

    def run_against(module, args, account, check_mode=False, diff=False):
        accounts.append(account)
        return run_module(module, args, account.api, check_mode=check_mode, diff=diff)

    return run_against


ABSENT = dict(name="staging", region="eu-west-gra", state="absent", confirm_termination=True)


# -- state=absent sees a KMS still being delivered ----------------------------------------------


def test_absent_waits_for_a_pending_order_of_the_name_and_terminates_its_kms(run):
    account = new_account()
    order_id = account.add_order("staging", "eu-west-gra", ["checking", "delivering", "delivered"])
    outcome = run(okms_instance, ABSENT, account, diff=True)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["order_id"] == order_id
    okms_id = account.orders[order_id]["okms_id"]
    assert okms_id is not None and okms_id not in account.instances
    assert outcome.result["diff"]["before"]["id"] == okms_id
    assert outcome.result["diff"]["after"] == {}
    assert [request.path for request in account.api.mutations()] == [
        "/services/100/terminate", "/services/100/terminate/confirm"]


def test_absent_with_wait_false_fails_naming_the_order_and_changes_nothing(run):
    account = new_account()
    order_id = account.add_order("staging", "eu-west-gra", ["delivering", "delivered"])
    outcome = run(okms_instance, dict(ABSENT, wait=False), account)
    assert outcome.failed
    assert outcome.result["changed"] is False
    assert outcome.result["order_id"] == order_id
    assert "order %d" % order_id in outcome.result["msg"]
    assert "still being delivered" in outcome.result["msg"] and "run again" in outcome.result["msg"]
    assert account.api.mutations() == []


def test_absent_without_confirmation_says_a_kms_of_the_name_is_being_delivered(run):
    account = new_account()
    order_id = account.add_order("staging", "eu-west-gra", ["checking", "delivered"])
    outcome = run(okms_instance, dict(ABSENT, confirm_termination=False), account)
    assert outcome.failed
    assert "a KMS named 'staging' is being delivered in eu-west-gra (order %d" % order_id in outcome.result["msg"]
    assert "confirm_termination: true" in outcome.result["msg"]
    assert account.api.mutations() == []
    # It did not wait for the delivery before refusing.
    assert account.orders[order_id]["okms_id"] is None


def test_absent_in_check_mode_predicts_the_termination_and_sends_no_mutation(run):
    account = new_account()
    order_id = account.add_order("staging", "eu-west-gra", ["checking", "delivered"])
    outcome = run(okms_instance, ABSENT, account, check_mode=True, diff=True)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["order_id"] == order_id
    assert outcome.result["diff"]["before"] == {"id": None, "name": "staging", "region": "eu-west-gra"}
    assert account.api.mutations() == []


def test_absent_fails_at_once_on_an_unpaid_order(run):
    account = new_account()
    order_id = account.add_order("staging", "eu-west-gra", ["notPaid"])
    outcome = run(okms_instance, ABSENT, account)
    assert outcome.failed
    assert "order %d" % order_id in outcome.result["msg"] and "not paid" in outcome.result["msg"]
    assert account.api.mutations() == []
    # Failed on the first status read instead of polling until wait_timeout.
    assert len(account.api.calls("GET", "/me/order/%d/status" % order_id)) == 1


def test_absent_terminates_a_delivered_kms_that_was_never_named(run):
    account = new_account()
    order_id = account.add_order("staging", "eu-west-gra", ["delivered"])
    okms_id = account.orders[order_id]["okms_id"]
    named_elsewhere = account.add_instance("eu-west-gra", name="production")
    outcome = run(okms_instance, ABSENT, account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["order_id"] == order_id
    assert okms_id not in account.instances
    assert named_elsewhere in account.instances


def test_absent_without_confirmation_refuses_an_unnamed_delivered_kms_and_says_why_it_is_chosen(run):
    account = new_account()
    order_id = account.add_order("staging", "eu-west-gra", ["delivered"])
    outcome = run(okms_instance, dict(ABSENT, confirm_termination=False), account)
    assert outcome.failed
    assert "delivered for order %d of a KMS named 'staging'" % order_id in outcome.result["msg"]
    assert account.api.mutations() == []


def test_absent_without_region_checks_each_region_cart_and_terminates_there(run):
    account = new_account()
    order_id = account.add_order("staging", "eu-west-sbg", ["delivering", "delivered"])
    outcome = run(okms_instance, dict(name="staging", state="absent", confirm_termination=True), account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["order_id"] == order_id
    assert account.orders[order_id]["okms_id"] not in account.instances
    # One cart lookup per region, by description.
    assert sorted(request.params["description"] for request in account.api.calls("GET", "/order/cart")) == [
        cart_description("staging", region) for region in REGIONS]


def test_absent_without_region_refuses_to_choose_between_regions(run):
    account = new_account()
    in_gra = account.add_order("staging", "eu-west-gra", ["checking", "delivered"])
    in_sbg = account.add_order("staging", "eu-west-sbg", ["checking", "delivered"])
    outcome = run(okms_instance, dict(name="staging", state="absent", confirm_termination=True), account)
    assert outcome.failed
    assert "order %d in eu-west-gra, checking" % in_gra in outcome.result["msg"]
    assert "order %d in eu-west-sbg, checking" % in_sbg in outcome.result["msg"]
    assert "give region" in outcome.result["msg"]
    assert account.api.mutations() == []
    assert all(order["okms_id"] is None for order in account.orders.values())


def test_absent_refuses_to_guess_which_pending_order_of_the_region_is_this_names(run):
    """Another name's order is pending in the same region: terminating it would be a guess."""
    account = new_account()
    mine = account.add_order("staging", "eu-west-gra", ["checking", "delivered"])
    other = account.add_order("production", "eu-west-gra", ["checking", "delivered"])
    unnamed = account.add_order("backups", "eu-west-gra", ["delivered"])
    outcome = run(okms_instance, ABSENT, account)
    assert outcome.failed
    assert outcome.result["changed"] is False
    for order_id in (mine, other, unnamed):
        assert "order %d in eu-west-gra" % order_id in outcome.result["msg"]
    assert "3 orders could be the one placed for a KMS named 'staging'" in outcome.result["msg"]
    assert "give region" not in outcome.result["msg"]
    assert account.api.mutations() == []
    # Nothing was waited for.
    assert account.orders[mine]["okms_id"] is None


def test_absent_with_nothing_ordered_is_ok_and_lists_no_orders(run):
    account = new_account()
    account.add_order("other-name", "eu-west-gra", ["checking", "delivered"])
    outcome = run(okms_instance, ABSENT, account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is False
    assert "order_id" not in outcome.result
    # The pending order belongs to another name: never looked at.
    assert account.api.calls("GET", "/me/order") == []
    assert account.api.mutations() == []


def test_absent_by_id_does_not_look_for_orders(run):
    account = new_account()
    account.add_order("staging", "eu-west-gra", ["checking", "delivered"])
    outcome = run(okms_instance, dict(id=str(uuid.uuid4()), state="absent", confirm_termination=True), account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is False
    assert account.api.calls("GET", "/order/cart") == []


def test_absent_never_terminates_a_delivered_kms_another_name_took_meanwhile(run, monkeypatch):
    account = new_account()
    order_id = account.add_order("staging", "eu-west-gra", ["checking", "delivered"])
    original = account.deliver

    def deliver_and_name(order):
        okms_id = original(order)
        account.instances[okms_id]["iam"]["displayName"] = "someone-else"
        return okms_id

    monkeypatch.setattr(account, "deliver", deliver_and_name)
    outcome = run(okms_instance, ABSENT, account)
    assert outcome.failed
    assert "named 'someone-else', not 'staging': not terminating it" in outcome.result["msg"]
    assert account.orders[order_id]["okms_id"] in account.instances
    assert account.api.mutations() == []


def test_absent_after_termination_is_idempotent(run):
    account = new_account()
    account.add_order("staging", "eu-west-gra", ["checking", "delivered"])
    assert run(okms_instance, ABSENT, account).result["changed"] is True
    again_check = run(okms_instance, ABSENT, account, check_mode=True)
    again = run(okms_instance, ABSENT, account)
    assert not again_check.failed and again_check.result["changed"] is False
    assert not again.failed and again.result["changed"] is False


# -- the old region form -----------------------------------------------------------------------


@pytest.mark.parametrize("spelling, region", [
    ("EU_WEST_SBG", "eu-west-sbg"), ("eu-west-sbg", "eu-west-sbg"), (" Eu_West_Sbg ", "eu-west-sbg"),
    ("AP_SOUTHEAST_SYD", "ap-southeast-syd"), (None, None),
])
def test_region_spellings_are_normalised(spelling, region):
    assert normalize_region(spelling) == region


def test_old_region_form_finds_the_existing_kms_by_name_and_changes_nothing(run):
    account = new_account()
    okms_id = account.add_instance("eu-west-sbg", name="backups")
    outcome = run(okms_instance, dict(name="backups", region="EU_WEST_SBG"), account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is False
    assert outcome.result["instance"]["id"] == okms_id
    assert outcome.result["instance"]["region"] == "eu-west-sbg"
    assert account.api.mutations() == []


def test_a_no_op_reads_the_kms_in_two_requests_by_name_and_one_by_id(run):
    account = new_account()
    okms_id = account.add_instance("eu-west-sbg", name="backups")
    by_name = run(okms_instance, dict(name="backups", region="eu-west-sbg"), account)
    assert not by_name.failed and by_name.result["changed"] is False
    # The list (no CA in it), then the KMS with its CAs: no region list, no server time.
    assert [(r.method, r.path) for r in account.api.requests] == [
        ("GET", "/v2/okms/resource"), ("GET", "/v2/okms/resource/%s" % okms_id)]
    del account.api.requests[:]
    by_id = run(okms_instance, dict(id=okms_id, region="eu-west-sbg"), account)
    assert not by_id.failed and by_id.result["changed"] is False
    assert [(r.method, r.path) for r in account.api.requests] == [("GET", "/v2/okms/resource/%s" % okms_id)]


def test_an_unknown_region_is_refused_before_an_order_naming_the_allowed_ones(run):
    account = new_account()
    outcome = run(okms_instance, dict(name="backups", region="eu-west-nowhere"), account)
    assert outcome.failed
    assert outcome.result["msg"].startswith("region 'eu-west-nowhere' is not an OKMS region; allowed: ")
    assert "eu-west-sbg" in outcome.result["msg"]
    assert account.api.mutations() == []


def test_old_region_form_with_id_is_not_a_move(run):
    account = new_account()
    okms_id = account.add_instance("eu-west-sbg", name="backups")
    outcome = run(okms_instance, dict(id=okms_id, region="EU_WEST_SBG"), account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is False
    moved = run(okms_instance, dict(id=okms_id, region="EU_WEST_GRA"), account)
    assert moved.failed and "cannot change region" in moved.result["msg"]


def test_info_accepts_the_old_region_form_and_returns_the_module_shape(run):
    account = new_account()
    okms_id = account.add_instance("eu-west-sbg", name="backups")
    account.add_instance("eu-west-gra", name="backups")
    info = run(okms_instance_info, dict(name="backups", region="EU_WEST_SBG"), account)
    present = run(okms_instance, dict(name="backups", region="eu-west-sbg"), account)
    assert not info.failed, info.result
    assert [i["id"] for i in info.result["instances"]] == [okms_id]
    assert info.result["instances"] == [present.result["instance"]]


# -- the subsidiary of an order ----------------------------------------------------------------


def ordered_carts(account):
    return [request.body for request in account.api.calls("POST", "/order/cart")]


def test_order_without_subsidiary_uses_the_account_subsidiary(run):
    account = new_account(subsidiary="CA")
    outcome = run(okms_instance, dict(name="prod", region="eu-west-rbx"), account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert [cart["ovhSubsidiary"] for cart in ordered_carts(account)] == ["CA"]
    # /me was read before the cart was created.
    paths = [request.path for request in account.api.requests]
    assert paths.index("/me") < paths.index("/order/cart", paths.index("/me"))


def test_explicit_subsidiary_wins_and_me_is_not_read(run):
    account = new_account(subsidiary="CA")
    outcome = run(okms_instance, dict(name="prod", region="eu-west-rbx", ovh_subsidiary="GB"), account)
    assert not outcome.failed, outcome.result
    assert [cart["ovhSubsidiary"] for cart in ordered_carts(account)] == ["GB"]
    assert account.api.calls("GET", "/me") == []


def test_me_is_read_only_when_an_order_is_placed(run):
    account = new_account(subsidiary="CA")
    account.add_instance("eu-west-rbx", name="prod")
    assert run(okms_instance, dict(name="prod", region="eu-west-rbx"), account).result["changed"] is False
    assert run(okms_instance, dict(name="new", region="eu-west-rbx"), account, check_mode=True).result["changed"]
    # An adopted order is not placed again either.
    account.add_order("pending", "eu-west-rbx", ["checking", "delivered"])
    assert run(okms_instance, dict(name="pending", region="eu-west-rbx"), account).result["changed"] is True
    assert account.api.calls("GET", "/me") == []
    assert ordered_carts(account) == []


def test_account_without_subsidiary_fails_before_ordering(run):
    account = new_account()
    del account.me["ovhSubsidiary"]
    outcome = run(okms_instance, dict(name="prod", region="eu-west-rbx"), account)
    assert outcome.failed
    assert "ovh_subsidiary" in outcome.result["msg"] and "GET /me" in outcome.result["msg"]
    assert account.api.mutations() == []


def test_unknown_subsidiary_is_refused_with_the_allowed_values(run):
    account = new_account()
    outcome = run(okms_instance, dict(name="prod", region="eu-west-rbx", ovh_subsidiary="XX"), account)
    assert outcome.failed
    assert "ovh_subsidiary" in outcome.result["msg"] and "QC" in outcome.result["msg"]
    assert account.api.requests == []


# -- bad input is refused before any mutating request ----------------------------------------------
# (The integration target keeps one of them, the unknown region, with the emulator's audit-log proof.)


@pytest.mark.parametrize("args, expected", [
    pytest.param(dict(name="it-bad", region="eu-west-moon"), ["eu-west-moon", "eu-west-rbx", "ap-southeast-syd"],
                 id="unknown region"),
    pytest.param(dict(region="eu-west-rbx"), ["one of the following is required: id, name"], id="neither name nor id"),
    pytest.param(dict(name="it-bad"), ["region is required"], id="name without region for state=present"),
    pytest.param(dict(id="not-a-uuid"), ["id must be a KMS id"], id="id not a UUID"),
    pytest.param(dict(id="00000000-0000-4000-8000-000000000000"), ["does not exist"], id="unknown id"),
    pytest.param(dict(name="it-bad", region="eu-west-rbx", wait_timeout=0), ["wait_timeout must be a positive"],
                 id="zero wait_timeout"),
    pytest.param(dict(name="it-bad", region="eu-west-rbx", wait_timeout=-5), ["wait_timeout must be a positive"],
                 id="negative wait_timeout"),
    pytest.param(dict(name="it-bad", region="eu-west-rbx", ovh_subsidiary="XX"), ["ovh_subsidiary"],
                 id="unknown subsidiary"),
    pytest.param(dict(name="   ", region="eu-west-rbx"), ["name must be 1 to 255 characters, not blank"],
                 id="blank name"),
    pytest.param(dict(name="x" * 256, region="eu-west-rbx"), ["name must be 1 to 255 characters"],
                 id="name too long"),
])
@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check mode"])
def test_bad_input_fails_clearly_and_sends_no_mutating_request(run, args, expected, check_mode):
    account = new_account()
    account.add_instance("eu-west-rbx", name="production")
    outcome = run(okms_instance, args, account, check_mode=check_mode)
    assert outcome.failed
    assert outcome.result.get("changed", False) is False
    for part in expected:
        assert part in outcome.result["msg"]
    assert account.api.mutations() == []
    assert len(account.instances) == 1 and account.orders == {}


def test_info_refuses_an_id_that_is_not_a_uuid_before_any_request(run):
    account = new_account()
    outcome = run(okms_instance_info, dict(id="not-a-uuid"), account)
    assert outcome.failed
    assert "id must be a KMS id" in outcome.result["msg"] and "not-a-uuid" in outcome.result["msg"]
    assert account.api.requests == []


# -- ordering, adoption and renaming -----------------------------------------------------------------------

PRESENT = dict(name="prod", region="eu-west-rbx")
ORDER_WRITES = ["/order/cart", "/order/cart/cart1/assign", "/order/cart/cart1/okms",
                "/order/cart/cart1/item/7/configuration", "/order/cart/cart1/checkout"]


def checkouts(account):
    return [request for request in account.api.mutations() if request.path.endswith("/checkout")]


def test_order_check_mode_then_run_then_idempotent_re_runs(run):
    account = new_account()
    predicted = run(okms_instance, PRESENT, account, check_mode=True, diff=True)
    assert not predicted.failed, predicted.result
    assert predicted.result["changed"] is True
    assert predicted.result["instance"] == {}
    assert predicted.result["diff"] == {"before": {}, "after": {"id": None, "name": "prod", "region": "eu-west-rbx"}}
    assert account.api.mutations() == [] and account.orders == {}

    ordered = run(okms_instance, PRESENT, account, diff=True)
    assert not ordered.failed, ordered.result
    assert ordered.result["changed"] is True
    okms_id = account.orders[ordered.result["order_id"]]["okms_id"]
    assert ordered.result["instance"]["id"] == okms_id
    assert ordered.result["instance"]["name"] == "prod"
    assert ordered.result["instance"]["public_ca"].startswith("-----BEGIN CERTIFICATE-----")
    assert ordered.result["diff"]["after"] == {"id": okms_id, "name": "prod", "region": "eu-west-rbx"}
    assert [request.path for request in account.api.mutations()] == ORDER_WRITES + ["/services/100"]
    assert account.orders[ordered.result["order_id"]]["statuses"] == ["delivered"]

    mark = len(account.api.requests)
    again_check = run(okms_instance, PRESENT, account, check_mode=True)
    again = run(okms_instance, PRESENT, account)
    for outcome in (again_check, again):
        assert not outcome.failed and outcome.result["changed"] is False
        assert outcome.result["instance"] == ordered.result["instance"]
        assert "order_id" not in outcome.result
    assert [request for request in account.api.requests[mark:] if request.mutating] == []


def test_order_without_waiting_returns_the_order_and_a_later_run_adopts_it(run):
    account = new_account()
    placed = run(okms_instance, dict(PRESENT, wait=False), account)
    assert not placed.failed, placed.result
    assert placed.result["changed"] is True
    assert placed.result["instance"] == {}
    order_id = placed.result["order_id"]
    assert account.orders[order_id]["okms_id"] is None

    resume_check = run(okms_instance, PRESENT, account, check_mode=True)
    assert resume_check.result["changed"] is True
    assert len(checkouts(account)) == 1

    resumed = run(okms_instance, PRESENT, account)
    assert not resumed.failed, resumed.result
    assert resumed.result["changed"] is True
    assert resumed.result["order_id"] == order_id
    assert resumed.result["instance"]["id"] == account.orders[order_id]["okms_id"]
    assert resumed.result["instance"]["name"] == "prod"
    # Adopted, not ordered again: one checkout, one KMS.
    assert len(checkouts(account)) == 1
    assert len(account.instances) == 1


def test_a_delivered_kms_never_named_is_adopted_and_named(run):
    account = new_account()
    order_id = account.add_order("prod", "eu-west-rbx", ["delivered"])
    delivered = account.orders[order_id]["okms_id"]
    outcome = run(okms_instance, PRESENT, account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["order_id"] == order_id
    assert outcome.result["instance"]["id"] == delivered
    assert account.instances[delivered]["iam"]["displayName"] == "prod"
    assert [request.path for request in account.api.mutations()] == ["/services/100"]


def test_a_pending_order_of_another_name_is_not_adopted(run):
    account = new_account()
    other = account.add_order("staging", "eu-west-rbx", ["checking", "delivered"])
    outcome = run(okms_instance, PRESENT, account)
    assert not outcome.failed, outcome.result
    assert outcome.result["order_id"] != other
    assert len(checkouts(account)) == 1
    # The cart of another name is never looked at beyond its description.
    assert account.api.calls("GET", "/me/order") == []


def test_an_unpaid_order_times_out_naming_the_order(run):
    account = new_account()
    outcome = run(okms_instance, dict(PRESENT, auto_pay=False, wait_timeout=30), account)
    assert outcome.failed
    assert outcome.result["changed"] is True
    order_id = outcome.result["order_id"]
    assert "order %d to be delivered" % order_id in outcome.result["msg"]
    assert "wait_timeout=30" in outcome.result["msg"] and "run again to resume" in outcome.result["msg"]


def test_rename_by_id_check_mode_then_run_then_idempotent(run):
    account = new_account()
    okms_id = account.add_instance("eu-west-gra", name="old")
    rename = dict(id=okms_id, name="new")
    predicted = run(okms_instance, rename, account, check_mode=True, diff=True)
    assert not predicted.failed, predicted.result
    assert predicted.result["changed"] is True
    assert predicted.result["diff"]["before"]["name"] == "old"
    assert predicted.result["diff"]["after"]["name"] == "new"
    assert predicted.result["instance"]["name"] == "new"
    assert account.api.mutations() == []
    assert account.instances[okms_id]["iam"]["displayName"] == "old"

    renamed = run(okms_instance, rename, account)
    assert renamed.result["changed"] is True
    assert renamed.result["instance"]["name"] == "new"
    assert [(request.method, request.path, request.body) for request in account.api.mutations()] == [
        ("PUT", "/services/100", {"displayName": "new"})]
    assert run(okms_instance, rename, account, check_mode=True).result["changed"] is False
    assert run(okms_instance, rename, account).result["changed"] is False
    assert len(account.api.mutations()) == 1


def test_a_name_held_by_two_kms_is_ambiguous_and_lists_both(run):
    account = new_account()
    first = account.add_instance("eu-west-rbx", name="prod")
    second = account.add_instance("eu-west-rbx", name="prod")
    outcome = run(okms_instance, PRESENT, account)
    assert outcome.failed
    assert "2 KMS instances are named 'prod' in eu-west-rbx" in outcome.result["msg"]
    assert first in outcome.result["msg"] and second in outcome.result["msg"]
    assert account.api.mutations() == []


def test_a_lost_rename_answer_is_confirmed_by_re_reading_not_repeated(run):
    account = new_account()
    okms_id = account.add_instance("eu-west-gra", name="old")
    account.api.lose_answer("PUT", "/services/{service_id}")
    outcome = run(okms_instance, dict(id=okms_id, name="new"), account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["instance"]["name"] == "new"
    assert len(account.api.calls("PUT", "/services/{service_id}")) == 1


# -- terminating an existing KMS ---------------------------------------------------------------------------


def test_terminate_requests_the_email_and_confirms_with_its_token(run):
    account = new_account()
    okms_id = account.add_instance("eu-west-gra", name="staging")
    outcome = run(okms_instance, ABSENT, account, diff=True)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["instance"] == {}
    assert outcome.result["diff"] == {"before": {"id": okms_id, "name": "staging", "region": "eu-west-gra"},
                                      "after": {}}
    assert [(request.path, request.body) for request in account.api.mutations()] == [
        ("/services/100/terminate", None), ("/services/100/terminate/confirm", {"token": "t0k3n100"})]
    assert okms_id not in account.instances
    again = run(okms_instance, dict(id=okms_id, state="absent", confirm_termination=True), account)
    assert not again.failed and again.result["changed"] is False
    assert len(account.api.mutations()) == 2


def test_terminate_without_confirmation_says_what_would_be_destroyed(run):
    account = new_account()
    okms_id = account.add_instance("eu-west-gra", name="staging")
    account.instances[okms_id]["serviceKeyCount"] = 2
    account.credentials[okms_id] = [{"id": str(uuid.uuid4())} for count in range(3)]
    outcome = run(okms_instance, dict(ABSENT, confirm_termination=False), account)
    assert outcome.failed
    assert "refusing to terminate KMS %s ('staging', eu-west-gra)" % okms_id in outcome.result["msg"]
    assert "2 service key(s) and 3 access credential(s)" in outcome.result["msg"]
    assert "confirm_termination: true" in outcome.result["msg"]
    assert account.api.mutations() == []


def test_terminate_with_the_users_token_only_confirms(run):
    account = new_account()
    okms_id = account.add_instance("eu-west-lim", name="it-token")
    account.services[okms_id]["token"] = "t0k3n100"
    by_id = dict(id=okms_id, state="absent", confirm_termination=True)
    wrong = run(okms_instance, dict(by_id, termination_token="not-the-token"), account)
    assert wrong.failed
    assert wrong.result["changed"] is False
    assert "HTTP 400" in wrong.result["msg"] and "not-the-token" not in wrong.result["msg"]
    assert "cannot confirm the termination of KMS %s" % okms_id in wrong.result["msg"]
    assert wrong.result["api_error"]["status"] == 400
    right = run(okms_instance, dict(by_id, termination_token="t0k3n100"), account)
    assert not right.failed, right.result
    assert right.result["changed"] is True
    assert okms_id not in account.instances
    assert [request.path for request in account.api.mutations()] == ["/services/100/terminate/confirm"] * 2


def test_a_lost_confirmation_answer_is_confirmed_by_re_reading_the_kms(run):
    account = new_account()
    okms_id = account.add_instance("eu-west-gra", name="staging")
    account.api.lose_answer("POST", "/services/{service_id}/terminate/confirm")
    outcome = run(okms_instance, ABSENT, account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert okms_id not in account.instances
    assert len(account.api.calls("POST", "/services/{service_id}/terminate/confirm")) == 1


def test_a_lost_termination_request_is_confirmed_by_its_email(run):
    account = new_account()
    okms_id = account.add_instance("eu-west-gra", name="staging")
    account.api.lose_answer("POST", "/services/{service_id}/terminate")
    outcome = run(okms_instance, ABSENT, account)
    assert not outcome.failed, outcome.result
    assert okms_id not in account.instances
    assert len(account.api.calls("POST", "/services/{service_id}/terminate")) == 1


def test_terminate_in_check_mode_predicts_and_sends_nothing(run):
    account = new_account()
    okms_id = account.add_instance("eu-west-gra", name="staging")
    outcome = run(okms_instance, ABSENT, account, check_mode=True, diff=True)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["diff"]["before"]["id"] == okms_id
    assert outcome.result["diff"]["after"] == {}
    assert account.api.mutations() == []
    assert okms_id in account.instances


# -- okms_instance_info ------------------------------------------------------------------------------------


def test_info_lists_every_kms_sorted_by_id_with_its_cas(run):
    account = new_account()
    ids = [account.add_instance(region, name="kms-%d" % index) for index, region in enumerate(REGIONS[:4])]
    everything = run(okms_instance_info, {}, account)
    assert not everything.failed, everything.result
    assert everything.result["changed"] is False
    assert [i["id"] for i in everything.result["instances"]] == sorted(ids)
    assert all(i["public_ca"] and i["public_rsa_ca"] for i in everything.result["instances"])
    by_id = run(okms_instance_info, dict(id=ids[0].upper()), account)
    assert [i["id"] for i in by_id.result["instances"]] == [ids[0]]
    unknown = run(okms_instance_info, dict(id=str(uuid.uuid4())), account)
    assert not unknown.failed and unknown.result["instances"] == []
    in_another_region = run(okms_instance_info, dict(id=ids[0], region=REGIONS[1]), account)
    assert in_another_region.result["instances"] == []
    assert account.api.mutations() == []
