#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: okms_instance
short_description: Order, find, name and terminate an OVHcloud KMS
version_added: 0.1.0
description:
  - Makes sure an OVHcloud Key Management Service (OKMS) instance exists with the given display name
    in the given region, or that it is gone.
  - A KMS is bought, not created with one API call. When none matches, the module orders one through
    the OVHcloud cart (plan C(okms), monthly, free of charge; billing is per key), pays the order,
    waits for delivery, sets the display name and waits until the instance answers.
  - A run interrupted after checkout does not lead to a second KMS. The cart of each order is
    described with the name and region it is for. When such a checked-out cart still exists (OVHcloud
    keeps carts for a day or more), the module looks for a KMS order placed in that region in the last
    7 days that is still pending, or delivered but whose KMS still has its default display name (its
    id), and adopts it instead of placing a new order.
  - Terminating a KMS destroys every key and credential it holds, so O(state=absent) needs
    O(confirm_termination=true).
author:
  - ovhcloud.kms maintainers (@ovh)
extends_documentation_fragment:
  - ovhcloud.kms.api
  - ovhcloud.kms.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
  action_group:
    support: full
  platform:
    support: N/A
    platforms: all
options:
  id:
    description:
      - The KMS id (okmsId, a UUID).
      - With O(name), renames the KMS found by id.
      - One of O(id) and O(name) is required.
    type: str
  name:
    description:
      - The display name of the KMS (C(iam.displayName) in the API).
      - Without O(id), identifies the KMS together with O(region); the display name must be unique in
        the region, otherwise the module fails and lists the matching ids.
    type: str
  region:
    description:
      - The region of the KMS, for example V(eu-west-rbx); checked against the API's list of regions.
      - Required to order a KMS. With O(id), must match the region of that KMS (a KMS cannot move).
    type: str
  state:
    description:
      - V(present) finds the KMS (ordering one when none matches) and sets its display name.
      - V(absent) terminates it. Already gone is not a change.
    type: str
    choices: [present, absent]
    default: present
  ovh_subsidiary:
    description:
      - The OVHcloud subsidiary of the account, used for the order cart.
    type: str
    default: FR
    choices: [ASIA, AU, CA, CZ, DE, ES, EU, FI, FR, GB, IE, IN, IT, LT, MA, NL, PL, PT, QC, SG, SN, TN, US, WE, WS]
  auto_pay:
    description:
      - Pay the order at checkout with the account's preferred payment method. If that does not settle
        it, the module pays with the default payment method, or, for a free order, with the
        account's registered payment mean, as the Terraform provider does.
      - When V(false), the order is placed but left unpaid and the module returns right after checkout
        with RV(order_id); once the order is paid in the Control Panel, a later run adopts it.
    type: bool
    default: true
  wait:
    description:
      - Wait for the order to be delivered and the KMS to answer (O(state=present)), or for the KMS to
        be gone (O(state=absent)).
      - When V(false), the module returns right after checkout with RV(order_id); a later run adopts the
        pending order.
    type: bool
    default: true
  wait_timeout:
    description:
      - How long to wait, in seconds, for delivery, the termination email and termination.
      - Polling is adaptive. The first check comes after half a second, then the delay doubles up to 15 seconds.
    type: int
    default: 1800
  confirm_termination:
    description:
      - Must be V(true) for O(state=absent) to terminate an existing KMS. Without it the module fails and
        says how many service keys and credentials would be destroyed.
    type: bool
    default: false
  termination_token:
    description:
      - The token of the termination email OVHcloud sent for this KMS, to confirm a termination that
        was already requested.
      - When not set, the module requests the termination and reads the token from the account's
        email history (C(/me/notification/email/history)), as the Terraform provider does.
    type: str
notes:
  - The credentials need the rights to order (C(/order/cart*), C(/me/order*), C(/me/payment/method)),
    to read and rename services (C(/services*)), to read the email history, and C(/v2/okms/resource*).
  - Orders cannot be traced back to their cart, so when several names are ordered at once in the same
    region and runs are interrupted, a name may adopt the order placed for another; every name still
    ends up with exactly one KMS.
seealso:
  - module: ovhcloud.kms.okms_instance_info
