# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad inputs to every module, tried as a new user would: each fails with a message naming the option (and what
is allowed), before any mutating request, and writes nothing to disk.

One table for the seven modules. It holds what the per-module tables do not (connection options, argument
types and choices, files that cannot be read or written, owners, modes...) and aggregates the two per-module
tables that are data (okms_credential's BAD_INPUTS and okms_service_key's BAD_INPUTS), run here again with the
checks they lack (nothing on disk, nothing changed in the fake account). okms_instance's matrix is inline in
test_okms_instance.py and stays there. Every case runs in check mode and for real, against one account of the
stateful fake API (tests/unit/fake_okms): a KMS "production" with service keys "fixed" and "twin" (two of
them) and a credential "web1" whose key is on disk.

The number of cases is in each test id ("017/142") and asserted by test_the_table_covers_every_module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os
import re

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.ovhcloud.kms.plugins.module_utils import okms_module
from ansible_collections.ovhcloud.kms.plugins.modules import (
    okms_credential,
    okms_credential_info,
    okms_host_key,
    okms_instance,
    okms_instance_info,
    okms_service_key,
    okms_service_key_info,
)
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms import credentials, instances, service_keys
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi
from ansible_collections.ovhcloud.kms.tests.unit.plugins.modules import (
    test_okms_credential_reconciler as credential_table,
)
from ansible_collections.ovhcloud.kms.tests.unit.plugins.modules import (
    test_okms_service_key_bad_inputs as service_key_table,
)

MODULES = dict((module.__name__.rsplit(".", 1)[1], module) for module in (
    okms_instance, okms_instance_info, okms_service_key, okms_service_key_info, okms_credential,
    okms_credential_info, okms_host_key))
ACCOUNT = "urn:v1:eu:identity:account:xx1111-ovh"
OAUTH2 = dict(endpoint="ovh-eu", client_id="cid", client_secret="s3cr3t")
APPLICATION_KEY = dict(endpoint="ovh-eu", application_key="ak", application_secret="as3cr3t", consumer_key="ck")
# "{dir}" in a case stands for the directory of the account's files, "{kms}" for the KMS id.
BASE_ARGS = {
    "okms_instance": {},
    "okms_instance_info": {},
    "okms_service_key": {"okms_id": "{kms}"},
    "okms_service_key_info": {"okms_id": "{kms}"},
    "okms_credential": {"okms_id": "{kms}", "name": "web1", "identity_urns": [ACCOUNT],
                        "private_key_path": "{dir}/web1.key", "certificate_path": "{dir}/web1.crt",
                        "ca_certificate_path": "{dir}/ca.pem"},
    "okms_credential_info": {"okms_id": "{kms}"},
    "okms_host_key": {"path": "{dir}/host.key"},
}
UNSET = object()

Case = collections.namedtuple("Case", "module label args option fragments real_run_only", defaults=(False,))


def case(module, label, args, option, *fragments, **flags):
    """``args`` override the module's BASE_ARGS (UNSET removes one); the message must name ``option`` and hold
    every fragment ("{dir}"/"{kms}" substituted). ``real_run_only=True``: check mode accepts the input (see
    MISSING_DIRECTORY)."""
    return Case(module, label, args, option, fragments, flags.get("real_run_only", False))


# A missing directory fails a real run before any request, but not check mode: in a check-mode play the task
# that creates the directory (an ansible.builtin.file before it) does not run, so the directory cannot exist yet.
MISSING_DIRECTORY = dict(real_run_only=True)


