# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base of modules that use a KMS through its own REST API (the data plane).

They take the collection's connection options (for an OAuth2 identity, or to
find the KMS's REST endpoint) plus the ``ovhcloud.kms.data_plane`` fragment's
options, and get one KmsDataClient per run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_client import build_data_client
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_config import (
    DATA_PLANE_ARGUMENT_SPEC,
    resolve_data_plane,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import CONNECTION_ARGUMENT_SPEC, OkmsModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_config import resolve_config
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError, OvhConfigurationError


def oauth2_configured(options):
    """Whether OVH_* variables or ovh.conf (with ``options``) configure an OAuth2 service account."""
    try:
        return resolve_config(options).auth_method == "oauth2"
    except OvhConfigurationError:
        return False


class OkmsDataModule(OkmsModule):
    """An OkmsModule that also reaches one KMS's REST API as the identity its options name."""

    def __init__(self, argument_spec=None, **kwargs):
        spec = dict(DATA_PLANE_ARGUMENT_SPEC)
        spec.update(argument_spec or {})
        super(OkmsDataModule, self).__init__(argument_spec=spec, **kwargs)
        self._data_client = None
        self._settings = None

    @property
    def data_settings(self):
        """Endpoint, KMS id and identity, or a failure naming the option or file to fix."""
        if self._settings is None:
            options = dict((name, self.params.get(name)) for name in CONNECTION_ARGUMENT_SPEC)
            try:
                self._settings = resolve_data_plane(self.params, lambda: oauth2_configured(options))
            except OvhConfigurationError as exc:
                self.fail_json(msg="KMS REST API configuration: %s" % exc)
        return self._settings

    @property
    def data_client(self):
        """The run's single client of the KMS REST API."""
        if self._data_client is None:
            settings = self.data_settings
            if not self.params["validate_certs"]:
                self.warn("validate_certs is false: the KMS's TLS certificate is not checked.")
            try:
                self._data_client = build_data_client(
                    settings, lambda: self.client, validate_certs=self.params["validate_certs"],
                    timeout=self.params["timeout"], caller=self._name.rsplit(".", 1)[-1])
            except OvhConfigurationError as exc:
                self.fail_json(msg="KMS REST API configuration: %s" % exc)
            except OvhApiError as exc:
                self.fail_api_error(exc)
            except (IOError, OSError) as exc:
                self.fail_json(msg="ca_path: cannot read %s: %s" % (settings.ca_path, exc.strerror or exc))
        return self._data_client
