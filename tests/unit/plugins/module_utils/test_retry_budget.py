# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The default retry budget (issue 11): a role run converges in one run when one request in five fails.

With five attempts, a request failing one time in five (each attempt drawn anew) was lost three times in ten
thousand: a role run of a few hundred requests failed to converge a few percent of the time (the
okms_reliability integration target saw it). Eight attempts make it about three in a million, and the waits
stay bounded when the API is down for good.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import requests
from urllib3.exceptions import ProtocolError

from ansible_collections.ovhcloud.kms.plugins.module_utils.http_transport import RetryPolicy
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_resource import Confirmation, ResourceApi
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_api import OvhApiClient
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_config import resolve_config
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhAmbiguousRequestError, OvhApiError

from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.okms_fakes import (
    FakeSession,
    FakeTime,
    make_response,
)

KEYS = "/v2/okms/resource/o1/serviceKey"


def default_budget_client(answers, rand):
    """A client with the default budget (only the clock, the sleeps and the jitter are the test's)."""
    fake_time = FakeTime()
    policy = RetryPolicy(sleep=fake_time.sleep, clock=fake_time.clock, rand=lambda: rand)
    config = resolve_config(dict(endpoint="ovh-eu", application_key="AK", application_secret="AS-s3cr3t",
                                 consumer_key="CK-s3cr3t"), {}, ())
    client = OvhApiClient(config, retry_policy=policy, session=FakeSession(list(answers)))
    return client, fake_time


def failure(kind):
    if kind == "reset":
        return requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError()))
    return make_response(int(kind), {"class": "Server::BadGateway", "message": "injected"})


@pytest.mark.parametrize("rand", [0.0, 0.999])
def test_a_read_failing_seven_times_in_a_row_still_succeeds_within_the_time_budget(rand):
    kinds = ["502", "reset", "503", "500", "429", "reset", "502"]
    client, fake_time = default_budget_client([failure(k) for k in kinds] + [make_response(200, [{"id": "k1"}])],
                                              rand)
    assert client.get(KEYS) == [{"id": "k1"}]
    assert len(fake_time.sleeps) == 7
    assert sum(fake_time.sleeps) <= client.retry_policy.max_total


def test_a_read_failing_every_time_gives_up_after_eight_attempts_and_36_seconds_at_most():
    client, fake_time = default_budget_client([failure("503")] * 20, rand=0.999)
    with pytest.raises(OvhApiError) as error:
        client.get(KEYS)
    assert error.value.status == 503
    assert len([c for c in client.transport.session.calls if c["url"].endswith(KEYS)]) == 8
    assert sum(fake_time.sleeps) <= 36.0


def test_a_write_proved_absent_seven_times_is_sent_an_eighth_time():
    outcomes = ["lost-before"] * 7 + ["ok"]
    sent = []

    def write():
        sent.append(outcomes[len(sent)])
        if sent[-1] == "lost-before":
            raise OvhAmbiguousRequestError("the request may or may not have been applied (connection reset)",
                                           method="POST", path=KEYS)
        return {"id": "k%d" % len(sent)}

    client, fake_time = default_budget_client([], rand=0.999)
    api = ResourceApi(client)
    assert api.write_then_confirm("create service key 'db'", write, Confirmation.absent) == {"id": "k8"}
    assert len(sent) == 8
    assert sum(fake_time.sleeps) <= client.retry_policy.max_total
