"""The task log written by callback_plugins/bench_timing.py: when each task started and ended, how
many times it ran (hosts x loop items), and which audit-log requests it sent."""

import json
import os

CALLBACK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
CALLBACK_NAME = "bench_timing"
LOG_VARIABLE = "OKMS_BENCH_TASK_LOG"
BEFORE_FIRST_TASK = "(before the first task)"

# Actions that run in the controller's process: no module is sent to a host for them.
CONTROLLER_ACTIONS = {"set_fact", "debug", "assert", "fail", "meta", "include_tasks", "import_tasks",
                      "include_role", "import_role", "include_vars", "set_stats", "add_host", "group_by"}


def callback_env(log_path):
    """Environment variables that turn the callback on, writing to log_path."""
    return {"ANSIBLE_CALLBACK_PLUGINS": CALLBACK_DIR, "ANSIBLE_CALLBACKS_ENABLED": CALLBACK_NAME,
            LOG_VARIABLE: log_path}


def is_module(action):
    return action.rsplit(".", 1)[-1] not in CONTROLLER_ACTIONS


def read_tasks(path):
    """Tasks in start order: name, action, start, end, runs, changed, failed, requests (empty list)."""
    tasks, by_uuid = [], {}
    if not os.path.exists(path):
        return tasks
    with open(path, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    for record in records:
        if record["event"] == "task_start":
            task = {"name": record["name"], "action": record["action"], "start": record["time"],
                    "end": record["time"], "runs": 0, "changed": 0, "failed": 0, "requests": []}
            tasks.append(task)
            by_uuid[record["uuid"]] = task  # an included task starts again for each include: the last one
        elif record["event"] == "result" and record["uuid"] in by_uuid:
            task = by_uuid[record["uuid"]]
            task["end"] = max(task["end"], record["time"])
            task["runs"] += record["runs"]
            task["changed"] += int(record["changed"])
            task["failed"] += int(record["status"] == "failed")
    return tasks


def assign_requests(tasks, entries):
    """Put each request in the last task started before it; returns the requests before any task."""
    orphans, index = [], -1
    for entry in sorted(entries, key=lambda e: e["t"]):
        while index + 1 < len(tasks) and tasks[index + 1]["start"] <= entry["t"]:
            index += 1
        if index < 0:
            orphans.append(entry)
        else:
            tasks[index]["requests"].append(entry)
    return orphans


def totals(tasks):
    """Module runs (hosts x items of tasks that send a module), all executions, and changed results."""
    return {
        "module_runs": sum(t["runs"] for t in tasks if is_module(t["action"])),
        "executions": sum(t["runs"] for t in tasks),
        "changed": sum(t["changed"] for t in tasks),
        "failed": sum(t["failed"] for t in tasks),
    }


def merged_by_name(tasks):
    """Tasks of the same name and action added up (an included file runs its tasks once per include)."""
    merged = {}
    for task in tasks:
        key = (task["name"], task["action"])
        row = merged.setdefault(key, {"name": task["name"], "action": task["action"], "seconds": 0.0,
                                      "runs": 0, "requests": 0})
        row["seconds"] += task["end"] - task["start"]
        row["runs"] += task["runs"]
        row["requests"] += len(task["requests"])
    return sorted(merged.values(), key=lambda row: -row["seconds"])
