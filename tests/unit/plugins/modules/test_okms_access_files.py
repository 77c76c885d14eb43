# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_access_files: one run writes a host's public access files, atomically, only what differs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.ovhcloud.kms.plugins.modules import okms_access_files
from ansible_collections.ovhcloud.kms.tests.unit.module_harness import module_args

CERT = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n"
CA = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n"
CONFIG = "version: 1\nprofile: default\n"
FILES = {"client.cert": CERT, "ca.pem": CA, "okms.yaml": CONFIG}


def mode_of(path):
    return os.stat(str(path)).st_mode & 0o7777


def test_writes_the_files_once_then_reports_no_change(run_module, tmp_path):
    directory = tmp_path / "etc" / "okms"
    args = dict(path=str(directory), files=FILES, directory_mode="0750")

    check = run_module(okms_access_files, args, check_mode=True, diff=True)
    assert not check.failed, check.result
    assert check.result["changed"] is True
    assert all(entry["changed"] for entry in check.result["files"].values())
    assert not directory.exists() and not (tmp_path / "etc").exists()

    first = run_module(okms_access_files, args, diff=True)
    assert not first.failed, first.result
    assert first.result["changed"] is True
    assert first.result["files"] == dict((name, {"path": str(directory / name), "changed": True}) for name in FILES)
    assert mode_of(directory) == 0o750
    for name, content in FILES.items():
        assert (directory / name).read_text() == content
        assert mode_of(directory / name) == 0o644
    assert sorted(os.listdir(str(directory))) == sorted(FILES)  # no temporary file left

    for check_mode in (True, False):
        again = run_module(okms_access_files, args, check_mode=check_mode, diff=True)
        assert again.result["changed"] is False, again.result
        assert not any(entry["changed"] for entry in again.result["files"].values())
        assert again.result["diff"] == []


def test_only_the_file_that_differs_is_rewritten(run_module, tmp_path):
    run_module(okms_access_files, dict(path=str(tmp_path), files=FILES))
    kept = os.stat(str(tmp_path / "ca.pem")).st_ino
    rewritten = os.stat(str(tmp_path / "client.cert")).st_ino
    new_cert = CERT.replace("cert", "renewed")

    outcome = run_module(okms_access_files, dict(path=str(tmp_path), files=dict(FILES, **{"client.cert": new_cert})),
                         diff=True)
    assert outcome.result["changed"] is True
    assert outcome.result["files"]["client.cert"]["changed"] is True
    assert outcome.result["files"]["ca.pem"]["changed"] is False
    assert outcome.result["files"]["okms.yaml"]["changed"] is False
    assert os.stat(str(tmp_path / "ca.pem")).st_ino == kept
    # Replaced by a rename, not written in place: a reader never sees half a certificate.
    assert os.stat(str(tmp_path / "client.cert")).st_ino != rewritten
    assert (tmp_path / "client.cert").read_text() == new_cert
    [diff] = outcome.result["diff"]
    assert diff["before_header"] == str(tmp_path / "client.cert")
    assert diff["before"].endswith(CERT) and diff["after"].endswith(new_cert)


def test_a_mode_change_only_sets_the_mode(run_module, tmp_path):
    run_module(okms_access_files, dict(path=str(tmp_path), files=FILES))
    inode = os.stat(str(tmp_path / "ca.pem")).st_ino
    args = dict(path=str(tmp_path), files=FILES, mode="0640")

    check = run_module(okms_access_files, args, check_mode=True, diff=True)
    assert check.result["changed"] is True
    assert mode_of(tmp_path / "ca.pem") == 0o644
    assert len(check.result["diff"]) == 3
    assert "# mode 0644" in check.result["diff"][0]["before"] and "# mode 0640" in check.result["diff"][0]["after"]

    outcome = run_module(okms_access_files, args, diff=True)
    assert outcome.result["changed"] is True
    for name in FILES:
        assert mode_of(tmp_path / name) == 0o640
    assert os.stat(str(tmp_path / "ca.pem")).st_ino == inode
    assert "# mode 0640" in outcome.result["diff"][0]["after"]
    assert run_module(okms_access_files, args).result["changed"] is False


def test_symbolic_modes(run_module, tmp_path):
    args = dict(path=str(tmp_path / "d"), files={"ca.pem": CA}, mode="u=rw,g=r,o=", directory_mode="u=rwx,g=rx,o=")
    assert run_module(okms_access_files, args, check_mode=True, diff=True).result["changed"] is True
    assert run_module(okms_access_files, args).result["changed"] is True
    assert mode_of(tmp_path / "d") == 0o750 and mode_of(tmp_path / "d" / "ca.pem") == 0o640
    assert run_module(okms_access_files, args).result["changed"] is False


def test_directory_mode_of_an_existing_directory(run_module, tmp_path):
    directory = tmp_path / "okms"
    directory.mkdir(mode=0o755)
    os.chmod(str(directory), 0o755)
    args = dict(path=str(directory), files={}, directory_mode="0700")
    check = run_module(okms_access_files, args, check_mode=True, diff=True)
    assert check.result["changed"] is True and mode_of(directory) == 0o755
    assert check.result["diff"][0]["after"] == "directory mode: 0700\n"
    assert run_module(okms_access_files, args).result["changed"] is True
    assert mode_of(directory) == 0o700
    assert run_module(okms_access_files, args).result["changed"] is False
    # Without directory_mode an existing directory keeps its mode.
    assert run_module(okms_access_files, dict(path=str(directory), files={})).result["changed"] is False


