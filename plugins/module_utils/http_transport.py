# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""HTTP transport shared by the collection's API clients.

One ``requests`` session per client (connection reuse), TLS verification and an
optional client certificate, retries with jittered exponential backoff, the
rules that keep a mutating request from being sent twice, cursor pagination,
and one exception type for every failure. What differs between APIs (how a
request is authenticated, how an error body reads) is injected.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import errno
import json
import os
import random
import ssl
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
    from requests.adapters import HTTPAdapter
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    HTTPAdapter = object
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.version import user_agent

IDEMPOTENT_METHODS = frozenset(["GET", "HEAD", "OPTIONS"])
RETRIABLE_STATUSES = frozenset([429, 500, 502, 503, 504])
# Items per page asked of every paginated list: the fewer pages, the less a list
# that changes while it is read can shift an item out of sight.
LIST_PAGE_SIZE = 100


class RetryPolicy:
    """How often and how long to retry; clock, sleep and randomness are injectable for tests.

    Eight attempts: when one request in five fails (an overloaded API or proxy), a request still fails only
    about three times in a million (with five attempts, three in ten thousand: one role run in a few would
    not converge); a write proved not applied is repeated within the same budget. The waits between them add
    up to 36 s at most, and ``max_total`` bounds the whole when the API is down for good.
    """

    def __init__(self, max_attempts=8, base_delay=0.5, max_delay=10.0, max_total=60.0,
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


def parse_http_date(value):
    """Unix time of an HTTP date (the ``Date`` header), None when absent or unreadable."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return when.timestamp()


def wall_clock_now():
    """This machine's unix time (looked up at each call, so that tests can set the clock)."""
    return time.time()


def utc_text(timestamp):
    """``2026-01-31T12:00:00Z`` for a unix time, as messages show times."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


class ServerClock:
    """The server's clock as seen from this machine: ``server - local`` from the last observation.

    Fed with every answer's ``Date`` header (one-second resolution) and, when
    the signature needs it, the exact time of ``/auth/time``.
    """

    def __init__(self, wall_clock=wall_clock_now):
        self.wall_clock = wall_clock
        self.skew = None

    def observe(self, server_time, local_time=None):
        self.skew = float(server_time) - (self.wall_clock() if local_time is None else local_time)

    def observe_date_header(self, value):
        server_time = parse_http_date(value)
        if server_time is not None:
            self.observe(server_time)

    def now(self):
        """The server's current unix time, None until an answer said it."""
        return None if self.skew is None else self.wall_clock() + self.skew


class ApiResponse:
    def __init__(self, status, headers, data):
        self.status = status
        self.headers = headers
        self.data = data


def encode_request(url, params=None, body=None):
    """``(url, data, headers)`` of a JSON request: the query string sorted, the body as compact JSON bytes.

    The OVHcloud signature covers the exact URL and body bytes, serialised as
    python-ovh does (sorted query, ``separators=(",", ":")``).
    """
    if params:
        query = urlencode([(k, v) for k, v in sorted(params.items()) if v is not None], doseq=True)
        if query:
            url += ("&" if "?" in url else "?") + query
    data = None
    headers = {"Accept": "application/json"}
    if body is not None:
        data = json.dumps(body, separators=(",", ":")).encode("utf-8")
        headers["Content-Type"] = "application/json"
    return url, data, headers


def error_body(response):
    """The decoded JSON of an error answer, or None when it has none (error parsers read it)."""
    try:
        return response.json()
    except ValueError:
        return None


def json_or_none(response):
    """The response's JSON body, None when it has none; a body that is not JSON is an error."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise OvhApiError("the API returned a body that is not JSON (HTTP %s)" % response.status_code)


def contacted_url(url):
    """The URL a request went to, for messages: scheme, host, port and path only.

    The query string is left out (it is not ours to print) and so are user
    information and fragment; a request body is never part of it.
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


def tls_verify(validate_certs, ca_path):
    """What the transport verifies with: False, True (default trust), or an ExtraCaTrust adding ``ca_path``.

    Raises OSError (naming the file) when ``ca_path`` cannot be read or holds no certificate.
    """
    if not validate_certs:
        return False
    if ca_path:
        return ExtraCaTrust(ca_path)
    return True


def default_ca_bundle():
    """The bundle requests trusts by default: REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE, else certifi's."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or requests.certs.where()


class ExtraCaTrust:
    """The default trust plus the CA certificates of ``ca_path``, in memory (no file is written).

    ``context`` is an ``ssl.SSLContext`` loaded with the default bundle (as
    requests would pick it) and the extra certificates; the transport mounts it
    on its session for every https:// request.
    """

    def __init__(self, ca_path, default_bundle=None):
        self.ca_path = ca_path
        self.default_bundle = default_bundle or default_ca_bundle()
        with open(ca_path, "rb") as handle:
            extra = handle.read().decode("ascii", "replace")
        if os.path.isdir(self.default_bundle):
            self.context = ssl.create_default_context(capath=self.default_bundle)
        else:
            self.context = ssl.create_default_context(cafile=self.default_bundle)
        try:
            self.context.load_verify_locations(cadata=extra)
        except (ssl.SSLError, ValueError):
            raise OSError(errno.EINVAL, "it holds no PEM certificate that can be read", ca_path)


class ExtraCaAdapter(HTTPAdapter):
    """A requests adapter whose connections verify with an ExtraCaTrust's SSL context."""

    def __init__(self, context, **kwargs):
        self.ssl_context = context
        super(ExtraCaAdapter, self).__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["ssl_context"] = self.ssl_context
        return super(ExtraCaAdapter, self).init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        proxy_kwargs["ssl_context"] = self.ssl_context
        return super(ExtraCaAdapter, self).proxy_manager_for(proxy, **proxy_kwargs)


def never_reached_server(exc):
    """True when a transport error happened before any byte of the request was sent."""
    if isinstance(exc, (requests_exceptions.ConnectTimeout, requests_exceptions.SSLError)):
        return True
    if isinstance(exc, requests_exceptions.ConnectionError):
        # urllib3 wraps a failed connect() (refused, unreachable, DNS) in
        # NewConnectionError/NameResolutionError; anything else (reset,
        # remote disconnect) may have happened after the request was sent.
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)
        return type(reason).__name__ in ("NewConnectionError", "NameResolutionError", "ConnectTimeoutError")
    return False


