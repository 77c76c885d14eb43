# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scripted stand-ins for the HTTP session, clock and sleep used by the client tests, and a real TLS server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import http.server
import ipaddress
import json
import ssl
import threading

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_response(status=200, body=None, headers=None, raw=None):
    response = requests.Response()
    response.status_code = status
    response.reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests",
                       500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "")
    if raw is not None:
        response._content = raw
    elif body is not None:
        response._content = json.dumps(body).encode("utf-8")
    else:
        response._content = b""
    response.headers.update(headers or {})
    return response


class FakeSession:
    """Returns (or raises) scripted answers in order and records every call."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []
        self.headers = {}
        self.adapters = {}

    def mount(self, prefix, adapter):
        self.adapters[prefix] = adapter

    def request(self, method, url, data=None, headers=None, timeout=None, verify=True, cert=None):
        self.calls.append({"method": method, "url": url, "data": data, "headers": dict(headers or {}),
                           "verify": verify, "cert": cert})
        if not self.answers:
            raise AssertionError("unexpected request %s %s" % (method, url))
        answer = self.answers.pop(0)
        if callable(answer):
            answer = answer(method, url, data, headers)
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeTime:
    """A clock that only moves when the code under test sleeps (or the test says so)."""

    def __init__(self, now=1000.0):
        self.now = now
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class LocalTlsServer:
    """``with LocalTlsServer(certificate_pem, key_pem) as server:`` answers ``[]`` on ``server.url`` over TLS.

    A real server on loopback, for what only a real handshake shows: which CAs
    are trusted, and what OpenSSL says about a certificate outside its dates.
    """

    def __init__(self, certificate_pem, key_pem, directory):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"[]"
                self.send_response(200)  # with a Date header, as any HTTP server sends
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        cert_file = directory / "server-cert.pem"
        key_file = directory / "server-key.pem"
        cert_file.write_bytes(certificate_pem)
        key_file.write_bytes(key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert_file), str(key_file))
        self._server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = "https://127.0.0.1:%d/v2/okms/resource" % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()


def make_ca_and_server_certificate(name, not_before=None, not_after=None):
    """``(ca_pem, server_certificate_pem, server_key_pem)``: a CA and a certificate it signs for 127.0.0.1."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "%s test CA" % name)])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
                   .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(not_before or now - datetime.timedelta(hours=1))
                   .not_valid_after(not_after or now + datetime.timedelta(days=7))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                                  critical=False)
                   .sign(ca_key, hashes.SHA256()))
    return (ca.public_bytes(serialization.Encoding.PEM), certificate.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))
