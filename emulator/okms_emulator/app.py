"""The emulator process: state, identities, both servers, connection.json."""

import json
import os
import secrets
import threading

from . import pki
from .audit import AuditLog
from .auth import Authenticator, ensure_account
from .control_secrets import ControlSecrets
from .control_v2 import ControlV2
from .data_plane import DATA_PAGE_SIZE, DataPlane
from .faults import ADMIN_PATH, FaultInjector
from .kms import purge_deleted_credentials
from .ordering_v1 import OrderingV1
from .pagination import Paginator
from .routing import Router
from .server import ControlHandler, DataHandler, bind, control_context, data_context
from .store import Store

# Changes closer together than this are written to state.json together (see store.py).
SAVE_INTERVAL = 0.2

SERVER_FILES = {"caPEM": "server-ca.pem", "caKeyPEM": "server-ca.key",
                "certificatePEM": "server.pem", "keyPEM": "server.key"}


def _write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _write_atomic_json(path, data):
    tmp = path + ".tmp"
    _write_private(tmp, json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


class Emulator:
    def __init__(self, state_dir, host="127.0.0.1", port=0, data_port=0,
                 credential_ready_delay=2.0, credential_delete_delay=1.0,
                 order_delivery_delay=2.0, token_lifetime=3599, max_clock_skew=60,
                 page_size=3, max_page_size=100, verbose=False, subsidiary="FR", faults=None):
        os.makedirs(state_dir, exist_ok=True)
        self.state_dir = os.path.abspath(state_dir)
        self.host = host
        self.verbose = verbose
        self.credential_ready_delay = credential_ready_delay
        self.credential_delete_delay = credential_delete_delay
        self.order_delivery_delay = order_delivery_delay
        self.subsidiary = subsidiary  # the account's ovhSubsidiary (GET /me)
        self.connection_path = os.path.join(self.state_dir, "connection.json")
        if os.path.exists(self.connection_path):
            os.unlink(self.connection_path)  # stale from a crash: never advertise dead ports

        self.store = Store(self.state_dir, save_interval=SAVE_INTERVAL)
        self.credentials = ensure_account(self.store)
        with self.store.lock:
            pagination_secret = self.store.data.setdefault("secrets", {}).setdefault(
                "pagination", secrets.token_hex(32))
            self.store.save()
        self.paginator = Paginator(pagination_secret, page_size, max_page_size)
        self.authenticator = Authenticator(self.store, max_clock_skew, token_lifetime)
        self.audit = AuditLog(os.path.join(self.state_dir, "audit.jsonl"))
        self.faults = FaultInjector(faults)  # faults: a FaultConfig, or None for none

        files = self._server_identity()
        self.control_ctx = control_context(files["certificatePEM"], files["keyPEM"])
        self.data_ctx = data_context(files["certificatePEM"], files["keyPEM"])
        with self.store.lock:
            for record in self.store.data["okms"].values():
                self.trust_kms(record)

        self.router = Router()
        self.ordering = OrderingV1(self)
        self.ordering.register(self.router)
        control_v2 = ControlV2(self)
        control_v2.register(self.router)
        ControlSecrets(self, control_v2).register(self.router)
        # Its own Router (data-plane paths and error bodies), tokens checked by the same Authenticator,
        # secret lists paged with the data plane's sizes.
        self.data_plane = DataPlane(self.store, self.authenticator,
                                    Paginator(pagination_secret, DATA_PAGE_SIZE, DATA_PAGE_SIZE))

        self.control_server = bind(host, port, ControlHandler, self.control_ctx, self)
        self.data_server = bind(host, data_port, DataHandler, self.data_ctx, self)
        url_host = f"[{host}]" if ":" in host else host
        self.base_url = f"https://{url_host}:{self.control_server.server_address[1]}"
        self.endpoint = self.base_url + "/1.0"
        self.data_endpoint = f"https://{url_host}:{self.data_server.server_address[1]}"
        self._threads = []

    def _server_identity(self):
        paths = {k: os.path.join(self.state_dir, v) for k, v in SERVER_FILES.items()}
        if not all(os.path.exists(p) for p in paths.values()):
            for key, text in pki.make_server_identity().items():
                _write_private(paths[key], text)
        return paths

    def trust_kms(self, record):
        """Let the data plane accept certificates of this KMS's CAs (live context)."""
        self.data_ctx.load_verify_locations(
            cadata=record["ca"]["certificatePEM"] + record["rsaCa"]["certificatePEM"])

    def tick(self):
        """Apply time-driven transitions (delivery, finished deletions)."""
        with self.store.lock:
            changed = self.ordering.tick()
            changed = purge_deleted_credentials(
                self.store, self.credential_ready_delay, self.credential_delete_delay) or changed
            if changed:
                self.store.save()

    def connection_info(self):
        c = self.credentials
        return {
            "endpoint": self.endpoint,
            "base_url": self.base_url,
            "token_url": self.base_url + "/auth/oauth2/token",
            "ca_path": os.path.join(self.state_dir, SERVER_FILES["caPEM"]),
            "application_key": c["application_key"],
            "application_secret": c["application_secret"],
            "consumer_key": c["consumer_key"],
            "client_id": c["client_id"],
            "client_secret": c["client_secret"],
            "account": c["account"],
            "data_endpoint": self.data_endpoint,
            "audit_log": self.audit.path,
            "faults_url": self.base_url + ADMIN_PATH,
            "state_dir": self.state_dir,
            "pid": os.getpid(),
        }

    def start(self):
        for srv in (self.control_server, self.data_server):
            thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
            thread.start()
            self._threads.append(thread)
        _write_atomic_json(self.connection_path, self.connection_info())

    def stop(self):
        for srv in (self.control_server, self.data_server):
            srv.shutdown()
            srv.server_close()
        self.store.close()
        if os.path.exists(self.connection_path):
            os.unlink(self.connection_path)
