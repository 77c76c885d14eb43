# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the EXAMPLES of every module and lookup of the collection, as written, against the emulator, twice.

Users copy EXAMPLES into their playbooks, so an example that does not run is a bug. For each module in
plugins/modules (and each lookup in plugins/lookup, named ``lookup.<name>`` here) this script builds one
play whose tasks are the plugin's EXAMPLES text, changed only where the examples stand for the user's own
world:

- a literal UUID becomes the id of a fixture made once, before the first run, by setup.yml: a KMS of
  its own for each KMS id (an example may rename it), an oct key in the KMS of the same task for each
  service key id;
- an absolute path (/etc/..., /secure/...) becomes the same path under a root of the module's own;
- the account of identity URNs (xx1111-ovh) becomes the emulator's account (connection.json ``account``).

Everything else an example relies on is a fixture around the examples, never a change of their text:
the variable ``kms``, holding what okms_instance returned for a KMS made for the examples (the
convention of every EXAMPLES block: an okms_instance task registered as kms), the parent directories of the
paths, the input files of INPUT_FILES, the variables of vault_variables() in a vars file encrypted with
ansible-vault, one handler per name given to ``notify``, and the groups named by ``group`` options.
Credentials reach the modules the way users give them: OVH_ENDPOINT, OVH_CLIENT_ID and
OVH_CLIENT_SECRET in the environment, and REQUESTS_CA_BUNDLE pointing at a bundle of the emulator's CA.

Each module's play runs twice. The first run must run every example without a failure or a skip. The
second run must report every example unchanged, except the ones in RECREATED_EACH_RUN: those create
something that a later example of the same module deletes, so a re-run creates and deletes it again,
and they must report a change (otherwise the deletion they pair with did nothing).

The console gets one line per module and, on failure, the failing example and its error; the full
ansible-playbook output is in OUTPUT_DIR/module_examples/logs.

Modules whose examples touch the same things run one after the other (CHAINS); the chains run side by
side, which keeps the whole test around a minute although most of it is waiting for deliveries.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import base64
import glob
import grp
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

COLLECTION = "ovhcloud.kms"
REGION = "eu-west-rbx"
# Longer than any run takes even on a busy machine; a module waiting for something that never comes
# (wait_timeout defaults to minutes) then fails the test instead of hanging it.
PLAYBOOK_TIMEOUT = 300

# Examples that create something a later example of the same module deletes: they report a change on
# every run. Keyed by module, then by example name, with the reason.
RECREATED_EACH_RUN = {
    "okms_credential": {
        "Use a CSR made elsewhere (an HSM, another tool)": "'Revoke and delete it' revokes the credential",
        "Revoke and delete it": "the CSR example issues the credential again first",
    },
    "okms_instance": {
        "Order without waiting for delivery (a later run picks the order up)":
            "the next example terminates that KMS",
        "Terminate a KMS, destroying all its keys and credentials (waits for one still being delivered)":
            "the example before orders it again",
    },
    "okms_service_key": {
        "A key-wrapping key of 128 bits": "'Delete a key, deactivating it first if it is still active' deletes it",
        "Delete a key, deactivating it first if it is still active": "the key-wrapping example creates it again",
    },
    # Not a creation, but the same pairing: two examples write different data to app/db.
    "okms_secret": {
        "Keep the database credentials of the application in the KMS":
            "'Write new credentials only if nobody changed them since they were read' writes other credentials",
        "Write new credentials only if nobody changed them since they were read":
            "the first example writes the first credentials back",
    },
}

# Run in this order, because a later module's examples read or reuse what an earlier one's made: the
# _info examples look for the KMS and keys the others made, and okms_host_key issues the credential
# named after the host that okms_credential's first example issued; the okms_secret lookup reads the
# secrets okms_secret's examples wrote. Chains run side by side; a module in no chain runs in a chain of
# its own.
CHAINS = [
    ["okms_credential", "okms_credential_info", "okms_host_key"],
    ["okms_instance", "okms_instance_info"],
    ["okms_service_key", "okms_service_key_info"],
    ["okms_secret", "okms_secret_info", "lookup.okms_secret"],
    ["okms_signature", "okms_signature_info"],
]

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ABSOLUTE_PATH = re.compile(r"^/[^\s{}]+$")
EXAMPLE_ACCOUNT = re.compile(r"(urn:v1:[a-z]+:identity:[a-z]+:)xx1111-ovh\b")
BLOCK_SECTIONS = ("block", "rescue", "always")


