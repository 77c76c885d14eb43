# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""HTTP client for the OVHcloud API, shared by every module of the collection.

One instance per module run: one ``requests`` session (connection reuse), one
server-time lookup or OAuth2 token, retries with jittered exponential backoff,
cursor pagination, and one exception type for every failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import email.utils
import json
import os
import random
import tempfile
import time
import traceback

try:
    from urllib.parse import urlencode, urlsplit
except ImportError:  # pragma: no cover
    from urllib import urlencode  # type: ignore
    from urlparse import urlsplit  # type: ignore

try:
    import requests
    from requests import exceptions as requests_exceptions
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_auth import (
    ApplicationKeyAuth,
    OAuth2ClientCredentialsAuth,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_config import (
    build_url,
    default_token_urls,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
)

COLLECTION_VERSION = "0.1.0"
USER_AGENT = "ansible-collection-ovhcloud.kms/%s" % COLLECTION_VERSION

IDEMPOTENT_METHODS = frozenset(["GET", "HEAD", "OPTIONS"])
RETRIABLE_STATUSES = frozenset([429, 500, 502, 503, 504])


class RetryPolicy:
    """How often and how long to retry; clock, sleep and randomness are injectable for tests."""

    def __init__(self, max_attempts=5, base_delay=0.5, max_delay=10.0, max_total=60.0,
                 sleep=time.sleep, clock=time.monotonic, rand=random.random):
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_total = max_total
        self.sleep = sleep
        self.clock = clock
        self.rand = rand

    def backoff_delay(self, attempt, retry_after=None):
        """Delay before attempt ``attempt + 1``: the server's Retry-After wins, else jittered exponential."""
        if retry_after is not None:
            return min(retry_after, self.max_total)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        # "Equal jitter": at least half the ceiling, so retries never hammer the API.
        return ceiling / 2.0 + self.rand() * ceiling / 2.0


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


class ApiResponse:
    def __init__(self, status, headers, data):
        self.status = status
        self.headers = headers
        self.data = data


def _never_reached_server(exc):
    """True when a transport error happened before any byte of the request was sent."""
    if isinstance(exc, requests_exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests_exceptions.SSLError):
        return True
    if isinstance(exc, requests_exceptions.ConnectionError):
        # urllib3 wraps a failed connect() (refused, unreachable, DNS) in
        # NewConnectionError/NameResolutionError; anything else (reset,
        # remote disconnect) may have happened after the request was sent.
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)
        name = type(reason).__name__
        return name in ("NewConnectionError", "NameResolutionError", "ConnectTimeoutError")
    return False


def _combined_ca_bundle(ca_path):
    """The bundle requests would use (honouring REQUESTS_CA_BUNDLE) plus the user's extra CA, in a temp file."""
    default_path = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or requests.certs.where()
    with open(default_path, "rb") as handle:
        default = handle.read()
    with open(ca_path, "rb") as handle:
        extra = handle.read()
    fd, path = tempfile.mkstemp(prefix="ovhcloud-kms-ca-", suffix=".pem")
    with os.fdopen(fd, "wb") as handle:
        handle.write(default + b"\n" + extra + b"\n")
    atexit.register(lambda: os.path.exists(path) and os.unlink(path))
    return path


