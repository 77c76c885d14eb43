# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets in the fake API: ``/v2/okms/resource/{okmsId}/secret[/{path}[/version[/{n}]]]`` and ``/secretConfig``.

Faithful to the emulator (``emulator/okms_emulator/secret_manager.py`` and
``control_secrets.py``, see "Secret Manager" in ``emulator/README.md``), which
follows the real API: the same fields (``okms.secret.*``: ``{path, metadata}``
from POST and PUT, ``iam`` on GET and list, a ``version`` block only with
``includeData=true`` or ``version=N``), the same rules (every write with data
makes version n+1, metadata-only writes none, pruning beyond ``maxVersions``,
deactivated versions keep their data but never return it, deleted is final,
``casRequired`` on the secret or the KMS, a metadata change applied before the
CAS check, ``deactivateVersionAfter`` applied lazily as of its deadline), and
the same refusals: ``Client::BadRequest::Secret...`` classes, 400
``Client::BadRequest`` with a message naming ``cas`` for a CAS mismatch and for
an existing path, 404 ``Client::NotFound`` for an unknown secret or version.
Paths arrive percent-encoded (``a%2Fb``), as the collection sends them. Time is
the fake's clock, which moves only when the code under test or the test sleeps.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import json
import re
import uuid

try:
    from urllib.parse import unquote
except ImportError:  # pragma: no cover
    from urllib import unquote  # type: ignore

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError

KMS = "/v2/okms/resource/{okms_id}"
COLLECTION = KMS + "/secret"
ITEM = COLLECTION + "/{path}"
VERSIONS = ITEM + "/version"
VERSION = VERSIONS + "/{number}"
CONFIG = KMS + "/secretConfig"

PATH_MAX = 255
PATH_CHARS = re.compile(r"^[a-zA-Z0-9_.:/=@-]+$")
DATA_MAX_BYTES = 64 * 1024
CUSTOM_METADATA_MAX = 64
CUSTOM_KEY_CHARS = re.compile(r"^[a-zA-Z0-9_.:/=@%-]+$")
NUMBER_MAX = 24000
DEFAULT_MAX_VERSIONS = 10
STATES = ("ACTIVE", "DEACTIVATED", "DELETED")
METADATA_FIELDS = ("casRequired", "customMetadata", "deactivateVersionAfter", "maxVersions")
EPOCH = datetime.datetime(2026, 1, 1, 12, 0, 0)
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|ms|s|m|h|d)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}


def refused(request, suffix, message):
    return OvhApiError(message, status=400,
                       error_class="Client::BadRequest::Secret" + suffix if suffix else "Client::BadRequest",
                       method=request.method, path=request.path)


def not_found(request, message):
    return OvhApiError(message, status=404, error_class="Client::NotFound", method=request.method, path=request.path)


def duration_seconds(text):
    if not isinstance(text, str) or not text:
        return None
    if text.isdigit():
        return int(text)
    total, position = 0.0, 0
    while position < len(text):
        part = _DURATION_PART.match(text, position)
        if part is None:
            return None
        total += float(part.group(1)) * _UNITS[part.group(2)]
        position = part.end()
    return total


