# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Where the client's endpoint and credentials come from.

Same sources and order as python-ovh, go-ovh and the Terraform provider, each
field resolved on its own: module option, then environment variable, then the
INI files ``/etc/ovh.conf``, ``~/.ovh.conf``, ``./ovh.conf`` (a later file
wins). The INI files hold ``[default] endpoint=...`` and one section per
endpoint name with the credentials.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

try:
    from configparser import RawConfigParser
except ImportError:  # pragma: no cover - Python 2 is not supported, keeps the import sanity test quiet
    from ConfigParser import RawConfigParser  # type: ignore

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhConfigurationError

ENDPOINTS = {
    "ovh-eu": "https://eu.api.ovh.com/1.0",
    "ovh-ca": "https://ca.api.ovh.com/1.0",
    "ovh-us": "https://api.us.ovhcloud.com/1.0",
}

# The first URL of each list is tried first; ovh-ca has two published
# addresses and it is not known which one is right, so both are tried.
OAUTH2_TOKEN_URLS = {
    "ovh-eu": ["https://www.ovh.com/auth/oauth2/token"],
    "ovh-ca": ["https://ca.ovh.com/auth/oauth2/token", "https://www.ovh.ca/auth/oauth2/token"],
    "ovh-us": ["https://us.ovhcloud.com/auth/oauth2/token"],
}

CONFIG_FILES = ("/etc/ovh.conf", "~/.ovh.conf", "./ovh.conf")

CREDENTIAL_FIELDS = ("application_key", "application_secret", "consumer_key", "client_id", "client_secret")
APPLICATION_KEY_FIELDS = ("application_key", "application_secret", "consumer_key")
OAUTH2_FIELDS = ("client_id", "client_secret")


def env_name(field):
    return "OVH_" + field.upper()


def resolve_endpoint(endpoint):
    """Return ``(name_or_None, base_url)`` for an endpoint name or a full URL."""
    if endpoint in ENDPOINTS:
        return endpoint, ENDPOINTS[endpoint]
    if endpoint.lower().startswith("https://"):
        return None, endpoint.rstrip("/")
    if endpoint.lower().startswith("http://"):
        # Never echo the URL back whole: only its scheme matters here.
        raise OvhConfigurationError(
            "endpoint is an http:// URL: every request carries the consumer key or an OAuth2 token (and the token "
            "request the client secret), which would travel in clear; use the https:// URL")
    raise OvhConfigurationError(
        "endpoint '%s' is neither a known endpoint name (%s) nor a full https:// URL"
        % (endpoint, ", ".join(sorted(ENDPOINTS))))


def build_url(base_url, path):
    """Join a base URL and an API path.

    Paths under ``/v1/`` or ``/v2/`` address the API root, so the ``/1.0``
    suffix of the base is dropped for them; any other path is appended to
    the base as python-ovh does.
    """
    if not path.startswith("/"):
        path = "/" + path
    if path.startswith("/v1/") or path.startswith("/v2/"):
        root = base_url[:-len("/1.0")] if base_url.endswith("/1.0") else base_url
        return root + path
    return base_url + path


def default_token_urls(endpoint_name, base_url):
    """OAuth2 token URLs for an endpoint; a custom URL serves its own at /auth/oauth2/token."""
    if endpoint_name:
        return list(OAUTH2_TOKEN_URLS[endpoint_name])
    scheme, rest = base_url.split("://", 1)
    return ["%s://%s/auth/oauth2/token" % (scheme, rest.split("/", 1)[0])]


class ResolvedConfig:
    """The outcome of resolution: values plus where each one came from."""

    def __init__(self, endpoint_name, base_url, values, sources):
        self.endpoint_name = endpoint_name
        self.base_url = base_url
        self.values = values
        self.sources = sources

    @property
    def auth_method(self):
        if any(self.values.get(f) for f in APPLICATION_KEY_FIELDS):
            return "application_key"
        return "oauth2"

    def describe(self, field):
        return "%s (from %s)" % (field, self.sources[field])


