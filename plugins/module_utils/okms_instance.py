# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""KMS instances: how they are read, shaped for Ansible, ordered and terminated.

Shared by okms_instance and okms_instance_info so both return the same shape.
A KMS is not created with a POST on /v2/okms: it is ordered through the v1
cart and billing flow, delivered asynchronously, and terminated through the
service it belongs to, with a token OVHcloud emails to the account.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time
from collections import namedtuple

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError

PLAN_CODE = "okms"
RESOURCE_PATH = "/v2/okms/resource"
# Order statuses that may still become a KMS.
PENDING_ORDER_STATUSES = ("notPaid", "checking", "delivering")
# HTTP statuses meaning the service no longer exists (460: "service expired").
GONE_STATUSES = (404, 460)
# Pending orders older than this are not adopted by a later run.
ORDER_LOOKBACK_SECONDS = 7 * 86400

# An order a run of this name checked out and did not see through: still pending
# (okms_id None), or delivered but its KMS never named (okms_id set).
OrderLeftBehind = namedtuple("OrderLeftBehind", ["order_id", "detail_id", "status", "okms_id", "region"])


def instance_path(okms_id):
    return "%s/%s" % (RESOURCE_PATH, okms_id)


def instance_result(resource):
    """The API's KMS, in the snake_case shape both modules return."""
    result = camel_dict_to_snake_dict(resource, ignore_list=["tags"])
    result["name"] = (resource.get("iam") or {}).get("displayName")
    result.setdefault("public_ca", None)
    result.setdefault("public_rsa_ca", None)
    return result


def get_instance(client, okms_id, public_ca=True):
    """The KMS as the API returns it, or None when it does not exist."""
    try:
        return client.get(instance_path(okms_id), params={"publicCA": "true"} if public_ca else None)
    except OvhApiError as exc:
        if exc.status in GONE_STATUSES:
            return None
        raise


def is_unnamed(resource):
    """Whether a KMS still has the display name it is delivered with (its id)."""
    return (resource.get("iam") or {}).get("displayName") in (None, "", resource.get("id"))


def matches(resource, name=None, region=None):
    """Whether a KMS has the given display name and region (None matches anything)."""
    return ((name is None or (resource.get("iam") or {}).get("displayName") == name)
            and (region is None or resource.get("region") == region))


def find_instances(client, name=None, region=None):
    """Every KMS (all pages) whose display name and region match the given filters."""
    return [resource for resource in client.get_all(RESOURCE_PATH) if matches(resource, name, region)]


def service_id_of(client, okms_id):
    """The billing service of a KMS (for its display name and termination), or None when gone."""
    ids = client.get("/services", params={"resourceName": okms_id})
    return ids[0] if ids else None


def region_ids(client):
    return sorted(region["id"] for region in client.get_all("/v2/okms/reference/regions"))


def normalize_region(region):
    """The API's region id for a user's spelling: the Terraform provider's older form EU_WEST_SBG is eu-west-sbg."""
    if region is None:
        return None
    return region.strip().lower().replace("_", "-")


def account_subsidiary(client):
    """The account's own OVHcloud subsidiary (``ovhSubsidiary`` of ``GET /me``), or None when it says none."""
    return (client.get("/me") or {}).get("ovhSubsidiary") or None


