#!/usr/bin/env python3
"""`make bench`: how fast the collection is against the local OKMS emulator, and how many requests it sends.

Three phases, each with an emulator of its own (started here, stopped at the end of the phase):

1. no-op: a 20-key / 10-host inventory of local hosts; `ansible-playbook ovhcloud.kms.bootstrap` converges
   it once, then its no-op re-run and a hand-written play of `ansible.builtin.uri` GETs and
   `ansible.builtin.stat` reading the same objects are timed in alternated pairs. The emulator's audit log
   gives the requests of each run, by module (the name in the collection's User-Agent) and by task.
2. credential readiness: `ovhcloud.kms.okms_credential` against emulators whose credentials stay CREATING
   for 1 s and 3 s: how long after the server made a credential READY the module saw it.
3. lookups: `ovhcloud.kms.okms_service_key_info` by name, by id and for every key in a KMS of 10, 100
   and 1,000 keys (created directly through the API, which times the emulator's bulk creation too).

It writes OUTPUT/performance.md and OUTPUT/performance.png, and keeps everything else (each
ansible-playbook output, the emulators' state and audit logs, results.json) in --work-dir. The console
gets one line per phase; bench.log in --work-dir gets everything. Nothing here hard-codes an expected
figure: the bench measures and reports (it fails only when a playbook fails).
"""

import argparse
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

from okms_emulator.testing import running_emulator

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, SCRIPTS)
from playbook_run import PlaybookFailed, log_tail, run_playbook  # noqa: E402
from bench import audit, report, tasks as tasklog  # noqa: E402
from bench.api import BenchApi  # noqa: E402

REPO = os.path.dirname(SCRIPTS)
MARKER = ".okms-bench"  # a work directory holding it may be emptied
REGION = "eu-west-rbx"
FORKS = 5  # Ansible's default, written down so the report says it
BASELINE_AGENT = "okms-bench-baseline (ansible.builtin.uri)"
# The no-op inventory's keys: mostly symmetric keys, some signing key pairs, as a service would hold.
KEY_MIX = (("oct", {"size": 256}), ("oct", {"size": 256}), ("oct", {"size": 256}),
           ("RSA", {"size": 2048}), ("EC", {"curve": "P-256"}))


class BenchError(Exception):
    pass


def median(values):
    return statistics.median(values) if values else 0.0