def error_from_response(method, path, response):
    """Build an OvhApiError from an error response (v2 ``class`` or v1/auth ``errorCode`` bodies)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error_class = error_code = message = details = None
    if isinstance(body, dict):
        error_code = body.get("errorCode") or body.get("error")
        error_class = body.get("class") or error_code
        message = body.get("message") or body.get("error_description")
        details = body.get("details")
    if not message:
        message = response.reason or "HTTP error"
    return OvhApiError(
        message, status=response.status_code, error_class=error_class,
        query_id=response.headers.get("X-Ovh-QueryID"), method=method, path=path, details=details,
        error_code=error_code)


class OvhApiClient:
    """Client for one endpoint and one set of credentials."""

    def __init__(self, config, validate_certs=True, ca_path=None, timeout=30,
                 retry_policy=None, session=None, token_urls=None):
        if not HAS_REQUESTS:
            raise OvhApiError("The Python library 'requests' is required: %s" % REQUESTS_IMPORT_ERROR)
        self.base_url = config.base_url
        self.timeout = timeout
        self.retry = retry_policy or RetryPolicy()
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        # Passed with each request: a session-level setting would lose to REQUESTS_CA_BUNDLE.
        self.verify = True
        if not validate_certs:
            self.verify = False
        elif ca_path:
            self.verify = _combined_ca_bundle(ca_path)
        values = config.values
        if config.auth_method == "application_key":
            self.auth = ApplicationKeyAuth(
                values["application_key"], values["application_secret"], values["consumer_key"],
                self._fetch_server_time)
        else:
            self._token_urls = token_urls or default_token_urls(config.endpoint_name, config.base_url)
            self.auth = OAuth2ClientCredentialsAuth(values["client_id"], values["client_secret"], self._fetch_token)
        self.request_count = 0

    # -- public API -----------------------------------------------------

    def get(self, path, params=None):
        return self.request("GET", path, params=params).data

    def post(self, path, body=None, params=None):
        return self.request("POST", path, params=params, body=body).data

    def put(self, path, body=None, params=None):
        return self.request("PUT", path, params=params, body=body).data

    def delete(self, path, params=None):
        return self.request("DELETE", path, params=params).data

    def get_all(self, path, params=None, page_size=None):
        """GET a v2 list, following X-Pagination-Cursor-Next to the last page."""
        items = []
        cursor = None
        seen = set()
        while True:
            headers = {}
            if page_size:
                headers["X-Pagination-Size"] = str(page_size)
            if cursor:
                headers["X-Pagination-Cursor"] = cursor
            response = self.request("GET", path, params=params, headers=headers)
            if not isinstance(response.data, list):
                raise OvhApiError("expected a JSON list, got %s" % type(response.data).__name__,
                                  status=response.status, method="GET", path=path)
            items.extend(response.data)
            cursor = response.headers.get("X-Pagination-Cursor-Next")
            if not cursor:
                return items
            if cursor in seen:
                raise OvhApiError("the API returned the same pagination cursor twice", method="GET", path=path)
            seen.add(cursor)

    def request(self, method, path, params=None, body=None, headers=None):
        url = build_url(self.base_url, path)
        if params:
            query = urlencode([(k, v) for k, v in sorted(params.items()) if v is not None], doseq=True)
            if query:
                url += ("&" if "?" in url else "?") + query
        data = None
        request_headers = {"Accept": "application/json"}
        if body is not None:
            # The signature covers these exact bytes, serialised as python-ovh does.
            data = json.dumps(body, separators=(",", ":")).encode("utf-8")
            request_headers["Content-Type"] = "application/json"
        request_headers.update(headers or {})
        response = self._send(method, url, path, data, request_headers, authenticate=True)
        return ApiResponse(response.status_code, response.headers, _json_or_none(response))

    # -- transport --------------------------------------------------------

    def _send(self, method, url, path, data, headers, authenticate, idempotent=None):
        """Send with retries; return a 2xx response or raise OvhApiError."""
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        started = self.retry.clock()
        attempt = 0
        reauthenticated = False
        while True:
            attempt += 1
            all_headers = dict(headers)
            if authenticate:
                all_headers.update(self.auth.headers(method, url, data))
            self.request_count += 1
            try:
                response = self.session.request(method, url, data=data, headers=all_headers, timeout=self.timeout,
                                                verify=self.verify)
            except requests_exceptions.RequestException as exc:
                never_sent = _never_reached_server(exc)
                reason = _transport_reason(exc)
                if isinstance(exc, requests_exceptions.SSLError):
                    raise OvhApiError("TLS error talking to %s: %s (check validate_certs and ca_path)"
                                      % (_contacted_url(url), reason), method=method, path=path)
                if (idempotent or never_sent) and self._may_retry(attempt, started, None):
                    continue
                if not idempotent and not never_sent:
                    raise OvhAmbiguousRequestError(
                        "the request may or may not have been applied (%s); re-read the resource "
                        "before trying again" % reason, method=method, path=path)
                raise OvhApiError("cannot reach %s: %s" % (_contacted_url(url), reason), method=method, path=path)

            if 200 <= response.status_code < 300:
                return response

            error = error_from_response(method, path, response)
            if authenticate and not reauthenticated and _is_stale_auth(self.auth, error):
                # A dead token or a drifted clock: fetch a fresh one once, then retry.
                reauthenticated = True
                self.auth.invalidate()
                continue
            if response.status_code in RETRIABLE_STATUSES:
                # A 429 is refused before processing, so even a POST is safe to repeat.
                safe = idempotent or response.status_code == 429
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if safe and self._may_retry(attempt, started, retry_after):
                    continue
                if not safe:
                    raise OvhAmbiguousRequestError(
                        "the server answered HTTP %s: the request may or may not have been applied; "
                        "re-read the resource before trying again (%s)" % (response.status_code, error.message),
                        status=response.status_code, error_class=error.error_class,
                        query_id=error.query_id, method=method, path=path, details=error.details,
                        error_code=error.error_code)
            raise error

    def _may_retry(self, attempt, started, retry_after):
        """Sleep before another attempt if count and total-time budgets allow it."""
        if attempt >= self.retry.max_attempts:
            return False
        delay = self.retry.backoff_delay(attempt, retry_after)
        if self.retry.clock() - started + delay > self.retry.max_total:
            return False
        self.retry.sleep(delay)
        return True

    def _fetch_server_time(self):
        url = build_url(self.base_url, "/auth/time")
        response = self._send("GET", url, "/auth/time", None, {"Accept": "application/json"}, authenticate=False)
        return int(response.text.strip())

    def _fetch_token(self, client_id, client_secret):
        form = urlencode({"grant_type": "client_credentials", "client_id": client_id,
                          "client_secret": client_secret, "scope": "all"}).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        last_error = None
        for url in self._token_urls:
            try:
                response = self._send_token_request(url, form, headers)
            except OvhApiError as exc:
                last_error = exc
                if exc.status in (None, 404):
                    continue
                raise
            data = _json_or_none(response)
            if not isinstance(data, dict) or not data.get("access_token"):
                raise OvhApiError("the OAuth2 token endpoint returned no access_token", method="POST",
                                  path=_contacted_url(url))
            return data
        raise last_error

    def _send_token_request(self, url, form, headers):
        try:
            # Token requests change nothing on the server, so they are retried like a GET.
            return self._send("POST", url, _contacted_url(url), form, headers, authenticate=False, idempotent=True)
        except OvhApiError as exc:
            if exc.status in (400, 401):
                exc.message = "OAuth2 authentication refused for client_id (%s)" % exc.message
            raise


def _json_or_none(response):
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise OvhApiError("the API returned a body that is not JSON (HTTP %s)" % response.status_code)


def _contacted_url(url):
    """The URL a transport error happened on, for messages: scheme, host, port and path only.

    The query string is left out (it is not ours to print) and so are user
    information and fragment; a token request's form body is never part of it.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = "[%s]" % host
    try:
        port = parts.port
    except ValueError:
        port = None
    if port:
        host += ":%d" % port
    return "%s://%s%s" % (parts.scheme, host, parts.path)


def _transport_reason(exc):
    reason = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", reason)
    return "%s: %s" % (type(reason).__name__, reason)


def _is_stale_auth(auth, error):
    if auth.name == "oauth2":
        return error.status == 401
    return error.status == 400 and error.error_code == "QUERY_TIME_OUT"
