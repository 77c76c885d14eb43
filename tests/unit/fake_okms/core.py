# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stateful, in-memory stand-in for the OVHcloud API client (``OvhApiClient``).

Reconciler tests run a module's ``main()`` against it in milliseconds. Each
resource adds its routes and state (``instances.py``, ``service_keys.py``,
``credentials.py``); this core dispatches requests to them, paginates lists
as the emulator does (``X-Pagination-Size``, 3 items by default, at most 100;
cursors are offsets, so a list that loses an item while it is read shifts
one out of sight), records every request (so a test can assert that check
mode sent no mutating one), and can lose a write's answer, after applying it
or before it arrives, as a dropped connection would. Time only passes when
the code under test sleeps (``api.sleeps``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import re

from ansible_collections.ovhcloud.kms.plugins.module_utils.http_transport import RetryPolicy, collect_pages
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
)

MUTATING_METHODS = ("POST", "PUT", "DELETE", "PATCH")
# The emulator's page sizes (--page-size, --max-page-size).
DEFAULT_PAGE_SIZE = 3
MAX_PAGE_SIZE = 100


def not_found(method, path, what="object"):
    return OvhApiError("%s not found" % what, status=404, error_class="Client::NotFound", method=method, path=path)


def bad_request(method, path, message, error_class="Client::BadRequest"):
    return OvhApiError(message, status=400, error_class=error_class, method=method, path=path)


def path_regex(pattern, capture=False):
    """``/v2/okms/resource/{okms_id}`` as a regex (with named groups when ``capture``)."""
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)" if capture else r"[^/]+", pattern) + "$")


class Request:
    def __init__(self, method, path, params, body, headers=None):
        self.method = method
        self.path = path
        self.params = params or {}
        self.body = body
        self.headers = headers or {}

    @property
    def mutating(self):
        return self.method in MUTATING_METHODS

    def __repr__(self):
        return "%s %s" % (self.method, self.path)


class LostAnswers:
    """Which writes lose their answer: ``times`` matching ones, after applying them or before they arrive."""

    def __init__(self, method, pattern, times, before_applying):
        self.method = method
        self.regex = path_regex(pattern)
        self.times = times
        self.before_applying = before_applying

    def take(self, request):
        """``None`` (answered), ``"before"`` or ``"after"`` applying."""
        if self.times > 0 and self.method == request.method and self.regex.match(request.path):
            self.times -= 1
            return "before" if self.before_applying else "after"
        return None


class RandomLosses:
    """Loses the answer of a share of the mutating requests, half before applying them; seeded, so repeatable."""

    def __init__(self, rate, seed):
        self.rate = rate
        self.random = random.Random(seed)
        self.lost = {"before": 0, "after": 0}

    def take(self, request):
        if not request.mutating or self.random.random() >= self.rate:
            return None
        when = "before" if self.random.random() < 0.5 else "after"
        self.lost[when] += 1
        return when


class FakeOkmsApi:
    """Routes ``(method, path)`` to handlers ``handler(request, **path_params)``; the client interface of OvhApiClient."""

    def __init__(self):
        self._routes = []
        self.requests = []
        self._losses = []
        # The largest page the fake serves (a server may honour less than it is asked), and
        # ``hook(request, items_served)`` called after each page of a list is served.
        self.max_page_size = MAX_PAGE_SIZE
        self.page_hooks = []
        self.sleeps = []
        self._now = 1000.0
        # Repeated writes are bounded like the real client's, on a clock that moves only when it sleeps.
        self.retry_policy = RetryPolicy(sleep=self._sleep, clock=lambda: self._now, rand=lambda: 0.5)

    # -- building the fake -----------------------------------------------------------

    def route(self, method, pattern, handler, first=False):
        """``pattern`` is a path with ``{name}`` segments, e.g. ``/v2/okms/resource/{okms_id}``.

        ``first`` puts it before the routes already there: a test overrides one that way.
        """
        entry = (method, path_regex(pattern, capture=True), handler)
        if first:
            self._routes.insert(0, entry)
        else:
            self._routes.append(entry)

    def lose_answer(self, method, pattern, times=1, before_applying=False):
        """The next ``times`` matching writes lose their answer: applied first, or never arrived."""
        self._losses.append(LostAnswers(method, pattern, times, before_applying))

    def lose_at_random(self, rate, seed):
        """From now on, lose the answer of ``rate`` of the writes (half of them before applying); returns the tally."""
        losses = RandomLosses(rate, seed)
        self._losses.append(losses)
        return losses

    # -- what tests read ---------------------------------------------------------------

    def mutations(self):
        """The mutating requests received (failed ones included), in order."""
        return [request for request in self.requests if request.mutating]

    def calls(self, method=None, pattern=None):
        regex = path_regex(pattern) if pattern else None
        return [request for request in self.requests
                if (method is None or request.method == method) and (regex is None or regex.match(request.path))]

    # -- the client interface ------------------------------------------------------------

    def request(self, method, path, params=None, body=None, headers=None):
        request = Request(method, path, params, body, headers)
        self.requests.append(request)
        lost = self._lost(request)
        if lost == "before":
            # The connection broke before the request reached the server: nothing happened.
            raise self._ambiguous(request)
        for route_method, regex, handler in self._routes:
            found = regex.match(path)
            if found and route_method == method:
                result = handler(request, **found.groupdict())
                if lost == "after":
                    raise self._ambiguous(request)
                return result
        raise not_found(method, path, "path")

    def _lost(self, request):
        for losses in self._losses:
            when = losses.take(request)
            if when:
                return when
        return None

    @staticmethod
    def _ambiguous(request):
        return OvhAmbiguousRequestError("the request may or may not have been applied (connection reset)",
                                        method=request.method, path=request.path)

    def _sleep(self, seconds):
        self.sleeps.append(seconds)
        self._now += seconds

    def get(self, path, params=None):
        return self.request("GET", path, params=params)

    def post(self, path, body=None, params=None):
        return self.request("POST", path, params=params, body=body)

    def put(self, path, body=None, params=None):
        return self.request("PUT", path, params=params, body=body)

    def delete(self, path, params=None):
        return self.request("DELETE", path, params=params)

    def get_all(self, path, params=None, page_size=None):
        """Every page of a list route, as OvhApiClient.get_all reads them (offset cursors, like the emulator's)."""

        def fetch_page(cursor):
            headers = {"X-Pagination-Size": str(page_size)} if page_size else {}
            if cursor:
                headers["X-Pagination-Cursor"] = cursor
            request_count = len(self.requests)
            items = self.request("GET", path, params=params, headers=headers)
            if not isinstance(items, list):
                raise AssertionError("%s is not a list route" % path)
            size = min(page_size or DEFAULT_PAGE_SIZE, self.max_page_size)
            offset = int(cursor or 0)
            page = items[offset:offset + size]
            for hook in self.page_hooks:
                hook(self.requests[request_count], page)
            return list(page), str(offset + size) if offset + size < len(items) else None

        return collect_pages(fetch_page, path=path)