class Bench:
    def __init__(self, args):
        self.args = args
        self.work_dir = os.path.abspath(args.work_dir)
        self.collections_root = os.path.abspath(args.collections_root)
        self.log_path = os.path.join(self.work_dir, "bench.log")
        self.counter = 0
        self.loads = []  # the 1-minute load average before each playbook run

    # -- output -----------------------------------------------------------------------

    def log(self, text):
        with open(self.log_path, "a", encoding="utf-8") as handle:
            handle.write("### bench: %s\n" % text)

    def say(self, text):
        print(text, flush=True)
        self.log(text)

    # -- running ansible-playbook ---------------------------------------------------------

    def env(self, conn, auth):
        """The environment of ansible-playbook: the collection tree, and the API credentials as OVH_*."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OVH_")}
        env.update(ANSIBLE_COLLECTIONS_PATH=self.collections_root, OVH_ENDPOINT=conn["endpoint"],
                   ANSIBLE_FORKS=str(FORKS), ANSIBLE_HOST_KEY_CHECKING="false")
        if auth == "signature":
            env.update(OVH_APPLICATION_KEY=conn["application_key"], OVH_APPLICATION_SECRET=conn["application_secret"],
                       OVH_CONSUMER_KEY=conn["consumer_key"])
        else:
            env.update(OVH_CLIENT_ID=conn["client_id"], OVH_CLIENT_SECRET=conn["client_secret"])
        return env

    def playbook(self, args, env, title, cwd):
        """Run ansible-playbook (output in bench.log) with the timing callback; return its measures."""
        self.counter += 1
        task_log = os.path.join(self.work_dir, "tasks", "%03d.jsonl" % self.counter)
        os.makedirs(os.path.dirname(task_log), exist_ok=True)
        env = dict(env, **tasklog.callback_env(task_log))
        self.loads.append(load_average())
        started, usage = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
        recap, output = run_playbook(args, env, self.log_path, "%s (task log %s)" % (title, task_log), cwd=cwd)
        seconds = time.monotonic() - started
        # CPU time of ansible-playbook and every process it waited for (its modules): other load on the
        # machine changes it far less than the wall time.
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
        failed = sorted(host for host, counts in recap.items() if counts["failed"] or counts["unreachable"])
        if failed or not recap:
            raise PlaybookFailed("%s: failed on %s" % (title, ", ".join(failed) or "every host (no recap)"),
                                 self.log_path)
        return {"seconds": seconds, "cpu_seconds": cpu, "recap": recap, "tasks": tasklog.read_tasks(task_log),
                "output": output}

    def measured(self, conn, args, env, title, cwd):
        """A playbook run with the requests it sent, each put in its task."""
        mark = audit.line_count(conn["audit_log"])
        run = self.playbook(args, env, title, cwd)
        run["requests"] = audit.read_since(conn["audit_log"], mark)
        run["orphans"] = tasklog.assign_requests(run["tasks"], run["requests"])
        return run

    def localhost_inventory(self):
        """The controller alone, with this Python (no interpreter discovery)."""
        path = os.path.join(self.work_dir, "localhost.json")
        if not os.path.exists(path):
            write_json(path, {"all": {"hosts": {"localhost": {
                "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}})
        return path

    def emulator(self, name, extra_args):
        state_dir = os.path.join(self.work_dir, name)
        self.log("emulator %s: %s" % (name, " ".join(extra_args)))
        return running_emulator(state_dir, extra_args=list(extra_args))

    # -- phase 1: the role's no-op against a hand-written play ------------------------------

    def noop(self):
        args = self.args
        phase_dir = os.path.join(self.work_dir, "noop")
        os.makedirs(phase_dir)
        hosts = ["host%02d" % (index + 1) for index in range(args.hosts)]
        keys = []
        for index in range(args.keys):
            key_type, options = KEY_MIX[index % len(KEY_MIX)]
            keys.append(dict({"name": "bench-key-%02d" % (index + 1), "type": key_type}, **options))
        with self.emulator("noop-emulator", ["--credential-ready-delay", "1", "--order-delivery-delay", "1"]) as conn:
            inventory = os.path.join(phase_dir, "inventory.json")
            write_json(inventory, role_inventory(phase_dir, hosts, keys, conn))
            env = self.env(conn, args.auth)
            role_args = ["-i", inventory, "ovhcloud.kms.bootstrap"]

            converge = self.measured(conn, role_args, env, "converge: the role's first run", phase_dir)
            self.say("%-34s ok %8.1f s   %d requests, %d changed results" % (
                "no-op: converge (first role run)", converge["seconds"], len(converge["requests"]),
                tasklog.totals(converge["tasks"])["changed"]))

            api = BenchApi(conn)
            okms_id = api.kms_named("bench-noop")
            key_ids = [key["id"] for key in api.keys(okms_id) if key["name"] in {k["name"] for k in keys}]
            credentials = {cred["name"]: cred["id"] for cred in api.credentials(okms_id) if cred["status"] == "READY"}
            missing = [host for host in hosts if "bench-" + host not in credentials]
            if len(key_ids) != len(keys) or missing:
                raise BenchError("after the converge the KMS holds %d of the %d keys; credentials missing for %s"
                                 % (len(key_ids), len(keys), ", ".join(missing) or "no host"))
            files = sorted(os.listdir(os.path.join(phase_dir, "hosts", hosts[0], "okms")))
            baseline_vars = os.path.join(phase_dir, "baseline_vars.json")
            write_json(baseline_vars, {
                "bench_kms_url": "%s/v2/okms/resource/%s" % (conn["base_url"], okms_id),
                "bench_token_url": conn["token_url"], "bench_ca_path": conn["ca_path"],
                "bench_key_ids": key_ids, "bench_files": files,
                "bench_credential_ids": {host: credentials["bench-" + host] for host in hosts}})
            baseline_play = os.path.join(phase_dir, "baseline.yml")
            write_text(baseline_play, BASELINE_PLAY)
            baseline_args = ["-i", inventory, "-e", "@" + baseline_vars, baseline_play]
            baseline_env = self.env(conn, "oauth2")

            runs = {"role": [], "baseline": []}
            for pair in range(args.pairs):
                order = ("role", "baseline") if pair % 2 == 0 else ("baseline", "role")
                for arm in order:
                    title = "pair %d: %s" % (pair + 1, "the role's no-op re-run" if arm == "role"
                                             else "the hand-written uri/stat play")
                    run = self.measured(conn, role_args if arm == "role" else baseline_args,
                                        env if arm == "role" else baseline_env, title, phase_dir)
                    run["first"] = arm == order[0]
                    runs[arm].append(run)
                role_run, base_run = runs["role"][-1], runs["baseline"][-1]
                self.say("%-34s ok %8.1f s   role %.1f s (%.1f s CPU, %d requests), hand-written %.1f s "
                         "(%.1f s CPU, %d requests)" % (
                             "no-op: pair %d/%d" % (pair + 1, args.pairs), role_run["seconds"] + base_run["seconds"],
                             role_run["seconds"], role_run["cpu_seconds"], len(role_run["requests"]),
                             base_run["seconds"], base_run["cpu_seconds"], len(base_run["requests"])))
        role_counts = [len(run["requests"]) for run in runs["role"]]
        result = {
            "hosts": len(hosts), "keys": len(keys), "forks": FORKS, "auth": auth_label(args.auth), "files": files,
            "key_mix": key_mix_label(keys), "objects": 1 + len(keys) + len(hosts),
            "role": arm_summary(runs["role"]), "baseline": arm_summary(runs["baseline"]),
            "requests_stable": len(set(role_counts)) == 1, "role_request_range": [min(role_counts), max(role_counts)],
            "converge": {"seconds": converge["seconds"], "requests": len(converge["requests"])},
        }
        result["ratio"] = result["role"]["median_seconds"] / result["baseline"]["median_seconds"]
        result["cpu_ratio"] = result["role"]["median_cpu_seconds"] / result["baseline"]["median_cpu_seconds"]
        self.say("%-34s      %8s   median role %.1f s vs hand-written %.1f s: %.2fx; requests %d vs %d%s" % (
            "no-op: result", "", result["role"]["median_seconds"], result["baseline"]["median_seconds"],
            result["ratio"], result["role"]["requests"], result["baseline"]["requests"],
            "" if not result["role"]["changed"] else "; WARNING: the re-run changed %d results"
            % result["role"]["changed"]))
        return result

    # -- phase 2: credential readiness ---------------------------------------------------------

    def readiness(self):
        results = []
        for delay in self.args.ready_delays:
            started = time.monotonic()
            name = "ready-%gs" % delay
            phase_dir = os.path.join(self.work_dir, name)
            os.makedirs(phase_dir)
            names = ["bench-ready-%d" % (index + 1) for index in range(self.args.repeats)]
            playbook_path = os.path.join(phase_dir, "credentials.yml")
            write_text(playbook_path, readiness_play(names, phase_dir))
            with self.emulator(name + "-emulator", ["--credential-ready-delay", str(delay),
                                                    "--order-delivery-delay", "1"]) as conn:
                run = self.measured(conn, ["-i", self.localhost_inventory(), "-e", "@" + conn["connection_path"],
                                           playbook_path], self.env(conn, self.args.auth),
                                    "credentials with a server delay of %g s" % delay, phase_dir)
                state_path = os.path.join(conn["state_dir"], "state.json")
            # The emulator saves its state when it stops: creation times to the microsecond.
            created = credential_creation_times(state_path)
            measures = [readiness_measure(task, created, delay) for task in run["tasks"]
                        if task["name"].startswith("Create credential ")]
            result = {
                "delay": delay, "runs": len(measures), "credentials": measures,
                "median_after_ready": median([m["after_ready"] for m in measures]),
                "max_after_ready": max(m["after_ready"] for m in measures),
                "median_task_minus_delay": median([m["task_minus_delay"] for m in measures]),
                "median_polls": median([m["polls"] for m in measures]),
            }
            results.append(result)
            self.say("%-34s ok %8.1f s   seen READY +%.2f s after the server (median; worst +%.2f s), "
                     "%g status reads" % ("readiness: server delay %g s" % delay, time.monotonic() - started,
                                          result["median_after_ready"], result["max_after_ready"],
                                          result["median_polls"]))
        return results

    # -- phase 3: lookups as the KMS grows ----------------------------------------------------

    def lookups(self):
        args = self.args
        phase_dir = os.path.join(self.work_dir, "lookups")
        os.makedirs(phase_dir)
        sizes, creation = [], []
        with self.emulator("lookups-emulator", ["--order-delivery-delay", "1"]) as conn:
            env = self.env(conn, args.auth)
            order_play = os.path.join(phase_dir, "order.yml")
            write_text(order_play, ORDER_PLAY)
            self.playbook(["-i", self.localhost_inventory(), "-e", "@" + conn["connection_path"], order_play],
                          env, "order the lookup KMS", phase_dir)
            api = BenchApi(conn)
            okms_id = api.kms_named("bench-lookups")
            created = []
            for size in sorted(set(args.lookup_sizes)):
                started = time.monotonic()
                batch_start = len(created)
                while len(created) < size:
                    began = time.monotonic()
                    key = api.create_oct_key(okms_id, "bench-%05d" % (len(created) + 1))
                    created.append({"name": key["name"], "id": key["id"], "seconds": time.monotonic() - began})
                batch = [k["seconds"] for k in created[batch_start:]]
                if batch:
                    creation.append({"from": batch_start, "to": size, "ms_per_key": 1000 * statistics.mean(batch),
                                     "first_ms": 1000 * statistics.mean(batch[:100]),
                                     "last_ms": 1000 * statistics.mean(batch[-100:])})
                creating = time.monotonic() - started
                target = created[-1]
                playbook_path = os.path.join(phase_dir, "lookups-%d.yml" % size)
                write_text(playbook_path, lookup_play(okms_id, target, size, args.repeats))
                run = self.measured(conn, ["-i", self.localhost_inventory(), "-e", "@" + conn["connection_path"],
                                           playbook_path], env, "lookups in a KMS of %d keys" % size, phase_dir)
                figures = {"keys": size}
                for kind in ("by_name", "by_id", "all"):
                    chosen = [t for t in run["tasks"] if t["name"].startswith("Lookup %s " % kind)]
                    figures[kind] = {
                        "requests": median([len(t["requests"]) for t in chosen]),
                        "max_requests": max(len(t["requests"]) for t in chosen),
                        "list_pages": median([sum(1 for r in t["requests"] if r["kind"] == audit.LIST)
                                              for t in chosen]),
                        "seconds": median([t["end"] - t["start"] for t in chosen]),
                        "by_kind": audit.count_by([r for t in chosen[-1:] for r in t["requests"]], "kind"),
                    }
                sizes.append(figures)
                self.say("%-34s ok %8.1f s   by name %g requests %.2f s, by id %g requests %.2f s, every key "
                         "%g requests %.2f s; creation %.1f ms/key" % (
                             "lookups: %s keys" % format(size, ","), creating + run["seconds"],
                             figures["by_name"]["requests"], figures["by_name"]["seconds"],
                             figures["by_id"]["requests"], figures["by_id"]["seconds"],
                             figures["all"]["requests"], figures["all"]["seconds"],
                             creation[-1]["ms_per_key"] if creation else 0))
        return {"sizes": sizes, "creation": creation, "repeats": args.repeats,
                "creation_curve": creation_curve([k["seconds"] for k in created])}


# -- what the phases run --------------------------------------------------------------------

def role_inventory(phase_dir, hosts, keys, conn):
    return {"all": {
        "hosts": {host: {"okms_cert_dir": os.path.join(phase_dir, "hosts", host, "okms"),
                         "okms_credential_name": "bench-" + host} for host in hosts},
        "vars": {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "okms_instance_name": "bench-noop",
            "okms_region": REGION,
            "okms_service_keys": keys,
            "okms_credential_identity_urns": ["urn:v1:eu:identity:account:%s" % conn["account"]],
            "okms_api_ca_path": conn["ca_path"],
            "okms_rest_ca_file": conn["ca_path"],
        }}}


# Reads what the role manages, the cheapest way a playbook can: a bearer token once, then one GET per
# object on the controller, and one stat per file on each host.
BASELINE_PLAY = """---
- name: Read the KMS, its keys, the hosts' credentials and files by hand
  hosts: all
  gather_facts: false
  module_defaults:
    ansible.builtin.uri:
      ca_path: "{{ bench_ca_path }}"
      http_agent: "%(agent)s"
      headers:
        Authorization: "Bearer {{ bench_token.json.access_token | default('') }}"
  tasks:
    - name: Get an OAuth2 access token
      ansible.builtin.uri:
        url: "{{ bench_token_url }}"
        method: POST
        body_format: form-urlencoded
        body:
          grant_type: client_credentials
          client_id: "{{ lookup('ansible.builtin.env', 'OVH_CLIENT_ID') }}"
          client_secret: "{{ lookup('ansible.builtin.env', 'OVH_CLIENT_SECRET') }}"
          scope: all
        headers: {}
      run_once: true
      delegate_to: localhost
      register: bench_token
      no_log: true

    - name: Read the KMS
      ansible.builtin.uri:
        url: "{{ bench_kms_url }}"
      run_once: true
      delegate_to: localhost

    - name: Read each service key
      ansible.builtin.uri:
        url: "{{ bench_kms_url }}/serviceKey/{{ item }}"
      loop: "{{ bench_key_ids }}"
      run_once: true
      delegate_to: localhost

    - name: Read this host's credential
      ansible.builtin.uri:
        url: "{{ bench_kms_url }}/credential/{{ bench_credential_ids[inventory_hostname] }}"
      delegate_to: localhost

    - name: Read this host's files
      ansible.builtin.stat:
        path: "{{ okms_cert_dir }}/{{ item }}"
      loop: "{{ bench_files }}"
