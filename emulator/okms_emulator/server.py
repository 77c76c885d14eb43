"""HTTP layer: the two HTTPS servers (control plane, mTLS data plane).

Handshakes run in the per-connection thread (``do_handshake_on_connect=False``)
so one slow or failing client never blocks the accept loop.
"""

import json
import socket
import ssl
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import data_plane
from .errors import ApiError
from .routing import Request, Response

TOKEN_PATH = "/auth/oauth2/token"


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, context, emu):
        super().__init__(address, handler)
        self.emu = emu
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request, client_address):
        # TLS failures (untrusted/expired client certs, plain HTTP) are expected.
        if self.emu.verbose:
            traceback.print_exc()


class _BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "okms-emulator"
    sys_version = ""

    def log_message(self, fmt, *args):
        if self.server.emu.verbose:
            super().log_message(fmt, *args)

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, payload, headers, content_type="application/json; charset=utf-8"):
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if payload is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload or b"")))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET


class ControlHandler(_BaseHandler):
    def dispatch(self):
        emu = self.server.emu
        query_id = f"EU.emulator.{uuid.uuid4()}"
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        body = self._read_body()
        identity = None
        headers = {"X-Ovh-QueryID": query_id}
        try:
            emu.tick()
            if path == TOKEN_PATH:
                if self.command != "POST":
                    raise ApiError(405, "Client::MethodNotAllowed", "Use POST")
                status, payload = emu.authenticator.issue_token(self.headers, body)
                headers["Cache-Control"] = "no-store"
                response = Response(status, payload)
                if status == 200:
                    identity = f"oauth2:{self._token_client(body)}"
            else:
                handler, params, needs_auth = emu.router.match(self.command, path)
                full_url = f"https://{self.headers.get('Host', '')}{self.path}"
                if needs_auth or self.headers.get("X-Ovh-Signature") or self.headers.get("Authorization"):
                    identity = emu.authenticator.authenticate(self.command, full_url, body, self.headers)
                req = Request(self.command, path, query, self.headers, body, full_url, identity)
                response = handler(req, **params)
        except ApiError as exc:
            headers.update(exc.headers)
            response = Response(exc.status, exc.body())
        except Exception as exc:  # noqa: BLE001 - report, never crash the server
            traceback.print_exc()
            response = Response(500, {"class": "Server::InternalServerError", "message": str(exc)})
        headers.update(response.headers)
        if response.raw is not None:
            payload = response.raw
        else:
            payload = json.dumps(response.body, separators=(",", ":")).encode()
        self._send(response.status, payload, headers, response.content_type)
        emu.audit.write("control", identity, self.command, path, parsed.query, response.status)

    @staticmethod
    def _token_client(body):
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        return (form.get("client_id") or ["(basic)"])[-1]


class DataHandler(_BaseHandler):
    def dispatch(self):
        emu = self.server.emu
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        body = self._read_body()
        full_url = f"https://{self.headers.get('Host', '')}{self.path}"
        req = Request(self.command, path, query, self.headers, body, full_url)
        try:
            emu.tick()
            response = emu.data_plane.serve(req, self.connection.getpeercert(binary_form=True))
        except Exception as exc:  # noqa: BLE001 - report, never crash the server
            traceback.print_exc()
            response = Response(500, data_plane.error_body(500, f"internal error: {exc}"))
        raw = None if response.body is None else json.dumps(response.body, separators=(",", ":")).encode()
        self._send(response.status, raw, response.headers)
        emu.audit.write("data", req.identity, self.command, path, parsed.query, response.status)


def control_context(cert_file, key_file):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


def data_context(cert_file, key_file):
    ctx = control_context(cert_file, key_file)
    # OPTIONAL so a missing certificate gets a JSON 401 instead of a TLS alert;
    # a certificate that does not chain to a KMS CA still fails the handshake.
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def bind(host, port, handler, context, emu):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class _Server(TLSServer):
        address_family = family

    return _Server((host, port), handler, context, emu)

