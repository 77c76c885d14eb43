# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""KMS instances on the OVHcloud API: reading, ordering, renaming and terminating them.

A KMS is not created with a POST on /v2/okms: it is ordered through the v1
cart and billing flow (``KmsOrder``), delivered asynchronously, named and
terminated through the billing service it belongs to, with a token OVHcloud
emails to the account. Used by okms_instance and okms_instance_info.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from collections import namedtuple

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_instance import (
    cart_description,
    display_name,
    is_unnamed,
    matches,
    termination_token_in,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_resource import (
    NOT_FOUND_STATUSES,
    Confirmation,
    ResourceApi,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError, api_action

PLAN_CODE = "okms"
RESOURCE_PATH = "/v2/okms/resource"
REGIONS_PATH = "/v2/okms/reference/regions"
EMAILS_PATH = "/me/notification/email/history"
# Order statuses that may still become a KMS.
PENDING_ORDER_STATUSES = ("notPaid", "checking", "delivering")
# HTTP statuses meaning the KMS or its service no longer exists (460: "service expired").
GONE_STATUSES = NOT_FOUND_STATUSES + (460,)
# Pending orders older than this are not adopted by a later run.
ORDER_LOOKBACK_SECONDS = 7 * 86400

# An order a run of this name checked out and did not see through: still pending
# (okms_id None), or delivered but its KMS never named (okms_id set).
OrderLeftBehind = namedtuple("OrderLeftBehind", ["order_id", "detail_id", "status", "okms_id", "region"])


def instance_path(okms_id):
    return "%s/%s" % (RESOURCE_PATH, okms_id)


def service_path(service_id):
    return "/services/%s" % service_id


def order_path(order_id):
    return "/me/order/%s" % order_id


class InstanceApi(ResourceApi):
    """The KMS instances of the account, their billing services and the emails about them."""

    def get(self, okms_id, public_ca=True):
        """The KMS as the API returns it (with its CAs unless told otherwise), or None when it does not exist."""
        return self.read(instance_path(okms_id), "read KMS %s" % okms_id,
                         params={"publicCA": "true"} if public_ca else None, gone_statuses=GONE_STATUSES)

    def list(self, name=None, region=None):
        """Every KMS (all pages, without CAs) whose display name and region match the filters (None: any)."""
        return [resource for resource in self.read_all(RESOURCE_PATH, "list KMS instances")
                if matches(resource, name, region)]

    def read_matching(self, name=None, region=None):
        """Every matching KMS read one by one, CAs included (the list answer has none), sorted by id."""
        found = sorted(self.list(name=name, region=region), key=lambda resource: resource["id"])
        # One terminated between the list and its read is left out.
        return [resource for resource in (self.get(r["id"]) for r in found) if resource]

    def region_ids(self):
        return sorted(region["id"] for region in self.read_all(REGIONS_PATH, "list OKMS regions"))

    def account_subsidiary(self):
        """The account's own OVHcloud subsidiary (``ovhSubsidiary`` of ``GET /me``), or None when it says none."""
        with api_action("read the account's details"):
            return (self.client.get("/me") or {}).get("ovhSubsidiary") or None

    def credential_count(self, okms_id):
        """How many access credentials a KMS has (said before terminating it)."""
        return len(self.read_all("%s/credential" % instance_path(okms_id), "list the credentials of KMS %s" % okms_id))

    def service_id(self, okms_id):
        """The billing service of a KMS (it holds its display name and ends it), or None when gone."""
        with api_action("find the billing service of KMS %s" % okms_id):
            ids = self.client.get("/services", params={"resourceName": okms_id})
        return ids[0] if ids else None

    # -- naming ------------------------------------------------------------------------

    def rename(self, okms_id, name):
        """Set the display name of a KMS; False when it has no billing service to rename."""
        service_id = self.service_id(okms_id)
        if service_id is None:
            return False

        def renamed():
            resource = self.get(okms_id, public_ca=False)
            if resource is None:
                return Confirmation.undecidable("KMS %s no longer exists (GET %s)" % (okms_id, instance_path(okms_id)))
            if display_name(resource) == name:
                return Confirmation.applied()
            return Confirmation.absent()

        self.write_then_confirm("rename KMS %s to '%s'" % (okms_id, name),
                                lambda: self.client.put(service_path(service_id), {"displayName": name}),
                                renamed,
                                check="check whether KMS %s is named '%s' (GET %s) before running again"
                                % (okms_id, name, instance_path(okms_id)))
        return True

    # -- termination -----------------------------------------------------------------------

    def email_ids(self):
        with api_action("list the account's emails"):
            return self.client.get(EMAILS_PATH)

    def request_termination(self, okms_id, service_id, seen_email_ids):
        """Ask OVHcloud to email a termination token for the KMS's service."""
        def emailed():
            # The email is the proof that the request arrived. Without one yet, asking again is
            # harmless: it only sends another email, and the newest token is the one used.
            if self.termination_token(service_id, seen_email_ids) is not None:
                return Confirmation.applied()
            return Confirmation.absent()

        self.write_then_confirm(
            "request the termination of KMS %s" % okms_id,
            lambda: self.client.post("%s/terminate" % service_path(service_id)), emailed,
            check="check the account's emails (GET %s) for the termination email of service %s before running again"
            % (EMAILS_PATH, service_id))

    def termination_token(self, service_id, seen_email_ids):
        """The token of the newest termination email for a service, ignoring emails seen before asking."""
        with api_action("read the termination email of service %s" % service_id):
            for email_id in sorted(self.client.get(EMAILS_PATH), reverse=True):
                if email_id in seen_email_ids:
                    continue
                token = termination_token_in(self.client.get("%s/%s" % (EMAILS_PATH, email_id)).get("body"),
                                             service_id)
                if token:
                    return token
        return None

    def confirm_termination(self, okms_id, service_id, token):
        """Confirm the termination with the emailed token: the KMS, its keys and credentials are destroyed."""
        def terminated():
            if self.get(okms_id, public_ca=False) is None:
                return Confirmation.applied()
            # Still listed: a termination may take effect a while after it is confirmed, so this
            # proves nothing, and confirming again with the same token may be refused.
            return Confirmation.undecidable(
                "KMS %s still exists: check in the OVHcloud Control Panel (or GET %s) whether its service %s is "
                "being terminated; if not, run again to request a new termination email"
                % (okms_id, instance_path(okms_id), service_id))

        self.write_then_confirm(
            "confirm the termination of KMS %s" % okms_id,
            lambda: self.client.post("%s/terminate/confirm" % service_path(service_id), {"token": token}),
            terminated,
            check="check whether KMS %s still exists (GET %s) before running again" % (okms_id, instance_path(okms_id)))

    # -- ordering ---------------------------------------------------------------------------

    def order(self, name, region):
        """The ordering flow of a KMS of this name in this region."""
        return KmsOrder(self, name, region)


class KmsOrder:
    """The v1 ordering flow for one named KMS in one region."""

    def __init__(self, api, name, region):
        self.api = api
        self.client = api.client
        self.name = name
        self.region = region
        self.cart_description = cart_description(name, region)

    def checked_out_before(self):
        """Whether a cart of this name and region was checked out (and has not expired yet)."""
        with api_action("look up the carts of a KMS named '%s' in %s" % (self.name, self.region)):
            for cart_id in self.client.get("/order/cart", params={"description": self.cart_description}):
                try:
                    if self.client.get("/order/cart/%s" % cart_id).get("readOnly"):
                        return True
                except OvhApiError as exc:
                    if exc.status not in NOT_FOUND_STATUSES:  # else expired between the two calls
                        raise
        return False

    def left_behind(self):
        """Orders in this region that a run of this name may have checked out and not seen through.

        Pending orders first, then delivered ones whose KMS still has its default
        display name (its id); newest first within each. Empty when this name
        never reached checkout: pending orders then belong to someone else.
        """
        if not self.checked_out_before():
            return []
        # This only runs after a checkout of this name, so scanning recent orders is affordable.
        statuses = self.recent_statuses(PENDING_ORDER_STATUSES + ("delivered",))
        found = []
        for order_id, status in statuses:
            detail_id = self.okms_detail_id(order_id) if status != "delivered" else None
            if detail_id is not None:
                found.append(OrderLeftBehind(order_id, detail_id, status, None, self.region))
        delivered = [order_id for order_id, status in statuses if status == "delivered"]
        if not delivered:
            return found
        # Listed after the statuses were read, so that the KMS of an order seen delivered is in the list.
        unnamed = set(r["id"] for r in self.api.list(region=self.region) if is_unnamed(r))
        if not unnamed:
            # A delivered order matters only when an unnamed KMS could be its own; most are long named.
            return found
        for order_id in delivered:
            detail_id = self.okms_detail_id(order_id)
            okms_id = self.delivered_okms_id(order_id, detail_id) if detail_id is not None else None
            if okms_id in unnamed:
                found.append(OrderLeftBehind(order_id, detail_id, "delivered", okms_id, self.region))
        return found

    def check_out(self, auto_pay, ovh_subsidiary):
        """Cart → item → region → checkout; returns the order (``orderId``, ``prices``).

        The cart is deleted if anything fails before checkout, so a failed run
        leaves nothing behind. A lost checkout answer is raised as it is: only
        a later run can tell, by finding the order pending, whether it was placed.
        With ``auto_pay`` the preferred payment method pays at checkout when it can.
        """
        with api_action("order a KMS named '%s' in %s" % (self.name, self.region)):
            cart_id = self.client.post("/order/cart", {
                "ovhSubsidiary": ovh_subsidiary, "description": self.cart_description})["cartId"]
            try:
                self.client.post("/order/cart/%s/assign" % cart_id)
                item = self.client.post("/order/cart/%s/%s" % (cart_id, PLAN_CODE), {
                    "planCode": PLAN_CODE, "duration": "P1M", "pricingMode": "default", "quantity": 1})
                self.client.post("/order/cart/%s/item/%s/configuration" % (cart_id, item["itemId"]),
                                 {"label": "region", "value": self.region})
            except OvhApiError:
                self._discard_cart(cart_id)
                raise
            return self.client.post("/order/cart/%s/checkout" % cart_id, {
                "autoPayWithPreferredPaymentMethod": bool(auto_pay), "waiveRetractationPeriod": True})

    def settle(self, order):
        """Pay an order that checkout left unpaid (the preferred payment method did not settle it)."""
        if self.status(order["orderId"]) == "notPaid":
            self.pay(order["orderId"], order)

    def _discard_cart(self, cart_id):
        try:
            self.client.delete("/order/cart/%s" % cart_id)
        except OvhApiError:
            pass  # an abandoned cart expires by itself; the original error matters more

    def pay(self, order_id, order):
        """Pay an order the preferred payment method did not settle, as Terraform does."""
        with api_action("pay order %s" % order_id):
            methods = self.client.get("/me/payment/method", params={"default": "true"})
            if methods:
                self.client.post("%s/pay" % order_path(order_id), {"paymentMethod": {"id": methods[0]}})
                return
            price = ((order.get("prices") or {}).get("withTax") or {}).get("value")
            if price == 0:
                # A free order can be settled without any payment method.
                self.client.post("%s/payWithRegisteredPaymentMean" % order_path(order_id),
                                 {"paymentMean": "fidelityAccount"})
                return
        raise OvhApiError("order %s is not paid and the account has no default payment method; pay it in "
                          "the OVHcloud Control Panel, then run again" % order_id)

    def status(self, order_id):
        with api_action("read the status of order %s" % order_id):
            return self.client.get("%s/status" % order_path(order_id))

    def okms_detail_id(self, order_id):
        """The id of an order's detail that is a KMS of this region, or None when it orders no such KMS."""
        with api_action("read order %s" % order_id):
            for detail_id in self.client.get("%s/details" % order_path(order_id)):
                extension = self.client.get("%s/details/%s/extension" % (order_path(order_id), detail_id))
                order = extension.get("order") or {}
                if (order.get("plan") or {}).get("code") != PLAN_CODE:
                    continue
                regions = [c.get("value") for c in order.get("configurations") or [] if c.get("label") == "region"]
                if self.region in regions:
                    return detail_id
        return None

    def delivered_okms_id(self, order_id, detail_id):
        """The okmsId of a delivered order, or None before delivery (its domain is "*" or empty until then)."""
        with api_action("read order %s" % order_id):
            domain = self.client.get("%s/details/%s" % (order_path(order_id), detail_id)).get("domain")
        return domain if domain and domain != "*" else None

    def delivered(self, order_id, detail_id):
        """The okmsId of an order once it is delivered, else None."""
        return self.status(order_id) == "delivered" and self.delivered_okms_id(order_id, detail_id)

    def recent_statuses(self, statuses):
        """Recent orders in the given statuses, newest first: [(order_id, status)]."""
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - ORDER_LOOKBACK_SECONDS))
        with api_action("list recent orders"):
            order_ids = self.client.get("/me/order", params={"date.from": since})
        found = []
        for order_id in sorted(order_ids, reverse=True):
            status = self.status(order_id)
            if status in statuses:
                found.append((order_id, status))
        return found
