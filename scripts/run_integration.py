#!/usr/bin/env python3
"""Run the collection's integration targets against a freshly started emulator.

The emulator's connection settings reach the targets two ways: as variables in
tests/integration/integration_config.yml (for playbook targets, which pass them
to the modules through module_defaults), and as OKMS_EMULATOR_CONNECTION, the
path of connection.json (for script targets).
"""

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from emulator_process import running_emulator  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--collection-dir", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("targets", nargs="*")
    args = parser.parse_args()

    with running_emulator(os.path.abspath(args.state_dir), extra_args=["--credential-ready-delay", "1"]) as conn:
        config = {"okms_emulator_%s" % k: v for k, v in conn.items()}
        config_path = os.path.join(args.collection_dir, "tests", "integration", "integration_config.yml")
        with open(config_path, "w", encoding="utf-8") as handle:
            # JSON is valid YAML; ansible-test passes these as extra variables.
            json.dump(config, handle, indent=1)
        env = dict(os.environ, OKMS_EMULATOR_CONNECTION=conn["connection_path"])
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-test"), "integration", "--local",
                   "--python", "3.11", "--color", "no", "-v"] + args.targets
        return subprocess.call(command, cwd=args.collection_dir, env=env)


if __name__ == "__main__":
    sys.exit(main())
