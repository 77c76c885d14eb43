# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection under API faults, ambiguous writes and SIGKILL; writes reliability.md.

The scenarios run side by side, each in a lane with an emulator of its own
(okms_emulator.testing.running_emulator): each seed's faults then follow from that seed alone, and the
whole target fits its time budget on two cores.

1. **The role under faults** (one lane per seed). The ovhcloud.kms.okms role on the three hosts of
   inventory.yml (one per private-key source) and its five service keys, at a 20 % fault rate of every kind
   (429, 500, 502, 503, reset, a short slow answer, and the ambiguous commits commit-reset and commit-502) on
   every request. The KMS is ordered beforehand with faults off: a lost checkout answer is only settled by a
   later run (okms_instance documents it), so ordering is left out of "converges in one run". The first run
   must converge; a second run under faults must report changed=0 on every host; the emulator must then hold
   exactly the five keys (each created once) and three credentials, all READY, each host's key matching its
   certificate (and working over mutual TLS). Runs are at -vvvv --diff, for the leak search. One seed gives
   the API credentials as role variables, one OAuth2 client credentials, one OVH_* environment variables (as
   AWX injects them).
2. **Check mode under faults.** On one seed's deployment, once it drifted (a credential revoked, a certificate
   file removed, a sixth key wanted), and from nothing (in the SIGKILL lane, before its first run): the
   check-mode run succeeds and predicts the changes, the audit log shows no mutating request, and nothing
   changed on the server or on disk.
3. **SIGKILL** (a lane of its own, faults off). The role from nothing (the KMS ordered by the role) is
   killed with SIGKILL, its whole process group, at seeded points: a delay after a write of a task whose
   module sends mutating requests (a checkout, a key or credential create) was answered, or after the start of
   a task whose module writes a key. Each kill hits the next run of the same deployment, and a last run must
   converge: no orphan credential, no temporary or partial file, keys match certificates, one KMS.
4. **Ambiguous writes** (a process and an emulator of their own): 100 creates (60 service keys, 40
   credentials with a local, CSR or OVHcloud-generated key) and 50 updates/deletes (20 key deactivations, 15
   key deletions, 15 credential revocations), each one module run whose write gets exactly one ambiguous fault
   (reset, 500, 502, 503, commit-reset, commit-502 in turn): zero failures, zero duplicates, every write
   applied exactly once.
5. **Leaks.** Every private key written, the application secret, the consumer key, the OAuth2 client secret
   and every OAuth2 access token the emulators issued are searched in all the output.
6. **Bad inputs.** The unit tests' bad-input table (tests/unit/plugins/modules/test_bad_inputs.py) is run and
   its cases counted from the table itself.

Every check runs even when an earlier one failed, and the report is written whatever happened; it lists each
failure (host, task, error, and the fault kinds injected on the paths the error names). Exit status 1 when a
check failed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import collections
import functools
import glob
import importlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from xml.etree import ElementTree

import yaml
from okms_emulator.testing import running_emulator

import harness
import reliability_report

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "inventory.yml"), encoding="utf-8") as _inventory:
    INVENTORY = yaml.safe_load(_inventory)["all"]

REGION = INVENTORY["vars"]["okms_region"]
HOSTS = tuple(INVENTORY["hosts"])
HOST_SOURCES = dict((host, values["okms_private_key_source"]) for host, values in INVENTORY["hosts"].items())
SERVICE_KEY_ITEMS = INVENTORY["vars"]["okms_service_keys"]
SERVICE_KEYS = tuple(item["name"] for item in SERVICE_KEY_ITEMS)
CREDENTIAL_PREFIX = "ansible-okms-"
# What the leak search looks for in every output, besides private keys and OAuth2 access tokens.
SECRET_NAMES = ("application_secret", "consumer_key", "client_secret")
HOST_FILES = ("domain.key", "client.cert", "ca.pem", "rest-ca.pem", "okms.yaml")

FAULT_RATE = 0.2
SLOW_SECONDS = 0.2
# seed: how the API credentials reach the role.
ROLE_SEEDS = collections.OrderedDict([
    (1101, "application key, role variables"),
    (2202, "OAuth2 client credentials, role variables"),
    (3303, "application key, OVH_* environment variables"),
])
MAX_RUNS = 3  # runs tried under faults before giving up on convergence (only the first one should be needed)
# The seed whose deployment drifts, then is looked at in check mode under faults: OAuth2, whose token
# requests are POSTs that change nothing.
CHECK_SEED = 2202
CHECK_EXTRA_KEY = {"name": "rel-check", "type": "oct"}

WRITE_SEED = 4404
KEY_CREATES, CREDENTIAL_CREATES = 60, 40
KEY_UPDATES, KEY_DELETES, CREDENTIAL_DELETES = 20, 15, 15

KILL_SEED = 5505
# Where a kill may hit: the tasks of the role whose module (the collection's code) writes a key or sends a
# mutating request, in the order they run, each with the moment the delay counts from: the first answer to
# a request of the task that changed something ("METHOD path" regular expression), or the task's start.
KILL_MOMENTS = (
    ("Find (or order) the KMS", r"^POST /1\.0/order/cart/[^/]+/checkout$"),
    ("Converge the service keys from the controller", r"^POST /v2/okms/resource/[^/]+/serviceKey$"),
    ("Keep the private key on the host and get its CSR", None),
    ("Issue or renew the access credential from the controller", r"^POST /v2/okms/resource/[^/]+/credential$"),
    ("Install the private key", None),
)
KILL_POINTS = 4
# Seconds after the request's answer (the module is handling it, or sending the next one), or after the start
# of a task with no request (its module starts, then writes the key).
KILL_DELAYS = dict(request=(0.0, 0.5), task=(0.3, 1.5))

EMULATOR_ARGS = ["--credential-ready-delay", "0.3", "--credential-delete-delay", "0.3",
                 "--order-delivery-delay", "0.4"]


class Checks:
    """The assertions of one lane, in order: (section, what, passed, detail)."""

    _print_lock = threading.Lock()

    def __init__(self, items=None):
        self.items = [tuple(item) for item in items or []]

    def check(self, section, what, passed, detail=""):
        self.items.append((section, what, bool(passed), detail))
        with self._print_lock:
            print("%-6s %s: %s%s" % ("ok" if passed else "FAILED", section, what, " (%s)" % detail if detail else ""),
                  flush=True)
        return passed

    @property
    def failed(self):
        return [item for item in self.items if not item[2]]


