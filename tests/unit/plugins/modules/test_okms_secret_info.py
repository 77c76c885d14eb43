# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_secret_info against the fake API: one secret with its versions, or every secret of a KMS; never data."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.ovhcloud.kms.plugins.modules import okms_secret_info
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.secrets import COLLECTION, install

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"


@pytest.fixture
def api():
    api = FakeOkmsApi()
    install(api).add_kms(OKMS_ID)
    return api


@pytest.fixture
def info(run_module, api):
    def run(**options):
        outcome = run_module(okms_secret_info, dict(options, okms_id=OKMS_ID), api)
        assert not outcome.failed, outcome.result
        assert not outcome.result["changed"]
        assert "value-" not in json.dumps(outcome.result), "a data value shows"
        return outcome.result["secrets"]
    return run


def test_one_secret_with_its_versions_and_its_current_one(info, api):
    record = api.secrets.add_secret(OKMS_ID, "app/db", {"p": "value-1"}, {"p": "value-2"}, {"p": "value-3"},
                                    customMetadata={"owner": "x"})
    record["versions"]["2"]["state"] = "DEACTIVATED"
    record["versions"]["2"]["deactivatedAt"] = "2026-01-01T12:00:09.000000Z"
    secret, = info(path="app/db")
    assert secret["path"] == "app/db" and secret["metadata"]["custom_metadata"] == {"owner": "x"}
    assert secret["version"] == {"id": 3, "state": "ACTIVE", "created_at": record["versions"]["3"]["createdAt"],
                                 "deactivated_at": None}
    assert [(v["id"], v["state"], v["deactivated_at"]) for v in secret["versions"]] == [
        (1, "ACTIVE", None), (2, "DEACTIVATED", "2026-01-01T12:00:09.000000Z"), (3, "ACTIVE", None)]
    assert secret["iam"]["display_name"] == "app/db"
    assert api.mutations() == []


def test_a_missing_secret_is_an_empty_list(info, api):
    assert info(path="nope/none") == []


def test_every_secret_of_the_kms_across_pages(info, api):
    api.max_page_size = 7
    for number in range(23):
        api.secrets.add_secret(OKMS_ID, "bulk/%02d" % (22 - number), {"p": "value-%d" % number})
    secrets = info()
    assert [secret["path"] for secret in secrets] == ["bulk/%02d" % n for n in range(23)]
    assert all(secret["version"] is None and "versions" not in secret for secret in secrets)
    assert len(api.calls("GET", COLLECTION)) == 4


def test_a_bad_path_fails_before_any_request(run_module, api):
    outcome = run_module(okms_secret_info, dict(okms_id=OKMS_ID, path="a b"), api)
    assert outcome.failed and outcome.result["msg"] == (
        'path "a b" holds " ": only the characters [a-zA-Z0-9_.:/=@-] are allowed')
    assert api.requests == []


def test_an_api_error_names_the_kms(run_module, api):
    outcome = run_module(okms_secret_info, dict(okms_id="00000000-0000-4000-8000-000000000000"), api)
    assert outcome.failed
    assert outcome.result["msg"].startswith("cannot read the secrets of KMS 00000000-0000-4000-8000-000000000000: ")
    assert outcome.result["api_error"]["status"] == 404
