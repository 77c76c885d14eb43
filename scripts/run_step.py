#!/usr/bin/env python3
"""Run one `make` step with its whole output in a log file, and print one line about it.

    run_step.py [--verbose] LOG NAME COMMAND...

The line says the step's name, its result, how long it took and where its log
is. On failure the last lines of the log follow (with the failed Ansible
tasks first, when there are any). With --verbose (make V=1) the output is
shown as it comes, and still written to the log. The exit status is the
command's. Standard library only: it also runs before the virtualenv exists.
"""

import os
import signal
import subprocess
import sys
import time

TAIL_LINES = 40


def relative(path):
    """The log path as the user can paste it (relative to the current directory when below it)."""
    path = os.path.abspath(path)
    here = os.getcwd() + os.sep
    return path[len(here):] if path.startswith(here) else path


def duration(seconds):
    if seconds < 60:
        return "%.1f s" % seconds
    return "%dm%02ds" % divmod(int(round(seconds)), 60)


def failed_tasks(lines):
    """Each failed Ansible task of the log with its first error line, for a failure report."""
    found, task = [], None
    for line in lines:
        if line.startswith("TASK ["):
            task = line.rstrip("* ")
        elif line.startswith(("fatal:", "failed:")) and "...ignoring" not in line:
            if task and task not in found:
                found.append(task)
            found.append("  " + line[:300])
    return found


def tail(path, count=TAIL_LINES):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    last = lines[-count:]
    failures = [line for line in failed_tasks(lines) if line not in last]
    return (["failed tasks:"] + failures[-12:] + ["last lines:"] if failures else []) + last


def run(command, log_path, verbose):
    """Run command with its output appended to log_path (and echoed when verbose); return its status."""
    with open(log_path, "ab") as log:
        log.write(("### %s\n### started %s\n" % (" ".join(command), time.strftime("%Y-%m-%d %H:%M:%S")))
                  .encode("utf-8"))
        log.flush()
        # A process group of its own, so an interrupt stops every process the step started.
        process = subprocess.Popen(command, stdout=subprocess.PIPE if verbose else log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            if verbose:
                for chunk in iter(lambda: process.stdout.read1(65536), b""):
                    log.write(chunk)
                    log.flush()
                    sys.stdout.buffer.write(chunk)
                    sys.stdout.flush()
            return process.wait()
        except KeyboardInterrupt:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
            raise


def main(argv):
    verbose = False
    if argv and argv[0] == "--verbose":
        verbose, argv = True, argv[1:]
    if len(argv) < 3:
        sys.exit("usage: run_step.py [--verbose] LOG NAME COMMAND...")
    log_path, name, command = argv[0], argv[1], argv[2:]
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    if os.path.exists(log_path):
        os.unlink(log_path)
    started = time.monotonic()
    try:
        status = run(command, log_path, verbose)
    except KeyboardInterrupt:
        print("%-22s interrupted" % name, flush=True)
        return 130
    took = duration(time.monotonic() - started)
    if status == 0:
        print("%-22s ok      %9s   %s" % (name, took, relative(log_path)), flush=True)
        return 0
    print("%-22s FAILED  %9s   %s (exit status %d)" % (name, took, relative(log_path), status), flush=True)
    if not verbose:
        for line in tail(log_path):
            print("    " + line, file=sys.stderr)
        print("    (whole log: %s)" % relative(log_path), file=sys.stderr, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