class Lane:
    """One scenario against an emulator of its own; what it found is kept even when it crashed."""

    def __init__(self, name, output_dir):
        self.name = name
        self.output_dir = output_dir
        self.checks = Checks()
        self.measures = {}
        self.outputs = []  # files the leak search reads
        self.key_files = []  # private keys the leak search looks for
        self.tokens = set()  # digests of the OAuth2 access tokens its emulator issued
        self.counters = {}
        self.lines = []  # its emulator's whole audit log
        self.secrets = {}  # its emulator's API secrets, for the leak search
        self.seconds = 0.0

    def run(self, body, *args):
        """``body(ctx, *args)`` with the lane's emulator up; its counters and audit log read once it is done."""
        started = time.monotonic()
        os.makedirs(self.output_dir, exist_ok=True)
        emulator = None
        try:
            with running_emulator(os.path.join(self.output_dir, "emulator"), extra_args=EMULATOR_ARGS) as conn:
                emulator = harness.Emulator(conn)
                self.secrets = dict((name, conn[name]) for name in SECRET_NAMES)
                try:
                    body(Context(self, emulator, conn), *args)
                finally:
                    emulator.faults_off()
                    self.counters = emulator.fault_counters()["injected"]
                    self.lines = emulator.audit_since(0)
            self.tokens = emulator.issued_token_digests()
        except Exception:  # pylint: disable=broad-exception-caught
            # Reported as a failed check; the other lanes and the report go on.
            self.checks.check(self.name, "the scenario ran to its end", False, traceback.format_exc()[-3000:])
        self.seconds = time.monotonic() - started
        return self

    def result(self):
        """What the report and the leak search need, as JSON (the writes lane runs in a process of its own)."""
        return dict(name=self.name, checks=self.checks.items, measures=self.measures, outputs=self.outputs,
                    key_files=self.key_files, tokens=sorted(self.tokens), counters=self.counters,
                    audit_faults=harness.fault_kinds(self.lines), repeats=harness.repeats_after_fault(self.lines),
                    requests=len(self.lines), seconds=self.seconds, secrets=self.secrets)


class Context:
    """What a lane's scenario works with: its emulator, its directory, its checks and measures."""

    def __init__(self, lane, emulator, conn):
        self.lane = lane
        self.emulator = emulator
        self.conn = conn
        self.output_dir = lane.output_dir
        self.checks = lane.checks
        self.measures = lane.measures
        self.outputs = lane.outputs
        self.key_files = lane.key_files

    def api_args(self):
        conn = self.conn
        return dict(endpoint=conn["endpoint"], application_key=conn["application_key"],
                    application_secret=conn["application_secret"], consumer_key=conn["consumer_key"],
                    ca_path=conn["ca_path"])

    def faulted(self, seed):
        """Faults at FAULT_RATE, of every kind, on every request, from ``seed``."""
        self.emulator.set_faults(rate=FAULT_RATE, kinds=list(harness.ALL_KINDS), seed=seed, slow_seconds=SLOW_SECONDS)


# -- setup ----------------------------------------------------------------------------------------------


def order_kms(ctx, name):
    """Order a KMS with faults off; its id."""
    result, _text = harness.run_module("okms_instance", dict(ctx.api_args(), name=name, region=REGION))
    if result.get("failed"):
        raise RuntimeError("cannot order KMS %s with faults off: %s" % (name, result.get("msg")))
    return result["instance"]["id"]


def write_vars(path, hosts_dir, kms_name, conn, auth, **extra):
    variables = dict(okms_test_hosts_dir=hosts_dir, okms_instance_name=kms_name, okms_test_account=conn["account"],
                     okms_api_ca_path=conn["ca_path"], okms_rest_ca_file=conn["ca_path"], **extra)
    if auth == "oauth2":
        variables.update(okms_api_endpoint=conn["endpoint"], okms_api_client_id=conn["client_id"],
                         okms_api_client_secret=conn["client_secret"])
    elif auth == "role":
        variables.update(okms_api_endpoint=conn["endpoint"], okms_api_application_key=conn["application_key"],
                         okms_api_application_secret=conn["application_secret"],
                         okms_api_consumer_key=conn["consumer_key"])
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(variables, handle, indent=1)
    return path


def auth_env(conn, auth):
    if auth != "env":
        return {}
    return dict(OVH_ENDPOINT=conn["endpoint"], OVH_APPLICATION_KEY=conn["application_key"],
                OVH_APPLICATION_SECRET=conn["application_secret"], OVH_CONSUMER_KEY=conn["consumer_key"])


def auth_of(description):
    if description.startswith("OAuth2"):
        return "oauth2"
    return "env" if "environment" in description else "role"


# -- what a deployment must look like -------------------------------------------------------------------


def inspect_deployment(ctx, kms_name, hosts_dir):
    """What the emulator and the hosts hold for one KMS; every problem named (empty lists when all is well)."""
    emulator = ctx.emulator
    found = dict(kms=[], duplicate_keys=[], missing_keys=[], extra_keys=[], duplicate_credentials=[],
                 not_ready=[], orphans=[], mismatches=[], stray_files=[], data_plane=[], live=0, keys=0,
                 okms_id=None)
    kms = emulator.kms_named(kms_name)
    found["kms"] = [k["id"] for k in kms]
    if len(kms) != 1:
        return found
    okms_id = found["okms_id"] = kms[0]["id"]
    keys = collections.Counter(key["name"] for key in emulator.service_keys(okms_id))
    found["keys"] = sum(keys.values())
    found["duplicate_keys"] = sorted(name for name, count in keys.items() if count > 1)
    found["missing_keys"] = sorted(set(SERVICE_KEYS) - set(keys))
    found["extra_keys"] = sorted(set(keys) - set(SERVICE_KEYS))
    credentials = emulator.settled_credentials(okms_id)
    live = [c for c in credentials if c["status"] == "READY"]
    found["live"] = len(live)
    found["not_ready"] = ["%s (%s, %s)" % (c["name"], c["id"], c["status"]) for c in credentials
                          if c["status"] != "READY"]
    by_name = collections.defaultdict(list)
    for credential in live:
        by_name[credential["name"]].append(credential)
    found["duplicate_credentials"] = sorted(name for name, items in by_name.items() if len(items) > 1)
    claimed = dict((CREDENTIAL_PREFIX + host, host) for host in HOSTS)
    for credential in live:
        host = claimed.get(credential["name"])
        key_path = os.path.join(hosts_dir, host, "okms", "domain.key") if host else None
        if host is None or not os.path.exists(key_path) or not credential.get("certificatePEM"):
            found["orphans"].append("%s (%s, %s)" % (credential["name"], credential["id"], credential["status"]))
        elif not harness.key_matches_certificate(key_path, credential["certificatePEM"]):
            found["orphans"].append("%s (%s): its certificate is not for %s's key" % (
                credential["name"], credential["id"], host))
    for host in HOSTS:
        cert_dir = os.path.join(hosts_dir, host, "okms")
        key_path, cert_path = os.path.join(cert_dir, "domain.key"), os.path.join(cert_dir, "client.cert")
        if not (os.path.exists(key_path) and os.path.exists(cert_path)):
            found["mismatches"].append("%s: no domain.key or client.cert" % host)
            continue
        if not harness.key_matches_certificate(key_path, cert_path):
            found["mismatches"].append("%s: domain.key does not match client.cert" % host)
        mine = by_name.get(CREDENTIAL_PREFIX + host, [])
        if not any(c.get("certificatePEM") and harness.key_matches_certificate(key_path, c["certificatePEM"])
                   for c in mine):
            found["mismatches"].append("%s: no live credential %s%s for its key" % (host, CREDENTIAL_PREFIX, host))
        if HOST_SOURCES[host] != "host":
            controller_key = os.path.join(hosts_dir, "controller-keys", CREDENTIAL_PREFIX + host + ".key")
            if not os.path.exists(controller_key) or not harness.key_matches_certificate(controller_key, cert_path):
                found["mismatches"].append("%s: the controller's copy of the key does not match" % host)
        status = emulator.data_plane_works(okms_id, cert_path, key_path)
        if status != 200:
            found["data_plane"].append("%s: %s" % (host, status))
        found["stray_files"].extend(os.path.join(host, "okms", name)
                                    for name in harness.unexpected_files(cert_dir, HOST_FILES))
    controller_dir = os.path.join(hosts_dir, "controller-keys")
    if os.path.isdir(controller_dir):
        expected = [CREDENTIAL_PREFIX + host + ".key" for host in HOSTS if HOST_SOURCES[host] != "host"]
        found["stray_files"].extend(os.path.join("controller-keys", name)
                                    for name in harness.unexpected_files(controller_dir, expected))
    return found


