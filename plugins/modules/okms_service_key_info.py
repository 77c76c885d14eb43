#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: okms_service_key_info
short_description: List the service keys of an OVHcloud KMS
version_added: 0.1.0
description:
  - Lists the service keys of an OVHcloud Key Management Service (OKMS), every page of them, or reads
    one key by id.
  - Optionally includes each key's public material (never private material).
author:
  - ovhcloud.kms maintainers (@ovh)
extends_documentation_fragment:
  - ovhcloud.kms.api
  - ovhcloud.kms.attributes
  - ovhcloud.kms.attributes.api_module
  - ovhcloud.kms.attributes.info_module
options:
  okms_id:
    description:
      - The id of the KMS (see M(ovhcloud.kms.okms_instance)).
    type: str
    required: true
  id:
    description:
      - Only the key with this id. A missing key gives an empty list.
    type: str
  name:
    description:
      - Only keys with this exact name.
    type: str
  state:
    description:
      - Only keys in this state (lower or upper case).
    type: str
    choices: [pre_active, active, deactivated, compromised, destroyed, destroyed_compromised,
              PRE_ACTIVE, ACTIVE, DEACTIVATED, COMPROMISED, DESTROYED, DESTROYED_COMPROMISED]
  type:
    description:
      - Only keys of this type.
    type: str
    choices: [oct, RSA, EC]
  format:
    description:
      - Also return each key's public material, read key by key.
      - V(jwk) adds RV(service_keys[].keys), a list holding the public JWK (for V(oct) keys only C(kid),
        C(kty) and C(key_ops)).
      - V(pem) adds RV(service_keys[].keys_pem), a list holding the SubjectPublicKeyInfo PEM of an RSA or
        EC key (absent for V(oct) keys).
    type: str
    choices: [jwk, pem]
seealso:
  - module: ovhcloud.kms.okms_service_key
"""

EXAMPLES = r"""
- name: Every key of the KMS
  ovhcloud.kms.okms_service_key_info:
    okms_id: "{{ kms.instance.id }}"
  register: all_keys

- name: The names of the active keys
  ansible.builtin.debug:
    msg: "{{ all_keys.service_keys | selectattr('state', 'eq', 'ACTIVE') | map(attribute='name') | list }}"

- name: The public keys of the EC keys, as PEM
  ovhcloud.kms.okms_service_key_info:
    okms_id: "{{ kms.instance.id }}"
    type: EC
    format: pem
  register: ec_keys

- name: One key by name
  ovhcloud.kms.okms_service_key_info:
    okms_id: "{{ kms.instance.id }}"
    name: app-data
"""

RETURN = r"""
service_keys:
  description:
    - The matching keys, oldest first, each in exactly the shape RV(ovhcloud.kms.okms_service_key#module:service_key)
      returns (plus RV(service_keys[].keys) or RV(service_keys[].keys_pem) with O(format)).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The key id.
      type: str
      sample: 0d4b1a7e-62d6-4c6f-8b0f-2f3cbbf8e0f1
    name:
      description: The key name.
      type: str
      sample: app-data
    type:
      description: V(oct), V(RSA) or V(EC).
      type: str
      sample: oct
    size:
      description: Size in bits of an oct or RSA key; null for EC keys (see RV(service_keys[].curve)).
      type: int
      sample: 256
    curve:
      description: Curve of an EC key; null for other keys.
      type: str
      sample: P-256
    operations:
      description: The operations the key allows.
      type: list
      elements: str
      sample: [encrypt, decrypt]
    state:
      description: V(PRE_ACTIVE), V(ACTIVE), V(DEACTIVATED), V(COMPROMISED), V(DESTROYED) or V(DESTROYED_COMPROMISED).
      type: str
      sample: ACTIVE
    created_at:
      description: Creation time (RFC 3339).
      type: str
      sample: "2025-01-01T12:00:00Z"
    iam:
      description: IAM metadata.
      type: dict
      contains:
        id:
          description: IAM resource id (the key id).
          type: str
        urn:
          description: The key's URN, to use in IAM policies.
          type: str
        display_name:
          description: The key name.
          type: str
        tags:
          description: IAM tags, names kept as they are (system tags C(ovh:type), C(ovh:state)).
          type: dict
        state:
          description: IAM resource state.
          type: str
    keys:
      description: The public JWK (members C(kid), C(kty), C(key_ops), and C(n), C(e) or C(crv), C(x), C(y)).
      returned: when O(format=jwk)
      type: list
      elements: dict
    keys_pem:
      description: The public key as PEM (C(pem) member).
      returned: when O(format=pem) and the key is RSA or EC
      type: list
      elements: dict
"""

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_service_key import service_key_to_result
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_service_key_api import ServiceKeyApi
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError


def matches(key, params):
    if params["name"] is not None and key.get("name") != params["name"]:
        return False
    if params["state"] is not None and key.get("state") != params["state"].upper():
        return False
    return params["type"] is None or key.get("type") == params["type"]


def read_keys(api, params):
    key_format = params["format"].upper() if params["format"] else None
    if params["id"]:
        keys = [api.get(params["id"], key_format)]
    else:
        keys = [key for key in api.list() if matches(key, params)]
        if key_format:
            # The list carries no public material: read each key with it.
            keys = [api.get(key["id"], key_format) for key in keys]
    # A key deleted meanwhile reads as None.
    return [key for key in keys if key is not None and matches(key, params)]


def main():
    module = OkmsModule(
        argument_spec=dict(
            okms_id=dict(type="str", required=True),
            id=dict(type="str"),
            name=dict(type="str"),
            state=dict(type="str", choices=["pre_active", "active", "deactivated", "compromised", "destroyed",
                                            "destroyed_compromised", "PRE_ACTIVE", "ACTIVE", "DEACTIVATED",
                                            "COMPROMISED", "DESTROYED", "DESTROYED_COMPROMISED"]),
            type=dict(type="str", choices=["oct", "RSA", "EC"]),
            format=dict(type="str", choices=["jwk", "pem"]),
        ),
        supports_check_mode=True,
    )
    try:
        keys = read_keys(ServiceKeyApi(module.client, module.params["okms_id"]), module.params)
    except OvhApiError as exc:
        module.fail_api_error(exc)
    module.exit_json(changed=False, service_keys=[service_key_to_result(key) for key in keys])


if __name__ == "__main__":
    main()
