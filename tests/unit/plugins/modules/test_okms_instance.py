# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_instance and okms_instance_info against an in-memory OVHcloud account.

The account keeps KMS instances, carts, orders, services and emails, and
answers the requests the modules send, so each test reads like a user's run:
an order left pending, a region spelled the old way, an account of another
subsidiary. Time only moves when the module polls (a fake sleep): each poll
moves every order to its next status.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import re
import uuid

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils import okms_polling
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_instance import normalize_region
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError
from ansible_collections.ovhcloud.kms.plugins.modules import okms_instance, okms_instance_info
from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.okms_fakes import FakeTime
from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.test_okms_module import module_args

CONNECTION = dict(endpoint="ovh-eu", client_id="cid", client_secret="s3cr3t")
REGIONS = ["eu-west-gra", "eu-west-rbx", "eu-west-sbg"]


def cart_description(name, region):
    return "ovhcloud.kms okms_instance %s in %s" % (name, region)


class FakeAccount:
    """The part of the OVHcloud API okms_instance uses, with state; records every call."""

    def __init__(self, subsidiary="FR"):
        self.me = {"nichandle": "xx1111-ovh", "ovhSubsidiary": subsidiary}
        self.instances = {}
        self.carts = {}
        self.orders = {}
        self.services = {}
        self.emails = {}
        self.calls = []

    # -- set-up helpers ------------------------------------------------------

    def add_instance(self, region, name=None):
        okms_id = str(uuid.uuid4())
        self.instances[okms_id] = {"id": okms_id, "region": region, "serviceKeyCount": 0,
                                   "iam": {"displayName": name or okms_id}}
        self.services[okms_id] = {"id": 100 + len(self.services), "token": None}
        return okms_id

    def add_order(self, name, region, statuses, subsidiary="FR"):
        """A checked-out cart of this name and an order that goes through ``statuses``, one per poll."""
        cart_id = "cart%d" % (len(self.carts) + 1)
        self.carts[cart_id] = {"description": cart_description(name, region), "readOnly": True,
                               "ovhSubsidiary": subsidiary}
        order_id = 1000 + len(self.orders)
        self.orders[order_id] = {"region": region, "statuses": list(statuses), "okms_id": None}
        if statuses[0] == "delivered":
            self.deliver(order_id)
        return order_id

    def tick(self):
        """Time passes: every order moves to its next status."""
        for order_id, order in self.orders.items():
            if len(order["statuses"]) > 1:
                order["statuses"].pop(0)
            if order["statuses"][0] == "delivered":
                self.deliver(order_id)

    def deliver(self, order_id):
        order = self.orders[order_id]
        if order["okms_id"] is None:
            order["okms_id"] = self.add_instance(order["region"])
        return order["okms_id"]

    # -- what the module sees ---------------------------------------------------

    def mutations(self):
        return [call for call in self.calls if call[0] != "GET"]

    def gets(self, path):
        return [call for call in self.calls if call[0] == "GET" and call[1] == path]

    def not_found(self, method, path):
        return OvhApiError("not found", status=404, error_class="Client::NotFound", method=method, path=path)

    def get_all(self, path, params=None, page_size=None):
        return self.get(path, params)

    def get(self, path, params=None):
        self.calls.append(("GET", path, params))
        if path == "/me":
            return self.me
        if path == "/v2/okms/reference/regions":
            return [{"id": region} for region in REGIONS]
        if path == "/v2/okms/resource":
            return [dict(resource) for resource in self.instances.values()]
        match = re.match(r"^/v2/okms/resource/([^/]+)(/credential)?$", path)
        if match:
            if match.group(1) not in self.instances:
                raise self.not_found("GET", path)
            return [] if match.group(2) else dict(self.instances[match.group(1)])
        if path == "/order/cart":
            return sorted(cart_id for cart_id, cart in self.carts.items()
                          if cart["description"] == params["description"])
        if path.startswith("/order/cart/"):
            return {"readOnly": self.carts[path.split("/")[3]]["readOnly"]}
        if path == "/me/order":
            return sorted(self.orders)
        match = re.match(r"^/me/order/(\d+)/(status|details)(?:/(\d+)(/extension)?)?$", path)
        if match:
            order_id = int(match.group(1))
            order = self.orders[order_id]
            if match.group(2) == "status":
                return order["statuses"][0]
            if match.group(3) is None:
                return [order_id * 10]
            if match.group(4):
                return {"order": {"plan": {"code": "okms"},
                                  "configurations": [{"label": "region", "value": order["region"]}]}}
            return {"domain": order["okms_id"] or "*"}
        if path == "/services":
            service = self.services.get(params["resourceName"])
            return [service["id"]] if service and params["resourceName"] in self.instances else []
        if path == "/me/notification/email/history":
            return sorted(self.emails)
        if path.startswith("/me/notification/email/history/"):
            return {"body": self.emails[int(path.rsplit("/", 1)[1])]}
        raise AssertionError("unexpected GET %s" % path)

    def _okms_of_service(self, service_id):
        return [okms_id for okms_id, service in self.services.items() if service["id"] == service_id][0]

    def post(self, path, body=None, params=None):
        self.calls.append(("POST", path, body))
        if path == "/order/cart":
            cart_id = "cart%d" % (len(self.carts) + 1)
            self.carts[cart_id] = dict(body, readOnly=False)
            return {"cartId": cart_id}
        match = re.match(r"^/order/cart/([^/]+)/(assign|okms|item/\d+/configuration|checkout)$", path)
        if match:
            cart = self.carts[match.group(1)]
            if match.group(2) == "okms":
                return {"itemId": 7}
            if match.group(2).endswith("configuration"):
                cart["region"] = body["value"]
            if match.group(2) == "checkout":
                cart["readOnly"] = True
                order_id = 1000 + len(self.orders)
                self.orders[order_id] = {"region": cart["region"], "statuses": ["checking", "delivered"],
                                         "okms_id": None}
                return {"orderId": order_id, "prices": {"withTax": {"value": 0}}}
            return None
        match = re.match(r"^/services/(\d+)/terminate(/confirm)?$", path)
        if match:
            service_id = int(match.group(1))
            okms_id = self._okms_of_service(service_id)
            service = self.services[okms_id]
            if match.group(2):
                assert body["token"] == service["token"]
                del self.instances[okms_id]
                return None
            service["token"] = "t0k3n%d" % service_id
            self.emails[len(self.emails) + 1] = "confirmTerminate?id=%s&token=%s" % (service_id, service["token"])
            return {"message": "sent"}
        raise AssertionError("unexpected POST %s" % path)

    def put(self, path, body=None, params=None):
        self.calls.append(("PUT", path, body))
        okms_id = self._okms_of_service(int(path.rsplit("/", 1)[1]))
        self.instances[okms_id]["iam"]["displayName"] = body["displayName"]

    def delete(self, path, params=None):
        self.calls.append(("DELETE", path, None))
        raise AssertionError("unexpected DELETE %s" % path)


