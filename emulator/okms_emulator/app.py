"""The emulator process: state, identities, its servers (control, data, KMIP), connection.json."""

import json
import os
import secrets
import sys
import threading

from . import kmip_server, pki
from .audit import AuditLog
from .auth import Authenticator, ensure_account
from .control_secrets import ControlSecrets
from .control_v2 import ControlV2
from .data_plane import DATA_PAGE_SIZE, DataPlane
from .faults import ADMIN_PATH, FaultInjector
from .iam import IamPolicies, ensure_service_account_policy
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
# The RSA KMIP listener's certificate, issued by the same CA on its first connection.
RSA_SERVER_FILES = {"certificatePEM": "server-rsa.pem", "keyPEM": "server-rsa.key"}


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
                 page_size=3, max_page_size=100, verbose=False, subsidiary="FR", faults=None,
                 kmip_port=0, kmip_rsa_port=0):
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
        # Its service account may use every KMS through this read-only policy (README, "IAM").
        ensure_service_account_policy(self.store, self.credentials["client_id"])
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
        self.kmip_off = None  # why the KMIP listeners are off, or None
        if kmip_port < 0 and kmip_rsa_port < 0:
            self.kmip_off = "--kmip-port and --kmip-rsa-port are negative"
        elif not kmip_server.available():
            self.kmip_off = "PyKMIP is not installed (pip install 'okms-emulator[kmip]')"
        kmip_on = self.kmip_off is None
        self.kmip_ctx = kmip_server.kmip_context(files["certificatePEM"], files["keyPEM"]) \
            if kmip_on and kmip_port >= 0 else None
        self.kmip_rsa_ctx = kmip_server.kmip_context(None, None) if kmip_on and kmip_rsa_port >= 0 else None
        with self.store.lock:
            for record in self.store.data["okms"].values():
                self.trust_kms(record)

        self.router = Router()
        self.ordering = OrderingV1(self)
        self.ordering.register(self.router)
        control_v2 = ControlV2(self)
        control_v2.register(self.router)
        ControlSecrets(self, control_v2).register(self.router)
        IamPolicies(self).register(self.router)
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
        # KMIP: host:port, as OVHcloud advertises kmipEndpoint (no scheme); None when off.
        service = kmip_server.KmipService(self)
        self.kmip_servers = []
        self.kmip_endpoint = self.kmip_rsa_endpoint = None
        if self.kmip_ctx is not None:
            listener = kmip_server.KmipListener(host, kmip_port, self.kmip_ctx, service)
            self.kmip_servers.append(listener)
            self.kmip_endpoint = f"{url_host}:{listener.server_address[1]}"
        if self.kmip_rsa_ctx is not None:
            listener = kmip_server.KmipListener(host, kmip_rsa_port, self.kmip_rsa_ctx, service,
                                                prepare=self._load_rsa_identity)
            self.kmip_servers.append(listener)
            self.kmip_rsa_endpoint = f"{url_host}:{listener.server_address[1]}"
        self._threads = []

    def _server_identity(self):
        paths = {k: os.path.join(self.state_dir, v) for k, v in SERVER_FILES.items()}
        if not all(os.path.exists(p) for p in paths.values()):
            for key, text in pki.make_server_identity().items():
                _write_private(paths[key], text)
        return paths

    def _load_rsa_identity(self):
        """The RSA KMIP listener's certificate: made once, and again if the server CA changed."""
        paths = {k: os.path.join(self.state_dir, v) for k, v in RSA_SERVER_FILES.items()}
        with open(os.path.join(self.state_dir, SERVER_FILES["caPEM"]), encoding="utf-8") as handle:
            ca_pem = handle.read()
        if all(os.path.exists(p) for p in paths.values()):
            with open(paths["certificatePEM"], encoding="utf-8") as handle:
                current = pki.issued_by(pki.load_cert(handle.read()), ca_pem)
        else:
            current = False
        if not current:
            with open(os.path.join(self.state_dir, SERVER_FILES["caKeyPEM"]), encoding="utf-8") as handle:
                identity = pki.make_rsa_server_identity(ca_pem, handle.read())
            for key, text in identity.items():
                _write_private(paths[key], text)
        self.kmip_rsa_ctx.load_cert_chain(paths["certificatePEM"], paths["keyPEM"])

    def trust_kms(self, record):
        """Let the data plane and KMIP accept certificates of this KMS's CAs (live contexts)."""
        cadata = record["ca"]["certificatePEM"] + record["rsaCa"]["certificatePEM"]
        for ctx in (self.data_ctx, self.kmip_ctx, self.kmip_rsa_ctx):
            if ctx is not None:
                ctx.load_verify_locations(cadata=cadata)

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
            "kmip_endpoint": self.kmip_endpoint,
            "kmip_rsa_endpoint": self.kmip_rsa_endpoint,
            "audit_log": self.audit.path,
            "faults_url": self.base_url + ADMIN_PATH,
            "state_dir": self.state_dir,
            "pid": os.getpid(),
        }

    def start(self):
        if self.kmip_off:
            print(f"okms-emulator: KMIP listeners off: {self.kmip_off}", file=sys.stderr, flush=True)
        for srv in (self.control_server, self.data_server, *self.kmip_servers):
            thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
            thread.start()
            self._threads.append(thread)
        _write_atomic_json(self.connection_path, self.connection_info())

    def stop(self):
        for srv in (self.control_server, self.data_server, *self.kmip_servers):
            srv.shutdown()
            srv.server_close()
        self.store.close()
        if os.path.exists(self.connection_path):
            os.unlink(self.connection_path)
