# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The standard-library DER <-> raw conversion of ECDSA signatures agrees with cryptography's, and is strict."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_signature_format import (
    EC_COORDINATE_BYTES,
    SignatureFormatError,
    der_from_raw,
    from_kms_signature,
    raw_from_der,
    to_kms_signature,
)

CURVES = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}


def raw(r, s, size):
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


@pytest.mark.parametrize("alg", sorted(EC_COORDINATE_BYTES))
def test_real_signatures_convert_both_ways_like_cryptography(alg):
    size = EC_COORDINATE_BYTES[alg]
    key = ec.generate_private_key(CURVES[alg])
    for number in range(20):
        der = key.sign(b"message %d" % number, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        assert raw_from_der(der, size) == raw(r, s, size)
        assert der_from_raw(raw(r, s, size), size) == der


@pytest.mark.parametrize("size", [32, 48, 66])
@pytest.mark.parametrize("r, s", [
    (1, 1),
    (0x7F, 0x80),                      # one byte, then a leading 1 bit that needs a 0x00
    (2 ** 255, 2 ** 255 - 1),          # the longest P-256 coordinate, and one short of it
    (2 ** 200 + 12345, 3),
])
def test_edge_coordinates_encode_like_cryptography(size, r, s):
    der = encode_dss_signature(r, s)
    assert der_from_raw(raw(r, s, size), size) == der
    assert raw_from_der(der, size) == raw(r, s, size)


def test_p521_coordinates_of_521_bits_use_a_long_form_length():
    r, s = 2 ** 520 + 7, 2 ** 521 - 1
    der = encode_dss_signature(r, s)
    assert der[1] == 0x81  # the body is over 127 bytes
    assert der_from_raw(raw(r, s, 66), 66) == der
    assert raw_from_der(der, 66) == raw(r, s, 66)


def test_random_raw_signatures_round_trip():
    for size in [32, 48, 66] * 70:
        value = os.urandom(2 * size)
        assert raw_from_der(der_from_raw(value, size), size) == value
        r, s = decode_dss_signature(der_from_raw(value, size))
        assert raw(r, s, size) == value


GOOD = encode_dss_signature(0x1234, 0x80)  # 30 08 02 02 12 34 02 02 00 80


@pytest.mark.parametrize("der, reason", [
    (b"", "SEQUENCE expected"),
    (b"\x31" + GOOD[1:], "SEQUENCE expected"),
    (GOOD + b"\x00", "1 bytes follow it"),
    (GOOD[:-1], "cut short"),
    (b"\x30\x81\x08" + GOOD[2:], "bad length"),          # long form for a short length
    (b"\x30\x80" + GOOD[2:] + b"\x00\x00", "bad length"),  # indefinite length
    (b"\x30\x04\x02\x02\x12\x34", "s expected at byte 4"),
    (b"\x30\x0b" + GOOD[2:] + b"\x02\x01\x01", "more than r and s"),
    (b"\x30\x08\x02\x02\x00\x34\x02\x02\x00\x80", "not minimally encoded"),
    (b"\x30\x08\x02\x02\x92\x34\x02\x02\x00\x80", "negative"),
    (b"\x30\x06\x02\x00\x02\x02\x00\x80", "empty"),
    (b"\x04\x40" + b"\x01" * 64, "SEQUENCE expected"),  # a raw-looking blob
    (b"\x30\x06\x03\x02\x12\x34\x02\x00", "r expected at byte 0"),
])
def test_anything_but_strict_der_is_refused(der, reason):
    with pytest.raises(SignatureFormatError, match=reason):
        raw_from_der(der, 32)


def test_a_coordinate_longer_than_the_curve_is_refused():
    with pytest.raises(SignatureFormatError, match="does not fit in 32 bytes"):
        raw_from_der(encode_dss_signature(2 ** 256, 1), 32)


def test_a_raw_signature_of_the_wrong_size_is_refused():
    with pytest.raises(SignatureFormatError, match="64 bytes"):
        der_from_raw(b"\x01" * 63, 32)


def test_rsa_signatures_are_the_same_bytes_in_both_formats():
    blob = os.urandom(256)
    for signature_format in ("der", "raw"):
        assert to_kms_signature(blob, "PS256", signature_format) is blob
        assert from_kms_signature(blob, "RS512", signature_format) is blob


def test_kms_form_is_raw_for_ecdsa():
    value = os.urandom(96)
    der = from_kms_signature(value, "ES384", "der")
    assert decode_dss_signature(der) == (int.from_bytes(value[:48], "big"), int.from_bytes(value[48:], "big"))
    assert to_kms_signature(der, "ES384", "der") == value
    assert from_kms_signature(value, "ES384", "raw") == value
    assert to_kms_signature(value, "ES384", "raw") == value
