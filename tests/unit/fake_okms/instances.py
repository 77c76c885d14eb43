# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KMS instances, and the v1 ordering and billing flow behind them, for ``FakeOkmsApi``.

The account keeps KMS instances, carts, orders, services and emails, and
answers as the emulator does (same paths, fields, statuses and error
classes): /v2/okms/resource*, /v2/okms/reference/regions, /order/cart*,
/me/order*, /me, /me/payment/method, /services* and
/me/notification/email/history*.

Time only moves when a test says so (``tick()``, usually from the fake sleep
of the module's polling): each tick moves every order to its next status, and
an order is delivered (its KMS and service created) when it reaches
``delivered``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import uuid

from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import bad_request, not_found
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.credentials import FakeCa
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_instance import cart_description
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError

# The emulator's regions (okms.RegionEnum).
REGIONS = ["ap-south-mum", "ap-southeast-sgp", "ap-southeast-syd", "ca-east-bhs", "ca-east-tor", "eu-central-waw",
           "eu-south-mil", "eu-west-eri", "eu-west-gra", "eu-west-lim", "eu-west-par", "eu-west-rbx", "eu-west-sbg"]
DATA_ENDPOINT = "https://127.0.0.1:8443"
PAYMENT_METHOD_ID = 1
# What an order goes through once paid, one status per tick.
DELIVERY = ["checking", "delivering", "delivered"]


def gone(method, path, what):
    return OvhApiError("%s is terminated" % what, status=460, error_class="Client::Gone::ServiceExpired",
                       method=method, path=path)


def forbidden(method, path, message):
    return OvhApiError(message, status=403, error_class="Client::Forbidden", method=method, path=path)


class InstanceAccount:
    """The account's KMS instances and their billing; ``install(api)`` builds one."""

    def __init__(self, api, subsidiary="FR"):
        self.api = api
        self.me = {"nichandle": "xx1111-ovh", "ovhSubsidiary": subsidiary}
        self.instances = {}      # okmsId -> the API's KMS (without CAs)
        self.credentials = {}    # okmsId -> [credential], only counted here
        self.carts = {}          # cartId -> {description, readOnly, assigned, ovhSubsidiary, items}
        self.orders = {}         # orderId -> {region, statuses, okms_id}
        self.services = {}       # okmsId -> {id, token, terminated}
        self.emails = {}         # emailId -> body
        self._cas = {}           # okmsId -> (ECDSA CA PEM, RSA CA PEM), made when first asked for

    # -- seeding state ---------------------------------------------------------------------

    def add_instance(self, region, name=None):
        """A delivered KMS, with its billing service; named ``name``, else its id (as delivered)."""
        okms_id = str(uuid.uuid4())
        self.instances[okms_id] = {
            "id": okms_id, "region": region, "restEndpoint": DATA_ENDPOINT,
            "kmipEndpoint": "%s.okms.ovh.net:5696" % region, "kmipRsaEndpoint": "%s.okms.ovh.net:5697" % region,
            "swaggerEndpoint": "%s/api/%s/openapi.yaml" % (DATA_ENDPOINT, okms_id),
            "serviceKeyCount": 0, "kmipObjectCount": 0, "secretCount": 0, "secretVersionCount": 0,
            "iam": {"id": okms_id, "urn": "urn:v1:eu:resource:okms:%s" % okms_id, "displayName": name or okms_id,
                    "tags": {"ovh:region": region}, "state": "OK"},
        }
        self.services[okms_id] = {"id": 100 + len(self.services), "token": None, "terminated": False}
        return okms_id

    def add_order(self, name, region, statuses, subsidiary="FR"):
        """A checked-out cart of this name and an order that goes through ``statuses``, one per tick."""
        cart_id = self._new_cart(cart_description(name, region), subsidiary)
        self.carts[cart_id].update(readOnly=True, assigned=True)
        order_id = self._new_order(region, statuses)
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

    def _new_cart(self, description, subsidiary):
        cart_id = "cart%d" % (len(self.carts) + 1)
        self.carts[cart_id] = {"description": description, "readOnly": False, "assigned": False,
                               "ovhSubsidiary": subsidiary, "items": {}}
        return cart_id

    def _new_order(self, region, statuses):
        order_id = 1000 + len(self.orders)
        self.orders[order_id] = {"region": region, "statuses": list(statuses), "okms_id": None}
        return order_id

    # -- /v2/okms ------------------------------------------------------------------------------

    def _instance(self, request, okms_id):
        try:
            uuid.UUID(okms_id)
        except ValueError:
            raise bad_request(request.method, request.path, "Invalid value for parameter okmsId: %r (uuid)" % okms_id)
        if okms_id not in self.instances:
            raise not_found(request.method, request.path, "OKMS %s" % okms_id)
        return self.instances[okms_id]

    def list_instances(self, request):
        return [dict(resource) for resource in self.instances.values()]

    def get_instance(self, request, okms_id):
        resource = dict(self._instance(request, okms_id))
        if request.params.get("publicCA") == "true":
            # Real CAs, with the subject the credentials fake issues certificates under (same keys too).
            resource["publicCA"], resource["publicRsaCA"] = self._public_cas(okms_id)
        return resource

    def _public_cas(self, okms_id):
        if okms_id not in self._cas:
            self._cas[okms_id] = (FakeCa(okms_id, "ECDSA").pem, FakeCa(okms_id, "RSA").pem)
        return self._cas[okms_id]

    def list_credentials(self, request, okms_id):
        self._instance(request, okms_id)
        return list(self.credentials.get(okms_id, []))

    def list_regions(self, request):
        return [{"id": region, "restEndpoint": DATA_ENDPOINT, "kmipEndpoint": "%s.okms.ovh.net:5696" % region}
                for region in REGIONS]

    # -- /me ---------------------------------------------------------------------------------------

    def get_me(self, request):
        return dict(self.me)

    def payment_methods(self, request):
        return [PAYMENT_METHOD_ID]

    # -- /order/cart ---------------------------------------------------------------------------------

    def _cart(self, request, cart_id):
        if cart_id not in self.carts:
            raise not_found(request.method, request.path, "Cart %s" % cart_id)
        return self.carts[cart_id]

    def _writable_cart(self, request, cart_id):
        cart = self._cart(request, cart_id)
        if cart["readOnly"]:
            raise forbidden(request.method, request.path, "Cart %s is read-only (already checked out)" % cart_id)
        return cart

    def list_carts(self, request):
        description = request.params.get("description")
        return sorted(cart_id for cart_id, cart in self.carts.items()
                      if cart["assigned"] and (description is None or cart["description"] == description))

    def create_cart(self, request):
        cart_id = self._new_cart(request.body.get("description") or "", request.body["ovhSubsidiary"])
        return {"cartId": cart_id, "description": self.carts[cart_id]["description"], "items": [],
                "readOnly": False}

    def get_cart(self, request, cart_id):
        cart = self._cart(request, cart_id)
        return {"cartId": cart_id, "description": cart["description"], "items": sorted(cart["items"]),
                "readOnly": cart["readOnly"]}

    def delete_cart(self, request, cart_id):
        self._cart(request, cart_id)
        del self.carts[cart_id]

    def assign_cart(self, request, cart_id):
        self._cart(request, cart_id)["assigned"] = True

    def add_item(self, request, cart_id):
        cart = self._writable_cart(request, cart_id)
        if request.body.get("planCode") != "okms":
            raise bad_request(request.method, request.path, "Unknown planCode %r for product okms"
                              % request.body.get("planCode"))
        item_id = 7 + len(cart["items"])
        cart["items"][item_id] = {"region": None}
        return {"cartId": cart_id, "itemId": item_id}

    def configure_item(self, request, cart_id, item_id):
        cart = self._writable_cart(request, cart_id)
        if int(item_id) not in cart["items"]:
            raise not_found(request.method, request.path, "Item %s" % item_id)
        if request.body.get("label") != "region" or request.body.get("value") not in REGIONS:
            raise bad_request(request.method, request.path, "Invalid configuration %r" % request.body)
        cart["items"][int(item_id)]["region"] = request.body["value"]
        return {"id": 1, "label": "region", "value": request.body["value"]}

    def checkout(self, request, cart_id):
        cart = self._cart(request, cart_id)
        if not cart["assigned"]:
            raise forbidden(request.method, request.path, "The cart must be assigned to an account before checkout")
        if cart["readOnly"]:
            raise forbidden(request.method, request.path, "Cart %s was already checked out" % cart_id)
        if len(cart["items"]) != 1 or not all(item["region"] for item in cart["items"].values()):
            raise bad_request(request.method, request.path, "The cart needs one item with its region")
        cart["readOnly"] = True
        region = list(cart["items"].values())[0]["region"]
        paid = bool((request.body or {}).get("autoPayWithPreferredPaymentMethod"))
        order_id = self._new_order(region, DELIVERY if paid else ["notPaid"])
        return {"orderId": order_id, "details": [], "prices": {"withTax": {"value": 0.0}}}

    # -- /me/order -----------------------------------------------------------------------------------

    def _order(self, request, order_id):
        if int(order_id) not in self.orders:
            raise not_found(request.method, request.path, "Order %s" % order_id)
        return self.orders[int(order_id)]

    def _order_detail(self, request, order_id, detail_id):
        if int(detail_id) != int(order_id) * 10:
            raise not_found(request.method, request.path, "Order detail %s" % detail_id)
        return self._order(request, order_id)

    def list_orders(self, request):
        return sorted(self.orders)

    def order_status(self, request, order_id):
        return self._order(request, order_id)["statuses"][0]

    def pay(self, request, order_id):
        order = self._order(request, order_id)
        if order["statuses"][0] != "notPaid":
            raise bad_request(request.method, request.path, "Order %s is already paid" % order_id)
        order["statuses"] = list(DELIVERY)

    def order_details(self, request, order_id):
        self._order(request, order_id)
        return [int(order_id) * 10]

    def order_detail(self, request, order_id, detail_id):
        return {"orderDetailId": int(detail_id), "domain": self._order_detail(request, order_id, detail_id)["okms_id"]
                or "*"}

    def order_detail_extension(self, request, order_id, detail_id):
        order = self._order_detail(request, order_id, detail_id)
        return {"order": {"plan": {"code": "okms", "duration": "P1M"},
                          "configurations": [{"label": "region", "value": order["region"]}]}}

    # -- /services ------------------------------------------------------------------------------------

    def _service(self, request, service_id, for_termination=False):
        for okms_id, service in self.services.items():
            if service["id"] == int(service_id):
                if service["terminated"]:
                    if for_termination:
                        raise gone(request.method, request.path, "Service %s" % service_id)
                    break
                return okms_id, service
        raise not_found(request.method, request.path, "Service %s" % service_id)

    def list_services(self, request):
        name = request.params.get("resourceName")
        return sorted(service["id"] for okms_id, service in self.services.items()
                      if not service["terminated"] and (name is None or okms_id == name))

    def update_service(self, request, service_id):
        name = (request.body or {}).get("displayName")
        if set(request.body or {}) != {"displayName"} or not isinstance(name, str) or not name.strip() \
                or len(name) > 255:
            raise bad_request(request.method, request.path, "displayName must be a non-empty string (max 255)")
        okms_id = self._service(request, service_id)[0]
        self.instances[okms_id]["iam"]["displayName"] = request.body["displayName"]

    def terminate(self, request, service_id):
        okms_id, service = self._service(request, service_id, for_termination=True)
        service["token"] = "t0k3n%d" % service["id"]
        self.emails[len(self.emails) + 1] = (
            "You have requested the termination of your service %s.\nhttps://www.ovh.com/manager/#/billing/"
            "confirmTerminate?id=%s&token=%s\n" % (okms_id, service["id"], service["token"]))
        return {"message": "A termination confirmation email has been sent"}

    def confirm_termination(self, request, service_id):
        okms_id, service = self._service(request, service_id, for_termination=True)
        if service["token"] is None or (request.body or {}).get("token") != service["token"]:
            raise bad_request(request.method, request.path, "Invalid termination token")
        service.update(terminated=True, token=None)
        del self.instances[okms_id]

    # -- /me/notification/email/history -----------------------------------------------------------------

    def list_emails(self, request):
        return sorted(self.emails)

    def get_email(self, request, email_id):
        if int(email_id) not in self.emails:
            raise not_found(request.method, request.path, "Email %s" % email_id)
        return {"id": int(email_id), "body": self.emails[int(email_id)]}


def install(api, subsidiary="FR", credential_route=True):
    """Add the instance routes to ``api`` (a FakeOkmsApi); returns the account's state (also ``api.instances``).

    With ``credential_route=False`` the credential list (which okms_instance only counts) is left to
    ``credentials.install(api, kms_route=False)``, for tests that use both.
    """
    account = InstanceAccount(api, subsidiary)
    api.instances = account
    routes = [
        ("GET", "/v2/okms/reference/regions", account.list_regions),
        ("GET", "/v2/okms/resource", account.list_instances),
        ("GET", "/v2/okms/resource/{okms_id}", account.get_instance),
        ("GET", "/me", account.get_me),
        ("GET", "/me/payment/method", account.payment_methods),
        ("GET", "/order/cart", account.list_carts),
        ("POST", "/order/cart", account.create_cart),
        ("GET", "/order/cart/{cart_id}", account.get_cart),
        ("DELETE", "/order/cart/{cart_id}", account.delete_cart),
        ("POST", "/order/cart/{cart_id}/assign", account.assign_cart),
        ("POST", "/order/cart/{cart_id}/okms", account.add_item),
        ("POST", "/order/cart/{cart_id}/item/{item_id}/configuration", account.configure_item),
        ("POST", "/order/cart/{cart_id}/checkout", account.checkout),
        ("GET", "/me/order", account.list_orders),
        ("GET", "/me/order/{order_id}/status", account.order_status),
        ("POST", "/me/order/{order_id}/pay", account.pay),
        ("POST", "/me/order/{order_id}/payWithRegisteredPaymentMean", account.pay),
        ("GET", "/me/order/{order_id}/details", account.order_details),
        ("GET", "/me/order/{order_id}/details/{detail_id}", account.order_detail),
        ("GET", "/me/order/{order_id}/details/{detail_id}/extension", account.order_detail_extension),
        ("GET", "/services", account.list_services),
        ("PUT", "/services/{service_id}", account.update_service),
        ("POST", "/services/{service_id}/terminate", account.terminate),
        ("POST", "/services/{service_id}/terminate/confirm", account.confirm_termination),
        ("GET", "/me/notification/email/history", account.list_emails),
        ("GET", "/me/notification/email/history/{email_id}", account.get_email),
    ]
    if credential_route:
        routes.append(("GET", "/v2/okms/resource/{okms_id}/credential", account.list_credentials))
    for method, pattern, handler in routes:
        api.route(method, pattern, handler)
    return account
