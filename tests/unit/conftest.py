# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared plumbing of the unit tests.

- Isolation: no test sees the OVH_* variables or the ovh.conf files of the
  machine running it (HOME and the working directory are a temporary
  directory, and /etc/ovh.conf is not read).
- ``run_module``: runs a module's ``main()`` with arguments, against a given
  API client (usually ``FakeOkmsApi``), and returns its outcome instead of
  exiting.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.module_utils import basic

from ansible_collections.ovhcloud.kms.plugins.module_utils import ovh_config
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.tests.unit.module_harness import ModuleOutcome, module_args

OVH_VARIABLES = ("OVH_ENDPOINT", "OVH_APPLICATION_KEY", "OVH_APPLICATION_SECRET", "OVH_CONSUMER_KEY",
                 "OVH_CLIENT_ID", "OVH_CLIENT_SECRET")
# Connection options that satisfy the module's configuration check; requests go to the fake.
FAKE_CONNECTION = dict(endpoint="ovh-eu", client_id="cid", client_secret="s3cr3t")


@pytest.fixture(autouse=True)
def isolated_from_the_machine(monkeypatch, tmp_path):
    for name in OVH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ovh_config, "CONFIG_FILES", (str(tmp_path / "etc-ovh.conf"), "~/.ovh.conf", "./ovh.conf"))


@pytest.fixture
def run_module(monkeypatch):
    """``run_module(module, args, api=None, check_mode=False, diff=False) -> ModuleOutcome``."""

    def exit_json(self, **kwargs):
        kwargs.setdefault("warnings", list(getattr(self, "_test_warnings", [])))
        raise ModuleOutcome(False, kwargs)

    def fail_json(self, **kwargs):
        kwargs.setdefault("warnings", list(getattr(self, "_test_warnings", [])))
        raise ModuleOutcome(True, kwargs)

    def warn(self, warning):
        self.__dict__.setdefault("_test_warnings", []).append(warning)

    for cls in (OkmsModule, basic.AnsibleModule):
        monkeypatch.setattr(cls, "exit_json", exit_json)
        monkeypatch.setattr(cls, "fail_json", fail_json)
        monkeypatch.setattr(cls, "warn", warn)

    def run(module, args, api=None, check_mode=False, diff=False):
        if api is not None:
            monkeypatch.setattr(OkmsModule, "client", property(lambda self: api))
        full_args = dict(args)
        if api is not None:
            full_args = dict(FAKE_CONNECTION, **full_args)
        full_args["_ansible_check_mode"] = check_mode
        full_args["_ansible_diff"] = diff
        with module_args(full_args):
            with pytest.raises(ModuleOutcome) as outcome:
                module.main()
        return outcome.value

    return run
