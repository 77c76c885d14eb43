#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: okms_access_files
short_description: Write the public files of a host's OKMS access (certificate, CAs, okms-cli configuration) in one run
version_added: 0.1.0
description:
  - Makes a directory of the host hold the given files, with the given content, mode, owner and group, in one
    module run instead of one C(copy) or C(template) task per file. Meant for the public files of a host's
    access to an OVHcloud KMS - the access certificate (C(client.cert)), the KMS CA (C(ca.pem)), the CA of the
    REST endpoint and the okms-cli configuration (C(okms.yaml)) - that the C(ovhcloud.kms.okms) role deploys.
  - Runs on the target and needs only Python; it does not talk to the OVHcloud API.
  - Each file is written atomically, through a temporary file in the same directory renamed over it, and only
    when its content differs; a mode, owner or group that differs is set without rewriting the file.
    Temporary files left by a writer that was killed are removed.
  - Files of the directory that O(files) does not name are left alone.
  - Never writes a private key - use M(ovhcloud.kms.okms_host_key) for C(domain.key), mode V(0600). A content
    holding C(PRIVATE KEY) fails naming the file, before anything is written.
author:
  - ovhcloud.kms maintainers (@ovh)
extends_documentation_fragment:
  - ovhcloud.kms.attributes
  - ovhcloud.kms.attributes.host
attributes:
  check_mode:
    support: full
    details: Check mode reports which files would change, and writes nothing (not even the directory).
  diff_mode:
    support: full
    details:
      - The diff shows each file that changes, before and after, with its content (these files are public)
        and its mode, owner and group; and the directory when it is created.
  idempotent:
    support: full
options:
  path:
    description:
      - The directory that holds the files. Created when missing, with its missing parents, with
        O(directory_mode), O(owner) and O(group).
    type: path
    required: true
  files:
    description:
      - The files to write, as a dictionary of file name to content (a string; written as UTF-8 exactly as
        given, with no newline added).
      - A name is a plain file name in O(path) - not empty, no V(/), not V(.) or V(..). Any other name fails
        naming the option and the name, before anything is written.
      - A content that holds a private key (C(PRIVATE KEY)) fails naming the file; the content is not shown.
      - An empty dictionary only makes sure the directory exists.
    type: dict
    required: true
  mode:
    description:
      - Mode of every file, octal (V(0644)) or symbolic (V(u=rw,go=r)), as in Ansible's file modules.
    type: raw
    default: "0644"
  directory_mode:
    description:
      - Mode of the directory O(path). When unset, a directory the module creates gets the default mode
        (V(0777) less the umask) and an existing one keeps its mode.
    type: raw
  owner:
    description:
      - Owner of the files, and of the directories the module creates. Unset keeps the connecting user.
        Must exist on the host.
    type: str
  group:
    description:
      - Group of the files, and of the directories the module creates. Unset keeps the connecting user's group.
        Must exist on the host.
    type: str
seealso:
  - module: ovhcloud.kms.okms_host_key
  - module: ovhcloud.kms.okms_credential
  - module: ansible.builtin.copy
"""

EXAMPLES = r"""
- name: Install the KMS CA and the okms-cli configuration next to the host's key, in one task
  ovhcloud.kms.okms_access_files:
    path: /etc/okms
    directory_mode: "0750"
    files:
      ca.pem: "{{ kms.instance.public_ca }}"
      okms.yaml: |
        version: 1
        profile: default
        profiles:
          default:
            restapi:
              endpoint: {{ kms.instance.rest_endpoint }}
              auth:
                type: mtls
                cert: /etc/okms/client.cert
                key: /etc/okms/domain.key
  notify: Reload myservice

- name: The same files, readable by the service's group only
  ovhcloud.kms.okms_access_files:
    path: /etc/okms-myservice
    directory_mode: "0750"
    mode: "0640"
    owner: root
    group: myservice
    files:
      ca.pem: "{{ kms.instance.public_ca }}"
  register: access_files

- name: Show which files changed
  ansible.builtin.debug:
    msg: "{{ access_files.files | dict2items | selectattr('value.changed') | map(attribute='key') | list }}"
"""

RETURN = r"""
path:
  description: The directory.
  returned: success
  type: str
  sample: /etc/okms
files:
  description: What became of each file of O(files), by file name.
  returned: success
  type: dict
  sample:
    ca.pem:
      path: /etc/okms/ca.pem
      changed: false
    client.cert:
      path: /etc/okms/client.cert
      changed: true
  contains:
    path:
      description: The file's path.
      type: str
      returned: always
    changed:
      description: Whether the file's content, mode, owner or group changed (or would, in check mode).
      type: bool
      returned: always
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_files import (
    FileAttributes,
    FilePathError,
    check_file_attributes,
    check_writable,
    ensure_file,
    mode_text,
    read_file,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_reconciler import Reconciler, TaskError

# The marker every PEM private key has (PKCS#8, PKCS#1, SEC1, encrypted or not).
PRIVATE_KEY_MARKER = "PRIVATE KEY"

# The first line of a file's text in the diff, so that a mode, owner or group change shows too.
ATTRIBUTES_LINE = "# mode %s, owner %s, group %s\n"

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    files=dict(type="dict", required=True),
    mode=dict(type="raw", default="0644"),
    directory_mode=dict(type="raw"),
    owner=dict(type="str"),
    group=dict(type="str"),
)