"""

EXAMPLES = r"""
- name: Make sure the production KMS exists in Roubaix
  ovhcloud.kms.okms_instance:
    name: production
    region: eu-west-rbx
  register: kms

- name: Show its REST endpoint
  ansible.builtin.debug:
    msg: "{{ kms.instance.id }} answers on {{ kms.instance.rest_endpoint }}"

- name: Rename a KMS known by id
  ovhcloud.kms.okms_instance:
    id: 5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10
    name: production-eu

- name: Order without waiting for delivery (a later run picks the order up)
  ovhcloud.kms.okms_instance:
    name: staging
    region: eu-west-gra
    wait: false

- name: Terminate a KMS, destroying all its keys and credentials
  ovhcloud.kms.okms_instance:
    name: staging
    region: eu-west-gra
    state: absent
    confirm_termination: true

- name: Use environment variables (OVH_ENDPOINT, OVH_CLIENT_ID, ...) for every module of the collection
  module_defaults:
    group/ovhcloud.kms.okms:
      endpoint: ovh-eu
  block:
    - name: KMS in Gravelines
      ovhcloud.kms.okms_instance:
        name: backups
        region: eu-west-gra
"""

RETURN = r"""
instance:
  description:
    - The KMS, re-read after every change. Empty when O(state=absent), or when O(wait=false) and the
      order is not delivered yet.
  returned: always
  type: dict
  contains:
    id:
      description: The KMS id (okmsId).
      type: str
      sample: 5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10
    name:
      description: The display name.
      type: str
      sample: production
    region:
      description: The region.
      type: str
      sample: eu-west-rbx
    rest_endpoint:
      description: URL of the KMS REST API (data plane, mutual TLS).
      type: str
      sample: https://eu-west-rbx.okms.ovh.net
    kmip_endpoint:
      description: Host and port of the KMIP endpoint.
      type: str
      sample: eu-west-rbx.okms.ovh.net:5696
    kmip_rsa_endpoint:
      description: Host and port of the KMIP endpoint for RSA certificates.
      type: str
    swagger_endpoint:
      description: URL of the data plane's API description.
      type: str
    service_key_count:
      description: Number of service keys.
      type: int
      sample: 3
    kmip_object_count:
      description: Number of KMIP objects.
      type: int
    secret_count:
      description: Number of secrets.
      type: int
    secret_version_count:
      description: Number of secret versions.
      type: int
    iam:
      description: IAM metadata (C(id), C(urn), C(display_name), C(tags), C(state)).
      type: dict
    public_ca:
      description: PEM of the CA that issues the KMS's ECDSA access certificates.
      type: str
    public_rsa_ca:
      description: PEM of the CA that issues the KMS's RSA access certificates.
      type: str
order_id:
  description: The order placed or adopted by this run.
  returned: when an order was placed or adopted
  type: int
  sample: 215342313
