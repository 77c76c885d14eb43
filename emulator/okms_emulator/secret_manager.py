"""Secret Manager: the secrets of a KMS, their versions, and every rule about them.

Three APIs reach the same secrets: the control plane
(``/v2/okms/resource/{okmsId}/secret...``, ``control_secrets.py``), the data
plane's REST API (``/api/{okmsId}/v2/secret...``, ``data_secrets.py``) and its
Vault-KV2-compatible API (``/api/{okmsId}/v1/secret/...``, ``kv2.py``). Those
modules only read their request and shape their answer; the rules live here,
so the three always agree.

State, in the KMS record of the store (names as the v2 API spells them)::

    "secretConfig": {"casRequired": bool, "maxVersions": int, "deactivateVersionAfter": str},
    "secrets": {
      "<path>": {
        "path": str, "iamId": str (uuid),
        "casRequired": bool, "maxVersions": int, "deactivateVersionAfter": str,
        "customMetadata": {str: str},
        "createdAt": str, "updatedAt": str,
        "currentVersion": int, "oldestVersion": int,   # oldestVersion: 0 until a prune
        "versions": {
          "<n>": {"id": int, "state": "ACTIVE" | "DEACTIVATED" | "DELETED",
                  "createdAt": str, "deactivatedAt": str | None,
                  "deactivateAt": float | None,      # when deactivateVersionAfter runs out
                  "data": dict | None}               # None once DELETED
        }
      }
    }

Refusals are :class:`SecretError` (status, control-plane class, message); the
data plane shows the same status and message in its own error body.
Callers hold ``store.lock`` around every :class:`SecretManager` call.
"""

import copy
import datetime
import json
import re
import time
import urllib.parse
import uuid

from .kms import kms_urn

BAD_REQUEST = "Client::BadRequest"
NOT_FOUND = "Client::NotFound"

PATH_MAX = 255
PATH_CHARS = re.compile(r"^[a-zA-Z0-9_.:/=@-]+$")
DATA_MAX_BYTES = 64 * 1024
CUSTOM_METADATA_MAX = 64
# No published figure for keys: Vault's limit. Values: the data-plane spec's maxLength.
CUSTOM_KEY_MAX = 128
CUSTOM_KEY_CHARS = re.compile(r"^[a-zA-Z0-9_.:/=@%-]+$")
CUSTOM_VALUE_MAX = 512
NUMBER_MAX = 24000          # versions, maxVersions and cas (uint32, maximum 24000 in the specs)
DEFAULT_MAX_VERSIONS = 10   # what maxVersions 0 means on the KMS
STATES = ("ACTIVE", "DEACTIVATED", "DELETED")
# GET /okms/reference/secretConfig?region=: the defaults every KMS starts with.
REGION_DEFAULTS = {"casRequired": False, "maxVersions": DEFAULT_MAX_VERSIONS}
KMS_DEFAULTS = {**REGION_DEFAULTS, "deactivateVersionAfter": "0s"}
METADATA_FIELDS = ("casRequired", "customMetadata", "deactivateVersionAfter", "maxVersions")

# Vault duration strings (Go's time.ParseDuration plus "d" for days, or bare seconds).
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3,
                   "s": 1, "m": 60, "h": 3600, "d": 86400}


class SecretError(Exception):
    def __init__(self, status, error_class, message):
        super().__init__(message)
        self.status = status
        self.error_class = error_class
        self.message = message


def _bad(suffix, message):
    return SecretError(400, f"{BAD_REQUEST}::Secret{suffix}" if suffix else BAD_REQUEST, message)


def timestamp(ts):
    """RFC 3339, UTC, microseconds, ``Z`` (two versions written in one second stay ordered)."""
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc) \
        .isoformat(timespec="microseconds").replace("+00:00", "Z")


# --- validation ---------------------------------------------------------------

