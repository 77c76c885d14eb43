#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: okms_service_keys
short_description: Converge many service keys of an OVHcloud KMS in one task
version_added: 0.1.0
description:
  - Makes sure each key of O(keys) exists in an OVHcloud Key Management Service (OKMS) with the given
    attributes and lifecycle state, or that it is gone, in one module run.
  - Each item takes the options of M(ovhcloud.kms.okms_service_key) for a key the KMS generates, with the
    same meaning, choices and defaults; the keys are identified by name. To import key material, find a key
    by id, rename a key or write its public key to a file, use M(ovhcloud.kms.okms_service_key).
  - The KMS's keys are listed once for all items, so a run that changes nothing costs one list read (one
    request per 100 keys), whatever the number of items.
  - Every item is checked before any API call; a bad item fails the task naming it (C(keys[<index>] (<name>))),
    and nothing is sent.
  - Each key converges as with M(ovhcloud.kms.okms_service_key). A key that cannot be converged does not stop
    the others; once every key has been tried, the task fails naming each key that failed and why.
author:
  - ovhcloud.kms maintainers (@ovh)
extends_documentation_fragment:
  - ovhcloud.kms.api
  - ovhcloud.kms.attributes
  - ovhcloud.kms.attributes.api_module
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows each key's metadata (id, name, type, size, curve, operations, state), keyed by the key's
        name, never key material. A key that failed is not in the diff.
  idempotent:
    support: full
options:
  okms_id:
    description:
      - The id of the KMS holding the keys (see M(ovhcloud.kms.okms_instance)).
    type: str
    required: true
  keys:
    description:
      - The keys to converge, each named once.
      - An empty list converges nothing (no API call).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The key's name, 1 to 32 printable characters, which identifies the key. The name must be unique
            among the KMS's keys that are not destroyed; when two keys share it, that key fails and the error
            lists their ids.
        type: str
        required: true
      state:
        description:
          - V(present) creates the key when it is missing, then applies O(keys[].key_state).
          - V(absent) deletes the key. Deleting is permanent and every ciphertext made with the key can never
            be decrypted again. An active key is only deleted with O(keys[].force=true). A missing key is not a
            change.
        type: str
        choices: [present, absent]
        default: present
      type:
        description:
          - The type of key the KMS generates. V(oct) is a symmetric AES key (encryption or key wrapping),
            V(RSA) and V(EC) are signing key pairs.
          - Required to create a key.
          - When the key exists, O(keys[].type), O(keys[].size), O(keys[].curve) and O(keys[].operations),
            defaults included, are compared with it and any difference fails that key. Without O(keys[].type),
            they are not compared.
        type: str
        choices: [oct, RSA, EC]
      size:
        description:
          - The key size in bits. V(oct) takes V(128), V(192) or V(256) (default V(256)); V(RSA) takes V(2048),
            V(3072) or V(4096) (default V(2048)).
          - V(EC) keys take no size (they have only a curve; the API returns their size as null).
        type: int
      curve:
        description:
          - The curve of an V(EC) key. Only for V(EC) keys.
          - Defaults to V(P-256) for V(EC) keys.
        type: str
        choices: [P-256, P-384, P-521]
      operations:
        description:
          - What the key may be used for. V(oct) keys take V([encrypt, decrypt]) (the default) or
            V([wrapKey, unwrapKey]); V(RSA) and V(EC) keys take V([sign, verify]) (the default). The order
            does not matter.
        type: list
        elements: str
        choices: [encrypt, decrypt, sign, verify, wrapKey, unwrapKey]
      context:
        description:
          - Free text bound to the key at creation (at most 64 printable characters).
          - The API never returns it, so it cannot be compared with an existing key; it is only sent when the
            key is created. Given for a key that already exists, it is not sent and the module warns.
        type: str
      key_state:
        description:
          - The lifecycle state the key must be in. V(active) keys encrypt and sign; V(deactivated) and
            V(compromised) keys only decrypt and verify.
          - When not set, the state of an existing key is left alone and a new key is active.
          - A compromised key can be reactivated but not moved to V(deactivated).
        type: str
        choices: [active, deactivated, compromised]
      deactivation_reason:
        description:
          - Why the key is deactivated, in lower or upper case. One of V(unspecified),
            V(affiliation_changed), V(superseded), V(cessation_of_operation), V(privilege_withdrawn)
            for O(keys[].key_state=deactivated) (default V(unspecified)), or V(key_compromise),
            V(ca_compromise) for O(keys[].key_state=compromised) (default V(key_compromise)).
          - Also used when O(keys[].force=true) deactivates an active key before deleting it.
          - Only sent when the key changes state.
        type: str
      force:
        description:
          - With O(keys[].state=absent), deactivate an active key before deleting it. Without it, deleting an
            active key fails that key.
        type: bool
        default: false