class KmsOrder:
    """The v1 ordering flow for one named KMS in one region."""

    def __init__(self, client, name, region):
        self.client = client
        self.region = region
        # Orders do not say which cart they came from, but carts can be found by
        # description: it records which name a checkout was for.
        self.cart_description = "ovhcloud.kms okms_instance %s in %s" % (name, region)

    def checked_out_before(self):
        """Whether a cart of this name and region was checked out (and has not expired yet)."""
        for cart_id in self.client.get("/order/cart", params={"description": self.cart_description}):
            try:
                if self.client.get("/order/cart/%s" % cart_id).get("readOnly"):
                    return True
            except OvhApiError as exc:
                if exc.status != 404:  # expired between the two calls
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
        orders = self.recent_orders(PENDING_ORDER_STATUSES + ("delivered",))
        found = [OrderLeftBehind(order_id, detail_id, status, None, self.region)
                 for order_id, detail_id, status in orders if status != "delivered"]
        delivered = [(order_id, detail_id, status) for order_id, detail_id, status in orders if status == "delivered"]
        if not delivered:
            return found
        # Listed after the orders, so that a KMS delivered meanwhile is seen.
        unnamed = set(r["id"] for r in find_instances(self.client, region=self.region) if is_unnamed(r))
        for order_id, detail_id, status in delivered:
            okms_id = self.delivered_okms_id(order_id, detail_id)
            if okms_id in unnamed:
                found.append(OrderLeftBehind(order_id, detail_id, status, okms_id, self.region))
        return found

    def place(self, auto_pay, ovh_subsidiary):
        """Cart → item → region → checkout (→ payment); returns the order id.

        The cart is deleted if anything fails before checkout, so a failed run
        leaves nothing behind.
        """
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
        order = self.client.post("/order/cart/%s/checkout" % cart_id, {
            "autoPayWithPreferredPaymentMethod": bool(auto_pay), "waiveRetractationPeriod": True})
        order_id = order["orderId"]
        if auto_pay and self.status(order_id) == "notPaid":
            self.pay(order_id, order)
        return order_id

    def _discard_cart(self, cart_id):
        try:
            self.client.delete("/order/cart/%s" % cart_id)
        except OvhApiError:
            pass  # an abandoned cart expires by itself; the original error matters more

    def pay(self, order_id, order):
        """Pay an order the preferred payment method did not settle, as Terraform does."""
        methods = self.client.get("/me/payment/method", params={"default": "true"})
        if methods:
            self.client.post("/me/order/%s/pay" % order_id, {"paymentMethod": {"id": methods[0]}})
            return
        price = ((order.get("prices") or {}).get("withTax") or {}).get("value")
        if price == 0:
            # A free order can be settled without any payment method.
            self.client.post("/me/order/%s/payWithRegisteredPaymentMean" % order_id,
                             {"paymentMean": "fidelityAccount"})
            return
        raise OvhApiError("order %s is not paid and the account has no default payment method; pay it in "
                          "the OVHcloud Control Panel, then run again" % order_id)

    def status(self, order_id):
        return self.client.get("/me/order/%s/status" % order_id)

    def is_okms_in_region(self, order_id):
        """Whether an order is a KMS order for this region; returns its okms detail id or None."""
        for detail_id in self.client.get("/me/order/%s/details" % order_id):
            extension = self.client.get("/me/order/%s/details/%s/extension" % (order_id, detail_id))
            order = extension.get("order") or {}
            if (order.get("plan") or {}).get("code") != PLAN_CODE:
                continue
            regions = [c.get("value") for c in order.get("configurations") or [] if c.get("label") == "region"]
            if self.region in regions:
                return detail_id
        return None

    def delivered_okms_id(self, order_id, detail_id):
        """The okmsId of a delivered order ("*" or empty until delivery)."""
        domain = self.client.get("/me/order/%s/details/%s" % (order_id, detail_id)).get("domain")
        return domain if domain and domain != "*" else None

    def recent_orders(self, statuses):
        """Recent KMS orders for this region in the given statuses, newest first: [(order_id, detail_id, status)]."""
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - ORDER_LOOKBACK_SECONDS))
        found = []
        for order_id in sorted(self.client.get("/me/order", params={"date.from": since}), reverse=True):
            status = self.status(order_id)
            if status not in statuses:
                continue
            detail_id = self.is_okms_in_region(order_id)
            if detail_id is not None:
                found.append((order_id, detail_id, status))
        return found


def termination_token_from_emails(client, service_id, seen_email_ids):
    """The token of the newest termination email for a service, ignoring emails seen before asking."""
    pattern = re.compile(r"confirmTerminate\?id=%s&token=([A-Za-z0-9]+)" % re.escape(str(service_id)))
    for email_id in sorted(client.get("/me/notification/email/history"), reverse=True):
        if email_id in seen_email_ids:
            continue
        match = pattern.search(client.get("/me/notification/email/history/%s" % email_id).get("body") or "")
        if match:
            return match.group(1)
    return None
