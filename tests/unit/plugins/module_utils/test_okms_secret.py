# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_secret's pure rules: what the API would refuse, the returned shape and the diff shape."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_secret import (
    SecretValidationError,
    is_cas_conflict,
    metadata_differences,
    metadata_request,
    same_data,
    secret_to_diff,
    secret_to_result,
    validate_custom_metadata,
    validate_data,
    validate_duration,
    validate_path,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError

METADATA = {"casRequired": False, "createdAt": "2025-01-01T12:00:00.000000Z", "currentVersion": 2,
            "customMetadata": {"owner": "team-data"}, "deactivateVersionAfter": "0s", "maxVersions": 0,
            "oldestVersion": 0, "updatedAt": "2025-01-02T12:00:00.000000Z"}


def secret(data=None, state="ACTIVE", number=2, **metadata):
    api_secret = {"path": "app/db", "metadata": dict(METADATA, currentVersion=number, **metadata)}
    version = {"id": number, "state": state, "createdAt": "2025-01-02T12:00:00.000000Z"}
    if data is not None:
        version["data"] = data
    api_secret["version"] = version
    return api_secret


# --- paths -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["app/db", "a", "x" * 255, "a-b_c.d:e=f@g/h", "app/version", "A9/b8"])
def test_valid_paths(path):
    assert validate_path(path) == path


@pytest.mark.parametrize("path, message", [
    ("", "path is required: 1 to 255 characters of [a-zA-Z0-9_.:/=@-]"),
    (None, "path is required: 1 to 255 characters of [a-zA-Z0-9_.:/=@-]"),
    ("x" * 256, "path is 256 characters long; at most 255 are allowed"),
    ("app db", 'path "app db" holds " ": only the characters [a-zA-Z0-9_.:/=@-] are allowed'),
    ("app/d#b?", 'path "app/d#b?" holds "#", "?": only the characters [a-zA-Z0-9_.:/=@-] are allowed'),
    ("caf\u00e9", 'path "caf\\u00e9" holds "\\u00e9": only the characters [a-zA-Z0-9_.:/=@-] are allowed'),
    ("/app", 'path "/app" must not start or end with / nor hold //: each segment between two / needs a name'),
    ("app/", 'path "app/" must not start or end with / nor hold //: each segment between two / needs a name'),
    ("a//b", 'path "a//b" must not start or end with / nor hold //: each segment between two / needs a name'),
])
def test_invalid_paths_name_the_option_and_the_rule(path, message):
    with pytest.raises(SecretValidationError) as error:
        validate_path(path)
    assert str(error.value) == message


# --- data --------------------------------------------------------------------------------------

def test_data_is_any_json_object_up_to_64_kib():
    data = {"password": "p", "port": 5432, "tls": True, "hosts": ["a", "b"], "nested": {"x": None, "y": 1.5}}
    assert validate_data(data) == data
    # 64 KiB exactly as compact JSON: {"k":"..."} is 8 bytes besides the value.
    assert validate_data({"k": "v" * (64 * 1024 - 8)})


@pytest.mark.parametrize("data, message", [
    ("password", "data must be a dict of keys and values (a JSON object), not a str"),
    (["a"], "data must be a dict of keys and values (a JSON object), not a list"),
    ({"k": "v" * (64 * 1024 - 7)}, "data is 65537 bytes as JSON; at most 65536 (64 KiB) are allowed"),
    ({"k": object()}, "data holds a value that is not a JSON value (string, number, boolean, null, list or dict)"),
])
def test_invalid_data_never_shows_a_value(data, message):
    with pytest.raises(SecretValidationError) as error:
        validate_data(data)
    assert str(error.value) == message


def test_data_size_counts_utf8_bytes():
    # "é" is 2 bytes in UTF-8: 32 768 of them plus {"k":""} exceed 64 KiB.
    with pytest.raises(SecretValidationError, match="65544 bytes"):
        validate_data({"k": "\u00e9" * 32768})


