# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Access credentials in the fake API, as the emulator serves them.

Routes: ``/v2/okms/resource/{okms_id}/credential`` (GET list, POST),
``/v2/okms/resource/{okms_id}/credential/{credential_id}`` (GET, DELETE), and
``GET /v2/okms/resource/{okms_id}`` with ``publicCA=true`` for the KMS's CAs.

Faithful to the emulator where the modules can tell: a new credential is
CREATING (no ``certificatePEM``) and turns READY after a number of reads
(polls), where the emulator counts seconds; a revoked one is DELETING for a
number of reads, then 404; certificates are really issued by a test CA (EC
"CCMUsersCA", RSA "CCMUsersRSACA") for the CSR's key or a generated one, so
certificate/key matching is real; ``privateKeyPEM`` is only in the creation
answer, and is SEC1 for a generated EC key (PKCS#1 for RSA); the emulator's
error classes. Generated RSA keys are 2048 bits here, for speed (the
emulator makes 4096-bit ones).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError

UTC = datetime.timezone.utc
CREDENTIAL_ERROR = "Client::BadRequest::Credential"
IDENTITY_URN = re.compile(
    r"^urn:v1:(eu|ca|us):identity:(account|user|group|credential):[A-Za-z0-9._-]+(/[A-Za-z0-9._@+-]+)?$")
CREDENTIAL_FIELDS = {"name", "description", "identityURNs", "validity", "certificateType", "csr"}
# Reads of a new credential until it is READY (the READY answer included), and reads of a
# revoked one that still show it DELETING.
READY_AFTER_READS = 2
GONE_AFTER_READS = 1

_CA_KEYS = {}


def api_date(moment):
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def utc_now():
    return datetime.datetime.now(UTC).replace(microsecond=0)


def _ca_key(kind):
    # One CA key per kind for the whole test run: RSA key generation is the slow part.
    if kind not in _CA_KEYS:
        _CA_KEYS[kind] = ec.generate_private_key(ec.SECP384R1()) if kind == "ECDSA" else \
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _CA_KEYS[kind]


class FakeCa:
    """A KMS CA: its key and self-signed certificate."""

    def __init__(self, okms_id, kind):
        self.key = _ca_key(kind)
        self.subject = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OVHcloud"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, okms_id),
            x509.NameAttribute(NameOID.COMMON_NAME, "CCMUsersCA" if kind == "ECDSA" else "CCMUsersRSACA"),
        ])
        now = utc_now()
        self.certificate = (
            x509.CertificateBuilder().subject_name(self.subject).issuer_name(self.subject)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self.key, hashes.SHA256()))
        self.pem = self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def issue(self, okms_id, credential_id, public_key, not_before, not_after):
        """A client certificate as OVHcloud issues it: subject CN=<okmsId>, serial = the credential id."""
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, okms_id)]))
            .issuer_name(self.subject).public_key(public_key)
            .serial_number(int.from_bytes(uuid.UUID(credential_id).bytes, "big"))
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256()))
        return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def certificate_type_of(public_key):
    return "RSA" if isinstance(public_key, rsa.RSAPublicKey) else "ECDSA"


def generate_key(certificate_type):
    if certificate_type == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def ovhcloud_key_pem(private_key):
    """A generated key as OVHcloud returns it in privateKeyPEM: SEC1 for EC, PKCS#1 for RSA."""
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption()).decode("ascii")


class FakeKms:
    def __init__(self, okms_id):
        self.id = okms_id
        self.ca = FakeCa(okms_id, "ECDSA")
        self._rsa_ca = None
        # id -> record; dicts keep creation order, the API's list order.
        self.credentials = {}

    @property
    def rsa_ca(self):
        if self._rsa_ca is None:
            self._rsa_ca = FakeCa(self.id, "RSA")
        return self._rsa_ca

    def ca_for(self, public_key):
        return self.rsa_ca if isinstance(public_key, rsa.RSAPublicKey) else self.ca


class CredentialRecord:
    """One credential as the fake keeps it; ``status()`` is what a read sees now."""

    def __init__(self, credential_id, name, description, identity_urns, certificate_type, from_csr, created_at,
                 expired_at, certificate_pem, reads_until_ready):
        self.id = credential_id
        self.name = name
        self.description = description
        self.identity_urns = list(identity_urns)
        self.certificate_type = certificate_type
        self.from_csr = from_csr
        self.created_at = created_at
        self.expired_at = expired_at
        self.certificate_pem = certificate_pem
        self.reads_until_ready = reads_until_ready
        self.error = False
        self.deleted = False
        self.reads_until_gone = 0

    @property
    def gone(self):
        return self.deleted and self.reads_until_gone <= 0

    def status(self):
        if self.deleted:
            return "DELETING"
        if self.error:
            return "ERROR"
        if self.reads_until_ready > 0:
            return "CREATING"
        if self.expired_at <= utc_now():
            return "EXPIRED"
        return "READY"

    def body(self, status=None):
        status = status or self.status()
        return {"id": self.id, "name": self.name, "description": self.description,
                "identityURNs": list(self.identity_urns), "status": status, "fromCSR": self.from_csr,
                "certificateType": self.certificate_type, "createdAt": api_date(self.created_at),
                "expiredAt": api_date(self.expired_at),
                "certificatePEM": None if status == "CREATING" else self.certificate_pem}


