# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A write whose outcome is unknown is settled by re-reading: adopted when it took effect, sent again only
when the re-read proves it absent.

These tests drive the modules' main() with a scripted client that applies a
POST (or not) and then raises OvhAmbiguousRequestError, as a connection
dropped after (or before) the server received it would.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import uuid

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.http_transport import RetryPolicy
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhAmbiguousRequestError, OvhApiError
from ansible_collections.ovhcloud.kms.plugins.modules import okms_credential, okms_instance, okms_service_key
from ansible_collections.ovhcloud.kms.tests.unit.module_harness import module_args

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
CONNECTION = dict(endpoint="ovh-eu", client_id="cid", client_secret="s3cr3t")


class ModuleExit(Exception):
    def __init__(self, failed, kwargs):
        super(ModuleExit, self).__init__(kwargs.get("msg"))
        self.failed = failed
        self.result = kwargs


class ScriptedClient:
    """Serves GETs from ``resources``; ``on_post`` decides what a POST does."""

    def __init__(self, resources, on_post):
        self.resources = resources
        self.on_post = on_post
        self.calls = []
        self.sleeps = []
        # A repeated write backs off on this clock, which only moves when it sleeps.
        self.retry_policy = RetryPolicy(sleep=self.sleeps.append, clock=lambda: sum(self.sleeps))

    def get(self, path, params=None):
        self.calls.append(("GET", path))
        if path not in self.resources:
            raise OvhApiError("not found", status=404, error_class="Client::NotFound", method="GET", path=path)
        return self.resources[path]

    def get_all(self, path, params=None, page_size=None):
        self.calls.append(("GET", path))
        return list(self.resources.get(path, []))

    def post(self, path, body=None, params=None):
        self.calls.append(("POST", path))
        return self.on_post(self, path, body)

    def put(self, path, body=None, params=None):
        self.calls.append(("PUT", path))
        raise AssertionError("unexpected PUT %s" % path)

    def delete(self, path, params=None):
        self.calls.append(("DELETE", path))
        raise AssertionError("unexpected DELETE %s" % path)

    def posts(self):
        return [call for call in self.calls if call[0] == "POST"]


@pytest.fixture
def run(monkeypatch):
    def exit_json(self, **kwargs):
        raise ModuleExit(False, kwargs)

    def fail_json(self, **kwargs):
        raise ModuleExit(True, kwargs)

    monkeypatch.setattr(OkmsModule, "exit_json", exit_json)
    monkeypatch.setattr(OkmsModule, "fail_json", fail_json)

    def run_module(module, args, client):
        monkeypatch.setattr(OkmsModule, "client", property(lambda self: client))
        with module_args(dict(CONNECTION, **args)):
            with pytest.raises(ModuleExit) as outcome:
                module.main()
        return outcome.value

    return run_module


def dropped_after_applying(record_path, record):
    """A POST that reaches the server (the record appears) but whose answer is lost."""
    def on_post(client, path, body):
        client.resources.setdefault(record_path, []).append(record)
        client.resources["%s/%s" % (record_path, record["id"])] = record
        raise OvhAmbiguousRequestError("connection reset", method="POST", path=path)
    return on_post


def test_service_key_create_is_re_read_not_repeated(run):
    keys = "/v2/okms/resource/%s/serviceKey" % OKMS_ID
    key = {"id": str(uuid.uuid4()), "name": "app", "type": "oct", "size": 256, "curve": None,
           "operations": ["encrypt", "decrypt"], "state": "ACTIVE", "createdAt": "2026-11-28T20:00:00Z"}
    client = ScriptedClient({keys: []}, dropped_after_applying(keys, key))
    outcome = run(okms_service_key, dict(okms_id=OKMS_ID, name="app", type="oct"), client)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["service_key"]["id"] == key["id"]
    assert len(client.posts()) == 1


def test_service_key_create_lost_before_applying_is_repeated_once_and_converges(run):
    """Before the reliability issue this expected the task to fail ("may or may not have been applied"): the
    re-read proves the key absent, so the module now sends the create again, once, and converges in one run."""
    keys = "/v2/okms/resource/%s/serviceKey" % OKMS_ID
    key = {"id": str(uuid.uuid4()), "name": "app", "type": "oct", "size": 256, "curve": None,
           "operations": ["encrypt", "decrypt"], "state": "ACTIVE", "createdAt": "2026-11-28T20:00:00Z"}
    sent = []

    def lost_the_first_time(client, path, body):
        sent.append(body)
        if len(sent) == 1:
            raise OvhAmbiguousRequestError("the request may or may not have been applied (ReadTimeout); re-read the "
                                           "resource before trying again", method="POST", path=path)
        client.resources[keys].append(key)
        return key

    client = ScriptedClient({keys: []}, lost_the_first_time)
    outcome = run(okms_service_key, dict(okms_id=OKMS_ID, name="app", type="oct"), client)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True
    assert outcome.result["service_key"]["id"] == key["id"]
    # Looked for the key twice before creating; after the lost create, found none, and sent it once more.
    assert client.calls[:6] == [("GET", keys), ("GET", keys), ("POST", keys), ("GET", keys), ("POST", keys),
                                ("GET", keys)]
    assert sent[0] == sent[1]
    assert len(client.sleeps) == 1


def test_credential_create_is_adopted_not_repeated(run, tmp_path):
    credentials = "/v2/okms/resource/%s/credential" % OKMS_ID
    csr = okms_credential_csr(tmp_path)
    credential = {"id": str(uuid.uuid4()), "name": "web1", "identityURNs": ["urn:v1:eu:identity:account:xx1111-ovh"],
                  "description": None, "status": "CREATING", "fromCSR": True, "certificateType": "ECDSA",
                  "createdAt": "2026-11-28T20:00:00Z", "expiredAt": "2027-11-28T20:00:00Z", "certificatePEM": None}
    client = ScriptedClient({credentials: []}, dropped_after_applying(credentials, credential))
    outcome = run(okms_credential, dict(okms_id=OKMS_ID, name="web1", private_key_source="csr", csr=csr,
                                        identity_urns=["urn:v1:eu:identity:account:xx1111-ovh"], wait=False),
                  client)
    assert not outcome.failed, outcome.result
    assert outcome.result["credential"]["id"] == credential["id"]
    assert len(client.posts()) == 1


def test_instance_checkout_lost_fails_with_rerun_advice_and_orders_once(run):
    def order(client, path, body):
        if path.endswith("/checkout"):
            raise OvhAmbiguousRequestError("connection reset", method="POST", path=path)
        if path == "/order/cart":
            return {"cartId": "cart1"}
        if path.endswith("/okms"):
            return {"itemId": 7}
        return None

    resources = {"/v2/okms/reference/regions": [{"id": "eu-west-rbx"}], "/v2/okms/resource": [],
                 "/order/cart": [], "/me": {"ovhSubsidiary": "FR"}}
    client = ScriptedClient(resources, order)
    outcome = run(okms_instance, dict(name="prod", region="eu-west-rbx"), client)
    assert outcome.failed
    assert outcome.result["changed"] is True
    assert "finds a pending order instead of ordering twice" in outcome.result["msg"]
    assert client.posts().count(("POST", "/order/cart/cart1/checkout")) == 1


def okms_credential_csr(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "web1")])).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")