class HarnessError(Exception):
    """The examples need something this harness does not provide: fix the example or the harness."""


# -- fixtures: input files and variables ------------------------------------------------------


def write_private(path, content):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def write_pem_private_key(path):
    """A key to import, as users keep one: an RSA-3072 PKCS#8 PEM file."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    write_private(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))


def write_csr(path):
    """A CSR made outside Ansible (its key stays with the tool that made it, here in memory only)."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hsm-client")])).sign(key, hashes.SHA256())
    with open(path, "wb") as handle:
        handle.write(csr.public_bytes(serialization.Encoding.PEM))


def write_release_archive(path):
    """A file to sign, as a build would leave it."""
    with open(path, "wb") as handle:
        handle.write(os.urandom(64 * 1024))


def write_small_file(path):
    """A small file to encrypt (okms_encrypt's src)."""
    write_private(path, os.urandom(64))


# Where setup.yml puts a host's access to the examples' KMS: client.cert, domain.key and okms.yaml, as the
# ovhcloud.kms.okms role deploys them (set by main()).
HOST_ACCESS_DIR = None


def write_host_access_config(path):
    """The okms.yaml of a host that has its access certificate (made by setup.yml; it names the files by absolute path)."""
    shutil.copyfile(os.path.join(HOST_ACCESS_DIR, "okms.yaml"), path)


# (module, option) whose path the module reads: the file is made before the first run.
INPUT_FILES = {
    ("okms_service_key", "key_path"): write_pem_private_key,
    ("okms_credential", "csr_path"): write_csr,
    ("okms_signature", "src"): write_release_archive,
    ("okms_encrypt", "src"): write_small_file,
    ("okms_secret_file", "config_file"): write_host_access_config,
}


def vault_variables(conn):
    """Variables the examples expect from the user's Ansible Vault."""
    aes_key = base64.urlsafe_b64encode(os.urandom(32)).decode("ascii").rstrip("=")
    return {"vaulted_aes_jwk": {"kty": "oct", "k": aes_key},
            # The API credentials of the lookup example that takes them from variables.
            "vault_ovh_client_id": conn["client_id"], "vault_ovh_client_secret": conn["client_secret"]}


# -- reading the examples -----------------------------------------------------------------------


def read_examples(module_path):
    """The EXAMPLES string of a module file, read without importing it."""
    with open(module_path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), module_path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXAMPLES" for t in node.targets):
            return ast.literal_eval(node.value)
    raise HarnessError("%s has no EXAMPLES" % module_path)


def leaf_tasks(task):
    """The tasks Ansible runs for one example: itself, or a block's inner tasks."""
    if not any(section in task for section in BLOCK_SECTIONS):
        yield task
        return
    for section in BLOCK_SECTIONS:
        for inner in task.get(section) or []:
            yield from leaf_tasks(inner)


def action(task):
    """(module short name, arguments) of a task, which must call one module by its FQCN."""
    calls = [key for key in task if "." in key]
    if len(calls) != 1:
        raise HarnessError("example task %r does not call exactly one module by its FQCN" % task.get("name"))
    args = task[calls[0]]
    return calls[0].rsplit(".", 1)[-1], args if isinstance(args, dict) else {}


def notified(task):
    notify = task.get("notify") or []
    return [notify] if isinstance(notify, str) else list(notify)


