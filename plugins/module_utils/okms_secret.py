# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""OKMS secrets (Secret Manager): the API's rules, the returned shape and the diff shape.

Shared by ``okms_secret``, ``okms_secret_info`` and the ``okms_secret`` lookup.
Everything here is pure (no API call), so a bad request fails before anything
is sent; the API calls are in ``okms_secret_api``.

A secret's data never leaves this module in a result or a diff: results carry
the path, the metadata and the current version's number and state; diffs carry
the names of the data's keys, marked added, removed or changed, never a value.
Error messages name options and keys, never a value of the data.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

PATH_MAX_LENGTH = 255
PATH_CHARACTERS = "a-zA-Z0-9_.:/=@-"
_PATH = re.compile(r"^[%s]+$" % PATH_CHARACTERS)
DATA_MAX_BYTES = 64 * 1024
CUSTOM_METADATA_MAX_ENTRIES = 64
CUSTOM_METADATA_KEY_MAX_LENGTH = 128
CUSTOM_METADATA_KEY_CHARACTERS = "a-zA-Z0-9_.:/=@%-"
_CUSTOM_METADATA_KEY = re.compile(r"^[%s]+$" % CUSTOM_METADATA_KEY_CHARACTERS)
CUSTOM_METADATA_VALUE_MAX_LENGTH = 512
# Versions, maxVersions and cas: the specs' maximum.
NUMBER_MAX = 24000
VERSION_STATES = ("ACTIVE", "DEACTIVATED", "DELETED")
# A Vault duration: Go's time.ParseDuration units plus "d", or bare seconds ("3600").
_DURATION = re.compile(r"^(?:\d+|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h|d))+)$")

# The metadata options of the modules, with their names in the API.
METADATA_OPTIONS = (
    ("cas_required", "casRequired"),
    ("custom_metadata", "customMetadata"),
    ("deactivate_version_after", "deactivateVersionAfter"),
    ("max_versions", "maxVersions"),
)
METADATA_RESULT_FIELDS = (
    ("cas_required", "casRequired"),
    ("created_at", "createdAt"),
    ("current_version", "currentVersion"),
    ("custom_metadata", "customMetadata"),
    ("deactivate_version_after", "deactivateVersionAfter"),
    ("max_versions", "maxVersions"),
    ("oldest_version", "oldestVersion"),
    ("updated_at", "updatedAt"),
)
# What a new secret shows for the metadata it was created without ("the KMS's setting").
CREATION_DEFAULTS = {"casRequired": False, "customMetadata": {}, "deactivateVersionAfter": "0s", "maxVersions": 0}
VERSION_RESULT_FIELDS = (("id", "id"), ("state", "state"), ("created_at", "createdAt"),
                         ("deactivated_at", "deactivatedAt"))

# How diffs show a data value: only whether it is new, gone or changed.
HIDDEN = "(hidden)"
HIDDEN_ADDED = "(hidden, added)"
HIDDEN_CHANGED = "(hidden, changed)"


class SecretValidationError(Exception):
    """A request the API would refuse, found before any API call."""


# --- validation -------------------------------------------------------------------------------

def validate_path(path, option="path"):
    """The path, or raise naming the option and the rule (the path itself is not secret)."""
    if not isinstance(path, str) or path == "":
        raise SecretValidationError("%s is required: 1 to %d characters of [%s]"
                                    % (option, PATH_MAX_LENGTH, PATH_CHARACTERS))
    if len(path) > PATH_MAX_LENGTH:
        raise SecretValidationError("%s is %d characters long; at most %d are allowed"
                                    % (option, len(path), PATH_MAX_LENGTH))
    invalid = sorted(set(char for char in path if not _PATH.match(char)))
    if invalid:
        raise SecretValidationError("%s %s holds %s: only the characters [%s] are allowed"
                                    % (option, json.dumps(path), ", ".join(json.dumps(c) for c in invalid),
                                       PATH_CHARACTERS))
    if path.startswith("/") or path.endswith("/") or "//" in path:
        raise SecretValidationError("%s %s must not start or end with / nor hold //: each segment between two / "
                                    "needs a name" % (option, json.dumps(path)))
    return path