def test_data_is_compared_as_json_whatever_the_order_of_keys():
    assert same_data({"a": 1, "b": {"c": [1, 2]}}, {"b": {"c": [1, 2]}, "a": 1})
    assert not same_data({"a": 1}, {"a": "1"})
    assert not same_data({"a": [1, 2]}, {"a": [2, 1]})
    assert not same_data(None, {})


# --- metadata ----------------------------------------------------------------------------------

def test_custom_metadata_turns_integers_into_strings():
    assert validate_custom_metadata({"owner": "team", "rotation-days": 90}) == {"owner": "team", "rotation-days": "90"}


@pytest.mark.parametrize("custom, message", [
    (dict(("k%d" % i, "v") for i in range(65)), "custom_metadata has 65 entries; at most 64 are allowed"),
    ({"": "v"}, 'custom_metadata key "" is invalid: use 1 to 128 characters of [a-zA-Z0-9_.:/=@%-]'),
    ({"a b": "v"}, 'custom_metadata key "a b" is invalid: use 1 to 128 characters of [a-zA-Z0-9_.:/=@%-]'),
    ({"k" * 129: "v"}, 'custom_metadata key "%s" is invalid: use 1 to 128 characters of [a-zA-Z0-9_.:/=@%%-]'
     % ("k" * 129)),
    ({"k": True}, 'custom_metadata value of "k" must be a string (quote it), not a bool'),
    ({"k": ["a"]}, 'custom_metadata value of "k" must be a string (quote it), not a list'),
    ({"k": "v" * 513}, 'custom_metadata value of "k" is 513 characters long; at most 512 are allowed'),
])
def test_invalid_custom_metadata(custom, message):
    with pytest.raises(SecretValidationError) as error:
        validate_custom_metadata(custom)
    assert str(error.value) == message


def test_exactly_64_custom_metadata_are_allowed():
    assert len(validate_custom_metadata(dict(("k%d" % i, "v") for i in range(64)))) == 64


@pytest.mark.parametrize("duration", ["0s", "90s", "30m", "24h", "7d", "1h30m", "1.5h", "3600", "500ms", ".5s"])
def test_valid_durations(duration):
    assert validate_duration(duration) == duration


@pytest.mark.parametrize("duration", ["", "1w", "1 h", "h", "-1s", "1h-", "one day", "1.2.3s"])
def test_invalid_durations_say_what_a_duration_is(duration):
    with pytest.raises(SecretValidationError) as error:
        validate_duration(duration)
    assert str(error.value) == (
        "deactivate_version_after %s is not a duration: give a number followed by a unit (ns, us, ms, s, m, h, d), "
        "several of them in a row, or bare seconds, for example 0s (never), 90s, 1h30m, 24h, 7d or 3600"
        % json.dumps(duration))


def test_metadata_request_holds_only_the_options_that_are_set():
    assert metadata_request({"cas_required": None, "custom_metadata": None, "deactivate_version_after": None,
                             "max_versions": None}) == {}
    assert metadata_request({"cas_required": False, "custom_metadata": {}, "deactivate_version_after": "7d",
                             "max_versions": 3}) == {"casRequired": False, "customMetadata": {},
                                                     "deactivateVersionAfter": "7d", "maxVersions": 3}


@pytest.mark.parametrize("value", [-1, 24001, True])
def test_max_versions_range(value):
    with pytest.raises(SecretValidationError, match="max_versions must be a whole number from 0 to 24000"):
        metadata_request({"max_versions": value})


def test_metadata_differences_only_the_members_that_differ():
    assert metadata_differences(METADATA, {"casRequired": False, "maxVersions": 5, "customMetadata": {}}) == \
        {"maxVersions": 5, "customMetadata": {}}
    # The API may omit an empty customMetadata.
    assert metadata_differences(dict(METADATA, customMetadata=None), {"customMetadata": {}}) == {}


