# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Waiting for asynchronous OVHcloud operations (order delivery, credential issuance, termination)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time


class PollTimeout(Exception):
    """The awaited condition did not happen within the allowed time."""


def poll_until(check, timeout, what, first_delay=0.5, max_delay=15.0, sleep=time.sleep, clock=time.monotonic,
               schedule=None, check_first=True):
    """Call ``check()`` until it returns something truthy, and return that.

    Adaptive polling: the first re-check comes quickly (most operations finish
    fast against a healthy API), then the delay doubles up to ``max_delay`` so
    a long wait costs few requests. ``schedule(elapsed)``, when given, returns
    the delay before the next check instead. ``check_first=False`` waits before
    the first check (the caller has just seen the condition unmet). Raises
    PollTimeout naming ``what``.
    """
    started = clock()
    deadline = started + timeout
    poll_delay = first_delay
    if not check_first:
        sleep(min(schedule(0.0) if schedule else poll_delay, timeout))
    while True:
        result = check()
        if result:
            return result
        remaining = deadline - clock()
        if remaining <= 0:
            raise PollTimeout("timed out after %ss waiting for %s" % (timeout, what))
        if schedule:
            poll_delay = schedule(clock() - started)
            sleep(min(poll_delay, remaining))
        else:
            sleep(min(poll_delay, remaining))
            poll_delay = min(poll_delay * 2, max_delay)
