# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An HTTPS stand-in for the OVHcloud API on loopback, for the lookup tests.

It answers ``/1.0/auth/time`` and the OAuth2 token endpoint like OVHcloud,
any other path with a scripted answer (``[]`` by default), and records every
request, so a test can check which credentials a request was really sent
with: the application key and consumer key headers, a signature made with
the expected secret, or the client id and secret of the token request. Its
certificate comes from a CA of its own (``ca_path``): the client refuses
plain http, as it sends credentials.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import shutil
import ssl
import tempfile
import threading
import time

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_auth import application_key_signature
from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.okms_fakes import make_ca_and_server_certificate


class RecordedRequest:
    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body

    def form(self):
        return dict((name, values[0]) for name, values in parse_qs(self.body.decode("ascii")).items())


class LocalOvhApi:
    """``with LocalOvhApi() as api:`` serves on ``api.endpoint`` (``https://127.0.0.1:PORT/1.0``), trusted with
    the CA in ``api.ca_path``."""

    def __init__(self):
        self.requests = []
        # path -> (status, JSON body, headers)
        self.answers = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                api.requests.append(RecordedRequest(self.command, self.path, dict(self.headers.items()), body))
                status, answer, headers = api.answer(self.command, self.path, body)
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args):
                pass

        self._directory = tempfile.mkdtemp(prefix="local-ovh-api-")
        ca, certificate, key = make_ca_and_server_certificate("local OVHcloud API")
        self.ca_path = self._write("ca.pem", ca)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._write("server.pem", certificate), self._write("server-key.pem", key))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.root = "https://127.0.0.1:%d" % self._server.server_address[1]
        self.endpoint = self.root + "/1.0"
        # A short poll interval: each test stops its server.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self._directory, ignore_errors=True)

    def _write(self, name, data):
        path = "%s/%s" % (self._directory, name)
        with open(path, "wb") as handle:
            handle.write(data)
        return path

    def answer(self, method, path, body):
        if path == "/1.0/auth/time":
            return 200, str(int(time.time())).encode("ascii"), {}
        if path == "/auth/oauth2/token" and method == "POST":
            client_id = RecordedRequest(method, path, {}, body).form().get("client_id")
            return 200, {"access_token": "token-of-%s" % client_id, "token_type": "Bearer", "expires_in": 3600}, {}
        return self.answers.get(path, (200, [], {}))

    def calls_to(self, path):
        return [request for request in self.requests if request.path == path]

    def signed_with(self, request, application_secret, consumer_key):
        """Whether ``request`` carries a valid signature made with this secret and consumer key."""
        headers = request.headers
        expected = application_key_signature(
            application_secret, consumer_key, request.method, self.root + request.path, request.body,
            headers["X-Ovh-Timestamp"])
        return headers.get("X-Ovh-Signature") == expected and headers.get("X-Ovh-Consumer") == consumer_key
