#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: okms_host_key
short_description: Keep the private key of an OKMS access certificate on the host, and return its CSR
version_added: 0.1.0
description:
  - Makes sure the host holds a private key for an OVHcloud KMS access certificate (C(domain.key)),
    generating it on the host when missing, and returns a certificate signing request (CSR) for it.
  - Pass the CSR to M(ovhcloud.kms.okms_credential) with O(ovhcloud.kms.okms_credential#module:private_key_source=csr),
    run on the controller; the private key never leaves the host.
  - Runs on the target and needs only Python and the C(cryptography) library there; it does not talk to
    the OVHcloud API. The C(ovhcloud.kms.okms) role uses it for O(ovhcloud.kms.okms#role:main:okms_private_key_source=host).
  - With O(private_key), installs a key generated elsewhere (by M(ovhcloud.kms.okms_credential) on the
    controller, or by OVHcloud) instead of generating one.
  - The key is written atomically, through a private temporary file, with mode O(mode) (default V(0600)).
    An existing file that is not a usable key is never overwritten.
author:
  - ovhcloud.kms maintainers (@ovh)
extends_documentation_fragment:
  - ovhcloud.kms.attributes
attributes:
  check_mode:
    support: full
    details:
      - When the key is missing, check mode returns the CSR of a throw-away key, so that a following
        M(ovhcloud.kms.okms_credential) check-mode task predicts a new credential; nothing is written.
  diff_mode:
    support: full
    details: The diff shows the key file's state and the SHA-256 fingerprint of its public key, never the key.
  idempotent:
    support: full
  action_group:
    support: N/A
    membership: []
  platform:
    support: full
    platforms: posix
options:
  path:
    description:
      - Path of the private key file (PEM). Its directory must exist.
      - An existing key is read in any unencrypted form (PKCS#8, SEC1 as OVHcloud returns EC keys, or PKCS#1);
        a key the module writes is unencrypted PKCS#8.
    type: path
    required: true
  type:
    description:
      - The key type, matching the certificate type to request (V(ECDSA) is a P-256 key, V(RSA) a 3072-bit key).
    type: str
    choices: [ECDSA, RSA]
    default: ECDSA
  regenerate:
    description:
      - What to do when the file holds a valid key of another type (or an unsupported curve or size).
      - V(never) fails and leaves the file alone.
      - V(type_mismatch) replaces it with a new key of O(type) and warns; the certificate of the old key then
        stops matching, so M(ovhcloud.kms.okms_credential) issues a new one.
      - V(always) replaces the key on every run (a forced rotation); the module then always reports a change.
      - A file that cannot be read as an unencrypted key is never replaced, whatever this option says.
    type: str
    choices: [never, type_mismatch, always]
    default: never
  private_key:
    description:
      - A PEM private key to install instead of generating one; the file is made to hold exactly this key
        (a different key in the file is replaced, and the change shows in the diff as a new fingerprint).
      - Never logged or returned.
    type: str
  common_name:
    description: Subject common name of the CSR. OVHcloud sets the certificate's subject itself.
    type: str
    default: okms-client
  mode:
    description: Mode of the key file.
    type: raw
    default: "0600"
  owner:
    description: Owner of the key file; unset keeps the connecting user.
    type: str
  group:
    description: Group of the key file; unset keeps the connecting user's group.
    type: str
requirements:
  - cryptography (on the target)
seealso:
  - module: ovhcloud.kms.okms_credential
"""

EXAMPLES = r"""
- name: Keep the host's private key and get a CSR for it
  ovhcloud.kms.okms_host_key:
    path: /etc/okms/domain.key
    owner: root
    group: myservice
    mode: "0640"
  register: host_key

- name: Issue the certificate from the controller; the key stays on the host
  ovhcloud.kms.okms_credential:
    okms_id: "{{ kms.instance.id }}"
    name: "{{ inventory_hostname }}"
    identity_urns:
      - urn:v1:eu:identity:account:xx1111-ovh
    private_key_source: csr
    csr: "{{ host_key.csr }}"
  delegate_to: localhost
  register: credential

- name: Install the certificate next to the key
  ansible.builtin.copy:
    content: "{{ credential.credential.certificate_pem }}"
    dest: /etc/okms/client.cert
    mode: "0644"
"""

RETURN = r"""
csr:
  description: PEM certificate signing request for the key.
  returned: success
  type: str
  sample: "-----BEGIN CERTIFICATE REQUEST-----\nMIH...\n-----END CERTIFICATE REQUEST-----\n"
public_key_fingerprint:
  description: SHA-256 fingerprint of the public key (DER SubjectPublicKeyInfo).
  returned: success
  type: str
  sample: sha256:4f8b...
type:
  description: The key type.
  returned: success
  type: str
  sample: ECDSA
generated:
  description: Whether a new key was generated (or would be, in check mode).
  returned: success
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    CredentialOptionError,
    PrivateKeyFileError,
    build_csr,
    generate_private_key,
    key_certificate_type,
    load_private_key,
    private_key_pem,
    public_key_der,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_files import ensure_file, fingerprint, read_file


def existing_key(module, path):
    """The usable key in ``path``, None when missing; fails when the file is not a key (never quoting it)."""
    content = read_file(path)
    if content is None:
        return None
    try:
        return load_private_key(content)
    except PrivateKeyFileError as exc:
        module.fail_json(msg="%s exists but %s; it is left untouched: move it away to let the module generate "
                             "a new key" % (path, exc))


def key_type_of(private_key):
    """ECDSA/RSA for a key the KMS accepts, else None."""
    try:
        return key_certificate_type(private_key.public_key())
    except CredentialOptionError:
        return None


def keep_or_generate_key(module, key):
    """(key, whether it is new): the existing key when usable, else a new one per ``regenerate``."""
    params = module.params
    if key is None or params["regenerate"] == "always":
        return generate_private_key(params["type"]), True
    current_type = key_type_of(key)
    if current_type == params["type"]:
        return key, False
    if params["regenerate"] == "never":
        module.fail_json(msg="%s holds a key of type %s, not %s; set regenerate: type_mismatch to replace it"
                             % (params["path"], current_type or "unsupported", params["type"]))
    module.warn("%s held a key of type %s, not %s: replaced by a new key"
                % (params["path"], current_type or "unsupported", params["type"]))
    return generate_private_key(params["type"]), True


def install_given_key(module, current):
    """(key, whether the file changes) for a key given in ``private_key``."""
    try:
        given = load_private_key(module.params["private_key"])
    except PrivateKeyFileError as exc:
        module.fail_json(msg="private_key cannot be used: %s" % exc)
    if key_type_of(given) is None:
        module.fail_json(msg="private_key is not a key the KMS accepts (RSA of 2048 bits or more, or EC P-256/384/521)")
    same = current is not None and public_key_der(current.public_key()) == public_key_der(given.public_key())
    return given, not same


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            type=dict(type="str", choices=["ECDSA", "RSA"], default="ECDSA"),
            regenerate=dict(type="str", choices=["never", "type_mismatch", "always"], default="never"),
            private_key=dict(type="str", no_log=True),
            common_name=dict(type="str", default="okms-client"),
            mode=dict(type="raw", default="0600"),
            owner=dict(type="str"),
            group=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography") + " (on the target host, for okms_host_key)",
                         exception=CRYPTOGRAPHY_IMPORT_ERROR)
    params = module.params
    path = params["path"]

    key = existing_key(module, path)
    before_fingerprint = fingerprint(public_key_der(key.public_key())) if key is not None else None
    if params["private_key"]:
        key, generate = install_given_key(module, key)
    else:
        key, generate = keep_or_generate_key(module, key)
    file_result = None
    if not (generate and module.check_mode):
        content = private_key_pem(key) if generate else read_file(path)
        file_result = ensure_file(module, path, content, params["mode"], params["owner"], params["group"])
    public_fingerprint = fingerprint(public_key_der(key.public_key()))
    changed = generate or file_result.changed
    result = dict(
        changed=changed,
        csr=build_csr(key, params["common_name"]),
        public_key_fingerprint=public_fingerprint,
        type=key_type_of(key),
        generated=generate,
    )
    if module._diff:
        result["diff"] = dict(
            before={"path": path, "state": "absent"} if before_fingerprint is None else
            {"path": path, "state": "file", "public_key_fingerprint": before_fingerprint},
            after={"path": path, "state": "file", "public_key_fingerprint": public_fingerprint})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
