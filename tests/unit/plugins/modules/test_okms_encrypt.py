# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_encrypt's decisions, against an in-memory KMS REST API (FakeKms).

The module's main() runs the Ansible way (check mode, real run, check-mode re-run,
re-run) and FakeKms records every request, so the tests see when the module
encrypts, decrypts or only reads. Every outcome is searched for the plaintext.
How the client reaches the KMS (certificates, tokens, config files) is
KmsDataClient's and resolve_data_plane's, tested in tests/unit/plugins/module_utils;
the module against the emulator is the okms_encrypt integration target.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import uuid

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_module import OkmsDataModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import KmsApiError
from ansible_collections.ovhcloud.kms.plugins.modules import okms_encrypt

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
PLAINTEXT = u"s3cret-pass-\u00e9t\u00e9-7f3a"


def b64url(data):
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeKms:
    """The service keys of one KMS's REST API in memory, as KmsDataClient's get/post/list_all answer.

    Ciphertexts are shaped like the KMS's (JWE compact, ``kid`` in the header), but the
    payload is plain JSON with a random nonce: enough for the decisions under test.
    Decrypting needs the key that made the ciphertext and its context, as on the KMS.
    """

    def __init__(self):
        self.okms_id = OKMS_ID
        self.keys = {}
        self.requests = []
        self.refused = {}  # operation -> HTTP status to answer with

    def add_key(self, name, key_type="oct", operations=("encrypt", "decrypt"), state="active", **extra):
        key = dict(id=str(uuid.uuid4()), name=name, type=key_type, operations=list(operations),
                   attributes={"state": state}, **extra)
        if key_type == "oct":
            key.setdefault("size", 256)
        self.keys[key["id"]] = key
        return key

    def error(self, status, message, method, path):
        return KmsApiError(message, status=status, error_code=17125377, error_id="e-1", query_id="r-1",
                           method=method, path=path)

    def _key(self, key_id, method, path):
        if key_id not in self.keys:
            raise self.error(404, "service key %s not found" % key_id, method, path)
        return self.keys[key_id]

    def get(self, path, params=None):
        self.requests.append(("GET", path))
        return dict(self._key(path.split("/")[3], "GET", path))

    def list_all(self, path, items_field, params=None):
        self.requests.append(("GET", path))
        return [dict(key) for key in self.keys.values()]

    def post(self, path, body=None, params=None):
        self.requests.append(("POST", path))
        key_id, operation = path.split("/")[3:5]
        key = self._key(key_id, "POST", path)
        if operation in self.refused:
            raise self.error(self.refused[operation], "refused", "POST", path)
        if operation not in key["operations"]:
            raise self.error(400, "service key %s does not allow operation %r" % (key_id, operation), "POST", path)
        if operation == "encrypt":
            header = b64url(json.dumps({"alg": "dir", "enc": "A256GCM", "kid": key_id}).encode())
            payload = b64url(json.dumps({"p": body["plaintext"], "c": body.get("context"),
                                         "n": b64url(os.urandom(12))}).encode())
            return {"ciphertext": "%s..%s.%s.%s" % (header, b64url(os.urandom(12)), payload, b64url(os.urandom(16)))}
        parts = body["ciphertext"].split(".")
        try:
            header = json.loads(b64url_decode(parts[0]))
            payload = json.loads(b64url_decode(parts[3]))
        except (ValueError, IndexError):
            raise self.error(400, "field 'ciphertext' is not a well-formed JWE", "POST", path)
        if header.get("kid") != key_id or payload.get("c") != body.get("context"):
            raise self.error(400, "decryption failed: wrong key, altered ciphertext or different context",
                             "POST", path)
        return {"plaintext": payload["p"]}

    def operations(self):
        """The cryptographic requests made, as their last path segment."""
        return [path.rsplit("/", 1)[1] for method, path in self.requests if method == "POST"]


@pytest.fixture
def kms():
    return FakeKms()


@pytest.fixture
def key(kms):
    return kms.add_key("app-data")


