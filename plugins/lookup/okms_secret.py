# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: okms_secret
short_description: Read the data of secrets of the OVHcloud KMS Secret Manager
version_added: 0.1.0
description:
  - Returns the data of the current version of each secret named in the terms (a dict per secret), of the
    version O(version), or one value of it (O(field)), read at run time from the OVHcloud API (control plane).
  - Runs on the controller, with the same connection settings as the collection's modules (see the notes); it
    needs no access certificate.
  - The values are marked unsafe, so a secret that holds C({{ }}) is never rendered as a template.
  - A missing secret or version, a deactivated or deleted version, a missing field and a request the API
    refuses each fail with a message naming the path and the KMS (never a value).
author:
  - ovhcloud.kms maintainers (@ovh)
extends_documentation_fragment:
  - ovhcloud.kms.api
  - ovhcloud.kms.api.plugins
options:
  _terms:
    description:
      - The paths of the secrets to read, for example C(app/db).
    type: list
    elements: str
    required: true
  okms_id:
    description:
      - The id of the KMS holding the secrets (see M(ovhcloud.kms.okms_instance)).
    type: str
    required: true
  version:
    description:
      - Read this version of every secret instead of its current one. It must be active.
    type: int
  field:
    description:
      - Return only the value of this key of each secret's data, instead of the whole dict.
    type: str
notes:
  - Lookups do not read C(module_defaults). Give the connection in the lookup's options, the
    C(okms_api_*) variables (as for the P(ovhcloud.kms.okms#role) role), the E(OVH_*) environment
    variables (what the collection's AWX credential type injects) or the C(ovh.conf) files.
  - As with every lookup, C(lookup()) returns the value itself for one term, and joins several string
    values with commas; use C(query()) (or O(ignore:wantlist=true)) to get a list.
  - Lookups run while a task's options are templated, so the values reach whatever the task does with
    them. Set C(no_log) on a task that would show them (C(ansible.builtin.set_fact) shows its facts with C(-v)).
seealso:
  - module: ovhcloud.kms.okms_secret
  - module: ovhcloud.kms.okms_secret_info
"""

EXAMPLES = r"""
- name: Write the application's database settings with the password read from the KMS at run time
  ansible.builtin.copy:
    dest: /etc/myapp/database.env
    content: |
      DB_USER={{ lookup('ovhcloud.kms.okms_secret', 'app/db', field='username', okms_id=kms.instance.id) }}
      DB_PASSWORD={{ lookup('ovhcloud.kms.okms_secret', 'app/db', field='password', okms_id=kms.instance.id) }}
    mode: "0600"
  no_log: true

- name: Read the whole secret once, as a dict
  ansible.builtin.set_fact:
    db: "{{ lookup('ovhcloud.kms.okms_secret', 'app/db', okms_id=kms.instance.id) }}"
  no_log: true

- name: Use it in a template without showing it
  ansible.builtin.copy:
    dest: /etc/myapp/database.url
    content: "postgresql://{{ db.username }}:{{ db.password }}@db.example.net:{{ db.port }}/app\n"
    mode: "0600"
  no_log: true

- name: Read the first version, for example to roll a password back
  ansible.builtin.set_fact:
    first_db_password: "{{ lookup('ovhcloud.kms.okms_secret', 'app/db', version=1, field='password', okms_id=kms.instance.id) }}"
  no_log: true

- name: Several secrets at once, as a list
  ansible.builtin.set_fact:
    app_secrets: "{{ query('ovhcloud.kms.okms_secret', 'app/db', 'app/api-token', okms_id=kms.instance.id) }}"
  no_log: true

- name: With the API credentials in variables (here from Ansible Vault), the role's okms_api_* variables
  ansible.builtin.set_fact:
    api_token: "{{ lookup('ovhcloud.kms.okms_secret', 'app/api-token', field='token', okms_id=kms.instance.id) }}"
  no_log: true
  vars:
    # The endpoint still comes from OVH_ENDPOINT or ovh.conf; okms_api_endpoint would set it too.
    okms_api_client_id: "{{ vault_ovh_client_id }}"
    okms_api_client_secret: "{{ vault_ovh_client_secret }}"
"""

RETURN = r"""
_raw:
  description:
    - For each term, the data of the secret (a dict), or with O(field) the value of that key.
  type: list
  elements: raw
"""

from ansible.errors import AnsibleLookupError
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_secret import (
    NUMBER_MAX,
    SecretValidationError,
    validate_path,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_secret_api import SecretApi
from ansible_collections.ovhcloud.kms.plugins.plugin_utils.okms_lookup import OkmsLookupBase


class LookupModule(OkmsLookupBase):
    """Each term is a secret path; the result is its data, or one field of it, marked unsafe."""

    def lookup(self, terms, variables):
        okms_id = self.get_option("okms_id")
        if not okms_id:
            raise AnsibleLookupError("okms_id is required: the id of the KMS that holds the secrets")
        version = self.get_option("version")
        if version is not None and not 1 <= version <= NUMBER_MAX:
            raise AnsibleLookupError("version must be a version number from 1 to %d, got %s" % (NUMBER_MAX, version))
        field = self.get_option("field")
        api = SecretApi(self.api_client(), okms_id)
        results = []
        for term in terms:
            try:
                path = validate_path(term, option="secret path")
            except SecretValidationError as exc:
                raise AnsibleLookupError("%s (KMS %s)" % (exc, okms_id))
            data = self.read_data(api, path, version)
            if field is not None:
                if field not in data:
                    raise AnsibleLookupError(
                        "%s has no field '%s' in %s; its fields are: %s"
                        % (api.label(path), field, "version %d" % version if version else "its current version",
                           ", ".join(sorted(data)) or "none"))
                data = data[field]
            # Never templated afterwards: a secret may well contain "{{".
            results.append(wrap_var(data))
        return results

    @staticmethod
    def read_data(api, path, version):
        """The data of the version asked for, or an AnsibleLookupError naming the path and the KMS."""
        secret = api.get(path, include_data=True, version=version)
        if secret is None:
            if not api.kms_exists():
                raise AnsibleLookupError("%s cannot be read: KMS %s does not exist (check okms_id)"
                                         % (api.label(path), api.okms_id))
            if version is not None and api.get(path) is not None:
                raise AnsibleLookupError("%s has no version %d (never written, or deleted for good to keep only "
                                         "maxVersions versions)" % (api.label(path), version))
            raise AnsibleLookupError("%s does not exist" % api.label(path))
        found = secret.get("version") or {}
        number = found.get("id", version)
        state = found.get("state")
        if state == "DEACTIVATED":
            raise AnsibleLookupError(
                "version %s of %s is deactivated: its data cannot be read until the version is reactivated%s"
                % (number, api.label(path), "" if version else ", or read an active version with version="))
        if state == "DELETED":
            raise AnsibleLookupError("version %s of %s is deleted: its data is gone for good%s"
                                     % (number, api.label(path), "" if version else "; read another version with version="))
        data = found.get("data")
        if not isinstance(data, dict):
            raise AnsibleLookupError("version %s of %s came without its data (state %s)"
                                     % (number, api.label(path), state))
        return data
