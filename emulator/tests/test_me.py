"""GET /me (nichandle.Nichandle) and the account's subsidiary (--subsidiary)."""

import os
import subprocess
import sys

import pytest
import requests
from ovh.exceptions import BadParametersError, InvalidCredential

from okms_emulator.testing import running_emulator

from conftest import EMULATOR_DIR, FAST, Api, app_client, oauth_client

# Fields of the real answer (nichandle.Nichandle) that clients read.
NICHANDLE_FIELDS = {
    "nichandle", "ovhSubsidiary", "ovhCompany", "country", "currency", "language", "email", "spareEmail",
    "state", "legalform", "organisation", "corporationType", "firstname", "name", "sex", "birthDay",
    "birthCity", "address", "city", "zip", "area", "phone", "phoneCountry", "fax", "vat",
    "nationalIdentificationNumber", "companyNationalIdentificationNumber", "italianSDI", "customerCode",
}


def checkout(api, subsidiary, region="eu-west-rbx"):
    """Check out a one-KMS cart of this subsidiary without paying it; return the checkout answer."""
    cart_id = api.post("/order/cart", ovhSubsidiary=subsidiary)["cartId"]
    api.post(f"/order/cart/{cart_id}/assign")
    item = api.post(f"/order/cart/{cart_id}/okms", planCode="okms", duration="P1M", pricingMode="default",
                    quantity=1)
    api.post(f"/order/cart/{cart_id}/item/{item['itemId']}/configuration", label="region", value=region)
    return api.post(f"/order/cart/{cart_id}/checkout", autoPayWithPreferredPaymentMethod=False,
                    waiveRetractationPeriod=True)


def test_me_answers_like_ovhcloud_with_both_authentications(api, conn):
    me = api.get("/me")
    assert set(me) == NICHANDLE_FIELDS
    assert me["nichandle"] == conn["account"]
    assert me["ovhSubsidiary"] == "FR"
    assert me["country"] == "FR"
    assert me["currency"] == {"code": "EUR", "symbol": "€"}
    assert me["state"] == "complete"
    assert me["ovhCompany"] == "ovh"
    # python-ovh sends /v1/... to the API root: same answer.
    assert api.get("/v1/me") == me
    assert oauth_client(conn).get("/me") == me


def test_me_needs_authentication(conn):
    with pytest.raises(InvalidCredential):
        app_client(conn, consumer_key="c" * 32).get("/me")
    response = requests.get(conn["endpoint"] + "/me", verify=conn["ca_path"])
    assert response.status_code == 401
    assert response.json()["errorCode"] == "NOT_AUTHENTICATED"


def test_order_prices_follow_the_cart_subsidiary(api):
    assert checkout(api, "FR")["prices"]["withTax"]["currencyCode"] == "EUR"
    order = checkout(api, "GB")
    assert order["prices"]["withTax"]["currencyCode"] == "GBP"
    assert {d["totalPrice"]["currencyCode"] for d in order["details"]} == {"GBP"}
    assert api.get(f"/me/order/{order['orderId']}")["priceWithTax"]["currencyCode"] == "GBP"
    [detail_id] = api.get(f"/me/order/{order['orderId']}/details")
    assert api.get(f"/me/order/{order['orderId']}/details/{detail_id}")["totalPrice"]["currencyCode"] == "GBP"


def test_subsidiary_flag_makes_a_canadian_account(tmp_path):
    with running_emulator(str(tmp_path), [*FAST, "--subsidiary", "CA"]) as conn:
        api = Api(app_client(conn))
        me = api.get("/me")
        assert me["ovhSubsidiary"] == "CA"
        assert me["country"] == "CA"
        assert me["currency"] == {"code": "CAD", "symbol": "$"}
        # The ca API's subsidiaries, not the eu API's.
        with pytest.raises(BadParametersError):
            api.post("/order/cart", ovhSubsidiary="FR")
        order = checkout(api, "CA", region="ca-east-bhs")
        assert order["prices"]["withTax"]["currencyCode"] == "CAD"
        assert api.get(f"/me/order/{order['orderId']}")["priceWithTax"]["currencyCode"] == "CAD"


def test_unknown_subsidiary_is_refused_at_start(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "okms_emulator", "serve", "--state-dir", str(tmp_path), "--subsidiary", "XX"],
        cwd=EMULATOR_DIR, env=dict(os.environ, PYTHONPATH=EMULATOR_DIR), capture_output=True, text=True,
        timeout=30)
    assert result.returncode == 2
    assert "--subsidiary" in result.stderr and "FR" in result.stderr
    assert not (tmp_path / "connection.json").exists()