""" % {"agent": BASELINE_AGENT}

# The emulator's connection.json is passed with -e: endpoint, ca_path, account...
ORDER_PLAY = """---
- name: Order the KMS of the lookups
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/ovhcloud.kms.okms:
      ca_path: "{{ ca_path }}"
  tasks:
    - name: Order it
      ovhcloud.kms.okms_instance:
        name: bench-lookups
        region: %s
""" % REGION


def readiness_play(names, phase_dir):
    tasks = []
    for index, name in enumerate(names):
        tasks.append("""
    - name: Create credential %(index)d
      ovhcloud.kms.okms_credential:
        okms_id: "{{ bench_kms.instance.id }}"
        name: %(name)s
        identity_urns: ["urn:v1:eu:identity:account:{{ account }}"]
        private_key_path: %(key)s
""" % {"index": index + 1, "name": name, "key": json.dumps(os.path.join(phase_dir, name + ".key"))})
    return """---
- name: Create credentials one after the other, waiting for each to be READY
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/ovhcloud.kms.okms:
      ca_path: "{{ ca_path }}"
  tasks:
    - name: Order the KMS
      ovhcloud.kms.okms_instance:
        name: bench-ready
        region: %s
      register: bench_kms
%s""" % (REGION, "".join(tasks))


def lookup_play(okms_id, target, size, repeats):
    checks = {"by_name": ("name: %s" % target["name"], 1), "by_id": ("id: %s" % target["id"], 1),
              "all": ("", size)}
    tasks = []
    for repeat in range(repeats):
        for kind in ("by_name", "by_id", "all"):
            option, expected = checks[kind]
            tasks.append("""
    - name: Lookup %(kind)s %(repeat)d
      ovhcloud.kms.okms_service_key_info:
        okms_id: %(okms_id)s
        %(option)s
      register: bench_found
      failed_when: bench_found.service_keys | length != %(expected)d
