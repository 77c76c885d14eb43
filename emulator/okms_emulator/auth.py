"""Authentication as OVHcloud does it: application-key signatures and OAuth2
client-credentials bearer tokens, both accepted on every authenticated call.

State (``store.data["accounts"]``)::

    {"xx1111-ovh": {
        "applications": {"<appKey>": {"secret": str}},
        "consumerKeys": {"<ck>": {"applicationKey": str, "accessRules": [...], "state": str}},
        "oauth2Clients": {"<clientId>": {"secret": str}},
        "tokens": {"<sha256(token)>": {"clientId": str, "expiresAt": float}}}}

Error bodies mirror the ones OVHcloud sends (``errorCode``, ``httpCode``,
``message``) because python-ovh picks its exception class from
``errorCode``; ``class`` is added as on the v2 API.
"""

import base64
import hashlib
import hmac
import secrets
import time
import urllib.parse

from .errors import ApiError, http_code

ACCOUNT = "xx1111-ovh"


def _auth_error(status, error_code, message, error_class):
    return ApiError(status, error_class, message,
                    extra={"errorCode": error_code, "httpCode": http_code(status)})


def _random(n):
    # alphanumeric only, like OVHcloud keys
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(n))


def ensure_account(store):
    """Create the account's credentials on first start; return them."""
    with store.lock:
        accounts = store.data.setdefault("accounts", {})
        if ACCOUNT not in accounts:
            app_key, app_secret, ck = _random(16), _random(32), _random(32)
            client_id = "EU." + secrets.token_hex(8)
            accounts[ACCOUNT] = {
                "applications": {app_key: {"secret": app_secret}},
                "consumerKeys": {ck: {"applicationKey": app_key, "state": "validated",
                                      "accessRules": [{"method": m, "path": "/*"}
                                                      for m in ("GET", "POST", "PUT", "DELETE")]}},
                "oauth2Clients": {client_id: {"secret": _random(32)}},
                "tokens": {},
                "primary": {"applicationKey": app_key, "consumerKey": ck, "clientId": client_id},
            }
            store.save()
        acc = accounts[ACCOUNT]
        primary = acc["primary"]
        return {
            "account": ACCOUNT,
            "application_key": primary["applicationKey"],
            "application_secret": acc["applications"][primary["applicationKey"]]["secret"],
            "consumer_key": primary["consumerKey"],
            "client_id": primary["clientId"],
            "client_secret": acc["oauth2Clients"][primary["clientId"]]["secret"],
        }


def signature(app_secret, consumer_key, method, url, body, timestamp):
    raw = "+".join([app_secret, consumer_key, method.upper(), url, body, str(timestamp)])
    return "$1$" + hashlib.sha1(raw.encode("utf-8")).hexdigest()