"""

import uuid

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_instance import (
    GONE_STATUSES,
    PENDING_ORDER_STATUSES,
    KmsOrder,
    find_instances,
    get_instance,
    instance_result,
    region_ids,
    service_id_of,
    termination_token_from_emails,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_polling import PollTimeout, poll_until
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
)

SUBSIDIARIES = ["ASIA", "AU", "CA", "CZ", "DE", "ES", "EU", "FI", "FR", "GB", "IE", "IN", "IT", "LT", "MA", "NL",
                "PL", "PT", "QC", "SG", "SN", "TN", "US", "WE", "WS"]
NAME_MAX_LENGTH = 255


def summary(resource):
    """What diff mode shows of a KMS."""
    if not resource:
        return {}
    return {"id": resource.get("id"), "name": (resource.get("iam") or {}).get("displayName"),
            "region": resource.get("region")}


class InstanceReconciler:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = module.client
        self.changed = False
        self.order_id = None

    def fail(self, msg, **extra):
        if self.order_id is not None:
            extra["order_id"] = self.order_id
        self.module.fail_json(msg=msg, changed=self.changed, **extra)

    def wait_for(self, check, what):
        try:
            return poll_until(check, self.params["wait_timeout"], what)
        except PollTimeout as exc:
            self.fail("%s (wait_timeout=%s); run again to resume" % (exc, self.params["wait_timeout"]))

    # -- lookup -----------------------------------------------------------

    def lookup(self):
        """The existing KMS (API shape) or None; fails on ambiguity."""
        okms_id, name, region = self.params["id"], self.params["name"], self.params["region"]
        if okms_id:
            resource = get_instance(self.client, okms_id)
            if resource and region and resource["region"] != region:
                self.fail("KMS %s is in region %s, not %s: a KMS cannot change region"
                          % (okms_id, resource["region"], region))
            return resource
        if region and self.params["state"] == "present":
            known = region_ids(self.client)
            if region not in known:
                self.fail("region '%s' is not an OKMS region; allowed: %s" % (region, ", ".join(known)))
        matches = find_instances(self.client, name=name, region=region)
        if len(matches) > 1:
            self.fail("%d KMS instances are named '%s'%s: %s; use id to choose one"
                      % (len(matches), name, " in %s" % region if region else "",
                         ", ".join(sorted("%s (%s)" % (m["id"], m["region"]) for m in matches))))
        if not matches:
            return None
        return get_instance(self.client, matches[0]["id"])

    # -- present ----------------------------------------------------------

    def ensure_present(self, resource):
        """The KMS after convergence; in check mode, what it would look like (id unknown before ordering)."""
        if resource is None:
            if self.params["id"]:
                self.fail("KMS %s does not exist; to order a new one give name and region, without id"
                          % self.params["id"])
            resource = self.order()
            if resource is None:
                if self.module.check_mode:
                    return {"region": self.params["region"], "iam": {"displayName": self.params["name"]}}
                return None
        if self.ensure_name(resource) and self.module.check_mode:
            return dict(resource, iam=dict(resource.get("iam") or {}, displayName=self.params["name"]))
        return get_instance(self.client, resource["id"]) if self.changed and not self.module.check_mode else resource

    def order(self):
        """Adopt an interrupted order or place a new one; the delivered KMS, or None when not waiting."""
        ordering = KmsOrder(self.client, self.params["name"], self.params["region"], self.params["ovh_subsidiary"])
        self.changed = True
        adopted = self.adoptable_order(ordering)
        if self.module.check_mode:
            return None
        if adopted:
            self.order_id, detail_id, okms_id = adopted
        else:
            try:
                self.order_id = ordering.place(self.params["auto_pay"])
            except OvhAmbiguousRequestError as exc:
                self.module.fail_api_error(exc, changed=True, msg_prefix=(
                    "ordering a KMS: the order may or may not have been placed; run again, the module then "
                    "finds a pending order instead of ordering twice"))
            detail_id = ordering.is_okms_in_region(self.order_id)
            okms_id = None
        if not self.params["wait"]:
            return None
        if okms_id is None:
            okms_id = self.wait_for(
                lambda: ordering.status(self.order_id) == "delivered"
                and ordering.delivered_okms_id(self.order_id, detail_id),
                "order %s to be delivered" % self.order_id)
        return self.wait_for(lambda: get_instance(self.client, okms_id),
                             "KMS %s (order %s) to answer" % (okms_id, self.order_id))

    def adoptable_order(self, ordering):
        """(order_id, detail_id, okms_id or None) of an order an interrupted run left behind, or None."""
        if not ordering.checked_out_before():
            # This name never reached checkout: any pending order belongs to someone else.
            return None
        # This only runs after an interrupted run of this name, so scanning recent orders is affordable.
        orders = ordering.recent_orders(PENDING_ORDER_STATUSES + ("delivered",))
        for order_id, detail_id, status in orders:
            if status != "delivered":
                return order_id, detail_id, None
        # Listed after the orders, so that a KMS delivered meanwhile is seen.
        unnamed = set(r["id"] for r in find_instances(self.client, region=self.params["region"])
                      if (r.get("iam") or {}).get("displayName") in (None, "", r["id"]))
        for order_id, detail_id, status in orders:
            okms_id = ordering.delivered_okms_id(order_id, detail_id)
            if okms_id in unnamed:
                return order_id, detail_id, okms_id
        return None

    def ensure_name(self, resource):
        """Set the display name; returns whether it differed."""
        name = self.params["name"]
        if name is None or (resource.get("iam") or {}).get("displayName") == name:
            return False
        self.changed = True
        if self.module.check_mode:
            return True
        service_id = service_id_of(self.client, resource["id"])
        if service_id is None:
            self.fail("KMS %s has no billing service to rename" % resource["id"])
        self.client.put("/services/%s" % service_id, {"displayName": name})
        if self.params["wait"]:
            # The display name reaches IAM asynchronously on OVHcloud.
            self.wait_for(lambda: ((get_instance(self.client, resource["id"], public_ca=False) or {})
                                   .get("iam") or {}).get("displayName") == name,
                          "KMS %s to show its new name" % resource["id"])
        return True

    # -- absent -----------------------------------------------------------

    def ensure_absent(self, resource):
        if resource is None:
            return
        okms_id = resource["id"]
        if not self.params["confirm_termination"]:
            credentials = self.client.get_all("/v2/okms/resource/%s/credential" % okms_id)
            self.fail("refusing to terminate KMS %s ('%s', %s): terminating destroys its %s service key(s) and "
                      "%d access credential(s), and every ciphertext made with those keys can never be "
                      "decrypted again. Set confirm_termination: true to terminate it."
                      % (okms_id, (resource.get("iam") or {}).get("displayName"), resource["region"],
                         resource.get("serviceKeyCount", "?"), len(credentials)))
        if self.module.check_mode:
            self.changed = True
            return
        service_id = service_id_of(self.client, okms_id)
        if service_id is None:
            return
        token = self.params["termination_token"]
        try:
            if not token:
                seen = set(self.client.get("/me/notification/email/history"))
                self.client.post("/services/%s/terminate" % service_id)
                # Requesting termination is already a change, even if confirming fails.
                self.changed = True
                token = self.wait_for(
                    lambda: termination_token_from_emails(self.client, service_id, seen),
                    "the termination email of KMS %s" % okms_id)
            self.client.post("/services/%s/terminate/confirm" % service_id, {"token": token})
            self.changed = True
        except OvhApiError as exc:
            if exc.status in GONE_STATUSES:
                return
            raise
        if self.params["wait"]:
            self.wait_for(lambda: get_instance(self.client, okms_id, public_ca=False) is None,
                          "KMS %s to be terminated" % okms_id)


def validate(module):
    """Refuse bad input before any request."""
    params = module.params
    if params["id"]:
        try:
            params["id"] = str(uuid.UUID(params["id"]))
        except ValueError:
            module.fail_json(msg="id must be a KMS id (a UUID such as 5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10), "
                                 "got '%s'" % params["id"])
    if params["name"] is not None and not 1 <= len(params["name"].strip()) <= NAME_MAX_LENGTH:
        module.fail_json(msg="name must be 1 to %d characters, not blank" % NAME_MAX_LENGTH)
    if params["state"] == "present" and not params["id"] and not params["region"]:
        module.fail_json(msg="region is required to find or order a KMS by name (state=present without id)")
    if params["wait_timeout"] <= 0:
        module.fail_json(msg="wait_timeout must be a positive number of seconds, got %s" % params["wait_timeout"])


def main():
    module = OkmsModule(
        argument_spec=dict(
            id=dict(type="str"),
            name=dict(type="str"),
            region=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            ovh_subsidiary=dict(type="str", default="FR", choices=SUBSIDIARIES),
            auto_pay=dict(type="bool", default=True),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=1800),
            confirm_termination=dict(type="bool", default=False),
            termination_token=dict(type="str", no_log=True),
        ),
        required_one_of=[("id", "name")],
        supports_check_mode=True,
    )
    validate(module)
    reconciler = InstanceReconciler(module)
    try:
        before = reconciler.lookup()
        if module.params["state"] == "present":
            after = reconciler.ensure_present(before)
        else:
            reconciler.ensure_absent(before)
            after = None
    except OvhApiError as exc:
        module.fail_api_error(exc, changed=reconciler.changed)
    result = dict(changed=reconciler.changed, instance=instance_result(after) if after and after.get("id") else {})
    if reconciler.order_id is not None:
        result["order_id"] = reconciler.order_id
    if module._diff:
        result["diff"] = dict(before=summary(before), after=summary(after))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
