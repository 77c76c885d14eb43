# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every resource layer (``okms_*_api.py``) is built on.

A resource layer owns its resource's paths, says what it is doing in its
errors ("create service key 'db'"), maps "not found" to None, reads lists in
large pages, and settles a write whose answer was lost. The last three are
written here, once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ovhcloud.kms.plugins.module_utils.http_transport import LIST_PAGE_SIZE, RetryPolicy
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
    OvhWriteNotAppliedError,
    api_action,
)

# HTTP statuses that mean "this object does not exist".
NOT_FOUND_STATUSES = (404,)


class Confirmation:
    """What re-reading says about a write whose answer was lost; ``confirm()`` returns one.

    - ``Confirmation.applied(result)``: the write took effect; ``result`` stands for its answer.
    - ``Confirmation.absent()``: the write is absent, the re-read proves it did not take
      effect (the key is still missing, still has its old name...): it is sent again.
    - ``Confirmation.undecidable(what_to_check)``: the re-read cannot tell; the task fails
      with ``what_to_check``, which names the object (name, id) and where to look
      (None: the ``check`` given to ``write_then_confirm``).
    """

    APPLIED = "applied"
    ABSENT = "absent"
    UNDECIDABLE = "undecidable"

    def __init__(self, outcome, result=None, what_to_check=None):
        self.outcome = outcome
        self.result = result
        self.what_to_check = what_to_check

    @classmethod
    def applied(cls, result=None):
        return cls(cls.APPLIED, result=result)

    @classmethod
    def absent(cls):
        return cls(cls.ABSENT)

    @classmethod
    def undecidable(cls, what_to_check):
        return cls(cls.UNDECIDABLE, what_to_check=what_to_check)

    def __repr__(self):
        return "Confirmation(%s)" % self.outcome


class ResourceApi:
    """Base of the resource layers: one API client, read-or-None, large pages, write-then-confirm."""

    def __init__(self, client):
        self.client = client

    @property
    def retry_policy(self):
        """The client's retry budget (count and total time), which also bounds repeated writes."""
        return getattr(self.client, "retry_policy", None) or RetryPolicy()

    def read(self, path, action, params=None, gone_statuses=NOT_FOUND_STATUSES):
        """The object at ``path``, or None when the API says it does not exist."""
        with api_action(action):
            try:
                return self.client.get(path, params=params)
            except OvhApiError as exc:
                if exc.status in gone_statuses:
                    return None
                raise

    def read_all(self, path, action, params=None):
        """Every item of a paginated list, read in pages of LIST_PAGE_SIZE.

        Large pages make a list that changes while it is read (an item deleted
        between two pages shifts an offset cursor) far less likely to hide an item.
        """
        with api_action(action):
            return self.client.get_all(path, params=params, page_size=LIST_PAGE_SIZE)

    def write_then_confirm(self, action, write, confirm, check=None):
        """Run ``write()`` and return its answer; if the answer was lost, settle it now, once.

        ``write()`` sends one mutating request. When its outcome is unknown
        (OvhAmbiguousRequestError), ``confirm()`` re-reads and returns a
        :class:`Confirmation`:

        - applied: its result is returned;
        - absent: the write is sent again, after a backoff, as long as the
          client's retry budget (attempts and total time, counted from the
          first sending) allows, then confirmed again; past the budget,
          OvhWriteNotAppliedError (nothing was changed);
        - undecidable: the ambiguity is raised, saying what to check.

        ``check`` says what to check when re-reading cannot settle it, the
        re-read itself failing included ("check whether a service key named
        'db' exists in KMS ... (GET ...)"); an undecidable Confirmation's own
        text wins. Every error names ``action``.
        """
        policy = self.retry_policy
        started = policy.clock()
        attempt = 0
        with api_action(action):
            while True:
                attempt += 1
                try:
                    return write()
                except OvhAmbiguousRequestError as lost:
                    confirmation = self._confirm(confirm, lost, check)
                    if confirmation.outcome == Confirmation.APPLIED:
                        return confirmation.result
                    if confirmation.outcome == Confirmation.UNDECIDABLE:
                        what_to_check = confirmation.what_to_check or check
                        if what_to_check:
                            lost.message = "%s; re-reading could not tell whether it was: %s" % (
                                lost.message, what_to_check)
                        raise
                    delay = policy.backoff_delay(attempt)
                    if attempt >= policy.max_attempts or policy.clock() - started + delay > policy.max_total:
                        raise OvhWriteNotAppliedError(lost, attempt)
                    policy.sleep(delay)

    @staticmethod
    def _confirm(confirm, lost, check):
        """``confirm()``'s Confirmation; a re-read (GET) that fails leaves the write undecided: ``lost`` is raised."""
        try:
            return confirm()
        except OvhApiError as exc:
            if exc.method not in (None, "GET"):
                raise  # not a failed re-read: what confirm() decided to raise
            lost.message = "%s; re-reading to find out failed too (%s)%s" % (
                lost.message, exc, ": %s" % check if check else "")
            raise lost
