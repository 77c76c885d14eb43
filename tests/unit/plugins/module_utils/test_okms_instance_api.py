# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""InstanceApi: "gone" is None, every failure names what was being done, lost answers are settled in the run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_instance_api import InstanceApi
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhAmbiguousRequestError, OvhApiError
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms import instances
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def failing(status, error_class):
    def handler(request, **path_params):
        raise OvhApiError("refused", status=status, error_class=error_class, method=request.method,
                          path=request.path)
    return handler


@pytest.fixture
def account():
    return instances.install(FakeOkmsApi())


def test_get_returns_the_kms_with_its_cas_or_without(account):
    okms_id = account.add_instance("eu-west-rbx", name="prod")
    api = InstanceApi(account.api)
    with_ca = api.get(okms_id)
    assert with_ca["id"] == okms_id and with_ca["publicCA"].startswith("-----BEGIN CERTIFICATE-----")
    assert "publicCA" not in api.get(okms_id, public_ca=False)


def test_get_of_an_unknown_kms_is_none(account):
    assert InstanceApi(account.api).get(UNKNOWN_ID) is None


@pytest.mark.parametrize("status, error_class", [(404, "Client::NotFound"), (460, "Client::Gone::ServiceExpired")])
def test_get_of_a_gone_kms_is_none(status, error_class):
    api = FakeOkmsApi()
    api.route("GET", "/v2/okms/resource/{okms_id}", failing(status, error_class))
    assert InstanceApi(api).get(UNKNOWN_ID) is None


def test_other_read_failures_name_the_action():
    api = FakeOkmsApi()
    api.route("GET", "/v2/okms/resource/{okms_id}", failing(403, "Client::Forbidden"))
    with pytest.raises(OvhApiError) as failure:
        InstanceApi(api).get(UNKNOWN_ID)
    assert str(failure.value).startswith("cannot read KMS %s: GET /v2/okms/resource/%s, HTTP 403"
                                         % (UNKNOWN_ID, UNKNOWN_ID))


def test_list_filters_by_name_and_region(account):
    prod = account.add_instance("eu-west-rbx", name="prod")
    account.add_instance("eu-west-gra", name="prod")
    account.add_instance("eu-west-rbx", name="test")
    api = InstanceApi(account.api)
    assert len(api.list()) == 3
    assert [r["id"] for r in api.list(name="prod", region="eu-west-rbx")] == [prod]
    assert sorted(r["region"] for r in api.list(name="prod")) == ["eu-west-gra", "eu-west-rbx"]
    assert api.list(name="none") == []


def test_read_matching_reads_each_kms_with_its_cas_sorted_by_id(account):
    ids = [account.add_instance("eu-west-rbx", name="prod") for count in range(3)]
    found = InstanceApi(account.api).read_matching(name="prod")
    assert [r["id"] for r in found] == sorted(ids)
    assert all("publicRsaCA" in r for r in found)


def test_region_ids_and_account_subsidiary(account):
    api = InstanceApi(account.api)
    assert api.region_ids() == sorted(instances.REGIONS)
    assert api.account_subsidiary() == "FR"
    del account.me["ovhSubsidiary"]
    assert api.account_subsidiary() is None


def test_rename_through_the_billing_service(account):
    okms_id = account.add_instance("eu-west-rbx", name="old")
    assert InstanceApi(account.api).rename(okms_id, "new") is True
    assert account.instances[okms_id]["iam"]["displayName"] == "new"


def test_rename_without_a_billing_service_is_false_and_sends_nothing(account):
    okms_id = account.add_instance("eu-west-rbx", name="old")
    account.services[okms_id]["terminated"] = True
    assert InstanceApi(account.api).rename(okms_id, "new") is False
    assert account.api.mutations() == []


def test_a_refused_rename_names_the_action(account):
    okms_id = account.add_instance("eu-west-rbx", name="old")
    with pytest.raises(OvhApiError) as failure:
        InstanceApi(account.api).rename(okms_id, "x" * 300)
    assert "cannot rename KMS %s to '%s'" % (okms_id, "x" * 300) in str(failure.value)