class Secrets:
    """The secrets of every KMS of the fake account."""

    def __init__(self, api):
        self.api = api
        self.kms = {}     # okms_id -> {path: secret record}
        self.config = {}  # okms_id -> {casRequired, maxVersions, deactivateVersionAfter}

    def clock(self):
        """The fake's time (seconds); a test moves it with ``api.retry_policy.sleep(seconds)``."""
        return self.api.retry_policy.clock()

    # -- seeding and reading, for tests ------------------------------------------------

    def add_kms(self, okms_id=None):
        okms_id = okms_id or str(uuid.uuid4())
        self.kms.setdefault(okms_id, {})
        self.config.setdefault(okms_id, {"casRequired": False, "maxVersions": DEFAULT_MAX_VERSIONS,
                                         "deactivateVersionAfter": "0s"})
        return okms_id

    def add_secret(self, okms_id, path, *versions, **metadata):
        """A secret written earlier, one version per data dict given; returns its record."""
        record = self._new(okms_id, path)
        record.update(metadata)
        for data in versions:
            self._add_version(okms_id, record, data)
        return record

    def write(self, okms_id, path, data):
        """Another writer's new version of an existing secret; returns its number."""
        return self._add_version(okms_id, self.kms[okms_id][path], data)["id"]

    def record(self, okms_id, path):
        return self.kms[okms_id][path]

    def data(self, okms_id, path, number=None):
        """The stored data of a version (the current one by default), whatever its state."""
        record = self.kms[okms_id][path]
        return copy.deepcopy(record["versions"][str(number or record["currentVersion"])]["data"])

    # -- rules ---------------------------------------------------------------------------

    def _timestamp(self):
        return (EPOCH + datetime.timedelta(seconds=self.clock())).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _new(self, okms_id, path):
        now = self._timestamp()
        record = {"path": path, "iamId": str(uuid.uuid4()), "casRequired": False, "maxVersions": 0,
                  "deactivateVersionAfter": "0s", "customMetadata": {}, "createdAt": now, "updatedAt": now,
                  "currentVersion": 0, "oldestVersion": 0, "versions": {}}
        self.kms[okms_id][path] = record
        return record

    def _add_version(self, okms_id, record, data):
        number = record["currentVersion"] + 1
        if number > NUMBER_MAX:
            raise AssertionError("the fake never writes so many versions")
        after = duration_seconds(record["deactivateVersionAfter"]) or \
            duration_seconds(self.config[okms_id]["deactivateVersionAfter"])
        record["versions"][str(number)] = {
            "id": number, "state": "ACTIVE", "createdAt": self._timestamp(), "deactivatedAt": None,
            "deactivateAt": self.clock() + after if after else None, "data": copy.deepcopy(data)}
        record["currentVersion"] = number
        record["updatedAt"] = self._timestamp()
        self._prune(okms_id, record)
        return record["versions"][str(number)]

    def _prune(self, okms_id, record):
        keep = record["maxVersions"] or self.config[okms_id]["maxVersions"] or DEFAULT_MAX_VERSIONS
        numbers = sorted(int(n) for n in record["versions"])
        if len(numbers) > keep:
            for number in numbers[:-keep]:
                del record["versions"][str(number)]
            record["oldestVersion"] = numbers[-keep]

    def _expire(self, record):
        for version in record["versions"].values():
            due = version["deactivateAt"]
            if version["state"] == "ACTIVE" and due is not None and due <= self.clock():
                version["state"] = "DEACTIVATED"
                version["deactivatedAt"] = (EPOCH + datetime.timedelta(seconds=due)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                version["deactivateAt"] = None

    def _check_path(self, request, path):
        if not isinstance(path, str):
            raise refused(request, "", "Field path must be a string")
        if len(path) > PATH_MAX:
            raise refused(request, "PathMaxExceeded", "Secret path is %d characters long; at most %d are allowed"
                          % (len(path), PATH_MAX))
        if not PATH_CHARS.match(path) or path.startswith("/") or path.endswith("/") or "//" in path:
            raise refused(request, "PathInvalidCharacter", "Secret path %r is invalid" % path)
        return path

    def _check_data(self, request, data):
        if not isinstance(data, dict):
            raise refused(request, "DataInvalidKeyValueJson", "Secret data must be a JSON object")
        size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        if size > DATA_MAX_BYTES:
            raise refused(request, "DataMaxExceeded", "Secret data is %d bytes; at most %d are allowed"
                          % (size, DATA_MAX_BYTES))
        return data

    def _check_metadata(self, request, metadata):
        if metadata is None:
            return {}
        if not isinstance(metadata, dict) or set(metadata) - set(METADATA_FIELDS):
            raise refused(request, "", "Unknown field(s) in secret metadata")
        out = dict((k, v) for k, v in metadata.items() if v is not None)
        if "casRequired" in out and not isinstance(out["casRequired"], bool):
            raise refused(request, "", "Field casRequired must be a boolean")
        if "maxVersions" in out:
            value = out["maxVersions"]
            if isinstance(value, bool) or not isinstance(value, int):
                raise refused(request, "", "Field maxVersions must be an integer")
            if value < 0:
                raise refused(request, "MaxVersionsMinRequired", "maxVersions must be at least 0")
            if value > NUMBER_MAX:
                raise refused(request, "MaxVersionsMaxExceeded", "maxVersions must be at most %d" % NUMBER_MAX)
        if "deactivateVersionAfter" in out and duration_seconds(out["deactivateVersionAfter"]) is None:
            raise refused(request, "DeactivateVersionAfterInvalidDuration", "deactivateVersionAfter is not a duration")
        if "customMetadata" in out:
            custom = out["customMetadata"]
            if not isinstance(custom, dict):
                raise refused(request, "", "Field customMetadata must be an object of strings")
            if len(custom) > CUSTOM_METADATA_MAX:
                raise refused(request, "CustomMetadataMaxExceeded", "customMetadata has %d entries; at most %d are "
                              "allowed" % (len(custom), CUSTOM_METADATA_MAX))
            for key, value in custom.items():
                if not key:
                    raise refused(request, "CustomMetadataKeyMinRequired", "customMetadata keys must not be empty")
                if len(key) > 128:
                    raise refused(request, "CustomMetadataKeyMaxExceeded", "customMetadata key exceeds 128 characters")
                if not CUSTOM_KEY_CHARS.match(key):
                    raise refused(request, "CustomMetadataKeyInvalidCharacter", "customMetadata key %r is invalid" % key)
                if not isinstance(value, str) or len(value) > 512:
                    raise refused(request, "", "customMetadata values must be strings of at most 512 characters")
        return out

    def _number(self, request, raw, name, suffix, minimum):
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise refused(request, "", "Invalid value for parameter %s: %r is not an integer" % (name, raw))
        if value < minimum:
            raise refused(request, suffix + "MinRequired", "%s must be at least %d, not %d" % (name, minimum, value))
        if value > NUMBER_MAX:
            raise refused(request, suffix + "MaxExceeded", "%s must be at most %d, not %d" % (name, NUMBER_MAX, value))
        return value

    def _cas(self, request):
        raw = request.params.get("cas")
        return None if raw is None else self._number(request, raw, "cas", "Cas", 0)

    def _check_cas(self, request, okms_id, record, cas, writes_data):
        if cas is None:
            if writes_data and (record["casRequired"] or self.config[okms_id]["casRequired"]):
                raise refused(request, "CasMinRequired", "cas is required to write secret %r (casRequired is set on "
                              "the secret or its OKMS): send cas=<current version>" % record["path"])
            return
        if cas != record["currentVersion"]:
            raise refused(request, "", "cas mismatch: cas=%d but the current version of secret %r is %d"
                          % (cas, record["path"], record["currentVersion"]))

    def _apply_metadata(self, okms_id, record, changes):
        if changes:
            record.update(copy.deepcopy(changes))
            record["updatedAt"] = self._timestamp()
            self._prune(okms_id, record)

    # -- lookups -------------------------------------------------------------------------

    def _kms(self, request, okms_id):
        if okms_id not in self.kms:
            raise not_found(request, "OKMS %s not found" % okms_id)
        return self.kms[okms_id]

    def _secret(self, request, okms_id, raw_path):
        secrets = self._kms(request, okms_id)
        path = self._check_path(request, unquote(raw_path))
        if path not in secrets:
            raise not_found(request, "Secret %r not found in OKMS %s" % (path, okms_id))
        record = secrets[path]
        self._expire(record)
        return record

    def _version(self, request, record, number):
        number = number or record["currentVersion"]
        if str(number) not in record["versions"]:
            raise not_found(request, "Version %d of secret %r not found" % (number, record["path"]))
        return record["versions"][str(number)]

    # -- answers -------------------------------------------------------------------------

    @staticmethod
    def metadata_view(record):
        return dict((name, copy.deepcopy(record[name])) for name in (
            "casRequired", "createdAt", "currentVersion", "customMetadata", "deactivateVersionAfter", "maxVersions",
            "oldestVersion", "updatedAt"))

    @staticmethod
    def version_view(version, with_data=False):
        view = {"id": version["id"], "state": version["state"], "createdAt": version["createdAt"]}
        if version["deactivatedAt"]:
            view["deactivatedAt"] = version["deactivatedAt"]
        if with_data and version["state"] == "ACTIVE":
            view["data"] = copy.deepcopy(version["data"])
        return view

    def _with_iam(self, okms_id, record):
        return {"path": record["path"], "metadata": self.metadata_view(record),
                "iam": {"id": record["iamId"], "urn": "urn:v1:eu:resource:okms:%s/secret/%s" % (okms_id, record["path"]),
                        "displayName": record["path"], "tags": {}, "state": "OK"}}

    # -- routes --------------------------------------------------------------------------

    def list_secrets(self, request, okms_id):
        secrets = self._kms(request, okms_id)
        for record in secrets.values():
            self._expire(record)
        return [self._with_iam(okms_id, secrets[path]) for path in sorted(secrets)]

    def create_secret(self, request, okms_id):
        secrets = self._kms(request, okms_id)
        body = request.body or {}
        if set(body) - {"path", "version", "metadata"}:
            raise refused(request, "", "Unknown field(s) in okms.secret.Creation")
        path = self._check_path(request, body.get("path"))
        version = body.get("version")
        if not isinstance(version, dict) or version.get("data") is None:
            raise refused(request, "", "Missing required field version.data (okms.secret.version.Creation)")
        data = self._check_data(request, version["data"])
        changes = self._check_metadata(request, body.get("metadata"))
        if path in secrets:
            raise refused(request, "", "Secret %r already exists in OKMS %s: update it (PUT) instead" % (path, okms_id))
        record = self._new(okms_id, path)
        record.update(copy.deepcopy(changes))
        self._add_version(okms_id, record, data)
        return {"path": path, "metadata": self.metadata_view(record)}

    def get_secret(self, request, okms_id, path):
        with_data = request.params.get("includeData") == "true"
        raw_version = request.params.get("version")
        number = None if raw_version is None else self._number(request, raw_version, "version", "Version", 1)
        record = self._secret(request, okms_id, path)
        body = self._with_iam(okms_id, record)
        if with_data or number is not None:
            body["version"] = self.version_view(self._version(request, record, number), with_data)
        return body

    def update_secret(self, request, okms_id, path):
        cas = self._cas(request)
        body = request.body or {}
        if set(body) - {"metadata", "version"}:
            raise refused(request, "", "Unknown field(s) in okms.secret.UpdateRequest")
        changes = self._check_metadata(request, body.get("metadata"))
        data = None
        if body.get("version") is not None:
            if not isinstance(body["version"], dict) or body["version"].get("data") is None:
                raise refused(request, "", "Missing required field version.data (okms.secret.version.Creation)")
            data = self._check_data(request, body["version"]["data"])
        if data is None and not changes:
            raise refused(request, "FieldRequired", "Give metadata, version.data, or both")
        record = self._secret(request, okms_id, path)
        # As the real service: the metadata change is kept even when the cas check then fails.
        self._apply_metadata(okms_id, record, changes)
        self._check_cas(request, okms_id, record, cas, data is not None)
        if data is not None:
            self._add_version(okms_id, record, data)
        return {"path": record["path"], "metadata": self.metadata_view(record)}

    def delete_secret(self, request, okms_id, path):
        record = self._secret(request, okms_id, path)
        del self.kms[okms_id][record["path"]]
        return None

    def list_versions(self, request, okms_id, path):
        record = self._secret(request, okms_id, path)
        return [self.version_view(record["versions"][n]) for n in sorted(record["versions"], key=int)]

    def create_version(self, request, okms_id, path):
        cas = self._cas(request)
        body = request.body or {}
        if set(body) != {"data"}:
            raise refused(request, "", "okms.secret.version.Creation takes data only")
        data = self._check_data(request, body["data"])
        record = self._secret(request, okms_id, path)
        self._check_cas(request, okms_id, record, cas, True)
        return self.version_view(self._add_version(okms_id, record, data))

    def get_version(self, request, okms_id, path, number):
        number = self._number(request, number, "version", "Version", 1)
        record = self._secret(request, okms_id, path)
        return self.version_view(self._version(request, record, number),
                                 request.params.get("includeData") == "true")

    def update_version(self, request, okms_id, path, number):
        number = self._number(request, number, "version", "Version", 1)
        state = (request.body or {}).get("state")
        if state not in STATES:
            raise refused(request, "", "Invalid state %r: expected one of %s" % (state, ", ".join(STATES)))
        record = self._secret(request, okms_id, path)
        version = self._version(request, record, number)
        if version["state"] == "DELETED":
            if state != "DELETED":
                raise refused(request, "", "Version %d of secret %r is deleted: a deleted version never changes "
                              "state" % (number, record["path"]))
        elif version["state"] != state:
            version["state"] = state
            version["deactivateAt"] = None
            version["deactivatedAt"] = None if state == "ACTIVE" else self._timestamp()
            if state == "DELETED":
                version["data"] = None
            record["updatedAt"] = self._timestamp()
        return self.version_view(version)

    def get_config(self, request, okms_id):
        self._kms(request, okms_id)
        return dict(self.config[okms_id])

    def update_config(self, request, okms_id):
        self._kms(request, okms_id)
        body = request.body or {}
        if not isinstance(body, dict) or set(body) - {"casRequired", "maxVersions", "deactivateVersionAfter"}:
            raise refused(request, "", "Unknown field(s) in the secret configuration")
        changes = self._check_metadata(request, body)
        if not changes:
            raise refused(request, "FieldRequired", "Give at least one of casRequired, maxVersions, "
                          "deactivateVersionAfter")
        self.config[okms_id].update(changes)
        return dict(self.config[okms_id])


def install(api):
    """Add the secret routes to ``api`` (a FakeOkmsApi); returns the state (also ``api.secrets``)."""
    state = Secrets(api)
    api.route("GET", COLLECTION, state.list_secrets)
    api.route("POST", COLLECTION, state.create_secret)
    api.route("GET", VERSION, state.get_version)
    api.route("PUT", VERSION, state.update_version)
    api.route("GET", VERSIONS, state.list_versions)
    api.route("POST", VERSIONS, state.create_version)
    api.route("GET", ITEM, state.get_secret)
    api.route("PUT", ITEM, state.update_secret)
    api.route("DELETE", ITEM, state.delete_secret)
    api.route("GET", CONFIG, state.get_config)
    api.route("PUT", CONFIG, state.update_config)
    api.secrets = state
    return state