""" % {"kind": kind, "repeat": repeat + 1, "okms_id": okms_id, "option": option, "expected": expected})
    return """---
- name: Look keys up in a KMS of %d keys
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/ovhcloud.kms.okms:
      ca_path: "{{ ca_path }}"
  tasks:
%s""" % (size, "".join(tasks))


# -- figures ----------------------------------------------------------------------------------------

def arm_summary(runs):
    """One arm of the no-op pairs: every run's time, medians, and the last run's requests and tasks."""
    last = runs[-1]
    totals = tasklog.totals(last["tasks"])
    tasks = last["tasks"]
    busy = (max(t["end"] for t in tasks) - min(t["start"] for t in tasks)) if tasks else 0.0
    return {
        "runs": [{"seconds": run["seconds"], "cpu_seconds": run["cpu_seconds"], "first": run["first"],
                  "requests": len(run["requests"])} for run in runs],
        "median_seconds": median([run["seconds"] for run in runs]),
        "median_cpu_seconds": median([run["cpu_seconds"] for run in runs]),
        "requests": len(last["requests"]),
        "writes": sum(1 for r in last["requests"] if r["mutating"]),
        "by_kind": audit.count_by(last["requests"], "kind"),
        "by_module": audit.count_by(last["requests"], "module"),
        "tasks": tasklog.merged_by_name(tasks),
        "executions": totals["executions"],
        "module_runs": totals["module_runs"],
        "changed": max(tasklog.totals(run["tasks"])["changed"] for run in runs),
        "overhead_seconds": last["seconds"] - busy,
        "orphan_requests": len(last["orphans"]),
    }


def creation_curve(seconds):
    """[(keys in the KMS, mean ms per key of the keys created since the previous point)]: ten points a decade."""
    curve, previous = [], 0
    while previous < len(seconds):
        step = 10 ** (len(str(previous)) - 1) if previous else 1  # 1 below 10 keys, 10 below 100...
        end = min(previous + step, len(seconds))
        curve.append((end, 1000 * statistics.mean(seconds[previous:end])))
        previous = end
    return curve


def credential_creation_times(state_path):
    """{credential name: creation time (epoch seconds)} from the emulator's saved state."""
    with open(state_path, encoding="utf-8") as handle:
        state = json.load(handle)
    return {cred["name"]: cred["createdAtTs"] for kms in state.get("okms", {}).values()
            for cred in kms.get("credentials", {}).values() if "createdAtTs" in cred}


