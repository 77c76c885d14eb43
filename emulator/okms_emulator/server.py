"""HTTP layer: the two HTTPS servers (control plane, mTLS data plane).

Handshakes run in the per-connection thread (``do_handshake_on_connect=False``)
so one slow or failing client never blocks the accept loop.

Both planes share ``_BaseHandler.dispatch``: it asks the fault injector
(``faults.py``) whether this request gets a fault, applies the fault if so,
and writes the audit line. Each plane only says how it serves a request
(``serve``) and how it words an error (``error_answer``).
"""

import ipaddress
import json
import socket
import ssl
import struct
import time
import traceback
import urllib.parse
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import data_plane, faults
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


@dataclass
class Answer:
    """What a plane answers to one request, and who asked (for the audit log)."""

    status: int
    payload: bytes
    headers: dict
    content_type: str = "application/json; charset=utf-8"
    identity: str = None


class _BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "okms-emulator"
    sys_version = ""
    # Answers go out in one write (_send); without Nagle's algorithm, nothing else can wait for an ACK either.
    disable_nagle_algorithm = True
    plane = None  # "control" or "data"

    def log_message(self, fmt, *args):
        if self.server.emu.verbose:
            super().log_message(fmt, *args)

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, answer):
        self.send_response(answer.status)
        for key, value in answer.headers.items():
            self.send_header(key, value)
        if answer.payload is not None:
            self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.payload or b"")))
        # Status line, headers and body leave in one write (one TLS record, one segment when small):
        # written apart, the body would wait for the client's delayed ACK (~40 ms) on every request.
        self._headers_buffer.append(b"\r\n" + (answer.payload or b""))
        self.flush_headers()

    def _drop_connection(self):
        """Close the connection without an answer: a TCP reset (SO_LINGER 0), no TLS close_notify."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # the descriptor closes once the handler's streams are closed
        except OSError:
            pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def dispatch(self):
        emu = self.server.emu
        parsed = urllib.parse.urlsplit(self.path)
        body = self._read_body()
        if self.plane == "control" and parsed.path == faults.ADMIN_PATH and self._from_loopback():
            status, result = faults.serve_admin(emu.faults, self.command, body)
            emu.audit.write(self.plane, None, self.command, parsed.path, parsed.query, status,
                            user_agent=self.headers.get("User-Agent"))
            self._deliver(Answer(status, json.dumps(result).encode(), {}))
            return
        fault = emu.faults.decide(self.plane, self.command, parsed.path)
        applied = self.serve(parsed, body) if fault is None or fault.applies_request else None
        answer = applied if fault is None else self._faulty_answer(fault, applied)
        # Logged before the answer goes out, so a client holding its answer always finds the line.
        emu.audit.write(self.plane, applied.identity if applied else None, self.command, parsed.path,
                        parsed.query, answer.status if answer is not None else None,
                        fault=fault.kind if fault else None, applied_status=applied.status if applied else None,
                        user_agent=self.headers.get("User-Agent"))
        if answer is None:
            self._drop_connection()
        else:
            self._deliver(answer)

    def _faulty_answer(self, fault, applied):
        """The one place where a fault is applied: the answer to send instead (None: none at all).

        ``applied`` is the answer of the request when the fault kind applies it first, else None.
        """
        if fault.kind == "slow":
            time.sleep(fault.slow_seconds)
            return applied
        if fault.drops_connection:
            return None
        if fault.kind == "429":
            return self.error_answer(429, "Too many requests: retry later",
                                     {"Retry-After": str(faults.RETRY_AFTER_SECONDS)})
        status = 502 if fault.kind == "commit-502" else int(fault.kind)  # 500, 502, 503, commit-502
        return self.error_answer(status, f"{status} {HTTPStatus(status).phrase} (injected fault)")

    def _deliver(self, answer):
        """Send ``answer``; a client that has gone (e.g. timed out on a slow answer) is not an error."""
        try:
            self._send(answer)
            return True
        except OSError:
            self.close_connection = True
            return False

    def _from_loopback(self):
        address = ipaddress.ip_address(self.client_address[0].split("%")[0])
        mapped = getattr(address, "ipv4_mapped", None)
        return (mapped or address).is_loopback


class ControlHandler(_BaseHandler):
    plane = "control"

    def serve(self, parsed, body):
        emu = self.server.emu
        path = parsed.path
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        identity = None
        headers = {"X-Ovh-QueryID": self._query_id()}
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
        return Answer(response.status, payload, headers, response.content_type, identity)

    def error_answer(self, status, message, headers=None):
        error_class = {429: "Client::TooManyRequests", 500: "Server::InternalServerError",
                       502: "Server::BadGateway", 503: "Server::ServiceUnavailable"}[status]
        payload = json.dumps({"class": error_class, "message": message}, separators=(",", ":")).encode()
        return Answer(status, payload, {"X-Ovh-QueryID": self._query_id(), **(headers or {})})

    @staticmethod
    def _query_id():
        return f"EU.emulator.{uuid.uuid4()}"

    @staticmethod
    def _token_client(body):
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        return (form.get("client_id") or ["(basic)"])[-1]


class DataHandler(_BaseHandler):
    plane = "data"

    def do_LIST(self):  # noqa: N802 - http.server's naming; Vault's KV2 lists with this verb
        self.dispatch()

    def serve(self, parsed, body):
        emu = self.server.emu
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        full_url = f"https://{self.headers.get('Host', '')}{self.path}"
        req = Request(self.command, parsed.path, query, self.headers, body, full_url)
        try:
            emu.tick()
            response = emu.data_plane.serve(req, self.connection.getpeercert(binary_form=True))
        except Exception as exc:  # noqa: BLE001 - report, never crash the server
            traceback.print_exc()
            response = Response(500, data_plane.error_body(500, f"internal error: {exc}"))
        raw = None if response.body is None else json.dumps(response.body, separators=(",", ":")).encode()
        return Answer(response.status, raw, dict(response.headers), response.content_type, req.identity)

    @staticmethod
    def error_answer(status, message, headers=None):
        payload = json.dumps(data_plane.error_body(status, message), separators=(",", ":")).encode()
        return Answer(status, payload, dict(headers or {}))


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

