# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_secret and okms_secret_info document what they return, with test_module_docs's rules.

- Both document the same fields for a secret (the _info twin adds ``versions``, returned with ``path``).
- ``secret_to_result`` returns exactly those fields, of their types, for realistic API objects (shaped like
  ``okms.secret.GetResponseWithIAM`` of ``specs/ovh-api-v2-okms.json``).
- The lookup documents its options and is found by the documentation tools.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

import yaml

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_secret import secret_to_result, version_to_result
from ansible_collections.ovhcloud.kms.tests.unit.plugins.modules.test_module_docs import (
    PLUGINS_DIR,
    assert_documented,
    fields,
    returned,
)

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
METADATA = {"casRequired": False, "createdAt": "2025-01-01T12:00:00.000000Z", "currentVersion": 3,
            "customMetadata": {"owner": "team-data"}, "deactivateVersionAfter": "0s", "maxVersions": 0,
            "oldestVersion": 0, "updatedAt": "2025-01-02T08:30:00.000000Z"}
IAM = {"id": "2f7c9f0e-1f7d-4e56-9d0a-6b2f3f6e4a11", "urn": "urn:v1:eu:resource:okms:%s/secret/app/db" % OKMS_ID,
       "displayName": "app/db", "tags": {}, "state": "OK"}
VERSION = {"id": 3, "state": "DEACTIVATED", "createdAt": "2025-01-02T08:30:00.000000Z",
           "deactivatedAt": "2025-02-02T08:30:00.000000Z"}
# GET ...?includeData=true (okms_secret), an item of GET .../secret (okms_secret_info without path).
READ = {"path": "app/db", "metadata": METADATA, "iam": IAM,
        "version": {"id": 3, "state": "ACTIVE", "createdAt": "2025-01-02T08:30:00.000000Z", "data": {"p": "secret-value-x"}}}
LISTED = {"path": "app/db", "metadata": METADATA, "iam": IAM}


def test_module_and_info_twin_document_the_same_fields():
    single = returned("okms_secret")["secret"]
    listed = returned("okms_secret_info")["secrets"]
    assert (single["type"], listed["type"], listed["elements"]) == ("dict", "list", "dict")
    info_fields = fields(listed["contains"])
    assert listed["contains"]["versions"]["returned"] == "when O(path) is given"
    del info_fields["versions"]
    assert info_fields == fields(single["contains"])


def test_secret_to_result_returns_exactly_the_documented_fields():
    contains = returned("okms_secret")["secret"]["contains"]
    for api_object in (READ, LISTED, dict(LISTED, version=VERSION)):
        result = secret_to_result(api_object)
        assert_documented(result, contains, "secret_to_result")
        assert "secret-value-x" not in repr(result)


def test_versions_are_documented_as_version_to_result_returns_them():
    contains = returned("okms_secret_info")["secrets"]["contains"]["versions"]["contains"]
    assert_documented(version_to_result(VERSION), contains, "version_to_result")
    assert sorted(contains) == sorted(returned("okms_secret")["secret"]["contains"]["version"]["contains"])


def test_the_lookup_documents_its_options_and_the_connection_options():
    with open(os.path.join(PLUGINS_DIR, "lookup", "okms_secret.py")) as handle:
        tree = ast.parse(handle.read())
    texts = dict((node.targets[0].id, node.value.value) for node in tree.body
                 if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) in
                 ("DOCUMENTATION", "EXAMPLES", "RETURN"))
    doc = yaml.safe_load(texts["DOCUMENTATION"])
    assert doc["name"] == "okms_secret"
    assert doc["extends_documentation_fragment"] == ["ovhcloud.kms.api", "ovhcloud.kms.api.plugins"]
    assert sorted(doc["options"]) == ["_terms", "field", "okms_id", "version"]
    examples = yaml.safe_load(texts["EXAMPLES"])
    assert all(task.get("no_log") is True for task in examples), "every example that reads a secret hides it"
