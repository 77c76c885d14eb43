#!/usr/bin/env python3
"""Check the release artefact: the tarball `ansible-galaxy collection build` makes.

Builds it from the source tree (so galaxy.yml's build_ignore is what is
tested), checks what it holds and what it leaves out, installs it into an
empty directory, and runs `ansible-playbook ovhcloud.kms.bootstrap` (plus
demo/verify.yml) against a fresh emulator with ANSIBLE_COLLECTIONS_PATH set
to that directory only, so nothing from the source tree can be used. The
second run must report changed=0.

Here the API settings reach the role as okms_api_* variables (the demo uses
the OVH_* environment variables instead, so both ways are exercised).
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time

from okms_emulator.testing import running_emulator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from playbook_run import PlaybookFailed, log_tail, run_playbook  # noqa: E402

HOSTS = ("node1", "node2")
# Not collection content (galaxy.yml build_ignore): none of it may be shipped.
EXCLUDED_PREFIXES = ("emulator/", "scripts/", "demo/", "specs/", ".ci/", "tests/output/", "build/", ".venv/", ".git/")
EXCLUDED_NAMES = ("Makefile", ".gitignore", "CONTRIBUTING.md")
# What users and ansible-builder need from the tarball.
REQUIRED = ("MANIFEST.json", "FILES.json", "README.md", "meta/runtime.yml", "meta/execution-environment.yml",
            "requirements.txt", "bindep.txt", "extensions/awx/credential_type_ovhcloud_api.yml",
            "playbooks/bootstrap.yml", "roles/okms/tasks/main.yml", "roles/okms/meta/argument_specs.yml",
            "plugins/modules/okms_instance.py", "plugins/modules/okms_credential.py")


class CheckFailed(Exception):
    pass


def say(text):
    print("   %s" % text, flush=True)


def tool(name):
    return os.path.join(os.path.dirname(sys.executable), name)


def run(command, env, log_path, cwd=None):
    """Run a command with its output in the log; fail with the log's tail on error."""
    with open(log_path, "a", encoding="utf-8") as log:
        log.write("\n### %s\n" % " ".join(command))
        log.flush()
        result = subprocess.run(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, check=False)
    if result.returncode != 0:
        raise CheckFailed("%s failed (exit status %d)" % (" ".join(command[:3]), result.returncode))


def check_tarball(tarball):
    with tarfile.open(tarball) as archive:
        names = [member.name[2:] if member.name.startswith("./") else member.name for member in archive.getmembers()]
    shipped = [n for n in names
               if n.startswith(EXCLUDED_PREFIXES) or n in EXCLUDED_NAMES or "__pycache__" in n.split("/")
               or n.endswith((".pyc", ".tar.gz"))]
    if shipped:
        raise CheckFailed("the tarball holds what build_ignore should leave out: %s" % ", ".join(sorted(shipped)[:10]))
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise CheckFailed("the tarball lacks %s" % ", ".join(missing))
    say("%s: %d files; no emulator/, scripts/, demo/, specs/, Makefile, .ci, tests/output, build/, .venv"
        % (os.path.basename(tarball), len([n for n in names if not n.endswith("/")])))


def write_inventory(path, work_dir, conn):
    hosts = {name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                    "okms_cert_dir": os.path.join(work_dir, "hosts", name, "okms"),
                    "app_dir": os.path.join(work_dir, "hosts", name, "app")} for name in HOSTS}
    for host in hosts.values():
        os.makedirs(host["app_dir"], exist_ok=True)
    variables = {
        "okms_api_endpoint": conn["endpoint"],
        "okms_api_application_key": conn["application_key"],
        "okms_api_application_secret": conn["application_secret"],
        "okms_api_consumer_key": conn["consumer_key"],
        "okms_api_ca_path": conn["ca_path"],
        "okms_instance_name": "installed-collection",
        "okms_region": "eu-west-gra",
        # demo/verify.yml encrypts with the key named demo_key_name, and signs with demo_signing_key_name.
        "okms_service_keys": [{"name": "check-oct", "type": "oct", "size": 256,
                               "operations": ["encrypt", "decrypt"]},
                              {"name": "check-ec", "type": "EC", "curve": "P-256",
                               "operations": ["sign", "verify"]}],
        "demo_key_name": "check-oct",
        "demo_signing_key_name": "check-ec",
        # demo/verify.yml reads the secret demo_secret_path back with the okms_secret lookup.
        "okms_secrets": [{"path": "check/app/db", "overwrite": False, "data": {
            "username": "demo",
            "password": "{{ lookup('ansible.builtin.password', '/dev/null', length=24, chars=['ascii_letters', 'digits']) }}"}}],
        "demo_secret_path": "check/app/db",
        # Each host writes it to app_dir/db.env with its own certificate; verify.yml checks the file.
        "okms_secret_files": [{"path": "check/app/db", "dest": "{{ app_dir }}/db.env", "format": "env"}],
        "okms_credential_identity_urns": ["urn:v1:eu:identity:account:%s" % conn["account"]],
        # The hosts' okms.yaml names the emulator's data-plane CA, deployed as rest-ca.pem.
        "okms_rest_ca_file": conn["ca_path"],
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"all": {"hosts": hosts, "vars": variables}}, handle, indent=1)  # JSON is YAML