CONNECTION = [
    case("okms_instance", "unknown endpoint name", dict(name="p", region="eu-west-rbx", endpoint="ovh-mars"),
         "endpoint", "endpoint 'ovh-mars' is neither a known endpoint name (", "nor a full https:// URL"),
    case("okms_instance", "timeout of zero", dict(name="p", region="eu-west-rbx", timeout=0),
         "timeout", "timeout must be a positive number of seconds, got 0"),
    case("okms_instance_info", "both authentication methods", dict(APPLICATION_KEY, client_id="cid", client_secret="s"),
         "client_id", "Both application-key credentials", "use exactly one authentication method"),
    case("okms_instance_info", "http:// endpoint", dict(endpoint="http://eu.api.ovh.com/v1"),
         "endpoint", "endpoint is an http:// URL", "use the https:// URL"),
    case("okms_service_key", "application key without consumer key",
         dict(APPLICATION_KEY, client_id=UNSET, client_secret=UNSET, consumer_key=UNSET, name="k", type="oct"),
         "consumer_key", "Incomplete application-key credentials", "missing"),
    case("okms_service_key", "timeout that is not a number", dict(name="k", type="oct", timeout="soon"),
         "timeout", "unable to convert to int"),
    case("okms_service_key_info", "negative timeout", dict(timeout=-1),
         "timeout", "timeout must be a positive number of seconds, got -1"),
    case("okms_service_key_info", "no credentials at all", dict(client_id=UNSET, client_secret=UNSET),
         "client_id", "No OVHcloud API credentials found", "application_key, application_secret and consumer_key"),
    case("okms_credential", "http:// endpoint", dict(endpoint="http://localhost:8443"),
         "endpoint", "endpoint is an http:// URL"),
    case("okms_credential", "OAuth2 client id without its secret", dict(client_secret=UNSET),
         "client_secret", "Incomplete OAuth2 credentials"),
    case("okms_credential_info", "unknown endpoint name", dict(endpoint="eu"),
         "endpoint", "endpoint 'eu' is neither a known endpoint name (", "ovh-eu"),
    case("okms_credential_info", "validate_certs that is not a boolean", dict(validate_certs="maybe"),
         "validate_certs", "bool"),
]

