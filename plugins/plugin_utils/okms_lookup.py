# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base of the collection's lookup plugins: the modules' connection options and API client.

A lookup documents its options with ``extends_documentation_fragment: [ovhcloud.kms.api,
ovhcloud.kms.api.plugins]``, implements ``lookup(terms, variables)`` and calls ``api_client()``
for the same ``OvhApiClient`` a module builds, configured from the same sources in the same
order: the lookup's own options, then the role's ``okms_api_*`` variables, then the ``OVH_*``
environment variables, then the ``ovh.conf`` files. Failures become ``AnsibleLookupError`` with
the text a module fails with (never a secret).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible import constants as C
from ansible.errors import AnsibleLookupError
from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.ovhcloud.kms.plugins.module_utils.http_transport import HAS_REQUESTS
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_client import build_data_client
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_config import (
    DATA_PLANE_ARGUMENT_SPEC,
    resolve_data_plane,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import CONNECTION_ARGUMENT_SPEC
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_api import OvhApiClient
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_config import CREDENTIAL_FIELDS, resolve_config
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError, OvhConfigurationError

display = Display()

# The options resolve_config takes, then reads itself from OVH_* and ovh.conf when they are unset.
RESOLVED_OPTIONS = ("endpoint",) + CREDENTIAL_FIELDS


class _EmptyMeansUnset(Mapping):
    """The play's variables, where an empty connection variable counts as unset.

    The role's defaults set every ``okms_api_*`` variable to "" (meaning "not
    set"); Ansible would otherwise take "" as a value, and even turn an empty
    ``ca_path`` into the current directory.
    """

    def __init__(self, variables, names, templar):
        self._variables = variables
        self._names = names
        self._templar = templar

    def __getitem__(self, name):
        value = self._variables[name]
        if name in self._names:
            # Lookups get the play's variables untemplated, and these are often templates ("{{ vault_... }}").
            if self._templar is not None:
                value = self._templar.template(value)
            if value is None or value == "":
                raise KeyError(name)
        return value

    def __iter__(self):
        return iter(self._variables)

    def __len__(self):
        return len(self._variables)


class OkmsLookupBase(LookupBase):
    """A lookup talking to the OVHcloud API with the modules' connection options and error texts."""

    def __init__(self, *args, **kwargs):
        super(OkmsLookupBase, self).__init__(*args, **kwargs)
        self._api_client = None
        self._data_client = None
        self._given = frozenset()

    def run(self, terms, variables=None, **kwargs):
        """Set the options, run ``lookup()`` and report an API failure as a module would."""
        self.set_options(var_options=variables, direct=kwargs)
        try:
            return self.lookup(terms, variables)
        except OvhApiError as exc:
            raise AnsibleLookupError(str(exc))

    def lookup(self, terms, variables):
        """The lookup's work: return the list of results for ``terms``."""
        raise NotImplementedError

    def set_options(self, task_keys=None, var_options=None, direct=None):
        definitions = C.config.get_configuration_definitions(plugin_type=self.plugin_type, name=self._load_name)
        variable_names = dict(
            (name, [entry["name"] for entry in (definitions.get(name) or {}).get("vars", [])])
            for name in CONNECTION_ARGUMENT_SPEC)
        if var_options is not None:
            all_names = frozenset(entry for names in variable_names.values() for entry in names)
            var_options = _EmptyMeansUnset(var_options, all_names, self._templar)
        if direct:
            direct = dict((name, value) for name, value in direct.items()
                          if not (name in CONNECTION_ARGUMENT_SPEC and (value is None or value == "")))
        super(OkmsLookupBase, self).set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        # resolve_config gets only what the lookup or the play set, and reads OVH_* and ovh.conf
        # itself, so that its messages name the real source of every value.
        variables = var_options if var_options is not None else {}
        self._given = frozenset(
            name for name in RESOLVED_OPTIONS
            if name in (direct or {}) or any(variables.get(entry) is not None for entry in variable_names[name]))
        self._api_client = None
        self._data_client = None

    def data_client(self):
        """The run's one client of a KMS's REST API, configured as a data-plane module is.

        For lookups documented with the ``ovhcloud.kms.data_plane`` fragment too.
        """
        if self._data_client is None:
            params = dict((name, self.get_option(name)) for name in DATA_PLANE_ARGUMENT_SPEC)
            params["ca_path"] = self.get_option("ca_path")
            for name in ("client_id", "client_secret"):
                params[name] = self.get_option(name) if name in self._given else None

            def oauth2_available():
                options = dict((name, self.get_option(name) if name in self._given else None)
                               for name in RESOLVED_OPTIONS)
                try:
                    return resolve_config(options).auth_method == "oauth2"
                except OvhConfigurationError:
                    return False

            try:
                settings = resolve_data_plane(params, oauth2_available)
                self._data_client = build_data_client(
                    settings, self.api_client, validate_certs=self.get_option("validate_certs"),
                    timeout=self.get_option("timeout"), caller="lookup %s" % self._load_name.rsplit(".", 1)[-1])
            except OvhConfigurationError as exc:
                raise AnsibleLookupError("KMS REST API configuration: %s" % exc)
            except (IOError, OSError) as exc:
                raise AnsibleLookupError("ca_path: cannot read %s: %s" % (params["ca_path"], exc.strerror or exc))
        return self._data_client

    def api_client(self):
        """The run's one API client (one session; one token, or a server-time lookup only if a timestamp is refused)."""
        if self._api_client is None:
            if not HAS_REQUESTS:
                raise AnsibleLookupError(missing_required_lib("requests"))
            timeout = self.get_option("timeout")
            if timeout is None or timeout <= 0:
                raise AnsibleLookupError("timeout must be a positive number of seconds, got %s" % timeout)
            options = dict((name, self.get_option(name) if name in self._given else None) for name in RESOLVED_OPTIONS)
            try:
                config = resolve_config(options, option_label="lookup option or okms_api_* variable")
            except OvhConfigurationError as exc:
                raise AnsibleLookupError("OVHcloud API configuration: %s" % exc)
            validate_certs = self.get_option("validate_certs")
            ca_path = self.get_option("ca_path")
            if not validate_certs:
                display.warning("validate_certs is false: the API server's TLS certificate is not checked.")
            try:
                self._api_client = OvhApiClient(config, validate_certs=validate_certs, ca_path=ca_path,
                                                timeout=timeout, caller="lookup %s" % self._load_name.rsplit(".", 1)[-1])
            except OvhApiError as exc:
                raise AnsibleLookupError(str(exc))
            except (IOError, OSError) as exc:
                raise AnsibleLookupError("ca_path: cannot read %s: %s" % (ca_path, exc.strerror or exc))
        return self._api_client
