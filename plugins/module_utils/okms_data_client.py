# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Client for a KMS's own REST API (the data plane: ``/api/{okmsId}/...``).

It shares the OVHcloud API client's transport (session, retries, ambiguity
rules, TLS) and authenticates with an access certificate (mutual TLS) or a
bearer token. Error bodies are ``{error_code, error_id, errors, request_id}``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote  # type: ignore

from ansible_collections.ovhcloud.kms.plugins.module_utils.http_transport import (
    ApiResponse,
    HttpTransport,
    collect_pages,
    encode_request,
    error_body,
    json_or_none,
    tls_verify,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_config import check_certificate_dates
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_instance_api import InstanceApi
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_auth import BearerTokenAuth
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import KmsApiError, OvhConfigurationError


def kms_error_from_response(method, path, response):
    """Build a KmsApiError from a data-plane error answer (one readable line)."""
    body = error_body(response)
    error_code = error_id = request_id = None
    messages = []
    if isinstance(body, dict):
        error_code = body.get("error_code")
        error_id = body.get("error_id")
        request_id = body.get("request_id")
        messages = [str(message) for message in body.get("errors") or [] if message]
    message = "; ".join(messages) or response.reason or "HTTP error"
    return KmsApiError(message, status=response.status_code, error_code=error_code, error_id=error_id,
                       query_id=request_id, method=method, path=path)


class KmsDataClient:
    """Client for one KMS's REST API, as one identity (a certificate or a token)."""

    def __init__(self, endpoint, okms_id, client_cert=None, client_key=None, token=None, ca_path=None,
                 validate_certs=True, timeout=30, retry_policy=None, session=None, auth=None, caller=None):
        if not endpoint or not endpoint.startswith("https://"):
            raise OvhConfigurationError("the KMS REST endpoint must be an https:// URL, got %r" % (endpoint,))
        if bool(client_cert) != bool(client_key):
            raise OvhConfigurationError("client_cert and client_key go together (mutual TLS)")
        if [bool(client_cert), bool(token), auth is not None].count(True) != 1:
            raise OvhConfigurationError("authenticate to the KMS REST API with either client_cert and client_key "
                                        "(mutual TLS) or token, not both and not neither")
        self.endpoint = endpoint.rstrip("/")
        self.okms_id = okms_id
        # ``auth``: a strategy renewing its own bearer token (OAuth2 client credentials).
        self.auth = BearerTokenAuth(token) if token else auth
        self.transport = HttpTransport(kms_error_from_response, verify=tls_verify(validate_certs, ca_path),
                                       client_cert=(client_cert, client_key) if client_cert else None,
                                       timeout=timeout, retry_policy=retry_policy, session=session, caller=caller)

    def url(self, path):
        """The full URL of an API path such as ``/v1/servicekey``."""
        return "%s/api/%s%s" % (self.endpoint, quote(self.okms_id, safe=""), path)

    def request(self, method, path, body=None, params=None):
        url, data, headers = encode_request(self.url(path), params, body)
        response = self.transport.send(method, url, path, data, headers, auth=self.auth)
        return ApiResponse(response.status_code, response.headers, json_or_none(response))

    def get(self, path, params=None):
        return self.request("GET", path, params=params).data

    def post(self, path, body=None, params=None):
        return self.request("POST", path, body=body, params=params).data

    def patch(self, path, body=None):
        return self.request("PATCH", path, body=body).data

    def delete(self, path):
        return self.request("DELETE", path).data

    def list_all(self, path, items_field, params=None, page_size=100):
        """Every item of a list paginated with ``continuation_token`` / ``is_truncated``."""

        def fetch_page(token):
            query = dict(params or {}, max=page_size)
            if token:
                query["continuation-token"] = token
            answer = self.get(path, params=query) or {}
            items = answer.get(items_field) or []
            next_token = answer.get("continuation_token") if answer.get("is_truncated") else None
            return items, next_token

        return collect_pages(fetch_page, path=path)


def build_data_client(settings, control_client_factory, validate_certs=True, timeout=30, caller=None):
    """The KmsDataClient for resolved DataPlaneSettings.

    ``control_client_factory()`` returns the OVHcloud API client; it is called
    only for an OAuth2 identity (its token strategy, with its token URL,
    serves both planes) or to read the REST endpoint of the KMS when no
    option or configuration file gave it.
    """
    if settings.auth == "mtls":
        check_certificate_dates(settings.client_cert)
    control = None
    endpoint = settings.rest_endpoint
    if settings.auth == "oauth2" or not endpoint:
        control = control_client_factory()
    if settings.auth == "oauth2" and getattr(control.auth, "name", None) != "oauth2":
        raise OvhConfigurationError("the KMS REST API takes a certificate or a token: the OVHcloud API credentials "
                                    "found are application-key ones; give client_id and client_secret, "
                                    "config_file, client_cert and client_key, or token")
    if not endpoint:
        found = InstanceApi(control).get(settings.okms_id, public_ca=False)
        if found is None:
            raise OvhConfigurationError("KMS %s does not exist (check %s), so its REST endpoint is unknown"
                                        % (settings.okms_id, settings.describe("okms_id")))
        endpoint = found.get("restEndpoint")
    return KmsDataClient(endpoint, settings.okms_id, client_cert=settings.client_cert,
                         client_key=settings.client_key, token=settings.token, ca_path=settings.ca_path,
                         validate_certs=validate_certs, timeout=timeout, caller=caller,
                         auth=control.auth if settings.auth == "oauth2" else None)
