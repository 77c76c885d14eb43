"""v1 API: ordering a KMS (cart -> checkout -> payment -> delivery), the
``/services`` billing objects (display name, termination by emailed token),
the account's details (``GET /me``), and ``/auth/time`` + ``/auth/credential``.

State lives in ``store.data["billing"]``. Time-driven steps (order delivery)
are applied lazily by :meth:`OrderingV1.tick`, called before each request,
so no background thread is needed and restarts are harmless.
"""

import datetime
import secrets
import time
import uuid

from . import kms as kmsmod
from .auth import ACCOUNT
from .errors import ApiError
from .routing import Response

PLAN_CODE = "okms"
# nichandle.OvhSubsidiaryEnum differs per API: eu.api.ovh.com (the spec's list),
# ca.api.ovh.com and api.us.ovhcloud.com. The emulator plays the API of its
# account's subsidiary, so a cart accepts the subsidiaries of that API only.
SUBSIDIARIES_BY_API = (
    {"CZ", "DE", "ES", "EU", "FI", "FR", "GB", "IE", "IT", "LT", "MA", "NL", "PL", "PT", "SN", "TN"},
    {"ASIA", "AU", "CA", "IN", "QC", "SG", "WE", "WS"},
    {"US"},
)
SUBSIDIARIES = set().union(*SUBSIDIARIES_BY_API)
# subsidiary: (country, currency code, currency symbol, language) of an account there.
ACCOUNT_PROFILES = {
    "ASIA": ("HK", "USD", "US$", "en_GB"), "AU": ("AU", "AUD", "AU$", "en_AU"),
    "CA": ("CA", "CAD", "$", "en_CA"), "CZ": ("CZ", "CZK", "Kč", "cs_CZ"),
    "DE": ("DE", "EUR", "€", "de_DE"), "ES": ("ES", "EUR", "€", "es_ES"),
    "EU": ("BE", "EUR", "€", "en_GB"), "FI": ("FI", "EUR", "€", "fi_FI"),
    "FR": ("FR", "EUR", "€", "fr_FR"), "GB": ("GB", "GBP", "£", "en_GB"),
    "IE": ("IE", "EUR", "€", "en_IE"), "IN": ("IN", "INR", "₹", "en_IN"),
    "IT": ("IT", "EUR", "€", "it_IT"), "LT": ("LT", "EUR", "€", "lt_LT"),
    "MA": ("MA", "MAD", "Dhs", "fr_MA"), "NL": ("NL", "EUR", "€", "nl_NL"),
    "PL": ("PL", "PLN", "zł", "pl_PL"), "PT": ("PT", "EUR", "€", "pt_PT"),
    "QC": ("CA", "CAD", "$", "fr_CA"), "SG": ("SG", "SGD", "S$", "en_SG"),
    "SN": ("SN", "XOF", "FCFA", "fr_SN"), "TN": ("TN", "TND", "DT", "fr_TN"),
    "US": ("US", "USD", "$", "en_US"), "WE": ("BR", "USD", "US$", "en_US"),
    "WS": ("MX", "USD", "US$", "es_ES"),
}
DEFAULT_PAYMENT_METHOD_ID = 1
CONFIRM_URL = "https://www.ovh.com/manager/#/billing/confirmTerminate"


def cart_subsidiaries(account_subsidiary):
    """The subsidiaries a cart may be created for on the API an account of this subsidiary uses."""
    for subsidiaries in SUBSIDIARIES_BY_API:
        if account_subsidiary in subsidiaries:
            return subsidiaries
    raise ValueError(f"unknown OVHcloud subsidiary {account_subsidiary!r}; known: {', '.join(sorted(SUBSIDIARIES))}")


def _zero_price(subsidiary="FR"):
    # Prices follow the cart's subsidiary (its catalog), not the account's.
    _, code, symbol, _ = ACCOUNT_PROFILES[subsidiary]
    return {"currencyCode": code, "priceInUcents": 0, "text": f"0.00 {symbol}", "value": 0.0}


def _check_fields(body, allowed, model):
    if not isinstance(body, dict):
        raise ApiError(400, "Client::BadRequest", f"Request body must be a JSON object ({model})")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ApiError(400, "Client::BadRequest", f"Unknown field(s) {', '.join(unknown)} in {model}")