def check(source, work_dir, log_path):
    dist = os.path.join(work_dir, "dist")
    collections = os.path.join(work_dir, "collections")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVH_", "ANSIBLE_"))}
    # Only the clean install path: not the source tree, not build/collections, not site-packages.
    env.update(ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")

    run([tool("ansible-galaxy"), "collection", "build", source, "--output-path", dist], env, log_path)
    tarballs = glob.glob(os.path.join(dist, "ovhcloud-kms-*.tar.gz"))
    if len(tarballs) != 1:
        raise CheckFailed("expected one tarball in %s, found %d" % (dist, len(tarballs)))
    check_tarball(tarballs[0])

    run([tool("ansible-galaxy"), "collection", "install", tarballs[0], "-p", collections], env, log_path,
        cwd=work_dir)
    listing = subprocess.run([tool("ansible-galaxy"), "collection", "list", "ovhcloud.kms", "--format", "json"],
                             env=env, cwd=work_dir, capture_output=True, text=True, check=False)
    try:
        locations = sorted(json.loads(listing.stdout))
    except ValueError:
        locations = []
    if locations != [os.path.join(collections, "ansible_collections")]:
        raise CheckFailed("ovhcloud.kms should be found in %s only, found in %s" % (collections, locations or "none"))
    say("installed in %s, the only collection path" % collections)

    with running_emulator(os.path.join(work_dir, "emulator"),
                          extra_args=["--credential-ready-delay", "1", "--order-delivery-delay", "1"]) as conn:
        inventory = os.path.join(work_dir, "hosts.yml")
        write_inventory(inventory, work_dir, conn)
        args = ["-i", inventory, "ovhcloud.kms.bootstrap", os.path.join(source, "demo", "verify.yml")]
        for title in ("first run", "second run"):
            started = time.monotonic()
            recap, _output = run_playbook(args, env, log_path, title, cwd=work_dir)
            if set(recap) != set(HOSTS):
                raise CheckFailed("%s: the recap lists %s, not %s" % (title, sorted(recap), list(HOSTS)))
            changed = sum(counts["changed"] for counts in recap.values())
            say("%s of ovhcloud.kms.bootstrap + demo/verify.yml: ok, changed=%d (%.0f s)"
                % (title, changed, time.monotonic() - started))
        if changed:
            raise CheckFailed("the second run changed something: %s" % recap)
        for host in HOSTS:
            key = os.path.join(work_dir, "hosts", host, "okms", "domain.key")
            if not os.path.exists(key) or os.stat(key).st_mode & 0o777 != 0o600:
                raise CheckFailed("%s is missing or not mode 0600" % key)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True, help="the collection's source tree (holds galaxy.yml)")
    parser.add_argument("--work-dir", required=True, help="tarball, install path, emulator state (emptied first)")
    args = parser.parse_args()
    work_dir = os.path.abspath(args.work_dir)
    if os.path.isdir(work_dir):
        shutil.rmtree(work_dir)
    os.makedirs(work_dir)
    log_path = os.path.join(work_dir, "check.log")
    try:
        check(os.path.abspath(args.source), work_dir, log_path)
    except (CheckFailed, PlaybookFailed, OSError, RuntimeError) as exc:
        print("FAILED: %s" % exc, file=sys.stderr)
        lines = log_tail(log_path)
        if lines:
            print("--- last lines of %s:" % log_path, file=sys.stderr)
            for line in lines:
                print("   " + line, file=sys.stderr)
        return 1
    say("the installed collection works on its own")
    return 0


if __name__ == "__main__":
    sys.exit(main())
