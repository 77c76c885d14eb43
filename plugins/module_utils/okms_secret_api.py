# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The secrets of one KMS, through the OVHcloud API (``/v2/okms/resource/{okmsId}/secret``).

Used by ``okms_secret``, ``okms_secret_info`` and the ``okms_secret`` lookup.
A secret path goes into URLs percent-encoded (``app/db`` as ``app%2Fdb``, as
Terraform sends it), so a path whose last segment is ``version`` is never read
as the versions of another secret.

Every method names what it is doing in its errors ("update secret 'app/db' of
KMS ..."); a write whose answer was lost is settled by re-reading the secret:
carried on when it took effect, sent again only when sending again cannot make
a second version (a version write always carries ``cas``, so a repeat of one
that was applied is refused instead of writing twice). Objects are returned as
the API sends them (camelCase); the modules shape them with
``secret_to_result``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote  # type: ignore

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_resource import (
    NOT_FOUND_STATUSES,
    Confirmation,
    ResourceApi,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_secret import (
    metadata_differences,
    readable_data,
    same_data,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError


def quote_path(path):
    """A secret path as one URL segment: ``/`` percent-encoded (Go's url.PathEscape keeps ``:``, ``=``, ``@``)."""
    return quote(path, safe=":=@")


class SecretApi(ResourceApi):
    """The secrets of the KMS ``okms_id``."""

    def __init__(self, client, okms_id):
        super(SecretApi, self).__init__(client)
        self.okms_id = okms_id
        self.kms_path = "/v2/okms/resource/%s" % okms_id
        self.collection_path = self.kms_path + "/secret"
        self.config_path = self.kms_path + "/secretConfig"

    def secret_path(self, path):
        return "%s/%s" % (self.collection_path, quote_path(path))

    def versions_path(self, path):
        return self.secret_path(path) + "/version"

    def version_path(self, path, number):
        return "%s/%d" % (self.versions_path(path), number)

    def label(self, path):
        """How errors name a secret: ``secret 'app/db' of KMS <id>``."""
        return "secret '%s' of KMS %s" % (path, self.okms_id)

    # -- reading ------------------------------------------------------------------

    def get(self, path, include_data=False, version=None):
        """The secret (``{path, metadata, iam, version?}``), or None when it (or that version) does not exist.

        With ``include_data`` the current version (or ``version``) comes with its data when it is
        active; with ``version`` alone, that version comes without data.
        """
        params = {}
        if include_data:
            params["includeData"] = "true"
        if version is not None:
            params["version"] = version
        what = "read %s" % self.label(path) if version is None else "read version %s of %s" % (
            version, self.label(path))
        return self.read(self.secret_path(path), what, params=params or None)

    def list(self):
        """Every secret of the KMS (path, metadata, iam; no version), every page."""
        return self.read_all(self.collection_path, "read the secrets of KMS %s" % self.okms_id)

    def versions(self, path):
        """Every version of the secret (number, state, dates; never data), or None when the secret does not exist."""
        try:
            return self.read_all(self.versions_path(path), "read the versions of %s" % self.label(path))
        except OvhApiError as exc:
            if exc.status in NOT_FOUND_STATUSES:
                return None
            raise

    def version(self, path, number, include_data=False):
        """One version, or None when it does not exist (pruned, or never written)."""
        return self.read(self.version_path(path, number), "read version %d of %s" % (number, self.label(path)),
                         params={"includeData": "true"} if include_data else None)

    def kms_exists(self):
        """Whether the KMS itself exists (a missing KMS and a missing secret are both a 404)."""
        return self.config() is not None

    def config(self):
        """The KMS's secret defaults: ``{casRequired, maxVersions, deactivateVersionAfter}``."""
        return self.read(self.config_path, "read the secret configuration of KMS %s" % self.okms_id)

    # -- writing ------------------------------------------------------------------

    def create(self, path, data, metadata=None):
        """Create the secret with version 1 (no cas on creation); returns ``{path, metadata}``."""
        body = {"path": path, "version": {"data": data}}
        if metadata:
            body["metadata"] = metadata

        def confirm():
            current = self.get(path, include_data=True)
            if current is None:
                # Nothing was created: sending again cannot make a second secret (an existing path is refused).
                return Confirmation.absent()
            if current["metadata"].get("currentVersion") == 1 and same_data(readable_data(current), data):
                return Confirmation.applied(current)
            return Confirmation.undecidable(
                "%s exists now, but not as this task wrote it (version %s): someone else wrote it meanwhile; "
                "check it (okms_secret_info) before running again"
                % (self.label(path), current["metadata"].get("currentVersion")))

        return self.write_then_confirm(
            "create %s" % self.label(path), lambda: self.client.post(self.collection_path, body), confirm,
            check="check whether %s exists (GET %s) before running again" % (self.label(path),
                                                                             self.secret_path(path)))

    def update_metadata(self, path, metadata):
        """Change metadata only (never a new version, so never a cas); returns ``{path, metadata}``."""
        def confirm():
            current = self.get(path)
            if current is None:
                return Confirmation.undecidable("%s no longer exists: check who deleted it" % self.label(path))
            if not metadata_differences(current.get("metadata"), metadata):
                return Confirmation.applied(current)
            # A metadata-only write makes no version: sending it again changes nothing twice.
            return Confirmation.absent()

        return self.write_then_confirm(
            "update the metadata of %s" % self.label(path),
            lambda: self.client.put(self.secret_path(path), {"metadata": metadata}), confirm,
            check="check the metadata of %s (GET %s) before running again" % (self.label(path),
                                                                              self.secret_path(path)))

    def write_version(self, path, data, cas):
        """Write ``data`` as the next version, only if the current version is still ``cas``.

        Returns ``{path, metadata}``. A refusal for ``cas`` (see ``is_cas_conflict``) means
        another version was written since ``cas``.
        """
        def confirm():
            return self._confirm_version(path, data, cas)

        return self.write_then_confirm(
            "write a new version of %s" % self.label(path),
            lambda: self.client.put(self.secret_path(path), {"version": {"data": data}}, params={"cas": cas}),
            confirm, check=self._check_version(path, cas))

    def add_version(self, path, data, cas):
        """``POST .../version``: the same as ``write_version``, answered with the new version."""
        return self.write_then_confirm(
            "write a new version of %s" % self.label(path),
            lambda: self.client.post(self.versions_path(path), {"data": data}, params={"cas": cas}),
            lambda: self._confirm_version(path, data, cas, as_version=True), check=self._check_version(path, cas))

    def _confirm_version(self, path, data, cas, as_version=False):
        current = self.get(path, include_data=True)
        if current is None:
            return Confirmation.undecidable("%s no longer exists: check who deleted it" % self.label(path))
        number = current["metadata"].get("currentVersion")
        if number == cas:
            # Still the version the write was based on: it was not applied, and sent again with the same
            # cas it can make at most one version.
            return Confirmation.absent()
        if number == cas + 1 and same_data(readable_data(current), data):
            return Confirmation.applied(current.get("version") if as_version else current)
        return Confirmation.undecidable(
            "%s is now at version %s, which this task may not have written (it wrote on version %s); check the "
            "secret's versions (okms_secret_info) before running again" % (self.label(path), number, cas))

    def _check_version(self, path, cas):
        return "check whether %s has a version %d (GET %s) before running again" % (
            self.label(path), cas + 1, self.versions_path(path))

    def set_version_state(self, path, number, state):
        """Move a version to ``ACTIVE``, ``DEACTIVATED`` or ``DELETED`` (final)."""
        def confirm():
            current = self.version(path, number)
            if current is None:
                return Confirmation.undecidable("version %d of %s no longer exists" % (number, self.label(path)))
            if current.get("state") == state:
                return Confirmation.applied(current)
            return Confirmation.absent()

        return self.write_then_confirm(
            "set version %d of %s to %s" % (number, self.label(path), state),
            lambda: self.client.put(self.version_path(path, number), {"state": state}), confirm,
            check="check the state of version %d of %s (GET %s)"
                  % (number, self.label(path), self.version_path(path, number)))

    def delete(self, path):
        """Delete the secret and every version of it."""
        def confirm():
            return Confirmation.applied() if self.get(path) is None else Confirmation.absent()

        return self.write_then_confirm(
            "delete %s" % self.label(path), lambda: self.client.delete(self.secret_path(path)), confirm,
            check="check whether %s still exists (GET %s) before running again" % (self.label(path),
                                                                                   self.secret_path(path)))

    def update_config(self, changes):
        """Change the KMS's secret defaults (``casRequired``, ``maxVersions``, ``deactivateVersionAfter``)."""
        def confirm():
            current = self.config() or {}
            if all(current.get(name) == value for name, value in changes.items()):
                return Confirmation.applied(current)
            return Confirmation.absent()

        return self.write_then_confirm(
            "update the secret configuration of KMS %s" % self.okms_id,
            lambda: self.client.put(self.config_path, changes), confirm,
            check="check the secret configuration of KMS %s (GET %s)" % (self.okms_id, self.config_path))