def _int_id(value, name):
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, "Client::BadRequest", f"Invalid value for parameter {name}: {value!r} (long)") from None


class OrderingV1:
    def __init__(self, emu):
        self.emu = emu
        self.store = emu.store
        self.subsidiary = emu.subsidiary
        self.cart_subsidiaries = cart_subsidiaries(self.subsidiary)
        with self.store.lock:
            self.store.data.setdefault("billing", {
                "nextIds": {"order": 1000, "item": 1, "config": 1, "detail": 1,
                            "service": 100000, "email": 1},
                "carts": {}, "items": {}, "configurations": {}, "orders": {},
                "details": {}, "services": {}, "emails": {},
            })

    @property
    def b(self):
        return self.store.data["billing"]

    def _next(self, kind):
        value = self.b["nextIds"][kind]
        self.b["nextIds"][kind] = value + 1
        return value

    def register(self, router):
        for prefix in ("/1.0", "/v1"):
            self._register(router, prefix)

    def _register(self, router, p):
        r = router.add
        r("GET", p + "/auth/time", self.auth_time, auth=False)
        r("POST", p + "/auth/credential", self.auth_credential, auth=False)
        r("GET", p + "/me", self.me)
        r("GET", p + "/order/cart", self.list_carts)
        r("POST", p + "/order/cart", self.create_cart, auth=False)
        r("GET", p + "/order/cart/{cartId}", self.get_cart, auth=False)
        r("DELETE", p + "/order/cart/{cartId}", self.delete_cart)
        r("POST", p + "/order/cart/{cartId}/assign", self.assign_cart)
        r("GET", p + "/order/cart/{cartId}/okms", self.product_info, auth=False)
        r("POST", p + "/order/cart/{cartId}/okms", self.add_item, auth=False)
        r("GET", p + "/order/cart/{cartId}/item/{itemId}", self.get_item, auth=False)
        r("DELETE", p + "/order/cart/{cartId}/item/{itemId}", self.delete_item, auth=False)
        r("GET", p + "/order/cart/{cartId}/item/{itemId}/configuration", self.list_configurations, auth=False)
        r("POST", p + "/order/cart/{cartId}/item/{itemId}/configuration", self.add_configuration, auth=False)
        r("GET", p + "/order/cart/{cartId}/checkout", self.preview_checkout)
        r("POST", p + "/order/cart/{cartId}/checkout", self.checkout)
        r("GET", p + "/me/payment/method", self.payment_methods)
        r("GET", p + "/me/order", self.list_orders)
        r("GET", p + "/me/order/{orderId}", self.get_order)
        r("GET", p + "/me/order/{orderId}/status", self.order_status)
        r("POST", p + "/me/order/{orderId}/pay", self.pay)
        r("POST", p + "/me/order/{orderId}/payWithRegisteredPaymentMean", self.pay_registered)
        r("GET", p + "/me/order/{orderId}/details", self.order_details)
        r("GET", p + "/me/order/{orderId}/details/{detailId}", self.order_detail)
        r("GET", p + "/me/order/{orderId}/details/{detailId}/extension", self.order_detail_extension)
        r("GET", p + "/me/notification/email/history", self.list_emails)
        r("GET", p + "/me/notification/email/history/{emailId}", self.get_email)
        r("GET", p + "/services", self.list_services)
        r("GET", p + "/services/{serviceId}", self.get_service)
        r("PUT", p + "/services/{serviceId}", self.update_service)
        r("POST", p + "/services/{serviceId}/terminate", self.terminate)
        r("POST", p + "/services/{serviceId}/terminate/confirm", self.confirm_termination)

    # -- auth -----------------------------------------------------------------------

    def auth_time(self, req):
        return Response(200, raw=str(int(time.time())).encode())

    def auth_credential(self, req):
        return Response(200, self.emu.authenticator.request_credential(
            req.headers, req.json(), self.emu.endpoint))

    # -- account --------------------------------------------------------------------

    def me(self, req):
        """nichandle.Nichandle: the account's details, with the fields of the real answer."""
        country, code, symbol, language = ACCOUNT_PROFILES[self.subsidiary]
        return Response(200, {
            "nichandle": ACCOUNT, "ovhSubsidiary": self.subsidiary, "ovhCompany": "ovh",
            "country": country, "currency": {"code": code, "symbol": symbol}, "language": language,
            "email": f"{ACCOUNT}@example.com", "spareEmail": None, "state": "complete",
            "legalform": "corporation", "organisation": "Emulated Organisation", "corporationType": None,
            "firstname": "Emulated", "name": "Account", "sex": None, "birthDay": None, "birthCity": None,
            "address": "1 Emulated Street", "city": "Emulated City", "zip": "00000", "area": None,
            "phone": "+33.123456789", "phoneCountry": country, "fax": None, "vat": None,
            "nationalIdentificationNumber": None, "companyNationalIdentificationNumber": None,
            "italianSDI": None, "customerCode": "0000-0000-00",
        })

    # -- delivery (time-driven) -------------------------------------------------------

    def tick(self):
        """Deliver paid orders whose delay elapsed. Caller holds the lock."""
        now = time.time()
        changed = False
        for order in self.b["orders"].values():
            if order["paidAtTs"] is None or order["delivered"]:
                continue
            if now < order["paidAtTs"] + self.emu.order_delivery_delay:
                continue
            for detail_id in order["details"]:
                detail = self.b["details"][str(detail_id)]
                service_id = self._next("service")
                record = kmsmod.create_kms(self.store, detail["region"], service_id)
                self.emu.trust_kms(record)
                detail["domain"] = record["id"]
                self.b["services"][str(service_id)] = {
                    "serviceId": service_id, "okmsId": record["id"], "state": "active",
                    "creationDate": kmsmod.iso(now)[:10], "terminationToken": None,
                }
            order["delivered"] = True
            changed = True
        return changed

    # -- carts ------------------------------------------------------------------------

    @staticmethod
    def _expired(cart):
        try:
            expire = datetime.datetime.fromisoformat(cart["expire"])
        except (TypeError, ValueError):
            return False
        if expire.tzinfo is None:
            expire = expire.replace(tzinfo=datetime.timezone.utc)
        return expire < datetime.datetime.now(datetime.timezone.utc)

    def _cart(self, cart_id):
        cart = self.b["carts"].get(cart_id)
        # An expired cart is gone, as on OVHcloud.
        if cart is None or self._expired(cart):
            raise ApiError(404, "Client::NotFound", f"Cart {cart_id} not found")
        return cart

    def _cart_body(self, cart):
        return {k: cart[k] for k in ("cartId", "description", "expire", "items", "readOnly")}

    def list_carts(self, req):
        """The account's (assigned) carts that have not expired, optionally by exact description."""
        description = req.arg("description")
        with self.store.lock:
            return Response(200, sorted(
                cart_id for cart_id, cart in self.b["carts"].items()
                if cart["assigned"] and not self._expired(cart)
                and (description is None or cart["description"] == description)))

    def create_cart(self, req):
        body = req.json()
        _check_fields(body, ("ovhSubsidiary", "description", "expire"), "order.cart.Creation")
        if body.get("ovhSubsidiary") not in self.cart_subsidiaries:
            raise ApiError(400, "Client::BadRequest",
                           f"Invalid ovhSubsidiary {body.get('ovhSubsidiary')!r} (nichandle.OvhSubsidiaryEnum)")
        cart_id = uuid.uuid4().hex[:24]
        with self.store.lock:
            self.b["carts"][cart_id] = {
                "cartId": cart_id, "description": str(body.get("description") or ""),
                "expire": body.get("expire") or kmsmod.iso(time.time() + 86400),
                "items": [], "readOnly": False, "assigned": False,
                "ovhSubsidiary": body["ovhSubsidiary"],
            }
            self.store.save()
            return Response(200, self._cart_body(self.b["carts"][cart_id]))

    def get_cart(self, req, cartId):
        with self.store.lock:
            return Response(200, self._cart_body(self._cart(cartId)))

    def delete_cart(self, req, cartId):
        with self.store.lock:
            cart = self._cart(cartId)
            for item_id in cart["items"]:
                self.b["items"].pop(str(item_id), None)
            del self.b["carts"][cartId]
            self.store.save()
        return Response(200, None)

    def assign_cart(self, req, cartId):
        with self.store.lock:
            self._cart(cartId)["assigned"] = True
            self.store.save()
        return Response(200, None)

    def product_info(self, req, cartId):
        with self.store.lock:
            subsidiary = self._cart(cartId)["ovhSubsidiary"]
        pricing = {
            "capacities": ["renew"], "description": "KMS (free; keys billed separately)",
            "duration": "P1M", "interval": 1, "maximumQuantity": 1, "maximumRepeat": 1,
            "minimumQuantity": 1, "minimumRepeat": 1, "price": _zero_price(subsidiary), "priceInUcents": 0,
            "pricingMode": "default", "pricingType": "rental",
        }
        return Response(200, [{"planCode": PLAN_CODE, "productName": "Key Management Service",
                               "productType": "cloud_service", "prices": [pricing]}])

    def _item(self, cart, item_id):
        iid = _int_id(item_id, "itemId")
        if iid not in cart["items"]:
            raise ApiError(404, "Client::NotFound", f"Item {iid} not found in cart {cart['cartId']}")
        return self.b["items"][str(iid)]

    def _writable(self, cart):
        if cart["readOnly"]:
            raise ApiError(403, "Client::Forbidden", f"Cart {cart['cartId']} is read-only (already checked out)")

    def add_item(self, req, cartId):
        body = req.json()
        _check_fields(body, ("planCode", "duration", "pricingMode", "quantity"),
                      "order.cart.GenericProductCreation")
        for name in ("planCode", "duration", "pricingMode", "quantity"):
            if name not in body:
                raise ApiError(400, "Client::BadRequest", f"Missing parameter {name}")
        if body["planCode"] != PLAN_CODE:
            raise ApiError(400, "Client::BadRequest", f"Unknown planCode {body['planCode']!r} for product okms")
        if body["duration"] != "P1M":
            raise ApiError(400, "Client::BadRequest", f"Invalid duration {body['duration']!r}: only P1M is sold")
        if body["pricingMode"] != "default":
            raise ApiError(400, "Client::BadRequest", f"Invalid pricingMode {body['pricingMode']!r}")
        if body["quantity"] != 1 or isinstance(body["quantity"], bool):
            raise ApiError(400, "Client::BadRequest", "quantity must be 1")
        with self.store.lock:
            cart = self._cart(cartId)
            self._writable(cart)
            item_id = self._next("item")
            item = {
                "cartId": cartId, "configurations": [], "duration": "P1M", "itemId": item_id,
                "offerId": None, "options": [], "parentItemId": None,
                "prices": [{"label": label, "price": _zero_price(cart["ovhSubsidiary"]), "promotions": []}
                           for label in ("PRICE", "TOTAL")],
                "productId": PLAN_CODE,
                "settings": {"planCode": PLAN_CODE, "pricingMode": "default", "quantity": 1},
            }
            self.b["items"][str(item_id)] = item
            cart["items"].append(item_id)
            self.store.save()
            return Response(200, item)

    def get_item(self, req, cartId, itemId):
        with self.store.lock:
            return Response(200, self._item(self._cart(cartId), itemId))

    def delete_item(self, req, cartId, itemId):
        with self.store.lock:
            cart = self._cart(cartId)
            self._writable(cart)
            item = self._item(cart, itemId)
            cart["items"].remove(item["itemId"])
            del self.b["items"][str(item["itemId"])]
            self.store.save()
        return Response(200, None)

    def list_configurations(self, req, cartId, itemId):
        label = req.arg("label")
        with self.store.lock:
            item = self._item(self._cart(cartId), itemId)
            ids = [c for c in item["configurations"]
                   if label is None or self.b["configurations"][str(c)]["label"] == label]
        return Response(200, ids)

    def add_configuration(self, req, cartId, itemId):
        body = req.json()
        _check_fields(body, ("label", "value"), "order.cart.ItemConfigurationCreation")
        label, value = body.get("label"), body.get("value")
        if not isinstance(label, str) or not isinstance(value, str):
            raise ApiError(400, "Client::BadRequest", "label and value are required strings")
        if label != "region":
            raise ApiError(400, "Client::BadRequest",
                           f"Unknown configuration label {label!r} for okms (expected 'region')")
        if value not in kmsmod.REGIONS:
            raise ApiError(400, "Client::BadRequest",
                           f"Invalid region {value!r}; valid: {', '.join(sorted(kmsmod.REGIONS))}")
        with self.store.lock:
            cart = self._cart(cartId)
            self._writable(cart)
            item = self._item(cart, itemId)
            for cid in item["configurations"]:
                if self.b["configurations"][str(cid)]["label"] == label:
                    raise ApiError(409, "Client::Conflict", f"Configuration {label} already set on item")
            cfg = {"id": self._next("config"), "label": label, "value": value}
            self.b["configurations"][str(cfg["id"])] = cfg
            item["configurations"].append(cfg["id"])
            self.store.save()
            return Response(200, cfg)

    # -- checkout & orders ---------------------------------------------------------------

    def _region_of(self, item):
        for cid in item["configurations"]:
            cfg = self.b["configurations"][str(cid)]
            if cfg["label"] == "region":
                return cfg["value"]
        raise ApiError(400, "Client::BadRequest",
                       f"Item {item['itemId']} is missing its required configuration 'region'")

    def _order_body(self, cart, order_id, domains=None):
        zero = _zero_price(cart["ovhSubsidiary"])
        details = []
        for index, item_id in enumerate(cart["items"]):
            details.append({
                "cartItemID": item_id, "description": "Key Management Service", "detailType": "DURATION",
                "domain": (domains or {}).get(item_id, "*"), "originalTotalPrice": zero,
                "quantity": 1, "reductionTotalPrice": zero, "reductions": [],
                "totalPrice": zero, "unitPrice": zero,
            })
        return {
            "orderId": order_id,
            "url": None if order_id is None else f"https://www.ovh.com/cgi-bin/order/display-order.cgi?orderId={order_id}",
            "details": details, "contracts": [],
            "prices": {"originalWithoutTax": zero, "reduction": zero, "tax": zero,
                       "withTax": zero, "withoutTax": zero},
        }

    def _ready_cart(self, cart_id):
        cart = self._cart(cart_id)
        if not cart["assigned"]:
            raise ApiError(403, "Client::Forbidden", "The cart must be assigned to an account before checkout")
        if not cart["items"]:
            raise ApiError(400, "Client::BadRequest", "The cart is empty")
        for item_id in cart["items"]:
            self._region_of(self.b["items"][str(item_id)])
        return cart

    def preview_checkout(self, req, cartId):
        with self.store.lock:
            return Response(200, self._order_body(self._ready_cart(cartId), None))

    def checkout(self, req, cartId):
        body = req.json(allow_empty=True)
        _check_fields(body, ("autoPayWithPreferredPaymentMethod", "waiveRetractationPeriod"),
                      "order.cart.Checkout")
        for name, value in body.items():
            if not isinstance(value, bool):
                raise ApiError(400, "Client::BadRequest", f"{name} must be a boolean")
        with self.store.lock:
            cart = self._ready_cart(cartId)
            if cart["readOnly"]:
                raise ApiError(403, "Client::Forbidden", f"Cart {cartId} was already checked out")
            order_id = self._next("order")
            detail_ids = []
            for item_id in cart["items"]:
                detail_id = self._next("detail")
                self.b["details"][str(detail_id)] = {
                    "orderDetailId": detail_id, "orderId": order_id, "cartItemID": item_id,
                    "region": self._region_of(self.b["items"][str(item_id)]), "domain": "*",
                }
                detail_ids.append(detail_id)
            now = time.time()
            self.b["orders"][str(order_id)] = {
                "orderId": order_id, "cartId": cartId, "dateTs": now, "details": detail_ids,
                "ovhSubsidiary": cart["ovhSubsidiary"],
                "paidAtTs": now if body.get("autoPayWithPreferredPaymentMethod") else None,
                "delivered": False,
            }
            cart["readOnly"] = True
            self.store.save()
            return Response(200, self._order_body(cart, order_id))

    def payment_methods(self, req):
        default = req.arg("default")
        if default not in (None, "true", "false"):
            raise ApiError(400, "Client::BadRequest", "Invalid value for parameter default (boolean)")
        return Response(200, [DEFAULT_PAYMENT_METHOD_ID])

    def _order(self, order_id):
        order = self.b["orders"].get(str(_int_id(order_id, "orderId")))
        if order is None:
            raise ApiError(404, "Client::NotFound", f"Order {order_id} not found")
        return order

    def list_orders(self, req):
        with self.store.lock:
            return Response(200, sorted(int(k) for k in self.b["orders"]))

    def get_order(self, req, orderId):
        with self.store.lock:
            order = self._order(orderId)
            zero = _zero_price(order.get("ovhSubsidiary", "FR"))
            return Response(200, {
                "orderId": order["orderId"], "date": kmsmod.iso(order["dateTs"]),
                "expirationDate": kmsmod.iso(order["dateTs"] + 14 * 86400), "password": "",
                "pdfUrl": f"https://www.ovh.com/cgi-bin/order/facture.pdf?orderId={order['orderId']}",
                "priceWithTax": zero, "priceWithoutTax": zero, "tax": zero,
                "retractionDate": None,
                "url": f"https://www.ovh.com/cgi-bin/order/display-order.cgi?orderId={order['orderId']}",
            })

    def order_status(self, req, orderId):
        with self.store.lock:
            order = self._order(orderId)
            if order["paidAtTs"] is None:
                status = "notPaid"
            elif order["delivered"]:
                status = "delivered"
            elif time.time() < order["paidAtTs"] + self.emu.order_delivery_delay / 2:
                status = "checking"
            else:
                status = "delivering"
        return Response(200, status)

    def _mark_paid(self, order):
        if order["paidAtTs"] is not None:
            raise ApiError(400, "Client::BadRequest", f"Order {order['orderId']} is already paid")
        order["paidAtTs"] = time.time()
        self.store.save()

    def pay(self, req, orderId):
        body = req.json()
        _check_fields(body, ("paymentMethod",), "billing.order.PayWithPaymentMethod")
        method = body.get("paymentMethod")
        if not isinstance(method, dict) or method.get("id") != DEFAULT_PAYMENT_METHOD_ID:
            raise ApiError(400, "Client::BadRequest",
                           f"Unknown payment method; the account's only method is {DEFAULT_PAYMENT_METHOD_ID}")
        with self.store.lock:
            self._mark_paid(self._order(orderId))
        return Response(200, None)

    def pay_registered(self, req, orderId):
        body = req.json()
        _check_fields(body, ("paymentMean", "paymentMeanId"), "billing.order.PayWithRegisteredPaymentMean")
        if body.get("paymentMean") not in ("fidelityAccount", "ovhAccount", "creditCard", "bankAccount", "paypal"):
            raise ApiError(400, "Client::BadRequest", "Invalid paymentMean")
        with self.store.lock:
            self._mark_paid(self._order(orderId))
        return Response(200, None)

    def order_details(self, req, orderId):
        with self.store.lock:
            return Response(200, list(self._order(orderId)["details"]))

    def _detail(self, order, detail_id):
        did = _int_id(detail_id, "detailId")
        if did not in order["details"]:
            raise ApiError(404, "Client::NotFound", f"Order detail {did} not found")
        return self.b["details"][str(did)]

    def order_detail(self, req, orderId, detailId):
        with self.store.lock:
            order = self._order(orderId)
            detail = self._detail(order, detailId)
            zero = _zero_price(order.get("ovhSubsidiary", "FR"))
            return Response(200, {
                "orderDetailId": detail["orderDetailId"], "description": "Key Management Service",
                "detailType": "DURATION", "domain": detail["domain"], "quantity": "1",
                "totalPrice": zero, "unitPrice": zero, "originalTotalPrice": zero,
                "reductionTotalPrice": zero, "reductions": [], "cancelled": False,
            })

    def order_detail_extension(self, req, orderId, detailId):
        with self.store.lock:
            detail = self._detail(self._order(orderId), detailId)
            return Response(200, {
                "order": {
                    "plan": {"code": PLAN_CODE, "duration": "P1M", "pricingMode": "default",
                             "quantity": 1},
                    "product": {"name": "okms"},
                    "configurations": [{"label": "region", "value": detail["region"]}],
                    "options": [],
                },
            })

    # -- notifications --------------------------------------------------------------

    def list_emails(self, req):
        with self.store.lock:
            return Response(200, sorted(int(k) for k in self.b["emails"]))

    def get_email(self, req, emailId):
        with self.store.lock:
            email = self.b["emails"].get(str(_int_id(emailId, "emailId")))
            if email is None:
                raise ApiError(404, "Client::NotFound", f"Email {emailId} not found")
            return Response(200, email)

    # -- services ---------------------------------------------------------------------

    def _service(self, service_id, allow_terminated=False):
        service = self.b["services"].get(str(_int_id(service_id, "serviceId")))
        if service is None or (service["state"] == "terminated" and not allow_terminated):
            raise ApiError(404, "Client::NotFound", f"Service {service_id} not found")
        return service

    def list_services(self, req):
        name = req.arg("resourceName")
        with self.store.lock:
            ids = [s["serviceId"] for s in self.b["services"].values()
                   if s["state"] != "terminated" and (name is None or s["okmsId"] == name)]
        return Response(200, sorted(ids))

    def get_service(self, req, serviceId):
        with self.store.lock:
            service = self._service(serviceId)
            record = self.store.data["okms"][service["okmsId"]]
            okms_id = service["okmsId"]
            return Response(200, {
                "serviceId": service["serviceId"],
                "parentServiceId": None,
                "resource": {"name": okms_id, "displayName": record["displayName"], "state": "active",
                             "product": {"name": "okms", "description": "Key Management Service"},
                             "resellingProvider": None},
                "route": {"path": "/v2/okms/resource/{okmsId}", "url": f"/v2/okms/resource/{okms_id}",
                          "vars": [{"key": "okmsId", "value": okms_id}]},
                "billing": {
                    "plan": {"code": PLAN_CODE, "invoiceName": "Key Management Service"},
                    "pricing": None, "nextBillingDate": None, "expirationDate": None,
                    "lifecycle": {"current": {"state": "active", "creationDate": service["creationDate"],
                                              "terminationDate": None, "pendingActions":
                                              ["terminationRequested"] if service["terminationToken"] else []},
                                  "capacities": {"actions": ["terminate"]}},
                },
                "tags": [],
            })

    def update_service(self, req, serviceId):
        body = req.json()
        _check_fields(body, ("displayName",), "services.update.Service")
        name = body.get("displayName")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise ApiError(400, "Client::BadRequest", "displayName must be a non-empty string (max 255)")
        with self.store.lock:
            service = self._service(serviceId)
            self.store.data["okms"][service["okmsId"]]["displayName"] = name
            self.store.save()
        return Response(200, None)

    def _service_for_termination(self, service_id):
        service = self._service(service_id, allow_terminated=True)
        if service["state"] == "terminated":
            # python-ovh: ResourceExpiredError; Terraform treats 404/460 as "already gone"
            raise ApiError(460, "Client::Gone::ServiceExpired", f"Service {service_id} is terminated")
        return service

    def terminate(self, req, serviceId):
        with self.store.lock:
            service = self._service_for_termination(serviceId)
            token = secrets.token_hex(16)
            service["terminationToken"] = token
            email_id = self._next("email")
            okms_id = service["okmsId"]
            link = f"{CONFIRM_URL}?id={service['serviceId']}&token={token}"
            self.b["emails"][str(email_id)] = {
                "id": email_id, "date": kmsmod.iso(time.time()),
                "subject": f"Termination of your service {okms_id}",
                "body": (
                    "Hello,\n\nYou have requested the termination of your service "
                    f"{okms_id} (Key Management Service).\n\n"
                    "To confirm this request, please follow the link below:\n"
                    f"{link}\n\n"
                    "If you did not request this termination, you can ignore this email.\n\n"
                    "Best regards,\nOVHcloud (emulated)\n"
                ),
            }
            self.store.save()
        return Response(200, {"message": "A termination confirmation email has been sent"})

    def confirm_termination(self, req, serviceId):
        body = req.json()
        _check_fields(body, ("token", "reason", "commentary", "futureUse"), "services.terminate.Confirm")
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise ApiError(400, "Client::BadRequest", "Missing parameter token")
        with self.store.lock:
            service = self._service_for_termination(serviceId)
            expected = service["terminationToken"]
            if expected is None:
                raise ApiError(400, "Client::BadRequest", "No termination was requested for this service")
            if not secrets.compare_digest(expected, token):
                raise ApiError(400, "Client::BadRequest", "Invalid termination token")
            service["state"] = "terminated"
            service["terminationToken"] = None
            # Terminating destroys every key and credential of the KMS.
            self.store.data["okms"].pop(service["okmsId"], None)
            self.store.save()
        return Response(200, None)