def readiness_measure(task, created, delay):
    """When the credential of one okms_credential task became READY on the server, and was seen READY."""
    name = credential_name_of(task)
    if name not in created:
        raise BenchError("no creation time for credential %s in the emulator's state" % name)
    ready_at = created[name] + delay
    posts = [r for r in task["requests"] if r["method"] == "POST" and r["path"].endswith("/credential")]
    after_post = [r for r in task["requests"] if r["method"] == "GET" and "/credential" in r["path"]
                  and (not posts or r["t"] >= posts[0]["t"])]
    # Status reads: GET .../credential/<id> (a module could also see the status in a list page).
    reads = [r for r in after_post if re.search(r"/credential/[^/]+$", r["path"])] or after_post
    # Status is computed when a request is served: the first read after the ready time saw READY.
    seen = [r for r in reads if r["t"] >= ready_at]
    if not seen:
        raise BenchError("task %r: no credential read after the credential became READY" % task["name"])
    return {"name": name, "after_ready": seen[0]["t"] - ready_at,
            "task_minus_delay": seen[0]["t"] - task["start"] - delay,
            "polls": sum(1 for r in reads if r["t"] <= seen[0]["t"]),
            "task_seconds": task["end"] - task["start"]}


def credential_name_of(task):
    return "bench-ready-%s" % task["name"].rsplit(" ", 1)[-1]