def transport_reason(exc):
    reason = exc.args[0] if exc.args else exc
    reason = getattr(reason, "reason", reason)
    return "%s: %s" % (type(reason).__name__, reason)


def collect_pages(fetch_page, method="GET", path=None):
    """Every item of a paginated list.

    ``fetch_page(cursor)`` returns ``(items, next_cursor)`` for a cursor (None for
    the first page); the last page has no next cursor. A cursor seen twice means
    the server loops, and is an error rather than an endless run.
    """
    items = []
    cursor = None
    seen = set()
    while True:
        page, cursor = fetch_page(cursor)
        items.extend(page)
        if not cursor:
            return items
        if cursor in seen:
            raise OvhApiError("the API returned the same pagination cursor twice", method=method, path=path)
        seen.add(cursor)


def tls_failure_message(url, exc, server_clock, client_cert=False):
    """What to say about a TLS failure: a certificate outside its validity dates usually means a wrong clock."""
    reason = transport_reason(exc)
    text = str(exc).lower()
    clock = server_clock.wall_clock()
    server_now = server_clock.now()
    times = "this machine's time is %s; the server's is %s" % (
        utc_text(clock), utc_text(server_now) if server_now is not None else "not known yet")
    if "certificate is not yet valid" in text:
        return ("TLS error talking to %s: the server's certificate is not yet valid by this machine's clock, which "
                "is likely wrong (behind): %s. Set the clock right (NTP), then run again (%s)"
                % (contacted_url(url), times, reason))
    if "certificate verify failed" in text and "has expired" in text:
        return ("TLS error talking to %s: the server's certificate has expired by this machine's clock, which is "
                "likely wrong (ahead): %s. Set the clock right (NTP), then run again; if the clock is right, the "
                "server's certificate really has expired (%s)" % (contacted_url(url), times, reason))
    # The server's alert about the client certificate (mutual TLS to a KMS's REST API).
    if "alert certificate expired" in text:
        return ("TLS error talking to %s: the server refused the client certificate: it has expired (or is not yet "
                "valid) by the server's clock. Renew it: the ovhcloud.kms.okms role replaces certificates before "
                "they expire (%s)" % (contacted_url(url), reason))
    if "alert unknown ca" in text or "alert bad certificate" in text or "alert certificate revoked" in text:
        return ("TLS error talking to %s: the server refused the client certificate (not issued by a CA it trusts, "
                "or revoked): check client_cert and client_key (%s)" % (contacted_url(url), reason))
    if client_cert and ("eof occurred" in text or "reset" in text):
        # TLS 1.3 checks the client certificate after the handshake, and its alert is often lost.
        return ("TLS error talking to %s: the server closed the connection during the handshake, as it does when it "
                "refuses the client certificate (not issued by this KMS's CA, or expired): check client_cert and "
                "client_key (%s)" % (contacted_url(url), reason))
    return "TLS error talking to %s: %s (check validate_certs and ca_path)" % (contacted_url(url), reason)


