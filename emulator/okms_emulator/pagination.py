"""Cursor pagination of the v2 lists (X-Pagination-Size / -Cursor / -Cursor-Next).

Cursors are opaque on purpose: base64url of ``{"s": scope, "o": offset}``
plus an HMAC, so a client cannot forge, reuse across lists, or assume integers.
"""

import base64
import hashlib
import hmac
import json

from .errors import ApiError

MAX_PAGE_SIZE = 100


class Paginator:
    def __init__(self, secret, default_size=3, max_size=MAX_PAGE_SIZE):
        self.secret = secret.encode() if isinstance(secret, str) else secret
        self.default_size = default_size
        self.max_size = max_size

    def _mac(self, payload):
        return hmac.new(self.secret, payload, hashlib.sha256).digest()[:12]

    def encode(self, scope, offset):
        payload = json.dumps({"s": scope, "o": offset}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(payload + self._mac(payload)).decode().rstrip("=")

    def decode(self, cursor, scope):
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            payload, mac = raw[:-12], raw[-12:]
            if len(raw) <= 12 or not hmac.compare_digest(mac, self._mac(payload)):
                return None
            data = json.loads(payload)
            if data.get("s") != scope or not isinstance(data.get("o"), int) or data["o"] < 0:
                return None
            return data["o"]
        except (ValueError, TypeError):
            return None

    def page(self, items, headers, scope, cursor_error_class):
        """Slice ``items``; return (page, response_headers)."""
        size_header = headers.get("X-Pagination-Size")
        size = self.default_size
        if size_header not in (None, ""):
            try:
                size = int(size_header)
            except ValueError:
                size = 0
            if size < 1:
                raise ApiError(400, "Client::BadRequest",
                               f"Invalid X-Pagination-Size {size_header!r}: must be a positive integer")
            size = min(size, self.max_size)
        offset = 0
        cursor = headers.get("X-Pagination-Cursor")
        if cursor not in (None, ""):
            offset = self.decode(cursor, scope)
            if offset is None:
                raise ApiError(400, f"Client::BadRequest::{cursor_error_class}",
                               "Invalid value for X-Pagination-Cursor")
        chunk = items[offset:offset + size]
        out_headers = {}
        if offset + size < len(items):
            out_headers["X-Pagination-Cursor-Next"] = self.encode(scope, offset + size)
        return chunk, out_headers
