# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the modules document is what they return, and is said once.

- A module and its ``_info`` twin document the same fields for their resource.
- The resource's ``<resource>_to_result`` returns exactly the documented fields,
  of the documented types, for realistic API objects (shaped like the real
  API's answers, ``specs/ovh-api-v2-okms.json``).
- Every module takes its attribute descriptions from ``ovhcloud.kms.attributes``
  and its variants, and states only what differs.

Documentation is read from the module files (without importing them), as
``ansible-doc`` reads it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import importlib
import os

import pytest
import yaml

from ansible_collections.ovhcloud.kms.plugins.doc_fragments import attributes as attributes_fragment
from ansible_collections.ovhcloud.kms.tests.unit.plugins.plugin_utils.collection_doc_fragments import (
    merged_documentation,
)

PLUGINS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(attributes_fragment.__file__)))
MODULES_DIR = os.path.join(PLUGINS_DIR, "modules")
MODULES = sorted(name[:-3] for name in os.listdir(MODULES_DIR) if name.endswith(".py") and name != "__init__.py")

# (module, its return value) and (_info twin, its list of the same resource); fields only the
# twin documents, with why.
TWINS = [
    ("okms_instance", "instance", "okms_instance_info", "instances", {}),
    ("okms_service_key", "service_key", "okms_service_key_info", "service_keys",
     {"keys": "public key as JWK, with format=jwk", "keys_pem": "public key as PEM, with format=pem"}),
    ("okms_credential", "credential", "okms_credential_info", "credentials", {}),
]

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBkTCCATegAwIBAgIUb2ttcy1jYQ==\n-----END CERTIFICATE-----\n"
KMS_IAM = {"id": OKMS_ID, "urn": "urn:v1:eu:resource:okms:" + OKMS_ID, "displayName": "production",
           "tags": {"ovh:region": "eu-west-rbx"}, "state": "OK"}
KMS = {
    "id": OKMS_ID, "region": "eu-west-rbx", "restEndpoint": "https://eu-west-rbx.okms.ovh.net",
    "kmipEndpoint": "eu-west-rbx.okms.ovh.net:5696", "kmipRsaEndpoint": "eu-west-rbx.okms.ovh.net:5697",
    "swaggerEndpoint": "https://swagger-eu-west-rbx.okms.ovh.net/?url=/api", "serviceKeyCount": 3,
    "kmipObjectCount": 0, "secretCount": 1, "secretVersionCount": 2, "iam": KMS_IAM,
}
# GET /v2/okms/resource/{okmsId}?publicCA=true adds the CAs.
KMS_WITH_CAS = dict(KMS, publicCA=CA_PEM, publicRsaCA=CA_PEM)


def service_key(key_id, name, key_type, size, curve, operations, **extra):
    key = {"id": key_id, "name": name, "type": key_type, "size": size, "curve": curve, "operations": operations,
           "state": "ACTIVE", "createdAt": "2025-01-01T12:00:00Z",
           "iam": {"id": key_id, "urn": "urn:v1:eu:resource:okms:%s/serviceKey/%s" % (OKMS_ID, key_id),
                   "displayName": name, "tags": {"ovh:type": key_type, "ovh:state": "ACTIVE"}, "state": "OK"}}
    key.update(extra)
    return key


OCT_KEY = service_key("0d4b1a7e-62d6-4c6f-8b0f-2f3cbbf8e0f1", "app-data", "oct", 256, None, ["encrypt", "decrypt"])
# An EC key has no size, only a curve.
EC_KEY = service_key("7c1e9d52-4f0b-4c2e-9d6a-1b2c3d4e5f60", "signing", "EC", None, "P-256", ["sign", "verify"])
# GET ...?format=JWK (okms_service_key_info with format=jwk).
EC_KEY_JWK = dict(EC_KEY, keys=[{"kid": EC_KEY["id"], "kty": "EC", "crv": "P-256", "key_ops": ["verify"],
                                 "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                                 "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}])