def scalars(value, option=None):
    """(option, string) of every string in a module's arguments, nested ones keeping their top option."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from scalars(inner, option or key)
    elif isinstance(value, list):
        for inner in value:
            yield from scalars(inner, option)
    elif isinstance(value, str):
        yield option, value


class ModuleExamples:
    """One module's examples, what they need, and their text with ids and paths substituted."""

    def __init__(self, module, text):
        self.module = module
        self.text = text
        self.tasks = yaml.safe_load(text)
        if not isinstance(self.tasks, list) or not all(isinstance(t, dict) and t.get("name") for t in self.tasks):
            raise HarnessError("the EXAMPLES of %s are not a list of named tasks" % module)
        if not all(leaf.get("name") for t in self.tasks for leaf in leaf_tasks(t)):
            raise HarnessError("a task in a block of the EXAMPLES of %s has no name" % module)
        self.names = dict((t["name"], [leaf["name"] for leaf in leaf_tasks(t)]) for t in self.tasks)
        all_names = [name for names in self.names.values() for name in names]
        if len(set(all_names)) != len(all_names):
            raise HarnessError("the EXAMPLES of %s repeat a task name; this harness tells examples apart by name"
                               % module)
        self.kms_uuids = []       # literal KMS ids, in order of appearance
        self.key_uuids = {}       # literal service key id -> the KMS it is in (a literal id or None: `kms`)
        self.paths = set()
        self.input_files = {}     # path -> writer
        self.groups = set()
        self.owners = set()
        self.handlers = []
        for task in self.tasks:
            for leaf in leaf_tasks(task):
                for handler in notified(leaf):
                    if handler not in self.handlers:
                        self.handlers.append(handler)
                self._scan(leaf, *action(leaf))

    def _scan(self, task, short, args):
        for option, value in scalars(args):
            if UUID.match(value):
                if option == "okms_id" or (short.startswith("okms_instance") and option == "id"):
                    if value not in self.kms_uuids:
                        self.kms_uuids.append(value)
                elif short.startswith("okms_service_key") and option == "id":
                    okms_id = args.get("okms_id", "")
                    if UUID.match(okms_id):
                        if okms_id not in self.kms_uuids:
                            self.kms_uuids.append(okms_id)
                    elif okms_id.replace(" ", "") != "{{kms.instance.id}}":
                        raise HarnessError("%s: service key id %s is in KMS %r, neither a literal id nor "
                                           "kms.instance.id" % (task["name"], value, okms_id))
                    self.key_uuids[value] = okms_id if UUID.match(okms_id) else None
                else:
                    raise HarnessError("%s: no fixture for the literal id %s of %s.%s"
                                       % (task["name"], value, short, option))
            elif ABSOLUTE_PATH.match(value):
                self.paths.add(value)
                if (short, option) in INPUT_FILES:
                    self.input_files[value] = INPUT_FILES[(short, option)]
            elif option == "group" and "{{" not in value:
                self.groups.add(value)
            elif option == "owner" and "{{" not in value:
                self.owners.add(value)

    def substituted(self, root, ids, account):
        """The examples' text with every literal id, path and account replaced."""
        text = self.text
        for literal, real in sorted(ids.items()):
            text = text.replace(literal, real)
        # Longest first, so that a path is never replaced inside a longer one.
        for path in sorted(self.paths, key=len, reverse=True):
            text = re.sub(r"(?<![\w/.-])%s(?![\w/.-])" % re.escape(path), lambda m: root + m.group(0), text)
        return EXAMPLE_ACCOUNT.sub(lambda m: m.group(1) + account, text)


# -- running ----------------------------------------------------------------------------------


