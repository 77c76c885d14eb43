# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How the collection's API clients authenticate their requests.

Each strategy turns a request (method, full URL, body bytes) into the headers
that authenticate it, and decides itself, from an error answer, whether fresh
credentials are worth one more try (``refresh_after``). Network access (server
time, token endpoint) goes through callables supplied by the API client, so
the strategies stay pure and testable, and share the client's session,
retries and TLS settings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import time


def application_key_signature(application_secret, consumer_key, method, url, body, timestamp):
    """``$1$`` + hex SHA1 of the OVHcloud signature string."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    text = "+".join([application_secret, consumer_key, method.upper(), url, body or "", str(timestamp)])
    return "$1$" + hashlib.sha1(text.encode("utf-8")).hexdigest()


class ApplicationKeyAuth:
    """Signs each request with this machine's clock, corrected by the server's time once it refuses it.

    A controller whose clock is right (NTP) never asks ``/auth/time``: one request less per module
    run. When the API refuses a timestamp (QUERY_TIME_OUT), the server time is fetched once and the
    delta applies to every later request of the client.
    """

    name = "application_key"

    def __init__(self, application_key, application_secret, consumer_key, fetch_server_time, clock=None):
        self.application_key = application_key
        self._application_secret = application_secret
        self._consumer_key = consumer_key
        self._fetch_server_time = fetch_server_time
        self._clock = clock or time.time
        self._delta = 0
        self._synced = False

    def _timestamp(self):
        if self._delta is None:
            self._delta = int(self._fetch_server_time()) - int(self._clock())
            self._synced = True
        return int(self._clock()) + self._delta

    def headers(self, method, url, body):
        timestamp = self._timestamp()
        return {
            "X-Ovh-Application": self.application_key,
            "X-Ovh-Consumer": self._consumer_key,
            "X-Ovh-Timestamp": str(timestamp),
            "X-Ovh-Signature": application_key_signature(
                self._application_secret, self._consumer_key, method, url, body, timestamp),
        }

    def refresh_after(self, error):
        """A QUERY_TIME_OUT answer means this clock is off: fetch the server's time (once) before the next try."""
        if error.status == 400 and error.error_code == "QUERY_TIME_OUT" and not self._synced:
            self._delta = None
            return True
        return False


class OAuth2ClientCredentialsAuth:
    """Bearer token from the client-credentials grant, renewed before it expires."""

    name = "oauth2"
    # Renew this long before the announced expiry (at most a tenth of the
    # lifetime) so a token never dies mid-request.
    RENEW_MARGIN_SECONDS = 60

    def __init__(self, client_id, client_secret, fetch_token, clock=time.time):
        self.client_id = client_id
        self._client_secret = client_secret
        self._fetch_token = fetch_token
        self._clock = clock
        self._token = None
        self._renew_at = 0

    def _valid_token(self):
        if self._token is None or self._clock() >= self._renew_at:
            answer = self._fetch_token(self.client_id, self._client_secret)
            self._token = answer["access_token"]
            lifetime = int(answer.get("expires_in") or 3600)
            self._renew_at = self._clock() + lifetime - min(self.RENEW_MARGIN_SECONDS, lifetime // 10)
        return self._token

    def headers(self, method, url, body):
        return {"Authorization": "Bearer %s" % self._valid_token()}

    def refresh_after(self, error):
        """A 401 means the token is no longer valid: fetch a new one before the next try."""
        if error.status == 401:
            self._token = None
            return True
        return False


class BearerTokenAuth:
    """A token given as is (a personal access token, or one obtained elsewhere); it is never renewed."""

    name = "token"

    def __init__(self, token):
        self._token = token

    def headers(self, method, url, body):
        return {"Authorization": "Bearer %s" % self._token}

    def refresh_after(self, error):
        return False