PRIVATE_KEY_PEM = ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB0ZGV0ZXJtaW5pc3RpYy10ZXN0LWtleQ==\n"
                   "-----END EC PRIVATE KEY-----\n")
CREDENTIAL = {
    "id": "2b7ed1fa-43a3-4a8a-9c4b-d0a3ba1fd55a", "name": "web1", "description": "Access for the app servers",
    "identityURNs": ["urn:v1:eu:identity:account:xx1111-ovh"], "status": "READY", "fromCSR": False,
    "certificateType": "ECDSA", "createdAt": "2025-01-01T12:00:00Z", "expiredAt": "2026-01-01T12:00:00Z",
    "certificatePEM": CA_PEM,
}
# The answer to the POST that creates it: no certificate yet, and the only time the private key is sent.
CREDENTIAL_CREATED = dict((key, value) for key, value in CREDENTIAL.items() if key != "certificatePEM")
CREDENTIAL_CREATED.update(status="CREATING", privateKeyPEM=PRIVATE_KEY_PEM)

# (module_utils file, shape function, module, documented return value, API objects)
SHAPES = [
    ("okms_instance", "instance_to_result", "okms_instance", "instance", [KMS_WITH_CAS, KMS]),
    ("okms_service_key", "service_key_to_result", "okms_service_key", "service_key", [OCT_KEY, EC_KEY]),
    ("okms_credential", "credential_to_result", "okms_credential", "credential", [CREDENTIAL, CREDENTIAL_CREATED]),
]
TYPES = {"str": str, "int": int, "bool": bool, "list": list, "dict": dict}


def module_variables(module):
    """DOCUMENTATION and RETURN of a module file, parsed as YAML."""
    with open(os.path.join(MODULES_DIR, module + ".py")) as handle:
        tree = ast.parse(handle.read())
    texts = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("DOCUMENTATION", "RETURN"):
                texts[node.targets[0].id] = node.value.value
    return texts


def documentation(module):
    return yaml.safe_load(module_variables(module)["DOCUMENTATION"])


def returned(module):
    return yaml.safe_load(module_variables(module)["RETURN"])


def fields(contains):
    """The documented fields, recursively: name -> (type, elements, fields of its ``contains``)."""
    return dict((name, (spec.get("type"), spec.get("elements"), fields(spec.get("contains") or {})))
                for name, spec in contains.items())


def shape_function(module_utils, name):
    module = importlib.import_module("ansible_collections.ovhcloud.kms.plugins.module_utils." + module_utils)
    function = getattr(module, name, None)
    if function is None:
        pytest.skip("plugins/module_utils/%s.py has no %s() yet (issue 10 introduces it)" % (module_utils, name))
    return function


def assert_documented(value, contains, where):
    """``value`` has exactly the documented fields, each of its documented type (or null)."""
    assert sorted(value) == sorted(contains), where
    for name, spec in contains.items():
        if value[name] is None:
            continue
        if spec.get("type") in TYPES:
            assert isinstance(value[name], TYPES[spec["type"]]), "%s.%s is %r" % (where, name, value[name])
        if spec.get("contains") and isinstance(value[name], dict):
            assert_documented(value[name], spec["contains"], "%s.%s" % (where, name))


# --- a module and its _info twin ----------------------------------------------------------------

@pytest.mark.parametrize("module, key, info_module, info_key, info_only", TWINS,
                         ids=[twin[0] for twin in TWINS])
def test_module_and_info_twin_document_the_same_fields(module, key, info_module, info_key, info_only):
    single = returned(module)[key]
    listed = returned(info_module)[info_key]
    assert single["type"] == "dict"
    assert (listed["type"], listed.get("elements")) == ("list", "dict")
    assert single.get("contains"), "%s documents no fields for RV(%s)" % (module, key)
    assert listed.get("contains"), ("%s documents no fields for RV(%s): document the same `contains` as %s's RV(%s)"
                                    % (info_module, info_key, module, key))
    info_fields = fields(listed["contains"])
    for name in info_only:
        assert name in info_fields, "%s no longer documents %s" % (info_module, name)
        assert listed["contains"][name].get("returned"), "%s.%s is only returned on request" % (info_key, name)
        del info_fields[name]
    assert info_fields == fields(single["contains"])


