# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_credential keeps a credential whose lifetime is not ``validity``, and says when it will apply."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential import WantedCredential
from ansible_collections.ovhcloud.kms.plugins.modules import okms_credential

NOW = datetime.datetime(2025, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
CREDENTIAL_ID = "2b7ed1fa-43a3-4a8a-9c4b-d0a3ba1fd55a"


class FakeModule:
    params = {}
    check_mode = False
    _diff = False


class FakeRequest:
    def __init__(self, validity, renew_before):
        self.name = "web1"
        self.validity = validity
        self.wanted = WantedCredential([], None, "ECDSA", renew_before)


def warnings_for(monkeypatch, validity, renew_before, created, expired):
    # "Now" is the server's time the plan judged by; the local clock must not matter.
    monkeypatch.setattr(okms_credential, "utc_now", lambda: NOW + datetime.timedelta(days=400))
    reconciler = okms_credential.CredentialReconciler(FakeModule(), FakeRequest(validity, renew_before))
    credential = dict(id=CREDENTIAL_ID, createdAt=created, expiredAt=expired)
    reconciler.warn_if_validity_differs(credential, NOW)
    return reconciler.warnings


@pytest.mark.parametrize("expired", [
    "2025-03-31T11:00:00Z",      # exactly 30 days
    "2025-03-31T10:59:30Z",      # a few seconds short, as a certificate's notAfter may be
    "2025-03-31T11:00:00.5+00:00",
])
def test_no_warning_when_the_lifetime_is_the_validity(monkeypatch, expired):
    assert warnings_for(monkeypatch, 30, 10, "2025-03-01T11:00:00Z", expired) == []


def test_a_longer_validity_can_be_applied_now_with_renew_before(monkeypatch):
    # Issued for 10 days one hour ago: 10 days are left, fewer than the 20 asked.
    warnings = warnings_for(monkeypatch, 20, 6, "2025-03-01T11:00:00Z", "2025-03-11T11:00:00Z")
    assert warnings == [
        "validity is 20 days but credential %s (web1) was issued for 10 days: a credential cannot be changed, so "
        "validity applies from its next renewal, on 2025-03-05 11:00 UTC (renew_before: 6, counted back from its "
        "expiry on 2025-03-11T11:00:00Z); to renew it now, run once with renew_before: 10" % CREDENTIAL_ID]


def test_a_shorter_validity_needs_a_new_credential_to_apply_sooner(monkeypatch):
    # renew_before must stay shorter than validity, so 300 days left cannot be renewed by renew_before.
    warnings = warnings_for(monkeypatch, 90, 30, "2024-12-26T12:00:00Z", "2025-12-26T12:00:00Z")
    assert len(warnings) == 1
    assert "validity is 90 days but credential %s (web1) was issued for 365 days" % CREDENTIAL_ID in warnings[0]
    assert "on 2025-11-26 12:00 UTC (renew_before: 30," in warnings[0]
    assert warnings[0].endswith("to replace it sooner, revoke it (state: absent) and run this task again")


@pytest.mark.parametrize("created, expired", [(None, "2025-03-31T11:00:00Z"), ("yesterday", "2025-03-31T11:00:00Z")])
def test_no_warning_when_the_dates_cannot_be_read(monkeypatch, created, expired):
    assert warnings_for(monkeypatch, 30, 10, created, expired) == []