@pytest.fixture
def task(run_module, kms, monkeypatch):
    """``task(check_mode=False, **options)``: one okms_encrypt task (diff on), with the key app-data by default."""
    monkeypatch.setattr(OkmsDataModule, "data_client", property(lambda self: kms))

    def run(check_mode=False, **options):
        options.setdefault("key_name", "app-data")
        if "src" not in options:
            options.setdefault("plaintext", PLAINTEXT)
        # None stands for "not given" (an explicit null counts as given for mutually_exclusive).
        options = dict((name, value) for name, value in options.items() if value is not None)
        outcome = run_module(okms_encrypt, options, check_mode=check_mode, diff=True)
        text = json.dumps(outcome.result, sort_keys=True)
        assert PLAINTEXT not in text and "s3cret-pass" not in text, "the plaintext shows in %s" % text
        return outcome
    return run


def plaintext_of(kms, ciphertext, context=None):
    header = json.loads(b64url_decode(ciphertext.split(".")[0]))
    answer = kms.post("/v1/servicekey/%s/decrypt" % header["kid"], {"ciphertext": ciphertext, "context": context})
    return base64.b64decode(answer["plaintext"])


def mode_of(path):
    return os.stat(str(path)).st_mode & 0o7777


# --- without dest: encrypt and return ---------------------------------------------------------

@pytest.mark.parametrize("check_mode", [False, True])
def test_encrypts_and_returns_the_ciphertext_without_a_change(task, kms, key, check_mode):
    outcome = task(check_mode=check_mode, context="app/db")
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is False
    assert outcome.result["key_id"] == key["id"]
    assert "dest" not in outcome.result
    assert plaintext_of(kms, outcome.result["ciphertext"], "app/db") == PLAINTEXT.encode("utf-8")
    assert kms.requests[:2] == [("GET", "/v1/servicekey"), ("POST", "/v1/servicekey/%s/encrypt" % key["id"])]


def test_key_id_reads_the_key_and_each_run_gives_a_new_ciphertext(task, kms, key):
    first = task(key_id=key["id"], key_name=None)
    second = task(key_id=key["id"], key_name=None)
    assert first.result["ciphertext"] != second.result["ciphertext"]
    assert kms.requests[0] == ("GET", "/v1/servicekey/%s" % key["id"])


def test_src_is_read_as_bytes(task, kms, key, tmp_path):
    source = tmp_path / "license.bin"
    source.write_bytes(b"\x00\xffbinary\n")
    outcome = task(src=str(source))
    assert plaintext_of(kms, outcome.result["ciphertext"]) == b"\x00\xffbinary\n"


# --- with dest: converge a file -------------------------------------------------------------

def test_dest_check_run_check_run(task, kms, key, tmp_path):
    dest = tmp_path / "db.jwe"
    check = task(check_mode=True, dest=str(dest), context="app/db")
    assert check.result["changed"] is True and check.result["ciphertext"] is None
    assert not dest.exists()
    assert kms.operations() == [], "check mode encrypted although the result is thrown away"
    assert check.result["diff"]["before"] == {"path": str(dest), "state": "absent"}
    assert check.result["diff"]["after"]["mode"] == "0600"

    real = task(dest=str(dest), context="app/db")
    assert real.result["changed"] is True
    assert real.result["dest"] == str(dest)
    assert dest.read_text() == real.result["ciphertext"] + "\n"
    assert mode_of(dest) == 0o600
    assert plaintext_of(kms, real.result["ciphertext"], "app/db") == PLAINTEXT.encode("utf-8")
    assert sorted(os.listdir(str(tmp_path))) == ["db.jwe"]  # no temporary file left
    assert check.result["diff"]["after"] == dict(real.result["diff"]["after"])

    del kms.requests[:]
    for check_mode in (True, False):
        again = task(check_mode=check_mode, dest=str(dest), context="app/db")
        assert again.result["changed"] is False, again.result
        assert again.result["ciphertext"] == real.result["ciphertext"]
        assert again.result["diff"]["before"] == again.result["diff"]["after"]
    # Re-runs only decrypt the file to compare it: no encryption.
    assert kms.operations() == ["decrypt", "decrypt"]
    assert dest.read_text() == real.result["ciphertext"] + "\n"