ARGUMENTS = [
    # okms_instance and its _info twin (test_okms_instance.py has regions, names, ids, subsidiaries, wait_timeout)
    case("okms_instance", "unknown state", dict(name="p", region="eu-west-rbx", state="gone"),
         "state", "present, absent"),
    case("okms_instance", "wait that is not a boolean", dict(name="p", region="eu-west-rbx", wait="sometimes"),
         "wait", "bool"),
    case("okms_instance", "misspelled option", dict(name="p", regoin="eu-west-rbx"),
         "regoin", "Unsupported parameters", "region"),
    case("okms_instance", "confirm_termination that is not a boolean",
         dict(name="p", region="eu-west-rbx", state="absent", confirm_termination="please"),
         "confirm_termination", "bool"),
    case("okms_instance_info", "misspelled option", dict(nmae="production"),
         "nmae", "Unsupported parameters", "name"),
    # okms_service_key (test_okms_service_key_bad_inputs.py has the key rules) and its _info twin
    case("okms_service_key", "unknown key type", dict(name="k", type="AES"), "type", "oct, RSA, EC"),
    case("okms_service_key", "unknown state", dict(name="k", type="oct", state="gone"), "state", "present, absent"),
    case("okms_service_key", "unknown key_state", dict(name="fixed", key_state="revoked"),
         "key_state", "active, deactivated, compromised"),
    case("okms_service_key", "size that is not a number", dict(name="k", type="oct", size="big"), "size", "int"),
    case("okms_service_key", "misspelled option curv", dict(name="k", type="EC", curv="P-256"),
         "curv", "Unsupported parameters", "curve"),
    case("okms_service_key", "unknown curve", dict(name="k", type="EC", curve="P-192"),
         "curve", "P-256, P-384, P-521"),
    case("okms_service_key", "missing okms_id", dict(okms_id=UNSET, name="k", type="oct"),
         "okms_id", "missing required arguments"),
    case("okms_service_key", "unknown public key format",
         dict(name="k", type="EC", public_key_path="{dir}/k.pub", public_key_format="der"),
         "public_key_format", "pem, jwk"),
    case("okms_service_key_info", "unknown state", dict(state="revoked"), "state", "active", "deactivated"),
    case("okms_service_key_info", "unknown type", dict(type="AES"), "type", "oct, RSA, EC"),
    case("okms_service_key_info", "unknown format", dict(format="xml"), "format", "jwk, pem"),
    case("okms_service_key_info", "missing okms_id", dict(okms_id=UNSET), "okms_id", "missing required arguments"),
    # okms_credential (test_okms_credential_reconciler.py has the credential rules, aggregated below)
    case("okms_credential", "okms_id that is not a UUID", dict(okms_id="production"),
         "okms_id", "okms_id must be a KMS id, a UUID such as ", "got 'production'"),
    case("okms_credential", "unknown state", dict(state="revoked"), "state", "present, absent"),
    case("okms_credential", "unknown certificate type", dict(certificate_type="DSA"), "certificate_type", "ECDSA, RSA"),
    case("okms_credential", "unknown key source", dict(private_key_source="file"),
         "private_key_source", "local, csr, ovh"),
    case("okms_credential", "validity in words", dict(validity="a year"), "validity", "int"),
    case("okms_credential", "present without identity_urns", dict(identity_urns=UNSET),
         "identity_urns", "state is present but all of the following are missing: identity_urns"),
    case("okms_credential", "csr and csr_path together",
         dict(private_key_source="csr", private_key_path=UNSET, csr="x", csr_path="{dir}/rsa.csr"),
         "csr_path", "mutually exclusive"),
    case("okms_credential", "misspelled option identity_urn", dict(identity_urn=[ACCOUNT]),
         "identity_urn", "Unsupported parameters"),
    case("okms_credential", "wait that is not a boolean", dict(wait="maybe"), "wait", "bool"),
    case("okms_credential", "negative renew_before", dict(renew_before=-1),
         "renew_before", "renew_before must not be negative, got -1"),
    case("okms_credential", "blank name", dict(name="   "), "name", "name must not be blank"),
    case("okms_credential", "control character in the description", dict(description="a\tb"),
         "description", "description must not contain control characters"),
    case("okms_credential", "identity URN over 255 characters",
         dict(identity_urns=["urn:v1:eu:identity:user:xx1111-ovh/" + "u" * 230]),
         "identity_urns", "invalid identity URN", "at most 255 characters"),
    case("okms_credential", "CSR for a secp256k1 key",
         dict(private_key_source="csr", private_key_path=UNSET, csr_path="{dir}/k1.csr"),
         "csr_path", "EC keys must use P-256, P-384 or P-521, got secp256k1"),
    case("okms_credential", "CSR for a 1024-bit RSA key",
         dict(private_key_source="csr", private_key_path=UNSET, csr_path="{dir}/rsa1024.csr"),
         "csr_path", "RSA keys must have at least 2048 bits, got 1024"),
    case("okms_credential", "CSR whose signature is wrong",
         dict(private_key_source="csr", private_key_path=UNSET, csr_path="{dir}/forged.csr"),
         "csr_path", "the CSR's signature is not valid"),
    case("okms_credential", "csr_path that is a directory",
         dict(private_key_source="csr", private_key_path=UNSET, csr_path="{dir}/dir"),
         "csr_path", "is a directory"),
    case("okms_credential", "private_key_path in a missing directory",
         dict(private_key_path="{dir}/missing/web1.key"),
         "private_key_path", "cannot be written: directory {dir}/missing does not exist", **MISSING_DIRECTORY),
    case("okms_credential", "private_key_path that is a directory", dict(private_key_path="{dir}/dir"),
         "private_key_path", "{dir}/dir is a directory: give the path of a file"),
    case("okms_credential", "certificate_path in a missing directory",
         dict(certificate_path="{dir}/missing/web1.crt"),
         "certificate_path", "cannot be written: directory {dir}/missing does not exist", **MISSING_DIRECTORY),
    case("okms_credential", "certificate_path under a file", dict(certificate_path="{dir}/web1.key/web1.crt"),
         "certificate_path", "directory {dir}/web1.key is not a directory"),
    case("okms_credential", "ca_certificate_path that is a directory", dict(ca_certificate_path="{dir}/dir"),
         "ca_certificate_path", "is a directory"),
    case("okms_credential", "ovh key into a missing directory",
         dict(private_key_source="ovh", private_key_path="{dir}/missing/web1.key"),
         "private_key_path", "directory {dir}/missing does not exist", **MISSING_DIRECTORY),
    case("okms_credential", "one file for the key and the certificate", dict(certificate_path="{dir}/web1.key"),
         "certificate_path", "private_key_path and certificate_path name the same file"),
    case("okms_credential", "one file for the certificate and the CA", dict(ca_certificate_path="{dir}/web1.crt"),
         "ca_certificate_path", "certificate_path and ca_certificate_path name the same file"),
    case("okms_credential", "private key mode that is no mode", dict(private_key_mode="rw-------"),
         "private_key_mode", "is not a file mode", "'0600'"),
    case("okms_credential", "octal mode out of range", dict(certificate_mode="010000"),
         "certificate_mode", "is not a file mode"),
    case("okms_credential", "symbolic mode with a typo", dict(certificate_mode="u=rw,g=rz"),
         "certificate_mode", "is not a file mode", "'u=rw,g=r'"),
    case("okms_credential", "owner that does not exist", dict(owner="no-such-user-okms"),
         "owner", "owner no-such-user-okms is not a user of this host"),
    case("okms_credential", "group that does not exist", dict(group="no-such-group-okms"),
         "group", "group no-such-group-okms is not a group of this host"),
    case("okms_credential", "absent removing a directory",
         dict(state="absent", identity_urns=UNSET, remove_files=True, certificate_path="{dir}/dir"),
         "certificate_path", "is a directory: remove_files removes files only"),
    case("okms_credential", "absent with an okms_id that is not a UUID",
         dict(state="absent", identity_urns=UNSET, okms_id="my-kms"), "okms_id", "a UUID"),
    # okms_credential_info
    case("okms_credential_info", "okms_id that is not a UUID", dict(okms_id="production"),
         "okms_id", "okms_id must be a KMS id, a UUID"),
    case("okms_credential_info", "id that is not a UUID", dict(id="web1"),
         "id", "id must be a credential id, a UUID"),
    case("okms_credential_info", "unknown status", dict(status=["ACTIVE"]),
         "status", "CREATING, READY, EXPIRED, DELETING, ERROR"),
    case("okms_credential_info", "expires_within_days in words", dict(expires_within_days="soon"),
         "expires_within_days", "int"),
    case("okms_credential_info", "missing okms_id", dict(okms_id=UNSET), "okms_id", "missing required arguments"),
    case("okms_credential_info", "misspelled option", dict(names="web1"), "names", "Unsupported parameters"),
    # okms_host_key (test_okms_host_key.py has keys of another type, files that are not keys, unusable given keys)
    case("okms_host_key", "unknown key type", dict(type="DSA"), "type", "ECDSA, RSA"),
    case("okms_host_key", "unknown regenerate", dict(regenerate="sometimes"),
         "regenerate", "never, type_mismatch, always"),
    case("okms_host_key", "missing path", dict(path=UNSET), "path", "missing required arguments"),
    case("okms_host_key", "path in a missing directory", dict(path="{dir}/missing/domain.key"),
         "path", "cannot be written: directory {dir}/missing does not exist", **MISSING_DIRECTORY),
    case("okms_host_key", "path that is a directory", dict(path="{dir}/dir"),
         "path", "{dir}/dir is a directory: give the path of a file"),
    case("okms_host_key", "mode that is no mode", dict(mode="secret"), "mode", "is not a file mode"),
    case("okms_host_key", "owner that does not exist", dict(owner="no-such-user-okms"),
         "owner", "is not a user of this host"),
    case("okms_host_key", "group that does not exist", dict(group="no-such-group-okms"),
         "group", "is not a group of this host"),
    case("okms_host_key", "empty common name", dict(common_name=""),
         "common_name", "common_name must be 1 to 64 characters"),
    case("okms_host_key", "common name over 64 characters", dict(common_name="c" * 65),
         "common_name", "common_name must be 1 to 64 characters", "got 65"),
    case("okms_host_key", "given key of 1024 bits", dict(private_key="{rsa1024}"),
         "private_key", "RSA of 2048 bits or more"),
    case("okms_host_key", "given key under a passphrase", dict(private_key="{encrypted}"),
         "private_key", "it is encrypted with a passphrase"),
    case("okms_host_key", "misspelled option", dict(paht="{dir}/host.key"), "paht", "Unsupported parameters"),
]


