#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's KMIP client: PyKMIP's ProxyKmipClient, configured only by a pykmip.conf (its [client] section).

kmip_round_trip.py CONF create NAME: create an AES-256 key named NAME, activate it, get it, locate it by name.
kmip_round_trip.py CONF destroy NAME UID: revoke and destroy UID, then locate NAME and get UID again.

Prints one JSON object: what each step saw (states, key length, located ids), the server certificate's key
type and port, and under "failure" the first KMIP operation that failed (its exception class and KMIP result
reason, or the TLS error). A refused client is a result to report, so it exits 0; anything else raises.
One process per phase: PyKMIP takes about a second to import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import ssl
import sys

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from kmip.core import enums
from kmip.core.factories.attributes import AttributeFactory
from kmip.pie.client import ProxyKmipClient
from kmip.pie.exceptions import KmipOperationFailure


def server_key_type(client):
    """The key type of the certificate the KMIP server presented: RSA on kmipRsaEndpoint, EC on kmipEndpoint."""
    der = client.proxy.socket.getpeercert(binary_form=True)
    key = x509.load_der_x509_certificate(der).public_key()
    return "RSA" if isinstance(key, rsa.RSAPublicKey) else "EC" if isinstance(key, ec.EllipticCurvePublicKey) else "?"


def state(client, uid):
    found = client.get_attributes(uid, ["State"])[1]
    return found[0].attribute_value.value.name


def by_name(name):
    return [AttributeFactory().create_attribute(enums.AttributeType.NAME, name)]


def create(client, report, name):
    report["step"] = "create"
    uid = report["uid"] = client.create(enums.CryptographicAlgorithm.AES, 256, name=name)
    report["states"] = [state(client, uid)]
    report["step"] = "activate"
    client.activate(uid)
    report["states"].append(state(client, uid))
    report["step"] = "get"
    key = client.get(uid)
    report["algorithm"] = key.cryptographic_algorithm.name
    report["key_length"] = len(key.value)
    report["step"] = "locate"
    report["located"] = client.locate(attributes=by_name(name))


def destroy(client, report, name, uid):
    report["uid"] = uid
    report["step"] = "revoke"
    client.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)
    report["states"] = [state(client, uid)]
    report["step"] = "destroy"
    client.destroy(uid)
    report["states"].append(state(client, uid))
    report["step"] = "locate"
    report["located"] = client.locate(attributes=by_name(name))
    report["step"] = "get"
    try:
        client.get(uid)
        report["get_after_destroy"] = "the key"
    except KmipOperationFailure as exc:
        report["get_after_destroy"] = exc.reason.name


def main(conf, phase, *args):
    report = {"phase": phase}
    client = ProxyKmipClient(config_file=conf)
    report["port"] = client.proxy.port
    try:
        report["step"] = "connect"
        with client:
            report["server_key"] = server_key_type(client)
            if phase == "create":
                create(client, report, *args)
            else:
                destroy(client, report, *args)
        del report["step"]
    except KmipOperationFailure as exc:
        report["failure"] = {"step": report.pop("step"), "class": type(exc).__name__, "reason": exc.reason.name,
                             "message": exc.message}
    except ssl.SSLError as exc:  # a server that refuses the certificate in the handshake
        report["failure"] = {"step": report.pop("step"), "class": type(exc).__name__, "reason": exc.reason,
                             "message": str(exc)}
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    if len(sys.argv) < 4 or (sys.argv[2], len(sys.argv)) not in (("create", 4), ("destroy", 5)):
        sys.exit(__doc__)
    main(*sys.argv[1:])
