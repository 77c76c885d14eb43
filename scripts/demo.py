#!/usr/bin/env python3
"""`make demo`: the local OKMS emulator and the collection's API client, end to end.

Until the collection's modules and role exist this drives the shared API
client directly: order a KMS, create its keys, issue an access certificate
from a key generated here, and use that certificate over mutual TLS.
"""

import argparse
import base64
import os
import stat
import sys
import time

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emulator_process import running_emulator  # noqa: E402


def step(text):
    print("\n== %s" % text, flush=True)


def say(text):
    print("   %s" % text, flush=True)


def wait_for(predicate, timeout=60):
    delay = 0.1
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting")
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--collections-root", required=True)
    args = parser.parse_args()
    sys.path.insert(0, args.collections_root)
    from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_api import OvhApiClient
    from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_config import resolve_config
    from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError

    step("Starting the local OKMS emulator")
    with running_emulator(os.path.abspath(args.state_dir), extra_args=["--credential-ready-delay", "1",
                                                                       "--order-delivery-delay", "1"]) as conn:
        say("control plane  %s" % conn["endpoint"])
        say("data plane     %s (mutual TLS)" % conn["data_endpoint"])
        say("settings       %s" % conn["connection_path"])
        config = resolve_config(dict(endpoint=conn["endpoint"], client_id=conn["client_id"],
                                     client_secret=conn["client_secret"]), environ={}, config_files=())
        api = OvhApiClient(config, ca_path=conn["ca_path"])

        step("Ordering a KMS in eu-west-rbx (OAuth2 service account)")
        cart = api.post("/order/cart", {"ovhSubsidiary": "FR"})
        api.post("/order/cart/%s/assign" % cart["cartId"])
        item = api.post("/order/cart/%s/okms" % cart["cartId"],
                        {"planCode": "okms", "duration": "P1M", "pricingMode": "default", "quantity": 1})
        api.post("/order/cart/%s/item/%s/configuration" % (cart["cartId"], item["itemId"]),
                 {"label": "region", "value": "eu-west-rbx"})
        order_id = api.post("/order/cart/%s/checkout" % cart["cartId"],
                            {"autoPayWithPreferredPaymentMethod": True, "waiveRetractationPeriod": True})["orderId"]
        say("order %s placed, waiting for delivery" % order_id)
        wait_for(lambda: api.get("/me/order/%s/status" % order_id) == "delivered")
        okms_id = None
        for detail_id in api.get("/me/order/%s/details" % order_id):
            if api.get("/me/order/%s/details/%s/extension" % (order_id, detail_id))["order"]["plan"]["code"] == "okms":
                okms_id = api.get("/me/order/%s/details/%s" % (order_id, detail_id))["domain"]
        service_id = api.get("/services", params={"resourceName": okms_id})[0]
        api.put("/services/%s" % service_id, {"displayName": "demo-kms"})
        kms = api.get("/v2/okms/resource/%s" % okms_id, params={"publicCA": "true"})
        say("KMS %s (%s) delivered, REST endpoint %s" % (kms["id"], kms["iam"]["displayName"], kms["restEndpoint"]))

        step("Creating an oct, an RSA and an EC key")
        keys = {}
        for body in ({"name": "demo-oct", "type": "oct", "size": 256, "operations": ["encrypt", "decrypt"]},
                     {"name": "demo-rsa", "type": "RSA", "size": 3072, "operations": ["sign", "verify"]},
                     {"name": "demo-ec", "type": "EC", "curve": "P-256", "operations": ["sign", "verify"]}):
            key = api.post("/v2/okms/resource/%s/serviceKey" % okms_id, body)
            keys[key["name"]] = key
            say("%-9s %-4s %-6s %s" % (key["name"], key["type"], key.get("curve") or key.get("size"), key["id"]))
        try:
            api.post("/v2/okms/resource/%s/serviceKey" % okms_id,
                     {"name": "bad", "type": "oct", "size": 2048, "operations": ["encrypt", "decrypt"]})
        except OvhApiError as exc:
            say("an invalid key is refused: %s" % exc.error_class)

        step("Issuing an access certificate for a key generated here (it never leaves this machine)")
        out_dir = os.path.join(os.path.abspath(args.state_dir), "host1")
        os.makedirs(out_dir, mode=0o750, exist_ok=True)
        private_key = ec.generate_private_key(ec.SECP256R1())
        key_path = os.path.join(out_dir, "domain.key")
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
        csr = x509.CertificateSigningRequestBuilder().subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "demo-host1")])).sign(private_key, hashes.SHA256())
        credential = api.post("/v2/okms/resource/%s/credential" % okms_id, {
            "name": "demo-host1", "identityURNs": ["urn:v1:eu:identity:account:%s" % conn["account"]],
            "validity": 30, "csr": csr.public_bytes(serialization.Encoding.PEM).decode()})
        say("credential %s is %s" % (credential["id"], credential["status"]))
        credential = wait_for(lambda: (lambda c: c if c["status"] == "READY" else None)(
            api.get("/v2/okms/resource/%s/credential/%s" % (okms_id, credential["id"]))))
        cert_path = os.path.join(out_dir, "client.cert")
        with open(cert_path, "w", encoding="utf-8") as handle:
            handle.write(credential["certificatePEM"])
        ca_path = os.path.join(out_dir, "ca.pem")
        with open(ca_path, "w", encoding="utf-8") as handle:
            handle.write(conn_ca(conn))
        for path in (cert_path, key_path, ca_path):
            say("%s %s" % (stat.filemode(os.stat(path).st_mode), path))
        cert = x509.load_pem_x509_certificate(credential["certificatePEM"].encode())
        say("subject %s, issuer %s, expires %s" % (cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(),
                                                   credential["expiredAt"]))

        step("Encrypting and decrypting over mutual TLS with the deployed certificate")
        base = "%s/api/%s/v1/servicekey/%s" % (kms["restEndpoint"], okms_id, keys["demo-oct"]["id"])
        message = b"hello from make demo"
        session = requests.Session()
        # verify per request: a session-level setting would lose to REQUESTS_CA_BUNDLE.
        tls = dict(cert=(cert_path, key_path), verify=ca_path, timeout=10)
        encrypted = session.post(base + "/encrypt", json={"plaintext": base64.b64encode(message).decode(),
                                                          "context": "demo"}, **tls)
        encrypted.raise_for_status()
        ciphertext = encrypted.json()["ciphertext"]
        say("ciphertext %s..." % ciphertext[:48])
        decrypted = session.post(base + "/decrypt", json={"ciphertext": ciphertext, "context": "demo"}, **tls)
        decrypted.raise_for_status()
        say("decrypted  %r" % base64.b64decode(decrypted.json()["plaintext"]))

        step("Revoking the credential: the same certificate is then refused")
        api.delete("/v2/okms/resource/%s/credential/%s" % (okms_id, credential["id"]))
        session.close()
        refused = requests.post(base + "/encrypt", json={"plaintext": "aGk="}, **tls)
        say("data plane answers HTTP %s after revocation" % refused.status_code)
        if refused.status_code < 400:
            raise SystemExit("a revoked certificate was accepted")

        step("Stopping the emulator")
    say("done; state kept in %s" % args.state_dir)


def conn_ca(conn):
    """The CA a data-plane client must trust: the emulator's server CA."""
    with open(conn["ca_path"], encoding="utf-8") as handle:
        return handle.read()


if __name__ == "__main__":
    main()
