#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: okms_secret_file
short_description: Write a secret of the OVHcloud KMS Secret Manager to a file on the host, read with the host's own identity
version_added: 0.1.0
description:
  - Reads one secret of an OVHcloud Key Management Service (OKMS) - its current version, or O(version) - through
    the KMS's REST API, on the managed host, as the host's own identity, and writes it to the file O(dest).
    The identity is usually the access certificate the P(ovhcloud.kms.okms#role) role deploys, named by the
    C(okms.yaml) it deploys next to it (O(config_file)); the secret's value goes from the KMS to the host and
    never passes through the controller.
  - The file holds the secret's data as a JSON object (O(format=json)), as environment variables
    (O(format=env)), one field's value alone (O(format=raw)), or a text of your own with the secret's fields
    in it (O(template)), rendered on the host.
  - The file is written atomically - a temporary file created with mode V(0600) in the directory of O(dest),
    then renamed over it - and only when its content differs from what O(dest) holds; a mode, owner or group
    that differs is set without rewriting the file. So the task reports C(changed), and notifies its handlers,
    only when the file really changes (a new version of the secret, a new O(format)...).
  - Nothing secret leaves the host. The result holds the secret's path, the version written and the KMS,
    never the data; the diff says that the file changes, never its content; error messages name fields and
    placeholders, never values. The data is never an option of the module, so the task needs no C(no_log).
  - Runs on the managed host, which writes O(dest) and needs Python and C(requests) there, and must reach the
    KMS's REST endpoint.
  - Checked before any request, each failing with a message naming the option - O(path), O(version),
    O(field) (only with O(format=raw)), O(template) (its placeholders), O(dest) (its directory must exist and
    be writable, an existing file readable), O(mode), O(owner) and O(group).
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
      - Check mode reads the secret (a GET, which changes nothing on the KMS) to know whether the file would
        change, and writes nothing. A missing directory of O(dest) is not an error in check mode (an earlier
        task, skipped in check mode, may create it).
  diff_mode:
    support: full
    details:
      - >-
        The diff names the file and shows its mode, owner and group before and after; its content shows only as
        C(<content of DEST: hidden (secret)>) before and C(<version N of secret 'PATH' of KMS ID, as FORMAT: hidden>)
        after, when it changes. Never a value.
  idempotent:
    support: full
options:
  path:
    description:
      - The secret's path, such as V(myapp/db) (1 to 255 characters of C([a-zA-Z0-9_.:/=@-]), without an empty
        segment).
    type: str
    required: true
  version:
    description:
      - The version to write, a number from 1.
      - Unset, the current version, so the file follows the secret - the first run after a new version is
        written to the KMS rewrites the file.
      - A version that was never written, or was pruned, fails naming it; so does a deactivated or deleted one.
    type: int
  dest:
    description:
      - The file to write, on the host. Its directory must exist.
    type: path
    required: true
  format:
    description:
      - How the secret's data (a dict of fields) is written. Defaults to V(json) when O(template) is not given;
        mutually exclusive with O(template).
      - V(json) writes the data as a JSON object, keys sorted, indented by two spaces, with a newline at the end.
      - V(env) writes one C(NAME="value") line per field, sorted by name, for the C(EnvironmentFile=) of a
        systemd unit or a shell (C(. /etc/myapp/db.env), or C(set -a; . /etc/myapp/db.env; set +a) to export
        them). Each field's name must be a valid environment variable name (C([A-Za-z_][A-Za-z0-9_]*)); any
        other name fails naming the field - use O(template) to choose the names. Values are double-quoted, with
        a backslash before C("), C(\\), C($) and C(`), which systemd and C(sh) both read back exactly, newlines
        included. A value that holds a NUL character fails naming its field.
      - V(raw) writes the value of the field O(field) alone, with no newline added - for a key, a certificate or
        a password file.
      - In every format, a value that is not a string (a number, a boolean, a list, a dict) is written as compact
        JSON (V(5432), V(true), C({"sslmode":"verify-full"})).
    type: str
    choices: [json, env, raw]
  field:
    description:
      - The field whose value O(format=raw) writes. Required with O(format=raw), and only used with it.
      - A field the secret does not have fails naming it and listing the secret's field names (never values).
    type: str
  template:
    description:
      - The file's content, a text in which the secret's fields are substituted on the host - C(${name}) is
        replaced by the value of the field C(name). These are the rules of Python's C(string.Template), not
        Jinja2 - C($name) works too for a name made of letters, digits and C(_), C(${name}) takes any field name
        (C(${api-key}), C(${db.password})), and C($$) is a literal C($).
      - Not Jinja2, because Ansible renders C({{ }}) on the controller before the module sees the text (use
        that for what is not secret, such as the host's name), and the secret's values must never reach the
        controller; the host needs no Jinja2 either.
      - A placeholder naming a field the secret does not have fails naming the placeholder and listing the
        secret's field names. A C($) followed by anything else than a name, C({name}) or C($) fails before any
        request, naming its line and column.
      - No newline is added - end the text with one if the file needs it (a YAML C(|) block does).
      - Mutually exclusive with O(format).
    type: str
  mode:
    description:
      - Mode of O(dest), octal (V(0600)) or symbolic (V(u=rw,g=r,o=)), as in Ansible's file modules. The default
        keeps the secret to the file's owner; give the group read access (V(0640) and O(group)) when a service
        account reads it.
    type: raw
    default: "0600"
  owner:
    description:
      - Owner of O(dest). Unset keeps the user the module runs as (for a new file) or the file's owner. Must
        exist on the host.
    type: str
  group:
    description:
      - Group of O(dest). Unset keeps the user's group (for a new file) or the file's group. Must exist on the
        host.
    type: str
notes:
  - The identity needs the right to read the secret's data; a refusal (HTTP 403) fails naming the secret's
    path, with the KMS's answer, which names the identity and the action refused. A revoked certificate is
    refused too (HTTP 401), and an expired one fails the TLS handshake; renew the host's certificate with the
    P(ovhcloud.kms.okms#role) role.
  - O(format=env) and O(template) write values as they are; a value that holds a newline makes a multi-line
    file, which O(format=env) quotes and a O(template) does not.
seealso:
  - module: ovhcloud.kms.okms_secret
  - module: ovhcloud.kms.okms_secret_info
  - plugin: ovhcloud.kms.okms_secret
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Keep the database credentials of myapp in the KMS (from the controller, once)
  ovhcloud.kms.okms_secret:
    okms_id: "{{ kms.instance.id }}"
    path: myapp/db
    data:
      DB_USER: myapp
      DB_PASSWORD: "{{ lookup('ansible.builtin.password', '/dev/null', length=32, chars=['ascii_letters', 'digits']) }}"
      DB_PORT: 5432
    # Generated on the first run, never replaced afterwards.
    overwrite: false
  delegate_to: localhost
  run_once: true

# On each host, with the certificate and the okms.yaml the ovhcloud.kms.okms role deployed.
- name: Write them as an environment file, for the EnvironmentFile= of the myapp systemd unit
  ovhcloud.kms.okms_secret_file:
    config_file: /etc/okms/okms.yaml
    path: myapp/db
    dest: /etc/myapp/db.env
    format: env
    owner: root
    group: myapp
    mode: "0640"
  notify: Restart myapp

- name: The password alone, for a program that reads it from a file
  ovhcloud.kms.okms_secret_file:
    config_file: /etc/okms/okms.yaml
    path: myapp/db
    dest: /etc/myapp/db-password
    format: raw
    field: DB_PASSWORD

- name: A configuration file of myapp, its secret fields filled in on the host
  ovhcloud.kms.okms_secret_file:
    config_file: /etc/okms/okms.yaml
    path: myapp/db
    dest: /etc/myapp/database.ini
    # {{ }} is rendered on the controller (nothing secret); ${...} on the host, from the secret.
    template: |
      [database]
      host = db.{{ inventory_hostname }}.internal
      port = ${DB_PORT}
      user = ${DB_USER}
      password = ${DB_PASSWORD}
  register: database_ini
  notify: Restart myapp

- name: Say which version of the secret the file holds (never its value)
  ansible.builtin.debug:
    msg: "{{ database_ini.dest }} holds version {{ database_ini.version }} of {{ database_ini.path }}"

- name: Pin the first version, as JSON
  ovhcloud.kms.okms_secret_file:
    config_file: /etc/okms/okms.yaml
    path: myapp/db
    version: 1
    dest: /etc/myapp/db-v1.json

# Without a certificate: an OAuth2 service account in OVH_CLIENT_ID and OVH_CLIENT_SECRET (a CI runner).
- name: Write the secret on a runner that has no access certificate
  ovhcloud.kms.okms_secret_file:
    okms_id: "{{ kms.instance.id }}"
    path: myapp/db
    dest: /builds/myapp/db.json
"""

RETURN = r"""
dest:
  description: The file written (or that would be, in check mode).
  returned: success
  type: str
  sample: /etc/myapp/db.env
path:
  description: The secret's path.
  returned: success
  type: str
  sample: myapp/db
version:
  description: The version of the secret the file holds (or would hold, in check mode). Never the data.
  returned: success
  type: int
  sample: 3
okms_id:
  description: The KMS the secret was read from.
  returned: success
  type: str
  sample: 5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10
"""

import json
import re
import string

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_module import OkmsDataModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_secrets import DataPlaneSecrets, SecretReadError
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_files import (
    FileAttributes,
    FilePathError,
    check_file_attributes,
    check_writable,
    ensure_file,
    read_file,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_secret import SecretValidationError, validate_path
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError

ARGUMENT_SPEC = dict(
    path=dict(type="str", required=True),
    version=dict(type="int"),
    dest=dict(type="path", required=True),
    format=dict(type="str", choices=["json", "env", "raw"]),
    field=dict(type="str"),
    template=dict(type="str"),
    mode=dict(type="raw", default="0600"),
    owner=dict(type="str"),
    group=dict(type="str"),
)

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# What a backslash escapes inside double quotes, for sh and for systemd's EnvironmentFile= alike.
ENV_ESCAPED = re.compile(r'(["\\$`])')


class FieldTemplate(string.Template):
    """``$name``, ``${name}`` and ``$$``; braces take any field name without braces, ``$`` or white space."""

    braceidpattern = r"[^{}$\s]+"


class SecretFileError(Exception):
    """The file cannot be made; the message names the option, the field or the placeholder, never a value."""


def template_placeholders(template):
    """The field names ``template`` refers to; SecretFileError naming the line and column of a bad ``$``."""
    names = []
    for match in FieldTemplate.pattern.finditer(template):
        if match.group("invalid") is not None:
            start = match.start()
            line = template.count("\n", 0, start) + 1
            column = start - template.rfind("\n", 0, start)
            raise SecretFileError("template: the $ at line %d, column %d is not followed by a field name: write "
                                  "${name} (or $name) for the field name, and $$ for a $ of the text"
                                  % (line, column))
        name = match.group("named") or match.group("braced")
        if name and name not in names:
            names.append(name)
    return names


def field_text(value):
    """A field's value as text: a string as it is, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class SecretFileContent:
    """What the file holds for one version of a secret, in the format or template asked."""

    def __init__(self, label, data):
        self.label = label
        self.data = data

    def fields(self):
        return ", ".join(sorted(self.data)) or "none"

    def missing_field(self, option, name, extra=""):
        return SecretFileError("%s: %s has no field '%s'%s; its fields are: %s"
                               % (option, self.label, name, extra, self.fields()))

    def render(self, output_format, field=None, template=None):
        if template is not None:
            return self.from_template(template)
        if output_format == "env":
            return self.as_env()
        if output_format == "raw":
            return self.raw(field)
        return json.dumps(self.data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"

    def as_env(self):
        lines = []
        for name in sorted(self.data):
            if not ENV_NAME.match(name):
                raise SecretFileError("format=env: the field '%s' of %s is not a valid environment variable name "
                                      "([A-Za-z_][A-Za-z0-9_]*); use template to name the variables"
                                      % (name, self.label))
            value = field_text(self.data[name])
            if "\0" in value:
                raise SecretFileError("format=env: the value of the field '%s' of %s holds a NUL character, which "
                                      "an environment variable cannot hold" % (name, self.label))
            lines.append('%s="%s"\n' % (name, ENV_ESCAPED.sub(r"\\\1", value)))
        return "".join(lines)

    def raw(self, field):
        if field not in self.data:
            raise self.missing_field("field", field)
        return field_text(self.data[field])

    def from_template(self, template):
        for name in template_placeholders(template):
            if name not in self.data:
                raise self.missing_field("template", name, " (placeholder ${%s})" % name)

        def substitute(match):
            if match.group("escaped") is not None:
                return "$"
            return field_text(self.data[match.group("named") or match.group("braced")])

        return FieldTemplate.pattern.sub(substitute, template)


class SecretFileRequest:
    """The task's options, checked before any request; SecretFileError names the option at fault."""

    def __init__(self, params, check_mode):
        self.path = params["path"]
        self.version = params["version"]
        self.dest = params["dest"]
        self.format = params["format"]
        self.field = params["field"]
        self.template = params["template"]
        self.mode = params["mode"]
        self.owner = params["owner"]
        self.group = params["group"]
        try:
            validate_path(self.path)
        except SecretValidationError as exc:
            raise SecretFileError(str(exc))
        if self.version is not None and self.version < 1:
            raise SecretFileError("version must be a version number, from 1, got %d" % self.version)
        if self.field is not None and self.format != "raw":
            raise SecretFileError("field is only used with format=raw (got %s): to put some fields of the secret "
                                  "in a file of your own, use template"
                                  % ("template" if self.template is not None else "format=%s" % (self.format or "json")))
        if self.template is not None:
            template_placeholders(self.template)
        try:
            check_file_attributes("mode", self.mode, self.owner, self.group)
            check_writable("dest", self.dest, read_too=True, check_mode=check_mode)
        except FilePathError as exc:
            raise SecretFileError(str(exc))

    @property
    def shown_format(self):
        return "template" if self.template is not None else (self.format or "json")


# -- the diff: names and attributes, never content ---------------------------------------

def hidden_content(dest):
    return "<content of %s: hidden (secret)>\n" % dest


def main():
    module = OkmsDataModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("format", "template")],
        required_if=[("format", "raw", ("field",))],
        supports_check_mode=True,
    )
    try:
        request = SecretFileRequest(module.params, module.check_mode)
    except SecretFileError as exc:
        module.fail_json(msg=str(exc))

    client = module.data_client
    secrets = DataPlaneSecrets(client)
    try:
        number, data = secrets.read(request.path, request.version)
    except SecretReadError as exc:
        result = {"api_error": exc.api_error.to_result()} if exc.api_error is not None else {}
        module.fail_json(msg=str(exc), **result)
    except OvhApiError as exc:
        module.fail_api_error(exc)

    label = "version %s of %s" % (number, secrets.label(request.path))
    try:
        content = SecretFileContent(label, data).render(request.format, request.field, request.template)
        content = content.encode("utf-8")
    except SecretFileError as exc:
        module.fail_json(msg=str(exc))
    except UnicodeEncodeError:
        module.fail_json(msg="%s holds text that is not valid Unicode (a lone surrogate): it cannot be written as "
                             "UTF-8" % label)

    try:
        existing = read_file(request.dest)
    except (IOError, OSError) as exc:
        module.fail_json(msg="dest %s cannot be read: %s" % (request.dest, exc.strerror or exc))
    before = None
    if existing is not None:
        before = hidden_content(request.dest) + FileAttributes.of(request.dest).line()
    try:
        outcome = ensure_file(module, request.dest, content, request.mode, request.owner, request.group)
    except (IOError, OSError) as exc:
        module.fail_json(msg="dest %s cannot be written: %s" % (request.dest, exc.strerror or exc))

    result = dict(changed=outcome.changed, dest=request.dest, path=request.path, version=number,
                  okms_id=client.okms_id)
    if module._diff:
        if existing == content:
            content_line = hidden_content(request.dest)
        else:
            content_line = "<%s, as %s: hidden>\n" % (label, request.shown_format)
        if module.check_mode:
            attributes = FileAttributes.predicted(module, request.dest, request.mode, request.owner, request.group)
        else:
            attributes = FileAttributes.of(request.dest)
        result["diff"] = dict(before_header=request.dest, after_header=request.dest, before=before or "",
                              after=content_line + attributes.line() if outcome.changed else before or "")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