class ModuleExit(Exception):
    def __init__(self, failed, kwargs):
        super(ModuleExit, self).__init__(kwargs.get("msg"))
        self.failed = failed
        self.result = kwargs


@pytest.fixture
def run(monkeypatch):
    """Run a module's main() against an account; returns its result (failed or not)."""
    fake_time = FakeTime()
    accounts = []

    def sleep(seconds):
        fake_time.sleep(seconds)
        accounts[-1].tick()

    def exit_json(self, **kwargs):
        raise ModuleExit(False, kwargs)

    def fail_json(self, **kwargs):
        raise ModuleExit(True, kwargs)

    monkeypatch.setattr(OkmsModule, "exit_json", exit_json)
    monkeypatch.setattr(OkmsModule, "fail_json", fail_json)
    monkeypatch.setattr(okms_instance, "poll_until", functools.partial(
        okms_polling.poll_until, sleep=sleep, clock=fake_time.clock))

    def run_module(module, args, account, check_mode=False, diff=False):
        accounts.append(account)
        monkeypatch.setattr(OkmsModule, "client", property(lambda self: account))
        args = dict(CONNECTION, **args)
        if check_mode:
            args["_ansible_check_mode"] = True
        if diff:
            args["_ansible_diff"] = True
        with module_args(args):
            with pytest.raises(ModuleExit) as outcome:
                module.main()
        return outcome.value

    return run_module


ABSENT = dict(name="staging", region="eu-west-gra", state="absent", confirm_termination=True)


# -- state=absent sees a KMS still being delivered ----------------------------------------------


def test_absent_waits_for_a_pending_order_of_the_name_and_terminates_its_kms(run):
    account = FakeAccount()
    order_id = account.add_order("staging", "eu-west-gra", ["checking", "delivering", "delivered"])
    outcome = run(okms_instance, ABSENT, account, diff=True)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["order_id"] == order_id
    okms_id = account.orders[order_id]["okms_id"]
    assert okms_id is not None and okms_id not in account.instances
    assert outcome.result["diff"]["before"]["id"] == okms_id
    assert outcome.result["diff"]["after"] == {}
    assert [call[1] for call in account.mutations()] == [
        "/services/100/terminate", "/services/100/terminate/confirm"]


