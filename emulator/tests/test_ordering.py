"""Ordering a KMS (v1), display name, termination by emailed token."""

import pytest
from ovh.exceptions import BadParametersError, ResourceExpiredError, ResourceNotFoundError

from conftest import TERMINATE_TOKEN, order_kms


def test_order_flow_terraform_style(api):
    okms_id = order_kms(api, region="ca-east-bhs", autopay=False)
    kms = api.get(f"/v2/okms/resource/{okms_id}")
    assert kms["region"] == "ca-east-bhs"
    assert kms["iam"]["urn"] == f"urn:v1:ca:resource:okms:{okms_id}"
    assert kms["iam"]["displayName"] == okms_id

    [service_id] = api.get("/services", resourceName=okms_id)
    assert api.get(f"/services/{service_id}")["resource"]["name"] == okms_id
    api.put(f"/services/{service_id}", displayName="my kms")
    assert api.get(f"/v2/okms/resource/{okms_id}")["iam"]["displayName"] == "my kms"

    # a key and a credential that termination must destroy
    api.post(f"/v2/okms/resource/{okms_id}/serviceKey", name="k", type="oct", size=256,
             operations=["encrypt", "decrypt"])

    old_ids = api.get("/me/notification/email/history")
    api.post(f"/services/{service_id}/terminate")
    new_ids = [i for i in api.get("/me/notification/email/history") if i not in old_ids]
    assert len(new_ids) == 1
    email = api.get(f"/me/notification/email/history/{new_ids[0]}")
    assert okms_id in email["body"]
    assert "https://www.ovh.com/manager/#/billing/confirmTerminate" in email["body"]
    token = TERMINATE_TOKEN.match(email["body"].replace("\n", " ")).group(1)

    with pytest.raises(BadParametersError):
        api.post(f"/services/{service_id}/terminate/confirm", token="wrong")
    api.post(f"/services/{service_id}/terminate/confirm", token=token)

    with pytest.raises(ResourceNotFoundError) as exc:
        api.get(f"/v2/okms/resource/{okms_id}")
    assert exc.value.response.json()["class"] == "Client::NotFound"
    with pytest.raises(ResourceNotFoundError):
        api.get(f"/v2/okms/resource/{okms_id}/serviceKey")
    assert api.get("/services", resourceName=okms_id) == []
    with pytest.raises(ResourceExpiredError):
        api.post(f"/services/{service_id}/terminate")


def test_order_status_progresses(api):
    cart_id = api.post("/order/cart", ovhSubsidiary="FR")["cartId"]
    api.post(f"/order/cart/{cart_id}/assign")
    item = api.post(f"/order/cart/{cart_id}/okms", planCode="okms", duration="P1M",
                    pricingMode="default", quantity=1)
    api.post(f"/order/cart/{cart_id}/item/{item['itemId']}/configuration", label="region", value="eu-west-gra")
    order = api.post(f"/order/cart/{cart_id}/checkout", autoPayWithPreferredPaymentMethod=False,
                     waiveRetractationPeriod=True)
    assert api.get(f"/me/order/{order['orderId']}/status") == "notPaid"
    api.post(f"/me/order/{order['orderId']}/payWithRegisteredPaymentMean", paymentMean="fidelityAccount")
    assert api.get(f"/me/order/{order['orderId']}/status") in ("checking", "delivering")


def test_order_validation(api):
    with pytest.raises(BadParametersError):
        api.post("/order/cart", ovhSubsidiary="XX")
    cart_id = api.post("/order/cart", ovhSubsidiary="FR")["cartId"]
    with pytest.raises(BadParametersError):
        api.post(f"/order/cart/{cart_id}/okms", planCode="nope", duration="P1M", pricingMode="default", quantity=1)
    item = api.post(f"/order/cart/{cart_id}/okms", planCode="okms", duration="P1M",
                    pricingMode="default", quantity=1)
    with pytest.raises(BadParametersError):
        api.post(f"/order/cart/{cart_id}/item/{item['itemId']}/configuration", label="region", value="mars-1")
    api.post(f"/order/cart/{cart_id}/assign")
    with pytest.raises(BadParametersError):  # region missing
        api.post(f"/order/cart/{cart_id}/checkout", autoPayWithPreferredPaymentMethod=True)


def test_carts_are_listed_by_description_and_vanish_once_expired(api):
    mine = api.post("/order/cart", ovhSubsidiary="FR", description="ansible: kms-a")["cartId"]
    api.post(f"/order/cart/{mine}/assign")
    other = api.post("/order/cart", ovhSubsidiary="FR", description="ansible: kms-b")["cartId"]
    api.post(f"/order/cart/{other}/assign")
    unassigned = api.post("/order/cart", ovhSubsidiary="FR", description="ansible: kms-a")["cartId"]
    assert api.get("/order/cart", description="ansible: kms-a") == [mine]
    assert {mine, other} <= set(api.get("/order/cart"))
    assert unassigned not in api.get("/order/cart")

    expired = api.post("/order/cart", ovhSubsidiary="FR", description="ansible: old",
                       expire="2020-01-01T00:00:00Z")["cartId"]
    with pytest.raises(ResourceNotFoundError):
        api.post(f"/order/cart/{expired}/assign")
    assert api.get("/order/cart", description="ansible: old") == []