def refuse_plain_http(url, what):
    """Only https:// is accepted: requests carry the consumer key, OAuth2 client secrets and tokens."""
    if urlsplit(url).scheme.lower() != "https":
        raise OvhApiError("%s %s is not an https:// URL: it would send the credentials (consumer key, OAuth2 "
                          "client secret, tokens) in clear, so it is refused" % (what, contacted_url(url)))


class HttpTransport:
    """Sends requests for one API client: retries, ambiguity rules, TLS, authentication hook.

    ``error_parser(method, path, response)`` turns an error response into an
    OvhApiError. An ``auth`` strategy passed to :meth:`send` adds the
    authentication headers of each attempt and, through ``refresh_after(error)``,
    decides whether a refused request is worth one more try with fresh credentials.
    Every answer's ``Date`` header feeds ``server_clock``. Only https:// URLs are sent.
    """

    def __init__(self, error_parser, verify=True, client_cert=None, timeout=30, retry_policy=None, session=None,
                 wall_clock=wall_clock_now, caller=None):
        if not HAS_REQUESTS:
            raise OvhApiError("The Python library 'requests' is required: %s" % REQUESTS_IMPORT_ERROR)
        self.error_parser = error_parser
        self.client_cert = client_cert
        self.timeout = timeout
        self.retry = retry_policy or RetryPolicy()
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent(caller)
        self.server_clock = ServerClock(wall_clock)
        # The extra CA lives in an SSL context mounted on the session; each request
        # still says verify=True, so requests keeps honouring REQUESTS_CA_BUNDLE.
        self.extra_ca = verify if isinstance(verify, ExtraCaTrust) else None
        if self.extra_ca is not None:
            self.session.mount("https://", ExtraCaAdapter(self.extra_ca.context))
            verify = True
        # Passed with each request: a session-level setting would lose to REQUESTS_CA_BUNDLE.
        self.verify = verify

    def send(self, method, url, path, data=None, headers=None, auth=None, idempotent=None):
        """Send with retries; return a 2xx ``requests`` response or raise OvhApiError.

        A request that changes something is repeated only when it surely never
        reached the server (connection refused, TLS failure before sending) or
        was refused with 429; any other failure of such a request raises
        OvhAmbiguousRequestError, so the caller re-reads instead of writing twice.
        """
        refuse_plain_http(url, "the URL")
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        started = self.retry.clock()
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            all_headers = dict(headers or {})
            if auth is not None:
                all_headers.update(auth.headers(method, url, data))
            try:
                response = self.session.request(method, url, data=data, headers=all_headers, timeout=self.timeout,
                                                verify=self.verify, **self._cert_argument())
            except requests_exceptions.RequestException as exc:
                never_sent = never_reached_server(exc)
                reason = transport_reason(exc)
                if isinstance(exc, requests_exceptions.SSLError):
                    raise OvhApiError(tls_failure_message(url, exc, self.server_clock, bool(self.client_cert)),
                                      method=method, path=path)
                if (idempotent or never_sent) and self._may_retry(attempt, started, None):
                    continue
                if not idempotent and not never_sent:
                    raise OvhAmbiguousRequestError(
                        "the request may or may not have been applied (%s); re-read the resource "
                        "before trying again" % reason, method=method, path=path)
                raise OvhApiError("cannot reach %s: %s" % (contacted_url(url), reason), method=method, path=path)

            self.server_clock.observe_date_header(response.headers.get("Date"))
            if 200 <= response.status_code < 300:
                return response

            error = self.error_parser(method, path, response)
            if auth is not None and not refreshed and auth.refresh_after(error):
                # A dead token or a drifted clock: the strategy renews it once, then the request goes again.
                refreshed = True
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

    def _cert_argument(self):
        # Only when set, so scripted sessions in tests need not know the argument.
        return {"cert": self.client_cert} if self.client_cert else {}

    def _may_retry(self, attempt, started, retry_after):
        """Sleep before another attempt if count and total-time budgets allow it."""
        if attempt >= self.retry.max_attempts:
            return False
        delay = self.retry.backoff_delay(attempt, retry_after)
        if self.retry.clock() - started + delay > self.retry.max_total:
            return False
        self.retry.sleep(delay)
        return True
