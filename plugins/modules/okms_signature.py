#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: okms_signature
short_description: Sign a file or a text with an RSA or EC service key of an OVHcloud KMS
version_added: 0.1.0
description:
  - Signs the file O(src) or the text O(content) with an RSA or EC service key of an OVHcloud Key Management
    Service (OKMS), through the KMS's REST API, and writes the signature to O(dest) or returns it.
  - The digest of the message is computed on the machine running the module and only the digest is sent to the
    KMS, so the message never leaves that machine and may be of any size (the KMS itself signs at most 4 KiB).
  - The key's type, curve, operations and state, and O(alg) against the key, are checked before any signing
    request; a mismatch fails naming the option, the key and what would fit.
  - With O(dest), an existing signature that still verifies (with the KMS, for the same message, key, O(alg)
    and O(signature_format)) is kept, and nothing is signed. Otherwise the message is signed and O(dest) is
    replaced atomically (a temporary file in the same directory, renamed over it). A file that is not a
    signature at all (malformed, wrong size, another format) counts as one that does not verify.
  - The signature verifies with the key's public key alone (M(ovhcloud.kms.okms_service_key) writes it with
    O(ovhcloud.kms.okms_service_key#module:public_key_path)), with OpenSSL (C(openssl dgst -sha256 -verify))
    or C(cryptography), without the KMS.
  - Runs where the task runs (the managed host, or the controller with C(delegate_to)); O(src) and O(dest) are
    paths there. The identity signing is the certificate or token of the data-plane options, else an OAuth2
    service account (see O(config_file)); its IAM rights must allow signing with the key.
author:
  - ovhcloud.kms maintainers (@ovh)
extends_documentation_fragment:
  - ovhcloud.kms.api
  - ovhcloud.kms.data_plane
  - ovhcloud.kms.attributes
  - ovhcloud.kms.attributes.data_plane_module
attributes:
  check_mode:
    support: full
    details:
      - With O(dest), check mode never signs and writes nothing. It verifies an existing O(dest) with the KMS (a
        read) and reports a change when O(dest) would be written, or its mode, owner or group set; RV(signature)
        is then not returned.
      - Without O(dest), check mode signs and returns the signature as a real run does (signing changes no state
        in the KMS, and the signature is not thrown away).
  diff_mode:
    support: full
    details:
      - The diff says whether O(dest) holds a signature of the message that verifies (V(valid)), one that does
        not (V(invalid)) or none (V(absent)), with its mode, owner and group; not the signature's bytes.
  idempotent:
    support: full
    details:
      - With O(dest), a signature that verifies is kept, so a re-run changes nothing. Without O(dest), every run
        signs anew and reports no change (ECDSA and RSA-PSS signatures differ at each signing, all valid).
options:
  key_id:
    description:
      - The id (a UUID) of the service key that signs, an RSA or EC key allowing the V(sign) operation, in state
        V(active).
      - Exactly one of O(key_id) and O(key_name) is required.
    type: str
  key_name:
    description:
      - The name of the service key that signs. When several keys have that name, the active one is taken;
        when several are active, the module fails and lists their ids (use O(key_id)).
    type: str
  alg:
    description:
      - The signature algorithm. V(ES256), V(ES384) and V(ES512) are ECDSA with SHA-256, SHA-384 and SHA-512,
        for EC keys on the curves P-256, P-384 and P-521 respectively. V(RS256), V(RS384) and V(RS512) are RSA
        PKCS#1 v1.5, V(PS256), V(PS384) and V(PS512) RSA-PSS (salt as long as the digest), for RSA keys.
      - Defaults to the key's own algorithm - the ECDSA one of its curve, or V(RS256) for an RSA key.
      - An algorithm that does not fit the key fails, naming the algorithms that do, before any signing request.
    type: str
    choices: [ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512]
  src:
    description:
      - Path of the file to sign, on the machine running the module. Read in chunks; any size.
      - Exactly one of O(src) and O(content) is required.
    type: path
  content:
    description:
      - The text to sign, signed as its UTF-8 bytes. Any size.
      - Never logged nor returned (only its digest is sent to the KMS).
    type: str
  signature_format:
    description:
      - How the signature is written to O(dest) and returned in RV(signature).
      - V(der) - for ECDSA, an ASN.1 DER C(SEQUENCE) of the two integers r and s, what OpenSSL
        (C(openssl dgst -verify)), C(cryptography) and most libraries take.
      - V(raw) - for ECDSA, r and s side by side, each as long as the curve's order (64 bytes in all for
        P-256, 96 for P-384, 132 for P-521), as the KMS makes it and as JOSE (JWS, JWT) uses it.
      - Both are the same bytes for RSA signatures.
    type: str
    choices: [der, raw]
    default: der
  dest:
    description:
      - Path of the file to hold the signature (binary), on the machine running the module. Its directory must
        exist.
      - Kept when it holds a signature of the message that verifies; written otherwise.
      - Without O(dest), the module signs and returns the signature in RV(signature), and reports no change.
      - Must not be O(src).
    type: path
  mode:
    description:
      - Mode of O(dest), octal (V(0644)) or symbolic (V(u=rw,go=r)), as in Ansible's file modules.
      - A signature is public (it proves who signed, and reveals nothing of the key nor, for a file of any
        length, of the message), hence the default readable by all.
    type: raw
    default: "0644"
  owner:
    description:
      - Owner of O(dest). Unset keeps the user the module runs as. Must exist on the host. Requires O(dest).
    type: str
  group:
    description:
      - Group of O(dest). Unset keeps that user's group. Must exist on the host. Requires O(dest).
    type: str
