# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_files import (
    ensure_file,
    fingerprint,
    remove_file,
)
from ansible_collections.ovhcloud.kms.tests.unit.plugins.module_utils.test_okms_module import make_module


@pytest.fixture
def module():
    return make_module(dict(endpoint="ovh-eu", client_id="c", client_secret="s"))


@pytest.fixture
def check_module():
    return make_module(dict(endpoint="ovh-eu", client_id="c", client_secret="s", _ansible_check_mode=True))


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_key_file_is_0600_and_reported(module, tmp_path):
    path = str(tmp_path / "domain.key")
    result = ensure_file(module, path, b"KEY", "0600")
    assert result.changed
    assert open(path, "rb").read() == b"KEY"
    assert mode_of(path) == 0o600
    assert result.before == {"path": path, "state": "absent"}
    assert result.after == {"path": path, "state": "file", "fingerprint": fingerprint(b"KEY")}
    assert [n for n in os.listdir(str(tmp_path)) if n.endswith(".tmp")] == []


def test_identical_file_is_not_changed(module, tmp_path):
    path = str(tmp_path / "client.cert")
    ensure_file(module, path, "CERT", "0644")
    assert mode_of(path) == 0o644
    assert not ensure_file(module, path, "CERT", "0644").changed


def test_mode_drift_alone_is_a_change(module, tmp_path):
    path = str(tmp_path / "client.cert")
    ensure_file(module, path, "CERT", "0644")
    os.chmod(path, 0o666)
    assert ensure_file(module, path, "CERT", "0644").changed
    assert mode_of(path) == 0o644


def test_replacement_is_atomic_rename(module, tmp_path):
    path = str(tmp_path / "client.cert")
    ensure_file(module, path, "OLD", "0644")
    inode = os.stat(path).st_ino
    ensure_file(module, path, "NEW", "0644")
    assert open(path).read() == "NEW"
    assert os.stat(path).st_ino != inode


def test_check_mode_writes_nothing(check_module, tmp_path):
    path = str(tmp_path / "domain.key")
    assert ensure_file(check_module, path, b"KEY", "0600").changed
    assert not os.path.exists(path)
    assert os.listdir(str(tmp_path)) == []


def test_check_mode_reports_attribute_drift_without_fixing(module, check_module, tmp_path):
    path = str(tmp_path / "client.cert")
    ensure_file(module, path, "CERT", "0644")
    os.chmod(path, 0o600)
    assert ensure_file(check_module, path, "CERT", "0644").changed
    assert mode_of(path) == 0o600


def test_remove_file(module, check_module, tmp_path):
    path = str(tmp_path / "domain.key")
    ensure_file(module, path, b"KEY", "0600")
    assert remove_file(check_module, path).changed
    assert os.path.exists(path)
    assert remove_file(module, path).changed
    assert not os.path.exists(path)
    assert not remove_file(module, path).changed
