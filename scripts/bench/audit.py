"""The emulator's audit log (audit.jsonl): who sent each request, and what kind of request it was."""

import datetime
import json
import os
import re

# "ovhcloud.kms/1.2.0 (okms_service_key) python-requests/2.32": the name in the first parentheses after
# the first product token. Older collections send no name: their requests count as "unknown".
_UA_NAME = re.compile(r"^\S+\s+\(([^()]+)\)")
_OBJECT_ID = re.compile(r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\d+)$")

UNKNOWN = "unknown"
CLOCK = "clock (/auth/time)"
TOKEN = "OAuth2 token"
LIST = "list page"
READ = "read one object"
WRITE = "write"
OTHER = "other"


def module_of(user_agent):
    """The module or plugin name a User-Agent carries, or "unknown"."""
    match = _UA_NAME.match(user_agent or "")
    if not match:
        return UNKNOWN
    name = match.group(1).split(";")[0].strip()
    return name or UNKNOWN


def kind_of(entry):
    """What a request was: the clock, a token, a write, one object read, or a list page."""
    path = entry.get("path") or ""
    if path.endswith("/auth/time"):
        return CLOCK
    if path.endswith("/auth/oauth2/token"):
        return TOKEN
    if entry.get("mutating"):
        return WRITE
    if entry.get("method") == "GET":
        # Only the v2 lists are paged; a v1 path without an id is a single object (/me) or a one-shot list.
        if path.startswith("/v2/") and not _OBJECT_ID.match(path.rstrip("/").rsplit("/", 1)[-1]):
            return LIST
        return READ
    return OTHER


def timestamp(text):
    """Seconds since the epoch of an audit line's "time" (RFC 3339, UTC)."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def line_count(path):
    """How many requests the log holds so far (a mark: read_since(path, mark) returns the later ones)."""
    if not os.path.exists(path):  # the emulator creates it on its first request
        return 0
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def read_since(path, mark=0):
    """The requests after the first `mark` ones, each with "t" (epoch seconds), "module" and "kind"."""
    if not os.path.exists(path):
        return []
    entries = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                entries.append(json.loads(line))
    entries = entries[mark:]
    for entry in entries:
        entry["t"] = timestamp(entry["time"])
        entry["module"] = module_of(entry.get("user_agent"))
        entry["kind"] = kind_of(entry)
    return entries


def count_by(entries, field):
    counts = {}
    for entry in entries:
        counts[entry[field]] = counts.get(entry[field], 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