def test_absent_with_wait_false_fails_naming_the_order_and_changes_nothing(run):
    account = FakeAccount()
    order_id = account.add_order("staging", "eu-west-gra", ["delivering", "delivered"])
    outcome = run(okms_instance, dict(ABSENT, wait=False), account)
    assert outcome.failed
    assert outcome.result["changed"] is False
    assert outcome.result["order_id"] == order_id
    assert "order %d" % order_id in outcome.result["msg"]
    assert "still being delivered" in outcome.result["msg"] and "run again" in outcome.result["msg"]
    assert account.mutations() == []


def test_absent_without_confirmation_says_a_kms_of_the_name_is_being_delivered(run):
    account = FakeAccount()
    order_id = account.add_order("staging", "eu-west-gra", ["checking", "delivered"])
    outcome = run(okms_instance, dict(ABSENT, confirm_termination=False), account)
    assert outcome.failed
    assert "a KMS named 'staging' is being delivered in eu-west-gra (order %d" % order_id in outcome.result["msg"]
    assert "confirm_termination: true" in outcome.result["msg"]
    assert account.mutations() == []
    # It did not wait for the delivery before refusing.
    assert account.orders[order_id]["okms_id"] is None


def test_absent_in_check_mode_predicts_the_termination_and_sends_no_mutation(run):
    account = FakeAccount()
    order_id = account.add_order("staging", "eu-west-gra", ["checking", "delivered"])
    outcome = run(okms_instance, ABSENT, account, check_mode=True, diff=True)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["order_id"] == order_id
    assert outcome.result["diff"]["before"] == {"id": None, "name": "staging", "region": "eu-west-gra"}
    assert account.mutations() == []


def test_absent_fails_at_once_on_an_unpaid_order(run):
    account = FakeAccount()
    order_id = account.add_order("staging", "eu-west-gra", ["notPaid"])
    outcome = run(okms_instance, ABSENT, account)
    assert outcome.failed
    assert "order %d" % order_id in outcome.result["msg"] and "not paid" in outcome.result["msg"]
    assert account.mutations() == []
    # Failed on the first status read instead of polling until wait_timeout.
    assert len(account.gets("/me/order/%d/status" % order_id)) == 1


def test_absent_terminates_a_delivered_kms_that_was_never_named(run):
    account = FakeAccount()
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
    account = FakeAccount()
    order_id = account.add_order("staging", "eu-west-gra", ["delivered"])
    outcome = run(okms_instance, dict(ABSENT, confirm_termination=False), account)
    assert outcome.failed
    assert "delivered for order %d of a KMS named 'staging'" % order_id in outcome.result["msg"]
    assert account.mutations() == []