class Runner:
    def __init__(self, work_dir, conn):
        self.work_dir = work_dir
        self.log_dir = os.path.join(work_dir, "logs")
        self.conn = conn
        here = os.path.dirname(os.path.abspath(__file__))
        self.target_dir = here
        os.makedirs(self.log_dir)
        home = os.path.join(work_dir, "home")
        os.makedirs(home)
        ca_bundle = os.path.join(work_dir, "emulator-ca-bundle.pem")
        shutil.copyfile(conn["ca_path"], ca_bundle)
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith("OVH_"))
        env.update(
            # The credentials as an AWX credential or a CI secret passes them.
            OVH_ENDPOINT=conn["endpoint"], OVH_CLIENT_ID=conn["client_id"], OVH_CLIENT_SECRET=conn["client_secret"],
            REQUESTS_CA_BUNDLE=ca_bundle,
            # No ~/.ovh.conf of the person running the tests (async_status does not follow HOME).
            HOME=home, ANSIBLE_ASYNC_DIR=os.path.join(home, ".ansible_async"),
            ANSIBLE_CALLBACK_PLUGINS=os.path.join(here, "callback_plugins"),
            ANSIBLE_CALLBACKS_ENABLED="module_examples_results",
            ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0",
        )
        self.env = env

    def playbook(self, log_name, playbook, extra_vars=None, extra_args=()):
        """Run ansible-playbook; (return code, results, log path). Output goes to the log only."""
        results_path = os.path.join(self.log_dir, log_name + ".results.jsonl")
        log_path = os.path.join(self.log_dir, log_name + ".log")
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                   "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable]
        if extra_vars is not None:
            vars_path = os.path.join(self.log_dir, log_name + ".vars.json")
            with open(vars_path, "w", encoding="utf-8") as handle:
                json.dump(extra_vars, handle)
            command += ["-e", "@" + vars_path]
        command += list(extra_args) + [playbook]
        env = dict(self.env, MODULE_EXAMPLES_RESULTS=results_path)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.work_dir,
                                       start_new_session=True)
            try:
                code = process.wait(timeout=PLAYBOOK_TIMEOUT)
            except subprocess.TimeoutExpired:
                # The modules it started too: they are in its process group.
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                log.write(b"\nmodule_examples: killed after %d s\n" % PLAYBOOK_TIMEOUT)
                code = "timeout"
        results = []
        if os.path.exists(results_path):
            with open(results_path, encoding="utf-8") as handle:
                results = [json.loads(line) for line in handle if line.strip()]
        return code, results, log_path

    def fixture_play(self, name, extra_vars):
        code, results, log_path = self.playbook(name, os.path.join(self.target_dir, name + ".yml"), extra_vars)
        if code != 0:
            failed = [r for r in results if r["status"] in ("failed", "unreachable") and not r["ignored"]]
            detail = "; ".join("%s: %s" % (r["task"], r["msg"]) for r in failed) or "see the log"
            raise HarnessError("%s failed (%s); full output: %s" % (name, detail, log_path))


def module_play(examples, text, vars_file, kms_result):
    """The play that runs one module's examples: fixtures around them, the examples' text inside."""
    q = json.dumps  # a JSON string is a YAML scalar
    lines = [
        "---",
        "- name: %s" % q("EXAMPLES of %s.%s" % (COLLECTION, examples.module)),
        "  hosts: localhost",
        "  gather_facts: false",
        "  vars:",
        "    # What okms_instance returned for the examples' KMS. A play variable, so that an example's",
        "    # own `register: kms` replaces it, as in the user's play.",
    ]
    lines += ["    " + line for line in yaml.safe_dump({"kms": kms_result}, default_flow_style=False).splitlines()]
    lines += [
        "  vars_files:",
        "    - %s" % q(vars_file),
        "  tasks:",
    ]
    lines += [("    " + line) if line.strip() else "" for line in text.splitlines()]
    if examples.handlers:
        lines.append("  handlers:")
        for handler in examples.handlers:
            lines += ["    - name: %s" % q(handler),
                      "      ansible.builtin.debug:",
                      "        msg: %s" % q("fixture: the handler %s ran" % handler)]
    return "\n".join(lines) + "\n"


