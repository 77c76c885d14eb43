#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: okms_secret_info
short_description: Read the metadata and versions of secrets of the OVHcloud KMS Secret Manager
version_added: 0.1.0
description:
  - Returns one secret of an OVHcloud Key Management Service (OKMS) with its metadata and every version it
    keeps (O(path)), or every secret of the KMS, every page of them, with their metadata.
  - Never returns the data of a secret. To read it, use the P(ovhcloud.kms.okms_secret#lookup) lookup.
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
  path:
    description:
      - Only the secret with this path, with its versions (RV(secrets[].versions)). A missing secret gives an
        empty list.
      - Not set, every secret of the KMS, without their versions.
    type: str
seealso:
  - module: ovhcloud.kms.okms_secret
  - plugin: ovhcloud.kms.okms_secret
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Every secret of the KMS
  ovhcloud.kms.okms_secret_info:
    okms_id: "{{ kms.instance.id }}"
  register: all_secrets

- name: The paths of the secrets under app/
  ansible.builtin.debug:
    msg: "{{ all_secrets.secrets | map(attribute='path') | select('match', 'app/') | list }}"

- name: One secret with its versions
  ovhcloud.kms.okms_secret_info:
    okms_id: "{{ kms.instance.id }}"
    path: app/db
  register: db_secret

- name: The versions that can still be read
  ansible.builtin.debug:
    msg: "{{ db_secret.secrets[0].versions | selectattr('state', 'eq', 'ACTIVE') | map(attribute='id') | list }}"
  when: db_secret.secrets | length > 0
"""

RETURN = r"""
secrets:
  description:
    - The secrets, by path, each in the shape RV(ovhcloud.kms.okms_secret#module:secret) returns (plus
      RV(secrets[].versions) with O(path)). Never their data.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The secret's path.
      type: str
      sample: app/db
    metadata:
      description: The secret's metadata.
      type: dict
      contains:
        cas_required:
          description: Whether every data write needs check-and-set (V(false) leaves it to the KMS).
          type: bool
          sample: false
        created_at:
          description: Creation time (RFC 3339); null in check mode for a secret still to create.
          type: str
          sample: "2025-01-01T12:00:00.000000Z"
        current_version:
          description: The number of the current version (the latest written).
          type: int
          sample: 3
        custom_metadata:
          description: The secret's custom metadata.
          type: dict
          sample: {owner: team-data}
        deactivate_version_after:
          description: How long a version stays active (V(0s) leaves it to the KMS).
          type: str
          sample: 0s
        max_versions:
          description: How many versions are kept (V(0) leaves it to the KMS).
          type: int
          sample: 10
        oldest_version:
          description: The oldest version kept, V(0) until a version was deleted for O(ovhcloud.kms.okms_secret#module:max_versions).
          type: int
          sample: 0
        updated_at:
          description: Time of the last change (RFC 3339); null in check mode for a secret still to create.
          type: str
          sample: "2025-01-02T08:30:00.000000Z"
    version:
      description:
        - The current version, without its data; null in a list of every secret of a KMS.
      type: dict
      contains:
        id:
          description: The version number.
          type: int
          sample: 3
        state:
          description: V(ACTIVE), V(DEACTIVATED) (its data cannot be read) or V(DELETED) (its data is gone).
          type: str
          sample: ACTIVE
        created_at:
          description: When the version was written (RFC 3339).
          type: str
          sample: "2025-01-02T08:30:00.000000Z"
        deactivated_at:
          description: When the version was deactivated or deleted; null while it is active.
          type: str
          sample: null
    iam:
      description: IAM metadata; null in check mode for a secret still to create.
      type: dict
      contains:
        id:
          description: IAM resource id of the secret.
          type: str
        urn:
          description: The secret's URN, to use in IAM policies.
          type: str
          sample: urn:v1:eu:resource:okms:5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10/secret/app/db
        display_name:
          description: The secret's path.
          type: str
        tags:
          description: IAM tags.
          type: dict
        state:
          description: IAM resource state.
          type: str
    versions:
      description: Every version the secret keeps, oldest first, without their data.
      returned: when O(path) is given
      type: list
      elements: dict
      contains:
        id:
          description: The version number.
          type: int
          sample: 3
        state:
          description: V(ACTIVE), V(DEACTIVATED) (its data cannot be read) or V(DELETED) (its data is gone).
          type: str
          sample: ACTIVE
        created_at:
          description: When the version was written (RFC 3339).
          type: str
          sample: "2025-01-02T08:30:00.000000Z"
        deactivated_at:
          description: When the version was deactivated or deleted; null while it is active.
          type: str
          sample: null
"""

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_secret import (
    SecretValidationError,
    secret_to_result,
    validate_path,
    version_to_result,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_secret_api import SecretApi
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError


def read_secret(api, path):
    """``[secret]`` with its versions and its current version, or ``[]`` when it does not exist."""
    secret = api.get(path)
    versions = api.versions(path) if secret is not None else None
    if secret is None or versions is None:
        return []
    current = secret["metadata"].get("currentVersion")
    secret["version"] = next((version for version in versions if version.get("id") == current), None)
    result = secret_to_result(secret)
    result["versions"] = [version_to_result(version) for version in sorted(versions, key=lambda v: v["id"])]
    return [result]


def main():
    module = OkmsModule(
        argument_spec=dict(
            okms_id=dict(type="str", required=True),
            path=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    if path is not None:
        try:
            validate_path(path)
        except SecretValidationError as exc:
            module.fail_json(msg=str(exc))
    api = SecretApi(module.client, module.params["okms_id"])
    try:
        if path is not None:
            secrets = read_secret(api, path)
        else:
            secrets = sorted((secret_to_result(secret) for secret in api.list()), key=lambda s: s["path"])
    except OvhApiError as exc:
        module.fail_api_error(exc)
    module.exit_json(changed=False, secrets=secrets)


if __name__ == "__main__":
    main()