def check_deployment(ctx, section, label, found):
    check = ctx.checks.check
    check(section, "%s: one KMS of that name" % label, len(found["kms"]) == 1, ", ".join(found["kms"]))
    if found["okms_id"] is None:
        return
    check(section, "%s: exactly the %d service keys, each once" % (label, len(SERVICE_KEYS)),
          found["keys"] == len(SERVICE_KEYS) and not (found["duplicate_keys"] or found["missing_keys"]
                                                      or found["extra_keys"]),
          "%d keys; duplicated %s, missing %s, unexpected %s" % (
              found["keys"], found["duplicate_keys"], found["missing_keys"], found["extra_keys"]))
    check(section, "%s: exactly %d credentials, all READY, one per host" % (label, len(HOSTS)),
          found["live"] == len(HOSTS) and not found["duplicate_credentials"] and not found["not_ready"],
          "%d READY; duplicated: %s; not READY: %s" % (found["live"], found["duplicate_credentials"],
                                                       "; ".join(found["not_ready"]) or "none"))
    check(section, "%s: no orphan credential (every live credential is a host's, for its key)" % label,
          not found["orphans"], "; ".join(found["orphans"]))
    check(section, "%s: each host's key matches its certificate and its credential" % label,
          not found["mismatches"], "; ".join(found["mismatches"]))
    check(section, "%s: each host's certificate works over mutual TLS" % label,
          not found["data_plane"], "; ".join(found["data_plane"]))
    check(section, "%s: no temporary or partial file in the certificate and controller key directories" % label,
          not found["stray_files"], ", ".join(found["stray_files"]))


def remember_keys(ctx, hosts_dir):
    for path in sorted(glob.glob(os.path.join(hosts_dir, "*", "okms", "domain.key"))
                       + glob.glob(os.path.join(hosts_dir, "controller-keys", "*.key"))):
        if path not in ctx.key_files:
            ctx.key_files.append(path)


def describe_failures(run, lines):
    """[(host, task, message, fault kinds injected on the paths the message names)] of a failed run."""
    described = []
    if run.timed_out:
        described.append(("-", run.last_task() or "?", "the run was stopped after %.0f s" % run.seconds, []))
    for host, task, message in run.failures():
        paths = re.findall(r"(/(?:v1|v2|1\.0|auth|me|order|services)[^\s,:;)\"']*)", message)
        kinds = sorted(set(kind for path in paths for kind in harness.faults_on(lines, path)))
        described.append((host, task, message, kinds))
    if not described and not run.converged:
        described.append(("-", run.last_task() or "?", "exit status %s, no failed task in the output"
                          % run.returncode, []))
    return described


def describe_run(run, lines):
    """A role run and its requests, for the report."""
    return dict(label=run.label, seconds=run.seconds, converged=run.converged, changed=run.changed_hosts(),
                requests=len(lines), faults=harness.fault_kinds(lines), repeats=harness.repeats_after_fault(lines),
                mutating=len(harness.mutating_requests(lines)),
                failures=[] if run.converged else describe_failures(run, lines))


# -- 1. the role under faults ---------------------------------------------------------------------------


def faulted_run(ctx, playbook, run_files, label, fault_seed, check=False):
    """One role run at -vvvv --diff with faults on; the run and the audit lines of its requests."""
    hosts_dir, vars_file, env = run_files
    start = ctx.emulator.audit_mark()
    ctx.faulted(fault_seed)
    try:
        run = playbook.run(label, os.path.join(hosts_dir, label + ".log"), "bootstrap.yml", vars_file, verbose=True,
                           check=check, env=env)
    finally:
        ctx.emulator.faults_off()
    lines = ctx.emulator.audit_since(start)
    ctx.outputs.append(run.log_path)
    return run, lines