def _read_config_files(paths):
    parser = RawConfigParser()
    read = parser.read([os.path.expanduser(p) for p in paths])
    return parser, read


def _config_get(parser, section, option):
    if parser.has_section(section) and parser.has_option(section, option):
        value = parser.get(section, option).strip()
        return value or None
    return None


def resolve_config(options, environ=None, config_files=None, option_label="module option"):
    """Resolve endpoint and credentials.

    ``options`` maps option names to the caller's values (None when unset);
    ``option_label`` says in messages where those came from ("module option",
    "lookup option or okms_api_* variable"). Raises OvhConfigurationError
    naming every place that was searched when the result is unusable. Error
    messages name fields and sources, never values.
    """
    environ = os.environ if environ is None else environ
    # Read at call time, so that tests (and a caller) can point it elsewhere.
    config_files = CONFIG_FILES if config_files is None else config_files
    parser, _read = _read_config_files(config_files)
    files_text = "files %s" % ", ".join(config_files)

    sources = {}
    endpoint = options.get("endpoint")
    if endpoint:
        sources["endpoint"] = "%s endpoint" % option_label
    elif environ.get("OVH_ENDPOINT"):
        endpoint = environ["OVH_ENDPOINT"]
        sources["endpoint"] = "environment variable OVH_ENDPOINT"
    else:
        endpoint = _config_get(parser, "default", "endpoint")
        if endpoint:
            sources["endpoint"] = "[default] endpoint in %s" % files_text
    if not endpoint:
        raise OvhConfigurationError(
            "No OVHcloud API endpoint configured. Looked in: %s endpoint, "
            "environment variable OVH_ENDPOINT, [default] endpoint in %s. "
            "Set one of ovh-eu, ovh-ca, ovh-us or a full URL." % (option_label, files_text))
    endpoint_name, base_url = resolve_endpoint(endpoint)
    # INI sections are named after the endpoint as the user wrote it.
    section = endpoint

    values = {}
    for field in CREDENTIAL_FIELDS:
        value = options.get(field)
        if value:
            sources[field] = "%s %s" % (option_label, field)
        elif environ.get(env_name(field)):
            value = environ[env_name(field)]
            sources[field] = "environment variable %s" % env_name(field)
        else:
            value = _config_get(parser, section, field)
            if value:
                sources[field] = "[%s] %s in %s" % (section, field, files_text)
        values[field] = value or None

    config = ResolvedConfig(endpoint_name, base_url, values, sources)
    _check_credentials(config, files_text, section, option_label)
    return config


def _check_credentials(config, files_text, section, option_label):
    values = config.values
    has_ak = [f for f in APPLICATION_KEY_FIELDS if values.get(f)]
    has_oauth2 = [f for f in OAUTH2_FIELDS if values.get(f)]
    if has_ak and has_oauth2:
        raise OvhConfigurationError(
            "Both application-key credentials (%s) and OAuth2 credentials (%s) are configured; "
            "use exactly one authentication method."
            % (", ".join(config.describe(f) for f in has_ak),
               ", ".join(config.describe(f) for f in has_oauth2)))
    if not has_ak and not has_oauth2:
        places = ", ".join(
            "%s %s / environment variable %s" % (option_label, f, env_name(f)) for f in CREDENTIAL_FIELDS)
        raise OvhConfigurationError(
            "No OVHcloud API credentials found. Looked in: %s; and section [%s] of %s. "
            "Configure either application_key, application_secret and consumer_key, "
            "or client_id and client_secret." % (places, section, files_text))
    wanted = APPLICATION_KEY_FIELDS if has_ak else OAUTH2_FIELDS
    missing = [f for f in wanted if not values.get(f)]
    if missing:
        raise OvhConfigurationError(
            "Incomplete %s credentials: %s set, but %s missing (looked in %ss, "
            "environment variables %s, and section [%s] of %s)."
            % ("application-key" if has_ak else "OAuth2",
               ", ".join(config.describe(f) for f in (has_ak or has_oauth2)),
               ", ".join(missing), option_label, ", ".join(env_name(f) for f in missing), section, files_text))