def test_absent_without_region_checks_each_region_cart_and_terminates_there(run):
    account = FakeAccount()
    order_id = account.add_order("staging", "eu-west-sbg", ["delivering", "delivered"])
    outcome = run(okms_instance, dict(name="staging", state="absent", confirm_termination=True), account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["order_id"] == order_id
    assert account.orders[order_id]["okms_id"] not in account.instances
    # One cart lookup per region, by description.
    assert sorted(call[2]["description"] for call in account.gets("/order/cart")) == [
        cart_description("staging", region) for region in REGIONS]


def test_absent_without_region_refuses_to_choose_between_regions(run):
    account = FakeAccount()
    in_gra = account.add_order("staging", "eu-west-gra", ["checking", "delivered"])
    in_sbg = account.add_order("staging", "eu-west-sbg", ["checking", "delivered"])
    outcome = run(okms_instance, dict(name="staging", state="absent", confirm_termination=True), account)
    assert outcome.failed
    assert "order %d in eu-west-gra, checking" % in_gra in outcome.result["msg"]
    assert "order %d in eu-west-sbg, checking" % in_sbg in outcome.result["msg"]
    assert "give region" in outcome.result["msg"]
    assert account.mutations() == []
    assert all(order["okms_id"] is None for order in account.orders.values())


def test_absent_refuses_to_guess_which_pending_order_of_the_region_is_this_names(run):
    """Another name's order is pending in the same region: terminating it would be a guess."""
    account = FakeAccount()
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
    assert account.mutations() == []
    # Nothing was waited for.
    assert account.orders[mine]["okms_id"] is None


def test_absent_with_nothing_ordered_is_ok_and_lists_no_orders(run):
    account = FakeAccount()
    account.add_order("other-name", "eu-west-gra", ["checking", "delivered"])
    outcome = run(okms_instance, ABSENT, account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is False
    assert "order_id" not in outcome.result
    # The pending order belongs to another name: never looked at.
    assert account.gets("/me/order") == []
    assert account.mutations() == []


def test_absent_by_id_does_not_look_for_orders(run):
    account = FakeAccount()
    account.add_order("staging", "eu-west-gra", ["checking", "delivered"])
    outcome = run(okms_instance, dict(id=str(uuid.uuid4()), state="absent", confirm_termination=True), account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is False
    assert account.gets("/order/cart") == []


def test_absent_never_terminates_a_delivered_kms_another_name_took_meanwhile(run, monkeypatch):
    account = FakeAccount()
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
    assert account.mutations() == []


def test_absent_after_termination_is_idempotent(run):
    account = FakeAccount()
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
    account = FakeAccount()
    okms_id = account.add_instance("eu-west-sbg", name="backups")
    outcome = run(okms_instance, dict(name="backups", region="EU_WEST_SBG"), account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is False
    assert outcome.result["instance"]["id"] == okms_id
    assert outcome.result["instance"]["region"] == "eu-west-sbg"
    assert account.mutations() == []


def test_old_region_form_with_id_is_not_a_move(run):
    account = FakeAccount()
    okms_id = account.add_instance("eu-west-sbg", name="backups")
    outcome = run(okms_instance, dict(id=okms_id, region="EU_WEST_SBG"), account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is False
    moved = run(okms_instance, dict(id=okms_id, region="EU_WEST_GRA"), account)
    assert moved.failed and "cannot change region" in moved.result["msg"]


def test_info_accepts_the_old_region_form_and_returns_the_module_shape(run):
    account = FakeAccount()
    okms_id = account.add_instance("eu-west-sbg", name="backups")
    account.add_instance("eu-west-gra", name="backups")
    info = run(okms_instance_info, dict(name="backups", region="EU_WEST_SBG"), account)
    present = run(okms_instance, dict(name="backups", region="eu-west-sbg"), account)
    assert not info.failed, info.result
    assert [i["id"] for i in info.result["instances"]] == [okms_id]
    assert info.result["instances"] == [present.result["instance"]]


# -- the subsidiary of an order ----------------------------------------------------------------


def ordered_carts(account):
    return [call[2] for call in account.calls if call[:2] == ("POST", "/order/cart")]


def test_order_without_subsidiary_uses_the_account_subsidiary(run):
    account = FakeAccount(subsidiary="CA")
    outcome = run(okms_instance, dict(name="prod", region="eu-west-rbx"), account)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert [cart["ovhSubsidiary"] for cart in ordered_carts(account)] == ["CA"]
    # /me was read before the cart was created.
    paths = [call[1] for call in account.calls]
    assert paths.index("/me") < paths.index("/order/cart", paths.index("/me"))


def test_explicit_subsidiary_wins_and_me_is_not_read(run):
    account = FakeAccount(subsidiary="CA")
    outcome = run(okms_instance, dict(name="prod", region="eu-west-rbx", ovh_subsidiary="GB"), account)
    assert not outcome.failed, outcome.result
    assert [cart["ovhSubsidiary"] for cart in ordered_carts(account)] == ["GB"]
    assert account.gets("/me") == []


def test_me_is_read_only_when_an_order_is_placed(run):
    account = FakeAccount(subsidiary="CA")
    account.add_instance("eu-west-rbx", name="prod")
    assert run(okms_instance, dict(name="prod", region="eu-west-rbx"), account).result["changed"] is False
    assert run(okms_instance, dict(name="new", region="eu-west-rbx"), account, check_mode=True).result["changed"]
    # An adopted order is not placed again either.
    account.add_order("pending", "eu-west-rbx", ["checking", "delivered"])
    assert run(okms_instance, dict(name="pending", region="eu-west-rbx"), account).result["changed"] is True
    assert account.gets("/me") == []
    assert ordered_carts(account) == []


def test_account_without_subsidiary_fails_before_ordering(run):
    account = FakeAccount()
    del account.me["ovhSubsidiary"]
    outcome = run(okms_instance, dict(name="prod", region="eu-west-rbx"), account)
    assert outcome.failed
    assert "ovh_subsidiary" in outcome.result["msg"] and "GET /me" in outcome.result["msg"]
    assert account.mutations() == []


def test_unknown_subsidiary_is_refused_with_the_allowed_values(run):
    account = FakeAccount()
    outcome = run(okms_instance, dict(name="prod", region="eu-west-rbx", ovh_subsidiary="XX"), account)
    assert outcome.failed
    assert "ovh_subsidiary" in outcome.result["msg"] and "QC" in outcome.result["msg"]
    assert account.calls == []
