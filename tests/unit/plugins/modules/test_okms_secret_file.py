# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_secret_file against an in-memory KMS REST API (FakeSecrets): formats, idempotence, check and diff
modes, and failures; every outcome is searched for the secret's values.

How the client reaches the KMS (certificates, tokens, config files) is KmsDataClient's and
resolve_data_plane's, tested in tests/unit/plugins/module_utils; the module against the emulator
is the okms_secret_file integration target.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_module import OkmsDataModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_secret_api import quote_path
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import KmsApiError, OvhApiError
from ansible_collections.ovhcloud.kms.plugins.modules import okms_secret_file

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
# Values that quoting must get right, and that no outcome may show.
PASSWORD = u"sf-pass \"q\" 'a' $HOME `id` \\n \\ back\\slash\nline two \u00e9t\u00e9 #end "
DATA_V1 = {"DB_USER": "sf-user-v1-19ab", "DB_PASSWORD": "sf-pass-v1-77c2"}
DATA_V2 = {"DB_USER": "sf-user-2f3c", "DB_PASSWORD": PASSWORD, "DB_PORT": 5432, "DB_TLS": True,
           "DB_OPTIONS": {"sslmode": "verify-full", "hosts": ["a", "b"]}}
VALUES = ["sf-user-v1-19ab", "sf-pass-v1-77c2", "sf-user-2f3c", "sf-pass ", "verify-full", "line two"]


class FakeSecrets:
    """The Secret Manager of one KMS's REST API in memory, as KmsDataClient.get answers ``/v2/secret/{path}``."""

    def __init__(self):
        self.okms_id = OKMS_ID
        self.secrets = {}
        self.requests = []
        self.refused = {}  # path -> HTTP status

    def add(self, path, *versions):
        self.secrets[path] = dict((number, {"id": number, "state": "active", "data": data})
                                  for number, data in enumerate(versions, 1))

    def error(self, status, message, path):
        return KmsApiError(message, status=status, error_code=17125377, error_id="e-1", query_id="r-1",
                           method="GET", path=path)

    def get(self, path, params=None):
        self.requests.append(("GET", path, dict(params or {})))
        secret_path = next((name for name in self.secrets if path == "/v2/secret/" + quote_path(name)), None)
        if secret_path in self.refused:
            raise self.error(self.refused[secret_path], "forbidden: okms:apikms:secret/version/getData", path)
        if secret_path is None:
            raise self.error(404, "secret not found", path)
        versions = self.secrets[secret_path]
        number = int((params or {}).get("version") or max(versions))
        if number not in versions:
            raise self.error(404, "version %d not found" % number, path)
        version = dict(versions[number])
        if version["state"] != "active":
            version.pop("data")
        return {"path": secret_path, "metadata": {"currentVersion": max(versions)}, "version": version}


@pytest.fixture
def kms():
    kms = FakeSecrets()
    kms.add("app/db", DATA_V1, DATA_V2)
    return kms


@pytest.fixture
def task(run_module, kms, monkeypatch):
    """``task(check_mode=False, **options)``: one okms_secret_file task (diff on), reading app/db by default."""
    monkeypatch.setattr(OkmsDataModule, "data_client", property(lambda self: kms))

    def run(check_mode=False, **options):
        options.setdefault("path", "app/db")
        outcome = run_module(okms_secret_file, options, check_mode=check_mode, diff=True)
        text = json.dumps(outcome.result, sort_keys=True, ensure_ascii=False)
        for value in VALUES:
            assert value not in text, "a value of the secret shows in %s" % text
        assert "data" not in outcome.result
        return outcome
    return run


def mode_of(path):
    return os.stat(str(path)).st_mode & 0o7777


def ok(outcome):
    assert not outcome.failed, outcome.result
    return outcome.result


def failure(outcome):
    assert outcome.failed, outcome.result
    return outcome.result["msg"]


# --- formats ------------------------------------------------------------------------------------

