# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the reliability scenarios (reliability.py) are built on.

- ``Emulator``: the emulator's fault injection (``/_emulator/faults``), its audit log (one JSON line per
  request, with the injected ``fault``), and reads of its API through python-ovh, a client independent of
  the collection.
- ``OneFault``: the next targeted request of a module run in this process gets one fault, and only it: the
  operation's own re-read and repeat go through.
- ``run_module``: one run of a module's ``main()`` against the emulator, its JSON result as Ansible gets it.
- ``Playbook``: ``ansible-playbook`` runs (real, check mode, or killed with SIGKILL at a task) with their
  output kept, and the PLAY RECAP read back.
- Keys and certificates: whether a private key matches a certificate; the files a killed run may leave.
- ``LeakScanner``: every private key, API secret and OAuth2 token, searched in the runs' output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import collections
import contextlib
import hashlib
import importlib
import io
import json
import os
import re
import signal
import subprocess
import threading
import time
import traceback
from unittest import mock
from urllib.parse import urlsplit

import ovh
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible.module_utils import basic

# The kinds that make a write ambiguous for the client: no answer, or a 5xx that may come after the write.
AMBIGUOUS_KINDS = ("reset", "500", "502", "503", "commit-reset", "commit-502")
ALL_KINDS = ("429", "500", "502", "503", "reset", "slow", "commit-reset", "commit-502")
# Credential states that end by themselves: CREATING becomes READY, DELETING disappears.
TRANSIENT_CREDENTIAL_STATES = ("CREATING", "DELETING")


def applied(line):
    """Whether the request of an audit line took effect: its status, or the status it got before its answer was lost."""
    status = line.get("applied_status") if line.get("fault") else line.get("status")
    return status is not None and 200 <= status < 300


def fault_kinds(lines):
    counts = collections.Counter(line["fault"] for line in lines if line.get("fault"))
    return dict((kind, counts.get(kind, 0)) for kind in ALL_KINDS)


def repeats_after_fault(lines):
    """Client retries seen: requests sent again (same method, path and query) after a fault that refused them
    or lost their answer. A write whose answer was lost after it took effect (commit-*) does not count: the
    next request on its path is another write (a later create on the same collection), not a retry."""
    pending = set()
    repeats = 0
    for line in lines:
        request = (line["method"], line["path"], line.get("query") or "")
        if request in pending:
            repeats += 1
            pending.discard(request)
        fault = line.get("fault")
        if fault and fault != "slow" and not (fault.startswith("commit") and line["mutating"]):
            pending.add(request)
    return repeats


def mutating_requests(lines):
    """"METHOD path" of every request that changed, or tried to change, the API's state."""
    return ["%s %s" % (line["method"], line["path"]) for line in lines if line.get("mutating")]


def applied_writes(lines, method, path_regex):
    pattern = re.compile(path_regex)
    return [line for line in lines if line["method"] == method and pattern.search(line["path"]) and applied(line)]


def faults_on(lines, path):
    """Fault kinds injected on requests whose path is ``path`` or under it."""
    return sorted(set(line["fault"] for line in lines if line.get("fault") and line["path"].startswith(path)))


