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
  - ovhcloud.kms.attributes.host
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
options:
  path:
    description:
      - Path of the private key file (PEM). Its directory must exist and be writable; a path that is a
        directory, or a file that cannot be read, fails naming O(path) before anything is written.
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
    description: Subject common name of the CSR, 1 to 64 characters. OVHcloud sets the certificate's subject itself.
    type: str
    default: okms-client
  mode:
    description: Mode of the key file.
    type: raw
    default: "0600"
  owner:
    description: Owner of the key file; unset keeps the connecting user. Must exist on the host.
    type: str
  group:
    description: Group of the key file; unset keeps the connecting user's group. Must exist on the host.
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovhcloud.kms.plugins.module_utils.cryptography_dependency import require_cryptography
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential import (
    CERTIFICATE_TYPES,
    PrivateKeyFileError,
    build_csr,
    generate_private_key,
    load_private_key,
    private_key_pem,
    private_key_type,
    public_key_der,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_files import (
    FilePathError,
    check_file_attributes,
    check_writable,
    ensure_file,
    fingerprint,
    read_file,
    read_option_file,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_reconciler import Reconciler, TaskError

# X.509 (RFC 5280) upper bound of a common name.
MAX_COMMON_NAME_LENGTH = 64

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    type=dict(type="str", choices=list(CERTIFICATE_TYPES), default="ECDSA"),
    regenerate=dict(type="str", choices=["never", "type_mismatch", "always"], default="never"),
    private_key=dict(type="str", no_log=True),
    common_name=dict(type="str", default="okms-client"),
    mode=dict(type="raw", default="0600"),
    owner=dict(type="str"),
    group=dict(type="str"),
)


class HostKeyRequest:
    """The task's options; a given ``private_key`` is parsed and checked here (a bad one raises TaskError)."""

    def __init__(self, params, check_mode=False):
        self.path = params["path"]
        self.type = params["type"]
        self.regenerate = params["regenerate"]
        self.common_name = params["common_name"]
        self.mode = params["mode"]
        self.owner = params["owner"]
        self.group = params["group"]
        self.given_key = None
        if not self.common_name or len(self.common_name) > MAX_COMMON_NAME_LENGTH:
            raise TaskError("common_name must be 1 to %d characters (a certificate's CN), got %d"
                            % (MAX_COMMON_NAME_LENGTH, len(self.common_name or "")))
        try:
            check_writable("path", self.path, read_too=True, check_mode=check_mode)
            check_file_attributes("mode", self.mode, self.owner, self.group)
        except FilePathError as exc:
            raise TaskError(str(exc))
        if params["private_key"]:
            try:
                self.given_key = load_private_key(params["private_key"])
            except PrivateKeyFileError as exc:
                raise TaskError("private_key cannot be used: %s" % exc)
            if private_key_type(self.given_key) is None:
                raise TaskError("private_key is not a key the KMS accepts (RSA of 2048 bits or more, or EC "
                                "P-256/384/521)")


class HostKeyReconciler(Reconciler):
    """Keeps, generates or installs the key in ``path``; the file is written only when it must change."""

    def reconcile(self):
        if self.request is None:
            self.request = HostKeyRequest(self.params, self.check_mode)
        request = self.request
        current = self.existing_key()
        if request.given_key is not None:
            key = request.given_key
            new = current is None or public_key_der(current.public_key()) != public_key_der(key.public_key())
        else:
            key, new = self.keep_or_generate(current)
        if not (new and self.check_mode):
            content = private_key_pem(key) if new else read_file(request.path)
            outcome = ensure_file(self.module, request.path, content, request.mode, request.owner, request.group)
            self.changed = self.changed or outcome.changed
        # A new key changes the file, even in check mode where it is not written.
        self.changed = self.changed or new
        public_fingerprint = fingerprint(public_key_der(key.public_key()))
        result = dict(csr=build_csr(key, request.common_name), public_key_fingerprint=public_fingerprint,
                      type=private_key_type(key), generated=new)
        if self.module._diff:
            before = {"path": request.path, "state": "absent"} if current is None else \
                {"path": request.path, "state": "file",
                 "public_key_fingerprint": fingerprint(public_key_der(current.public_key()))}
            result["diff"] = dict(before=before, after={"path": request.path, "state": "file",
                                                        "public_key_fingerprint": public_fingerprint})
        return result

    def existing_key(self):
        """The usable key in ``path``, None when missing; raises when the file is not a key (never quoting it)."""
        path = self.request.path
        try:
            content = read_option_file("path", path)
        except FilePathError as exc:
            raise TaskError(str(exc))
        if content is None:
            return None
        try:
            return load_private_key(content)
        except PrivateKeyFileError as exc:
            raise TaskError("path %s exists but %s; it is left untouched: move it away to let the module generate a "
                            "new key" % (path, exc))

    def keep_or_generate(self, current):
        """(key, whether it is new): the existing key when usable, else a new one per ``regenerate``."""
        request = self.request
        if current is None or request.regenerate == "always":
            return generate_private_key(request.type), True
        current_type = private_key_type(current)
        if current_type == request.type:
            return current, False
        if request.regenerate == "never":
            raise TaskError("path %s holds a key of type %s, but type is %s; set regenerate: type_mismatch to "
                            "replace it" % (request.path, current_type or "unsupported", request.type))
        self.warn("path %s held a key of type %s, but type is %s: replaced by a new key"
                  % (request.path, current_type or "unsupported", request.type))
        return generate_private_key(request.type), True


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    require_cryptography(module, "on the target host, for okms_host_key")
    HostKeyReconciler(module).run()


if __name__ == "__main__":
    main()