def canonical_json(data):
    """The data as compact JSON with sorted keys: how two versions' data are compared."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def validate_data(data, option="data"):
    """The data as plain JSON values (a dict), or raise naming the option (never a value)."""
    if not isinstance(data, dict):
        raise SecretValidationError("%s must be a dict of keys and values (a JSON object), not a %s"
                                    % (option, type(data).__name__))
    try:
        text = canonical_json(data)
    except (TypeError, ValueError):
        raise SecretValidationError("%s holds a value that is not a JSON value (string, number, boolean, null, "
                                    "list or dict)" % option)
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > DATA_MAX_BYTES:
        raise SecretValidationError("%s is %d bytes as JSON; at most %d (64 KiB) are allowed"
                                    % (option, size, DATA_MAX_BYTES))
    # Plain types only (Ansible hands over str subclasses): what is sent is what is compared.
    return json.loads(text)


def validate_custom_metadata(custom_metadata, option="custom_metadata"):
    """The custom metadata as a dict of strings (integers are turned into strings), or raise naming the key."""
    if not isinstance(custom_metadata, dict):
        raise SecretValidationError("%s must be a dict of strings" % option)
    if len(custom_metadata) > CUSTOM_METADATA_MAX_ENTRIES:
        raise SecretValidationError("%s has %d entries; at most %d are allowed"
                                    % (option, len(custom_metadata), CUSTOM_METADATA_MAX_ENTRIES))
    result = {}
    for key, value in custom_metadata.items():
        key = str(key)
        if not key or len(key) > CUSTOM_METADATA_KEY_MAX_LENGTH or not _CUSTOM_METADATA_KEY.match(key):
            raise SecretValidationError("%s key %s is invalid: use 1 to %d characters of [%s]"
                                        % (option, json.dumps(key), CUSTOM_METADATA_KEY_MAX_LENGTH,
                                           CUSTOM_METADATA_KEY_CHARACTERS))
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise SecretValidationError("%s value of %s must be a string (quote it), not a %s"
                                        % (option, json.dumps(key), type(value).__name__))
        if len(value) > CUSTOM_METADATA_VALUE_MAX_LENGTH:
            raise SecretValidationError("%s value of %s is %d characters long; at most %d are allowed"
                                        % (option, json.dumps(key), len(value), CUSTOM_METADATA_VALUE_MAX_LENGTH))
        result[key] = str(value)
    return result


def validate_duration(duration, option="deactivate_version_after"):
    """A Vault duration string (``"0s"``, ``"90s"``, ``"1h30m"``, ``"7d"``, ``"3600"``), or raise."""
    if not isinstance(duration, str) or not _DURATION.match(duration):
        raise SecretValidationError(
            "%s %s is not a duration: give a number followed by a unit (ns, us, ms, s, m, h, d), several of them "
            "in a row, or bare seconds, for example 0s (never), 90s, 1h30m, 24h, 7d or 3600"
            % (option, json.dumps(duration) if isinstance(duration, str) else duration))
    return duration


def validate_number(value, option, minimum=0):
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= NUMBER_MAX:
        raise SecretValidationError("%s must be a whole number from %d to %d, got %s"
                                    % (option, minimum, NUMBER_MAX, value))
    return value


def metadata_request(params):
    """The API's metadata (camelCase) for the metadata options that are set (None: not managed)."""
    metadata = {}
    if params.get("cas_required") is not None:
        metadata["casRequired"] = bool(params["cas_required"])
    if params.get("custom_metadata") is not None:
        metadata["customMetadata"] = validate_custom_metadata(params["custom_metadata"])
    if params.get("deactivate_version_after") is not None:
        metadata["deactivateVersionAfter"] = validate_duration(params["deactivate_version_after"])
    if params.get("max_versions") is not None:
        metadata["maxVersions"] = validate_number(params["max_versions"], "max_versions")
    return metadata


# --- comparing --------------------------------------------------------------------------------

def metadata_differences(api_metadata, wanted):
    """The members of ``wanted`` (API names) whose value differs from the secret's metadata."""
    api_metadata = api_metadata or {}
    changes = {}
    for name, value in wanted.items():
        current = api_metadata.get(name)
        if name == "customMetadata":
            current = current or {}
        if current != value:
            changes[name] = value
    return changes