def auth_label(auth):
    return "application-key signatures" if auth == "signature" else "OAuth2 client credentials"


def key_mix_label(keys):
    counts = {}
    for key in keys:
        label = "%s %s" % (key["type"], key.get("size") or key.get("curve"))
        counts[label] = counts.get(label, 0) + 1
    return ", ".join("%d %s" % (count, label) for label, count in counts.items())


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def machine_rows(runtime, loads):
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            models = re.findall(r"^model name\s*:\s*(.+)$", handle.read(), re.M)
            cpu = models[0] if models else cpu
    except OSError:
        pass
    try:
        from ansible.release import __version__ as ansible_version
    except ImportError:
        ansible_version = "unknown"
    rows = [["CPUs", "%s%s" % (os.cpu_count(), " (%s)" % cpu if cpu else "")],
            ["system", platform.platform()],
            ["Python", platform.python_version()],
            ["ansible-core", ansible_version],
            ["collection", "ovhcloud.kms %s%s" % (collection_version(), git_revision())],
            ["load average (1 min) before each ansible-playbook run",
             "%.1f median, %.1f to %.1f" % (median(loads), min(loads), max(loads)) if loads else "unknown"]]
    # Other work on the machine stretches wall times (the bench's own runs use about one CPU at a time).
    busy = bool(loads) and median(loads) > (os.cpu_count() or 1)
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rows": rows, "runtime": runtime,
            "busy": busy, "load": median(loads) if loads else None, "cpus": os.cpu_count()}


