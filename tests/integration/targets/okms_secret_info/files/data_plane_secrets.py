# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write many secrets, or delete every secret, through the KMS data plane (REST API v2, OAuth2 token), quickly.

Usage: data_plane_secrets.py write PREFIX COUNT | data_plane_secrets.py delete-all. The connection comes
from OKMS_EMULATOR_CONNECTION (the emulator's connection.json) and the KMS id from OKMS_ID. Each secret
PREFIX/NNN holds {"n": "<PREFIX>-value-NNN"}. Going through the other API also shows that both planes share
one store.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys
from urllib.parse import quote

import requests


def session_and_url():
    with open(os.environ["OKMS_EMULATOR_CONNECTION"], encoding="utf-8") as handle:
        conn = json.load(handle)
    session = requests.Session()
    session.verify = conn["ca_path"]
    token = session.post(conn["token_url"], data={
        "grant_type": "client_credentials", "client_id": conn["client_id"], "client_secret": conn["client_secret"],
        "scope": "all"}, timeout=30)
    token.raise_for_status()
    session.headers["Authorization"] = "Bearer " + token.json()["access_token"]
    return session, "%s/api/%s/v2/secret" % (conn["data_endpoint"], os.environ["OKMS_ID"])


def write(prefix, count):
    session, url = session_and_url()
    for number in range(count):
        path = "%s/%03d" % (prefix, number)
        answer = session.post(url, json={"path": path, "version": {"data": {"n": "%s-value-%03d" % (prefix, number)}}},
                              timeout=30)
        if answer.status_code != 200:
            sys.exit("%s: HTTP %d %s" % (path, answer.status_code, answer.text))
    print("wrote %d secrets under %s/" % (count, prefix))


def delete_all():
    session, url = session_and_url()
    paths, cursor = [], None
    while True:
        answer = session.get(url, headers={"X-Pagination-Cursor": cursor} if cursor else {}, timeout=30)
        answer.raise_for_status()
        paths += [secret["path"] for secret in answer.json()]
        cursor = answer.headers.get("X-Pagination-Cursor-Next")
        if not cursor:
            break
    for path in paths:
        session.delete("%s/%s" % (url, quote(path, safe=""))).raise_for_status()
    print("deleted %d secrets" % len(paths))


def main():
    if sys.argv[1:2] == ["write"]:
        write(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1:] == ["delete-all"]:
        delete_all()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
