# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: okms_decrypt
short_description: Decrypt ciphertexts made with a service key of an OVHcloud KMS
version_added: 0.1.0
description:
  - Returns the plaintext of each ciphertext in the terms, decrypted by the KMS whose key made it
    (M(ovhcloud.kms.okms_encrypt), or the KMS's C(encrypt) API), through the KMS's own REST API.
  - Meant for values kept encrypted in inventories and vars files - only the ciphertext is written there, and
    the value is decrypted at run time by whoever may use the key.
  - Runs on the controller. The KMS's REST API is reached as the identity of O(config_file) (an okms-cli
    configuration file, such as the C(okms.yaml) the P(ovhcloud.kms.okms#role) role deploys), of O(client_cert)
    and O(client_key), or of O(token); else as an OAuth2 service account (O(client_id) and O(client_secret),
    E(OVH_CLIENT_ID) and E(OVH_CLIENT_SECRET), or C(ovh.conf)), which also finds the KMS's REST endpoint.
  - The values are marked unsafe, so a plaintext that holds C({{ }}) is never rendered as a template.
  - A ciphertext decrypts only with the key that made it and the O(context) it was encrypted with; otherwise the
    lookup fails with the KMS's answer and a hint, never with the ciphertext or the plaintext.
author:
  - ovhcloud.kms maintainers (@ovh)
extends_documentation_fragment:
  - ovhcloud.kms.api
  - ovhcloud.kms.api.plugins
  - ovhcloud.kms.data_plane
options:
  _terms:
    description:
      - The ciphertexts to decrypt, JWE compact strings such as RV(ovhcloud.kms.okms_encrypt#module:ciphertext).
        Whitespace around them (the newline of a file) is ignored.
    type: list
    elements: str
    required: true
  key_id:
    description:
      - The id of the service key to decrypt with.
      - When not set, the key named in each ciphertext's header (C(kid)), which is the key that made it.
    type: str
  context:
    description:
      - The context the ciphertexts were encrypted with (O(ovhcloud.kms.okms_encrypt#module:context)), at most 64
        characters. Not set, for ciphertexts encrypted without one.
    type: str
  output:
    description:
      - V(text) returns each plaintext as a string; a plaintext that is not UTF-8 text fails, suggesting
        V(base64).
      - V(base64) returns each plaintext base64-encoded, for binary data.
    type: str
    choices: [text, base64]
    default: text
notes:
  - Lookups do not read C(module_defaults). Give the connection in the lookup's options, the C(okms_api_*)
    variables, the E(OVH_*) environment variables (what the collection's AWX credential type injects) or the
    C(ovh.conf) files.
  - As with every lookup, C(lookup()) returns the value itself for one term; use C(query()) to get a list.
  - Lookups run while a task's options are templated, so the values reach whatever the task does with them. Set
    C(no_log) on a task that would show them (C(ansible.builtin.set_fact) shows its facts with C(-v)).
seealso:
  - module: ovhcloud.kms.okms_encrypt
  - plugin: ovhcloud.kms.okms_secret
    plugin_type: lookup
"""

EXAMPLES = r"""
# In an inventory, only the ciphertext is kept; for example in group_vars/app_servers.yml:
#   db_password: "{{ lookup('ovhcloud.kms.okms_decrypt', 'eyJhbGciOiJkaXIiLCJlbmMi...', context='app/db') }}"
# The value is then decrypted each time a task uses db_password.

- name: Have an oct key for the values kept encrypted in vars files
  ovhcloud.kms.okms_service_key:
    okms_id: "{{ kms.instance.id }}"
    name: vars-values
    type: oct

- name: Encrypt a value once; its ciphertext is what goes into a vars file
  ovhcloud.kms.okms_encrypt:
    okms_id: "{{ kms.instance.id }}"
    key_name: vars-values
    plaintext: correct-horse-battery-staple
    context: app/db
  register: encrypted_password

- name: Write the application's settings with the value decrypted at run time
  ansible.builtin.copy:
    dest: /etc/myapp/db.env
    content: |
      DB_PASSWORD={{ lookup('ovhcloud.kms.okms_decrypt', db_password_ciphertext, context='app/db', okms_id=kms.instance.id) }}
    mode: "0600"
  no_log: true
  vars:
    db_password_ciphertext: "{{ encrypted_password.ciphertext }}"

- name: Binary data comes back base64-encoded with output=base64
  ansible.builtin.set_fact:
    password_b64: "{{ lookup('ovhcloud.kms.okms_decrypt', encrypted_password.ciphertext, context='app/db', okms_id=kms.instance.id, output='base64') }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description:
    - For each term, its plaintext (a string), or with O(output=base64) the plaintext base64-encoded.
  type: list
  elements: str
"""

import re

from ansible.errors import AnsibleLookupError
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_keys import (
    KeyUsageError,
    ServiceKeyOperations,
    b64encode,
    check_context,
    key_id_of_ciphertext,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import KmsApiError
from ansible_collections.ovhcloud.kms.plugins.plugin_utils.okms_lookup import OkmsLookupBase

KEY_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class LookupModule(OkmsLookupBase):
    """Each term is a ciphertext; the result is its plaintext, marked unsafe."""

    def lookup(self, terms, variables):
        key_id = self.get_option("key_id")
        context = self.get_option("context")
        output = self.get_option("output")
        if key_id is not None and not KEY_ID.match(key_id):
            raise AnsibleLookupError("key_id must be a service key id (a UUID), got %r" % key_id)
        try:
            check_context(context)
        except KeyUsageError as exc:
            raise AnsibleLookupError(str(exc))
        # Every term is checked before the first request.
        work = []
        for number, term in enumerate(terms, 1):
            ciphertext = term.strip() if isinstance(term, str) else ""
            if not ciphertext:
                raise AnsibleLookupError("term %d is not a ciphertext: give the JWE compact strings "
                                         "ovhcloud.kms.okms_encrypt returns" % number)
            made_with = key_id or key_id_of_ciphertext(ciphertext)
            if made_with is None:
                raise AnsibleLookupError("term %d is not a KMS ciphertext (a JWE compact string naming its key in "
                                         "its header); give key_id to decrypt it with a given key" % number)
            work.append((number, ciphertext, made_with))
        keys = ServiceKeyOperations(self.data_client())
        results = []
        for number, ciphertext, made_with in work:
            try:
                plaintext = keys.decrypt(made_with, ciphertext, context)
            except KmsApiError as exc:
                raise AnsibleLookupError("term %d: %s%s" % (number, exc, self.hint(exc, context)))
            except KeyUsageError as exc:
                raise AnsibleLookupError("term %d: %s" % (number, exc))
            results.append(wrap_var(self.render(plaintext, output, number)))
        return results

    @staticmethod
    def hint(exc, context):
        if exc.status == 400:
            given = "context %r" % context if context is not None else "no context"
            return ("; wrong key or context? A ciphertext decrypts only with the key that made it and the context "
                    "it was encrypted with (%s given)" % given)
        if exc.status == 404:
            return "; is it a ciphertext of this KMS (okms_id)?"
        return ""

    @staticmethod
    def render(plaintext, output, number):
        if output == "base64":
            return b64encode(plaintext)
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise AnsibleLookupError("term %d decrypts to bytes that are not UTF-8 text: give output=base64 to get "
                                     "them base64-encoded" % number)
