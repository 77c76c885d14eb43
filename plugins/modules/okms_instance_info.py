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
  - ovhcloud.kms.attributes.api_module
  - ovhcloud.kms.attributes.info_module
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
  contains:
    id:
      description: The KMS id (okmsId).
      type: str
      sample: 5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10
    name:
      description: The display name.
      type: str
      sample: production
    region:
      description: The region.
      type: str
      sample: eu-west-rbx
    rest_endpoint:
      description: URL of the KMS REST API (data plane, mutual TLS).
      type: str
      sample: https://eu-west-rbx.okms.ovh.net
    kmip_endpoint:
      description: Host and port of the KMIP endpoint.
      type: str
      sample: eu-west-rbx.okms.ovh.net:5696
    kmip_rsa_endpoint:
      description: Host and port of the KMIP endpoint for RSA certificates.
      type: str
    swagger_endpoint:
      description: URL of the data plane's API description.
      type: str
    service_key_count:
      description: Number of service keys.
      type: int
      sample: 3
    kmip_object_count:
      description: Number of KMIP objects.
      type: int
    secret_count:
      description: Number of secrets.
      type: int
    secret_version_count:
      description: Number of secret versions.
      type: int
    iam:
      description: IAM metadata (C(id), C(urn), C(display_name), C(tags), C(state)).
      type: dict
    public_ca:
      description: PEM of the CA that issues the KMS's ECDSA access certificates.
      type: str
    public_rsa_ca:
      description: PEM of the CA that issues the KMS's RSA access certificates.
      type: str
"""

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_instance import (
    instance_to_result,
    matches,
    normalize_region,
    parse_okms_id,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_instance_api import InstanceApi
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
    try:
        okms_id = parse_okms_id(module.params["id"]) if module.params["id"] else None
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    name, region = module.params["name"], normalize_region(module.params["region"])
    api = InstanceApi(module.client)
    try:
        if okms_id:
            found = api.get(okms_id)
            instances = [found] if found and matches(found, name, region) else []
        else:
            instances = api.read_matching(name=name, region=region)
    except OvhApiError as exc:
        module.fail_api_error(exc)
    module.exit_json(changed=False, instances=[instance_to_result(resource) for resource in instances])


if __name__ == "__main__":
    main()