@pytest.mark.parametrize("name", ["", ".", "..", "../ca.pem", "sub/ca.pem", "/etc/passwd"])
def test_a_name_that_is_not_a_plain_file_name_is_refused(run_module, tmp_path, name):
    outcome = run_module(okms_access_files, dict(path=str(tmp_path / "d"), files={"ca.pem": CA, name: CA}))
    assert outcome.failed
    assert outcome.result["msg"].startswith("files: %r is not a file name" % name)
    assert outcome.result["changed"] is False
    assert not (tmp_path / "d").exists()  # refused before anything is written


@pytest.mark.parametrize("marker", ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"])
def test_a_private_key_is_refused_without_showing_it(run_module, tmp_path, marker):
    key = "-----BEGIN %s-----\nMIGHAgEAsecretmaterial\n-----END %s-----\n" % (marker, marker)
    outcome = run_module(okms_access_files, dict(path=str(tmp_path), files={"ca.pem": CA, "domain.key": key}),
                         diff=True)
    assert outcome.failed
    assert "domain.key holds a private key" in outcome.result["msg"]
    assert "secretmaterial" not in repr(outcome.result)
    assert os.listdir(str(tmp_path)) == []


def test_content_must_be_a_string(run_module, tmp_path):
    outcome = run_module(okms_access_files, dict(path=str(tmp_path), files={"ca.pem": None}))
    assert outcome.failed and "files: the content of ca.pem must be a string" in outcome.result["msg"]


def test_bad_mode_and_unknown_owner_name_the_option(run_module, tmp_path):
    outcome = run_module(okms_access_files, dict(path=str(tmp_path / "d"), files={"ca.pem": CA}, mode="0999"))
    assert outcome.failed and outcome.result["msg"].startswith("mode '0999' is not a file mode")
    outcome = run_module(okms_access_files, dict(path=str(tmp_path / "d"), files={"ca.pem": CA},
                                                 directory_mode="rwx"))
    assert outcome.failed and outcome.result["msg"].startswith("directory_mode 'rwx' is not a file mode")
    outcome = run_module(okms_access_files, dict(path=str(tmp_path / "d"), files={"ca.pem": CA},
                                                 owner="no-such-user-okms"))
    assert outcome.failed and outcome.result["msg"] == "owner no-such-user-okms is not a user of this host"
    assert not (tmp_path / "d").exists()


def test_a_path_that_is_a_file_is_refused(run_module, tmp_path):
    (tmp_path / "okms").write_text("x")
    outcome = run_module(okms_access_files, dict(path=str(tmp_path / "okms"), files={"ca.pem": CA}))
    assert outcome.failed and outcome.result["msg"] == "path %s exists and is not a directory" % (tmp_path / "okms")


def test_a_file_name_that_is_a_directory_is_refused(run_module, tmp_path):
    (tmp_path / "ca.pem").mkdir()
    outcome = run_module(okms_access_files, dict(path=str(tmp_path), files={"client.cert": CERT, "ca.pem": CA}))
    assert outcome.failed and outcome.result["msg"].startswith("files %s is a directory" % (tmp_path / "ca.pem"))
    assert not (tmp_path / "client.cert").exists()  # checked before the first write


def test_an_abandoned_temporary_file_is_removed(run_module, tmp_path):
    # A writer killed before its rename: its process id no longer runs.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    abandoned = tmp_path / (".ca.pem.%d.abcd1234.tmp" % dead.pid)
    abandoned.write_text("half a CA")
    outcome = run_module(okms_access_files, dict(path=str(tmp_path), files={"ca.pem": CA}))
    assert outcome.result["changed"] is True
    assert sorted(os.listdir(str(tmp_path))) == ["ca.pem"]


def test_owner_and_group_are_applied(run_module, tmp_path):
    uid, gid = os.geteuid(), os.getegid()
    args = dict(path=str(tmp_path / "d"), files={"ca.pem": CA}, owner=str(uid), group=str(gid))
    assert run_module(okms_access_files, args).result["changed"] is True
    status = os.stat(str(tmp_path / "d" / "ca.pem"))
    assert (status.st_uid, status.st_gid) == (uid, gid)
    assert run_module(okms_access_files, args, check_mode=True).result["changed"] is False


def test_a_private_key_never_shows_in_the_answer_even_when_another_error_comes_first(capsys, tmp_path):
    key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAsecretmaterial\n-----END PRIVATE KEY-----\n"
    # '../a' sorts before 'z.key': its error is the one reported. The real fail_json: the answer as Ansible gets it.
    with module_args({"path": str(tmp_path), "files": {"../a": CA, "z.key": key}}):
        with pytest.raises(SystemExit):
            okms_access_files.main()
    answer = json.loads(capsys.readouterr().out)
    assert answer["failed"] and answer["msg"].startswith("files: '../a' is not a file name")
    assert answer["invocation"]["module_args"]["files"]["../a"] == CA
    assert "secretmaterial" not in json.dumps(answer)
