#!/usr/bin/env python3
"""Run the collection's integration targets in parallel, each worker with its own emulator.

Each worker has its own copy of the collection tree (ansible-test writes
tests/output into the tree it runs from) and its own freshly started
emulator. Workers take targets from one queue, longest first, and run each
with its own `ansible-test integration` and its own log. A target's expected
duration is what it took in the last run here (durations.json in the work
directory), else the `# duration: N s` comment of its aliases file; a target
with neither counts as long as the longest known one. Nothing has to be
listed anywhere for a new target to run.

The emulator's connection settings reach the targets two ways: as variables in
tests/integration/integration_config.yml (for playbook targets, which pass them
to the modules through module_defaults), and as OKMS_EMULATOR_CONNECTION, the
path of connection.json (for script targets).

The workers' emulators deliver orders and issue credentials faster than the
emulator's defaults (EMULATOR_ARGS). A target that tests those delays, or needs
other `serve` options, says so in its aliases file with `# emulator: OPTIONS`:
it then runs against an emulator of its own, started with these options only.
"""

import argparse
import json
import os
import queue
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time

from okms_emulator.testing import running_emulator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_step import duration, tail  # noqa: E402

# A worker keeps about half a core busy (ansible-playbook start-up, modules;
# the rest is waiting on the emulator's simulated delays). On the 2-core CI
# machine all 17 targets took 4m29s with 3 workers, 5m12s with 4, 8m07s with
# 2 and over 17 minutes with 1: one worker more than there are cores.
DEFAULT_JOBS = (os.cpu_count() or 1) + 1
ANSIBLE_TEST_ARGS = ["integration", "--local", "--python", "3.11", "--color", "no", "-v"]
# In a target's aliases file (ansible-test ignores comments): what it takes on
# the 2-core CI machine, used until a run here has measured it.
DURATION_HINT = re.compile(r"^#\s*duration:\s*(\d+(?:\.\d+)?)\s*s\b", re.MULTILINE)
# In a target's aliases file: run it against an emulator of its own, started with these `serve` options.
EMULATOR_OPTIONS = re.compile(r"^#\s*emulator:(.*)$", re.MULTILINE)
# The emulator shared by a worker's targets: a new credential is READY 0.5 s after its creation, a paid
# order delivered 0.4 s after payment. The modules still poll for both (their first check of a credential,
# 0.25 s after creating it, normally finds it CREATING; of an order, right after paying, finds it not
# delivered), and see them done at their second check, 0.5 s later, instead of 1 s (credential) and 3.5 s
# (order, delivered in 2 s by default) later. okms_instance, which tests the waits for deliveries, asks for
# an emulator with the default delivery time (`# emulator:` in its aliases file).
EMULATOR_ARGS = ["--credential-ready-delay", "0.5", "--order-delivery-delay", "0.4"]


def ansible_test():
    return os.path.join(os.path.dirname(sys.executable), "ansible-test")


