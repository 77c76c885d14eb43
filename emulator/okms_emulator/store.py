"""Persistent, thread-safe state of one emulator instance.

Everything the emulator knows lives in one JSON document, ``state.json`` in
the state directory, always replaced atomically, so that a restart (or a crash)
never finds a half-written file. With a ``save_interval``, a change made after a
quiet moment is written at once, and changes that follow each other closely are
written together at most ``save_interval`` seconds later: rewriting the whole
document after each of a thousand key creations made each one slower than the last.

Schema (keys are the API's own names where a field is returned as-is)::

    {
      "accounts": {...},            # owned by the auth layer
      "okms": {
        "<okmsId>": {
          "id": str, "region": str, "displayName": str, "serviceId": int,
          "createdAt": str,            # RFC 3339, UTC, "Z" suffix
          "ca": {"keyPEM": str, "certificatePEM": str},
          "serviceKeys": {
            "<keyId>": {
              "id", "name", "type", "size", "curve", "operations",
              "state",                 # v2 enum: ACTIVE, DEACTIVATED, ...
              "deactivationReason",    # v2 enum or None
              "createdAt", "context",  # context is never returned by v2 GET
              "jwk": {...}             # full private JWK (base64url members)
            }
          },
          "credentials": {"<credentialId>": {...}},
          "secretConfig": {...}, "secrets": {"<path>": {...}}   # see secret_manager.py
          "kmipObjects": {"<uniqueIdentifier>": {...}}          # see kmip_objects.py
        }
      },
      "iam": {"policies": {"<policyId>": {...}}},   # see iam.py
      ...                             # ordering, services, notifications
    }

Callers take ``store.lock`` around read-modify-write sequences and call
``store.save()`` before releasing it.
"""

import json
import os
import tempfile
import threading
import time


class Store:
    def __init__(self, state_dir, save_interval=0.0):
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, "state.json")
        self.lock = threading.RLock()
        self.save_interval = save_interval
        self._last_write = None  # time.monotonic() of the last write
        self._pending = None     # the timer of the write that gathers the latest changes
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as handle:
                self.data = json.load(handle)
        else:
            self.data = {}
        self.data.setdefault("okms", {})

    def save(self):
        """Record a change: written now, or with the changes that follow it within ``save_interval``."""
        with self.lock:
            if self._pending is not None:
                return  # the pending write will carry this change too
            waited = None if self._last_write is None else time.monotonic() - self._last_write
            if not self.save_interval or waited is None or waited >= self.save_interval:
                self._write()
                return
            self._pending = threading.Timer(self.save_interval - waited, self._write_pending)
            self._pending.daemon = True
            self._pending.start()

    def close(self):
        """Write what is pending now (the emulator stops)."""
        with self.lock:
            if self._pending is not None:
                self._pending.cancel()
                self._pending = None
                self._write()

    def _write_pending(self):
        with self.lock:
            if self._pending is not None:
                self._pending = None
                self._write()

    def _write(self):
        fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=".state-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(self.data, sort_keys=True, separators=(",", ":")))
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        self._last_write = time.monotonic()
