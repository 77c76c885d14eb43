"""Cursor pagination of the v2 lists (X-Pagination-Size / -Cursor / -Cursor-Next).

A cursor is a position in the list, as a real cursor is, not an offset: items
deleted or created between two page reads never make the next page skip or
repeat an item that was there all along (an offset shifts under a deletion
and skips one). Each list is sorted by a key whose last member is the item's
unique id (paths, ids), usually after a coarser part: the creation time, to
the second as the API shows it. A cursor holds the key of the last item
returned, and the next page starts after it. With a coarse part, the cursor
also holds the ids already returned in that group (that second), and the
next page starts with the items of the group not returned yet: an item
created in the same second as the last one returned is not lost even when
its id sorts first.

Cursors are opaque on purpose: base64url of ``{"s": scope, "k": last key,
"r": ids returned in its group}`` plus an HMAC, so a client cannot forge
them, reuse them across lists, or assume integers.
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

    def encode(self, scope, last_key, returned):
        payload = json.dumps({"s": scope, "k": list(last_key), "r": sorted(returned)},
                             separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(payload + self._mac(payload)).decode().rstrip("=")

    def decode(self, cursor, scope):
        """(last key, ids returned in its group) of a valid cursor of this list, else None."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            payload, mac = raw[:-12], raw[-12:]
            if len(raw) <= 12 or not hmac.compare_digest(mac, self._mac(payload)):
                return None
            data = json.loads(payload)
            if data.get("s") != scope or not isinstance(data.get("k"), list) or not data["k"] \
                    or not isinstance(data.get("r"), list):
                return None
            return tuple(data["k"]), frozenset(data["r"])
        except (ValueError, TypeError, AttributeError):
            return None

    def _size(self, headers):
        size_header = headers.get("X-Pagination-Size")
        if size_header in (None, ""):
            return self.default_size
        try:
            size = int(size_header)
        except ValueError:
            size = 0
        if size < 1:
            raise ApiError(400, "Client::BadRequest",
                           f"Invalid X-Pagination-Size {size_header!r}: must be a positive integer")
        return min(size, self.max_size)

    def page(self, entries, headers, scope, cursor_error_class):
        """One page of ``entries``: ``(sort_key, item)`` pairs in ascending key order, each key a
        tuple of JSON scalars ending with the item's unique id. Return (items, response_headers)."""
        size = self._size(headers)
        position = None
        cursor = headers.get("X-Pagination-Cursor")
        if cursor not in (None, ""):
            position = self.decode(cursor, scope)
            try:
                remaining = entries if position is None else self._after(entries, *position)
            except TypeError:  # a key of another shape: not a cursor of this list
                position = None
            if position is None:
                raise ApiError(400, f"Client::BadRequest::{cursor_error_class}",
                               "Invalid value for X-Pagination-Cursor")
        else:
            remaining = entries
        chunk = remaining[:size]
        out_headers = {}
        if len(remaining) > size:
            last = chunk[-1][0]
            returned = set()
            if last[:-1]:  # a coarse part: remember what this group has returned
                returned = {key[-1] for key, _ in chunk if key[:-1] == last[:-1]}
                if position is not None and position[0][:-1] == last[:-1]:
                    returned |= position[1]
            out_headers["X-Pagination-Cursor-Next"] = self.encode(scope, last, returned)
        return [item for _, item in chunk], out_headers

    @staticmethod
    def _after(entries, last, returned):
        """The entries a cursor at ``last`` has not reached yet, in order."""
        group = last[:-1]
        if not group:
            return [(key, item) for key, item in entries if key > last]
        return [(key, item) for key, item in entries
                if key[:-1] > group or (key[:-1] == group and key[-1] not in returned)]
