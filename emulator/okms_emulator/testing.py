"""Run the emulator around tests: ``with running_emulator() as conn: ...``.

Used by the emulator's own tests, the repository's scripts, and meant for
users' CI (see README, "Use it from your own CI"). The emulator runs as a
real ``python -m okms_emulator serve`` subprocess, exactly as from a shell.
"""

import contextlib
import json
import os
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time

# Files whose presence shows a directory is an emulator state directory (safe to empty).
_STATE_MARKERS = ("state.json", "connection.json", "server-ca.pem", "emulator.log")
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _child_env():
    # The child must run this very package, also from a source checkout that is
    # not installed; an installed copy needs nothing (and site-packages must not
    # be put ahead of the standard library).
    env = dict(os.environ)
    installed = {os.path.abspath(p) for p in site.getsitepackages() + [site.getusersitepackages()]}
    if _PACKAGE_ROOT not in installed:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    return env


def _empty_state_dir(state_dir):
    if not os.path.isdir(state_dir) or not os.listdir(state_dir):
        return
    if not any(os.path.exists(os.path.join(state_dir, name)) for name in _STATE_MARKERS):
        raise RuntimeError("%s is not empty and holds no emulator state: refusing to empty it "
                           "(pass another state_dir, or fresh=False to use it as it is)" % state_dir)
    shutil.rmtree(state_dir)


def _log_tail(log_path, lines=20):
    try:
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:]).strip()
    except OSError:
        return ""


def _failure(message, log_path):
    tail = _log_tail(log_path)
    return RuntimeError("%s (log: %s)%s" % (message, log_path, ":\n" + tail if tail else ""))


def _read_connection(path, pid):
    """connection.json written by process ``pid``, or None (absent, stale or half-read)."""
    try:
        with open(path, encoding="utf-8") as handle:
            connection = json.load(handle)
    except (OSError, ValueError):
        return None
    return connection if connection.get("pid") == pid else None


def _stop(process, stop_timeout):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return "did not stop within %ss of SIGTERM and was killed" % stop_timeout
    if process.returncode != 0:
        return "exited with status %s" % process.returncode
    return None


@contextlib.contextmanager
def running_emulator(state_dir=None, extra_args=(), fresh=True, startup_timeout=30, log_path=None,
                     stop_timeout=15):
    """Start ``python -m okms_emulator serve``, yield its connection settings, stop it.

    state_dir: where the emulator keeps its state; None uses a temporary
      directory, removed afterwards.
    extra_args: more ``serve`` options, e.g. ``["--credential-ready-delay", "0.5"]``.
    fresh: start from an empty state (an existing emulator state directory is
      emptied; any other non-empty directory is refused). False reuses the state
      of a previous run: keys, KMSs, credentials and the server CA survive.
    log_path: the emulator's stdout and stderr (default: ``emulator.log`` in the
      state directory).

    Yields the content of ``connection.json`` (endpoint, ca_path, credentials,
    data_endpoint, audit_log, pid...) plus ``connection_path``. On leaving, the
    emulator gets SIGTERM (and is killed after ``stop_timeout`` seconds); a
    RuntimeError is raised if it did not exit cleanly with status 0, unless the
    block itself raised.
    """
    temporary = state_dir is None
    if temporary:
        state_dir = tempfile.mkdtemp(prefix="okms-emulator-")
    state_dir = os.path.abspath(state_dir)
    try:
        if fresh and not temporary:
            _empty_state_dir(state_dir)
        os.makedirs(state_dir, exist_ok=True)
        log_path = os.path.abspath(log_path or os.path.join(state_dir, "emulator.log"))
        connection_path = os.path.join(state_dir, "connection.json")
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "okms_emulator", "serve", "--state-dir", state_dir, *extra_args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=_child_env())
        try:
            connection = _wait_for_connection(process, connection_path, startup_timeout, log_path)
            yield dict(connection, connection_path=connection_path)
        except BaseException:
            _stop(process, stop_timeout)
            raise
        problem = _stop(process, stop_timeout)
        if problem:
            raise _failure("the emulator " + problem, log_path)
    finally:
        if temporary:
            shutil.rmtree(state_dir, ignore_errors=True)


def _wait_for_connection(process, connection_path, startup_timeout, log_path):
    deadline = time.monotonic() + startup_timeout
    delay = 0.02
    while True:
        # A connection.json left by an earlier process is ignored: the pid tells.
        connection = _read_connection(connection_path, process.pid)
        if connection is not None:
            return connection
        if process.poll() is not None:
            raise _failure("the emulator exited with status %s before it was ready" % process.returncode,
                           log_path)
        if time.monotonic() > deadline:
            raise _failure("the emulator was not ready within %ss" % startup_timeout, log_path)
        time.sleep(delay)
        delay = min(delay * 2, 0.25)
