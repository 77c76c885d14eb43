"""Run ansible-playbook with its output in a log file, and read its PLAY RECAP (demo and checks)."""

import os
import re
import subprocess
import sys

RECAP_LINE = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")

# Plain, predictable output for the log: no colours, no retry files.
QUIET_ENV = {
    "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
    "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "false",
    "ANSIBLE_NOCOLOR": "1",
    "ANSIBLE_FORCE_COLOR": "0",
    "ANSIBLE_RETRY_FILES_ENABLED": "false",
}


class PlaybookFailed(Exception):
    """ansible-playbook failed; log_path holds its output."""

    def __init__(self, message, log_path):
        super().__init__(message)
        self.log_path = log_path


def parse_recap(output):
    """{host: {ok, changed, unreachable, failed}} from the last PLAY RECAP in output."""
    recap = {}
    for line in output.split("PLAY RECAP")[-1].splitlines():
        match = RECAP_LINE.match(line.strip())
        if match:
            recap[match.group(1)] = dict(zip(("ok", "changed", "unreachable", "failed"),
                                             map(int, match.group(2, 3, 4, 5))))
    return recap


def run_playbook(args, env, log_path, title, cwd=None):
    """Run `ansible-playbook ARGS` (the one beside this Python), appending its output to log_path.

    Returns (recap, output); raises PlaybookFailed on a non-zero exit status.
    """
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook")] + list(args)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write("\n### %s\n### %s\n" % (title, " ".join(command)))
    offset = os.path.getsize(log_path)
    with open(log_path, "ab") as log:
        result = subprocess.run(command, env=dict(env, **QUIET_ENV), cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, check=False)
    with open(log_path, "rb") as log:
        log.seek(offset)
        output = log.read().decode("utf-8", "replace")
    if result.returncode != 0:
        raise PlaybookFailed("%s: ansible-playbook failed (exit status %d)" % (title, result.returncode), log_path)
    return parse_recap(output), output


def log_tail(path, count=30):
    """For a failure report: each failed task with its error line, then the last lines of the log."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    failures, task = [], None
    for line in lines:
        if line.startswith("TASK ["):
            task = line.rstrip("* ")
        elif line.startswith(("fatal:", "failed:")):
            failures += ([task] if task and task not in failures else []) + [line[:400]]
    tail = lines[-count:]
    if all(line in tail for line in failures if not line.startswith("TASK [")):
        return tail
    return ["failed tasks:"] + failures[:12] + ["..."] + tail
