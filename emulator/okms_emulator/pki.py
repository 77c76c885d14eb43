"""Certificates: the emulator's TLS server identity, each KMS's CAs, and the
access certificates (credentials) they issue.

Everything is real X.509 made with ``cryptography`` so clients exercise the
same TLS and certificate handling they would against OVHcloud.
"""

import datetime
import ipaddress
import uuid

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Microsoft UPN otherName, as in OVHcloud's published example certificate.
UPN_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")

# Credential keys generated server-side when no CSR is sent.
RSA_CREDENTIAL_BITS = 4096


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def key_to_pem(key):
    """The emulator's own keys (TLS server, KMS CAs) as kept in its state: PKCS#8."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def credential_key_to_pem(key):
    """A generated credential key as OVHcloud returns it in ``privateKeyPEM``.

    EC keys are SEC1 (``BEGIN EC PRIVATE KEY``), as in OVHcloud's guide and
    Terraform's acceptance test. RSA keys are PKCS#1 (``BEGIN RSA PRIVATE KEY``),
    the same traditional form: unconfirmed (see README).
    """
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def cert_to_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def load_key(pem):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def load_cert(pem):
    return x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)


def _sign_hash(key):
    # Ed25519 keys would need None; we only use EC and RSA here.
    return hashes.SHA256()


def _make_ca(subject, key, days):
    now = utcnow()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, _sign_hash(key))
    )


def _server_certificate(ca_subject, ca_key, public_key):
    """A TLS server certificate for 127.0.0.1 / localhost, issued by the emulator's server CA."""
    now = utcnow()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            ]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def make_server_identity():
    """CA + TLS server certificate for 127.0.0.1 / localhost (both planes, and the ECDSA KMIP listener)."""
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OKMS emulator"),
        x509.NameAttribute(NameOID.COMMON_NAME, "OKMS emulator server CA"),
    ])
    ca_cert = _make_ca(ca_subject, ca_key, 3650)
    key = ec.generate_private_key(ec.SECP256R1())
    return {
        "caPEM": cert_to_pem(ca_cert),
        "caKeyPEM": key_to_pem(ca_key),
        "certificatePEM": cert_to_pem(_server_certificate(ca_subject, ca_key, key.public_key())),
        "keyPEM": key_to_pem(key),
    }


def make_rsa_server_identity(ca_pem, ca_key_pem):
    """An RSA TLS server certificate (the RSA KMIP listener), issued by the same server CA."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _server_certificate(load_cert(ca_pem).subject, load_key(ca_key_pem), key.public_key())
    return {"certificatePEM": cert_to_pem(cert), "keyPEM": key_to_pem(key)}


def make_kms_cas(okms_id):
    """The two CAs of one KMS: ECDSA (``publicCA``) and RSA (``publicRsaCA``).

    Subject CN=CCMUsersCA as in OVHcloud's example, plus O/OU so that the CAs
    of different KMSs are distinguishable (one TLS context trusts them all).
    """
    out = {}
    for name, cn, key in (
        ("ca", "CCMUsersCA", ec.generate_private_key(ec.SECP384R1())),
        ("rsaCa", "CCMUsersRSACA", rsa.generate_private_key(public_exponent=65537, key_size=3072)),
    ):
        subject = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OVHcloud"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, okms_id),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ])
        out[name] = {"keyPEM": key_to_pem(key), "certificatePEM": cert_to_pem(_make_ca(subject, key, 3650))}
    return out


def generate_credential_key(certificate_type):
    if certificate_type == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_CREDENTIAL_BITS)
    return ec.generate_private_key(ec.SECP256R1())


class CSRError(ValueError):
    """The CSR cannot be used (unparseable, bad self-signature, weak key)."""


def parse_csr(pem):
    try:
        csr = x509.load_pem_x509_csr(pem.encode())
    except (ValueError, TypeError) as exc:
        raise CSRError(f"cannot parse CSR: {exc}") from None
    if not csr.is_signature_valid:
        raise CSRError("CSR self-signature is invalid")
    pub = csr.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        if pub.key_size < 2048:
            raise CSRError("RSA keys must be at least 2048 bits")
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        if pub.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise CSRError("unsupported elliptic curve")
    else:
        raise CSRError("unsupported public key type (RSA or EC P-256/P-384/P-521 only)")
    return csr


def upn_der(value):
    """DER UTF8String for the otherName value (cryptography adds the [0] wrapper)."""
    raw = value.encode("utf-8")
    length = len(raw)
    if length < 0x80:
        header = bytes([length])
    else:
        size = (length.bit_length() + 7) // 8
        header = bytes([0x80 | size]) + length.to_bytes(size, "big")
    return b"\x0c" + header + raw


def issue_credential_certificate(ca, okms_id, credential_id, public_key, not_before, not_after):
    """Client certificate as OVHcloud issues it (see okms-api.md)."""
    ca_key = load_key(ca["keyPEM"])
    ca_cert = load_cert(ca["certificatePEM"])
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, okms_id)]))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(int.from_bytes(uuid.UUID(credential_id).bytes, "big"))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName([x509.OtherName(UPN_OID, upn_der(f"okms.domain:{okms_id}"))]),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False,
                key_encipherment=isinstance(public_key, rsa.RSAPublicKey),
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert_to_pem(cert)


def okms_domain(cert):
    """The okmsId an access certificate is for (its SAN UPN ``okms.domain:<okmsId>``), or None."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for name in names.get_values_for_type(x509.OtherName):
        if name.type_id != UPN_OID:
            continue
        text = _utf8_string(name.value)
        if text is not None and text.startswith("okms.domain:"):
            return text[len("okms.domain:"):]
    return None


def _utf8_string(der):
    """The text of a DER UTF8String (what ``upn_der`` writes), None for anything else."""
    if len(der) < 2 or der[0] != 0x0C:
        return None
    length, offset = der[1], 2
    if length & 0x80:
        size = length & 0x7F
        length, offset = int.from_bytes(der[2:2 + size], "big"), 2 + size
    raw = der[offset:offset + length]
    try:
        return raw.decode("utf-8") if len(raw) == length else None
    except UnicodeDecodeError:
        return None


def issued_by(cert, ca_pem):
    """True when ``cert`` carries a valid signature of the CA in ``ca_pem``."""
    ca_cert = load_cert(ca_pem)
    if cert.issuer != ca_cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