def check_run(examples, results, run, expect_unchanged):
    """Failures of one run of a module's examples, as readable lines."""
    problems = []
    for record in results:
        if record["status"] in ("failed", "unreachable") and not record["ignored"]:
            kind = "handler" if record["handler"] else "task"
            problems.append("run %d: %s %r failed: %s" % (run, kind, record["task"], record.get("msg", "")))
    by_name = {}
    for record in results:
        if not record["handler"]:
            by_name.setdefault(record["task"], []).append(record)
    recreated = RECREATED_EACH_RUN.get(examples.module, {})
    for example, names in examples.names.items():
        for name in names:
            records = by_name.get(name)
            label = example if name == example else "%s / %s" % (example, name)
            if not records:
                problems.append("run %d: example %r did not run (an earlier task failed)" % (run, label))
                continue
            statuses = set(r["status"] for r in records)
            if "skipped" in statuses:
                problems.append("run %d: example %r was skipped, so it proves nothing" % (run, label))
            if expect_unchanged and "failed" not in statuses:
                if example in recreated and "changed" not in statuses:
                    problems.append("run %d: example %r did not change, yet %s" % (run, label, recreated[example]))
                elif example not in recreated and "changed" in statuses:
                    problems.append("run %d: example %r changed again: its examples are not idempotent"
                                    % (run, label))
    return problems


def run_module(runner, examples, playbook, password_file):
    """Both runs of one module's examples: (problems, summary)."""
    summary = []
    for run in (1, 2):
        started = time.monotonic()
        code, results, log_path = runner.playbook("%s-run%d" % (examples.module, run), playbook,
                                                  extra_args=["--vault-password-file", password_file])
        problems = check_run(examples, results, run, expect_unchanged=(run == 2))
        if code == "timeout":
            problems.append("run %d: ansible-playbook did not finish within %d s" % (run, PLAYBOOK_TIMEOUT))
        elif code != 0 and not problems:
            problems = ["run %d: ansible-playbook exited with %d" % (run, code)]
        if problems:
            return problems + ["full output: %s" % log_path], summary
        changed = set(r["task"] for r in results if r["status"] == "changed" and not r["handler"])
        summary.append("run %d: %d changed, %.0f s" % (run, len(changed), time.monotonic() - started))
    return [], summary


def chains_of(modules):
    names = [m.module for m in modules]
    chains = [[name for name in chain if name in names] for chain in CHAINS]
    chained = set(name for chain in chains for name in chain)
    return [chain for chain in chains if chain] + [[name] for name in names if name not in chained]


