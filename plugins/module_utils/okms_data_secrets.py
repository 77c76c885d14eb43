# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading Secret Manager secrets through a KMS's REST API (``/api/{okmsId}/v2/secret``), as a host's identity.

Used by ``okms_secret_file``. Unlike the control-plane layer (``okms_secret_api``)
it only reads, with the caller's own certificate or token, so the value goes
from the KMS to the host that needs it without passing through the controller.
Errors name the path and the KMS, never a value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_secret_api import quote_path
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError, api_action


class SecretReadError(Exception):
    """A secret that cannot be read (missing, deactivated, refused...); the message names the path."""

    def __init__(self, message, api_error=None):
        super(SecretReadError, self).__init__(message)
        self.api_error = api_error


class DataPlaneSecrets:
    """The secrets of one KMS, read through its REST API."""

    def __init__(self, client):
        self.client = client

    def label(self, path):
        return "secret '%s' of KMS %s" % (path, self.client.okms_id)

    def read(self, path, version=None):
        """``(version number, data dict)`` of the current version, or of ``version``."""
        params = {"includeData": "true"}
        if version is not None:
            params["version"] = version
        what = self.label(path) if version is None else "version %s of %s" % (version, self.label(path))
        try:
            with api_action("read %s" % what):
                secret = self.client.get("/v2/secret/%s" % quote_path(path), params=params)
        except OvhApiError as exc:
            if exc.status == 404:
                raise SecretReadError("%s does not exist%s" % (
                    what, "" if version is None else " (never written, or pruned to keep maxVersions versions)"),
                    exc)
            if exc.status in (401, 403):
                exc.action = None  # the message below says what was being read
                raise SecretReadError("the KMS refused to let this identity read %s: %s" % (what, exc), exc)
            raise
        found = (secret or {}).get("version") or {}
        number = found.get("id", version)
        state = str(found.get("state") or "").lower()
        if state == "deactivated":
            raise SecretReadError("version %s of %s is deactivated: its data cannot be read until it is "
                                  "reactivated" % (number, self.label(path)))
        if state == "deleted":
            raise SecretReadError("version %s of %s is deleted: its data is gone for good" % (number, self.label(path)))
        data = found.get("data")
        if not isinstance(data, dict):
            raise SecretReadError("version %s of %s came without its data (state %s)"
                                  % (number, self.label(path), state or "unknown"))
        return number, data
