"""Fixtures: the emulator as a real subprocess (okms_emulator.testing), python-ovh clients pointed at it,
and a spec-checking wrapper for every /v2/okms call the tests make."""

import json
import os
import re
import tempfile
import time
import urllib.parse

import ovh
import pytest
import requests

from okms_emulator.testing import running_emulator
from ovh_spec import Spec

EMULATOR_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FAST = ["--credential-ready-delay", "0.4", "--credential-delete-delay", "0.3",
        "--order-delivery-delay", "0.4"]


_BUNDLE = os.path.join(tempfile.mkdtemp(prefix="okms-ca-"), "bundle.pem")
_BUNDLED = set()


def register(conn, name=None):
    """Make python-ovh know the emulator, exactly as a user would.

    Several emulators run during the suite (restart, token expiry), so
    REQUESTS_CA_BUNDLE points at a bundle holding every emulator CA seen.
    """
    name = name or f"emulator-{conn['pid']}"
    ovh.client.ENDPOINTS[name] = conn["endpoint"]
    ovh.client.OAUTH2_TOKEN_URLS[name] = conn["token_url"]
    with open(conn["ca_path"], encoding="utf-8") as handle:
        pem = handle.read()
    if pem not in _BUNDLED:
        _BUNDLED.add(pem)
        with open(_BUNDLE, "a", encoding="utf-8") as handle:
            handle.write(pem)
    os.environ["REQUESTS_CA_BUNDLE"] = _BUNDLE
    return name


def app_client(conn, **overrides):
    kwargs = dict(endpoint=register(conn), application_key=conn["application_key"],
                  application_secret=conn["application_secret"], consumer_key=conn["consumer_key"])
    kwargs.update(overrides)
    return ovh.Client(**kwargs)


def oauth_client(conn, **overrides):
    kwargs = dict(endpoint=register(conn), client_id=conn["client_id"], client_secret=conn["client_secret"])
    kwargs.update(overrides)
    return ovh.Client(**kwargs)


SPEC = Spec("ovh-api-v2-okms.json")
SEEN = []


class Api:
    """python-ovh client whose /v2/okms answers are checked against the spec."""

    def __init__(self, client):
        self.client = client

    def call(self, method, path, data=None, headers=None):
        if headers is None:
            result = self.client.call(method, path, data)
            self.check(method, path, result)
            return result
        response = self.client.raw_call(method, path, data, headers=headers)
        return response

    def check(self, method, path, result):
        clean = urllib.parse.urlsplit(path).path
        if clean.startswith("/v2/okms/"):
            SPEC.validate_response(method, clean[len("/v2"):], result)
            SEEN.append((method, clean))

    def get(self, path, **params):
        if params:
            path += "?" + urllib.parse.urlencode(params)
        return self.call("GET", path)

    def post(self, path, **data):
        return self.call("POST", path, data)

    def put(self, path, **data):
        return self.call("PUT", path, data)

    def delete(self, path):
        return self.call("DELETE", path)


@pytest.fixture(scope="session")
def emulator():
    """The session's emulator: its connection settings (it must exit cleanly, status 0, at the end)."""
    with running_emulator(extra_args=FAST) as connection:
        yield connection


@pytest.fixture(scope="session")
def conn(emulator):
    return emulator


@pytest.fixture(scope="session")
def api(conn):
    return Api(app_client(conn))


def order_kms(api, region="eu-west-rbx", autopay=True):
    """Order a KMS like the collection/Terraform do; return its okmsId."""
    cart = api.post("/order/cart", ovhSubsidiary="FR")
    cart_id = cart["cartId"]
    api.post(f"/order/cart/{cart_id}/assign")
    item = api.post(f"/order/cart/{cart_id}/okms", planCode="okms", duration="P1M",
                    pricingMode="default", quantity=1)
    api.post(f"/order/cart/{cart_id}/item/{item['itemId']}/configuration", label="region", value=region)
    order = api.post(f"/order/cart/{cart_id}/checkout",
                     autoPayWithPreferredPaymentMethod=autopay, waiveRetractationPeriod=True)
    order_id = order["orderId"]
    if not autopay:
        method_ids = api.get("/me/payment/method", default="true")
        api.post(f"/me/order/{order_id}/pay", paymentMethod={"id": method_ids[0]})
    deadline = time.time() + 10
    while api.get(f"/me/order/{order_id}/status") != "delivered":
        assert time.time() < deadline
        time.sleep(0.1)
    for detail_id in api.get(f"/me/order/{order_id}/details"):
        ext = api.get(f"/me/order/{order_id}/details/{detail_id}/extension")
        if ext["order"]["plan"]["code"] == "okms":
            return api.get(f"/me/order/{order_id}/details/{detail_id}")["domain"]
    raise AssertionError("no okms detail in order")


@pytest.fixture(scope="session")
def kms_id(api):
    return order_kms(api)


def saved_state(conn, until=lambda state: True, timeout=3.0):
    """The emulator's state.json once ``until(state)`` holds: changes reach it within SAVE_INTERVAL."""
    deadline = time.monotonic() + timeout
    while True:
        with open(os.path.join(conn["state_dir"], "state.json"), encoding="utf-8") as handle:
            state = json.load(handle)
        if until(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


def wait_ready(api, okms_id, credential_id, timeout=10):
    deadline = time.time() + timeout
    while True:
        cred = api.get(f"/v2/okms/resource/{okms_id}/credential/{credential_id}")
        if cred["status"] != "CREATING":
            return cred
        assert time.time() < deadline
        time.sleep(0.1)


URN = "urn:v1:eu:identity:account:xx1111-ovh"
TERMINATE_TOKEN = re.compile(
    r".*https://www.ovh.com/manager/#/billing/confirmTerminate\?id=[A-Za-z0-9]+&token=([A-Za-z0-9]+).*")


def access_token(conn):
    """An OAuth2 access token of the emulator's service account (scope all), as the data plane takes it."""
    response = requests.post(conn["token_url"], data={
        "grant_type": "client_credentials", "client_id": conn["client_id"],
        "client_secret": conn["client_secret"], "scope": "all"}, verify=conn["ca_path"])
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture(scope="session")
def token(conn):
    return access_token(conn)


@pytest.fixture(scope="session")
def data_session(conn, token):
    """requests to the data plane, authenticated by token (no client certificate)."""
    session = requests.Session()
    session.verify = conn["ca_path"]
    session.headers["Authorization"] = "Bearer " + token
    return session