@pytest.mark.parametrize("case", ["other context", "other plaintext", "other key", "garbage", "binary", "empty"])
def test_a_dest_that_is_not_a_ciphertext_of_the_plaintext_is_replaced(task, kms, key, tmp_path, case):
    dest = tmp_path / "db.jwe"
    other = kms.add_key("other")
    if case == "other context":
        task(dest=str(dest), context="app/other")
    elif case == "other plaintext":
        task(dest=str(dest), context="app/db", plaintext="another value")
    elif case == "other key":
        task(dest=str(dest), context="app/db", key_name="other")
    else:
        dest.write_bytes({"garbage": b"not a ciphertext\n", "binary": b"\xff\x00", "empty": b""}[case])
    old = dest.read_bytes()
    del kms.requests[:]

    check = task(check_mode=True, dest=str(dest), context="app/db")
    assert check.result["changed"] is True
    assert dest.read_bytes() == old
    assert "encrypt" not in kms.operations()
    real = task(dest=str(dest), context="app/db")
    assert real.result["changed"] is True
    # A ciphertext of another key is not even sent to the KMS.
    if case == "other key":
        assert kms.operations() == ["encrypt"]
        assert other["id"] in real.result["diff"]["before"]["content"]
    assert plaintext_of(kms, dest.read_text().strip(), "app/db") == PLAINTEXT.encode("utf-8")
    assert real.result["diff"]["before"]["content"] != real.result["diff"]["after"]["content"]


def test_check_mode_with_a_src_still_to_be_created_warns_and_predicts_the_write(task, kms, key, tmp_path):
    source = str(tmp_path / "made-by-an-earlier-task")
    outcome = task(check_mode=True, src=source, dest=str(tmp_path / "db.jwe"))
    assert not outcome.failed, outcome.result
    assert outcome.result["changed"] is True and outcome.result["ciphertext"] is None
    assert outcome.warnings == ["src %s does not exist (yet): check mode cannot tell what the task would do" % source]
    # The key is still checked (a read); nothing is encrypted.
    assert kms.requests == [("GET", "/v1/servicekey")]
    assert task(check_mode=True, src=source).result["changed"] is False
    assert task(src=source).result["msg"] == "src %s does not exist" % source


def test_mode_owner_and_group_differences_are_changes(task, kms, key, tmp_path):
    dest = tmp_path / "db.jwe"
    task(dest=str(dest), mode="0644")
    assert mode_of(dest) == 0o644
    inode = os.stat(str(dest)).st_ino
    check = task(check_mode=True, dest=str(dest), mode="0640")
    assert check.result["changed"] is True and mode_of(dest) == 0o644
    assert (check.result["diff"]["before"]["mode"], check.result["diff"]["after"]["mode"]) == ("0644", "0640")
    real = task(dest=str(dest), mode="u=rw,g=r,o=")
    assert real.result["changed"] is True and mode_of(dest) == 0o640
    assert os.stat(str(dest)).st_ino == inode, "only the mode differed: the file is not rewritten"
    assert "encrypt" not in kms.operations()[1:]


def test_a_key_refusing_decrypt_to_this_identity_rewrites_dest_with_a_warning(task, kms, key, tmp_path):
    dest = tmp_path / "db.jwe"
    task(dest=str(dest))
    kms.refused["decrypt"] = 403
    outcome = task(dest=str(dest))
    assert outcome.result["changed"] is True
    assert any("may not decrypt" in warning for warning in outcome.warnings)


def test_a_kms_failure_while_comparing_dest_fails_the_task(task, kms, key, tmp_path):
    dest = tmp_path / "db.jwe"
    task(dest=str(dest))
    old = dest.read_text()
    kms.refused["decrypt"] = 503
    outcome = task(dest=str(dest))
    assert outcome.failed and outcome.result["changed"] is False
    assert "HTTP 503" in outcome.result["msg"] and "\n" not in outcome.result["msg"]
    assert outcome.result["api_error"]["error_id"] == "e-1"
    assert dest.read_text() == old


# --- bad inputs: failures naming the option, before any encryption -----------------------------