# --- the shape functions return what is documented ----------------------------------------------

@pytest.mark.parametrize("module_utils, function, module, key, api_objects", SHAPES, ids=[s[1] for s in SHAPES])
def test_shape_function_returns_exactly_the_documented_fields(module_utils, function, module, key, api_objects):
    to_result = shape_function(module_utils, function)
    contains = returned(module)[key]["contains"]
    for api_object in api_objects:
        assert_documented(to_result(api_object), contains, "%s(%s)" % (function, api_object.get("id")))


def test_service_key_info_with_a_format_adds_only_the_documented_key_field():
    to_result = shape_function("okms_service_key", "service_key_to_result")
    contains = dict(returned("okms_service_key_info")["service_keys"]["contains"])
    del contains["keys_pem"]
    assert_documented(to_result(EC_KEY_JWK), contains, "service_key_to_result(JWK)")


def test_credential_result_never_holds_the_private_key():
    to_result = shape_function("okms_credential", "credential_to_result")
    result = to_result(CREDENTIAL_CREATED)
    assert "-----BEGIN EC PRIVATE KEY-----" not in repr(result)
    assert result["certificate_pem"] is None and result["status"] == "CREATING"


# --- attributes are described once, by the fragment and its variants ----------------------------

def attribute_variants(module_doc):
    """The ovhcloud.kms.attributes fragment and variants a module extends, in order."""
    extends = module_doc.get("extends_documentation_fragment") or []
    return [name for name in extends if name.split(".")[:3] == ["ovhcloud", "kms", "attributes"]]


@pytest.mark.parametrize("module", MODULES)
def test_attributes_come_from_the_fragment_and_the_module_states_only_what_differs(module):
    doc = documentation(module)
    variants = attribute_variants(doc)
    assert "ovhcloud.kms.attributes" in variants, "%s does not extend ovhcloud.kms.attributes" % module
    extends = doc["extends_documentation_fragment"]
    if "ovhcloud.kms.data_plane" in extends:
        assert "ovhcloud.kms.attributes.data_plane_module" in variants, (
            "%s uses a KMS's REST API: add ovhcloud.kms.attributes.data_plane_module" % module)
    elif "ovhcloud.kms.api" in extends:
        assert "ovhcloud.kms.attributes.api_module" in variants, (
            "%s uses the API: add ovhcloud.kms.attributes.api_module" % module)
    if module.endswith("_info"):
        assert "ovhcloud.kms.attributes.info_module" in variants, "%s: add ovhcloud.kms.attributes.info_module" % module

    path = os.path.join(MODULES_DIR, module + ".py")
    from_fragments = merged_documentation(
        yaml.safe_dump({"extends_documentation_fragment": variants}), path, is_module=True)["attributes"]
    # What ansible-doc shows: every module states its action group and platform (a variant whose name
    # ansible-core resolves to another fragment would silently drop them).
    for name in ("check_mode", "diff_mode", "idempotent", "action_group", "platform"):
        assert "support" in from_fragments.get(name, {}) or name in (doc.get("attributes") or {}), (
            "%s: attribute %s is missing after merging its fragments" % (module, name))
    own = doc.get("attributes") or {}
    for name, spec in own.items():
        assert "description" not in spec, "%s describes attribute %s itself: the fragment does" % (module, name)
        for field, value in spec.items():
            assert from_fragments.get(name, {}).get(field) != value, (
                "%s repeats %s.%s, which its attribute fragments already say" % (module, name, field))

    merged = merged_documentation(module_variables(module)["DOCUMENTATION"], path, is_module=True)["attributes"]
    for name in ("check_mode", "diff_mode", "idempotent", "platform"):
        assert name in merged, "%s does not state its %s support" % (module, name)
    for name, spec in merged.items():
        assert spec.get("description"), "no fragment describes %s's attribute %s" % (module, name)
        assert spec.get("support"), "%s does not state its %s support" % (module, name)