class Emulator:
    """The emulator of this test: fault configuration, audit log and independent API reads."""

    def __init__(self, conn):
        self.conn = conn
        self.audit_path = conn["audit_log"]
        # trust_env off: REQUESTS_CA_BUNDLE would replace the emulator's CA (and no proxy is wanted).
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = conn["ca_path"]
        # python-ovh takes an endpoint by name: one name per emulator (several run side by side).
        name = "okms-reliability-%s" % urlsplit(conn["endpoint"]).port
        ovh.client.ENDPOINTS[name] = conn["endpoint"]
        self.api = ovh.Client(endpoint=name, application_key=conn["application_key"],
                              application_secret=conn["application_secret"], consumer_key=conn["consumer_key"])
        self.api._session.trust_env = False  # pylint: disable=protected-access
        self.api._session.verify = conn["ca_path"]  # pylint: disable=protected-access

    # -- faults ------------------------------------------------------------------------------------

    def set_faults(self, **config):
        """Replace the fault configuration (members as ``PUT /_emulator/faults`` takes them)."""
        response = self.http.put(self.conn["faults_url"], json=config, timeout=30)
        if response.status_code != 200:
            raise RuntimeError("the emulator refused the fault configuration %r: %s" % (config, response.text))
        return response.json()

    def faults_off(self):
        return self.set_faults(rate=0)

    def fault_counters(self):
        return self.http.get(self.conn["faults_url"], timeout=30).json()

    # -- audit log ---------------------------------------------------------------------------------

    def audit_mark(self):
        """A position in the audit log (after its last whole line); lines written later are read from it."""
        try:
            with open(self.audit_path, "rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                tail_start = max(0, size - 65536)
                handle.seek(tail_start)
                tail = handle.read()
        except OSError:
            return 0
        return tail_start + tail.rfind(b"\n") + 1

    def audit_since(self, start, end=None):
        """The audit lines written between two marks (end: now), parsed."""
        return self.read_audit(start, end)[0]

    def read_audit(self, start, end=None):
        """(lines, position after the last whole line) from ``start``: a line still being written is left out."""
        try:
            with open(self.audit_path, "rb") as handle:
                handle.seek(start)
                data = handle.read() if end is None else handle.read(end - start)
        except OSError:
            return [], start
        whole = data[:data.rfind(b"\n") + 1]
        lines = [json.loads(line) for line in whole.decode("utf-8").splitlines() if line.strip()]
        return lines, start + len(whole)

    # -- reads through python-ovh, faults off --------------------------------------------------------

    def get_all(self, path):
        """Every item of a v2 list, following the cursor, in pages of 100."""
        items, cursor = [], None
        while True:
            headers = {"X-Pagination-Size": "100"}
            if cursor:
                headers["X-Pagination-Cursor"] = cursor
            response = self.api.raw_call("GET", path, headers=headers)
            if response.status_code != 200:
                raise RuntimeError("GET %s: HTTP %s %s" % (path, response.status_code, response.text[:300]))
            items.extend(response.json())
            cursor = response.headers.get("X-Pagination-Cursor-Next")
            if not cursor:
                return items

    def kms_named(self, name):
        return [kms for kms in self.get_all("/v2/okms/resource") if kms.get("iam", {}).get("displayName") == name]

    def service_keys(self, okms_id):
        return self.get_all("/v2/okms/resource/%s/serviceKey" % okms_id)

    def credentials(self, okms_id):
        return self.get_all("/v2/okms/resource/%s/credential" % okms_id)

    def settled_credentials(self, okms_id, settle=15.0):
        """Every credential of a KMS once none is being created or deleted (both last a moment)."""
        deadline = time.monotonic() + settle
        while True:
            credentials = self.credentials(okms_id)
            if not any(c["status"] in TRANSIENT_CREDENTIAL_STATES for c in credentials) or time.monotonic() > deadline:
                return credentials
            time.sleep(0.2)

    def revoke_credential(self, okms_id, credential_id):
        response = self.api.raw_call("DELETE", "/v2/okms/resource/%s/credential/%s" % (okms_id, credential_id))
        if response.status_code >= 300:
            raise RuntimeError("cannot revoke credential %s: HTTP %s %s" % (
                credential_id, response.status_code, response.text[:300]))

    def data_plane_works(self, okms_id, cert_path, key_path):
        """Whether a certificate and its key list the KMS's keys over mutual TLS (HTTP status, or the error)."""
        try:
            response = self.http.get("%s/api/%s/v1/servicekey" % (self.conn["data_endpoint"], okms_id),
                                     cert=(cert_path, key_path), timeout=30)
            return response.status_code
        except requests.RequestException as exc:
            return "%s: %s" % (type(exc).__name__, exc)

    def issued_token_digests(self):
        """SHA-256 digests of every OAuth2 access token the emulator issued (read from its saved state)."""
        with open(os.path.join(self.conn["state_dir"], "state.json"), encoding="utf-8") as handle:
            state = json.load(handle)
        return set(state["accounts"][self.conn["account"]]["tokens"])


class OneFault:
    """One fault of ``kind`` on the next ``method`` request whose path matches ``paths``, then faults off.

    For a module run in this process: faults are armed at rate 1 on entry, and switched off as soon as the
    first targeted request returns (or fails) in this process, before the module sees the outcome, so its
    re-read and any repeat are not faulted again. Faults are off again on exit whatever happened.
    """

    def __init__(self, emulator, kind, method, paths, seed):
        self.emulator = emulator
        self.config = dict(rate=1, kinds=[kind], methods=[method], paths=paths, seed=seed)
        self.method = method
        self.paths = re.compile(paths)
        self.armed = False
        self.patch = None

    def __enter__(self):
        original_send = requests.Session.send
        one_fault = self

        def send(session, request, **kwargs):
            try:
                return original_send(session, request, **kwargs)
            finally:
                if (one_fault.armed and request.method == one_fault.method
                        and one_fault.paths.search(urlsplit(request.url).path)):
                    one_fault.armed = False
                    one_fault.emulator.faults_off()

        self.emulator.set_faults(**self.config)
        self.armed = True
        self.patch = mock.patch.object(requests.Session, "send", send)
        self.patch.start()
        return self

    def __exit__(self, *exc_info):
        self.patch.stop()
        self.armed = False
        self.emulator.faults_off()
        return False


# -- modules, run in this process -----------------------------------------------------------------------


@contextlib.contextmanager
def _module_args(args):
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core < 2.19
        patch_module_args = None
    if patch_module_args:
        with patch_module_args(args):
            yield
    else:
        old = basic._ANSIBLE_ARGS  # pylint: disable=protected-access
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()  # pylint: disable=protected-access
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old  # pylint: disable=protected-access


# A module's arguments and its stdout are the process's: one module runs at a time.
_MODULE_LOCK = threading.Lock()


def run_module(name, args):
    """Run ``ovhcloud.kms.<name>``'s ``main()`` with ``args``; return (result dict, the JSON text it printed).

    The module runs exactly as Ansible runs it on the controller (AnsibleModule reads its arguments, prints
    its JSON result and exits), minus the process: it is much cheaper here, for hundreds of runs. Runs from
    several threads take turns.
    """
    module = importlib.import_module("ansible_collections.ovhcloud.kms.plugins.modules.%s" % name)
    output = io.StringIO()
    with _MODULE_LOCK, _module_args(args), contextlib.redirect_stdout(output):
        try:
            module.main()
        except SystemExit:
            pass
        except Exception:  # pylint: disable=broad-exception-caught
            # A crash is a failure of the module like any other: reported, not raised.
            return {"failed": True, "msg": "the module crashed: %s" % traceback.format_exc()}, output.getvalue()
    text = output.getvalue()
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line), text
    return {"failed": True, "msg": "the module printed no JSON result: %r" % text[-500:]}, text