class CredentialState:
    """The KMSs and credentials of the fake; also how tests seed them."""

    def __init__(self, api, ready_after_reads=READY_AFTER_READS, gone_after_reads=GONE_AFTER_READS):
        self.api = api
        self.kms = {}
        self.ready_after_reads = ready_after_reads
        self.gone_after_reads = gone_after_reads

    # -- seeding ---------------------------------------------------------------------------

    def add_kms(self, okms_id=None):
        okms_id = okms_id or str(uuid.uuid4())
        self.kms[okms_id] = FakeKms(okms_id)
        return okms_id

    def seed(self, okms_id, name, public_key=None, identity_urns=("urn:v1:eu:identity:account:xx1111-ovh",),
             description=None, status="READY", created_at=None, validity=365, expired_at=None, from_csr=True):
        """A credential already there; issued for ``public_key`` (a new EC key when None). Returns its body.

        ``created_at``/``expired_at`` are datetimes (default: an hour ago, so that a credential the run
        creates is the newer one, and ``validity`` days later);
        ``status`` READY, CREATING (READY after the usual number of reads), ERROR or DELETING.
        """
        kms = self.kms[okms_id]
        public_key = public_key or generate_key("ECDSA").public_key()
        created_at = created_at or utc_now() - datetime.timedelta(hours=1)
        expired_at = expired_at or created_at + datetime.timedelta(days=validity)
        credential_id = str(uuid.uuid4())
        record = CredentialRecord(
            credential_id, name, description, identity_urns, certificate_type_of(public_key), from_csr, created_at,
            expired_at, kms.ca_for(public_key).issue(okms_id, credential_id, public_key, created_at, expired_at),
            self.ready_after_reads if status == "CREATING" else 0)
        record.error = status == "ERROR"
        if status == "DELETING":
            record.deleted = True
            record.reads_until_gone = self.gone_after_reads
        kms.credentials[credential_id] = record
        return record.body()

    def record(self, okms_id, credential_id):
        return self.kms[okms_id].credentials[credential_id]

    def finish_deleting(self, okms_id, credential_id):
        """A revoked credential's DELETING phase ends: from now on it is gone (404, out of the list)."""
        record = self.record(okms_id, credential_id)
        record.deleted = True
        record.reads_until_gone = 0

    def credentials(self, okms_id):
        """The bodies a list would return now (without counting as reads)."""
        return [record.body() for record in self.kms[okms_id].credentials.values() if not record.gone]

    # -- routes ----------------------------------------------------------------------------

    def _kms(self, method, path, okms_id):
        if okms_id not in self.kms:
            raise OvhApiError("OKMS %s not found" % okms_id, status=404, error_class="Client::NotFound",
                              method=method, path=path)
        return self.kms[okms_id]

    def _record(self, method, path, okms_id, credential_id):
        record = self._kms(method, path, okms_id).credentials.get(credential_id)
        if record is None or record.gone:
            raise OvhApiError("Credential %s not found" % credential_id, status=404, error_class="Client::NotFound",
                              method=method, path=path)
        return record

    def get_kms(self, request, okms_id):
        kms = self._kms(request.method, request.path, okms_id)
        body = {"id": kms.id, "region": "eu-west-rbx", "restEndpoint": "https://eu-west-rbx.okms.ovh.net",
                "kmipEndpoint": "eu-west-rbx.okms.ovh.net:5696"}
        if str(request.params.get("publicCA", "")).lower() == "true":
            body["publicCA"] = kms.ca.pem
            body["publicRsaCA"] = kms.rsa_ca.pem
        return body

    def list_credentials(self, request, okms_id):
        kms = self._kms(request.method, request.path, okms_id)
        return [record.body() for record in kms.credentials.values() if not record.gone]

    def get_credential(self, request, okms_id, credential_id):
        record = self._record(request.method, request.path, okms_id, credential_id)
        # A read is one poll: it moves CREATING towards READY and DELETING towards 404.
        if record.deleted:
            record.reads_until_gone -= 1
            return record.body()
        if record.reads_until_ready > 0:
            record.reads_until_ready -= 1
        return record.body()

    def delete_credential(self, request, okms_id, credential_id):
        record = self._record(request.method, request.path, okms_id, credential_id)
        if record.deleted:
            raise OvhApiError("Credential %s is already being deleted" % credential_id, status=400,
                              error_class=CREDENTIAL_ERROR + "StatusInvalid", method=request.method,
                              path=request.path)
        record.deleted = True
        record.reads_until_gone = self.gone_after_reads
        return record.body("DELETING")

    def create_credential(self, request, okms_id):
        kms = self._kms(request.method, request.path, okms_id)
        name, description, urns, validity, certificate_type, csr = self._validate(request)
        private_key_pem = None
        if csr is not None:
            public_key = csr.public_key()
            certificate_type = certificate_type_of(public_key)
        else:
            certificate_type = certificate_type or "ECDSA"
            generated = generate_key(certificate_type)
            public_key = generated.public_key()
            private_key_pem = ovhcloud_key_pem(generated)
        credential_id = str(uuid.uuid4())
        created_at = utc_now()
        expired_at = created_at + datetime.timedelta(days=validity)
        record = CredentialRecord(
            credential_id, name, description, urns, certificate_type, csr is not None, created_at, expired_at,
            kms.ca_for(public_key).issue(okms_id, credential_id, public_key, created_at, expired_at),
            self.ready_after_reads)
        kms.credentials[credential_id] = record
        answer = record.body("CREATING")
        del answer["certificatePEM"]
        answer["privateKeyPEM"] = private_key_pem
        return answer

    def _validate(self, request):
        body = request.body

        def refuse(message, suffix=None):
            error_class = CREDENTIAL_ERROR + suffix if suffix else "Client::BadRequest"
            raise OvhApiError(message, status=400, error_class=error_class, method=request.method, path=request.path)

        if not isinstance(body, dict):
            refuse("Request body must be a JSON object (okms.credential.Creation)")
        unknown = sorted(set(body) - CREDENTIAL_FIELDS)
        if unknown:
            refuse("Unknown field(s) %s in okms.credential.Creation" % ", ".join(unknown))

        def text(field, maximum, required=False):
            value = body.get(field)
            if value is None:
                if required:
                    refuse("Missing required field %s" % field)
                return None
            label = field[0].upper() + field[1:]
            if required and not value.strip():
                refuse("%s must not be empty" % field, label + "InvalidCharacter")
            if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
                refuse("%s contains control characters" % field, label + "InvalidCharacter")
            if len(value) > maximum:
                refuse("%s exceeds %d characters" % (field, maximum), label + "MaximumExceeded")
            return value

        name = text("name", 50, required=True)
        description = text("description", 200)
        urns = body.get("identityURNs")
        if urns is None:
            refuse("Missing required field identityURNs")
        if not urns:
            refuse("At least one identity URN is required", "IdentityURNsMinimumRequired")
        if len(urns) > 25:
            refuse("At most 25 identity URNs are allowed", "IdentityURNsMaximumExceeded")
        for urn in urns:
            if len(urn) > 255:
                refuse("Identity URN exceeds 255 characters", "IdentityURNsInvalidSize")
            if not IDENTITY_URN.match(urn):
                refuse("Invalid identity URN %r" % urn, "IdentityURNsInvalidURN")
        validity = body.get("validity", 365)
        if validity < 1:
            refuse("validity must be at least 1 day", "ValidityMinimumRequired")
        if validity > 365:
            refuse("validity must be at most 365 days", "ValidityMaximumExceeded")
        certificate_type = body.get("certificateType")
        if certificate_type is not None and certificate_type not in ("ECDSA", "RSA"):
            refuse("Invalid certificateType %r: expected ECDSA or RSA" % certificate_type,
                   "CertificateTypeInvalidEnum")
        csr = body.get("csr")
        if csr is not None:
            if certificate_type == "RSA":
                refuse("certificateType RSA cannot be used with a csr", "CertificateTypeIncompatibleFields")
            try:
                csr = x509.load_pem_x509_csr(csr.encode("ascii"))
            except ValueError as exc:
                refuse("Invalid csr: cannot parse CSR: %s" % exc, "CSRInvalidCharacter")
            if not csr.is_signature_valid:
                refuse("Invalid csr: CSR self-signature is invalid", "CSRInvalidCharacter")
        return name, description, urns, validity, certificate_type, csr


def install(api, kms_route=True):
    """Add the credential routes (and, unless ``kms_route`` is false, the KMS read) to ``api``; returns the state."""
    state = CredentialState(api)
    base = "/v2/okms/resource/{okms_id}"
    if kms_route:
        api.route("GET", base, state.get_kms)
    api.route("GET", base + "/credential", state.list_credentials)
    api.route("POST", base + "/credential", state.create_credential)
    api.route("GET", base + "/credential/{credential_id}", state.get_credential)
    api.route("DELETE", base + "/credential/{credential_id}", state.delete_credential)
    return state
