"""Audit log: one JSON line per request (per KMIP batch item), so tests can prove that check mode
(or any read-only run) changed nothing: filter on ``"mutating": true``; and
count injected faults by kind (``"fault"``)."""

import datetime
import json
import re
import threading

from .faults import ADMIN_PATH

# Requests that use POST/PUT but change no API state.
_NON_MUTATING_CONTROL = {"/auth/oauth2/token", "/1.0/auth/credential", ADMIN_PATH}
_NON_MUTATING_DATA = re.compile(r"^/api/[^/]+/v1/(servicekey/[^/]+/(encrypt|decrypt|datakey|datakey/decrypt|sign|verify)|random)$")
# KMIP operations (the audit's "method") that change no state; every other operation may, refused or not.
_NON_MUTATING_KMIP = {"Get", "GetAttributes", "GetAttributeList", "Locate", "Encrypt", "Decrypt", "Sign",
                      "SignatureVerify", "Query", "DiscoverVersions", "Check", "Mac", "MacVerify", "RngRetrieve",
                      "Hash", "Poll", "Validate"}


def is_mutating(plane, method, path):
    if plane == "kmip":
        return method is not None and method not in _NON_MUTATING_KMIP
    if method not in ("POST", "PUT", "PATCH", "DELETE"):
        return False
    if plane == "control" and path in _NON_MUTATING_CONTROL:
        return False
    if plane == "data" and _NON_MUTATING_DATA.match(path):
        return False
    return True


class AuditLog:
    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()

    def write(self, plane, identity, method, path, query, status, fault=None, applied_status=None,
              user_agent=None, extra=None):
        """``status`` is what the client received (None: the connection was closed unanswered).

        ``fault`` is the injected fault kind or None; with a fault, ``applied_status``
        is the status the request got when it was applied, None when it never was.
        ``extra``: more members for this line (KMIP's ``result_reason``).
        """
        entry = {
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z"),
            "plane": plane,
            "identity": identity,
            "method": method,
            "path": path,
            "query": query,
            "status": status,
            "mutating": is_mutating(plane, method, path),
            "fault": fault,
            "user_agent": user_agent,
        }
        if fault is not None:
            entry["applied_status"] = applied_status
        entry.update(extra or {})
        line = json.dumps(entry, sort_keys=True)
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
