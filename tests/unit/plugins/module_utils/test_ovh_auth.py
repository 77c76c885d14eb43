# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_auth import (
    ApplicationKeyAuth,
    BearerTokenAuth,
    OAuth2ClientCredentialsAuth,
    application_key_signature,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError

URL = "https://eu.api.ovh.com/v2/okms/resource/abc/serviceKey?x=1"
BODY = b'{"name":"k","type":"oct"}'


def test_signature_fixed_vector():
    # Computed once from the documented algorithm; pins the exact byte layout.
    assert application_key_signature(
        "EXEMPLEAPPSECRET", "EXEMPLECONSUMERKEY", "post", URL, BODY, 1457018875
    ) == "$1$68e2802543943c79b5239cbf2830ec812631b5bf"


def test_signature_with_empty_body_matches_python_ovh():
    ovh = pytest.importorskip("ovh")
    client = ovh.Client(endpoint="ovh-eu", application_key="AK", application_secret="AS", consumer_key="CK")
    client._time_delta = 0
    captured = {}

    def fake_request(method, url, headers=None, data=None, timeout=None, **kwargs):
        captured.update(url=url, headers=headers, data=data)
        raise RuntimeError("stop")

    client._session.request = fake_request
    with pytest.raises(RuntimeError):
        client.get("/me", x="y")
    headers = captured["headers"]
    assert application_key_signature(
        "AS", "CK", "GET", captured["url"], captured["data"] or "", headers["X-Ovh-Timestamp"]
    ) == headers["X-Ovh-Signature"]


def test_the_local_clock_signs_until_the_server_refuses_it_then_the_server_time_once():
    fetches = []
    auth = ApplicationKeyAuth("AK", "AS", "CK", lambda: fetches.append(1) or 5000, clock=lambda: 4990.4)
    first = auth.headers("GET", URL, None)
    assert fetches == [] and first["X-Ovh-Timestamp"] == "4990"
    assert not auth.refresh_after(OvhApiError("Invalid signature", status=400, error_code="INVALID_SIGNATURE"))
    assert auth.headers("GET", URL, None)["X-Ovh-Timestamp"] == "4990" and fetches == []

    assert auth.refresh_after(OvhApiError("Query out of time", status=400, error_code="QUERY_TIME_OUT"))
    second = auth.headers("POST", URL, BODY)
    assert len(fetches) == 1
    assert second["X-Ovh-Timestamp"] == "5000"
    assert second["X-Ovh-Application"] == "AK"
    assert second["X-Ovh-Consumer"] == "CK"
    assert second["X-Ovh-Signature"] == application_key_signature("AS", "CK", "POST", URL, BODY, 5000)
    auth.headers("GET", URL, None)
    assert len(fetches) == 1
    # Refused again with the server's own time: fetching it again cannot help.
    assert not auth.refresh_after(OvhApiError("Query out of time", status=400, error_code="QUERY_TIME_OUT"))
    assert len(fetches) == 1


def test_oauth2_token_is_reused_then_renewed_before_expiry():
    now = [0.0]
    tokens = []

    def fetch(client_id, client_secret):
        tokens.append((client_id, client_secret))
        return {"access_token": "tok%d" % len(tokens), "token_type": "Bearer", "expires_in": 3599}

    auth = OAuth2ClientCredentialsAuth("cid", "csecret", fetch, clock=lambda: now[0])
    assert auth.headers("GET", URL, None) == {"Authorization": "Bearer tok1"}
    now[0] = 3000
    assert auth.headers("GET", URL, None) == {"Authorization": "Bearer tok1"}
    assert tokens == [("cid", "csecret")]
    # Within a minute of expiry: renewed before the server could refuse it.
    now[0] = 3599 - 59
    assert auth.headers("GET", URL, None) == {"Authorization": "Bearer tok2"}
    assert not auth.refresh_after(OvhApiError("Forbidden", status=403))
    assert auth.headers("GET", URL, None) == {"Authorization": "Bearer tok2"}
    assert auth.refresh_after(OvhApiError("expired", status=401))
    assert auth.headers("GET", URL, None) == {"Authorization": "Bearer tok3"}


def test_a_given_bearer_token_is_sent_as_is_and_never_renewed():
    auth = BearerTokenAuth("pat-s3cr3t")
    assert auth.headers("POST", URL, BODY) == {"Authorization": "Bearer pat-s3cr3t"}
    assert not auth.refresh_after(OvhApiError("expired", status=401))


def test_short_lived_token_renewal_margin_is_a_tenth_of_its_life():
    now = [0.0]
    count = []

    def fetch(client_id, client_secret):
        count.append(1)
        return {"access_token": "t", "expires_in": 100}

    auth = OAuth2ClientCredentialsAuth("cid", "s", fetch, clock=lambda: now[0])
    auth.headers("GET", URL, None)
    now[0] = 89
    auth.headers("GET", URL, None)
    assert len(count) == 1
    now[0] = 90
    auth.headers("GET", URL, None)
    assert len(count) == 2
