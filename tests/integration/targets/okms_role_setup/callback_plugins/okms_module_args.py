# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: okms_module_args
type: aggregate
short_description: Record the arguments the ovhcloud.kms modules received (integration tests only)
description:
  - Appends one JSON line per run of an C(ovhcloud.kms.*) module (each loop item included) to the file named
    by E(OKMS_MODULE_ARGS_LOG) - task name, host, check mode and C(invocation.module_args), where Ansible has
    already masked the C(no_log) options.
  - Lets a test prove which connection options really reached a module, for example play-level
    C(module_defaults) that a role must not discard.
options: {}
"""

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "okms_module_args"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, item_result=None):
        path = os.environ.get("OKMS_MODULE_ARGS_LOG")
        action = result._task.action
        if not path or not action.startswith("ovhcloud.kms."):
            return
        data = item_result if item_result is not None else result._result
        invocation = data.get("invocation")
        if not isinstance(invocation, dict):
            return
        record = {
            "action": action,
            "task": result._task.get_name(),
            "host": result._host.get_name(),
            "module_args": invocation.get("module_args", {}),
        }
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        if "results" not in result._result:
            self._record(result)

    def v2_runner_item_on_ok(self, result):
        self._record(result, result._result)
