# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_credential_info over the fake API: the module's shape, filters, an unknown id, a named failure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.ovhcloud.kms.plugins.modules import okms_credential, okms_credential_info
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms import credentials as fake_credentials
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi

ACCOUNT = "urn:v1:eu:identity:account:xx1111-ovh"
UTC = datetime.timezone.utc


@pytest.fixture
def kms():
    api = FakeOkmsApi()
    state = fake_credentials.install(api)
    return api, state, state.add_kms()


def test_every_credential_oldest_first_in_the_module_shape(run_module, kms, tmp_path):
    api, state, okms_id = kms
    now = datetime.datetime.now(UTC)
    old = state.seed(okms_id, "db1", created_at=now - datetime.timedelta(days=2))
    issued = run_module(okms_credential, dict(okms_id=okms_id, name="web1", identity_urns=[ACCOUNT], wait=False,
                                              private_key_path=str(tmp_path / "web1.key")), api)
    outcome = run_module(okms_credential_info, dict(okms_id=okms_id), api)
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is False
    assert [c["id"] for c in outcome.result["credentials"]] == [old["id"], issued.result["credential"]["id"]]
    assert outcome.result["credentials"][1] == issued.result["credential"]


def test_filters_combine(run_module, kms):
    api, state, okms_id = kms
    now = datetime.datetime.now(UTC)
    soon = state.seed(okms_id, "web1", expired_at=now + datetime.timedelta(days=10))
    state.seed(okms_id, "web1", status="ERROR", expired_at=now + datetime.timedelta(days=10))
    state.seed(okms_id, "web1")
    state.seed(okms_id, "db1", expired_at=now + datetime.timedelta(days=10))
    outcome = run_module(okms_credential_info, dict(okms_id=okms_id, name="web1", status=["READY"],
                                                    expires_within_days=30), api)
    assert [c["id"] for c in outcome.result["credentials"]] == [soon["id"]]
    assert api.mutations() == []


def test_an_id_reads_one_credential_or_none(run_module, kms):
    api, state, okms_id = kms
    seeded = state.seed(okms_id, "web1")
    found = run_module(okms_credential_info, dict(okms_id=okms_id, id=seeded["id"]), api)
    assert [c["id"] for c in found.result["credentials"]] == [seeded["id"]]
    missing = run_module(okms_credential_info, dict(okms_id=okms_id, id="00000000-0000-4000-8000-000000000000"), api)
    assert not missing.failed
    assert missing.result["credentials"] == []


def test_an_unknown_kms_fails_naming_the_action(run_module, kms):
    api = kms[0]
    outcome = run_module(okms_credential_info, dict(okms_id="00000000-0000-4000-8000-000000000000"), api)
    assert outcome.failed
    assert outcome.result["msg"].startswith(
        "cannot list the credentials of KMS 00000000-0000-4000-8000-000000000000: GET /v2/okms/resource/")
    assert outcome.result["api_error"]["status"] == 404


def test_expires_within_days_counts_from_the_servers_time(run_module, kms, monkeypatch):
    api, state, okms_id = kms
    now = datetime.datetime.now(UTC)
    soon = state.seed(okms_id, "web1", expired_at=now + datetime.timedelta(days=10))
    state.seed(okms_id, "web1", expired_at=now + datetime.timedelta(days=100))
    # The local clock is 60 days ahead; the server's time (from its answers) decides.
    monkeypatch.setattr(okms_credential_info, "utc_now", lambda: now + datetime.timedelta(days=60))
    api.server_time = now.timestamp
    outcome = run_module(okms_credential_info, dict(okms_id=okms_id, expires_within_days=30), api)
    assert [c["id"] for c in outcome.result["credentials"]] == [soon["id"]]


@pytest.mark.parametrize("args, message", [
    (dict(okms_id="my-kms"), "okms_id must be a KMS id, a UUID such as 5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10; got "
                             "'my-kms' (nothing was sent to the API)"),
    (dict(id="web1"), "id must be a credential id, a UUID such as 5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10; got 'web1' "
                      "(nothing was sent to the API)"),
])
def test_ids_that_are_not_uuids_are_refused_before_any_request(run_module, kms, args, message):
    api, state, okms_id = kms
    outcome = run_module(okms_credential_info, dict(dict(okms_id=okms_id), **args), api)
    assert outcome.failed
    assert outcome.result["msg"] == message
    assert api.requests == []