notes:
  - A wrong O(alg), a key that is not RSA or EC, a key that is not active, an unreadable O(src) or an unwritable
    O(dest) fail before any signing request.
seealso:
  - module: ovhcloud.kms.okms_signature_info
  - module: ovhcloud.kms.okms_service_key
"""

EXAMPLES = r"""
- name: An EC P-256 key that signs the releases, its public key published next to them
  ovhcloud.kms.okms_service_key:
    okms_id: "{{ kms.instance.id }}"
    name: release-signing-ec
    type: EC
    curve: P-256
    public_key_path: /srv/releases/release-signing.pub.pem

# The identity signing is the OAuth2 service account of OVH_CLIENT_ID and OVH_CLIENT_SECRET here; on a host set
# up by the ovhcloud.kms.okms role, give config_file: /etc/okms/okms.yaml to sign with the host's certificate.
- name: Sign a release archive (only its SHA-256 digest is sent to the KMS); a valid signature is kept
  ovhcloud.kms.okms_signature:
    okms_id: "{{ kms.instance.id }}"
    key_name: release-signing-ec
    src: /srv/releases/myapp-1.4.2.tar.gz
    dest: /srv/releases/myapp-1.4.2.tar.gz.sig

- name: Sign a short text, r||s as JOSE uses it, and get the signature back (base64)
  ovhcloud.kms.okms_signature:
    okms_id: "{{ kms.instance.id }}"
    key_name: release-signing-ec
    content: '{"release": "1.4.2", "sha256": "see myapp-1.4.2.tar.gz.sha256"}'
    signature_format: raw
  register: manifest_signature

- name: Show it
  ansible.builtin.debug:
    msg: "{{ manifest_signature.alg }} signature: {{ manifest_signature.signature }}"
"""

RETURN = r"""
signature:
  description:
    - The signature, base64-encoded, in O(signature_format) - what O(dest) holds, or the new signature without
      O(dest).
    - Not returned in check mode when O(dest) would be written (nothing is signed then).
  returned: success, except in check mode when O(dest) would be written
  type: str
  sample: MEUCIQDgGxjW7i1UzB0nRSCnQ1TgtU1XnY1Z8TOQ8Y2x3t8sJAIgK3m8l0Nf0q2g7v0dFpTz4o9vQvM7t1a5lJZ0C7RZyqU=