def check_path(path):
    if not isinstance(path, str):
        raise _bad("", "Field path must be a string")
    if len(path) > PATH_MAX:
        raise _bad("PathMaxExceeded", f"Secret path is {len(path)} characters long; at most {PATH_MAX} are allowed")
    if not PATH_CHARS.match(path):
        raise _bad("PathInvalidCharacter",
                   f"Secret path {path!r} is invalid: use 1 to {PATH_MAX} characters of [a-zA-Z0-9_.:/=@-]")
    if path.startswith("/") or path.endswith("/") or "//" in path:
        raise _bad("PathInvalidCharacter",
                   f"Secret path {path!r} is invalid: it must not start or end with '/' nor hold '//'")
    return path


def path_from_url(raw):
    """The secret path of a URL segment: sent raw (``a/b``) or percent-encoded (``a%2Fb``)."""
    return check_path(urllib.parse.unquote(raw))


def duration_seconds(text):
    """Seconds of a Vault duration string (``"0s"``, ``"1h30m"``, ``"7d"``, ``"3600"``), else None."""
    if not isinstance(text, str) or not text:
        return None
    if text.isdigit():
        return int(text) if int(text) <= _DURATION_MAX else None
    total, position = 0.0, 0
    while position < len(text):
        part = _DURATION_PART.match(text, position)
        if part is None:
            return None
        total += float(part.group(1)) * _DURATION_UNITS[part.group(2)]
        position = part.end()
    return total if total <= _DURATION_MAX else None


# Go durations are int64 nanoseconds (about 292 years): longer ones are invalid there too.
_DURATION_MAX = (2 ** 63 - 1) / 1e9


def check_duration(value):
    if not isinstance(value, str) or duration_seconds(value) is None:
        raise _bad("DeactivateVersionAfterInvalidDuration",
                   f"deactivateVersionAfter {value!r} is not a duration (e.g. \"0s\", \"30m\", \"24h\", \"7d\")")
    return value


def _number(value, name, suffix):
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad("", f"Field {name} must be an integer")
    if value < 0:
        raise _bad(f"{suffix}MinRequired", f"{name} must be at least 0, not {value}")
    if value > NUMBER_MAX:
        raise _bad(f"{suffix}MaxExceeded", f"{name} must be at most {NUMBER_MAX}, not {value}")
    return value


def parse_number(raw, name, suffix, minimum=0):
    """A number from a query string or a path segment, with the Secret{suffix}Min/Max classes."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise _bad("", f"Invalid value for parameter {name}: {raw!r} is not an integer") from None
    if value < minimum:
        raise _bad(f"{suffix}MinRequired", f"{name} must be at least {minimum}, not {value}")
    if value > NUMBER_MAX:
        raise _bad(f"{suffix}MaxExceeded", f"{name} must be at most {NUMBER_MAX}, not {value}")
    return value


def parse_cas(raw):
    return parse_number(raw, "cas", "Cas")


def parse_version(raw):
    return parse_number(raw, "version", "Version", minimum=1)


def check_data(data):
    if not isinstance(data, dict):
        raise _bad("DataInvalidKeyValueJson",
                   f"Secret data must be a JSON object of keys and values, not {type(data).__name__}")
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > DATA_MAX_BYTES:
        raise _bad("DataMaxExceeded", f"Secret data is {size} bytes; at most {DATA_MAX_BYTES} (64 KiB) are allowed")
    return data


def check_custom_metadata(value):
    if not isinstance(value, dict):
        raise _bad("", "Field customMetadata must be an object of strings")
    if len(value) > CUSTOM_METADATA_MAX:
        raise _bad("CustomMetadataMaxExceeded",
                   f"customMetadata has {len(value)} entries; at most {CUSTOM_METADATA_MAX} are allowed")
    for key, item in value.items():
        if not key:
            raise _bad("CustomMetadataKeyMinRequired", "customMetadata keys must not be empty")
        if len(key) > CUSTOM_KEY_MAX:
            raise _bad("CustomMetadataKeyMaxExceeded",
                       f"customMetadata key {key[:20]!r}... exceeds {CUSTOM_KEY_MAX} characters")
        if not CUSTOM_KEY_CHARS.match(key):
            raise _bad("CustomMetadataKeyInvalidCharacter",
                       f"customMetadata key {key!r} is invalid: use characters of [a-zA-Z0-9_.:/=@%-]")
        if not isinstance(item, str) or len(item) > CUSTOM_VALUE_MAX:
            raise _bad("", f"customMetadata value of {key!r} must be a string of at most {CUSTOM_VALUE_MAX} characters")
    return dict(value)


def check_metadata(metadata):
    """Validate a metadata request (v2 names; ``None`` members mean "unchanged"): the members to apply."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise _bad("", "Field metadata must be an object")
    unknown = sorted(set(metadata) - set(METADATA_FIELDS))
    if unknown:
        raise _bad("", f"Unknown field(s) {', '.join(unknown)} in secret metadata")
    out = {}
    if metadata.get("casRequired") is not None:
        if not isinstance(metadata["casRequired"], bool):
            raise _bad("", "Field casRequired must be a boolean")
        out["casRequired"] = metadata["casRequired"]
    if metadata.get("maxVersions") is not None:
        out["maxVersions"] = _number(metadata["maxVersions"], "maxVersions", "MaxVersions")
    if metadata.get("deactivateVersionAfter") is not None:
        out["deactivateVersionAfter"] = check_duration(metadata["deactivateVersionAfter"])
    if metadata.get("customMetadata") is not None:
        out["customMetadata"] = check_custom_metadata(metadata["customMetadata"])
    return out


