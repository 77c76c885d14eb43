"""Client for the OVHcloud API (control plane and v1), shared by every module of the collection.

One instance per module run, over one HttpTransport (one session, retries,
ambiguity rules): URL building, application-key signature or OAuth2
authentication (a server-time lookup only when a timestamp is refused; one token per run),
cursor pagination of v2 lists, the OVHcloud error body, and the server's clock as its answers tell it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from urllib.parse import urlencode
except ImportError:  # pragma: no cover
    from urllib import urlencode  # type: ignore

from ansible_collections.ovhcloud.kms.plugins.module_utils.http_transport import (
    LIST_PAGE_SIZE,
    ApiResponse,
    HttpTransport,
    collect_pages,
    contacted_url,
    encode_request,
    error_body,
    json_or_none,
    refuse_plain_http,
    tls_verify,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_auth import (
    ApplicationKeyAuth,
    OAuth2ClientCredentialsAuth,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_config import (
    build_url,
    default_token_urls,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError

# The option to check when the API refuses application-key credentials, by errorCode.
APPLICATION_KEY_REFUSALS = {
    "INVALID_KEY": ("application_key", "the API does not know this application key"),
    "INVALID_SIGNATURE": ("application_secret", "the request's signature is made with it and did not match"),
    "INVALID_CREDENTIAL": ("consumer_key", "the API knows no such consumer key for this application key"),
    "NOT_CREDENTIAL": ("consumer_key", "no consumer key was sent"),
}


def error_from_response(method, path, response):
    """Build an OvhApiError from an error response (v2 ``class`` or v1/auth ``errorCode`` bodies)."""
    body = error_body(response)
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
                 retry_policy=None, session=None, token_urls=None, caller=None):
        refuse_plain_http(config.base_url, "the API endpoint")
        self.config = config
        self.base_url = config.base_url
        self.transport = HttpTransport(self._error_from_response, verify=tls_verify(validate_certs, ca_path),
                                       timeout=timeout, retry_policy=retry_policy, session=session, caller=caller)
        # The budget that bounds retries also bounds the writes a resource layer repeats.
        self.retry_policy = self.transport.retry
        values = config.values
        if config.auth_method == "application_key":
            self.auth = ApplicationKeyAuth(
                values["application_key"], values["application_secret"], values["consumer_key"],
                self._fetch_server_time)
        else:
            self._token_urls = token_urls or default_token_urls(config.endpoint_name, config.base_url)
            for url in self._token_urls:
                refuse_plain_http(url, "the OAuth2 token URL")
            self.auth = OAuth2ClientCredentialsAuth(values["client_id"], values["client_secret"], self._fetch_token)

    # -- the server's clock ------------------------------------------------

    def server_time(self):
        """The server's current unix time (float) as its answers told it, or None before any answer.

        Learned from each answer's ``Date`` header (to within a second), and from
        ``/auth/time`` when the signature fetched it; never fetched for its own sake.
        """
        return self.transport.server_clock.now()

    def clock_skew(self):
        """Seconds the server's clock is ahead of this machine's (negative: behind), or None when unknown."""
        return self.transport.server_clock.skew

    # -- public API -----------------------------------------------------

    def get(self, path, params=None):
        return self.request("GET", path, params=params).data

    def post(self, path, body=None, params=None):
        return self.request("POST", path, params=params, body=body).data

    def put(self, path, body=None, params=None):
        return self.request("PUT", path, params=params, body=body).data

    def delete(self, path, params=None):
        return self.request("DELETE", path, params=params).data

    def get_all(self, path, params=None, page_size=LIST_PAGE_SIZE):
        """GET a v2 list in pages of ``page_size`` items, following X-Pagination-Cursor-Next to the last page."""

        def fetch_page(cursor):
            headers = {}
            if page_size:
                headers["X-Pagination-Size"] = str(page_size)
            if cursor:
                headers["X-Pagination-Cursor"] = cursor
            response = self.request("GET", path, params=params, headers=headers)
            if not isinstance(response.data, list):
                raise OvhApiError("expected a JSON list, got %s" % type(response.data).__name__,
                                  status=response.status, method="GET", path=path)
            return response.data, response.headers.get("X-Pagination-Cursor-Next")

        return collect_pages(fetch_page, path=path)

    def request(self, method, path, params=None, body=None, headers=None):
        url, data, request_headers = encode_request(build_url(self.base_url, path), params, body)
        request_headers.update(headers or {})
        response = self.transport.send(method, url, path, data, request_headers, auth=self.auth)
        return ApiResponse(response.status_code, response.headers, json_or_none(response))

    # -- what the auth strategies fetch -------------------------------------

    def _error_from_response(self, method, path, response):
        """The OVHcloud error, naming the option to check when application-key credentials are refused."""
        error = error_from_response(method, path, response)
        refusal = APPLICATION_KEY_REFUSALS.get(error.error_code)
        if refusal and self.config.auth_method == "application_key":
            field, why = refusal
            where = self.config.sources.get(field)
            error.message = "%s: check %s%s, %s" % (
                error.message, field, " (from %s)" % where if where else "", why)
        return error

    def _fetch_server_time(self):
        url = build_url(self.base_url, "/auth/time")
        response = self.transport.send("GET", url, "/auth/time", headers={"Accept": "application/json"})
        server_time = int(response.text.strip())
        # The time the signature relies on: it wins over the Date header of the same answer.
        self.transport.server_clock.observe(server_time)
        return server_time

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
            data = json_or_none(response)
            if not isinstance(data, dict) or not data.get("access_token"):
                raise OvhApiError("the OAuth2 token endpoint returned no access_token", method="POST",
                                  path=contacted_url(url))
            return data
        raise last_error

    def _send_token_request(self, url, form, headers):
        try:
            # Token requests change nothing on the server, so they are retried like a GET.
            return self.transport.send("POST", url, contacted_url(url), form, headers, idempotent=True)
        except OvhApiError as exc:
            if exc.status in (400, 401):
                exc.message = "OAuth2 authentication refused for client_id (%s)" % exc.message
            raise