def list_targets(collection_dir, patterns):
    """The targets ansible-test would run for these patterns (all when none), hidden ones excluded."""
    result = subprocess.run([ansible_test()] + ANSIBLE_TEST_ARGS[:-1] + ["--list-targets"] + list(patterns),
                            cwd=collection_dir, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if not line.startswith("WARNING")]
        raise RuntimeError("ansible-test cannot list the targets: %s" % " ".join(errors).strip())
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def load_durations(path):
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return {k: float(v) for k, v in data.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def save_durations(path, durations):
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(durations, handle, indent=1, sort_keys=True)
    os.replace(path + ".tmp", path)


def emulator_options(tree, target):
    """The `serve` options of the `# emulator: OPTIONS` comment of the target's aliases file, or None."""
    try:
        with open(os.path.join(tree, "tests", "integration", "targets", target, "aliases"), encoding="utf-8") as handle:
            match = EMULATOR_OPTIONS.search(handle.read())
    except OSError:
        return None
    return shlex.split(match.group(1)) if match else None


def duration_hints(collection_dir, targets):
    """{target: seconds} from a `# duration: N s` comment in the targets' aliases files (optional)."""
    hints = {}
    for target in targets:
        try:
            with open(os.path.join(collection_dir, "tests", "integration", "targets", target, "aliases"),
                      encoding="utf-8") as handle:
                match = DURATION_HINT.search(handle.read())
        except OSError:
            match = None
        if match:
            hints[target] = float(match.group(1))
    return hints


def schedule(targets, estimates):
    """Longest first. A target with no estimate counts as long as the longest one known (it may be long):
    it comes right after the longest, so the longest known ones never start last."""
    unknown = max(estimates.values(), default=0.0)
    return sorted(targets, key=lambda name: (-estimates.get(name, unknown), name not in estimates, name))


class Worker(threading.Thread):
    """One collection tree, one shared emulator; runs targets from the queue until it is empty."""

    def __init__(self, number, source_tree, work_dir, log_dir, todo, report):
        super().__init__(name="worker-%d" % number, daemon=True)
        self.number = number
        self.source_tree = source_tree
        self.base = os.path.join(work_dir, "worker-%d" % number)
        self.tree = os.path.join(self.base, "ansible_collections", "ovhcloud", "kms")
        self.log_dir = log_dir
        self.todo = todo
        self.report = report

    def prepare_tree(self):
        shutil.copytree(self.source_tree, self.tree, symlinks=True, ignore=_ignore_test_output(self.source_tree))

    def use_emulator(self, conn):
        """Point the tree's targets at this emulator; returns their environment."""
        config = {"okms_emulator_%s" % k: v for k, v in conn.items()}
        config_path = os.path.join(self.tree, "tests", "integration", "integration_config.yml")
        with open(config_path, "w", encoding="utf-8") as handle:
            # JSON is valid YAML; ansible-test passes these as extra variables.
            json.dump(config, handle, indent=1)
        return dict(os.environ, OKMS_EMULATOR_CONNECTION=conn["connection_path"], ANSIBLE_COLLECTIONS_PATH=self.base)

    def run(self):
        try:
            self.prepare_tree()
            with running_emulator(os.path.join(self.base, "emulator"), extra_args=EMULATOR_ARGS) as shared:
                while True:
                    try:
                        target = self.todo.get_nowait()
                    except queue.Empty:
                        return
                    options = emulator_options(self.tree, target)
                    if options is None:
                        self.run_target(target, self.use_emulator(shared))
                        continue
                    ran = False
                    try:
                        with running_emulator(os.path.join(self.base, "emulator-" + target),
                                              extra_args=options) as own:
                            self.run_target(target, self.use_emulator(own))
                            ran = True
                    except RuntimeError as exc:  # its emulator did not start, or did not stop cleanly
                        self.report(None if ran else target, False, 0.0, None,
                                    "worker %d, %s's emulator: %s" % (self.number, target, exc))
        except Exception as exc:  # e.g. the emulator did not start: report it, and fail what is left
            self.report(None, False, 0.0, None, "worker %d: %s" % (self.number, exc))
            while True:
                try:
                    target = self.todo.get_nowait()
                except queue.Empty:
                    return
                self.report(target, False, 0.0, None, "not run: worker %d stopped" % self.number)

    def run_target(self, target, env):
        log_path = os.path.join(self.log_dir, "%s.log" % target)
        command = [ansible_test()] + ANSIBLE_TEST_ARGS + [target]
        started = time.monotonic()
        with open(log_path, "wb") as log:
            log.write(("### %s\n### in %s (worker %d)\n" % (" ".join(command), self.tree, self.number))
                      .encode("utf-8"))
            log.flush()
            status = subprocess.call(command, cwd=self.tree, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.report(target, status == 0, time.monotonic() - started, log_path, "worker %d" % self.number)


def _ignore_test_output(source_tree):
    """copytree ignore function: leave out tests/output of the source tree (results of earlier runs)."""
    output_dir = os.path.join(source_tree, "tests")

    def ignore(directory, names):
        return ["output"] if os.path.samefile(directory, output_dir) and "output" in names else []
    return ignore


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collection-dir", required=True, help="the collection tree `make collection-tree` built")
    parser.add_argument("--work-dir", required=True, help="workers' trees and emulators (made anew), durations.json (kept)")
    parser.add_argument("--log-dir", required=True, help="one log per target")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("INTEGRATION_JOBS") or DEFAULT_JOBS),
                        help="parallel workers (default %(default)s, or INTEGRATION_JOBS)")
    parser.add_argument("targets", nargs="*", help="targets or aliases, as ansible-test takes them (default: all)")
    args = parser.parse_args()

    collection_dir = os.path.abspath(args.collection_dir)
    work_dir = os.path.abspath(args.work_dir)
    log_dir = os.path.abspath(args.log_dir)
    durations_path = os.path.join(work_dir, "durations.json")
    os.makedirs(work_dir, exist_ok=True)
    for name in os.listdir(work_dir):
        if name.startswith("worker-"):
            shutil.rmtree(os.path.join(work_dir, name))
    if os.path.isdir(log_dir):
        shutil.rmtree(log_dir)
    os.makedirs(log_dir)

    try:
        targets = list_targets(collection_dir, args.targets)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 2
    durations = load_durations(durations_path)
    hints = duration_hints(collection_dir, targets)
    ordered = schedule(targets, dict(hints, **durations))
    jobs = max(1, min(args.jobs, len(ordered)))
    print("%d targets, %d workers, longest first: %s" % (len(ordered), jobs, " ".join(ordered)), flush=True)

    todo = queue.Queue()
    for target in ordered:
        todo.put(target)
    results = []
    lock = threading.Lock()

    def report(target, passed, seconds, log_path, where):
        with lock:
            results.append((target, passed, seconds, log_path, where))
            if target is None:
                print("FAILED  %s" % where, flush=True)
                return
            print("%-34s %-6s %9s  %s, %s" % (target, "ok" if passed else "FAILED", duration(seconds), where,
                                            log_path), flush=True)
            # A failed run may have stopped early: it can only raise a known estimate.
            if passed or durations.get(target, seconds) < seconds:
                durations[target] = round(seconds, 1)

    started = time.monotonic()
    workers = [Worker(number, collection_dir, work_dir, log_dir, todo, report) for number in range(1, jobs + 1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    save_durations(durations_path, durations)

    failed = [r for r in results if not r[1]]
    passed = len([r for r in results if r[1]])
    print("%d passed, %d failed in %s with %d workers" % (passed, len(failed), duration(time.monotonic() - started),
                                                          jobs), flush=True)
    stale = ["%s (%s, took %d s)" % (target, "hint %d s" % hints[target] if hints.get(target) else "no hint", seconds)
             for target, ok, seconds, _log, _where in results
             if ok and not (hints.get(target) and 0.5 <= seconds / hints[target] <= 2.0)]
    if stale:
        print("note: the `# duration: N s` comment of these targets' aliases files is missing or more than twice "
              "off (it orders the first run of a fresh clone): %s" % ", ".join(sorted(stale)))
    for target, _passed, _seconds, log_path, where in failed:
        print("\n=== FAILED %s (%s)%s" % (target or "worker", where, ": %s" % log_path if log_path else ""))
        for line in tail(log_path, 25) if log_path else []:
            print("    " + line)
    if failed:
        print("\nFAILED: %s" % " ".join(r[0] or r[4] for r in failed), flush=True)
    return 1 if failed or passed != len(ordered) else 0


if __name__ == "__main__":
    sys.exit(main())