def check_config(changes):
    """Validate a KMS secretConfig update (v2 names); at least one member must be set."""
    if not isinstance(changes, dict):
        raise _bad("", "Request body must be a JSON object")
    unknown = sorted(set(changes) - {"casRequired", "maxVersions", "deactivateVersionAfter"})
    if unknown:
        raise _bad("", f"Unknown field(s) {', '.join(unknown)} in the secret configuration")
    out = check_metadata(changes)
    if not out:
        raise _bad("FieldRequired", "Give at least one of casRequired, maxVersions, deactivateVersionAfter")
    return out


# --- the store ----------------------------------------------------------------

class SecretManager:
    """The secrets of one KMS record. Methods that change state save the store."""

    def __init__(self, store, record):
        self.store = store
        self.record = record
        self.secrets = record.setdefault("secrets", {})
        self.config = record.setdefault("secretConfig", dict(KMS_DEFAULTS))
        self._expired = False

    # -- configuration ----------------------------------------------------------

    def update_config(self, changes):
        self.config.update(check_config(changes))
        self.store.save()
        return dict(self.config)

    def max_versions(self, secret):
        return secret["maxVersions"] or self.config["maxVersions"] or DEFAULT_MAX_VERSIONS

    def cas_required(self, secret):
        # The secret's false means "the KMS decides".
        return bool(secret["casRequired"]) or bool(self.config["casRequired"])

    def _deactivate_after(self, secret):
        # The secret's "0s" means "the KMS decides"; the KMS's "0s" means never.
        seconds = duration_seconds(secret["deactivateVersionAfter"]) or \
            duration_seconds(self.config["deactivateVersionAfter"])
        return seconds or None

    def counts(self):
        return len(self.secrets), sum(len(s["versions"]) for s in self.secrets.values())

    def urn(self, secret):
        return f"{kms_urn(self.record)}/secret/{secret['path']}"

    # -- reading ----------------------------------------------------------------

    def _expire(self, secret):
        """deactivateVersionAfter, applied lazily: a version past its time is deactivated
        when the secret is next read or written, as of the moment its time ran out."""
        now = time.time()
        for version in secret["versions"].values():
            due = version.get("deactivateAt")
            if version["state"] == "ACTIVE" and due is not None and due <= now:
                version["state"] = "DEACTIVATED"
                version["deactivatedAt"] = timestamp(due)
                version["deactivateAt"] = None
                self._expired = True

    def _save_if_expired(self):
        if self._expired:
            self._expired = False
            self.store.save()

    def find(self, path):
        secret = self.secrets.get(check_path(path))
        if secret is None:
            raise SecretError(404, NOT_FOUND, f"Secret {path!r} not found in OKMS {self.record['id']}")
        self._expire(secret)
        self._save_if_expired()
        return secret

    def all(self):
        """Every secret, by path."""
        out = []
        for path in sorted(self.secrets):
            self._expire(self.secrets[path])
            out.append(self.secrets[path])
        self._save_if_expired()
        return out

    def children(self, folder, shown=lambda path: True):
        """The next level under ``folder`` ("" or a path): names, sub-folders ending in ``/``.
        Only the secrets for which ``shown(path)`` holds count (a sub-folder shows if one of them is in it)."""
        prefix = folder + "/" if folder else ""
        names = set()
        for path in self.secrets:
            if path.startswith(prefix) and shown(path):
                head, slash, _ = path[len(prefix):].partition("/")
                names.add(head + slash)
        return sorted(names)

    @staticmethod
    def version(secret, number):
        """Version ``number`` (0 or None: the current one) of ``secret``, or 404."""
        number = number or secret["currentVersion"]
        version = secret["versions"].get(str(number))
        if version is None:
            raise SecretError(404, NOT_FOUND, f"Version {number} of secret {secret['path']!r} not found"
                              + (" (pruned: maxVersions)" if 0 < number < secret["oldestVersion"] else ""))
        return version

    @staticmethod
    def readable_data(version):
        """The data of a version, or None: deactivated versions keep it but never return it."""
        return copy.deepcopy(version["data"]) if version["state"] == "ACTIVE" else None

    # -- the v2 view (control plane; the data plane's v2 adds the urn, lower-cases states)

    def metadata_view(self, secret):
        return {"casRequired": secret["casRequired"], "createdAt": secret["createdAt"],
                "currentVersion": secret["currentVersion"], "customMetadata": dict(secret["customMetadata"]),
                "deactivateVersionAfter": secret["deactivateVersionAfter"], "maxVersions": secret["maxVersions"],
                "oldestVersion": secret["oldestVersion"], "updatedAt": secret["updatedAt"]}

    @classmethod
    def version_view(cls, version, with_data=False):
        """A version; its data only when asked for and the version is active."""
        view = {"id": version["id"], "state": version["state"], "createdAt": version["createdAt"]}
        if version["deactivatedAt"]:
            view["deactivatedAt"] = version["deactivatedAt"]
        data = cls.readable_data(version) if with_data else None
        if data is not None:
            view["data"] = data
        return view

    # -- writing ----------------------------------------------------------------

    def create(self, path, data, metadata=None):
        """A new secret with version 1 (no cas on creation)."""
        check_path(path)
        check_data(data)
        changes = check_metadata(metadata)
        if path in self.secrets:
            raise SecretError(400, BAD_REQUEST, f"Secret {path!r} already exists in OKMS {self.record['id']}: "
                                                "update it (PUT) instead")
        now = time.time()
        secret = self._new_secret(path, now)
        secret.update(changes)
        self._add_version(secret, data, now)
        self.store.save()
        return secret

    def _new_secret(self, path, now):
        now = timestamp(now)
        secret = {"path": path, "iamId": str(uuid.uuid4()), "casRequired": False, "maxVersions": 0,
                  "deactivateVersionAfter": "0s", "customMetadata": {}, "createdAt": now, "updatedAt": now,
                  "currentVersion": 0, "oldestVersion": 0, "versions": {}}
        self.secrets[path] = secret
        return secret

    def update(self, path, metadata=None, data=None, cas=None):
        """PUT: metadata and/or a new version. The metadata change is applied (and kept)
        before the cas check, as the real service does. Returns the new version or None."""
        changes = check_metadata(metadata)
        if data is None and not changes:
            raise _bad("FieldRequired", "Give metadata, version.data, or both")
        if data is not None:
            check_data(data)
        secret = self.find(path)
        try:
            self._apply_metadata(secret, changes)
            self._check_cas(secret, cas, data is not None)
            return self._add_version(secret, data) if data is not None else None
        finally:
            self.store.save()

    def add_version(self, path, data, cas=None):
        check_data(data)
        secret = self.find(path)
        self._check_cas(secret, cas, True)
        version = self._add_version(secret, data)
        self.store.save()
        return version

    def write(self, path, data, cas=None):
        """Vault KV2 write: create or update; ``cas`` 0 means "only if absent"."""
        check_path(path)
        check_data(data)
        secret = self.secrets.get(path)
        if secret is None:
            if cas not in (None, 0):
                raise self._cas_mismatch(path, cas, 0)
            if cas is None and self.config["casRequired"]:
                raise self._cas_missing(path)
            now = time.time()
            secret = self._new_secret(path, now)
            version = self._add_version(secret, data, now)
        else:
            self._expire(secret)
            self._check_cas(secret, cas, True)
            version = self._add_version(secret, data)
        self.store.save()
        return secret, version

    def update_metadata(self, path, metadata):
        """Metadata only (never a new version, never a cas)."""
        changes = check_metadata(metadata)
        secret = self.find(path)
        self._apply_metadata(secret, changes)
        self.store.save()
        return secret

    def set_state(self, path, number, state):
        if state not in STATES:
            raise _bad("", f"Invalid state {state!r}: expected one of {', '.join(STATES)}")
        secret = self.find(path)
        version = self.version(secret, number)
        self._set_state(secret, version, state, strict=True)
        self.store.save()
        return version

    def set_states(self, path, numbers, state):
        """KV2 delete/undelete/destroy: several versions; unknown or deleted ones are skipped, as Vault does."""
        secret = self.find(path)
        for number in numbers:
            version = secret["versions"].get(str(number))
            if version is not None:
                self._set_state(secret, version, state, strict=False)
        self.store.save()

    def delete(self, path):
        secret = self.find(path)
        del self.secrets[secret["path"]]
        self.store.save()

    # -- rules --------------------------------------------------------------------

    def _apply_metadata(self, secret, changes):
        if not changes:
            return
        secret.update(copy.deepcopy(changes))
        secret["updatedAt"] = timestamp(time.time())
        self._prune(secret)

    def _cas_missing(self, path):
        return _bad("CasMinRequired", f"cas is required to write secret {path!r} (casRequired is set on the "
                                      "secret or its OKMS): send cas=<current version>")

    @staticmethod
    def _cas_mismatch(path, cas, current):
        return SecretError(400, BAD_REQUEST, f"cas mismatch: cas={cas} but the current version of secret "
                                             f"{path!r} is {current}")

    def _check_cas(self, secret, cas, writes_data):
        if cas is None:
            if writes_data and self.cas_required(secret):
                raise self._cas_missing(secret["path"])
            return
        if cas != secret["currentVersion"]:
            raise self._cas_mismatch(secret["path"], cas, secret["currentVersion"])

    def _add_version(self, secret, data, now=None):
        number = secret["currentVersion"] + 1
        if number > NUMBER_MAX:
            raise _bad("VersionMaxExceeded", f"Secret {secret['path']!r} has reached {NUMBER_MAX} versions")
        now = now or time.time()
        after = self._deactivate_after(secret)
        version = {"id": number, "state": "ACTIVE", "createdAt": timestamp(now), "deactivatedAt": None,
                   "deactivateAt": now + after if after else None, "data": copy.deepcopy(data)}
        secret["versions"][str(number)] = version
        secret["currentVersion"] = number
        secret["updatedAt"] = version["createdAt"]
        self._prune(secret)
        return version

    def _prune(self, secret):
        numbers = sorted(int(n) for n in secret["versions"])
        keep = self.max_versions(secret)
        if len(numbers) <= keep:
            return
        for number in numbers[:-keep]:
            del secret["versions"][str(number)]
        secret["oldestVersion"] = numbers[-keep]

    @staticmethod
    def _set_state(secret, version, state, strict):
        current = version["state"]
        if current == "DELETED" or current == state:
            if strict and current == "DELETED" and state != "DELETED":
                raise _bad("", f"Version {version['id']} of secret {secret['path']!r} is deleted: "
                               "a deleted version never changes state")
            return
        version["state"] = state
        version["deactivateAt"] = None
        if state == "ACTIVE":
            version["deactivatedAt"] = None
        elif state == "DEACTIVATED":
            version["deactivatedAt"] = timestamp(time.time())
        else:  # DELETED: the data is gone for good
            version["data"] = None
            version["deactivatedAt"] = version["deactivatedAt"] or timestamp(time.time())
        secret["updatedAt"] = timestamp(time.time())
