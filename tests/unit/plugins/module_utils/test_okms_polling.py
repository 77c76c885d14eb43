# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_polling import PollTimeout, poll_until
from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.okms_fakes import FakeTime


def test_returns_first_truthy_result_with_doubling_delays():
    fake = FakeTime()
    answers = iter([None, None, None, {"status": "READY"}])
    result = poll_until(lambda: next(answers), 60, "the credential", first_delay=0.5, max_delay=15,
                        sleep=fake.sleep, clock=fake.clock)
    assert result == {"status": "READY"}
    assert fake.sleeps == [0.5, 1.0, 2.0]


def test_delay_is_capped_and_timeout_names_what_was_awaited():
    fake = FakeTime()
    with pytest.raises(PollTimeout, match="timed out after 40s waiting for order 12 to be delivered"):
        poll_until(lambda: None, 40, "order 12 to be delivered", first_delay=1, max_delay=8,
                   sleep=fake.sleep, clock=fake.clock)
    assert fake.sleeps[:5] == [1, 2, 4, 8, 8]
    assert sum(fake.sleeps) == 40


def test_a_schedule_sets_each_delay_from_the_time_elapsed_and_the_first_check_may_wait():
    fake = FakeTime()
    answers = iter([None, None, None, "done"])
    result = poll_until(lambda: next(answers), 60, "x", sleep=fake.sleep, clock=fake.clock,
                        schedule=lambda elapsed: 0.25 if elapsed < 0.5 else 0.5, check_first=False)
    assert result == "done"
    # Waited before the first check, then 0.25 s until 0.5 s had passed, then 0.5 s.
    assert fake.sleeps == [0.25, 0.25, 0.5, 0.5]
