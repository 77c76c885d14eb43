"""Persistent, thread-safe state of one emulator instance.

Everything the emulator knows lives in one JSON document, ``state.json`` in
the state directory, rewritten atomically after every mutation so that a
restart (or a crash) never leaves a half-written file behind.

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
        }
      },
      ...                             # ordering, services, notifications
    }

Callers take ``store.lock`` around read-modify-write sequences and call
``store.save()`` before releasing it.
"""

import json
import os
import tempfile
import threading


class Store:
    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, "state.json")
        self.lock = threading.RLock()
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as handle:
                self.data = json.load(handle)
        else:
            self.data = {}
        self.data.setdefault("okms", {})

    def save(self):
        with self.lock:
            fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=".state-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(self.data, handle, indent=1, sort_keys=True)
                os.replace(tmp, self.path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
