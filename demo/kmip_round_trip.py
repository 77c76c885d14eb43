#!/usr/bin/env python
"""One KMIP round trip with a host's deployed files: kmip_round_trip.py OKMS_YAML NAME.

Reads the kmip section of the okms.yaml the ovhcloud.kms.okms role deployed
(endpoint, ca, auth.cert, auth.key), then with PyKMIP's ProxyKmipClient creates
an AES-256 key named NAME, activates it, reads it back, finds it by name,
revokes and destroys it (OKMS destroys only PreActive or revoked objects), and
prints one JSON line: the id, the states seen, the key length, and whether the
destroyed key left Locate. Nothing is left behind.
"""

import json
import sys

import yaml
from kmip.core import enums
from kmip.pie.client import ProxyKmipClient


def main(config_path, name):
    with open(config_path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    kmip = config["profiles"][config.get("profile") or "default"]["kmip"]
    host, port = kmip["endpoint"].rsplit(":", 1)
    client = ProxyKmipClient(hostname=host, port=int(port), cert=kmip["auth"]["cert"], key=kmip["auth"]["key"],
                             ca=kmip.get("ca"), config_file="/dev/null")
    with client:
        uid = client.create(enums.CryptographicAlgorithm.AES, 256, name=name)
        client.activate(uid)
        key = client.get(uid)
        found = client.locate(attributes=[client.attribute_factory.create_attribute(enums.AttributeType.NAME, name)])
        client.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid)
        client.destroy(uid)
        left = client.locate(attributes=[client.attribute_factory.create_attribute(enums.AttributeType.NAME, name)])
    print(json.dumps({"endpoint": kmip["endpoint"], "uid": uid, "key_bytes": len(key.value),
                      "located": found == [uid], "gone_after_destroy": uid not in left}))


if __name__ == "__main__":
    main(*sys.argv[1:])