@pytest.mark.parametrize("options, message", [
    (dict(plaintext=""), "plaintext is empty: the KMS encrypts 1 to 4096 bytes"),
    (dict(plaintext="x" * 4097), "plaintext is 4097 bytes: the KMS encrypts at most 4096 bytes (4 KiB)"),
    # 2049 characters of two bytes each: the limit is on the UTF-8 bytes.
    (dict(plaintext=u"\u00e9" * 2049), "plaintext is 4098 bytes"),
    (dict(context="c" * 65), "context is 65 characters: the KMS takes at most 64"),
    (dict(dest="/nonexistent-dir/db.jwe"), "dest /nonexistent-dir/db.jwe cannot be written: directory "
                                           "/nonexistent-dir does not exist"),
    (dict(dest="{tmp}"), "dest {tmp} is a directory: give the path of a file"),
    (dict(dest="{tmp}/db.jwe", mode="0999"), "mode '0999' is not a file mode"),
    (dict(dest="{tmp}/db.jwe", owner="no-such-user-4f1"), "owner no-such-user-4f1 is not a user of this host"),
    (dict(src="{tmp}/missing"), "src {tmp}/missing does not exist"),
    (dict(src="{tmp}"), "src {tmp} is a directory, not a file"),
    (dict(src="{tmp}/big"), "src {tmp}/big is 4097 bytes: the KMS encrypts at most 4096 bytes"),
    (dict(src="{tmp}/small", dest="{tmp}/small"), "dest {tmp}/small is src: the module would replace the file"),
])
def test_bad_input_fails_naming_the_option_before_any_request(task, kms, key, tmp_path, options, message):
    (tmp_path / "big").write_bytes(b"x" * 4097)
    (tmp_path / "small").write_bytes(b"x")
    options = dict((name, value.format(tmp=tmp_path) if isinstance(value, str) else value)
                   for name, value in options.items())
    if "src" in options:
        options["plaintext"] = None
    outcome = task(**options)
    assert outcome.failed
    assert outcome.result["msg"].startswith(message.format(tmp=tmp_path)), outcome.result["msg"]
    assert kms.requests == []


@pytest.mark.parametrize("key_type, extra, message", [
    ("EC", dict(curve="P-256", operations=("sign", "verify")),
     "service key 'k' ({id}) is an EC P-256 key (operations: sign, verify): only oct (symmetric) keys encrypt"),
    ("RSA", dict(size=3072, operations=("sign", "verify")),
     "service key 'k' ({id}) is an RSA 3072 key (operations: sign, verify): only oct (symmetric) keys encrypt"),
    ("oct", dict(operations=("wrapKey", "unwrapKey")),
     "service key 'k' ({id}) does not allow encrypt (its operations: wrapKey, unwrapKey); give an oct key"),
    ("oct", dict(state="deactivated"), "service key 'k' ({id}) is deactivated: encrypt needs an active key"),
])
def test_a_key_that_cannot_encrypt_fails_after_reading_it_only(task, kms, key_type, extra, message, tmp_path):
    key = kms.add_key("k", key_type=key_type, **extra)
    outcome = task(key_name="k", dest=str(tmp_path / "db.jwe"))
    assert outcome.failed
    assert outcome.result["msg"].startswith(message.format(id=key["id"])), outcome.result["msg"]
    assert kms.operations() == []
    assert not (tmp_path / "db.jwe").exists()


def test_a_missing_key_name_or_id(task, kms, key):
    outcome = task(key_name="nope")
    assert outcome.result["msg"] == "key_name: KMS %s has no service key named 'nope'" % OKMS_ID
    missing = "00000000-0000-4000-8000-000000000000"
    outcome = task(key_id=missing, key_name=None)
    assert outcome.result["msg"].startswith("cannot read service key %s of KMS %s: GET /v1/servicekey/%s, HTTP 404"
                                            % (missing, OKMS_ID, missing))
    assert kms.operations() == []


@pytest.mark.parametrize("options, message", [
    (dict(key_id="x"), "parameters are mutually exclusive: key_id|key_name"),
    (dict(key_name=None), "one of the following is required: key_id, key_name"),
    (dict(src="/etc/hostname", plaintext="x"), "parameters are mutually exclusive: plaintext|src"),
])
def test_exactly_one_key_and_one_input(task, kms, key, options, message):
    outcome = task(**options)
    assert outcome.failed and outcome.result["msg"] == message
    assert kms.requests == []


def test_a_plaintext_ansible_would_mask_inside_the_ciphertext_is_refused(task, kms, key):
    # Every JWE header starts with "eyJ" ('{"' in base64url).
    outcome = task(plaintext="eyJ")
    assert outcome.failed
    assert outcome.result["msg"].startswith("plaintext is so short that it shows inside every ciphertext")
    assert kms.operations() == ["encrypt"] * okms_encrypt.ENCRYPT_ATTEMPTS


def test_an_unreadable_config_file_fails_naming_it(run_module, tmp_path):
    outcome = run_module(okms_encrypt, dict(key_name="k", plaintext=PLAINTEXT, config_file=str(tmp_path / "no.yaml")))
    assert outcome.failed
    assert outcome.result["msg"] == ("KMS REST API configuration: config_file: cannot read %s: No such file or "
                                     "directory" % (tmp_path / "no.yaml"))
