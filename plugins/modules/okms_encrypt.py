#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: okms_encrypt
short_description: Encrypt a value or a small file with a service key of an OVHcloud KMS
version_added: 0.1.0
description:
  - Encrypts O(plaintext), or the file O(src) of the host the module runs on, with an C(oct) (symmetric)
    service key of an OVHcloud Key Management Service (OKMS), through the KMS's own REST API, and returns the
    ciphertext (RV(ciphertext), a JWE compact string) or writes it to O(dest).
  - The KMS encrypts 1 to 4096 bytes (4 KiB). For larger data, encrypt it locally with a data key.
  - O(context) is bound to the ciphertext as additional authenticated data; the same context must be given to
    decrypt it, with the P(ovhcloud.kms.okms_decrypt#lookup) lookup for example. Use it to tie a value to its
    purpose (V(app/db)), so that a ciphertext copied to another place does not decrypt there.
  - The options are checked before any request to the KMS, each failure naming the option - the plaintext's size,
    the context's length, O(dest)'s directory, mode, owner and group - and then the key (a read), which must be
    an active C(oct) key allowing C(encrypt). An C(RSA) or C(EC) key fails naming the key and its operations.
  - Without O(dest), each run encrypts and returns a new ciphertext (the KMS uses a random IV), and reports no
    change, since nothing changed anywhere.
  - With O(dest), a file that already holds a ciphertext of the plaintext with this key and this context is kept
    (the module decrypts it to know); otherwise the module encrypts and writes the ciphertext, atomically, through
    a private temporary file in the same directory renamed over O(dest), then sets O(mode), O(owner) and
    O(group). A mode, owner or group that differs is a change too. O(dest) holds a ciphertext, not a key, so a file
    that does not decrypt to the plaintext (made with another key or another context, of another plaintext, or not
    a ciphertext at all) is replaced.
  - The plaintext never appears in a result, a diff or a message.
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
      - Without O(dest), check mode encrypts and returns the ciphertext as a real run does (encrypting changes no
        state in the KMS).
      - With O(dest), when the file would be written, no encryption request is sent, nothing is written and
        RV(ciphertext) is null; a file that may already hold the ciphertext is decrypted to tell (a read).
      - An O(src) that does not exist yet (an earlier task, skipped in check mode, may create it) is not an error
        in check mode; the task warns, and reports a change when O(dest) is given.
  diff_mode:
    support: full
    details:
      - The diff shows O(dest)'s state, mode, owner and group, and what its content is (a ciphertext of the
        plaintext or not), before and after; never the plaintext nor the file's content.
  idempotent:
    support: full
    details:
      - With O(dest), a re-run keeps the file. Without O(dest), every run returns a new ciphertext and reports no
        change.
options:
  key_id:
    description:
      - The id of the service key to encrypt with.
      - Exactly one of O(key_id) and O(key_name) is required.
    type: str
  key_name:
    description:
      - The name of the service key to encrypt with. The KMS must have one key with this name (an active one
        when several share it); otherwise the module fails listing them, before encrypting.
    type: str
  plaintext:
    description:
      - The value to encrypt, sent as UTF-8. Never logged.
      - Exactly one of O(plaintext) and O(src) is required.
    type: str
  src:
    description:
      - Path of a file to encrypt, on the host the module runs on, read as bytes (at most 4096).
      - It must not be O(dest).
    type: path
  context:
    description:
      - Additional authenticated data bound to the ciphertext, at most 64 characters, such as the name of the
        value (V(app/db)). It is not secret and not stored in the ciphertext; the same context is needed to
        decrypt.
    type: str
  dest:
    description:
      - Path of a file to write the ciphertext to (one line), on the host the module runs on. Its directory must
        exist.
      - When it already holds a ciphertext of the plaintext with this key and this context, it is kept; otherwise
        it is replaced (see the description).
    type: path
  mode:
    description:
      - Mode of O(dest), octal (V(0600)) or symbolic (V(u=rw,g=r)), as in Ansible's file modules.
    type: raw
    default: "0600"
  owner:
    description: Owner of O(dest); unset keeps the connecting user. Must exist on the host.
    type: str
  group:
    description: Group of O(dest); unset keeps the connecting user's group. Must exist on the host.
    type: str
