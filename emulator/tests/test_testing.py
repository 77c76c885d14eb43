"""okms_emulator.testing.running_emulator, and the README's "Use it from your own CI" examples, run as written."""

import json
import os
import re
import subprocess
import sys

import pytest
import requests

from okms_emulator.testing import running_emulator

from conftest import EMULATOR_DIR, FAST

README = os.path.join(EMULATOR_DIR, "README.md")


def readme_block(section, language):
    """The first ```language block under the README heading ``section``."""
    with open(README, encoding="utf-8") as handle:
        text = handle.read()
    start = text.index("\n" + section + "\n") + len(section) + 2
    found = re.compile(r"```%s\n(.*?)```" % language, re.S).search(text, start)
    assert found and not re.search(r"^#+ ", text[start:found.start()], re.M), \
        f"no {language} block under {section!r} in README.md"
    return found.group(1)


def child_env():
    # The venv's python and this checkout's package, as a user with the emulator installed has them.
    return dict(os.environ, PYTHONPATH=EMULATOR_DIR,
                PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))


def test_readme_pytest_fixture_runs_as_written(tmp_path):
    code = readme_block("### From pytest: `okms_emulator.testing.running_emulator`", "python")
    (tmp_path / "test_readme_example.py").write_text(code)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error",
                             "test_readme_example.py"], cwd=tmp_path, env=child_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b1 passed\b", result.stdout), result.stdout
    # the session's temporary state directory is gone, and so is the process
    assert not any(name.startswith("okms-emulator-") for name in os.listdir(tmp_path))


def test_readme_shell_script_runs_as_written(tmp_path):
    script = readme_block("### From a shell script", "sh")
    result = subprocess.run(["bash", "-euc", script], cwd=tmp_path, env=dict(child_env(), TMPDIR=str(tmp_path)),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+/1\.0\n", result.stdout), result.stdout
    [state] = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert (state / "state.json").exists()
    assert not (state / "connection.json").exists()  # `stop` waited for a clean exit


def test_temporary_state_is_removed_and_the_process_stopped():
    with running_emulator(extra_args=FAST) as conn:
        state_dir, pid = conn["state_dir"], conn["pid"]
        assert conn["connection_path"] == os.path.join(state_dir, "connection.json")
        with open(conn["connection_path"], encoding="utf-8") as handle:
            assert json.load(handle)["pid"] == pid
        assert requests.get(conn["endpoint"] + "/auth/time", verify=conn["ca_path"]).status_code == 200
    assert not os.path.exists(state_dir)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_stale_connection_file_is_not_taken_for_the_new_process(tmp_path):
    (tmp_path / "connection.json").write_text(json.dumps({"pid": 1, "endpoint": "https://127.0.0.1:1/1.0"}))
    with running_emulator(str(tmp_path), FAST, fresh=False) as conn:
        assert conn["pid"] != 1 and conn["endpoint"] != "https://127.0.0.1:1/1.0"
        assert requests.get(conn["endpoint"] + "/auth/time", verify=conn["ca_path"]).status_code == 200
    assert (tmp_path / "emulator.log").exists()


def test_fresh_empties_an_emulator_state_dir_only(tmp_path):
    with running_emulator(str(tmp_path), FAST) as first:
        pass
    with running_emulator(str(tmp_path), FAST) as second:
        assert second["application_key"] != first["application_key"]  # a new account: nothing was kept
    other = tmp_path / "not-a-state-dir"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    with pytest.raises(RuntimeError, match="refusing to empty it"):
        with running_emulator(str(other)):
            pass
    assert (other / "precious.txt").read_text() == "keep me"


def test_start_failure_reports_the_log(tmp_path):
    with pytest.raises(RuntimeError, match=r"(?s)exited with status 2 before it was ready.*--subsidiary"):
        with running_emulator(str(tmp_path), ["--subsidiary", "XX"]):
            pass


def test_unclean_exit_is_an_error(tmp_path):
    with pytest.raises(RuntimeError, match="exited with status -9"):
        with running_emulator(str(tmp_path), FAST) as conn:
            os.kill(conn["pid"], 9)  # dies without saving its state
