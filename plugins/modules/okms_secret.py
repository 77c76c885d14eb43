#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: okms_secret
short_description: Create, update and delete secrets of the OVHcloud KMS Secret Manager
version_added: 0.1.0
description:
  - Makes sure a secret of an OVHcloud Key Management Service (OKMS) holds the given data and metadata, or
    that it is gone. A secret is a JSON object (O(data)) kept in versions, under a path such as C(app/db).
  - The module reads the secret's current version with its data, and writes a new version only when the
    data differs (compared as JSON, the order of keys aside); every write of data makes a new version, even
    with the same data, so a re-run writes nothing. Metadata is written only when it differs, and never
    makes a version.
  - The data never appears in the module's results, diffs or messages. To read it, use the
    P(ovhcloud.kms.okms_secret#lookup) lookup.
  - Runs on the controller (or wherever the task is delegated) and talks to the OVHcloud API (control plane);
    it needs no access certificate.
author:
  - ovhcloud.kms maintainers (@ovh)
extends_documentation_fragment:
  - ovhcloud.kms.api
  - ovhcloud.kms.attributes
  - ovhcloud.kms.attributes.api_module
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the path, the metadata, the current version number, and the names of the data's keys,
        each marked C((hidden)), C((hidden, added)) or C((hidden, changed)); a key that goes shows only before.
        Never a value of the data.
  idempotent:
    support: full
options:
  okms_id:
    description:
      - The id of the KMS holding the secret (see M(ovhcloud.kms.okms_instance)).
    type: str
    required: true
  path:
    description:
      - The secret's path, 1 to 255 characters of C(a-z), C(A-Z), C(0-9) and C(_.:/=@-), for example C(app/db).
        C(/) makes a hierarchy; the path must not start or end with C(/) nor hold C(//).
    type: str
    required: true
  state:
    description:
      - V(present) creates the secret when it is missing, then writes O(data) and the metadata options where they
        differ.
      - V(absent) deletes the secret with every version of it, for good. A missing secret is not a change.
    type: str
    choices: [present, absent]
    default: present
  data:
    description:
      - The secret's data, a dict of keys and JSON values (strings, numbers, booleans, lists, dicts), at most
        64 KiB as JSON.
      - Required to create a secret. Left out, an existing secret's data is not touched (only its metadata is
        converged).
      - Never logged. Ansible also hides every value of O(data) wherever it shows in the task's output, so a
        short value (such as V(1)) hides the same text in the returned fields too.
    type: dict
  overwrite:
    description:
      - V(true) writes O(data) as a new version when the current data differs.
      - V(false) only creates the secret when it is missing and never replaces its data, for example to keep a
        password generated on the first run (metadata options are still converged).
    type: bool
    default: true
  cas:
    description:
      - Check-and-set. The version the secret must be at for O(data) to be written, for example the
        RV(secret.metadata.current_version) read earlier; when another version was written meanwhile, the
        API refuses the write and the module fails saying so. V(0) writes only when the secret does not exist.
      - Only used when the data is written; when the data is already the same, nothing is written and O(cas)
        is not compared.
      - Without O(cas), the module writes with the version it has just read, so a version written by someone
        else between its read and its write is never overwritten unseen; that also fulfils C(casRequired) of
        the secret or the KMS.
    type: int
  max_versions:
    description:
      - How many versions the secret keeps (0 to 24000); older ones are deleted for good on the next write
        (also a metadata change that lowers it). V(0) uses the KMS's setting (10 unless changed).
      - Not set, the secret's setting is left as it is.
    type: int
  cas_required:
    description:
      - V(true) makes every data write need a check-and-set version (O(cas); the module sends one by itself).
        V(false) leaves it to the KMS's setting.
      - Not set, the secret's setting is left as it is.
    type: bool
  deactivate_version_after:
    description:
      - How long a version stays active once written, as a duration such as V(30m), V(24h), V(7d) or V(1h30m)
        (units C(ns), C(us), C(ms), C(s), C(m), C(h), C(d)), or bare seconds such as V(3600). Afterwards
        the version is deactivated (its data cannot be read until it is reactivated).
      - V(0s) uses the KMS's setting (never, unless changed). A change applies to versions written after it.
      - Compared as written, so V(60m) and V(1h) differ.
      - Not set, the secret's setting is left as it is.
    type: str
  custom_metadata:
    description:
      - Your own labels for the secret, at most 64 entries; keys of 1 to 128 characters of C(a-z), C(A-Z),
        C(0-9) and C(_.:/=@%-), values strings (integers are turned into strings) of at most 512 characters.
      - Replaces the whole map of the secret; V({}) removes every entry. Not set, they are left as they are.
      - Not secret, and shown in results and diffs.
    type: dict
notes:
  - The API answers a CAS conflict with HTTP 400 and a message naming C(cas) (no error class is published for
    it); the module relies on nothing else to recognise one.
  - Metadata is written before the data, so a new version is written with the new O(deactivate_version_after)
    and O(max_versions) already in place.
seealso:
  - module: ovhcloud.kms.okms_secret_info
  - plugin: ovhcloud.kms.okms_secret
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Keep the database credentials of the application in the KMS
  ovhcloud.kms.okms_secret:
    okms_id: "{{ kms.instance.id }}"
    path: app/db
    data:
      username: app
      password: correct-horse-battery-staple
      port: 5432
    custom_metadata:
      owner: team-data

- name: Generate an API token on the first run only; later runs never replace it
  ovhcloud.kms.okms_secret:
    okms_id: "{{ kms.instance.id }}"
    path: app/api-token
    data:
      token: "{{ lookup('ansible.builtin.password', '/dev/null', length=40, chars=['ascii_letters', 'digits']) }}"
    overwrite: false

- name: Keep five versions, each readable for 90 days, and require check-and-set for every write
  ovhcloud.kms.okms_secret:
    okms_id: "{{ kms.instance.id }}"
    path: app/db
    max_versions: 5
    deactivate_version_after: 90d
    cas_required: true

- name: Read the secret's metadata
  ovhcloud.kms.okms_secret_info:
    okms_id: "{{ kms.instance.id }}"
    path: app/db
  register: db_secret

- name: Write new credentials only if nobody changed them since they were read
  ovhcloud.kms.okms_secret:
    okms_id: "{{ kms.instance.id }}"
    path: app/db
    data:
      username: app
      password: tr0ub4dor-and-3
      port: 5432
    cas: "{{ db_secret.secrets[0].metadata.current_version }}"

- name: Delete a secret and all its versions
  ovhcloud.kms.okms_secret:
    okms_id: "{{ kms.instance.id }}"
    path: app/old-token
    state: absent
"""

RETURN = r"""
secret:
  description:
    - The secret as the API shows it after the task (in check mode, as it would), without its data.
      V({}) when it does not exist (O(state=absent)).
    - Shaped as the items of RV(ovhcloud.kms.okms_secret_info#module:secrets).
  returned: always
  type: dict
  contains:
    path:
      description: The secret's path.
      type: str
      sample: app/db
    metadata:
      description: The secret's metadata.
      type: dict
      contains:
        cas_required:
          description: Whether every data write needs check-and-set (V(false) leaves it to the KMS).
          type: bool
          sample: false
        created_at:
          description: Creation time (RFC 3339); null in check mode for a secret still to create.
          type: str
          sample: "2025-01-01T12:00:00.000000Z"
        current_version:
          description: The number of the current version (the latest written).
          type: int
          sample: 3
        custom_metadata:
          description: The secret's custom metadata.
          type: dict
          sample: {owner: team-data}
        deactivate_version_after:
          description: How long a version stays active (V(0s) leaves it to the KMS).
          type: str
          sample: 0s
        max_versions:
          description: How many versions are kept (V(0) leaves it to the KMS).
          type: int
          sample: 10
        oldest_version:
          description: The oldest version kept, V(0) until a version was deleted for O(max_versions).
          type: int
          sample: 0
        updated_at:
          description: Time of the last change (RFC 3339); null in check mode for a secret still to create.
          type: str
          sample: "2025-01-02T08:30:00.000000Z"
    version:
      description:
        - The current version, without its data; null in a list of every secret of a KMS.
      type: dict
      contains:
        id:
          description: The version number.
          type: int
          sample: 3
        state:
          description: V(ACTIVE), V(DEACTIVATED) (its data cannot be read) or V(DELETED) (its data is gone).
          type: str
          sample: ACTIVE
        created_at:
          description: When the version was written (RFC 3339).
          type: str
          sample: "2025-01-02T08:30:00.000000Z"
        deactivated_at:
          description: When the version was deactivated or deleted; null while it is active.
          type: str
          sample: null
    iam:
      description: IAM metadata; null in check mode for a secret still to create.
      type: dict
      contains:
        id:
          description: IAM resource id of the secret.
          type: str
        urn:
          description: The secret's URN, to use in IAM policies.
          type: str
          sample: urn:v1:eu:resource:okms:5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10/secret/app/db
        display_name:
          description: The secret's path.
          type: str
        tags:
          description: IAM tags.
          type: dict
        state:
          description: IAM resource state.
          type: str
"""

import copy

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_reconciler import ABSENT, Reconciler, TaskError
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_secret import (
    CREATION_DEFAULTS,
    SecretValidationError,
    is_cas_conflict,
    metadata_differences,
    metadata_request,
    readable_data,
    same_data,
    secret_to_diff,
    secret_to_result,
    validate_data,
    validate_number,
    validate_path,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_secret_api import SecretApi
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError


class SecretRequest:
    """What the task asks for, checked against the API's rules before any API call."""

    def __init__(self, params):
        self.okms_id = params["okms_id"]
        self.path = params["path"]
        self.state = params["state"]
        self.data = params["data"]
        self.overwrite = params["overwrite"]
        self.cas = params["cas"]
        self.metadata = {}  # the metadata options that are set, with the API's names

    @classmethod
    def from_module(cls, module):
        """The request of the module's options; raises TaskError naming the option when the API would refuse it."""
        request = cls(module.params)
        try:
            request._check(module.params)
        except SecretValidationError as exc:
            raise TaskError(str(exc))
        return request

    def _check(self, params):
        validate_path(self.path)
        if self.state == "absent":
            given = [name for name in ("data", "cas", "max_versions", "cas_required", "deactivate_version_after",
                                       "custom_metadata") if params[name] is not None]
            if given:
                raise SecretValidationError("%s: only with state present (state absent deletes the secret)"
                                            % ", ".join(given))
            return
        if self.data is not None:
            self.data = validate_data(self.data)
        if self.cas is not None:
            validate_number(self.cas, "cas")
        self.metadata = metadata_request(params)


class SecretReconciler(Reconciler):
    """Reads the secret once (with its data), then converges metadata, then data."""

    def __init__(self, module, request=None):
        super(SecretReconciler, self).__init__(module, request)
        self.api = None

    def reconcile(self):
        if self.request is None:
            self.request = SecretRequest.from_module(self.module)
        request = self.request
        self.api = SecretApi(self.client, request.okms_id)
        current = self.api.get(request.path, include_data=True)
        if request.state == "absent":
            if current is not None:
                self.apply(self.api.delete, request.path)
            return dict(secret=ABSENT, **self.diff(current, None))
        after = self.create() if current is None else self.update(current)
        return dict(secret=secret_to_result(after), **self.diff(current, after))

    def diff(self, before, after):
        """Both sides at once: which data keys change can only be told from the two versions together."""
        if not self.module._diff:
            return {}
        return {"diff": secret_to_diff(before, after)}

    # -- creating -----------------------------------------------------------------

    def create(self):
        request = self.request
        if request.data is None:
            raise TaskError("%s does not exist: give data to create it" % self.api.label(request.path))
        if request.cas not in (None, 0):
            raise TaskError("%s does not exist, so it is not at version %d (cas): give cas 0, or no cas, to create "
                            "it" % (self.api.label(request.path), request.cas))
        self.apply(self.api.create, request.path, request.data, request.metadata or None)
        if self.check_mode:
            metadata = dict(CREATION_DEFAULTS, **copy.deepcopy(request.metadata))
            metadata.update(currentVersion=1, oldestVersion=0, createdAt=None, updatedAt=None)
            return {"path": request.path, "metadata": metadata, "iam": None,
                    "version": {"id": 1, "state": "ACTIVE", "createdAt": None, "deactivatedAt": None,
                                "data": copy.deepcopy(request.data)}}
        return self.reread()

    # -- updating -----------------------------------------------------------------

    def update(self, current):
        request = self.request
        after = copy.deepcopy(current)
        write_data = self.data_to_write(current)
        if write_data:
            # Before any write: a task that fails for its cas changes nothing.
            self.check_cas(current)
        changes = metadata_differences(current.get("metadata"), request.metadata)
        if changes:
            self.apply(self.api.update_metadata, request.path, changes)
            after["metadata"].update(copy.deepcopy(changes))
        if write_data:
            self.write_data(current, after)
        if not self.changed:
            return current
        return after if self.check_mode else self.reread()

    def data_to_write(self, current):
        request = self.request
        if request.data is None or not request.overwrite:
            return False
        return not same_data(readable_data(current), request.data)

    def check_cas(self, current):
        cas = self.request.cas
        version = current["metadata"].get("currentVersion")
        if cas is not None and cas != version:
            raise TaskError(
                "%s is at version %s, not at version %d (cas): another version was written since the one cas names, "
                "so the new data was not written. Read the secret again (ovhcloud.kms.okms_secret_info, "
                "metadata.current_version), check that your data should replace its current version, and set cas "
                "to that version; or leave cas unset to write over whatever version is current"
                % (self.api.label(self.request.path), version, cas))

    def write_data(self, current, after):
        request = self.request
        version = current["metadata"].get("currentVersion")
        try:
            # With the version just read as cas, a version written meanwhile is never overwritten unseen.
            self.apply(self.api.write_version, request.path, request.data, version)
        except OvhApiError as exc:
            if is_cas_conflict(exc):
                raise TaskError(self.cas_refusal(exc, version), api_error=exc.to_result())
            raise
        after["metadata"]["currentVersion"] = version + 1
        after["version"] = {"id": version + 1, "state": "ACTIVE", "createdAt": None, "deactivatedAt": None,
                            "data": copy.deepcopy(request.data)}

    def cas_refusal(self, exc, version):
        """The API refused the write for its cas: another writer made a version between the read and the write."""
        return ("another version of %s was written between this task's read (version %d) and its write, so the API "
                "refused the new version for its check-and-set version (cas %d) and the data was not written. "
                "Someone else writes this secret too: run the task again to write over the newer version once you "
                "know that is what you want (%s)" % (self.api.label(self.request.path), version, version, exc))

    def reread(self):
        secret = self.api.get(self.request.path, include_data=True)
        if secret is None:
            raise TaskError("%s was written but can no longer be read: someone deleted it meanwhile"
                            % self.api.label(self.request.path))
        return secret


def main():
    module = OkmsModule(
        argument_spec=dict(
            okms_id=dict(type="str", required=True),
            path=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            data=dict(type="dict", no_log=True),
            overwrite=dict(type="bool", default=True),
            cas=dict(type="int"),
            max_versions=dict(type="int"),
            cas_required=dict(type="bool"),
            deactivate_version_after=dict(type="str"),
            custom_metadata=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    SecretReconciler(module).run()


if __name__ == "__main__":
    main()
