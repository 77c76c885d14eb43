# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ResourceApi: 404 as None, 100-item pages, and write_then_confirm's three outcomes, once for every resource."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_resource import Confirmation, ResourceApi
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
    OvhWriteNotAppliedError,
)
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi

WIDGETS = "/v2/okms/resource/o1/widget"


class Widgets:
    """A resource whose writes lose their answer as a test scripts it: ``plan`` lists, per attempt, "ok",
    "lost-before" (never arrived) or "lost-after" (applied, answer lost)."""

    def __init__(self, plan):
        self.plan = list(plan)
        self.stored = []
        self.sent = 0

    def write(self):
        self.sent += 1
        outcome = self.plan.pop(0) if self.plan else "ok"
        if outcome != "lost-before":
            self.stored.append("w%d" % self.sent)
        if outcome.startswith("lost"):
            raise OvhAmbiguousRequestError("the request may or may not have been applied (connection reset)",
                                           method="POST", path=WIDGETS)
        return {"id": self.stored[-1]}

    def confirm(self):
        return Confirmation.applied({"id": self.stored[-1]}) if self.stored else Confirmation.absent()


@pytest.fixture
def api():
    return ResourceApi(FakeOkmsApi())


def test_an_answered_write_is_returned_as_is(api):
    widgets = Widgets(["ok"])
    assert api.write_then_confirm("create widget 'w'", widgets.write, widgets.confirm) == {"id": "w1"}
    assert widgets.sent == 1


def test_applied_then_lost_is_adopted_not_repeated(api):
    widgets = Widgets(["lost-after"])
    assert api.write_then_confirm("create widget 'w'", widgets.write, widgets.confirm) == {"id": "w1"}
    assert widgets.sent == 1 and widgets.stored == ["w1"]
    assert api.client.sleeps == []


def test_proved_absent_is_sent_again_after_a_backoff_then_confirmed(api):
    widgets = Widgets(["lost-before", "lost-before", "lost-after"])
    assert api.write_then_confirm("create widget 'w'", widgets.write, widgets.confirm) == {"id": "w3"}
    assert widgets.sent == 3 and widgets.stored == ["w3"]
    # The client's jittered exponential backoff (rand fixed at 0.5 in the fake).
    assert api.client.sleeps == [0.375, 0.75]


def test_proved_absent_every_time_stops_at_the_attempt_budget_as_not_applied(api):
    widgets = Widgets(["lost-before"] * 10)
    with pytest.raises(OvhWriteNotAppliedError) as error:
        api.write_then_confirm("create widget 'w'", widgets.write, widgets.confirm)
    assert widgets.sent == api.retry_policy.max_attempts == 8
    assert error.value.attempts == 8
    assert str(error.value).startswith("cannot create widget 'w': POST %s: sent 8 times; every answer was lost and "
                                       "re-reading showed each time that it was not applied" % WIDGETS)
    assert widgets.stored == []


def test_undecidable_raises_the_ambiguity_with_what_to_check(api):
    def confirm():
        return Confirmation.undecidable("check whether widget 'w' exists in KMS o1 (GET %s)" % WIDGETS)

    widgets = Widgets(["lost-before"])
    with pytest.raises(OvhAmbiguousRequestError) as error:
        api.write_then_confirm("create widget 'w'", widgets.write, confirm, check="not this one")
    assert str(error.value) == (
        "cannot create widget 'w': POST %s: the request may or may not have been applied (connection reset); "
        "re-reading could not tell whether it was: check whether widget 'w' exists in KMS o1 (GET %s)"
        % (WIDGETS, WIDGETS))
    assert widgets.sent == 1


def test_a_failed_re_read_is_undecidable_and_says_what_to_check(api):
    def confirm():
        raise OvhApiError("busy", status=503, method="GET", path=WIDGETS, action="list the widgets")

    widgets = Widgets(["lost-before"])
    with pytest.raises(OvhAmbiguousRequestError) as error:
        api.write_then_confirm("create widget 'w'", widgets.write, confirm,
                               check="check whether widget 'w' exists (GET %s)" % WIDGETS)
    assert str(error.value) == (
        "cannot create widget 'w': POST %s: the request may or may not have been applied (connection reset); "
        "re-reading to find out failed too (cannot list the widgets: GET %s, HTTP 503: busy): check whether widget "
        "'w' exists (GET %s)" % (WIDGETS, WIDGETS, WIDGETS))


def test_what_confirm_raises_on_purpose_goes_through(api):
    class KeyLost(OvhApiError):
        pass

    def confirm():
        raise KeyLost("made, but its key was in the lost answer", method="POST", path=WIDGETS)

    with pytest.raises(KeyLost):
        api.write_then_confirm("create widget 'w'", Widgets(["lost-after"]).write, confirm)


def test_undecidable_without_its_own_text_uses_the_check_given(api):
    with pytest.raises(OvhAmbiguousRequestError) as error:
        api.write_then_confirm("create widget 'w'", Widgets(["lost-before"]).write,
                               lambda: Confirmation.undecidable(None), check="check widget 'w' (GET %s)" % WIDGETS)
    assert str(error.value).endswith("re-reading could not tell whether it was: check widget 'w' (GET %s)" % WIDGETS)


def test_a_client_without_a_retry_policy_gets_the_default_budget():
    assert ResourceApi(object()).retry_policy.max_attempts == 8


def test_read_is_none_on_404_and_read_all_asks_for_100_item_pages(api):
    fake = api.client
    fake.route("GET", WIDGETS, lambda request: ["w%d" % index for index in range(250)])
    assert api.read(WIDGETS + "/unknown", "read widget unknown") is None
    assert api.read_all(WIDGETS, "list the widgets") == ["w%d" % index for index in range(250)]
    pages = fake.calls("GET", WIDGETS)
    assert [request.headers.get("X-Pagination-Cursor") for request in pages] == [None, "100", "200"]
    assert all(request.headers["X-Pagination-Size"] == "100" for request in pages)