alg:
  description: The signature algorithm used (O(alg), or the key's own).
  returned: success
  type: str
  sample: ES256
key_id:
  description: The id of the service key that signs.
  returned: success
  type: str
  sample: 7c1e9d52-4f0b-4c2e-9d6a-1b2c3d4e5f60
signature_format:
  description: The format of RV(signature) and of O(dest) (O(signature_format)).
  returned: success
  type: str
  sample: der
dest:
  description: The path of the signature file (O(dest)).
  returned: when O(dest) is set
  type: str
  sample: /srv/releases/myapp-1.4.2.tar.gz.sig
"""

import os

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_keys import (
    KeyUsageError,
    b64encode,
    require_operation,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_module import OkmsDataModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_files import (
    FileAttributes,
    FilePathError,
    check_file_attributes,
    check_writable,
    ensure_file,
    read_option_file,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_reconciler import Reconciler, TaskError
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_signature import (
    SIGNATURE_ARGUMENT_SPEC,
    SIGNATURE_MUTUALLY_EXCLUSIVE,
    SIGNATURE_REQUIRED_ONE_OF,
    Message,
    SigningKey,
)

ARGUMENT_SPEC = dict(
    SIGNATURE_ARGUMENT_SPEC,
    dest=dict(type="path"),
    mode=dict(type="raw", default="0644"),
    owner=dict(type="str"),
    group=dict(type="str"),
)


class SignatureRequest:
    """The task's options, checked before any request; a bad one raises TaskError naming it."""

    def __init__(self, module):
        params = module.params
        self.dest = params["dest"]
        self.mode = params["mode"]
        self.owner = params["owner"]
        self.group = params["group"]
        self.signature_format = params["signature_format"]
        if self.dest is not None:
            try:
                check_writable("dest", self.dest, read_too=True, check_mode=module.check_mode)
                check_file_attributes("mode", self.mode, self.owner, self.group)
            except FilePathError as exc:
                raise TaskError(str(exc))
            if params["src"] is not None and os.path.realpath(params["src"]) == os.path.realpath(self.dest):
                raise TaskError("dest %s is src: the signature would replace the file it signs; give another "
                                "path" % self.dest)
        self.message = Message(src=params["src"], content=params["content"])


class SignatureReconciler(Reconciler):
    """Keeps a signature of the message in dest that verifies, or signs the message."""

    def reconcile(self):
        request = self.request = SignatureRequest(self.module)
        try:
            return self.converge(request)
        finally:
            request.message.close()

    def converge(self, request):
        key = SigningKey.find(self.module.data_client, self.params, "sign")
        digest = request.message.digest(key.alg)
        result = dict(alg=key.alg, key_id=key.id, signature_format=request.signature_format)
        if request.dest is None:
            result["signature"] = b64encode(key.sign(digest, request.signature_format))
            return result

        result["dest"] = request.dest
        try:
            existing = read_option_file("dest", request.dest)
        except FilePathError as exc:
            raise TaskError(str(exc))
        state = "absent"
        if existing is not None:
            try:
                require_operation(key.key, "verify", ": okms_signature verifies the signature in dest to keep it")
            except KeyUsageError as exc:
                raise TaskError(str(exc))
            state = "valid" if key.verify(digest, existing, request.signature_format) else "invalid"
        before = self.describe(request.dest, state, key)

        signature = None
        if state == "valid":
            signature = existing
            self.changed = ensure_file(self.module, request.dest, existing, request.mode, request.owner,
                                       request.group).changed
        elif self.check_mode:
            self.changed = True
        else:
            signature = key.sign(digest, request.signature_format)
            ensure_file(self.module, request.dest, signature, request.mode, request.owner, request.group)
            self.changed = True
        if signature is not None:
            result["signature"] = b64encode(signature)
        if self.module._diff:
            after = self.describe(request.dest, "valid", key, predicted=self.check_mode)
            result["diff"] = dict(before_header=request.dest, after_header=request.dest, before=before, after=after)
        return result

    def describe(self, path, state, key, predicted=False):
        """The diff text of the signature file: its attributes, then whether it verifies (never its bytes)."""
        text = "signature of %s by %s (%s, %s): %s\n" % (
            self.request.message.label, key.label, key.alg, self.request.signature_format, state)
        if state == "absent" and not predicted:
            return text
        return self.attributes_text(path, predicted) + text

    def attributes_text(self, path, predicted):
        """``# mode M, owner O, group G``: as the file is, or as a check-mode run predicts it."""
        request = self.request
        attributes = (FileAttributes.predicted(self.module, path, request.mode, request.owner, request.group)
                      if predicted else FileAttributes.of(path))
        return attributes.line("# mode %s, owner %s, group %s\n")


def main():
    module = OkmsDataModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=SIGNATURE_MUTUALLY_EXCLUSIVE,
        required_one_of=SIGNATURE_REQUIRED_ONE_OF,
        required_by=dict(owner="dest", group="dest"),
        supports_check_mode=True,
    )
    SignatureReconciler(module).run()


if __name__ == "__main__":
    main()