def test_json_by_default_sorted_and_indented_with_a_newline(task, kms, tmp_path):
    dest = tmp_path / "db.json"
    result = ok(task(dest=str(dest)))
    assert result["changed"] is True
    assert result["version"] == 2 and result["path"] == "app/db" and result["okms_id"] == OKMS_ID
    assert result["dest"] == str(dest)
    text = dest.read_text(encoding="utf-8")
    assert json.loads(text) == DATA_V2
    assert text == json.dumps(DATA_V2, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert text.splitlines()[1].startswith('  "DB_OPTIONS": {')
    assert mode_of(dest) == 0o600
    assert kms.requests == [("GET", "/v2/secret/app%2Fdb", {"includeData": "true"})]


def test_env_quotes_each_value_so_that_sh_reads_it_back_exactly(task, tmp_path):
    dest = tmp_path / "db.env"
    ok(task(dest=str(dest), format="env"))
    text = dest.read_text(encoding="utf-8")
    assert [line.split("=", 1)[0] for line in text.splitlines() if "=" in line and line[0].isupper()] == [
        "DB_OPTIONS", "DB_PASSWORD", "DB_PORT", "DB_TLS", "DB_USER"]
    assert 'DB_PORT="5432"\n' in text and 'DB_TLS="true"\n' in text
    assert 'DB_OPTIONS="{\\"hosts\\":[\\"a\\",\\"b\\"],\\"sslmode\\":\\"verify-full\\"}"\n' in text
    assert text.endswith('DB_USER="sf-user-2f3c"\n')
    # What /bin/sh reads, passed back as JSON (never printed).
    script = 'set -a; . "$1"; set +a; exec "$2" -c "import json, os; print(json.dumps(dict(os.environ)))"'
    environment = json.loads(subprocess.check_output(
        ["/bin/sh", "-c", script, "sh", str(dest), sys.executable], env={"PATH": os.environ.get("PATH", "")}))
    for name, value in DATA_V2.items():
        expected = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
        assert environment[name] == expected, name


def test_env_refuses_a_field_that_is_not_a_variable_name(task, kms, tmp_path):
    kms.add("app/names", {"db-password": "sf-pass-v1-77c2", "ok": "x"})
    message = failure(task(path="app/names", dest=str(tmp_path / "f.env"), format="env"))
    assert message == ("format=env: the field 'db-password' of version 1 of secret 'app/names' of KMS %s is not a "
                       "valid environment variable name ([A-Za-z_][A-Za-z0-9_]*); use template to name the "
                       "variables" % OKMS_ID)
    assert not (tmp_path / "f.env").exists()


def test_env_refuses_a_nul_character(task, kms, tmp_path):
    kms.add("app/nul", {"TOKEN": u"sf-user-v1-19ab\u0000tail"})
    message = failure(task(path="app/nul", dest=str(tmp_path / "f.env"), format="env"))
    assert "the value of the field 'TOKEN' of version 1 of secret 'app/nul'" in message
    assert "NUL character" in message


def test_raw_writes_one_value_as_is_and_other_types_as_json(task, tmp_path):
    ok(task(dest=str(tmp_path / "password"), format="raw", field="DB_PASSWORD"))
    assert (tmp_path / "password").read_text(encoding="utf-8") == PASSWORD
    ok(task(dest=str(tmp_path / "port"), format="raw", field="DB_PORT"))
    assert (tmp_path / "port").read_bytes() == b"5432"
    ok(task(dest=str(tmp_path / "options"), format="raw", field="DB_OPTIONS"))
    assert (tmp_path / "options").read_bytes() == b'{"hosts":["a","b"],"sslmode":"verify-full"}'


def test_raw_with_a_missing_field_names_it_and_the_fields(task, tmp_path):
    message = failure(task(dest=str(tmp_path / "password"), format="raw", field="DB_PASS"))
    assert message == ("field: version 2 of secret 'app/db' of KMS %s has no field 'DB_PASS'; its fields are: "
                       "DB_OPTIONS, DB_PASSWORD, DB_PORT, DB_TLS, DB_USER" % OKMS_ID)
    assert not (tmp_path / "password").exists()


def test_template_substitutes_fields_on_the_host(task, kms, tmp_path):
    kms.add("app/api", {"api-key": "sf-user-v1-19ab", "port": 8443})
    dest = tmp_path / "app.ini"
    template = "key = ${api-key}\nport=$port\nprice = $$5 ${port}0\n"
    ok(task(path="app/api", dest=str(dest), template=template))
    assert dest.read_text() == "key = sf-user-v1-19ab\nport=8443\nprice = $5 84430\n"


def test_template_with_a_missing_field_names_the_placeholder_and_the_fields(task, tmp_path):
    message = failure(task(dest=str(tmp_path / "app.ini"), template="user=${DB_USER}\npass=${DB_PASS}\n"))
    assert message == ("template: version 2 of secret 'app/db' of KMS %s has no field 'DB_PASS' (placeholder "
                       "${DB_PASS}); its fields are: DB_OPTIONS, DB_PASSWORD, DB_PORT, DB_TLS, DB_USER" % OKMS_ID)


# --- idempotence, check mode, attributes, diff ------------------------------------------------

def test_check_run_check_run(task, kms, tmp_path):
    dest = tmp_path / "db.env"
    args = dict(dest=str(dest), format="env", mode="0640")
    check = ok(task(check_mode=True, **args))
    assert check["changed"] is True and check["version"] == 2
    assert not dest.exists() and os.listdir(str(tmp_path)) == []
    assert check["diff"]["before"] == ""
    assert check["diff"]["after"].startswith("<version 2 of secret 'app/db' of KMS %s, as env: hidden>\nmode 0640, "
                                             % OKMS_ID)

    first = ok(task(**args))
    assert first["changed"] is True and mode_of(dest) == 0o640
    written = dest.read_bytes()
    inode = os.stat(str(dest)).st_ino
    for check_mode in (True, False):
        again = ok(task(check_mode=check_mode, **args))
        assert again["changed"] is False, again
        assert again["diff"]["before"] == again["diff"]["after"]
        assert again["diff"]["before"].startswith("<content of %s: hidden (secret)>\nmode 0640, owner " % dest)
    assert dest.read_bytes() == written and os.stat(str(dest)).st_ino == inode
    assert sorted(os.listdir(str(tmp_path))) == ["db.env"]  # no temporary file left
    assert set(method for method, path, params in kms.requests) == {"GET"}


def test_a_new_version_rewrites_the_file_and_a_pinned_version_does_not(task, kms, tmp_path):
    current, pinned = tmp_path / "current.json", tmp_path / "pinned.json"
    ok(task(dest=str(current)))
    first = ok(task(dest=str(pinned), version=1))
    assert first["version"] == 1 and json.loads(pinned.read_text()) == DATA_V1
    assert kms.requests[-1][2] == {"includeData": "true", "version": 1}
    kms.secrets["app/db"][3] = {"id": 3, "state": "active", "data": dict(DATA_V2, DB_USER="sf-user-v1-19ab")}
    moved = ok(task(dest=str(current)))
    assert moved["changed"] is True and moved["version"] == 3
    assert moved["diff"]["before"].startswith("<content of %s: hidden (secret)>\n" % current)
    assert moved["diff"]["after"].startswith("<version 3 of secret 'app/db' of KMS %s, as json: hidden>\n" % OKMS_ID)
    assert ok(task(dest=str(pinned), version=1))["changed"] is False


def test_only_the_mode_differs_the_file_is_not_rewritten(task, tmp_path):
    dest = tmp_path / "db.json"
    ok(task(dest=str(dest)))
    inode = os.stat(str(dest)).st_ino
    check = ok(task(check_mode=True, dest=str(dest), mode="u=rw,g=r,o="))
    assert check["changed"] is True and mode_of(dest) == 0o600
    assert check["diff"]["before"].splitlines()[0] == check["diff"]["after"].splitlines()[0]
    assert check["diff"]["before"].splitlines()[1].startswith("mode 0600, ")
    assert check["diff"]["after"].splitlines()[1].startswith("mode 0640, ")
    run = ok(task(dest=str(dest), mode="u=rw,g=r,o="))
    assert run["changed"] is True and mode_of(dest) == 0o640 and os.stat(str(dest)).st_ino == inode


def test_a_file_that_differs_is_replaced_with_a_private_one(task, tmp_path):
    dest = tmp_path / "db.json"
    dest.write_text("old\n")
    os.chmod(str(dest), 0o644)
    result = ok(task(dest=str(dest)))
    assert result["changed"] is True
    assert json.loads(dest.read_text()) == DATA_V2 and mode_of(dest) == 0o600


# --- failures ----------------------------------------------------------------------------------

def test_a_missing_secret_names_its_path(task, tmp_path):
    outcome = task(path="app/none", dest=str(tmp_path / "f"))
    assert failure(outcome) == "secret 'app/none' of KMS %s does not exist" % OKMS_ID
    assert outcome.result["api_error"]["status"] == 404
    assert not (tmp_path / "f").exists()


def test_a_missing_version_says_so(task, tmp_path):
    message = failure(task(version=7, dest=str(tmp_path / "f")))
    assert message.startswith("version 7 of secret 'app/db' of KMS %s does not exist (never written" % OKMS_ID)


def test_a_refusal_names_the_path_and_keeps_the_kms_answer(task, kms, tmp_path):
    kms.refused["app/db"] = 403
    outcome = task(dest=str(tmp_path / "f"), check_mode=True)
    message = failure(outcome)
    assert message.startswith("the KMS refused to let this identity read secret 'app/db' of KMS %s: " % OKMS_ID)
    assert "HTTP 403" in message and "forbidden: okms:apikms:secret/version/getData" in message
    assert outcome.result["api_error"]["status"] == 403 and outcome.result["api_error"]["error_id"] == "e-1"


def test_a_certificate_the_tls_handshake_refuses_names_the_secret(task, kms, tmp_path, monkeypatch):
    """An expired certificate fails the TLS handshake: no HTTP status, the transport's reason."""
    def handshake_refused(path, params=None):
        raise OvhApiError("TLS handshake with the KMS failed: certificate expired", method="GET", path=path)

    monkeypatch.setattr(kms, "get", handshake_refused)
    outcome = task(dest=str(tmp_path / "f"))
    assert failure(outcome) == ("cannot read secret 'app/db' of KMS %s: GET /v2/secret/app%%2Fdb: TLS handshake with "
                                "the KMS failed: certificate expired" % OKMS_ID)
    assert outcome.result["api_error"]["status"] is None
    assert not (tmp_path / "f").exists()


def test_a_deactivated_version_cannot_be_written(task, kms, tmp_path):
    kms.secrets["app/db"][2]["state"] = "deactivated"
    message = failure(task(dest=str(tmp_path / "f")))
    assert message == ("version 2 of secret 'app/db' of KMS %s is deactivated: its data cannot be read until it is "
                       "reactivated" % OKMS_ID)


@pytest.mark.parametrize("options, message", [
    (dict(format="json", field="DB_USER"),
     "field is only used with format=raw (got format=json): to put some fields of the secret in a file of your own, "
     "use template"),
    (dict(field="DB_USER"), "field is only used with format=raw (got format=json)"),
    (dict(template="${DB_USER}", field="DB_USER"), "field is only used with format=raw (got template)"),
    (dict(format="raw"), "format is raw but all of the following are missing: field"),
    (dict(format="env", template="x"), "parameters are mutually exclusive: format|template"),
    (dict(format="yaml"), "value of format must be one of: json, env, raw, got: yaml"),
    (dict(version=0), "version must be a version number, from 1, got 0"),
    (dict(path="app/db password"), 'path "app/db password" holds " ": only the characters'),
    (dict(template="user=${DB_USER}\ncost=$5\n"),
     "template: the $ at line 2, column 6 is not followed by a field name: write ${name} (or $name) for the field "
     "name, and $$ for a $ of the text"),
    (dict(template="${}"), "template: the $ at line 1, column 1 is not followed by a field name"),
    (dict(mode="rw-all"), "mode 'rw-all' is not a file mode"),
    (dict(owner="no-such-user-sf"), "owner no-such-user-sf is not a user of this host"),
    (dict(group="no-such-group-sf"), "group no-such-group-sf is not a group of this host"),
    (dict(dest="{tmp}/missing/db.json"), "dest {tmp}/missing/db.json cannot be written: directory {tmp}/missing "
                                         "does not exist"),
    (dict(dest="{tmp}"), "dest {tmp} is a directory: give the path of a file"),
])
def test_a_bad_option_fails_naming_it_before_any_request(task, kms, tmp_path, options, message):
    options = dict((name, value.replace("{tmp}", str(tmp_path)) if name == "dest" else value)
                   for name, value in options.items())
    options.setdefault("dest", str(tmp_path / "db.json"))
    assert failure(task(**options)).startswith(message.replace("{tmp}", str(tmp_path)))
    assert kms.requests == []
    assert not (tmp_path / "db.json").exists()


def test_in_check_mode_a_missing_directory_is_not_an_error(task, tmp_path):
    result = ok(task(check_mode=True, dest=str(tmp_path / "later" / "db.json")))
    assert result["changed"] is True and not (tmp_path / "later").exists()


def test_an_unreadable_config_file_names_the_option(run_module, tmp_path):
    outcome = run_module(okms_secret_file, dict(path="app/db", dest=str(tmp_path / "f"), config_file=str(tmp_path)))
    assert outcome.failed
    assert outcome.result["msg"] == "KMS REST API configuration: config_file: cannot read %s: Is a directory" % tmp_path
    assert not (tmp_path / "f").exists()