notes:
  - Like M(ovhcloud.kms.okms_service_key), before creating a key the module reads the name's absence a second
    time (a new listing for each key to create), and after creating it, when another key of the same name
    appeared meanwhile, the older key is kept and the one just created is deactivated and deleted.
  - A write whose answer is lost is settled in the same run by re-reading the key, as with
    M(ovhcloud.kms.okms_service_key).
seealso:
  - module: ovhcloud.kms.okms_service_key
  - module: ovhcloud.kms.okms_service_key_info
  - module: ovhcloud.kms.okms_instance
"""

EXAMPLES = r"""
- name: The keys of an application, converged in one task
  ovhcloud.kms.okms_service_keys:
    okms_id: "{{ kms.instance.id }}"
    keys:
      - name: orders-data
        type: oct
      - name: orders-wrapping
        type: oct
        size: 128
        operations: [wrapKey, unwrapKey]
      - name: orders-signing
        type: EC
        curve: P-384
      - name: orders-releases
        type: RSA
        size: 3072
        context: release signing

- name: Retire keys in the same task (deactivate one, delete one that is no longer used)
  ovhcloud.kms.okms_service_keys:
    okms_id: "{{ kms.instance.id }}"
    keys:
      - name: orders-releases
        key_state: deactivated
        deactivation_reason: superseded
      - name: orders-2023
        state: absent
        force: true

- name: Converge keys, then tell which ones failed without stopping the play
  ovhcloud.kms.okms_service_keys:
    okms_id: "{{ kms.instance.id }}"
    keys:
      - name: orders-data
        type: oct
      - name: orders-signing
        type: EC
        curve: P-384
  register: orders_keys
  ignore_errors: true

- name: Name the keys that could not be converged
  ansible.builtin.debug:
    msg: "{{ orders_keys.service_keys | selectattr('failed') | map(attribute='name') | list }}"
"""

RETURN = r"""
service_keys:
  description:
    - One item per item of O(keys), in the same order, also when the task fails.
  returned: when the items of O(keys) are valid
  type: list
  elements: dict
  contains:
    name:
      description: The key name, as given in O(keys).
      type: str
      sample: orders-data
    changed:
      description: Whether this key changed (or would change, in check mode).
      type: bool
      sample: false
    failed:
      description: Whether this key could not be converged.
      type: bool
      sample: false
    msg:
      description: Why this key could not be converged.
      type: str
      returned: when RV(service_keys[].failed) is true
      sample: "service key orders-data (0d4b1a7e-62d6-4c6f-8b0f-2f3cbbf8e0f1) is ACTIVE and was not deleted: ..."
    service_key:
      description:
        - The key as M(ovhcloud.kms.okms_service_key) returns it in RV(ovhcloud.kms.okms_service_key#module:service_key),
          the API's description in snake_case, re-read after a change.
        - Empty after O(keys[].state=absent), and when the key failed. In check mode, when the key would be
          created, it holds the requested attributes and no id.
      type: dict
      sample:
        id: 0d4b1a7e-62d6-4c6f-8b0f-2f3cbbf8e0f1
        name: orders-data
        type: oct
        size: 256
        curve: null
        operations: [encrypt, decrypt]
        state: ACTIVE
        created_at: "2025-01-01T12:00:00Z"
        iam:
          id: 0d4b1a7e-62d6-4c6f-8b0f-2f3cbbf8e0f1
          urn: urn:v1:eu:resource:okms:5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10/serviceKey/0d4b1a7e-62d6-4c6f-8b0f-2f3cbbf8e0f1
          display_name: orders-data
          tags: {"ovh:type": oct, "ovh:state": ACTIVE}
          state: OK
"""


from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_service_key_reconciler import ServiceKeysReconciler


def main():
    key_options = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        type=dict(type="str", choices=["oct", "RSA", "EC"]),
        size=dict(type="int"),
        curve=dict(type="str", choices=["P-256", "P-384", "P-521"]),
        operations=dict(type="list", elements="str",
                        choices=["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]),
        context=dict(type="str"),
        key_state=dict(type="str", choices=["active", "deactivated", "compromised"], no_log=False),
        deactivation_reason=dict(type="str"),
        force=dict(type="bool", default=False),
    )
    module = OkmsModule(
        argument_spec=dict(
            okms_id=dict(type="str", required=True),
            # Key names and attributes, no key material.
            keys=dict(type="list", elements="dict", required=True, options=key_options, no_log=False),
        ),
        supports_check_mode=True,
    )
    ServiceKeysReconciler(module).run()


if __name__ == "__main__":
    main()