def seed_lane(ctx, playbook, seed, auth_description):
    section = "role under faults"
    check = ctx.checks.check
    auth = auth_of(auth_description)
    kms_name = "rel-faults-%d" % seed
    hosts_dir = ctx.output_dir
    outcome = ctx.measures["role"] = dict(seed=seed, auth=auth_description, runs=[], second=None,
                                          converged_in=None, found={}, key_creates=None)
    okms_id = outcome["okms_id"] = order_kms(ctx, kms_name)
    run_files = (hosts_dir, write_vars(os.path.join(hosts_dir, "vars.json"), hosts_dir, kms_name, ctx.conn, auth),
                 auth_env(ctx.conn, auth))
    start = ctx.emulator.audit_mark()
    for attempt in range(1, MAX_RUNS + 1):
        run, lines = faulted_run(ctx, playbook, run_files, "run%d" % attempt, seed * 10 + attempt)
        outcome["runs"].append(describe_run(run, lines))
        if run.converged:
            outcome["converged_in"] = attempt
            break
    first_failures = "; ".join("%s %s: %s" % failure[:3] for failure in outcome["runs"][0]["failures"])
    check(section, "seed %d: the first run converges" % seed, outcome["converged_in"] == 1,
          "" if outcome["converged_in"] == 1 else "converged in run %s of %d: %s" % (
              outcome["converged_in"], MAX_RUNS, first_failures))
    if outcome["converged_in"] is not None:
        run, lines = faulted_run(ctx, playbook, run_files, "second", seed * 10 + 9)
        second = outcome["second"] = describe_run(run, lines)
        check(section, "seed %d: a second run under faults succeeds and reports changed=0 on every host" % seed,
              second["converged"] and not second["changed"] and len(run.recap()) == len(HOSTS),
              "converged: %s, changed on %s, hosts in the recap: %s; %s" % (
                  second["converged"], ", ".join(second["changed"]) or "no host", ", ".join(sorted(run.recap())),
                  "; ".join("%s %s: %s" % failure[:3] for failure in second["failures"])))
    role_lines = ctx.emulator.audit_since(start)
    found = outcome["found"] = inspect_deployment(ctx, kms_name, hosts_dir)
    check_deployment(ctx, section, "seed %d" % seed, found)
    outcome["key_creates"] = len(harness.applied_writes(role_lines, "POST", r"^/v2/okms/resource/%s/serviceKey$"
                                                        % okms_id))
    check(section, "seed %d: each service key was created once (no duplicate, even removed later)" % seed,
          outcome["key_creates"] == len(SERVICE_KEYS), "%d creates applied" % outcome["key_creates"])
    outcome["credential_creates"] = len(harness.applied_writes(role_lines, "POST",
                                                               r"^/v2/okms/resource/%s/credential$" % okms_id))
    remember_keys(ctx, hosts_dir)
    if seed == CHECK_SEED:
        ctx.measures["check"] = check_mode_on_drift(ctx, playbook, run_files, okms_id, seed)


# -- 2. check mode under faults -------------------------------------------------------------------------


def server_state(ctx, okms_id):
    """What a check-mode run must leave as it was: KMSs, service keys, credentials."""
    kms = ctx.emulator.get_all("/v2/okms/resource")
    keys = ctx.emulator.service_keys(okms_id) if okms_id else []
    credentials = ctx.emulator.settled_credentials(okms_id) if okms_id else []
    return dict(kms=sorted((k["id"], k.get("iam", {}).get("displayName")) for k in kms),
                keys=sorted((k["id"], k["name"], k["state"]) for k in keys),
                credentials=sorted((c["id"], c["name"], c["status"]) for c in credentials))


def check_mode_checks(ctx, label, run, lines, before, after, files_before, files_after, expected_changed):
    section = "check mode under faults"
    check = ctx.checks.check
    mutating = harness.mutating_requests(lines)
    outcome = describe_run(run, lines)
    outcome.update(scenario=label, expected_changed=expected_changed)
    check(section, "%s: the check-mode run succeeds" % label, run.converged,
          "; ".join("%s %s: %s" % failure[:3] for failure in outcome["failures"]))
    check(section, "%s: it predicts changes exactly on %s" % (label, ", ".join(expected_changed)),
          run.changed_hosts() == sorted(expected_changed), "changed on %s" % (", ".join(run.changed_hosts()) or "none"))
    check(section, "%s: no mutating request in the audit log (%d requests, %d faults)" % (
        label, len(lines), sum(outcome["faults"].values())), lines and not mutating, ", ".join(mutating))
    check(section, "%s: the KMSs, service keys and credentials are as they were" % label, before == after,
          "before %s, after %s" % (before, after) if before != after else "")
    changed_files = sorted(path for path in set(files_before) | set(files_after)
                           if files_before.get(path) != files_after.get(path))
    check(section, "%s: no file created, changed or removed" % label, not changed_files, ", ".join(changed_files))
    return outcome


def host_files(hosts_dir):
    """The hosts' and the controller's files (logs and the emulator's state left out)."""
    states = {}
    for name in HOSTS + ("controller-keys",):
        directory = os.path.join(hosts_dir, name)
        if os.path.isdir(directory):
            states.update((os.path.join(name, path), state) for path, state in harness.file_states(directory).items())
    return states


def check_mode_on_drift(ctx, playbook, run_files, okms_id, seed):
    """Drift a converged deployment, then run the role in check mode under faults."""
    hosts_dir, vars_file, env = run_files
    # The drift, faults off: host1's credential revoked (the role would issue a new one), host2's certificate
    # removed (it would install it again), a sixth service key wanted (it would create it).
    host1 = [c for c in ctx.emulator.credentials(okms_id) if c["name"] == CREDENTIAL_PREFIX + "host1"]
    for credential in host1:
        ctx.emulator.revoke_credential(okms_id, credential["id"])
    os.unlink(os.path.join(hosts_dir, "host2", "okms", "client.cert"))
    with open(vars_file, encoding="utf-8") as handle:
        variables = json.load(handle)
    drift_vars = os.path.join(hosts_dir, "drift-vars.json")
    with open(drift_vars, "w", encoding="utf-8") as handle:
        json.dump(dict(variables, okms_service_keys=SERVICE_KEY_ITEMS + [CHECK_EXTRA_KEY]), handle, indent=1)
    before, files_before = server_state(ctx, okms_id), host_files(hosts_dir)
    run, lines = faulted_run(ctx, playbook, (hosts_dir, drift_vars, env), "check-drift", seed * 10 + 8, check=True)
    after, files_after = server_state(ctx, okms_id), host_files(hosts_dir)
    return check_mode_checks(ctx, "seed %d, drifted" % seed, run, lines, before, after, files_before, files_after,
                             ["host1", "host2"])


def check_mode_from_nothing(ctx, playbook, vars_file, kms_name):
    """The role in check mode under faults, before anything exists: it would order the KMS (on host1, the
    first host of the run_once step), and must order nothing."""
    hosts_dir = ctx.output_dir
    before, files_before = server_state(ctx, None), host_files(hosts_dir)
    run, lines = faulted_run(ctx, playbook, (hosts_dir, vars_file, {}), "check-nothing", KILL_SEED * 10, check=True)
    after, files_after = server_state(ctx, None), host_files(hosts_dir)
    outcome = check_mode_checks(ctx, "from nothing", run, lines, before, after, files_before, files_after, ["host1"])
    ctx.checks.check("check mode under faults", "from nothing: no KMS named %s" % kms_name,
                     not ctx.emulator.kms_named(kms_name))
    return outcome


