# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: bench_timing
type: aggregate
short_description: Record when each task starts and when each host's result arrives (scripts/bench.py only)
description:
  - Appends one JSON line per task start and per host result to the file named by E(OKMS_BENCH_TASK_LOG),
    with the controller's clock (C(time.time())), so that the benchmark can put each request of the
    emulator's audit log in the task that sent it, and count the task executions (hosts and loop items).
options: {}
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timing"
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, record):
        path = os.environ.get("OKMS_BENCH_TASK_LOG")
        if not path:
            return
        record["time"] = time.time()
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True, default=str) + "\n")

    def _task_start(self, task):
        self._write({"event": "task_start", "uuid": task._uuid, "name": task.get_name(), "action": task.action})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._task_start(task)

    def _result(self, result, status):
        data = result._result
        items = data.get("results") if isinstance(data.get("results"), list) else None
        if items is not None:
            runs = sum(1 for item in items if isinstance(item, dict) and not item.get("skipped"))
        else:
            runs = 0 if status == "skipped" else 1
        self._write({"event": "result", "uuid": result._task._uuid, "host": result._host.get_name(),
                     "status": status, "changed": bool(data.get("changed")), "runs": runs})

    def v2_runner_on_ok(self, result):
        self._result(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        self._write({"event": "end"})
