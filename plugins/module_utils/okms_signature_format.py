# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ECDSA signatures as the KMS makes them (raw ``r||s``) and as most tools take them (ASN.1 DER).

The KMS signs and verifies ECDSA signatures as the two coordinates side by side,
each as long as the curve's order (JOSE's form). OpenSSL (``openssl dgst
-verify``), ``cryptography`` and most libraries read and write the DER form,
``SEQUENCE { INTEGER r, INTEGER s }``. Both conversions are written here, with
the standard library only, because the machine running the modules may not
have ``cryptography``. Decoding is strict DER: anything else is not a signature
this module made, and is reported as a SignatureFormatError.

RSA signatures are the same bytes in both formats.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Bytes per coordinate of the curve each ECDSA algorithm signs with (P-256, P-384, P-521).
EC_COORDINATE_BYTES = {"ES256": 32, "ES384": 48, "ES512": 66}

SIGNATURE_FORMATS = ("der", "raw")

_SEQUENCE = 0x30
_INTEGER = 0x02


class SignatureFormatError(ValueError):
    """Bytes that are not a signature in the format expected."""


def _to_int(data):
    return int.from_bytes(bytes(data), "big")


def _to_bytes(value, length):
    if value.bit_length() > 8 * length:
        raise SignatureFormatError("a coordinate of %d bits does not fit in %d bytes" % (value.bit_length(), length))
    return value.to_bytes(length, "big")


def _der_length(length):
    if length < 0x80:
        return bytearray([length])
    body = _to_bytes(length, (length.bit_length() + 7) // 8)
    return bytearray([0x80 | len(body)]) + body


def _der_integer(value):
    body = _to_bytes(value, max(1, (value.bit_length() + 7) // 8))
    if body[0] & 0x80:
        # A leading 1 bit would make it negative.
        body = b"\x00" + body
    return bytearray([_INTEGER]) + _der_length(len(body)) + body


def der_from_raw(raw, coordinate_bytes):
    """The DER form of a raw ``r||s`` signature whose coordinates are ``coordinate_bytes`` long."""
    if len(raw) != 2 * coordinate_bytes:
        raise SignatureFormatError("a raw signature here is %d bytes (r||s), got %d" % (2 * coordinate_bytes, len(raw)))
    body = _der_integer(_to_int(raw[:coordinate_bytes])) + _der_integer(_to_int(raw[coordinate_bytes:]))
    return bytes(bytearray([_SEQUENCE]) + _der_length(len(body)) + body)


def _read_element(data, offset, tag, what):
    """(content, next offset) of the DER element of ``tag`` at ``offset``."""
    if offset + 2 > len(data) or data[offset] != tag:
        raise SignatureFormatError("not a DER ECDSA signature: %s expected at byte %d" % (what, offset))
    length = data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        # No indefinite length, and the long form only where the short one cannot hold the length.
        if count == 0 or count > 2 or offset + count > len(data) or data[offset] == 0:
            raise SignatureFormatError("not a DER ECDSA signature: bad length of the %s" % what)
        length = _to_int(data[offset:offset + count])
        offset += count
        if length < 0x80:
            raise SignatureFormatError("not a DER ECDSA signature: bad length of the %s" % what)
    if offset + length > len(data):
        raise SignatureFormatError("not a DER ECDSA signature: the %s is cut short" % what)
    return data[offset:offset + length], offset + length


def _read_coordinate(data, offset, what):
    content, offset = _read_element(data, offset, _INTEGER, what)
    if not content:
        raise SignatureFormatError("not a DER ECDSA signature: %s is empty" % what)
    if content[0] & 0x80:
        raise SignatureFormatError("not a DER ECDSA signature: %s is negative" % what)
    if len(content) > 1 and content[0] == 0 and not content[1] & 0x80:
        raise SignatureFormatError("not a DER ECDSA signature: %s is not minimally encoded" % what)
    return _to_int(content), offset


def raw_from_der(der, coordinate_bytes):
    """The raw ``r||s`` form of a DER ECDSA signature, each coordinate ``coordinate_bytes`` long."""
    data = bytearray(der)
    body, end = _read_element(data, 0, _SEQUENCE, "SEQUENCE")
    if end != len(data):
        raise SignatureFormatError("not a DER ECDSA signature: %d bytes follow it" % (len(data) - end))
    r, offset = _read_coordinate(body, 0, "r")
    s, offset = _read_coordinate(body, offset, "s")
    if offset != len(body):
        raise SignatureFormatError("not a DER ECDSA signature: the SEQUENCE holds more than r and s")
    return _to_bytes(r, coordinate_bytes) + _to_bytes(s, coordinate_bytes)


def to_kms_signature(signature, alg, signature_format):
    """The form the KMS verifies (raw for ECDSA) of ``signature`` given in ``signature_format``."""
    size = EC_COORDINATE_BYTES.get(alg)
    if size is None or signature_format == "raw":
        return signature
    return raw_from_der(signature, size)


def from_kms_signature(signature, alg, signature_format):
    """``signature`` as the KMS made it, in ``signature_format``."""
    size = EC_COORDINATE_BYTES.get(alg)
    if size is None or signature_format == "raw":
        return signature
    return der_from_raw(signature, size)