# -- 3. SIGKILL -----------------------------------------------------------------------------------------


def kill_points():
    """[(task, request regex or None, delay)]: KILL_POINTS of KILL_MOMENTS, in the order they run."""
    chooser = random.Random(KILL_SEED)
    chosen = sorted(chooser.sample(range(len(KILL_MOMENTS)), KILL_POINTS))
    return [KILL_MOMENTS[index] + (round(chooser.uniform(*KILL_DELAYS["request" if KILL_MOMENTS[index][1]
                                                                      else "task"]), 2),)
            for index in chosen]


def answered(emulator, request):
    """A function for run_and_kill: called when the task starts, it returns whether the emulator has answered
    a request matching ``request`` ("METHOD path") since."""
    start = emulator.audit_mark()
    pattern = re.compile(request)

    def seen():
        return any(pattern.search("%s %s" % (line["method"], line["path"])) for line in emulator.audit_since(start))
    return seen


def left_by_kill(hosts_dir):
    allowed = set(HOST_FILES) | set(CREDENTIAL_PREFIX + host + ".key" for host in HOSTS)
    left = []
    for pattern in ("*/okms/*", "*/okms/.*", "controller-keys/*", "controller-keys/.*"):
        for path in sorted(glob.glob(os.path.join(hosts_dir, pattern))):
            name = os.path.relpath(path, hosts_dir)
            left.append(name if os.path.basename(path) in allowed else name + " (stray)")
    return left


def kill_lane(ctx, playbook):
    section = "SIGKILL"
    check = ctx.checks.check
    kms_name = "rel-kill"
    hosts_dir = ctx.output_dir
    vars_file = write_vars(os.path.join(hosts_dir, "vars.json"), hosts_dir, kms_name, ctx.conn, "role")
    ctx.measures["check"] = check_mode_from_nothing(ctx, playbook, vars_file, kms_name)
    outcome = ctx.measures["kill"] = dict(points=[], rerun=None, found={})
    for index, (task, request, delay) in enumerate(kill_points(), 1):
        start = ctx.emulator.audit_mark()
        after = functools.partial(answered, ctx.emulator, request) if request else None
        killed = playbook.run_and_kill("killed-%d" % index, os.path.join(hosts_dir, "killed-%d.log" % index),
                                       "bootstrap.yml", vars_file, task, delay, after=after)
        ctx.outputs.append(killed.log_path)
        last_requests = ctx.emulator.audit_since(start)[-1:]
        # What the kill left for the next run: files, and the KMS's keys and credentials (once it is ordered).
        kms = ctx.emulator.kms_named(kms_name)
        keys = collections.Counter(k["name"] for k in ctx.emulator.service_keys(kms[0]["id"])) if len(kms) == 1 \
            else collections.Counter()
        credentials = ctx.emulator.credentials(kms[0]["id"]) if len(kms) == 1 else []
        point = dict(task=task, after=reliability_report.request_label(request) if request else None, delay=delay,
                     killed=killed.killed, seconds=killed.seconds,
                     last_task=killed.last_task(),
                     request=("%s %s" % (last_requests[0]["method"], last_requests[0]["path"])
                              if last_requests else None),
                     left=left_by_kill(hosts_dir), kms_left=len(kms), keys_left=sum(keys.values()),
                     credentials_left=len(credentials))
        outcome["points"].append(point)
        moment = "the first answer to %s in \"%s\"" % (point["after"], task) if request else "\"%s\" started" % task
        check(section, "point %d (%.2f s after %s): the run was killed" % (index, delay, moment), killed.killed,
              "" if killed.killed else "it ended (status %s) before the kill" % killed.returncode)
        twins = sorted(name for name, count in keys.items() if count > 1)
        check(section, "point %d: at most one KMS, each service key at most once" % index,
              len(kms) <= 1 and not twins, "%d KMSs; keys more than once: %s" % (len(kms), twins))
    rerun = playbook.run("rerun", os.path.join(hosts_dir, "rerun.log"), "bootstrap.yml", vars_file)
    ctx.outputs.append(rerun.log_path)
    outcome["rerun"] = dict(seconds=rerun.seconds, converged=rerun.converged,
                            failures=[] if rerun.converged else describe_failures(rerun, []))
    check(section, "the run after the last kill converges", rerun.converged,
          "; ".join("%s %s: %s" % f[:3] for f in outcome["rerun"]["failures"]))
    found = outcome["found"] = inspect_deployment(ctx, kms_name, hosts_dir)
    check_deployment(ctx, section, "after %d kills" % KILL_POINTS, found)
    remember_keys(ctx, hosts_dir)


# -- 4. ambiguous writes --------------------------------------------------------------------------------