def same_data(current, wanted):
    """Whether two versions' data are the same JSON (key order aside); None (unreadable) is never the same."""
    if current is None:
        return False
    return canonical_json(current) == canonical_json(wanted)


def is_cas_conflict(error):
    """Whether an API refusal is a CAS refusal: only its status and a message naming cas are relied on.

    No class is published for it; the status is 400 (409 is accepted too) and the message names ``cas``.
    """
    status = getattr(error, "status", None)
    return status in (400, 409) and re.search(r"\bcas\b", str(getattr(error, "message", "") or ""),
                                              re.IGNORECASE) is not None


# --- shapes -----------------------------------------------------------------------------------

def _fields(api_object, names):
    api_object = api_object or {}
    return dict((snake, api_object.get(camel)) for snake, camel in names)


def version_to_result(api_version):
    """A version as the modules return it: number, state and dates, never its data."""
    if not api_version:
        return None
    return _fields(api_version, VERSION_RESULT_FIELDS)


def secret_to_result(api_secret):
    """A secret as ``okms_secret`` and ``okms_secret_info`` return it: never its data.

    ``version`` is the version the API returned with the secret (the current one when it was read
    with ``includeData`` or ``version``), None when it came without one (lists). Custom metadata
    keys are kept as they are (they are the user's).
    """
    metadata = _fields(api_secret.get("metadata"), METADATA_RESULT_FIELDS)
    metadata["custom_metadata"] = dict(metadata["custom_metadata"] or {})
    iam = api_secret.get("iam")
    if iam:
        iam = {"id": iam.get("id"), "urn": iam.get("urn"), "display_name": iam.get("displayName"),
               "tags": dict(iam.get("tags") or {}), "state": iam.get("state")}
    return {"path": api_secret.get("path"), "metadata": metadata,
            "version": version_to_result(api_secret.get("version")), "iam": iam or None}


def readable_data(api_secret):
    """The data of the version the secret was read with, or None when it has none (not active, not asked)."""
    version = (api_secret or {}).get("version") or {}
    data = version.get("data")
    return data if version.get("state") == "ACTIVE" and isinstance(data, dict) else None


def _diff_side(api_secret, data_markers):
    metadata = (api_secret or {}).get("metadata") or {}
    side = {"path": api_secret.get("path")}
    for snake, camel in METADATA_OPTIONS + (("current_version", "currentVersion"),):
        side[snake] = metadata.get(camel)
    side["custom_metadata"] = dict(side["custom_metadata"] or {})
    side["data"] = data_markers
    return side


def secret_to_diff(before, after):
    """``{before, after}`` for diff mode: path, metadata, and the data's keys, never a value.

    Each side's ``data`` maps the names of the data's keys to a marker: ``(hidden)`` for a key
    whose value stays, ``(hidden, added)`` and ``(hidden, changed)`` on the after side for a key
    that is new or whose value changes; a key that goes shows on the before side only. When the
    current version's data cannot be read (deactivated, deleted), the side's ``data`` says so.
    ``before`` and ``after`` are API secrets read with their data (None: absent).
    """
    before_data = readable_data(before) if before else {}
    after_data = readable_data(after) if after else {}
    result = {"before": {}, "after": {}}
    if before:
        if before_data is None:
            result["before"] = _diff_side(before, _unreadable(before))
        else:
            result["before"] = _diff_side(before, dict((key, HIDDEN) for key in before_data))
    if after:
        if after_data is None:
            result["after"] = _diff_side(after, _unreadable(after))
        else:
            markers = {}
            for key, value in after_data.items():
                if before_data is None or key not in before_data:
                    markers[key] = HIDDEN_ADDED if before else HIDDEN
                elif canonical_json(before_data[key]) != canonical_json(value):
                    markers[key] = HIDDEN_CHANGED
                else:
                    markers[key] = HIDDEN
            result["after"] = _diff_side(after, markers)
    return result


def _unreadable(api_secret):
    version = api_secret.get("version") or {}
    return "(version %s is %s: its data cannot be read)" % (version.get("id"), version.get("state") or "unknown")