def aggregated_credential_cases():
    """okms_credential's own table: its messages are regular expressions; csr_path names a file of the account."""
    cases = []
    for label, args, pattern in credential_table.BAD_INPUTS:
        args = dict((name, UNSET if value is None else value) for name, value in args.items())
        if isinstance(args.get("csr_path"), str):
            args["csr_path"] = "{dir}/" + args["csr_path"]
        cases.append(Case("okms_credential", "[okms_credential table] " + label, args, None, (re.compile(pattern),)))
    return cases


def aggregated_service_key_cases():
    return [Case("okms_service_key", "[okms_service_key table] " + label, dict(args), None, (message,))
            for label, args, message in service_key_table.BAD_INPUTS]


def module_options(name):
    """The options a module documents, its connection options included."""
    options = set(yaml.safe_load(MODULES[name].DOCUMENTATION)["options"])
    if name != "okms_host_key":
        options.update(okms_module.CONNECTION_ARGUMENT_SPEC)
    return options


TABLE = CONNECTION + ARGUMENTS + aggregated_credential_cases() + aggregated_service_key_cases()
IDS = ["%03d/%d %s: %s" % (index + 1, len(TABLE), entry.module, entry.label) for index, entry in enumerate(TABLE)]


# -- the account ------------------------------------------------------------------------------------------


