# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stateful, in-memory stand-in for the OVHcloud API client (``OvhApiClient``).

Reconciler tests run a module's ``main()`` against it in milliseconds. Each
resource adds its routes and state (``instances.py``, ``service_keys.py``,
``credentials.py``); this core dispatches requests to them, paginates lists,
records every request (so a test can assert that check mode sent no mutating
one), and can lose the answer of a write after applying it, as a dropped
connection would.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
)

MUTATING_METHODS = ("POST", "PUT", "DELETE", "PATCH")


def not_found(method, path, what="object"):
    return OvhApiError("%s not found" % what, status=404, error_class="Client::NotFound", method=method, path=path)


def bad_request(method, path, message, error_class="Client::BadRequest"):
    return OvhApiError(message, status=400, error_class=error_class, method=method, path=path)


class Request:
    def __init__(self, method, path, params, body):
        self.method = method
        self.path = path
        self.params = params or {}
        self.body = body

    @property
    def mutating(self):
        return self.method in MUTATING_METHODS

    def __repr__(self):
        return "%s %s" % (self.method, self.path)


class FakeOkmsApi:
    """Routes ``(method, path)`` to handlers ``handler(request, **path_params)``; the client interface of OvhApiClient."""

    def __init__(self):
        self._routes = []
        self.requests = []
        self._lost_answers = []

    # -- building the fake -----------------------------------------------------------

    def route(self, method, pattern, handler):
        """``pattern`` is a path with ``{name}`` segments, e.g. ``/v2/okms/resource/{okms_id}``."""
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        self._routes.append((method, regex, handler))

    def lose_answer(self, method, pattern, times=1):
        """The next ``times`` matching writes are applied, then answered with a lost connection."""
        self._lost_answers.append([method, re.compile("^" + re.sub(r"\{(\w+)\}", r"[^/]+", pattern) + "$"), times])

    # -- what tests read ---------------------------------------------------------------

    def mutations(self):
        """The mutating requests received (failed ones included), in order."""
        return [request for request in self.requests if request.mutating]

    def calls(self, method=None, pattern=None):
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"[^/]+", pattern) + "$") if pattern else None
        return [request for request in self.requests
                if (method is None or request.method == method) and (regex is None or regex.match(request.path))]

    # -- the client interface ------------------------------------------------------------

    def request(self, method, path, params=None, body=None):
        request = Request(method, path, params, body)
        self.requests.append(request)
        for route_method, regex, handler in self._routes:
            found = regex.match(path)
            if found and route_method == method:
                result = handler(request, **found.groupdict())
                self._maybe_lose_answer(method, path)
                return result
        raise not_found(method, path, "path")

    def _maybe_lose_answer(self, method, path):
        for lost in self._lost_answers:
            if lost[0] == method and lost[1].match(path) and lost[2] > 0:
                lost[2] -= 1
                raise OvhAmbiguousRequestError("the request may or may not have been applied (connection reset)",
                                               method=method, path=path)

    def get(self, path, params=None):
        return self.request("GET", path, params=params)

    def post(self, path, body=None, params=None):
        return self.request("POST", path, params=params, body=body)

    def put(self, path, body=None, params=None):
        return self.request("PUT", path, params=params, body=body)

    def delete(self, path, params=None):
        return self.request("DELETE", path, params=params)

    def get_all(self, path, params=None, page_size=None):
        items = self.request("GET", path, params=params)
        if not isinstance(items, list):
            raise AssertionError("%s is not a list route" % path)
        return list(items)
