#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: okms_instance_info
short_description: List OVHcloud KMS instances
version_added: 0.1.0
description:
  - Returns the OVHcloud Key Management Service (OKMS) instances of the account (every page), one by
    id, or those matching a display name and/or a region.
  - Each instance has exactly the shape M(ovhcloud.kms.okms_instance) returns, public CAs included.
author:
  - ovhcloud.kms maintainers (@ovh)
extends_documentation_fragment:
  - ovhcloud.kms.api
  - ovhcloud.kms.attributes
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: N/A
  idempotent:
    support: N/A
  action_group:
    support: full
  platform:
    support: N/A
    platforms: all
options:
  id:
    description:
      - Return only the KMS with this id; an unknown id gives an empty list.
    type: str
  name:
    description:
      - Return only the instances with this display name.
    type: str
  region:
    description:
      - Return only the instances in this region, for example V(eu-west-rbx).
      - The upper-case form of older Terraform configurations, for example V(EU_WEST_SBG), is accepted
        and means the same region (V(eu-west-sbg)).
    type: str
seealso:
  - module: ovhcloud.kms.okms_instance
"""

EXAMPLES = r"""
- name: List every KMS of the account
  ovhcloud.kms.okms_instance_info:
  register: all_kms

- name: Ids of the KMS in Roubaix
  ansible.builtin.debug:
    msg: "{{ all_kms.instances | selectattr('region', 'eq', 'eu-west-rbx') | map(attribute='id') | list }}"

- name: Find the production KMS and its public CA
  ovhcloud.kms.okms_instance_info:
    name: production
    region: eu-west-rbx
  register: production

- name: Make the directory for the CA
  ansible.builtin.file:
    path: /etc/okms
    state: directory
    mode: "0755"
  when: production.instances | length == 1

- name: Save the CA that issues its access certificates
  ansible.builtin.copy:
    content: "{{ production.instances[0].public_ca }}"
    dest: /etc/okms/ca.pem
    mode: "0644"
  when: production.instances | length == 1
"""

RETURN = r"""
instances:
  description:
    - The matching instances, sorted by id, each in the shape RV(ovhcloud.kms.okms_instance#module:instance)
      of M(ovhcloud.kms.okms_instance).
  returned: always
  type: list
  elements: dict
  sample:
    - id: 5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10
      name: production
      region: eu-west-rbx
      rest_endpoint: https://eu-west-rbx.okms.ovh.net
      kmip_endpoint: eu-west-rbx.okms.ovh.net:5696
      service_key_count: 3
      public_ca: "-----BEGIN CERTIFICATE-----..."
"""

import uuid

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_instance import (
    find_instances,
    get_instance,
    instance_result,
    matches,
    normalize_region,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError


def main():
    module = OkmsModule(
        argument_spec=dict(
            id=dict(type="str"),
            name=dict(type="str"),
            region=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params["id"]:
        try:
            params["id"] = str(uuid.UUID(params["id"]))
        except ValueError:
            module.fail_json(msg="id must be a KMS id (a UUID), got '%s'" % params["id"])
    params["region"] = normalize_region(params["region"])
    try:
        if params["id"]:
            resource = get_instance(module.client, params["id"])
            instances = [resource] if resource and matches(resource, params["name"], params["region"]) else []
        else:
            found = find_instances(module.client, name=params["name"], region=params["region"])
            # The list answer carries no CA: one read per instance adds it, as okms_instance returns it.
            instances = [get_instance(module.client, r["id"]) for r in sorted(found, key=lambda r: r["id"])]
    except OvhApiError as exc:
        module.fail_api_error(exc)
    module.exit_json(changed=False, instances=[instance_result(r) for r in instances if r])


if __name__ == "__main__":
    main()
