# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""AnsibleModule with the connection options and API client every module of the collection shares."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.ovhcloud.kms.plugins.module_utils.http_transport import HAS_REQUESTS, REQUESTS_IMPORT_ERROR
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_api import OvhApiClient
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_config import resolve_config
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhApiError,
    OvhConfigurationError,
)

# Documented once, in the ovhcloud.kms.api doc fragment.
CONNECTION_ARGUMENT_SPEC = dict(
    endpoint=dict(type="str"),
    # An identifier sent in clear in every request header, not a secret.
    application_key=dict(type="str", no_log=False),
    application_secret=dict(type="str", no_log=True),
    consumer_key=dict(type="str", no_log=True),
    client_id=dict(type="str"),
    client_secret=dict(type="str", no_log=True),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    timeout=dict(type="int", default=30),
)


class OkmsModule(AnsibleModule):
    """Adds the shared connection options, a lazily built API client and readable API failures."""

    def __init__(self, argument_spec=None, **kwargs):
        spec = dict(CONNECTION_ARGUMENT_SPEC)
        spec.update(argument_spec or {})
        super(OkmsModule, self).__init__(argument_spec=spec, **kwargs)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        if self.params["timeout"] <= 0:
            self.fail_json(msg="timeout must be a positive number of seconds, got %s" % self.params["timeout"])
        self._client = None

    @property
    def client(self):
        """The run's single API client (one session; one token, or a clock lookup only if a timestamp is refused)."""
        if self._client is None:
            try:
                config = resolve_config(dict((name, self.params.get(name)) for name in CONNECTION_ARGUMENT_SPEC))
                if not self.params["validate_certs"]:
                    self.warn("validate_certs is false: the API server's TLS certificate is not checked.")
                self._client = OvhApiClient(
                    config, validate_certs=self.params["validate_certs"], ca_path=self.params["ca_path"],
                    timeout=self.params["timeout"], caller=self._name.rsplit(".", 1)[-1])
            except OvhConfigurationError as exc:
                self.fail_json(msg="OVHcloud API configuration: %s" % exc)
            except OvhApiError as exc:
                self.fail_api_error(exc)
            except (IOError, OSError) as exc:
                # Only ca_path is read here (the extra CA certificates, kept in memory).
                self.fail_json(msg="ca_path: cannot read %s: %s" % (self.params["ca_path"], exc.strerror or exc))
        return self._client

    def fail_api_error(self, exc, msg_prefix=None, **result):
        """One readable failure for any API error, with its fields kept for playbooks."""
        message = str(exc)
        if msg_prefix:
            message = "%s: %s" % (msg_prefix, message)
        result["api_error"] = exc.to_result()
        self.fail_json(msg=message, **result)
