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
  - A write whose answer is lost (a dropped connection, a 5xx) is settled in the same run by re-reading;
    a rename or a termination request that did not take effect is sent again. A checkout whose answer is
    lost is not, because whether the order was placed only shows later. The module then fails, and the
    next run adopts the pending order as above rather than ordering twice.
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
  - ovhcloud.kms.attributes.api_module
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
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


from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_instance import (
    NAME_MAX_LENGTH,
    SUBSIDIARIES,
    display_name,
    instance_to_diff,
    instance_to_result,
    is_unnamed,
    normalize_region,
    parse_okms_id,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_instance_api import GONE_STATUSES, InstanceApi
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_polling import PollTimeout, poll_until
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_reconciler import ABSENT, Reconciler, TaskError
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
)


class InstanceRequest:
    """What the task asks for, checked before any request."""

    def __init__(self, params):
        try:
            self.okms_id = parse_okms_id(params["id"]) if params["id"] else None
        except ValueError as exc:
            raise TaskError(str(exc))
        self.name = params["name"]
        if self.name is not None and not 1 <= len(self.name.strip()) <= NAME_MAX_LENGTH:
            raise TaskError("name must be 1 to %d characters, not blank" % NAME_MAX_LENGTH)
        self.region = normalize_region(params["region"])
        self.state = params["state"]
        if self.state == "present" and not self.okms_id and not self.region:
            raise TaskError("region is required to find or order a KMS by name (state=present without id)")
        self.wait_timeout = params["wait_timeout"]
        if self.wait_timeout <= 0:
            raise TaskError("wait_timeout must be a positive number of seconds, got %s" % self.wait_timeout)
        self.ovh_subsidiary = params["ovh_subsidiary"]
        self.auto_pay = params["auto_pay"]
        self.wait = params["wait"]
        self.confirm_termination = params["confirm_termination"]
        self.termination_token = params["termination_token"]