def test_a_lost_rename_that_did_not_apply_is_sent_again_and_converges(account):
    """Before the reliability issue this failed: the re-read shows the old name, so the PUT is repeated once."""
    okms_id = account.add_instance("eu-west-rbx", name="old")
    account.api.lose_answer("PUT", "/services/{service_id}", before_applying=True)
    assert InstanceApi(account.api).rename(okms_id, "new") is True
    assert len(account.api.calls("PUT", "/services/{service_id}")) == 2
    assert account.instances[okms_id]["iam"]["displayName"] == "new"


def test_a_lost_rename_of_a_kms_terminated_meanwhile_says_what_to_check():
    api = FakeOkmsApi()
    account = instances.install(api)
    okms_id = account.add_instance("eu-west-rbx", name="old")

    def lost_as_it_ends(request, service_id):
        del account.instances[okms_id]
        raise OvhAmbiguousRequestError("connection reset", method=request.method, path=request.path)

    api.route("PUT", "/services/{service_id}", lost_as_it_ends, first=True)
    with pytest.raises(OvhAmbiguousRequestError) as failure:
        InstanceApi(api).rename(okms_id, "new")
    assert str(failure.value) == (
        "cannot rename KMS %s to 'new': PUT /services/100: connection reset; re-reading could not tell whether it "
        "was: KMS %s no longer exists (GET /v2/okms/resource/%s)" % (okms_id, okms_id, okms_id))
    assert len(api.calls("PUT", "/services/{service_id}")) == 1


def test_a_termination_request_that_never_arrived_is_asked_again(account):
    okms_id = account.add_instance("eu-west-rbx", name="prod")
    api = InstanceApi(account.api)
    service_id = api.service_id(okms_id)
    seen = set(api.email_ids())
    account.api.lose_answer("POST", "/services/{service_id}/terminate", before_applying=True)
    api.request_termination(okms_id, service_id, seen)
    # No email after the first, lost request: asking again is harmless, and this one is emailed.
    assert len(account.api.calls("POST", "/services/{service_id}/terminate")) == 2
    assert api.termination_token(service_id, seen) == "t0k3n%d" % service_id


def test_a_lost_termination_confirmation_with_the_kms_still_there_is_not_repeated(account):
    okms_id = account.add_instance("eu-west-rbx", name="prod")
    api = InstanceApi(account.api)
    service_id = api.service_id(okms_id)
    account.api.lose_answer("POST", "/services/{service_id}/terminate/confirm", before_applying=True)
    with pytest.raises(OvhAmbiguousRequestError) as failure:
        api.confirm_termination(okms_id, service_id, "t0k3n%d" % service_id)
    assert str(failure.value) == (
        "cannot confirm the termination of KMS %s: POST /services/%d/terminate/confirm: the request may or may not "
        "have been applied (connection reset); re-reading could not tell whether it was: KMS %s still exists: check "
        "in the OVHcloud Control Panel (or GET /v2/okms/resource/%s) whether its service %d is being terminated; if "
        "not, run again to request a new termination email" % (okms_id, service_id, okms_id, okms_id, service_id))
    assert len(account.api.calls("POST", "/services/{service_id}/terminate/confirm")) == 1


def test_the_termination_flow(account):
    okms_id = account.add_instance("eu-west-rbx", name="prod")
    api = InstanceApi(account.api)
    service_id = api.service_id(okms_id)
    seen = set(api.email_ids())
    assert api.termination_token(service_id, seen) is None
    api.request_termination(okms_id, service_id, seen)
    token = api.termination_token(service_id, seen)
    assert token == "t0k3n%d" % service_id
    api.confirm_termination(okms_id, service_id, token)
    assert api.get(okms_id) is None
    assert api.service_id(okms_id) is None
    with pytest.raises(OvhApiError) as failure:
        api.request_termination(okms_id, service_id, seen)
    assert failure.value.status == 460
    assert str(failure.value).startswith("cannot request the termination of KMS %s" % okms_id)


