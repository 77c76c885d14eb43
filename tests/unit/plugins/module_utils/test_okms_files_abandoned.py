# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run killed while it wrote a key leaves no temporary file behind once the file is written again (issue 11:
"a run killed with SIGKILL, then re-run: no partial or temp file")."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_files import ensure_file
from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.test_okms_module import make_module

# Writes a file with ensure_file, but stops for good just before renaming the temporary file into place.
KILLED_WRITER = textwrap.dedent("""
    import os, sys, time
    from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_files import ensure_file

    class Module:
        check_mode = False

    def rename_never(source, destination):
        open(sys.argv[2], "w").close()
        time.sleep(120)

    os.rename = rename_never
    ensure_file(Module(), sys.argv[1], b"NEW KEY", "0600")
""")


@pytest.fixture
def module():
    return make_module(dict(endpoint="ovh-eu", client_id="c", client_secret="s"))


@pytest.fixture
def check_module():
    return make_module(dict(endpoint="ovh-eu", client_id="c", client_secret="s", _ansible_check_mode=True))


def temporary_files(directory):
    return sorted(name for name in os.listdir(str(directory)) if name.endswith(".tmp"))


def dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def killed_while_writing(path, tmp_path):
    """Run KILLED_WRITER on ``path`` and SIGKILL it between writing its temporary file and renaming it."""
    ready = str(tmp_path / "ready")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    process = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, path, ready], env=env)
    deadline = time.monotonic() + 30
    while not os.path.exists(ready) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert os.path.exists(ready), "the writer did not reach the rename"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return process.pid


def test_the_temporary_file_of_a_killed_write_is_removed_by_the_next_write(module, tmp_path):
    directory = tmp_path / "okms"
    directory.mkdir()
    path = str(directory / "domain.key")
    pid = killed_while_writing(path, tmp_path)
    left = temporary_files(directory)
    assert len(left) == 1 and left[0].startswith(".domain.key.%d." % pid)
    assert not os.path.exists(path)

    assert ensure_file(module, path, b"NEW KEY", "0600").changed
    assert temporary_files(directory) == []
    assert open(path, "rb").read() == b"NEW KEY"


def test_an_unchanged_file_still_sweeps_what_a_killed_writer_left(module, tmp_path):
    path = str(tmp_path / "client.cert")
    ensure_file(module, path, b"CERT", "0644")
    abandoned = tmp_path / (".client.cert.%d.abc123.tmp" % dead_pid())
    abandoned.write_bytes(b"CE")
    assert not ensure_file(module, path, b"CERT", "0644").changed
    assert temporary_files(tmp_path) == []


def test_a_running_writers_temporary_file_and_other_files_are_kept(module, tmp_path):
    path = str(tmp_path / "domain.key")
    running = tmp_path / (".domain.key.%d.abc123.tmp" % os.getppid())
    others = [tmp_path / (".client.cert.%d.abc123.tmp" % dead_pid()), tmp_path / ".domain.key.abc123.tmp",
              tmp_path / "domain.key.pending"]
    for other in [running] + others:
        other.write_bytes(b"x")
    ensure_file(module, path, b"KEY", "0600")
    expected = [os.path.basename(path), running.name] + [other.name for other in others]
    assert sorted(os.listdir(str(tmp_path))) == sorted(expected)


def test_check_mode_removes_nothing(check_module, tmp_path):
    path = str(tmp_path / "domain.key")
    abandoned = tmp_path / (".domain.key.%d.abc123.tmp" % dead_pid())
    abandoned.write_bytes(b"x")
    ensure_file(check_module, path, b"KEY", "0600")
    assert temporary_files(tmp_path) == [abandoned.name]
