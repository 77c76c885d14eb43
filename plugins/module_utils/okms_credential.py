# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""OKMS access credentials: option validation, keys and CSRs, the keep-or-replace decision,
and the return shape shared by okms_credential and okms_credential_info.

Nothing here talks to the API or writes files; the modules do.
Private key material is handled as bytes and never put into a message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import re
import time
import uuid

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.ovhcloud.kms.plugins.module_utils.cryptography_dependency import (
    NameOID,
    UnsupportedAlgorithm,
    ec,
    hashes,
    rsa,
    serialization,
    x509,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_polling import PollTimeout, poll_until

CERTIFICATE_TYPES = ("ECDSA", "RSA")
STATUSES = ("CREATING", "READY", "EXPIRED", "DELETING", "ERROR")
MAX_IDENTITY_URNS = 25
MAX_URN_LENGTH = 255
MAX_NAME_LENGTH = 50
MAX_DESCRIPTION_LENGTH = 200
MAX_VALIDITY_DAYS = 365
DEFAULT_RENEW_BEFORE_DAYS = 30
# Below this, a difference between the local clock and the API server's is ordinary drift
# (the server's Date header has a one-second resolution).
MIN_CLOCK_TOLERANCE = datetime.timedelta(minutes=5)
EXAMPLE_UUID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
# RSA keys generated locally: 3072 bits is the NIST 128-bit security level.
LOCAL_RSA_KEY_SIZE = 3072
SUPPORTED_EC_CURVES = ("secp256r1", "secp384r1", "secp521r1")
UTC = datetime.timezone.utc

# The identity forms of the API documentation: the account root has no path,
# users, groups and service accounts ("credential") are <account>/<name>.
_ACCOUNT_URN = re.compile(r"^urn:v1:(eu|ca|us):identity:account:[A-Za-z0-9._-]+$")
_PRINCIPAL_URN = re.compile(
    r"^urn:v1:(eu|ca|us):identity:(user|group|credential):[A-Za-z0-9._-]+/[A-Za-z0-9._@+-]+$")

# The fields a credential is returned with, by both modules.
RESULT_FIELDS = ("id", "name", "description", "identity_urns", "status", "from_csr", "certificate_type",
                 "created_at", "expired_at", "certificate_pem")


class CredentialOptionError(Exception):
    """A module option that cannot work; raised before any API call."""


class PrivateKeyFileError(Exception):
    """A private key file that exists but cannot be used (its content is never quoted)."""


# -- options -------------------------------------------------------------------------------


def _check_text(label, value, maximum, required):
    if value is None or value == "":
        if required:
            raise CredentialOptionError("%s must not be empty" % label)
        return
    if required and not value.strip():
        # The API refuses a blank name (after the request was sent).
        raise CredentialOptionError("%s must not be blank (only spaces)" % label)
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise CredentialOptionError("%s must not contain control characters" % label)
    if len(value) > maximum:
        raise CredentialOptionError("%s must be at most %d characters, got %d" % (label, maximum, len(value)))


def validate_name(name):
    _check_text("name", name, MAX_NAME_LENGTH, required=True)


def validate_uuid(option, value, what):
    """``value`` when it is a UUID (the form of KMS and credential ids); raises naming ``option`` otherwise."""
    try:
        uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        raise CredentialOptionError("%s must be %s id, a UUID such as %s; got '%s'"
                                    % (option, what, EXAMPLE_UUID, value))
    return value


def validate_description(description):
    _check_text("description", description, MAX_DESCRIPTION_LENGTH, required=False)


def validate_identity_urns(urns):
    """The URNs without duplicates, in the given order; raises on any invalid one."""
    unique = []
    for urn in urns or []:
        if urn not in unique:
            unique.append(urn)
    if not unique:
        raise CredentialOptionError("identity_urns needs at least one identity URN")
    if len(unique) > MAX_IDENTITY_URNS:
        raise CredentialOptionError("identity_urns holds %d URNs; at most %d are allowed"
                                    % (len(unique), MAX_IDENTITY_URNS))
    invalid = [urn for urn in unique
               if len(urn) > MAX_URN_LENGTH or not (_ACCOUNT_URN.match(urn) or _PRINCIPAL_URN.match(urn))]
    if invalid:
        raise CredentialOptionError(
            "identity_urns holds invalid identity URN(s) %s: expected urn:v1:<eu|ca|us>:identity:account:<account>, or "
            "urn:v1:<eu|ca|us>:identity:<user|group|credential>:<account>/<name> (at most %d characters)"
            % (", ".join(repr(urn) for urn in invalid), MAX_URN_LENGTH))
    return unique


def validate_validity(validity):
    if validity < 1 or validity > MAX_VALIDITY_DAYS:
        raise CredentialOptionError("validity must be between 1 and %d days, got %d" % (MAX_VALIDITY_DAYS, validity))


def effective_renew_before(validity, renew_before):
    """Days before expiry at which a credential is replaced.

    Unset: 30 days, or a third of the validity when that is shorter, so that a
    short-lived credential is not replaced at every run.
    """
    if renew_before is None:
        return min(DEFAULT_RENEW_BEFORE_DAYS, validity // 3)
    if renew_before < 0:
        raise CredentialOptionError("renew_before must not be negative, got %d" % renew_before)
    if renew_before >= validity:
        raise CredentialOptionError(
            "renew_before (%d days) must be shorter than validity (%d days), or every run would issue a new "
            "credential" % (renew_before, validity))
    return renew_before


# -- keys, CSRs, certificates ----------------------------------------------------------------


def _to_bytes(value):
    if isinstance(value, bytes):
        return value
    return value.encode("utf-8")


def key_certificate_type(public_key):
    """ECDSA or RSA for a public key; raises CredentialOptionError for any other kind."""
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < 2048:
            raise CredentialOptionError("RSA keys must have at least 2048 bits, got %d" % public_key.key_size)
        return "RSA"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if public_key.curve.name not in SUPPORTED_EC_CURVES:
            raise CredentialOptionError("EC keys must use P-256, P-384 or P-521, got %s" % public_key.curve.name)
        return "ECDSA"
    raise CredentialOptionError("only RSA and EC keys are supported, got %s" % type(public_key).__name__)


def private_key_type(private_key):
    """ECDSA or RSA for a private key the KMS accepts, else None (another kind, curve or a weak size)."""
    try:
        return key_certificate_type(private_key.public_key())
    except CredentialOptionError:
        return None


def load_csr(pem):
    """A parsed, self-signature-checked CSR; raises CredentialOptionError when it cannot be used."""
    try:
        csr = x509.load_pem_x509_csr(_to_bytes(pem).strip() + b"\n")
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CredentialOptionError("the CSR is not a PEM certificate signing request")
    if not csr.is_signature_valid:
        raise CredentialOptionError("the CSR's signature is not valid")
    key_certificate_type(csr.public_key())
    return csr


def generate_private_key(certificate_type):
    if certificate_type == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=LOCAL_RSA_KEY_SIZE)
    return ec.generate_private_key(ec.SECP256R1())


def private_key_pem(private_key):
    """Unencrypted PKCS#8 PEM: the form of the keys this collection generates.

    OVHcloud returns its own generated keys (``privateKeyPEM``) as SEC1
    (``BEGIN EC PRIVATE KEY``); those are written as received.
    """
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def load_private_key(pem):
    """The private key in ``pem`` (bytes); raises PrivateKeyFileError without quoting it.

    Any unencrypted PEM form is read: PKCS#8, SEC1 (as OVHcloud returns EC keys) or PKCS#1.
    """
    try:
        return serialization.load_pem_private_key(_to_bytes(pem), password=None)
    except TypeError:
        raise PrivateKeyFileError("it is encrypted with a passphrase")
    except (ValueError, UnsupportedAlgorithm):
        raise PrivateKeyFileError("it is not an unencrypted PEM private key")


def build_csr(private_key, common_name):
    """A CSR for ``private_key``; OVHcloud sets the certificate's subject itself."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(private_key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def public_key_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_certificate(pem):
    return x509.load_pem_x509_certificate(_to_bytes(pem))


def public_key_fingerprint(public_key):
    """sha256:<hex> of the public key (DER SubjectPublicKeyInfo): names a key without revealing anything."""
    return "sha256:" + hashlib.sha256(public_key_der(public_key)).hexdigest()


def describe_key(public_key):
    """What a key is, in words, for messages: 'an ECDSA P-256 key (public key sha256:...)'."""
    if isinstance(public_key, rsa.RSAPublicKey):
        kind = "an RSA %d-bit key" % public_key.key_size
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        names = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
        kind = "an ECDSA %s key" % names.get(public_key.curve.name, public_key.curve.name)
    else:
        kind = "a %s key" % type(public_key).__name__.replace("PublicKey", "").lstrip("_")
    return "%s (public key %s)" % (kind, public_key_fingerprint(public_key))


def credentials_carrying(public_key, credentials):
    """The credentials (DELETING ones left out) whose certificate was issued for ``public_key``."""
    return [credential for credential in credentials
            if credential.get("status") != "DELETING" and credential.get("certificatePEM")
            and certificate_matches_public_key(credential["certificatePEM"], public_key)]


def certificate_matches_public_key(certificate_pem, public_key):
    """Whether the certificate was issued for ``public_key``."""
    return public_key_der(load_certificate(certificate_pem).public_key()) == public_key_der(public_key)


def issuing_ca_pems(certificate_pem, kms):
    """The KMS CA(s) to deploy next to a certificate: the one that issued it, else every CA the KMS has.

    A KMS returns its ECDSA CA as ``publicCA`` and may return an RSA CA as
    ``publicRsaCA``; RSA certificates chain to the latter.
    """
    candidates = [kms.get(field) for field in ("publicCA", "publicRsaCA") if kms.get(field)]
    if certificate_pem:
        issuer = load_certificate(certificate_pem).issuer
        for ca_pem in candidates:
            if load_certificate(ca_pem).subject == issuer:
                return [ca_pem]
    return candidates


# -- API objects ---------------------------------------------------------------------------


def parse_api_datetime(value):
    """An aware UTC datetime from an RFC 3339 API date ("2025-01-01T12:00:00Z", offsets, fractions)."""
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    match = re.match(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(\.\d+)?([+-]\d{2}:?\d{2})?$", text)
    if not match:
        raise ValueError("not an RFC 3339 date: %r" % value)
    moment = datetime.datetime.strptime(match.group(1).replace(" ", "T"), "%Y-%m-%dT%H:%M:%S")
    if match.group(2):
        moment = moment.replace(microsecond=int((match.group(2)[1:] + "000000")[:6]))
    offset = match.group(3) or "+00:00"
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    delta = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return (moment - sign * delta).replace(tzinfo=UTC)


def utc_now():
    return datetime.datetime.now(UTC)


def clock_tolerance(renew_before):
    """How far the local clock may be from the API server's before the module refuses to revoke.

    A credential is replaced ``renew_before`` days before it expires, so a
    clock wrong by more than that could make a valid credential look expiring.
    """
    return max(datetime.timedelta(days=renew_before), MIN_CLOCK_TOLERANCE)


def describe_duration(delta):
    seconds = abs(delta.total_seconds())
    if seconds >= 2 * 86400:
        return "%d days" % round(seconds / 86400)
    if seconds >= 2 * 3600:
        return "%d hours" % round(seconds / 3600)
    return "%d minutes" % round(seconds / 60)


def api_date(moment):
    """RFC 3339, seconds precision, as the API writes dates."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def credential_to_result(credential):
    """The API object in the collection's snake_case shape; ``privateKeyPEM`` never survives."""
    public = dict((key, value) for key, value in credential.items() if key != "privateKeyPEM")
    snake = camel_dict_to_snake_dict(public)
    result = dict((field, snake.get(field)) for field in RESULT_FIELDS)
    if result["certificate_pem"] is None and credential.get("certificatePEM"):
        result["certificate_pem"] = credential["certificatePEM"]
    return result


def credential_to_diff(credential):
    """What the diff shows of a credential: no certificate body, never a key."""
    return dict(id=credential.get("id"), name=credential.get("name"), status=credential.get("status"),
                identity_urns=sorted(credential.get("identityURNs") or []),
                description=credential.get("description"), certificate_type=credential.get("certificateType"),
                expired_at=credential.get("expiredAt"))


def expires_within(credential, days, now):
    return parse_api_datetime(credential["expiredAt"]) <= now + datetime.timedelta(days=days)


def select_current(credentials):
    """Split same-named credentials into the current one (newest by createdAt) and the replaced ones.

    Rotation issues the new credential under the same name before the old one
    is revoked, so the newest is the one in use. DELETING ones are already gone.
    """
    alive = [c for c in credentials if c.get("status") != "DELETING"]
    if not alive:
        return None, []
    ordered = sorted(alive, key=lambda c: (parse_api_datetime(c["createdAt"]), c["id"]))
    return ordered[-1], ordered[:-1]


def filter_credentials(credentials, name=None, statuses=None, expires_within_days=None, now=None):
    """The info module's filters, all of which must hold."""
    now = now or utc_now()
    selected = []
    for credential in credentials:
        if name is not None and credential.get("name") != name:
            continue
        if statuses and credential.get("status") not in statuses:
            continue
        if expires_within_days is not None and not expires_within(credential, expires_within_days, now):
            continue
        selected.append(credential)
    return selected


class WantedCredential:
    """What the task asks for, in the terms the API returns."""

    def __init__(self, identity_urns, description, certificate_type, renew_before):
        self.identity_urns = identity_urns
        self.description = description or None
        self.certificate_type = certificate_type
        self.renew_before = renew_before


def replacement_reasons(current, wanted, public_key, now, key_label="the expected key"):
    """Why ``current`` cannot be kept (an empty list when it can).

    ``public_key`` is the key the certificate must carry (from the local key file
    or the CSR), or None when it is unknown; each reason is a sentence fragment.
    """
    reasons = []
    status = current.get("status")
    if status not in ("READY", "CREATING"):
        reasons.append("its status is %s" % status)
    if set(current.get("identityURNs") or []) != set(wanted.identity_urns):
        reasons.append("its identity URNs differ")
    if (current.get("description") or None) != wanted.description:
        reasons.append("its description differs")
    if current.get("certificateType") != wanted.certificate_type:
        reasons.append("its certificate type is %s, not %s" % (current.get("certificateType"),
                                                               wanted.certificate_type))
    if status == "READY" and expires_within(current, wanted.renew_before, now):
        reasons.append("it expires within %d days (%s)" % (wanted.renew_before, current.get("expiredAt")))
    if public_key is not None and current.get("certificatePEM") and \
            not certificate_matches_public_key(current["certificatePEM"], public_key):
        reasons.append("its certificate does not match %s" % key_label)
    return reasons


class CredentialWaitError(Exception):
    def __init__(self, message, credential=None):
        super(CredentialWaitError, self).__init__(message)
        self.credential = credential


def ready_poll_delay(elapsed):
    """Seconds until the next check of a CREATING credential, ``elapsed`` seconds into the wait.

    Issuing takes a second or two: checks every 0.25 s, then every 0.5 s up to 30 s, so READY is seen at
    most half a second after the server made it so; a longer wait backs off to one check in 5 s.
    """
    if elapsed < 2:
        return 0.25
    if elapsed < 30:
        return 0.5
    return min(5.0, elapsed / 6.0)


def wait_until_ready(fetch, wait_timeout, sleep=time.sleep, clock=time.monotonic):
    """Poll ``fetch()`` until the credential is READY; returns it.

    The caller has just seen it CREATING, so the first check waits (``ready_poll_delay``).
    """
    last = {}

    def ready():
        credential = last["credential"] = fetch()
        status = credential.get("status")
        if status not in ("READY", "CREATING"):
            raise CredentialWaitError("credential %s is %s instead of READY" % (credential.get("id"), status),
                                      credential)
        return credential if status == "READY" else None

    try:
        return poll_until(ready, wait_timeout, "credential to be READY", sleep=sleep, clock=clock,
                          schedule=ready_poll_delay, check_first=False)
    except PollTimeout:
        credential = last["credential"]
        raise CredentialWaitError("credential %s is still CREATING after %s seconds"
                                  % (credential.get("id"), wait_timeout), credential)