def make_csr(directory, name):
    """A key (written 0600) and its CSR, as a host using private_key_source=csr has them."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    key_path = os.path.join(directory, name + ".key")
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])).sign(key, hashes.SHA256())
    return key_path, csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


class Write:
    """One module run of the ambiguous-writes scenario, and the write in it that gets the fault."""

    def __init__(self, verb, what, module, args, method, path_regex, key_path=None):
        self.verb, self.what, self.module, self.args = verb, what, module, args
        self.method, self.path_regex, self.key_path = method, path_regex, key_path

    def expected_applied(self, kind):
        """How many of its targeted writes must take effect."""
        if self.verb == "create" and self.what == "credential/ovh" and kind.startswith("commit"):
            return 2  # the credential whose key was lost with the answer is revoked, and a new one requested
        return 1


def write_operations(directory, okms_id, account):
    """The 150 writes, in order: creates first, then what changes or deletes the objects created."""
    kms_path = "/v2/okms/resource/%s" % okms_id
    keys, key = r"^%s/serviceKey$" % kms_path, r"^%s/serviceKey/[^/]+$" % kms_path
    credentials, credential = r"^%s/credential$" % kms_path, r"^%s/credential/[^/]+$" % kms_path
    operations = []
    for index in range(KEY_CREATES):
        spec = dict(type="oct") if index % 2 == 0 else dict(type="EC", curve="P-256")
        operations.append(Write("create", "key", "okms_service_key", dict(name="amb-key-%03d" % index, **spec),
                                "POST", keys))
    sources = ("local", "csr", "ovh")
    for index in range(CREDENTIAL_CREATES):
        name = "amb-cred-%03d" % index
        source = sources[index % len(sources)]
        args = dict(name=name, identity_urns=["urn:v1:eu:identity:account:%s" % account], private_key_source=source,
                    validity=20, certificate_path=os.path.join(directory, name + ".crt"))
        if source == "csr":
            key_path, args["csr"] = make_csr(directory, name)
        else:
            key_path = args["private_key_path"] = os.path.join(directory, name + ".key")
        operations.append(Write("create", "credential/" + source, "okms_credential", args, "POST", credentials,
                                key_path))
    for index in range(KEY_UPDATES):
        operations.append(Write("update", "key", "okms_service_key", dict(
            name="amb-key-%03d" % index, key_state="deactivated", deactivation_reason="superseded"), "PUT", key))
    for index in range(KEY_DELETES):
        operations.append(Write("delete", "key", "okms_service_key", dict(name="amb-key-%03d" % index, state="absent"),
                                "DELETE", key))
    for index in range(CREDENTIAL_DELETES):
        operations.append(Write("delete", "credential", "okms_credential",
                                dict(name="amb-cred-%03d" % index, state="absent"), "DELETE", credential))
    return operations


def run_write(ctx, okms_id, number, write, results):
    """Run one write with its one fault; (counts for the summary, problems found)."""
    kind = harness.AMBIGUOUS_KINDS[number % len(harness.AMBIGUOUS_KINDS)]
    start = ctx.emulator.audit_mark()
    with harness.OneFault(ctx.emulator, kind, write.method, write.path_regex, WRITE_SEED + number):
        result, text = harness.run_module(write.module, dict(ctx.api_args(), okms_id=okms_id, **write.args))
    lines = ctx.emulator.audit_since(start)
    results.write(text.strip() + "\n")
    targeted = [line for line in lines if line["method"] == write.method and re.search(write.path_regex, line["path"])]
    faulted = [line for line in targeted if line.get("fault")]
    applied = [line for line in targeted if harness.applied(line)]
    counts = collections.Counter(operations=1, ambiguous=1 if faulted else 0, faults=len(faulted), applied=len(applied),
                                 failed=1 if result.get("failed") else 0)
    if write.what == "credential/ovh":
        counts["orphans revoked"] = len([line for line in lines if line["method"] == "DELETE" and harness.applied(line)])
    label = "%s %s %s (%s)" % (write.verb, write.what, write.args["name"], kind)
    problems = []
    if result.get("failed"):
        problems.append(("failure", "%s failed: %s" % (label, result.get("msg"))))
    elif not result.get("changed"):
        problems.append(("write", "%s reported no change" % label))
    if not faulted:
        problems.append(("write", "%s: its %s never got the fault" % (label, write.method)))
    if len(applied) != write.expected_applied(kind):
        problems.append(("write", "%s: %d %s applied, %d expected" % (
            label, len(applied), write.method, write.expected_applied(kind))))
    if write.key_path and not result.get("failed"):
        cert = write.args["certificate_path"]
        if not (os.path.exists(write.key_path) and os.path.exists(cert)
                and harness.key_matches_certificate(write.key_path, cert)):
            problems.append(("orphan", "%s: the key file does not match the certificate written" % label))
    return counts, problems


def ambiguous_writes(ctx):
    section = "ambiguous writes"
    okms_id = order_kms(ctx, "rel-writes")
    directory = os.path.join(ctx.output_dir, "files")
    os.makedirs(directory)
    results_path = os.path.join(ctx.output_dir, "module-results.jsonl")
    ctx.outputs.append(results_path)
    operations = write_operations(directory, okms_id, ctx.conn["account"])
    summary = collections.OrderedDict()
    problems = []
    started = time.monotonic()
    with open(results_path, "w", encoding="utf-8") as results:
        for number, write in enumerate(operations):
            counts, found = run_write(ctx, okms_id, number, write, results)
            summary.setdefault((write.verb, write.what), collections.Counter()).update(counts)
            problems.extend(found)
    seconds = time.monotonic() - started

    # The end state, faults off: every object once, in the state written, each certificate for its key file.
    service_keys = ctx.emulator.service_keys(okms_id)
    keys = collections.Counter(key["name"] for key in service_keys)
    key_states = dict((key["name"], key["state"]) for key in service_keys)
    all_credentials = ctx.emulator.settled_credentials(okms_id)
    live = [c for c in all_credentials if c["status"] == "READY"]
    not_ready = ["%s (%s, %s)" % (c["name"], c["id"], c["status"]) for c in all_credentials if c["status"] != "READY"]
    credentials = collections.Counter(c["name"] for c in live)
    expected_keys = set("amb-key-%03d" % i for i in range(KEY_DELETES, KEY_CREATES))
    expected_credentials = set("amb-cred-%03d" % i for i in range(CREDENTIAL_DELETES, CREDENTIAL_CREATES))
    duplicates = sorted(name for name, count in list(keys.items()) + list(credentials.items()) if count > 1)
    key_paths = dict((w.args["name"], w.key_path) for w in operations if w.key_path)
    for credential in live:
        key_path = key_paths.get(credential["name"])
        if not (key_path and credential.get("certificatePEM")
                and harness.key_matches_certificate(key_path, credential["certificatePEM"])):
            problems.append(("orphan", "credential %s (%s): no key file holds its key" % (
                credential["name"], credential["id"])))
    wrong_states = sorted(name for name in expected_keys
                          if key_states.get(name) != ("DEACTIVATED" if int(name[-3:]) < KEY_UPDATES else "ACTIVE"))
    written = set(os.path.basename(p) for p in glob.glob(os.path.join(directory, "amb-cred-*.key"))
                  + glob.glob(os.path.join(directory, "amb-cred-*.crt")))
    stray = harness.unexpected_files(directory, written)
    ctx.key_files.extend(sorted(glob.glob(os.path.join(directory, "*.key"))))

    check = ctx.checks.check
    creates = sum(row["ambiguous"] for (verb, _what), row in summary.items() if verb == "create")
    changes = sum(row["ambiguous"] for (verb, _what), row in summary.items() if verb != "create")

    def listed(kind):
        return "; ".join(text for problem_kind, text in problems if problem_kind == kind)[:3000]

    check(section, "at least 100 ambiguous creates (service keys and credentials)", creates >= 100, "%d" % creates)
    check(section, "at least 50 ambiguous updates and deletes", changes >= 50, "%d" % changes)
    check(section, "zero failures", not listed("failure"), listed("failure"))
    check(section, "every write applied exactly once, each operation with its fault and a change",
          not listed("write"), listed("write"))
    check(section, "zero duplicates: every key and credential exists once", not duplicates, ", ".join(duplicates))
    check(section, "no orphan credential: each one's certificate is for its key file, none left half-made",
          not listed("orphan") and not not_ready, "; ".join(filter(None, [listed("orphan"), "; ".join(not_ready)])))
    check(section, "exactly the keys and credentials left by the writes",
          set(keys) == expected_keys and set(credentials) == expected_credentials,
          "keys: missing %s, unexpected %s; credentials: missing %s, unexpected %s" % (
              sorted(expected_keys - set(keys)), sorted(set(keys) - expected_keys),
              sorted(expected_credentials - set(credentials)), sorted(set(credentials) - expected_credentials)))
    check(section, "updated keys are deactivated, the others active", not wrong_states, ", ".join(wrong_states))
    check(section, "no temporary or partial file next to the keys and certificates", not stray, ", ".join(stray))
    ctx.measures["writes"] = dict(
        summary=[[verb, what, dict(row)] for (verb, what), row in summary.items()], seconds=seconds,
        creates=creates, changes=changes, duplicates=len(duplicates),
        failures=len([p for p in problems if p[0] == "failure"]),
        orphans=len([p for p in problems if p[0] == "orphan"]) + len(not_ready),
        problems=[text for _kind, text in problems], live_credentials=len(live), keys=sum(keys.values()),
        stray=len(stray))


def writes_alone(output_dir):
    """The ambiguous writes, in a process and against an emulator of their own (their fault settings change for
    every write, and their modules run in this process); what they found goes to writes.json."""
    # Terminated by the main scenario when it stops early: stop the emulator on the way out.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(1))
    lane = Lane("ambiguous writes", output_dir).run(ambiguous_writes)
    with open(os.path.join(output_dir, "writes.json"), "w", encoding="utf-8") as handle:
        json.dump(lane.result(), handle, indent=1)
    return 0


def start_writes(collection_dir, output_dir):
    directory = os.path.join(output_dir, "writes")
    os.makedirs(directory)
    log = open(os.path.join(directory, "driver.log"), "wb")  # pylint: disable=consider-using-with
    command = [sys.executable, os.path.abspath(__file__), "--scenario", "writes", "--collection-dir", collection_dir,
               "--output-dir", directory]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL), directory


def collect_writes(process, directory):
    """The writes lane's result, or a failed check saying why there is none."""
    process.wait()
    try:
        with open(os.path.join(directory, "writes.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        with open(os.path.join(directory, "driver.log"), encoding="utf-8", errors="replace") as handle:
            tail = handle.read()[-3000:]
        return dict(name="ambiguous writes", checks=[("ambiguous writes", "the scenario ran to its end", False,
                                                      "exit status %s: %s" % (process.returncode, tail))],
                    measures={}, outputs=[], key_files=[], tokens=[], counters={}, audit_faults={}, repeats=0,
                    requests=0, seconds=0.0, secrets={})


# -- 5. leaks, 6. bad inputs ----------------------------------------------------------------------------


def leak_search(checks, output_dir, secrets, outputs, key_files, token_digests):
    """``secrets``: {name: value} of each emulator."""
    scanner = harness.LeakScanner()
    for values in secrets:
        for name, value in values.items():
            scanner.add_secret(name.replace("_", " "), value)
    for path in key_files:
        if os.path.exists(path):
            scanner.add_private_key("private key %s" % os.path.relpath(path, output_dir), path)
    scanner.token_digests = set(token_digests)
    outputs = [p for p in outputs if os.path.exists(p)]
    # The search would see a leak: a copy of an output with a key and a secret appended is caught.
    control = os.path.join(output_dir, "leak-control.txt")
    with open(control, "w", encoding="utf-8") as handle:
        if outputs:
            with open(outputs[0], encoding="utf-8", errors="replace") as source:
                handle.write(source.read())
        if key_files:
            with open(key_files[0], encoding="ascii") as key:
                handle.write(key.read())
        if secrets:
            handle.write(secrets[0]["client_secret"] + "\n")
    control_found = scanner.scan_files([control])[0].get(control, [])
    os.unlink(control)
    leaks, size = scanner.scan_files(outputs)
    checks.check("leaks", "the search finds a key and a secret added to a copy of an output",
                 len(control_found) >= 2, ", ".join(label for label, _how in control_found))
    checks.check("leaks", "no secret in %d outputs (%.1f MB; the role runs under faults and in check mode at "
                 "-vvvv --diff)" % (len(outputs), size / 1e6), outputs and not leaks,
                 "; ".join("%s: %s" % (os.path.relpath(p, output_dir), ", ".join(l for l, _h in found))
                           for p, found in sorted(leaks.items())))
    return dict(outputs=len(outputs), bytes=size, keys=len(key_files), tokens=len(token_digests),
                leaks=sum(len(found) for found in leaks.values()),
                leaked=dict((os.path.relpath(p, output_dir), found) for p, found in leaks.items()))


BAD_INPUT_TABLE = os.path.join("tests", "unit", "plugins", "modules", "test_bad_inputs.py")
BAD_INPUT_MODULE = "ansible_collections.ovhcloud.kms.tests.unit.plugins.modules.test_bad_inputs"


def start_bad_inputs(collection_dir, output_dir):
    """Start the unit tests' bad-input table (pytest, in the background); None when the table is missing."""
    if not os.path.exists(os.path.join(collection_dir, BAD_INPUT_TABLE)):
        return None
    collections_root = os.path.dirname(os.path.dirname(os.path.dirname(collection_dir)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (collections_root, os.environ.get("PYTHONPATH")) if p))
    log = open(os.path.join(output_dir, "bad-inputs.log"), "wb")  # pylint: disable=consider-using-with
    return subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml",
                             os.path.join(output_dir, "bad-inputs.xml"), BAD_INPUT_TABLE],
                            cwd=collection_dir, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def bad_input_table():
    """The table's cases, read from the table itself: {id: (module, real run only)}."""
    table = importlib.import_module(BAD_INPUT_MODULE)
    return collections.OrderedDict((case_id, (entry.module, bool(entry.real_run_only)))
                                   for case_id, entry in zip(table.IDS, table.TABLE))


def bad_inputs(checks, process, output_dir):
    """The cases of the bad-input table and how many passed, in check mode and for real."""
    if process is None:
        checks.check("bad inputs", "the bad-input table exists", False, "%s is missing" % BAD_INPUT_TABLE)
        return None
    process.wait()
    try:
        table = bad_input_table()
    except Exception:  # pylint: disable=broad-exception-caught
        checks.check("bad inputs", "the bad-input table can be read", False, traceback.format_exc()[-1500:])
        return None
    outcomes = collections.defaultdict(list)
    junit = os.path.join(output_dir, "bad-inputs.xml")
    if os.path.exists(junit):
        for case in ElementTree.parse(junit).getroot().iter("testcase"):
            match = re.search(r"\[(.*)-(run|check)\]$", case.get("name", ""))
            if match and match.group(1) in table:
                failed = any(child.tag in ("failure", "error", "skipped") for child in case)
                outcomes[match.group(1)].append(not failed)
    passed = [case_id for case_id in table if len(outcomes.get(case_id, [])) == 2 and all(outcomes[case_id])]
    by_module = collections.Counter(module for module, _real_only in table.values())
    checks.check("bad inputs", "the table holds at least 80 cases, over every module", len(table) >= 80,
                 "%d cases: %s" % (len(table), ", ".join("%s %d" % item for item in sorted(by_module.items()))))
    checks.check("bad inputs", "every case fails before any mutating request, naming the option, writing nothing "
                 "(in check mode and for real)", table and len(passed) == len(table),
                 "%d of %d cases (pytest exit status %s, %s)" % (
                     len(passed), len(table), process.returncode, os.path.join(output_dir, "bad-inputs.log")))
    return dict(cases=len(table), passed=len(passed), by_module=dict(by_module),
                real_run_only=len([1 for _module, real_only in table.values() if real_only]))


# -- main -----------------------------------------------------------------------------------------------


def ansible_env():
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0")
    for name in ("OVH_ENDPOINT", "OVH_APPLICATION_KEY", "OVH_APPLICATION_SECRET", "OVH_CONSUMER_KEY",
                 "OVH_CLIENT_ID", "OVH_CLIENT_SECRET"):
        env.pop(name, None)
    return env


def run_scenarios(collection_dir, output_dir, checks, measures):
    """Every scenario, side by side; the lanes' results (each with its checks, in report order)."""
    writes_process, writes_dir = start_writes(collection_dir, output_dir)
    bad_input_process = start_bad_inputs(collection_dir, output_dir)
    try:
        playbook = harness.Playbook(HERE, os.path.join(HERE, "inventory.yml"), ansible_env())
        lanes = [(Lane("seed %d" % seed, os.path.join(output_dir, "faults-%d" % seed)), seed_lane,
                  (playbook, seed, description)) for seed, description in ROLE_SEEDS.items()]
        lanes.append((Lane("SIGKILL", os.path.join(output_dir, "kill")), kill_lane, (playbook,)))
        threads = [threading.Thread(target=lane.run, args=(body,) + args, name=lane.name)
                   for lane, body, args in lanes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results = [lane.result() for lane, _body, _args in lanes]
        results.append(collect_writes(writes_process, writes_dir))
    except BaseException:
        for process in (writes_process, bad_input_process):
            if process is not None and process.poll() is None:
                process.terminate()
        raise
    outputs = [path for result in results for path in result["outputs"]]
    key_files = [path for result in results for path in result["key_files"]]
    tokens = set(token for result in results for token in result["tokens"])
    for result in results:
        checks.items.extend(tuple(item) for item in result["checks"])
    measures["lanes"] = [dict(name=r["name"], seconds=r["seconds"], requests=r["requests"]) for r in results]
    measures["role"] = [r["measures"]["role"] for r in results if "role" in r["measures"]]
    measures["check"] = [r["measures"]["check"] for r in results if "check" in r["measures"]]
    measures["kill"] = next((r["measures"]["kill"] for r in results if "kill" in r["measures"]), None)
    measures["writes"] = next((r["measures"]["writes"] for r in results if "writes" in r["measures"]), None)
    counters, audit_faults = collections.Counter(), collections.Counter()
    for result in results:
        counters.update(result["counters"])
        audit_faults.update(result["audit_faults"])
    measures.update(counters=dict(counters), audit_faults=dict(audit_faults),
                    repeats=dict((r["name"], r["repeats"]) for r in results))
    check_faults = sum(sum(outcome["faults"].values()) for outcome in measures["check"])
    checks.check("check mode under faults", "faults were injected into the check-mode runs", check_faults > 0,
                 "%d faults" % check_faults)
    checks.check("faults", "the emulators' fault counters match the faults in their audit logs",
                 counters == audit_faults and sum(counters.values()) > 0,
                 "counters %s, audit logs %s" % (dict(counters), dict(audit_faults)))
    measures["leaks"] = leak_search(checks, output_dir, [r["secrets"] for r in results if r["secrets"]], outputs,
                                    key_files, tokens)
    measures["bad_inputs"] = bad_inputs(checks, bad_input_process, output_dir)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--collection-dir", required=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--scenario", choices=["all", "writes"], default="all")
    args = parser.parse_args()
    collection_dir = os.path.abspath(args.collection_dir)
    output_dir = os.path.abspath(args.output_dir)
    collections_root = os.path.dirname(os.path.dirname(os.path.dirname(collection_dir)))
    sys.path.insert(0, collections_root)
    if args.scenario == "writes":
        return writes_alone(output_dir)

    if os.path.isdir(output_dir):
        shutil.rmtree(output_dir)
    os.makedirs(output_dir)
    started = time.monotonic()
    checks = Checks()
    measures = {}
    try:
        run_scenarios(collection_dir, output_dir, checks, measures)
    except BaseException:  # the report is written whatever happened, then the error goes on
        checks.check("target", "the scenarios ran to their end", False, traceback.format_exc()[-3000:])
        raise
    finally:
        measures["seconds"] = time.monotonic() - started
        report_path = os.path.join(output_dir, "reliability.md")
        with open(report_path, "w", encoding="utf-8") as handle:
            handle.write(reliability_report.render(measures, checks.items, settings()))
        print("\nreport: %s" % report_path)
        print("%d checks, %d failed, in %.0f s" % (len(checks.items), len(checks.failed), measures["seconds"]))
        for section, what, _passed, detail in checks.failed:
            print("FAILED %s: %s%s" % (section, what, " (%s)" % detail[:2000] if detail else ""))
    return 1 if checks.failed else 0


def settings():
    """What the report states about how the run was made."""
    return dict(rate=FAULT_RATE, slow=SLOW_SECONDS, seeds=ROLE_SEEDS, check_seed=CHECK_SEED, write_seed=WRITE_SEED,
                kill_seed=KILL_SEED, kill_points=KILL_POINTS, kill_moments=KILL_MOMENTS, kill_delays=KILL_DELAYS,
                max_runs=MAX_RUNS, emulator_args=EMULATOR_ARGS, hosts=HOSTS, host_sources=HOST_SOURCES,
                service_keys=SERVICE_KEY_ITEMS, extra_key=CHECK_EXTRA_KEY)


if __name__ == "__main__":
    sys.exit(main())
