"""Minimal request/route plumbing shared by both planes' handlers."""

import json
import re
from dataclasses import dataclass, field

from .errors import ApiError


@dataclass
class Request:
    method: str
    path: str                 # without query string, e.g. /v2/okms/resource
    query: dict               # name -> [values]
    headers: object           # case-insensitive mapping (http.client.HTTPMessage)
    body: bytes
    full_url: str = ""
    identity: str = None
    extra: dict = field(default_factory=dict)

    def json(self, allow_empty=False):
        """Decoded JSON body; ``{}`` for an empty body when allowed."""
        if not self.body.strip():
            if allow_empty:
                return {}
            raise ApiError(400, "Client::BadRequest", "Request body is required")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ApiError(400, "Client::BadRequest", f"Invalid JSON body: {exc}") from None

    def arg(self, name, default=None):
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class Response:
    status: int = 200
    body: object = None       # JSON-serialisable; None -> JSON null
    headers: dict = field(default_factory=dict)
    raw: bytes = None         # when set, sent as-is (e.g. /auth/time)
    content_type: str = "application/json; charset=utf-8"


def _control_not_found(method, path):
    return ApiError(404, "Client::NotFound", "Got an invalid (or empty) URL")


def _control_method_not_allowed(method, path, allowed):
    return ApiError(405, "Client::MethodNotAllowed", f"Method {method} not allowed on {path}")


def _compile(pattern):
    # {name} captures one segment; {name+} the rest of the path (one or more segments, "/" included).
    def capture(found):
        name, rest = found.group(1), found.group(2)
        return f"(?P<{name}>.+)" if rest else f"(?P<{name}>[^/]+)"
    return re.compile("^" + re.sub(r"\{(\w+)(\+?)\}", capture, pattern) + "$")


class Router:
    """Ordered (method, pattern) table; ``{name}`` captures one path segment,
    ``{name+}`` one or more (secret paths hold ``/``).

    The first pattern that matches a path claims it: its handler for that
    method, else 405, never a later, more general pattern. So with ``{name+}``
    the more specific pattern goes first (``secret/{path+}/version`` before
    ``secret/{path+}``). Methods are any token (the data plane routes Vault's
    ``LIST``).

    Each plane renders its own routing errors: ``not_found(method, path)`` and
    ``method_not_allowed(method, path, allowed_methods)`` return the exception
    to raise (the control plane's ``Client::NotFound``/``Client::MethodNotAllowed``
    by default).
    """

    def __init__(self, not_found=_control_not_found, method_not_allowed=_control_method_not_allowed):
        self._routes = []
        self._not_found = not_found
        self._method_not_allowed = method_not_allowed

    def add(self, methods, pattern, handler, auth=True):
        """Route ``methods`` (one name or several) on ``pattern`` to ``handler(req, **captures)``."""
        regex = _compile(pattern)
        for method in (methods,) if isinstance(methods, str) else methods:
            self._routes.append((method, pattern, regex, handler, auth))

    def match(self, method, path):
        """Return (handler, params, needs_auth) or raise the plane's 404/405."""
        claimed, allowed = None, []
        for route_method, pattern, regex, handler, auth in self._routes:
            if claimed is not None and pattern != claimed:
                continue
            found = regex.match(path)
            if not found:
                continue
            claimed = pattern
            if route_method == method:
                return handler, found.groupdict(), auth
            if route_method not in allowed:
                allowed.append(route_method)
        if allowed:
            raise self._method_not_allowed(method, path, allowed)
        raise self._not_found(method, path)