notes:
  - The KMS's REST API is called from the host the module runs on. Run it on a host with its access certificate
    (O(config_file), the C(okms.yaml) the P(ovhcloud.kms.okms#role) role deploys), or on the controller
    (delegated to C(localhost)) with an OAuth2 service account.
  - A ciphertext is no secret, so it may be kept in inventories and vars files, and decrypted at run time with the
    P(ovhcloud.kms.okms_decrypt#lookup) lookup.
  - Ansible masks the values of C(no_log) options wherever they appear in a result. A very short O(plaintext) may
    show inside a ciphertext by chance; the module then encrypts again, and fails when it keeps showing (a value
    of one or two characters).
seealso:
  - plugin: ovhcloud.kms.okms_decrypt
    plugin_type: lookup
  - module: ovhcloud.kms.okms_service_key
"""

EXAMPLES = r"""
- name: Have an oct key for the values kept encrypted in the inventory
  ovhcloud.kms.okms_service_key:
    okms_id: "{{ kms.instance.id }}"
    name: inventory-values
    type: oct

- name: Encrypt a database password on the controller, to keep its ciphertext in group_vars
  ovhcloud.kms.okms_encrypt:
    okms_id: "{{ kms.instance.id }}"
    key_name: inventory-values
    plaintext: correct-horse-battery-staple
    context: app/db
  delegate_to: localhost
  register: encrypted

- name: Show the line to put in group_vars (a ciphertext is no secret)
  ansible.builtin.debug:
    msg: >-
      db_password: "{{ '{{' }} lookup('ovhcloud.kms.okms_decrypt', '{{ encrypted.ciphertext }}',
      context='app/db') {{ '}}' }}"

- name: Keep an encrypted copy of a small file of the host (at most 4 KiB) in a ciphertext file
  ovhcloud.kms.okms_encrypt:
    okms_id: "{{ kms.instance.id }}"
    key_name: inventory-values
    src: /etc/myapp/license.key
    dest: /var/backups/myapp/license.key.jwe
    context: myapp/license
"""

RETURN = r"""
ciphertext:
  description:
    - The ciphertext, a JWE compact string whose header names the key (C(kid)).
    - With O(dest), the one the file holds. Null in check mode when O(dest) would be written, or O(src) does not
      exist yet.
  returned: success
  type: str
  sample: eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoiMGQ0YjFhN2UtNjJkNi00YzZmLThiMGYtMmYzY2JiZjhlMGYxIn0..bXlJVmlzMTJieXQ.Y2lwaGVy.dGFnMTZieXRlc2xvbmc
key_id:
  description: The id of the service key.
  returned: success
  type: str
  sample: 0d4b1a7e-62d6-4c6f-8b0f-2f3cbbf8e0f1
dest:
  description: The file the ciphertext is in, as given.
  returned: when O(dest) is given
  type: str
  sample: /var/backups/myapp/license.key.jwe
"""

import hmac
import os

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_keys import (
    PLAINTEXT_MAX_BYTES,
    KeyUsageError,
    ServiceKeyOperations,
    check_context,
    check_plaintext_size,
    key_description,
    key_id_of_ciphertext,
    key_label,
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
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import KmsApiError

ARGUMENT_SPEC = dict(
    key_id=dict(type="str"),
    key_name=dict(type="str"),
    plaintext=dict(type="str", no_log=True),
    src=dict(type="path"),
    context=dict(type="str"),
    dest=dict(type="path"),
    mode=dict(type="raw", default="0600"),
    owner=dict(type="str"),
    group=dict(type="str"),
)

# A ciphertext of 4 KiB is under 6 KB; a larger dest is not one, and is not sent to the KMS.
CIPHERTEXT_MAX_BYTES = 16384
# Fresh encryptions tried when a ciphertext happens to hold a no_log value (see the notes).
ENCRYPT_ATTEMPTS = 5


class EncryptRequest:
    """The task's options, checked before any request; a bad one raises TaskError naming it."""

    def __init__(self, module):
        params = module.params
        self.key_id = params["key_id"]
        self.key_name = params["key_name"]
        self.context = params["context"]
        self.dest = params["dest"]
        self.mode = params["mode"]
        self.owner = params["owner"]
        self.group = params["group"]
        try:
            check_context(self.context)
            if params["plaintext"] is not None:
                self.plaintext = params["plaintext"].encode("utf-8")
                check_plaintext_size(self.plaintext, "plaintext")
            elif module.check_mode and not os.path.lexists(params["src"]):
                # An earlier task of the play, which check mode skipped, may create it.
                self.plaintext = None
            else:
                self.plaintext = read_source(params["src"])
                check_plaintext_size(self.plaintext, "src %s" % params["src"])
            if self.dest is not None:
                if params["src"] is not None and os.path.exists(self.dest) and \
                        os.path.realpath(self.dest) == os.path.realpath(params["src"]):
                    raise FilePathError("dest %s is src: the module would replace the file to encrypt with its "
                                        "ciphertext; give another dest" % self.dest)
                check_writable("dest", self.dest, read_too=True, check_mode=module.check_mode)
                check_file_attributes("mode", self.mode, self.owner, self.group)
        except (KeyUsageError, FilePathError) as exc:
            raise TaskError(str(exc))


def read_source(path):
    """The bytes of ``src``; FilePathError naming it when missing, unreadable or over the KMS's limit."""
    if os.path.isfile(path) and os.path.getsize(path) > PLAINTEXT_MAX_BYTES:
        raise FilePathError("src %s is %d bytes: the KMS encrypts at most %d bytes (4 KiB); encrypt larger data "
                            "locally with a data key" % (path, os.path.getsize(path), PLAINTEXT_MAX_BYTES))
    content = read_option_file("src", path)
    if content is None:
        raise FilePathError("src %s does not exist" % path)
    return content


def check_encryption_key(key):
    """KeyUsageError unless ``key`` is an active oct key allowing encrypt."""
    operations = ", ".join(key.get("operations") or []) or "none"
    if key.get("type") != "oct":
        raise KeyUsageError("%s is an %s key (operations: %s): only oct (symmetric) keys encrypt; give the "
                            "key_id or key_name of an oct key" % (key_label(key), key_description(key), operations))
    require_operation(key, "encrypt", "; give an oct key with operations encrypt and decrypt")


class EncryptReconciler(Reconciler):
    """Encrypts, and with ``dest`` keeps or writes the file holding the ciphertext."""

    def __init__(self, module, request=None):
        super(EncryptReconciler, self).__init__(module, request)
        self.keys = None
        self.key = None

    def reconcile(self):
        if self.request is None:
            self.request = EncryptRequest(self.module)
        request = self.request
        self.keys = ServiceKeyOperations(self.module.data_client)
        try:
            self.key = self.keys.find(key_id=request.key_id, name=request.key_name)
            check_encryption_key(self.key)
        except KeyUsageError as exc:
            raise TaskError(str(exc))
        result = dict(key_id=self.key["id"])
        if request.plaintext is None:
            self.warn("src %s does not exist (yet): check mode cannot tell what the task would do" % self.params["src"])
            result["ciphertext"] = None
            if request.dest is not None:
                self.changed = True
                result["dest"] = request.dest
            return result
        if request.dest is None:
            result["ciphertext"] = self.encrypt()
            return result
        result["dest"] = request.dest
        result.update(self.converge_dest())
        return result

    def encrypt(self):
        """A new ciphertext that Ansible's masking of no_log values leaves intact."""
        for dummy in range(ENCRYPT_ATTEMPTS):
            ciphertext = self.keys.encrypt(self.key, self.request.plaintext, self.request.context)
            if not self.masked(ciphertext):
                return ciphertext
        raise TaskError("plaintext is so short that it shows inside every ciphertext the KMS returns, where Ansible "
                        "would mask it (no_log) and spoil the ciphertext; encrypt a longer value")

    def masked(self, text):
        return any(value and value in text for value in self.module.no_log_values)

    def converge_dest(self):
        request = self.request
        module = self.module
        try:
            existing = read_option_file("dest", request.dest)
        except FilePathError as exc:
            raise TaskError(str(exc))
        before = self.file_state(request.dest)
        kept, what = self.ciphertext_of_plaintext(existing)
        if kept is not None:
            outcome = ensure_file(module, request.dest, existing, request.mode, request.owner, request.group)
            self.changed = outcome.changed
            ciphertext = kept
        elif module.check_mode:
            # Encrypting now would be thrown away.
            self.changed = True
            ciphertext = None
        else:
            ciphertext = self.encrypt()
            ensure_file(module, request.dest, ciphertext + "\n", request.mode, request.owner, request.group)
            self.changed = True
        result = dict(ciphertext=ciphertext)
        if module._diff:
            if before:
                before["content"] = what
            after = self.predicted_state() if module.check_mode else self.file_state(request.dest)
            after["content"] = "%s with %s and this context" % (
                "a ciphertext of the plaintext" if kept is not None else "a new ciphertext of the plaintext",
                key_label(self.key))
            result["diff"] = dict(before=before or {"path": request.dest, "state": "absent"}, after=after)
        return result

    def ciphertext_of_plaintext(self, existing):
        """(the ciphertext in dest, or None when it must be written; what dest holds, for the diff)."""
        if existing is None:
            return None, None
        try:
            text = existing.decode("ascii").strip()
        except UnicodeDecodeError:
            return None, "not a KMS ciphertext"
        made_with = key_id_of_ciphertext(text) if len(existing) <= CIPHERTEXT_MAX_BYTES else None
        if made_with is None:
            return None, "not a KMS ciphertext"
        if made_with.lower() != self.key["id"].lower():
            # Sent to the KMS, it would only fail: no request.
            return None, "a ciphertext of another key (%s)" % made_with
        if "decrypt" not in (self.key.get("operations") or []):
            self.warn("dest %s is written on every run: %s does not allow decrypt, so whether the file already "
                      "holds the plaintext cannot be told" % (self.request.dest, key_label(self.key)))
            return None, "a ciphertext that cannot be checked"
        try:
            plaintext = self.keys.decrypt(self.key["id"], text, self.request.context)
        except KmsApiError as exc:
            if exc.status == 400:
                return None, "a ciphertext that does not decrypt with %s and this context" % key_label(self.key)
            if exc.status == 403:
                self.warn("dest %s is written on every run: this identity may not decrypt with %s, so whether the "
                          "file already holds the plaintext cannot be told (%s)"
                          % (self.request.dest, key_label(self.key), exc))
                return None, "a ciphertext that cannot be checked"
            raise
        if not hmac.compare_digest(plaintext, self.request.plaintext):
            return None, "a ciphertext of another plaintext"
        if self.masked(text):
            # Returned, it would come out spoilt by Ansible's masking; a new one is written instead.
            return None, "a ciphertext of the plaintext that Ansible would mask"
        return text, "a ciphertext of the plaintext with %s and this context" % key_label(self.key)

    @staticmethod
    def file_state(path):
        """``path``'s state and attributes for the diff; None when it does not exist."""
        attributes = FileAttributes.of(path)
        return dict(path=path, state="file", **attributes.as_dict()) if attributes else None

    def predicted_state(self):
        """What a check-mode run would give dest: the options, else what the file (or a new one) has."""
        request = self.request
        attributes = FileAttributes.predicted(self.module, request.dest, request.mode, request.owner, request.group)
        return dict(path=request.dest, state="file", **attributes.as_dict())


def main():
    module = OkmsDataModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("key_id", "key_name"), ("plaintext", "src")],
        required_one_of=[("key_id", "key_name"), ("plaintext", "src")],
        supports_check_mode=True,
    )
    EncryptReconciler(module).run()


if __name__ == "__main__":
    main()
