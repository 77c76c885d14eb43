#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: okms_credential_info
short_description: List the access credentials of an OVHcloud KMS
version_added: 0.1.0
description:
  - Returns the access credentials (client certificates) of a KMS, every page of them, one by O(id),
    or those matching O(name), O(status) and O(expires_within_days).
  - Each credential has the shape M(ovhcloud.kms.okms_credential) returns. Private keys are never returned,
    since the API only gives them once, at creation.
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
      - The id of the KMS (okmsId, a UUID).
    type: str
    required: true
  id:
    description:
      - Return only the credential with this id, a UUID (an empty list when there is none).
    type: str
  name:
    description:
      - Return only credentials with this name.
    type: str
  status:
    description:
      - Return only credentials in one of these statuses.
    type: list
    elements: str
    choices: [CREATING, READY, EXPIRED, DELETING, ERROR]
  expires_within_days:
    description:
      - Return only credentials that expire within this many days from now (expired ones included).
      - Now is the API server's time (from its answers), not the clock of the host running the module.
    type: int
requirements:
  - cryptography
seealso:
  - module: ovhcloud.kms.okms_credential
"""

EXAMPLES = r"""
- name: Find the credentials to renew within a month
  ovhcloud.kms.okms_credential_info:
    okms_id: "{{ kms.instance.id }}"
    status: [READY]
    expires_within_days: 30
  register: expiring

- name: Show their names
  ansible.builtin.debug:
    msg: "{{ expiring.credentials | map(attribute='name') | list }}"
"""

RETURN = r"""
credentials:
  description: The matching credentials, oldest first.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The credential id.
      type: str
      sample: 2b7ed1fa-43a3-4a8a-9c4b-d0a3ba1fd55a
    name:
      description: Its name.
      type: str
      sample: web1
    description:
      description: Its description.
      type: str
      sample: Access for the app servers
    identity_urns:
      description: The identities it acts as.
      type: list
      elements: str
      sample: [urn:v1:eu:identity:account:xx1111-ovh]
    status:
      description: V(CREATING), V(READY), V(EXPIRED), V(DELETING) or V(ERROR).
      type: str
      sample: READY
    from_csr:
      description: Whether it was issued from a CSR.
      type: bool
      sample: true
    certificate_type:
      description: V(ECDSA) or V(RSA).
      type: str
      sample: ECDSA
    created_at:
      description: When it was created (RFC 3339).
      type: str
      sample: "2025-01-01T12:00:00Z"
    expired_at:
      description: When its certificate expires (RFC 3339).
      type: str
      sample: "2026-01-01T12:00:00Z"
    certificate_pem:
      description: The certificate (PEM); V(null) while CREATING.
      type: str
      sample: "-----BEGIN CERTIFICATE-----\n..."
"""

from ansible_collections.ovhcloud.kms.plugins.module_utils.cryptography_dependency import require_cryptography
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential import (
    STATUSES,
    CredentialOptionError,
    credential_to_result,
    filter_credentials,
    parse_api_datetime,
    utc_now,
    validate_uuid,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential_api import CredentialApi
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError

ARGUMENT_SPEC = dict(
    okms_id=dict(type="str", required=True),
    id=dict(type="str"),
    name=dict(type="str"),
    status=dict(type="list", elements="str", choices=list(STATUSES)),
    expires_within_days=dict(type="int"),
)


def main():
    module = OkmsModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    require_cryptography(module)
    params = module.params
    try:
        validate_uuid("okms_id", params["okms_id"], "a KMS")
        if params["id"] is not None:
            validate_uuid("id", params["id"], "a credential")
    except CredentialOptionError as exc:
        module.fail_json(msg="%s (nothing was sent to the API)" % exc)
    api = CredentialApi(module.client, params["okms_id"])
    try:
        if params["id"]:
            credentials = [c for c in [api.get(params["id"])] if c is not None]
        else:
            credentials = api.list()
    except OvhApiError as exc:
        module.fail_api_error(exc)
    # Expiry by the server's clock: a wrong local clock must not change what "expires within" means.
    selected = filter_credentials(credentials, name=params["name"], statuses=params["status"],
                                  expires_within_days=params["expires_within_days"],
                                  now=api.server_now() or utc_now())
    selected.sort(key=lambda c: (parse_api_datetime(c["createdAt"]), c["id"]))
    module.exit_json(changed=False, credentials=[credential_to_result(c) for c in selected])


if __name__ == "__main__":
    main()