def key_pem(key, encryption=serialization.NoEncryption()):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def csr_pem(key):
    return credential_table.make_csr(key).encode("ascii")


def forged_csr():
    """A CSR whose signature does not match its content (one byte of the signed part changed)."""
    from cryptography import x509
    csr = x509.load_pem_x509_csr(csr_pem(ec.generate_private_key(ec.SECP256R1())))
    der = bytearray(csr.public_bytes(serialization.Encoding.DER))
    marker = der.find(b"web1")
    der[marker] = ord("W")
    forged = x509.load_der_x509_csr(bytes(der))
    return forged.public_bytes(serialization.Encoding.PEM)


class Account:
    """The fake API with every resource, and the directory of its files."""

    def __init__(self, directory):
        self.api = FakeOkmsApi()
        self.instances = instances.install(self.api, credential_route=False)
        self.okms_id = self.instances.add_instance("eu-west-rbx", name="production")
        self.keys = service_keys.install(self.api)
        self.keys.add_kms(self.okms_id)
        self.keys.add_key(self.okms_id, "fixed", "oct", size=128)
        self.keys.add_key(self.okms_id, "twin", "EC")
        self.keys.add_key(self.okms_id, "twin", "EC")
        self.credentials = credentials.install(self.api, kms_route=False)
        self.credentials.add_kms(self.okms_id)
        self.directory = directory
        web1_key = ec.generate_private_key(ec.SECP256R1())
        self.credentials.seed(self.okms_id, "web1", public_key=web1_key.public_key())
        self.write("web1.key", key_pem(web1_key), 0o600)
        self.write("rsa.csr", credential_table.rsa_csr().encode("ascii"))
        self.write("garbage.csr", b"-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgY3Ny\n-----END CERTIFICATE REQUEST-----\n")
        self.write("k1.csr", csr_pem(ec.generate_private_key(ec.SECP256K1())))
        self.write("rsa1024.csr", csr_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)))
        self.write("forged.csr", forged_csr())
        self.write("33.bin", os.urandom(33))
        self.write("ec.pub", ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        (directory / "dir").mkdir()
        self.values = {
            "{dir}": str(directory), "{kms}": self.okms_id,
            "{rsa1024}": key_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)).decode("ascii"),
            "{encrypted}": key_pem(ec.generate_private_key(ec.SECP256R1()),
                                   serialization.BestAvailableEncryption(b"passphrase")).decode("ascii"),
        }

    def write(self, name, content, mode=0o644):
        path = self.directory / name
        path.write_bytes(content)
        os.chmod(str(path), mode)

    def fill(self, value):
        if isinstance(value, str):
            for marker, text in self.values.items():
                value = value.replace(marker, text)
            return value
        if isinstance(value, list):
            return [self.fill(item) for item in value]
        if isinstance(value, dict):
            return dict((name, self.fill(item)) for name, item in value.items())
        return value

    def state(self):
        """Everything the fake account holds, to compare before and after."""
        return (sorted(self.instances.instances), sorted(self.instances.orders),
                self.keys.keys(self.okms_id), self.credentials.credentials(self.okms_id))

    def disk(self):
        """Every file and directory under the account's directory, with mode and content."""
        found = {}
        for root, directories, files in os.walk(str(self.directory)):
            for name in directories + files:
                path = os.path.join(root, name)
                content = None if os.path.isdir(path) else open(path, "rb").read()
                found[os.path.relpath(path, str(self.directory))] = (os.stat(path).st_mode, content)
        return found


