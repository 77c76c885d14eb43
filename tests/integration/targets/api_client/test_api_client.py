# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's API client against the running emulator: auth, TLS, pagination, errors, ordering."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time
import uuid

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_api import OvhApiClient
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_config import resolve_config
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError

REGIONS = {"eu-west-rbx", "eu-west-sbg", "eu-west-gra", "eu-west-par", "eu-west-eri", "eu-west-lim",
           "eu-south-mil", "eu-central-waw", "ca-east-bhs", "ca-east-tor", "ap-south-mum",
           "ap-southeast-sgp", "ap-southeast-syd"}


@pytest.fixture(scope="module")
def conn():
    # Written by scripts/run_integration.py (JSON is YAML); ansible-test does not pass our environment through.
    config_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "integration_config.yml")
    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    with open(config["okms_emulator_connection_path"], encoding="utf-8") as handle:
        return json.load(handle)


def audit_lines(conn):
    if not os.path.exists(conn["audit_log"]):
        return []
    with open(conn["audit_log"], encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def make_client(conn, method="application_key", ca=True, **overrides):
    options = dict(endpoint=conn["endpoint"])
    if method == "application_key":
        options.update(application_key=conn["application_key"], application_secret=conn["application_secret"],
                       consumer_key=conn["consumer_key"])
    else:
        options.update(client_id=conn["client_id"], client_secret=conn["client_secret"])
    options.update(overrides)
    return OvhApiClient(resolve_config(options, environ={}, config_files=()),
                        ca_path=conn["ca_path"] if ca else None, timeout=10)


def test_signed_client_reads_every_page_and_never_asks_the_time_with_a_right_clock(conn):
    before = len(audit_lines(conn))
    client = make_client(conn)
    regions = client.get_all("/v2/okms/reference/regions", page_size=2)
    assert {r["id"] for r in regions} == REGIONS
    first_page = client.get("/v2/okms/reference/regions")
    assert len(first_page) < len(REGIONS), "the emulator's default page must be small"
    lines = audit_lines(conn)[before:]
    assert len(lines) > 3 and "/1.0/auth/time" not in [line["path"] for line in lines]
    assert all(line["identity"] and line["status"] == 200 for line in lines)


def test_a_clock_ten_minutes_behind_asks_the_time_once_then_signs_right(conn, monkeypatch):
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 600)
    before = len(audit_lines(conn))
    client = make_client(conn)
    assert {r["id"] for r in client.get_all("/v2/okms/reference/regions")} == REGIONS
    client.get("/v2/okms/reference/regions")
    lines = audit_lines(conn)[before:]
    assert [(line["path"], line["status"]) for line in lines] == [
        ("/v2/okms/reference/regions", 400), ("/1.0/auth/time", 200),
        ("/v2/okms/reference/regions", 200), ("/v2/okms/reference/regions", 200)]


def test_oauth2_client_uses_the_emulator_token_endpoint(conn):
    client = make_client(conn, method="oauth2")
    assert client._token_urls == [conn["token_url"]]
    assert isinstance(client.get_all("/v2/okms/resource"), list)
    assert client.get_all("/v2/okms/reference/regions", page_size=5)


def test_wrong_secret_is_refused_with_ovh_error_class(conn):
    client = make_client(conn, application_secret="not-the-secret")
    with pytest.raises(OvhApiError) as err:
        client.get("/v2/okms/resource")
    assert err.value.status in (400, 403)
    assert err.value.error_code == "INVALID_SIGNATURE"
    assert "INVALID_SIGNATURE" in str(err.value)
    assert "not-the-secret" not in str(err.value)


def test_wrong_client_secret_is_refused(conn):
    client = make_client(conn, method="oauth2", client_secret="not-the-secret")
    with pytest.raises(OvhApiError) as err:
        client.get("/v2/okms/resource")
    assert err.value.status in (400, 401)
    assert "not-the-secret" not in str(err.value)


def test_unknown_kms_maps_to_not_found_with_query_id(conn):
    client = make_client(conn)
    with pytest.raises(OvhApiError) as err:
        client.get("/v2/okms/resource/%s" % uuid.uuid4())
    assert err.value.status == 404
    assert err.value.error_class == "Client::NotFound"
    assert err.value.query_id
    assert "X-Ovh-QueryID: %s" % err.value.query_id in str(err.value)


def test_emulator_tls_needs_its_ca(conn):
    client = make_client(conn, ca=False)
    with pytest.raises(OvhApiError, match="ca_path"):
        client.get("/v2/okms/reference/regions")


def wait_for(predicate, timeout=30):
    delay = 0.1
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def test_order_a_kms_then_create_and_page_through_keys(conn):
    client = make_client(conn)
    cart = client.post("/order/cart", {"ovhSubsidiary": "FR"})
    client.post("/order/cart/%s/assign" % cart["cartId"])
    item = client.post("/order/cart/%s/okms" % cart["cartId"],
                       {"planCode": "okms", "duration": "P1M", "pricingMode": "default", "quantity": 1})
    client.post("/order/cart/%s/item/%s/configuration" % (cart["cartId"], item["itemId"]),
                {"label": "region", "value": "eu-west-sbg"})
    order = client.post("/order/cart/%s/checkout" % cart["cartId"],
                        {"autoPayWithPreferredPaymentMethod": True, "waiveRetractationPeriod": True})
    order_id = order["orderId"]
    wait_for(lambda: client.get("/me/order/%s/status" % order_id) == "delivered")
    okms_id = None
    for detail_id in client.get("/me/order/%s/details" % order_id):
        extension = client.get("/me/order/%s/details/%s/extension" % (order_id, detail_id))
        if extension["order"]["plan"]["code"] == "okms":
            okms_id = client.get("/me/order/%s/details/%s" % (order_id, detail_id))["domain"]
    assert okms_id
    kms = client.get("/v2/okms/resource/%s" % okms_id, params={"publicCA": "true"})
    assert kms["region"] == "eu-west-sbg"
    assert "BEGIN CERTIFICATE" in kms["publicCA"]

    for index in range(5):
        client.post("/v2/okms/resource/%s/serviceKey" % okms_id,
                    {"name": "k%d" % index, "type": "oct", "size": 256, "operations": ["encrypt", "decrypt"]})
    keys = client.get_all("/v2/okms/resource/%s/serviceKey" % okms_id)
    assert sorted(k["name"] for k in keys) == ["k0", "k1", "k2", "k3", "k4"]

    with pytest.raises(OvhApiError) as err:
        client.post("/v2/okms/resource/%s/serviceKey" % okms_id,
                    {"name": "bad", "type": "EC", "size": 2048, "curve": "P-256", "operations": ["sign", "verify"]})
    assert err.value.status == 400
    assert err.value.error_class == "Client::BadRequest::ServiceKeySizeIncompatible"
    assert len(client.get_all("/v2/okms/resource/%s/serviceKey" % okms_id)) == 5
