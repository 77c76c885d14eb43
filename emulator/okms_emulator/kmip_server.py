"""The KMIP listeners: TLS 1.2+ with a required client certificate, TTLV messages over it.

Two listeners share one :class:`KmipService`: ``kmipEndpoint`` serves the ECDSA
server certificate (the REST planes' ``server.pem``), ``kmipRsaEndpoint`` an
RSA one, made on its first connection. Both are issued by the emulator's server
CA (``ca_path``). The handshake accepts certificates of every KMS's CAs; which
KMS a client acts on is its certificate's ``okms.domain:<okmsId>`` SAN, and the
certificate must belong to a credential of that KMS that is not revoked
(``data_plane.access_certificate_caller``).

PyKMIP (the codec) is imported on the first message, not at start: importing it
costs more than starting the whole emulator. Without PyKMIP the listeners are
not opened at all (``available()``).
"""

import importlib.util
import socket
import socketserver
import ssl
import struct
import sys
import threading
import traceback

from cryptography import x509

from . import pki
from .data_errors import DataPlaneError
from .data_plane import access_certificate_caller
from .kmip_objects import title

# A request message is a TTLV Structure tagged Request Message (0x420078, type 0x01).
_REQUEST_HEADER = b"\x42\x00\x78\x01"
MAX_MESSAGE = 1 << 20
HANDSHAKE_TIMEOUT = 10
IDLE_TIMEOUT = 300


def available():
    """Whether PyKMIP can be imported (without importing it)."""
    try:
        return importlib.util.find_spec("kmip") is not None
    except (ImportError, ValueError):
        return False


def kmip_context(cert_file, key_file):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_REQUIRED  # KMIP takes certificates only, no tokens
    if cert_file:
        ctx.load_cert_chain(cert_file, key_file)
    return ctx


class KmipService:
    """What both listeners share: the engine (made on first use), authentication, the audit log."""

    def __init__(self, emu):
        self.emu = emu
        self._lock = threading.Lock()
        self._engine = None
        self._broken = None

    def engine(self):
        with self._lock:
            if self._engine is None and self._broken is None:
                try:
                    from .kmip_engine import KmipEngine  # PyKMIP: only now
                    self._engine = KmipEngine(self.emu.store)
                except Exception as exc:  # noqa: BLE001 - a broken PyKMIP install raises anything
                    self._broken = str(exc)
                    print(f"okms-emulator: KMIP off: PyKMIP cannot be loaded ({exc})", file=sys.stderr, flush=True)
            return self._engine

    def authenticate(self, der):
        """(okmsId or None, caller or None, reason refused or None) of a client certificate."""
        cert = x509.load_der_x509_certificate(der)
        okms_id = pki.okms_domain(cert)
        if okms_id is None:
            return None, None, "the client certificate names no KMS (no okms.domain: subject alternative name)"
        try:
            return okms_id, access_certificate_caller(self.emu.store, okms_id, cert), None
        except DataPlaneError as exc:
            return okms_id, None, exc.message

    def answer(self, raw, der):
        """The response to one request message, its audit lines written; None: close the connection."""
        engine = self.engine()
        if engine is None:
            return None
        try:
            self.emu.tick()  # finished credential deletions, as on the REST planes
            okms_id, caller, refused = self.authenticate(der)
            response, items = engine.process(raw, okms_id, caller, refused)
        except Exception:  # noqa: BLE001 - report, never kill the listener
            traceback.print_exc()
            return None
        identity = caller.label if caller is not None else None
        for item in items:
            path = "/kmip/" + "/".join(part for part in (okms_id, item.uid) if part)
            self.emu.audit.write("kmip", identity, item.operation, path, "",
                                 "OperationFailed" if item.reason else "Success",
                                 extra={"result_reason": title(item.reason)} if item.reason else None)
        return response


class _Connection(socketserver.BaseRequestHandler):
    def handle(self):
        server = self.server
        conn = self.request
        try:
            conn.settimeout(HANDSHAKE_TIMEOUT)
            conn.do_handshake()
            der = conn.getpeercert(binary_form=True)
            conn.settimeout(IDLE_TIMEOUT)
            while True:
                raw = _read_message(conn)
                if raw is None:
                    return
                response = server.service.answer(raw, der)
                if response is None:
                    return
                conn.sendall(response)
        except (OSError, ssl.SSLError, ValueError):
            if server.service.emu.verbose:
                traceback.print_exc()


def _read_exactly(conn, size):
    chunks, left = [], size
    while left:
        chunk = conn.recv(min(left, 65536))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_message(conn):
    """One TTLV request message, or None when the client closed (or sent something else)."""
    header = _read_exactly(conn, 8)
    if header is None or header[:4] != _REQUEST_HEADER:
        return None
    length = struct.unpack(">I", header[4:])[0]
    if length > MAX_MESSAGE:
        return None
    body = _read_exactly(conn, length)
    return None if body is None else header + body


class KmipListener(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host, port, context, service, prepare=None):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _Connection)
        self.service = service
        self._prepare = prepare
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def get_request(self):
        # The one-time preparation (the RSA certificate) runs before the first accept: the TLS
        # object of a connection takes the context's certificate when it is made, at accept.
        if self._prepare is not None:
            try:
                self._prepare()
                self._prepare = None
            except Exception:  # noqa: BLE001 - never stop the accept loop; the next connection retries
                traceback.print_exc()
        return super().get_request()

    def handle_error(self, request, client_address):
        if self.service.emu.verbose:
            traceback.print_exc()
