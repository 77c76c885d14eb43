#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: okms_signature_info
short_description: Verify a signature of a file or a text with an RSA or EC service key of an OVHcloud KMS
version_added: 0.1.0
description:
  - Says whether a signature (O(signature) or O(signature_file)) is the signature of the file O(src) or the text
    O(content) by an RSA or EC service key of an OVHcloud Key Management Service (OKMS), as
    M(ovhcloud.kms.okms_signature) makes them, by asking the KMS through its REST API.
  - The digest of the message is computed on the machine running the module and only the digest is sent to the
    KMS, so the message never leaves that machine and may be of any size.
  - A signature that does not verify - altered, made for another message, by another key or with another
    algorithm, malformed, of the wrong size - gives RV(valid=false); it is not an error. An O(alg) that does not
    fit the key is an error, raised before any request to verify.
  - Runs where the task runs (the managed host, or the controller with C(delegate_to)); O(src) and
    O(signature_file) are paths there. The identity asking is the certificate or token of the data-plane
    options, else an OAuth2 service account (see O(config_file)); its IAM rights must allow verifying with the key.
author:
  - ovhcloud.kms maintainers (@ovh)
extends_documentation_fragment:
  - ovhcloud.kms.api
  - ovhcloud.kms.data_plane
  - ovhcloud.kms.attributes
  - ovhcloud.kms.attributes.data_plane_module
  - ovhcloud.kms.attributes.info_module
options:
  key_id:
    description:
      - The id (a UUID) of the service key whose signature it should be, an RSA or EC key allowing the
        V(verify) operation. A key taken out of service (V(deactivated) or V(compromised)) still verifies.
      - Exactly one of O(key_id) and O(key_name) is required.
    type: str
  key_name:
    description:
      - The name of the service key. When several keys have that name, the active one is taken; when several
        are active, the module fails and lists their ids (use O(key_id)).
    type: str
  alg:
    description:
      - The signature algorithm. V(ES256), V(ES384) and V(ES512) are ECDSA with SHA-256, SHA-384 and SHA-512,
        for EC keys on the curves P-256, P-384 and P-521 respectively. V(RS256), V(RS384) and V(RS512) are RSA
        PKCS#1 v1.5, V(PS256), V(PS384) and V(PS512) RSA-PSS (salt as long as the digest), for RSA keys.
      - Defaults to the key's own algorithm - the ECDSA one of its curve, or V(RS256) for an RSA key.
      - An algorithm that does not fit the key fails, naming the algorithms that do.
    type: str
    choices: [ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512]
  src:
    description:
      - Path of the signed file, on the machine running the module. Read in chunks; any size.
      - Exactly one of O(src) and O(content) is required.
    type: path
  content:
    description:
      - The signed text, as its UTF-8 bytes. Any size.
      - Never logged nor returned (only its digest is sent to the KMS).
    type: str
  signature:
    description:
      - The signature, base64-encoded (white space is ignored), such as RV(ovhcloud.kms.okms_signature#module:signature).
      - Exactly one of O(signature) and O(signature_file) is required. A value that is not base64 fails.
    type: str
  signature_file:
    description:
      - Path of a file holding the signature (binary), such as O(ovhcloud.kms.okms_signature#module:dest).
      - A missing or unreadable file fails.
    type: path
  signature_format:
    description:
      - The format of the signature.
      - V(der) - for ECDSA, an ASN.1 DER C(SEQUENCE) of the two integers r and s, as OpenSSL and C(cryptography)
        make them.
      - V(raw) - for ECDSA, r and s side by side, each as long as the curve's order, as the KMS and JOSE make them.
      - Both are the same bytes for RSA signatures. A signature in the other format gives RV(valid=false).
    type: str
    choices: [der, raw]
    default: der
notes:
  - A wrong O(alg), a key that is not RSA or EC, a key that is not active, an unreadable O(src) or
    O(signature_file) and an O(signature) that is not base64 fail before any request to verify.
seealso:
  - module: ovhcloud.kms.okms_signature
  - module: ovhcloud.kms.okms_service_key
"""

EXAMPLES = r"""
- name: Sign the release where it is built (see ovhcloud.kms.okms_signature)
  ovhcloud.kms.okms_signature:
    okms_id: "{{ kms.instance.id }}"
    key_name: release-signing-ec
    src: /srv/releases/myapp-1.4.2.tar.gz
    dest: /srv/releases/myapp-1.4.2.tar.gz.sig
  register: release_signature

- name: Check the archive against its signature file before installing it
  ovhcloud.kms.okms_signature_info:
    okms_id: "{{ kms.instance.id }}"
    key_name: release-signing-ec
    src: /srv/releases/myapp-1.4.2.tar.gz
    signature_file: /srv/releases/myapp-1.4.2.tar.gz.sig
  register: release_check

- name: Refuse an archive whose signature does not verify
  ansible.builtin.assert:
    that: release_check.valid
    fail_msg: myapp-1.4.2.tar.gz is not signed by the release-signing-ec key

- name: Check a signature given as base64, here the one okms_signature returned
  ovhcloud.kms.okms_signature_info:
    okms_id: "{{ kms.instance.id }}"
    key_name: release-signing-ec
    alg: ES256
    src: /srv/releases/myapp-1.4.2.tar.gz
    signature: "{{ release_signature.signature }}"
  register: returned_check
"""

RETURN = r"""
valid:
  description:
    - Whether the signature is the key's signature of the message with RV(alg).
    - V(false) for any signature that does not verify, including malformed ones and ones of the wrong size.
  returned: success
  type: bool
  sample: true
alg:
  description: The signature algorithm checked (O(alg), or the key's own).
  returned: success
  type: str
  sample: ES256
key_id:
  description: The id of the service key.
  returned: success
  type: str
  sample: 7c1e9d52-4f0b-4c2e-9d6a-1b2c3d4e5f60
signature_format:
  description: The format the signature was read in (O(signature_format)).
  returned: success
  type: str
  sample: der
"""

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_keys import KeyUsageError, b64decode
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_module import OkmsDataModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_files import FilePathError, read_option_file
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
    # A signature is public.
    signature=dict(type="str", no_log=False),
    signature_file=dict(type="path"),
)


def read_signature(params):
    """The signature's bytes, from the option or the file; TaskError naming the option when unusable."""
    if params["signature_file"] is None:
        try:
            return b64decode("".join(params["signature"].split()), "signature")
        except KeyUsageError as exc:
            raise TaskError(str(exc))
    try:
        signature = read_option_file("signature_file", params["signature_file"])
    except FilePathError as exc:
        raise TaskError(str(exc))
    if signature is None:
        raise TaskError("signature_file %s does not exist" % params["signature_file"])
    return signature


class SignatureCheck(Reconciler):
    """Verifies one signature; reads only."""

    def reconcile(self):
        signature = read_signature(self.params)
        message = Message(src=self.params["src"], content=self.params["content"])
        try:
            key = SigningKey.find(self.module.data_client, self.params, "verify")
            valid = key.verify(message.digest(key.alg), signature, self.params["signature_format"])
        finally:
            message.close()
        return dict(valid=valid, alg=key.alg, key_id=key.id, signature_format=self.params["signature_format"])


def main():
    module = OkmsDataModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=SIGNATURE_MUTUALLY_EXCLUSIVE + [["signature", "signature_file"]],
        required_one_of=SIGNATURE_REQUIRED_ONE_OF + [["signature", "signature_file"]],
        supports_check_mode=True,
    )
    SignatureCheck(module).run()


if __name__ == "__main__":
    main()
