# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Exceptions raised by the API clients, and how a failure names what was being done."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib


class OvhConfigurationError(Exception):
    """The client cannot be configured (missing, partial or conflicting credentials)."""


class OvhApiError(Exception):
    """An API call failed.

    Carries what a user needs to understand the failure and what OVHcloud
    support needs to trace it; never any credential. ``action`` says what the
    collection was doing ("create service key 'db'") and prefixes the message.
    """

    # How the request id is labelled in messages: the OVHcloud API calls it X-Ovh-QueryID.
    query_id_label = "X-Ovh-QueryID"

    def __init__(self, message, status=None, error_class=None, query_id=None,
                 method=None, path=None, details=None, error_code=None, action=None):
        super(OvhApiError, self).__init__(message)
        self.message = message
        self.status = status
        self.error_class = error_class
        # Authentication failures also carry a code such as INVALID_SIGNATURE.
        self.error_code = error_code
        self.query_id = query_id
        self.method = method
        self.path = path
        self.details = details
        self.action = action

    def __str__(self):
        parts = []
        if self.method and self.path:
            parts.append("%s %s" % (self.method, self.path))
        if self.status:
            parts.append("HTTP %s" % self.status)
        if self.error_class:
            parts.append(self.error_class)
        if self.error_code and self.error_code != self.error_class:
            parts.append(str(self.error_code))
        text = ", ".join(parts)
        text = "%s: %s" % (text, self.message) if text else self.message
        references = self.references()
        if references:
            text += " (%s)" % ", ".join("%s: %s" % pair for pair in references)
        if self.action:
            text = "cannot %s: %s" % (self.action, text)
        return text

    def references(self):
        """The identifiers support asks for, as (label, value) pairs."""
        return [(self.query_id_label, self.query_id)] if self.query_id else []

    def to_result(self):
        """Structured fields for fail_json, so playbooks can branch on them."""
        return {
            "status": self.status,
            "error_class": self.error_class,
            "error_code": self.error_code,
            "query_id": self.query_id,
            "details": self.details,
        }


class OvhAmbiguousRequestError(OvhApiError):
    """A mutating request may or may not have been applied.

    Raised instead of retrying a POST/PUT/DELETE whose outcome is unknown
    (read timeout, 5xx, connection dropped after sending): the caller must
    re-read the resource before deciding to try again.
    """


class OvhWriteNotAppliedError(OvhApiError):
    """A write was sent until the retry budget ran out; every answer was lost and re-reading showed it absent.

    Unlike OvhAmbiguousRequestError the outcome is known: nothing was changed.
    """

    def __init__(self, last_lost, attempts):
        super(OvhWriteNotAppliedError, self).__init__(
            "sent %d times; every answer was lost and re-reading showed each time that it was not applied, so "
            "nothing was changed (last answer: %s)" % (attempts, last_lost.message),
            status=last_lost.status, error_class=last_lost.error_class, query_id=last_lost.query_id,
            method=last_lost.method, path=last_lost.path, details=last_lost.details,
            error_code=last_lost.error_code)
        self.attempts = attempts


class KmsApiError(OvhApiError):
    """A KMS data-plane (REST API) call failed; ``query_id`` holds the answer's ``request_id``."""

    query_id_label = "request_id"

    def __init__(self, message, error_id=None, **kwargs):
        super(KmsApiError, self).__init__(message, **kwargs)
        self.error_id = error_id

    def references(self):
        found = [("error_id", self.error_id)] if self.error_id else []
        return found + super(KmsApiError, self).references()

    def to_result(self):
        result = super(KmsApiError, self).to_result()
        result["error_id"] = self.error_id
        return result


@contextlib.contextmanager
def api_action(action):
    """Name what the calls inside are doing, in any OvhApiError they raise.

    An inner, more precise action is kept: ``api_action("converge key 'db'")``
    around ``api_action("delete service key 'db'")`` reports the deletion.
    """
    try:
        yield
    except OvhApiError as exc:
        if not exc.action:
            exc.action = action
        raise
