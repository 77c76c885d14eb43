"""Start and stop the local OKMS emulator around a test run or the demo."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time


@contextlib.contextmanager
def running_emulator(state_dir, fresh=True, extra_args=(), startup_timeout=30):
    """Yield the emulator's connection.json (as a dict) while it runs; stop it afterwards."""
    if fresh and os.path.isdir(state_dir):
        shutil.rmtree(state_dir)
    os.makedirs(state_dir, exist_ok=True)
    connection_path = os.path.join(state_dir, "connection.json")
    if os.path.exists(connection_path):
        os.unlink(connection_path)
    log_path = os.path.join(state_dir, "emulator.log")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "okms_emulator", "serve", "--state-dir", state_dir] + list(extra_args),
            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + startup_timeout
        delay = 0.05
        while not os.path.exists(connection_path):
            if process.poll() is not None:
                raise RuntimeError("the emulator exited with status %s; see %s" % (process.returncode, log_path))
            if time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start within %ss; see %s" % (startup_timeout, log_path))
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        with open(connection_path, encoding="utf-8") as handle:
            connection = json.load(handle)
        connection["connection_path"] = connection_path
        yield connection
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