class AccessFilesRequest:
    """The task's options, checked before anything is written; a bad one raises TaskError naming it."""

    def __init__(self, module):
        params = module.params
        self.path = params["path"]
        self.mode = params["mode"]
        self.directory_mode = params["directory_mode"]
        self.owner = params["owner"]
        self.group = params["group"]
        self.files = {}
        # Masked wherever the module's answer would show it (the invocation's arguments), whichever
        # error is reported first.
        private_keys = [name for name, content in params["files"].items()
                        if isinstance(content, str) and PRIVATE_KEY_MARKER in content]
        for name in private_keys:
            module.no_log_values.add(params["files"][name])
        for name, content in sorted(params["files"].items()):
            if not name or "/" in name or "\0" in name or name in (".", ".."):
                raise TaskError("files: %r is not a file name: give plain names of files in path, "
                                "without '/' and other than '.' and '..'" % name)
            if not isinstance(content, str):
                raise TaskError("files: the content of %s must be a string, got %s" % (name, type(content).__name__))
            if name in private_keys:
                raise TaskError("files: %s holds a private key; this module writes only public files: install "
                                "private keys with ovhcloud.kms.okms_host_key" % name)
            self.files[name] = content
        try:
            check_file_attributes("mode", self.mode, self.owner, self.group)
            if self.directory_mode is not None:
                check_file_attributes("directory_mode", self.directory_mode, None, None)
            if os.path.lexists(self.path) and not os.path.isdir(self.path):
                raise FilePathError("path %s exists and is not a directory" % self.path)
            if os.path.isdir(self.path):
                for name in self.files:
                    check_writable("files", os.path.join(self.path, name), read_too=True)
        except FilePathError as exc:
            raise TaskError(str(exc))


class AccessFilesReconciler(Reconciler):
    """Creates the directory when missing, then writes each file whose content or attributes differ."""

    def reconcile(self):
        if self.request is None:
            self.request = AccessFilesRequest(self.module)
        request = self.request
        diffs = []
        directory_diff = self.ensure_directory()
        if directory_diff:
            diffs.append(directory_diff)
        files = {}
        for name, content in sorted(request.files.items()):
            path = os.path.join(request.path, name)
            before = self.describe(path)
            outcome = ensure_file(self.module, path, content, request.mode, request.owner, request.group)
            files[name] = dict(path=path, changed=outcome.changed)
            self.changed = self.changed or outcome.changed
            if outcome.changed:
                diffs.append(self.file_diff(path, before, content))
        result = dict(path=request.path, files=files)
        if self.module._diff:
            result["diff"] = diffs
        return result

    def ensure_directory(self):
        """Create the directory (and missing parents) or set its mode; the diff entry of a change, or None."""
        request = self.request
        module = self.module
        if os.path.isdir(request.path):
            if request.directory_mode is None:
                return None
            before = FileAttributes.of(request.path).mode
            if not module.set_mode_if_different(request.path, request.directory_mode, False):
                return None
            self.changed = True
            return dict(before_header=request.path, after_header=request.path,
                        before="directory mode: %s\n" % before,
                        after="directory mode: %s\n" % mode_text(module, os.stat(request.path), request.directory_mode))
        self.changed = True
        if not module.check_mode:
            missing = []
            current = os.path.abspath(request.path)
            while not os.path.lexists(current):
                missing.insert(0, current)
                current = os.path.dirname(current)
            for directory in missing:
                try:
                    os.mkdir(directory)
                except OSError as exc:
                    raise TaskError("path %s cannot be created: %s" % (directory, exc.strerror or exc))
                module.set_owner_if_different(directory, request.owner, False)
                module.set_group_if_different(directory, request.group, False)
                if request.directory_mode is not None:
                    module.set_mode_if_different(directory, request.directory_mode, False)
        return dict(before={"path": request.path, "state": "absent"},
                    after={"path": request.path, "state": "directory"})

    def describe(self, path):
        """The diff text of a file as it is: attributes, then content; None when it does not exist."""
        content = read_file(path)
        if content is None:
            return None
        return FileAttributes.of(path).line(ATTRIBUTES_LINE) + content.decode("utf-8", "replace")

    def file_diff(self, path, before, content):
        """The diff entry of a file that changes: its attributes and content, before and after."""
        request = self.request
        attributes = (FileAttributes.predicted(self.module, path, request.mode, request.owner, request.group)
                      if self.check_mode else FileAttributes.of(path))
        return dict(before_header=path, after_header=path, before=before or "", after=attributes.line(ATTRIBUTES_LINE) + content)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    AccessFilesReconciler(module).run()


if __name__ == "__main__":
    main()