@pytest.fixture
def account(tmp_path):
    directory = tmp_path / "files"
    directory.mkdir()
    return Account(directory)


@pytest.fixture
def run_case(run_module, monkeypatch, account):
    """Runs a case as a user's task: the connection options are resolved and checked as in a real run (the
    client is built for real, then the fake answers its requests)."""
    real_client = okms_module.OvhApiClient

    def client(config, **kwargs):
        real_client(config, **kwargs)
        return account.api

    monkeypatch.setattr(okms_module, "OvhApiClient", client)

    def run(entry, check_mode):
        args = dict(BASE_ARGS[entry.module])
        if entry.module != "okms_host_key":
            args.update(OAUTH2)
        args.update(entry.args)
        args = account.fill(dict((name, value) for name, value in args.items() if value is not UNSET))
        return run_module(MODULES[entry.module], args, check_mode=check_mode)

    return run


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check"])
@pytest.mark.parametrize("entry", TABLE, ids=IDS)
def test_bad_input_fails_naming_the_option_sending_and_writing_nothing(account, run_case, entry, check_mode):
    state, disk = account.state(), account.disk()
    outcome = run_case(entry, check_mode)
    if check_mode and entry.real_run_only:
        assert not outcome.failed, outcome.result
        assert account.api.mutations() == []
        assert account.state() == state
        assert account.disk() == disk
        return
    assert outcome.failed, outcome.result
    message = outcome.result["msg"]
    for fragment in entry.fragments:
        if hasattr(fragment, "search"):
            assert fragment.search(message), message
        else:
            assert account.fill(fragment) in message, message
    if entry.option is not None:
        assert re.search(r"(^|[^\w.])%s([^\w]|$)" % re.escape(entry.option), message), message
    else:
        # Aggregated cases: the message names an option of the module (the one set, or the one to set instead).
        assert any(re.search(r"(^|[^\w])%s([^\w]|$)" % re.escape(name), message)
                   for name in module_options(entry.module)), message
    assert outcome.result.get("changed", False) is False
    assert account.api.mutations() == []
    assert account.state() == state
    assert account.disk() == disk
    assert "PRIVATE KEY" not in repr(outcome.result)


def test_the_table_covers_every_module(capsys):
    per_module = collections.Counter(entry.module for entry in TABLE)
    assert sorted(per_module) == sorted(MODULES)
    assert len(TABLE) >= 80
    assert len(set(IDS)) == len(TABLE)
    with capsys.disabled():
        print("\nbad-input table: %d cases (%s)" % (len(TABLE), ", ".join(
            "%s %d" % (module, per_module[module]) for module in sorted(per_module))))
