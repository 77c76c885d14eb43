#!/usr/bin/env python3
"""`make demo`: the collection's bootstrap playbook against the local OKMS emulator.

Starts the emulator, then runs `ansible-playbook ovhcloud.kms.bootstrap` (from
the collection copy in --collections-root) for three local hosts, each a
directory of its own: it orders a KMS, creates an oct, an RSA and an EC key,
writes a secret with a generated password, and deploys a certificate, its
private key, the CAs and an okms.yaml on every host, and on every host a file
written from the secret with the host's own certificate. demo/verify.yml then
reads the secret back with the okms_secret lookup (showing only its length) and
has every host encrypt and decrypt a message and sign and verify a file, over
mutual TLS with its own files. A second run must change nothing.

The API credentials reach the modules as OVH_* environment variables, the way
an AWX credential of extensions/awx/credential_type_ovhcloud_api.yml injects
them. The full ansible-playbook output goes to a log file; this prints a summary.
"""

import argparse
import json
import os
import re
import shutil
import sys
import time

from okms_emulator.testing import running_emulator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from playbook_run import PlaybookFailed, log_tail, run_playbook  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOSTS = ("host1", "host2", "host3")
# demo/verify.yml prints one summary line for the KMS, one for the secret, and five per host.
LINES_PER_PLAY = 2
LINES_PER_HOST = 5


class DemoError(Exception):
    pass


def step(text):
    print("\n== %s" % text, flush=True)


def say(text):
    print("   %s" % text, flush=True)


def write_inventory(path, work_dir, conn):
    """The three hosts and what depends on this run; the rest is in demo/inventory/group_vars."""
    hosts = {}
    for name in HOSTS:
        hosts[name] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "okms_cert_dir": os.path.join(work_dir, "hosts", name, "okms"),
            "app_dir": os.path.join(work_dir, "hosts", name, "app"),
        }
        os.makedirs(hosts[name]["app_dir"], exist_ok=True)
    inventory = {"all": {"hosts": hosts, "vars": {
        "okms_credential_identity_urns": ["urn:v1:eu:identity:account:%s" % conn["account"]],
        # The controller trusts the emulator's API certificate; the hosts get its data plane's CA as rest-ca.pem,
        # named by their okms.yaml.
        "okms_api_ca_path": conn["ca_path"],
        "okms_rest_ca_file": conn["ca_path"],
    }}}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(inventory, handle, indent=1)  # JSON is YAML


def playbook(args, env, log_path, title):
    """Run ansible-playbook and print its recap, one line per host."""
    started = time.monotonic()
    recap, output = run_playbook(args, env, log_path, title)
    if set(recap) != set(HOSTS):
        raise DemoError("%s: the recap lists %s, not %s" % (title, sorted(recap), list(HOSTS)))
    say("%s: done in %.0f s" % (title, time.monotonic() - started))
    for host, counts in sorted(recap.items()):
        say("  %-6s ok=%-3d changed=%-3d failed=%d" % (host, counts["ok"], counts["changed"], counts["failed"]))
    return recap, demo_lines(output)


def demo_lines(output):
    """The "DEMO ..." strings of the verify playbook's last task (JSON-quoted in the output)."""
    return [json.loads('"%s"' % match.group(1))[len("DEMO "):]
            for match in re.finditer(r'"(DEMO (?:[^"\\]|\\.)*)"', output)]


def report_audit(state_dir):
    """What the emulator saw: each host used a certificate of its own on the data plane."""
    try:
        with open(os.path.join(state_dir, "audit.jsonl"), encoding="utf-8") as handle:
            entries = [json.loads(line) for line in handle if line.strip()]
    except (OSError, ValueError):
        return
    data = [e for e in entries if e.get("plane") == "data"]
    identities = {e.get("identity") for e in data if e.get("identity")}
    refused = [e for e in data if (e.get("status") or 500) >= 400]
    say("emulator audit log: %d data-plane calls by %d distinct client certificates, %d refused"
        % (len(data), len(identities), len(refused)))


def demo(work_dir, collections_root, log_path):
    step("Starting the local OKMS emulator")
    state_dir = os.path.join(work_dir, "emulator")
    with running_emulator(state_dir, extra_args=["--credential-ready-delay", "1",
                                                 "--order-delivery-delay", "1"]) as conn:
        say("control plane  %s" % conn["endpoint"])
        say("data plane     %s (mutual TLS)" % conn["data_endpoint"])
        inventory = os.path.join(work_dir, "hosts.yml")
        write_inventory(inventory, work_dir, conn)
        say("inventory      %s and demo/inventory/group_vars/all.yml" % inventory)
        say("ansible log    %s" % log_path)
        env = dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH=collections_root,
            # What an AWX credential of the "OVHcloud API" type injects (here an OAuth2 service account).
            OVH_ENDPOINT=conn["endpoint"],
            OVH_CLIENT_ID=conn["client_id"],
            OVH_CLIENT_SECRET=conn["client_secret"],
        )
        for name in ("OVH_APPLICATION_KEY", "OVH_APPLICATION_SECRET", "OVH_CONSUMER_KEY"):
            env.pop(name, None)
        args = ["-i", os.path.join(REPO, "demo", "inventory"), "-i", inventory,
                "ovhcloud.kms.bootstrap", os.path.join(REPO, "demo", "verify.yml")]

        step("ansible-playbook ovhcloud.kms.bootstrap demo/verify.yml: KMS demo-kms, keys demo-oct, demo-rsa, "
             "demo-ec, secret demo/app/db, a certificate on each of %d hosts" % len(HOSTS))
        _recap, lines = playbook(args, env, log_path, "first run")

        step("The secret read back by the lookup; on each host: the deployed files, a message encrypted and "
             "decrypted, the secret file written and a release signed over mTLS, and a KMIP round trip, all with its own "
             "certificate")
        if len(lines) != LINES_PER_PLAY + LINES_PER_HOST * len(HOSTS):
            raise DemoError("demo/verify.yml printed %d summary lines, not %d"
                            % (len(lines), LINES_PER_PLAY + LINES_PER_HOST * len(HOSTS)))
        for line in lines:
            say(line)
        report_audit(state_dir)

        step("The same command again: nothing may change")
        recap, lines = playbook(args, env, log_path, "second run")
        changed = sorted(host for host, counts in recap.items() if counts["changed"])
        if changed:
            raise DemoError("the second run changed something on %s" % ", ".join(changed))
        say("changed=0 on every host (the secret files and signatures are kept), and every host still encrypts, "
            "decrypts and verifies")

        step("Stopping the emulator")
    say("done. The hosts' files are in %s/hosts/, the emulator's state in %s" % (work_dir, state_dir))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work-dir", required=True, help="emulator state, inventory, hosts and log (emptied first)")
    parser.add_argument("--collections-root", required=True, help="the directory holding ansible_collections/")
    args = parser.parse_args()
    work_dir = os.path.abspath(args.work_dir)
    if os.path.isdir(work_dir):
        shutil.rmtree(work_dir)
    os.makedirs(work_dir)
    log_path = os.path.join(work_dir, "ansible.log")
    try:
        demo(work_dir, os.path.abspath(args.collections_root), log_path)
    except (PlaybookFailed, DemoError, OSError, RuntimeError) as exc:
        print("\nFAILED: %s" % exc, file=sys.stderr)
        lines = log_tail(log_path)
        if lines:
            print("--- last lines of %s:" % log_path, file=sys.stderr)
            for line in lines:
                print("   " + line, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