class InstanceReconciler(Reconciler):
    """Finds the KMS once (by id, or by name and region), then orders, adopts, renames or terminates it."""

    to_diff = instance_to_diff

    def __init__(self, module):
        super(InstanceReconciler, self).__init__(module)
        self.api = None
        # The order placed or adopted (or, for state=absent, delivering under the name), returned as order_id.
        self.order_id = None

    def reconcile(self):
        try:
            return self.converge()
        except TaskError as exc:
            if self.order_id is not None:
                exc.result.setdefault("order_id", self.order_id)
            raise

    def converge(self):
        self.request = InstanceRequest(self.params)
        self.api = InstanceApi(self.client)
        before = self.lookup()
        if self.request.state == "present":
            after = self.ensure_present(before)
        else:
            before = self.ensure_absent(before)
            after = None
        # Before delivery (wait=false, or check mode) there is no KMS to return yet.
        result = {"instance": instance_to_result(after) if after and after.get("id") else dict(ABSENT)}
        if self.order_id is not None:
            result["order_id"] = self.order_id
        result.update(self.diff(before, after))
        return result

    def wait_for(self, check, what):
        try:
            return poll_until(check, self.request.wait_timeout, what)
        except PollTimeout as exc:
            raise TaskError("%s (wait_timeout=%s); run again to resume" % (exc, self.request.wait_timeout))

    def wait_for_delivery(self, ordering, order_id, detail_id):
        """The okmsId of an order once it is delivered."""
        return self.wait_for(lambda: ordering.delivered(order_id, detail_id), "order %s to be delivered" % order_id)

    def wait_for_answer(self, okms_id, order_id):
        """The delivered KMS once it answers."""
        return self.wait_for(lambda: self.api.get(okms_id), "KMS %s (order %s) to answer" % (okms_id, order_id))

    # -- lookup -----------------------------------------------------------

    def lookup(self):
        """The existing KMS (API shape) or None; fails on ambiguity."""
        okms_id, name, region = self.request.okms_id, self.request.name, self.request.region
        if okms_id:
            resource = self.api.get(okms_id)
            if resource and region and resource["region"] != region:
                raise TaskError("KMS %s is in region %s, not %s: a KMS cannot change region"
                                % (okms_id, resource["region"], region))
            return resource
        found = self.api.list(name=name, region=region)
        if len(found) > 1:
            raise TaskError("%d KMS instances are named '%s'%s: %s; use id to choose one"
                            % (len(found), name, " in %s" % region if region else "",
                               ", ".join(sorted("%s (%s)" % (r["id"], r["region"]) for r in found))))
        if not found:
            # Checked only when a KMS would be ordered there: one that exists proves its region.
            if region and self.request.state == "present":
                known = self.api.region_ids()
                if region not in known:
                    raise TaskError("region '%s' is not an OKMS region; allowed: %s" % (region, ", ".join(known)))
            return None
        return self.api.get(found[0]["id"])

    # -- present ----------------------------------------------------------

    def ensure_present(self, resource):
        """The KMS after convergence; in check mode, what it would look like (id unknown before ordering)."""
        request = self.request
        if resource is None:
            if request.okms_id:
                raise TaskError("KMS %s does not exist; to order a new one give name and region, without id"
                                % request.okms_id)
            resource = self.order()
            if resource is None:
                if self.check_mode:
                    return {"region": request.region, "iam": {"displayName": request.name}}
                return None
        if self.ensure_name(resource) and self.check_mode:
            return dict(resource, iam=dict(resource.get("iam") or {}, displayName=request.name))
        return self.api.get(resource["id"]) if self.changed and not self.check_mode else resource

    def order(self):
        """Adopt an interrupted order or place a new one; the delivered KMS, or None when not waiting."""
        ordering = self.api.order(self.request.name, self.request.region)
        # Any of them will do: a KMS nobody has named yet holds nothing.
        adopted = next(iter(ordering.left_behind()), None)
        if adopted:
            # Adopting is a change too: the adopted KMS gets the name.
            self.changed = True
            if self.check_mode:
                return None
            self.order_id, detail_id, okms_id = adopted.order_id, adopted.detail_id, adopted.okms_id
        else:
            self.order_id = self.place_order(ordering)
            if self.check_mode:
                return None
            detail_id = ordering.okms_detail_id(self.order_id)
            okms_id = None
        if not self.request.wait:
            return None
        if okms_id is None:
            okms_id = self.wait_for_delivery(ordering, self.order_id, detail_id)
        return self.wait_for_answer(okms_id, self.order_id)

    def place_order(self, ordering):
        """Check out a new order (and pay it, with auto_pay); its id, or None in check mode."""
        try:
            order = self.apply(self.check_out, ordering)
        except OvhAmbiguousRequestError as exc:
            raise TaskError("ordering a KMS: the order may or may not have been placed; run again, the module then "
                            "finds a pending order instead of ordering twice: %s" % exc, api_error=exc.to_result())
        if order is None:
            return None
        self.order_id = order["orderId"]
        if self.request.auto_pay:
            self.apply(ordering.settle, order)
        return self.order_id

    def check_out(self, ordering):
        """The checkout of a new order; the account's subsidiary is read only here, when a KMS is really ordered."""
        return ordering.check_out(self.request.auto_pay, self.ovh_subsidiary())

    def ovh_subsidiary(self):
        """The subsidiary to order with: the option, else the account's own (read only now, when ordering)."""
        if self.request.ovh_subsidiary:
            return self.request.ovh_subsidiary
        subsidiary = self.api.account_subsidiary()
        if not subsidiary:
            raise TaskError("the account's details (GET /me) give no ovhSubsidiary to order with; set ovh_subsidiary "
                            "(one of %s)" % ", ".join(SUBSIDIARIES))
        return subsidiary

    def ensure_name(self, resource):
        """Set the display name; returns whether it differed."""
        name = self.request.name
        if name is None or display_name(resource) == name:
            return False
        renamed = self.apply(self.api.rename, resource["id"], name)
        if renamed is False:
            raise TaskError("KMS %s has no billing service to rename" % resource["id"])
        if renamed and self.request.wait:
            # The display name reaches IAM asynchronously on OVHcloud.
            self.wait_for(lambda: display_name(self.api.get(resource["id"], public_ca=False) or {}) == name,
                          "KMS %s to show its new name" % resource["id"])
        return True

    # -- absent -----------------------------------------------------------

    def ensure_absent(self, resource):
        """Terminate the KMS; returns what was (or, in check mode, would be) terminated, for the diff."""
        request = self.request
        origin = ""
        if resource is None:
            if request.okms_id:
                return None
            left = self.order_left_behind()
            if left is None:
                return None
            origin = " (delivered for order %s of a KMS named '%s')" % (left.order_id, request.name)
            if left.okms_id is None:
                resource = self.delivery_to_terminate(left)
            else:
                resource = self.api.get(left.okms_id)
                if resource is None:
                    return None
        if not request.confirm_termination:
            okms_id = resource["id"]
            raise TaskError("refusing to terminate KMS %s ('%s', %s)%s: terminating destroys its %s service key(s) "
                            "and %d access credential(s), and every ciphertext made with those keys can never be "
                            "decrypted again. Set confirm_termination: true to terminate it."
                            % (okms_id, display_name(resource), resource["region"], origin,
                               resource.get("serviceKeyCount", "?"), self.api.credential_count(okms_id)))
        if self.check_mode:
            # Predicted: a real run reads the termination email (or waits for a delivery) before its writes.
            self.changed = True
        else:
            self.terminate(resource["id"])
        return resource

    def terminate(self, okms_id):
        """Ask for the termination email (unless the task gives its token), confirm, wait until the KMS is gone."""
        service_id = self.api.service_id(okms_id)
        if service_id is None:
            return  # terminated meanwhile
        token = self.request.termination_token
        try:
            if not token:
                seen = set(self.api.email_ids())
                # Requesting termination is already a change, even if confirming fails.
                self.apply(self.api.request_termination, okms_id, service_id, seen)
                token = self.wait_for(lambda: self.api.termination_token(service_id, seen),
                                      "the termination email of KMS %s" % okms_id)
            self.apply(self.api.confirm_termination, okms_id, service_id, token)
        except OvhApiError as exc:
            if exc.status in GONE_STATUSES:
                return
            raise
        if self.request.wait:
            self.wait_for(lambda: self.api.get(okms_id, public_ca=False) is None, "KMS %s to be terminated" % okms_id)

    def order_left_behind(self):
        """The order of this name still delivering (or delivered unnamed), when no KMS has the name.

        Carts are described with the name and the region, so without a region each
        region's description is looked up: one request per region, made only when
        no KMS has the name. Orders do not say which cart they came from, so when
        several could be this name's, the module refuses to choose one to terminate.
        """
        name, region = self.request.name, self.request.region
        found = []
        for candidate in [region] if region else self.api.region_ids():
            found.extend(self.api.order(name, candidate).left_behind())
        if len(found) > 1:
            raise TaskError("%d orders could be the one placed for a KMS named '%s' (%s), and orders do not say which "
                            "cart they came from, so the module terminates none: run again once the other names' "
                            "runs have named their KMS%s, or terminate this one by id once it is delivered"
                            % (len(found), name,
                               "; ".join("order %s in %s, %s" % (left.order_id, left.region, left.status)
                                         for left in found),
                               "" if region else ", or give region"))
        if not found:
            return None
        self.order_id = found[0].order_id
        return found[0]

    def delivery_to_terminate(self, left):
        """The KMS a pending order delivers, once delivered; in check mode, what it will look like (no id yet)."""
        name = self.request.name
        where = "order %s (a KMS named '%s' in %s, status %s)" % (left.order_id, name, left.region, left.status)
        if not self.request.confirm_termination:
            raise TaskError("a KMS named '%s' is being delivered in %s (order %s, status %s): set confirm_termination: "
                            "true to terminate it once it is delivered"
                            % (name, left.region, left.order_id, left.status))
        if left.status == "notPaid":
            raise TaskError("%s is not paid, and an order is delivered only once paid, so there is nothing to "
                            "terminate yet: pay it, then run again to terminate the KMS it delivers, or let it expire "
                            "unpaid" % where)
        if not self.request.wait:
            raise TaskError("%s is still being delivered and a KMS cannot be terminated before delivery; run again "
                            "(with wait: true the module waits for the delivery, then terminates it)" % where)
        if self.check_mode:
            return {"region": left.region, "iam": {"displayName": name}}
        okms_id = self.wait_for_delivery(self.api.order(name, left.region), left.order_id, left.detail_id)
        resource = self.wait_for_answer(okms_id, left.order_id)
        if not is_unnamed(resource) and display_name(resource) != name:
            # Another name adopted this order meanwhile: its KMS is not ours to terminate.
            raise TaskError("order %s was delivered as KMS %s, which is now named '%s', not '%s': not terminating it"
                            % (left.order_id, okms_id, display_name(resource), name))
        return resource


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
    InstanceReconciler(module).run()


if __name__ == "__main__":
    main()
