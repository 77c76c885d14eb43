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
  - O(state=absent) by O(name) also sees a KMS that is still being delivered, for example one ordered
    with O(wait=false). When no KMS has the name, the module looks for an order this name checked out,
    the same way O(state=present) adopts one. If that order is pending, the module waits for the delivery
    and terminates the delivered KMS; with O(wait=false), or while the order is not paid, it fails naming
    the order instead. It never reports the name as absent while a KMS may still be delivered under it.
    A KMS of that order that was delivered but never named is terminated as well.
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
      - The upper-case form of older Terraform configurations, for example V(EU_WEST_SBG), is accepted
        and means the same region (V(eu-west-sbg)).
      - Required to order a KMS. With O(id), must match the region of that KMS (a KMS cannot move).
      - Optional for O(state=absent) by O(name). When it is not given and no KMS has the name, the module
        looks for a pending order of this name in every region, with one request per region (it reads the
        account's carts by their description, which holds the name and the region).
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
      - The OVHcloud subsidiary the order cart is created for.
      - When not set, the account's own subsidiary, read from C(GET /me) (its C(ovhSubsidiary)) only when a
        KMS is actually ordered; an account of V(ovh-ca) or V(ovh-us) thus gets its own catalog and currency.
    type: str
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
      - With O(state=absent), a KMS of this name that is still being delivered is waited for and then
        terminated; when V(false), the module fails instead, naming the order, and a later run terminates it.
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
    to read the account (C(GET /me), only when ordering without O(ovh_subsidiary)), to read and rename
    services (C(/services*)), to read the email history, and C(/v2/okms/resource*).
  - Orders cannot be traced back to their cart, so when several names are ordered at once in the same
    region and runs are interrupted, a name may adopt the order placed for another; every name still
    ends up with exactly one KMS. For the same reason O(state=absent) terminates a KMS being delivered (or
    delivered and never named) only when exactly one such order could be this name's; with several it fails
    and lists them. A KMS named something else by the time it is delivered is never terminated.
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

- name: Terminate a KMS, destroying all its keys and credentials (waits for one still being delivered)
  ovhcloud.kms.okms_instance:
    name: staging
    region: eu-west-gra
    state: absent
    confirm_termination: true

# No connection option in the tasks: every module of the collection reads OVH_ENDPOINT and
# OVH_CLIENT_ID/OVH_CLIENT_SECRET (or OVH_APPLICATION_KEY/OVH_APPLICATION_SECRET/OVH_CONSUMER_KEY)
# from the environment, else ovh.conf. To set them in the playbook instead, put
# module_defaults for group/ovhcloud.kms.okms on the play, not on a block or a task:
# ansible-core does not merge module_defaults of the same group, the innermost one replaces the play's.
- name: KMS in Gravelines, with the credentials of the OVH_* environment variables
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
  description:
    - The order placed or adopted by this run; with O(state=absent), the order whose KMS was (or is being)
      delivered under this name.
  returned: when an order was placed or adopted
  type: int
  sample: 215342313
"""

import uuid

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_instance import (
    GONE_STATUSES,
    KmsOrder,
    account_subsidiary,
    find_instances,
    get_instance,
    instance_result,
    is_unnamed,
    normalize_region,
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

    def wait_for_delivery(self, ordering, order_id, detail_id):
        """The okmsId of an order once it is delivered."""
        return self.wait_for(
            lambda: ordering.status(order_id) == "delivered" and ordering.delivered_okms_id(order_id, detail_id),
            "order %s to be delivered" % order_id)

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
        ordering = KmsOrder(self.client, self.params["name"], self.params["region"])
        self.changed = True
        # Any of them will do: a KMS nobody has named yet holds nothing.
        adopted = next(iter(ordering.left_behind()), None)
        if self.module.check_mode:
            return None
        if adopted:
            self.order_id, detail_id, okms_id = adopted.order_id, adopted.detail_id, adopted.okms_id
        else:
            subsidiary = self.ovh_subsidiary()
            try:
                self.order_id = ordering.place(self.params["auto_pay"], subsidiary)
            except OvhAmbiguousRequestError as exc:
                self.module.fail_api_error(exc, changed=True, msg_prefix=(
                    "ordering a KMS: the order may or may not have been placed; run again, the module then "
                    "finds a pending order instead of ordering twice"))
            detail_id = ordering.is_okms_in_region(self.order_id)
            okms_id = None
        if not self.params["wait"]:
            return None
        if okms_id is None:
            okms_id = self.wait_for_delivery(ordering, self.order_id, detail_id)
        return self.wait_for(lambda: get_instance(self.client, okms_id),
                             "KMS %s (order %s) to answer" % (okms_id, self.order_id))

    def ovh_subsidiary(self):
        """The subsidiary to order with: the option, else the account's own (read only now, when ordering)."""
        if self.params["ovh_subsidiary"]:
            return self.params["ovh_subsidiary"]
        subsidiary = account_subsidiary(self.client)
        if not subsidiary:
            self.fail("the account's details (GET /me) give no ovhSubsidiary to order with; set ovh_subsidiary "
                      "(one of %s)" % ", ".join(SUBSIDIARIES))
        return subsidiary

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
        """Terminate the KMS; returns what was (or, in check mode, would be) terminated, for the diff."""
        origin = ""
        if resource is None:
            if self.params["id"]:
                return None
            left = self.order_left_behind()
            if left is None:
                return None
            origin = " (delivered for order %s of a KMS named '%s')" % (left.order_id, self.params["name"])
            if left.okms_id is None:
                resource = self.delivery_to_terminate(left)
                if resource is None or self.module.check_mode:
                    return resource
            else:
                resource = get_instance(self.client, left.okms_id)
                if resource is None:
                    return None
        okms_id = resource["id"]
        if not self.params["confirm_termination"]:
            credentials = self.client.get_all("/v2/okms/resource/%s/credential" % okms_id)
            self.fail("refusing to terminate KMS %s ('%s', %s)%s: terminating destroys its %s service key(s) and "
                      "%d access credential(s), and every ciphertext made with those keys can never be "
                      "decrypted again. Set confirm_termination: true to terminate it."
                      % (okms_id, (resource.get("iam") or {}).get("displayName"), resource["region"], origin,
                         resource.get("serviceKeyCount", "?"), len(credentials)))
        if self.module.check_mode:
            self.changed = True
            return resource
        service_id = service_id_of(self.client, okms_id)
        if service_id is None:
            return resource
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
                return resource
            raise
        if self.params["wait"]:
            self.wait_for(lambda: get_instance(self.client, okms_id, public_ca=False) is None,
                          "KMS %s to be terminated" % okms_id)
        return resource

    def order_left_behind(self):
        """The order of this name still delivering (or delivered unnamed), when no KMS has the name.

        Carts are described with the name and the region, so without a region each
        region's description is looked up: one request per region, made only when
        no KMS has the name. Orders do not say which cart they came from, so when
        several could be this name's, the module refuses to choose one to terminate.
        """
        name, region = self.params["name"], self.params["region"]
        found = []
        for candidate in [region] if region else region_ids(self.client):
            found.extend(KmsOrder(self.client, name, candidate).left_behind())
        if len(found) > 1:
            self.fail("%d orders could be the one placed for a KMS named '%s' (%s), and orders do not say which "
                      "cart they came from, so the module terminates none: run again once the other names' runs "
                      "have named their KMS%s, or terminate this one by id once it is delivered"
                      % (len(found), name, "; ".join("order %s in %s, %s" % (left.order_id, left.region, left.status)
                                                     for left in found),
                         "" if region else ", or give region"))
        if not found:
            return None
        self.order_id = found[0].order_id
        return found[0]

    def delivery_to_terminate(self, left):
        """The KMS a pending order delivers, once delivered; in check mode, what it will look like."""
        name = self.params["name"]
        where = "order %s (a KMS named '%s' in %s, status %s)" % (left.order_id, name, left.region, left.status)
        if not self.params["confirm_termination"]:
            self.fail("a KMS named '%s' is being delivered in %s (order %s, status %s): set confirm_termination: "
                      "true to terminate it once it is delivered" % (name, left.region, left.order_id, left.status))
        if left.status == "notPaid":
            self.fail("%s is not paid, and an order is delivered only once paid, so there is nothing to terminate "
                      "yet: pay it, then run again to terminate the KMS it delivers, or let it expire unpaid"
                      % where)
        if not self.params["wait"]:
            self.fail("%s is still being delivered and a KMS cannot be terminated before delivery; run again "
                      "(with wait: true the module waits for the delivery, then terminates it)" % where)
        if self.module.check_mode:
            self.changed = True
            return {"region": left.region, "iam": {"displayName": name}}
        ordering = KmsOrder(self.client, name, left.region)
        okms_id = self.wait_for_delivery(ordering, left.order_id, left.detail_id)
        resource = self.wait_for(lambda: get_instance(self.client, okms_id),
                                 "KMS %s (order %s) to answer" % (okms_id, left.order_id))
        display_name = (resource.get("iam") or {}).get("displayName")
        if not is_unnamed(resource) and display_name != name:
            # Another name adopted this order meanwhile: its KMS is not ours to terminate.
            self.fail("order %s was delivered as KMS %s, which is now named '%s', not '%s': not terminating it"
                      % (left.order_id, okms_id, display_name, name))
        return resource


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
    params["region"] = normalize_region(params["region"])
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
            ovh_subsidiary=dict(type="str", choices=SUBSIDIARIES),
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
            before = reconciler.ensure_absent(before)
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