def test_cas_conflicts_are_recognised_by_status_and_the_word_cas_only():
    assert is_cas_conflict(OvhApiError("cas mismatch: cas=1 but ...", status=400, error_class="Client::BadRequest"))
    assert is_cas_conflict(OvhApiError("Check-and-set failed (CAS)", status=409))
    assert is_cas_conflict(OvhApiError("wrong cas", status=400, error_class="Client::BadRequest::SomethingElse"))
    assert not is_cas_conflict(OvhApiError("cas mismatch", status=500))
    assert not is_cas_conflict(OvhApiError("Secret 'cascade' already exists", status=400))
    assert not is_cas_conflict(OvhApiError("casRequired must be a boolean", status=400))


# --- shapes ------------------------------------------------------------------------------------

def test_result_never_holds_the_data():
    result = secret_to_result(dict(secret({"password": "hunter2-value"}), iam={
        "id": "i", "urn": "urn:v1:eu:resource:okms:k/secret/app/db", "displayName": "app/db", "tags": {},
        "state": "OK"}))
    assert "hunter2-value" not in repr(result) and "data" not in result["version"]
    assert result == {
        "path": "app/db",
        "metadata": {"cas_required": False, "created_at": "2025-01-01T12:00:00.000000Z", "current_version": 2,
                     "custom_metadata": {"owner": "team-data"}, "deactivate_version_after": "0s", "max_versions": 0,
                     "oldest_version": 0, "updated_at": "2025-01-02T12:00:00.000000Z"},
        "version": {"id": 2, "state": "ACTIVE", "created_at": "2025-01-02T12:00:00.000000Z", "deactivated_at": None},
        "iam": {"id": "i", "urn": "urn:v1:eu:resource:okms:k/secret/app/db", "display_name": "app/db", "tags": {},
                "state": "OK"},
    }


def test_result_keeps_custom_metadata_keys_as_written():
    result = secret_to_result(secret(customMetadata={"camelCase": "x", "Team-Name": "y"}))
    assert result["metadata"]["custom_metadata"] == {"camelCase": "x", "Team-Name": "y"}


def test_a_listed_secret_has_no_version():
    assert secret_to_result({"path": "a", "metadata": METADATA})["version"] is None


def test_diff_names_added_removed_and_changed_keys_never_a_value():
    before = secret({"user": "app", "password": "old-value-1", "gone": "bye-value"})
    after = secret({"user": "app", "password": "new-value-2", "host": "db-value"}, number=3, maxVersions=5)
    diff = secret_to_diff(before, after)
    assert diff["before"]["data"] == {"user": "(hidden)", "password": "(hidden)", "gone": "(hidden)"}
    assert diff["after"]["data"] == {"user": "(hidden)", "password": "(hidden, changed)", "host": "(hidden, added)"}
    assert (diff["before"]["current_version"], diff["after"]["current_version"]) == (2, 3)
    assert (diff["before"]["max_versions"], diff["after"]["max_versions"]) == (0, 5)
    text = json.dumps(diff)
    for value in ("old-value-1", "new-value-2", "bye-value", "db-value"):
        assert value not in text


def test_diff_of_a_new_or_deleted_secret():
    created = secret_to_diff(None, secret({"a": "1-value"}, number=1))
    assert created["before"] == {} and created["after"]["data"] == {"a": "(hidden)"}
    deleted = secret_to_diff(secret({"a": "1-value"}), None)
    assert deleted["after"] == {} and deleted["before"]["data"] == {"a": "(hidden)"}


def test_diff_of_an_unreadable_current_version():
    diff = secret_to_diff(secret(state="DEACTIVATED"), secret({"a": "x-value"}, number=3))
    assert diff["before"]["data"] == "(version 2 is DEACTIVATED: its data cannot be read)"
    assert diff["after"]["data"] == {"a": "(hidden, added)"}