def test_a_failed_order_names_it_and_discards_its_cart(account):
    api = InstanceApi(account.api)
    with pytest.raises(OvhApiError) as failure:
        api.order("prod", "eu-west-moon").check_out(auto_pay=True, ovh_subsidiary="FR")
    assert "cannot order a KMS named 'prod' in eu-west-moon" in str(failure.value)
    assert [(r.method, r.path) for r in account.api.mutations()][-1] == ("DELETE", "/order/cart/cart1")
    assert account.carts == {}


def test_an_order_is_found_again_by_its_cart_description(account):
    api = InstanceApi(account.api)
    ordering = api.order("prod", "eu-west-rbx")
    assert ordering.left_behind() == []
    order_id = ordering.check_out(auto_pay=True, ovh_subsidiary="FR")["orderId"]
    left = ordering.left_behind()
    assert [(o.order_id, o.status, o.okms_id, o.region) for o in left] == [(order_id, "checking", None, "eu-west-rbx")]
    assert ordering.delivered(order_id, left[0].detail_id) is False
    account.tick()
    account.tick()
    okms_id = ordering.delivered(order_id, left[0].detail_id)
    assert okms_id == account.orders[order_id]["okms_id"]
    # Delivered but not named yet: still this name's to adopt; another name never sees it.
    assert [o.okms_id for o in ordering.left_behind()] == [okms_id]
    assert api.order("other", "eu-west-rbx").left_behind() == []
    api.rename(okms_id, "prod")
    assert ordering.left_behind() == []


def test_settle_pays_an_unpaid_order_with_the_default_payment_method(account):
    ordering = InstanceApi(account.api).order("prod", "eu-west-rbx")
    order = ordering.check_out(auto_pay=False, ovh_subsidiary="FR")
    assert ordering.status(order["orderId"]) == "notPaid"
    ordering.settle(order)
    assert ordering.status(order["orderId"]) == "checking"
    assert account.api.calls("POST", "/me/order/{order_id}/pay")[0].body == {"paymentMethod": {"id": 1}}
    # Already paid: nothing more is sent.
    ordering.settle(order)
    assert len(account.api.calls("POST", "/me/order/{order_id}/pay")) == 1


def test_without_a_payment_method_only_a_free_order_is_paid():
    api = FakeOkmsApi()
    # Routed before the account's own: an account without a default payment method.
    api.route("GET", "/me/payment/method", lambda request: [])
    account = instances.install(api)
    ordering = InstanceApi(account.api).order("prod", "eu-west-rbx")
    free = ordering.check_out(auto_pay=False, ovh_subsidiary="FR")
    ordering.settle(free)
    assert [r.body for r in account.api.calls("POST", "/me/order/{order_id}/payWithRegisteredPaymentMean")] == [
        {"paymentMean": "fidelityAccount"}]
    priced = ordering.check_out(auto_pay=False, ovh_subsidiary="FR")
    priced["prices"] = {"withTax": {"value": 1.2}}
    with pytest.raises(OvhApiError) as failure:
        ordering.settle(priced)
    assert "order %s is not paid and the account has no default payment method" % priced["orderId"] in str(
        failure.value)


def test_delivered_orders_are_read_only_when_an_unnamed_kms_could_be_theirs(account):
    api = InstanceApi(account.api)
    for name in ("a", "b", "c"):
        delivered = account.add_order(name, "eu-west-rbx", ["delivered"])
        api.rename(account.orders[delivered]["okms_id"], name)
    pending = account.add_order("prod", "eu-west-rbx", ["checking", "delivered"])
    mark = len(account.api.requests)
    left = api.order("prod", "eu-west-rbx").left_behind()
    assert [(o.order_id, o.status) for o in left] == [(pending, "checking")]
    details_read = [r.path for r in account.api.requests[mark:] if "/details" in r.path]
    assert details_read and all(path.startswith("/me/order/%d/" % pending) for path in details_read)
    # One of them left unnamed: every delivered order is looked at again to find whose it is.
    unnamed = account.add_order("d", "eu-west-rbx", ["delivered"])
    left = api.order("prod", "eu-west-rbx").left_behind()
    assert [(o.order_id, o.okms_id) for o in left] == [(pending, None), (unnamed, account.orders[unnamed]["okms_id"])]