def collection_version():
    try:
        with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
            match = re.search(r"^version:\s*(\S+)", handle.read(), re.M)
            return match.group(1) if match else "?"
    except OSError:
        return "?"


def git_revision():
    try:
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return ", commit %s%s" % (commit, " with local changes" if dirty else "")


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)  # JSON is YAML: inventories and -e @file take it


def write_text(path, text):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def prepare_work_dir(path):
    if os.path.isdir(path) and os.listdir(path):
        if not os.path.exists(os.path.join(path, MARKER)):
            raise BenchError("%s is not empty and is not a bench work directory: refusing to empty it" % path)
        shutil.rmtree(path)
    os.makedirs(path, exist_ok=True)
    write_text(os.path.join(path, MARKER), "scripts/bench.py empties this directory at each run\n")


def duration(seconds):
    return "%dm%02ds" % divmod(int(round(seconds)), 60)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", required=True, help="emulators, inventories, logs, results.json (emptied first)")
    parser.add_argument("--collections-root", required=True, help="the directory holding ansible_collections/")
    parser.add_argument("--output", default=os.path.join(REPO, "docs"),
                        help="where performance.md and performance.png go (default: docs/)")
    parser.add_argument("--pairs", type=int, default=3, help="alternated no-op pairs (default 3)")
    parser.add_argument("--hosts", type=int, default=10, help="hosts of the no-op inventory (default 10)")
    parser.add_argument("--keys", type=int, default=20, help="service keys of the no-op inventory (default 20)")
    parser.add_argument("--ready-delays", type=float, nargs="+", default=[1.0, 3.0],
                        help="credential ready delays of the emulator, in seconds (default 1 3)")
    parser.add_argument("--lookup-sizes", type=int, nargs="+", default=[10, 100, 1000],
                        help="key counts of the lookup KMS (default 10 100 1000)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="credentials per delay, and lookups of each kind per size (default 3)")
    parser.add_argument("--auth", choices=["signature", "oauth2"], default="signature",
                        help="how the collection's modules authenticate (default: application-key signature)")
    parser.add_argument("--phases", nargs="+", choices=["noop", "readiness", "lookups"],
                        default=["noop", "readiness", "lookups"], help="phases to run (default: all)")
    parser.add_argument("--report-only", action="store_true",
                        help="measure nothing: rewrite the report from results.json of the last run in --work-dir")
    args = parser.parse_args()
    if args.pairs < 1 or args.repeats < 1 or args.hosts < 1 or args.keys < 1 or min(args.lookup_sizes) < 1:
        parser.error("--pairs, --repeats, --hosts, --keys and --lookup-sizes must be at least 1")

    if args.report_only:
        with open(os.path.join(args.work_dir, "results.json"), encoding="utf-8") as handle:
            saved = json.load(handle)
        report.write(saved["results"], saved["machine"], os.path.abspath(args.output))
        return 0
    bench = Bench(args)
    started = time.monotonic()
    try:
        prepare_work_dir(bench.work_dir)
        bench.say("bench: log %s" % bench.log_path)
        results = {}
        for phase in ("noop", "readiness", "lookups"):
            if phase in args.phases:
                results[phase] = getattr(bench, phase)()
        loads = [load for load in bench.loads if load is not None]
        machine = machine_rows(duration(time.monotonic() - started), loads)
        write_json(os.path.join(bench.work_dir, "results.json"), {"results": results, "machine": machine})
        report.write(results, machine, os.path.abspath(args.output))
    except (PlaybookFailed, BenchError, OSError, RuntimeError, ValueError) as exc:
        print("bench FAILED after %s: %s" % (duration(time.monotonic() - started), exc), file=sys.stderr)
        for line in log_tail(bench.log_path):
            print("    " + line, file=sys.stderr)
        print("    (whole log: %s)" % bench.log_path, file=sys.stderr)
        return 1
    if machine["busy"]:
        bench.say("bench: WARNING: the machine was busy (load average %.1f on %d CPUs): wall times are stretched; "
                  "CPU times and request counts hold" % (machine["load"], machine["cpus"]))
    bench.say("bench: done in %s; wrote %s and %s" % (
        duration(time.monotonic() - started), os.path.join(args.output, "performance.md"),
        os.path.join(args.output, "performance.png")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