def main():
    collection_dir, output_dir = sys.argv[1:3]
    config_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "integration_config.yml")
    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    with open(config["okms_emulator_connection_path"], encoding="utf-8") as handle:
        conn = json.load(handle)

    work_dir = os.path.join(os.path.abspath(output_dir), "module_examples")
    shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir)
    started = time.monotonic()

    modules = []
    for path in sorted(glob.glob(os.path.join(collection_dir, "plugins", "modules", "*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        if name != "__init__":
            modules.append(ModuleExamples(name, read_examples(path)))
    for path in sorted(glob.glob(os.path.join(collection_dir, "plugins", "lookup", "*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        if name != "__init__":
            modules.append(ModuleExamples("lookup." + name, read_examples(path)))
    for module, table in RECREATED_EACH_RUN.items():
        known = next((m for m in modules if m.module == module), None)
        missing = [name for name in table if known is None or name not in known.names]
        if missing:
            raise HarnessError("RECREATED_EACH_RUN names examples that %s no longer has: %s; update the table"
                               % (module, ", ".join(missing)))
    for owner in set(o for m in modules for o in m.owners):
        try:
            pwd.getpwnam(owner)
        except KeyError:
            raise HarnessError("the examples set owner %s, a user this machine does not have" % owner)

    by_name = dict((m.module, m) for m in modules)
    runner = Runner(work_dir, conn)
    created_groups = []
    outcomes = {}
    kms_before_path = os.path.join(work_dir, "kms-before.json")
    # Fixture names of this run only: what an interrupted run left behind is never taken for a fixture.
    prefix = "examples-%s" % base64.b32encode(os.urandom(5)).decode("ascii").lower()
    shared_kms_name = prefix + "-kms"
    try:
        for group in sorted(set(g for m in modules for g in m.groups)):
            try:
                grp.getgrnam(group)
            except KeyError:
                subprocess.check_call(["groupadd", "--system", group])
                created_groups.append(group)

        # One KMS per literal KMS id, one oct key per literal key id.
        fixture_kms, fixture_keys, uuid_owner = [], [], {}
        for examples in modules:
            for literal in examples.kms_uuids:
                fixture_kms.append("%s-%d" % (prefix, len(fixture_kms) + 1))
                uuid_owner[(examples.module, literal)] = ("kms", fixture_kms[-1])
            for literal, in_kms in sorted(examples.key_uuids.items()):
                kms_name = uuid_owner[(examples.module, in_kms)][1] if in_kms else shared_kms_name
                fixture_keys.append({"name": "%s-key-%d" % (prefix, len(fixture_keys) + 1), "kms": kms_name})
                uuid_owner[(examples.module, literal)] = ("keys", fixture_keys[-1]["name"])
        ids_path = os.path.join(work_dir, "fixture-ids.json")
        global HOST_ACCESS_DIR
        HOST_ACCESS_DIR = os.path.join(work_dir, "host-access")
        os.makedirs(HOST_ACCESS_DIR, mode=0o700)
        runner.fixture_play("setup", {
            "examples_host_access_dir": HOST_ACCESS_DIR, "examples_account": conn["account"],
            "examples_region": REGION, "examples_kms_name": shared_kms_name, "examples_fixture_kms": fixture_kms,
            "examples_fixture_keys": fixture_keys, "examples_ids_path": ids_path,
            "examples_kms_before_path": kms_before_path})
        with open(ids_path, encoding="utf-8") as handle:
            fixture_ids = json.load(handle)

        vars_file = os.path.join(work_dir, "vault.yml")
        password_file = os.path.join(work_dir, "vault-password")
        write_private(vars_file, yaml.safe_dump(vault_variables(conn)).encode("utf-8"))
        write_private(password_file, base64.b64encode(os.urandom(24)))
        subprocess.check_call([os.path.join(os.path.dirname(sys.executable), "ansible-vault"), "encrypt",
                               "--vault-password-file", password_file, vars_file],
                              stdout=subprocess.DEVNULL, env=runner.env)

        playbooks = {}
        for examples in modules:
            root = os.path.join(work_dir, "roots", examples.module)
            ids = dict((literal, fixture_ids[kind][name]) for (module, literal), (kind, name) in uuid_owner.items()
                       if module == examples.module)
            text = examples.substituted(root, ids, conn["account"])
            for path in examples.paths:
                os.makedirs(os.path.dirname(root + path), exist_ok=True)
            for path, writer in examples.input_files.items():
                writer(root + path)
            playbooks[examples.module] = os.path.join(work_dir, "%s.yml" % examples.module)
            with open(playbooks[examples.module], "w", encoding="utf-8") as handle:
                handle.write(module_play(examples, text, vars_file, fixture_ids["kms_result"]))

        def run_chain(chain):
            for name in chain:
                outcomes[name] = run_module(runner, by_name[name], playbooks[name], password_file)

        threads = [threading.Thread(target=run_chain, args=(chain,)) for chain in chains_of(modules)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        if os.path.exists(kms_before_path):
            with open(kms_before_path, encoding="utf-8") as handle:
                kms_before = json.load(handle)
            try:
                runner.fixture_play("cleanup", {"examples_kms_before": kms_before})
            except HarnessError as exc:
                outcomes["cleanup"] = ([str(exc)], [])
        for group in created_groups:
            subprocess.call(["groupdel", group])

    failed = False
    for name in [m.module for m in modules] + (["cleanup"] if "cleanup" in outcomes else []):
        problems, summary = outcomes.get(name, (["did not run"], []))
        if problems:
            failed = True
            print("%-22s FAILED" % name)
            for line in problems:
                print("    " + line)
        else:
            print("%-22s %d examples ok (%s)" % (name, len(by_name[name].names), "; ".join(summary)))
    print("module EXAMPLES: %d modules in %.0f s; logs in %s"
          % (len(modules), time.monotonic() - started, runner.log_dir))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as error:
        print("module_examples: %s" % error, file=sys.stderr)
        sys.exit(1)
