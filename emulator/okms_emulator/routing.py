"""Minimal request/route plumbing shared by the control-plane handlers."""

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


class Router:
    """Ordered (method, pattern) table; ``{name}`` captures one path segment."""

    def __init__(self):
        self._routes = []

    def add(self, method, pattern, handler, auth=True):
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        self._routes.append((method, regex, handler, auth))

    def match(self, method, path):
        """Return (handler, params, needs_auth) or raise 404/405."""
        allowed = False
        for route_method, regex, handler, auth in self._routes:
            found = regex.match(path)
            if not found:
                continue
            if route_method == method:
                return handler, found.groupdict(), auth
            allowed = True
        if allowed:
            raise ApiError(405, "Client::MethodNotAllowed", f"Method {method} not allowed on {path}")
        raise ApiError(404, "Client::NotFound", "Got an invalid (or empty) URL")