class Authenticator:
    def __init__(self, store, max_clock_skew=60, token_lifetime=3599):
        self.store = store
        self.max_clock_skew = max_clock_skew
        self.token_lifetime = token_lifetime

    @property
    def _acc(self):
        return self.store.data["accounts"][ACCOUNT]

    # -- request authentication -------------------------------------------------

    def authenticate(self, method, full_url, body, headers):
        """Return the caller identity (audit label) or raise ApiError."""
        authz = headers.get("Authorization", "")
        if authz[:7].lower() == "bearer ":
            return self.check_token(authz[7:].strip())
        app_key = headers.get("X-Ovh-Application")
        if not app_key:
            raise _auth_error(401, "NOT_AUTHENTICATED", "You must login first", "Client::Unauthorized")
        with self.store.lock:
            app = self._acc["applications"].get(app_key)
            if app is None:
                raise _auth_error(403, "INVALID_KEY", "Invalid application key", "Client::Forbidden")
            ck = headers.get("X-Ovh-Consumer")
            if not ck:
                raise _auth_error(403, "NOT_CREDENTIAL", "You must login first", "Client::Forbidden")
            cred = self._acc["consumerKeys"].get(ck)
            if cred is None or cred["applicationKey"] != app_key:
                raise _auth_error(403, "INVALID_CREDENTIAL", "This credential does not exist",
                                  "Client::Forbidden")
            secret = app["secret"]
        ts = headers.get("X-Ovh-Timestamp", "")
        try:
            ts_int = int(ts)
        except ValueError:
            raise _auth_error(400, "QUERY_TIME_OUT", "Query out of time", "Client::BadRequest") from None
        if abs(time.time() - ts_int) > self.max_clock_skew:
            raise _auth_error(400, "QUERY_TIME_OUT", "Query out of time", "Client::BadRequest")
        expected = signature(secret, ck, method, full_url, body.decode("utf-8", "replace"), ts)
        if not hmac.compare_digest(expected, headers.get("X-Ovh-Signature", "")):
            raise _auth_error(400, "INVALID_SIGNATURE", "Invalid signature", "Client::BadRequest")
        return f"account:{ACCOUNT}"

    def check_token(self, token):
        """The identity (``oauth2:<clientId>``) of a valid access token, else a 401 ApiError.
        Used on both planes: the data plane takes the same tokens (Bearer or X-Vault-Token)."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self.store.lock:
            entry = self._acc["tokens"].get(digest)
        if entry is None or entry["expiresAt"] <= time.time():
            err = _auth_error(401, "INVALID_CREDENTIAL",
                              "Invalid or expired access token", "Client::Unauthorized")
            err.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            raise err
        return f"oauth2:{entry['clientId']}"

    # -- OAuth2 token endpoint --------------------------------------------------

    def issue_token(self, headers, body):
        """RFC 6749 client-credentials grant; returns (status, json)."""
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        authz = headers.get("Authorization", "")
        if authz[:6].lower() == "basic ":
            # requests-oauthlib (python-ovh) sends the client with HTTP Basic
            try:
                decoded = base64.b64decode(authz[6:].strip()).decode()
                user, _, password = decoded.partition(":")
                client_id = urllib.parse.unquote_plus(user)
                client_secret = urllib.parse.unquote_plus(password)
            except ValueError:
                return 401, {"error": "invalid_client", "error_description": "malformed Basic credentials"}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type",
                         "error_description": "only grant_type=client_credentials is supported"}
        scope = form.get("scope", "all")
        if scope != "all":
            return 400, {"error": "invalid_scope", "error_description": "only scope 'all' is supported"}
        with self.store.lock:
            client = self._acc["oauth2Clients"].get(client_id or "")
            if client is None or not hmac.compare_digest(client["secret"], client_secret or ""):
                return 401, {"error": "invalid_client", "error_description": "client authentication failed"}
            token = secrets.token_urlsafe(32)
            now = time.time()
            tokens = self._acc["tokens"]
            for key in [k for k, v in tokens.items() if v["expiresAt"] <= now]:
                del tokens[key]  # keep state small
            tokens[hashlib.sha256(token.encode()).hexdigest()] = {
                "clientId": client_id, "expiresAt": now + self.token_lifetime}
            self.store.save()
        return 200, {"access_token": token, "token_type": "Bearer",
                     "expires_in": self.token_lifetime, "scope": scope}

    # -- POST /1.0/auth/credential ---------------------------------------------

    def request_credential(self, headers, body, endpoint):
        app_key = headers.get("X-Ovh-Application")
        with self.store.lock:
            if not app_key or app_key not in self._acc["applications"]:
                raise _auth_error(403, "INVALID_KEY", "Invalid application key", "Client::Forbidden")
            rules = body.get("accessRules") if isinstance(body, dict) else None
            if not isinstance(rules, list) or not all(
                    isinstance(r, dict) and isinstance(r.get("method"), str) and isinstance(r.get("path"), str)
                    for r in rules):
                raise ApiError(400, "Client::BadRequest", "accessRules must be a list of {method, path}")
            ck = _random(32)
            # No human validates anything here: the key works immediately.
            self._acc["consumerKeys"][ck] = {"applicationKey": app_key, "accessRules": rules,
                                             "state": "validated"}
            self.store.save()
        return {"consumerKey": ck, "state": "pendingValidation",
                "validationUrl": f"{endpoint}/auth/validate?credentialToken={ck}"}