# -- ansible-playbook ---------------------------------------------------------------------------------

# A whole role run takes well under a minute, even on a loaded machine: one that hangs is stopped.
PLAYBOOK_TIMEOUT = 600
RECAP_LINE = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                        r"\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)", re.MULTILINE)
FATAL_LINE = re.compile(r"^(?:fatal|failed): \[([^\]]+)\]", re.MULTILINE)
TASK_LINE = re.compile(r"^TASK \[(.*)\]", re.MULTILINE)


class PlaybookRun:
    """One ansible-playbook run: exit status, duration, output file, PLAY RECAP."""

    def __init__(self, label, log_path, returncode, seconds, killed=False, timed_out=False):
        self.label = label
        self.log_path = log_path
        self.returncode = returncode
        self.seconds = seconds
        self.killed = killed
        self.timed_out = timed_out

    def output(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def recap(self):
        """{host: {ok, changed, unreachable, failed, skipped, rescued, ignored}}."""
        names = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
        return dict((match.group(1), dict(zip(names, (int(g) for g in match.groups()[1:]))))
                    for match in RECAP_LINE.finditer(self.output()))

    @property
    def converged(self):
        recap = self.recap()
        return (self.returncode == 0 and bool(recap)
                and all(h["failed"] == 0 and h["unreachable"] == 0 for h in recap.values()))

    def changed_hosts(self):
        return sorted(host for host, counts in self.recap().items() if counts["changed"])

    def failures(self):
        """[(host, task, message)] of every failed task, read from the output."""
        text = self.output()
        found = []
        for match in FATAL_LINE.finditer(text):
            tasks = TASK_LINE.findall(text, 0, match.start())
            task = tasks[-1] if tasks else "?"
            rest = text[match.end():match.end() + 20000]
            message = _failure_message(rest)
            found.append((match.group(1), task, message))
        return found

    def last_task(self):
        tasks = TASK_LINE.findall(self.output())
        return tasks[-1] if tasks else None


def _failure_message(rest):
    """The ``msg`` of the result printed after a ``fatal: [host]: FAILED! =>``."""
    start = rest.find("{")
    if start < 0:
        return rest.strip().splitlines()[0] if rest.strip() else ""
    try:
        result, _end = json.JSONDecoder().raw_decode(rest[start:])
    except ValueError:
        return rest[start:start + 400]
    return str(result.get("msg") or result)[:1000]


class Playbook:
    """ansible-playbook in a directory, with the environment of this test."""

    def __init__(self, directory, inventory, env):
        self.directory = directory
        self.inventory = inventory
        self.env = env

    def command(self, playbook, extra_vars_file, verbose=False, check=False):
        command = ["ansible-playbook", "-i", self.inventory, "-e", "@" + extra_vars_file, playbook]
        if verbose:
            command += ["-vvvv", "--diff"]
        if check:
            command.append("--check")
        return command

    def run(self, label, log_path, playbook, extra_vars_file, verbose=False, check=False, env=None,
            timeout=PLAYBOOK_TIMEOUT):
        """One whole run; one that outlives ``timeout`` is killed (whole process group) and counts as failed."""
        return self.run_and_kill(label, log_path, playbook, extra_vars_file, None, 0.0, verbose=verbose,
                                 check=check, env=env, timeout=timeout)

    def run_and_kill(self, label, log_path, playbook, extra_vars_file, task, delay, after=None, verbose=False,
                     check=False, env=None, timeout=PLAYBOOK_TIMEOUT):
        """Start a run and SIGKILL its whole process group (ansible-playbook, its forks, the modules they run)
        ``delay`` seconds after the first task named ``task`` starts (None: never), or, with ``after``, after
        the moment ``after`` tells: called when the task starts, it returns a function that says whether that
        moment came (a request the emulator answered, say). ``killed`` is False when the run ended first. A run
        still going after ``timeout`` seconds is killed too, and reported as timed out."""
        started = time.monotonic()
        killed = timed_out = False
        header = "TASK [ovhcloud.kms.okms : %s]" % task if task else None
        with open(log_path, "wb") as log:
            process = subprocess.Popen(self.command(playbook, extra_vars_file, verbose, check), cwd=self.directory,
                                       env=dict(self.env, **(env or {})), stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
            moment_came = kill_at = None
            while process.poll() is None:
                now = time.monotonic()
                if now - started > timeout:
                    timed_out = True
                    break
                if moment_came is None and header:
                    with open(log_path, encoding="utf-8", errors="replace") as output:
                        if header in output.read():
                            moment_came = after() if after else (lambda: True)
                if kill_at is None and moment_came is not None and moment_came():
                    kill_at = time.monotonic() + delay
                if kill_at is not None and now >= kill_at:
                    break
                time.sleep(0.02)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                killed = not timed_out
            process.wait()
        # Whatever of the group outlived its leader (a module still running): nothing may go on after the kill.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return PlaybookRun(label, log_path, -9 if timed_out else process.returncode, time.monotonic() - started,
                           killed=killed, timed_out=timed_out)


# -- keys and certificates ------------------------------------------------------------------------------


def load_private_key(path):
    with open(path, "rb") as handle:
        return serialization.load_pem_private_key(handle.read(), password=None)


def load_certificate(path_or_pem):
    if "-----BEGIN" in path_or_pem:
        data = path_or_pem.encode("ascii")
    else:
        with open(path_or_pem, "rb") as handle:
            data = handle.read()
    return x509.load_pem_x509_certificate(data)


def public_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches_certificate(key_path, certificate):
    """Whether the private key in ``key_path`` is the key of ``certificate`` (a path, a PEM or an x509 object)."""
    if not isinstance(certificate, x509.Certificate):
        certificate = load_certificate(certificate)
    return public_der(load_private_key(key_path).public_key()) == public_der(certificate.public_key())


def file_states(directory):
    """{path relative to ``directory``: (SHA-256, mode)} of every file under it."""
    states = {}
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
            states[os.path.relpath(path, directory)] = (digest, oct(os.stat(path).st_mode & 0o7777))
    return states


def unexpected_files(directory, expected):
    """Files in ``directory`` (recursively) whose name is not in ``expected``: temporary or partial files."""
    found = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            if name not in expected:
                found.append(os.path.relpath(os.path.join(root, name), directory))
    return sorted(found)


# -- secrets in the output ------------------------------------------------------------------------------

# What secrets.token_urlsafe(32), the emulator's OAuth2 access tokens, look like.
TOKEN_CANDIDATE = re.compile(r"[A-Za-z0-9_-]{43}")


def _b64url(number, length):
    return base64.urlsafe_b64encode(number.to_bytes(length, "big")).rstrip(b"=").decode("ascii")


def private_key_needles(path):
    """Strings that would show the private key of ``path`` in a log, whatever form it was printed in.

    The base64 lines of its PEM in the two encodings a module could print (PKCS#8 and the traditional
    SEC1 / PKCS#1) that hold private bytes, and its secret numbers in hexadecimal and base64url (as in a JWK).
    """
    key = load_private_key(path)
    # A private key's encoding also holds its public key (the RSA modulus, the EC point), which the
    # certificates in the output show too: a line of the PEM that is only public bytes is no needle.
    public = public_der(key.public_key())
    lines = set()
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        pem = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode("ascii")
        lines.update(pem.splitlines())
    with open(path, encoding="ascii") as handle:
        lines.update(handle.read().splitlines())
    needles = set(line for line in lines if "-----" not in line and len(line) >= 24
                  and base64.b64decode(line + "=" * (-len(line) % 4)) not in public)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        numbers = [key.private_numbers().private_value]
        size = (key.curve.key_size + 7) // 8
    elif isinstance(key, rsa.RSAPrivateKey):
        private = key.private_numbers()
        numbers = [private.d, private.p, private.q]
        size = (key.key_size + 7) // 8
    else:
        numbers, size = [], 0
    for number in numbers:
        needles.add("%x" % number)
        needles.add(_b64url(number, size))
        needles.add(_b64url(number, (number.bit_length() + 7) // 8))
    return needles


class LeakScanner:
    """Searches outputs for secrets: {label: set of strings}, plus OAuth2 tokens known by their digest."""

    def __init__(self):
        self.secrets = {}
        self.token_digests = set()

    def add_secret(self, label, value):
        if value:
            self.secrets.setdefault(label, set()).add(value)

    def add_private_key(self, label, path):
        self.secrets.setdefault(label, set()).update(private_key_needles(path))

    def scan_text(self, text):
        """[(label, how it showed)] for every secret found in ``text``."""
        found = []
        for label, needles in sorted(self.secrets.items()):
            for needle in needles:
                if needle in text:
                    found.append((label, "%s...%s" % (needle[:4], needle[-2:]) if len(needle) > 8 else "short"))
                    break
        if self.token_digests:
            for candidate in set(TOKEN_CANDIDATE.findall(text)):
                if hashlib.sha256(candidate.encode("ascii")).hexdigest() in self.token_digests:
                    found.append(("an OAuth2 access token", candidate[:4] + "..."))
        return found

    def scan_files(self, paths):
        """{path: [(label, how)]} of the files where a secret shows; and the number of bytes read."""
        leaks, size = {}, 0
        for path in paths:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
            size += len(text.encode("utf-8"))
            found = self.scan_text(text)
            if found:
                leaks[path] = found
        return leaks, size
