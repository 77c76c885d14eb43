# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: module_examples_results
type: aggregate
short_description: Write every task result of the module_examples test as one JSON line
description:
  - Appends one JSON object per task result (task name, whether it is a handler, status, seconds since the
    task started, and the failure message) to the file named by the E(MODULE_EXAMPLES_RESULTS) environment variable, so that
    C(run_examples.py) can tell which example failed or changed without parsing the console output.
  - The module's output is not copied, only its status, C(msg) and C(warnings).
options: {}
"""

import json
import os
import time

from ansible.playbook.handler import Handler
from ansible.plugins.callback import CallbackBase


def _task_and_data(result):
    # ansible-core 2.19 has result.task / result.result; older versions only the underscored names.
    task = getattr(result, "task", None) or result._task
    data = getattr(result, "result", None)
    return task, (data if data is not None else result._result)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "module_examples_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._path = os.environ.get("MODULE_EXAMPLES_RESULTS")
        self._started = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = time.monotonic()

    def v2_playbook_on_handler_task_start(self, task):
        self._started[task._uuid] = time.monotonic()

    def _record(self, result, status, ignored=False):
        if not self._path:
            return
        task, data = _task_and_data(result)
        started = self._started.get(task._uuid)
        entry = dict(task=task.get_name(), handler=isinstance(task, Handler), status=status, ignored=ignored,
                     seconds=round(time.monotonic() - started, 2) if started else None,
                     warnings=[str(warning) for warning in data.get("warnings") or []])
        if status in ("failed", "unreachable"):
            entry["msg"] = str(data.get("msg", ""))
        with open(self._path, "a") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "changed" if _task_and_data(result)[1].get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed", ignored=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")
