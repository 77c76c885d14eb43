# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The okms_decrypt lookup, run in-process against an in-memory KMS REST API (FakeKms).

Its options are registered with Ansible's configuration manager from its own
documentation merged with the collection's fragments, as the plugin loader does;
``data_client()`` is the fake. Errors never show the plaintext or the ciphertext.
(Reaching the KMS is OkmsLookupBase's and resolve_data_plane's, tested elsewhere;
the lookup through ansible-playbook is tested by the okms_encrypt integration target.)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import base64

import pytest

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.template import is_trusted_as_template

from ansible_collections.ovhcloud.kms.plugins.lookup import okms_decrypt as lookup_plugin
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_data_keys import ServiceKeyOperations
from ansible_collections.ovhcloud.kms.tests.unit.plugins.modules.test_okms_encrypt import OKMS_ID, FakeKms
from ansible_collections.ovhcloud.kms.tests.unit.plugins.plugin_utils.collection_doc_fragments import (
    merged_documentation,
)

NAME = "ovhcloud.kms.okms_decrypt"
PLAINTEXT = u"db-pass-\u00e9-5d1e {{ 7 * 6 }}"


def documentation():
    with open(lookup_plugin.__file__) as handle:
        tree = ast.parse(handle.read())
    text = next(node.value.value for node in tree.body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION")
    return merged_documentation(text, lookup_plugin.__file__)


@pytest.fixture
def kms():
    return FakeKms()


@pytest.fixture
def key(kms):
    return kms.add_key("app-data")


@pytest.fixture
def encrypted(kms, key):
    """``encrypted(plaintext_bytes, context=None, key=key)``: a ciphertext the fake KMS made."""
    def encrypt(plaintext=PLAINTEXT.encode("utf-8"), context=None, with_key=None):
        ciphertext = ServiceKeyOperations(kms).encrypt(with_key or key, plaintext, context)
        del kms.requests[:]
        return ciphertext
    return encrypt


@pytest.fixture
def lookup(kms, monkeypatch):
    """``lookup(*terms, **options)``: the plugin's result list."""
    C.config.initialize_plugin_configuration_definitions("lookup", NAME, documentation()["options"])
    monkeypatch.setattr(lookup_plugin.LookupModule, "data_client", lambda self: kms)

    def run(*terms, **options):
        plugin = lookup_plugin.LookupModule()
        plugin._load_name = NAME
        return plugin.run(list(terms), variables={}, **options)
    return run


def failure(lookup, *terms, **options):
    with pytest.raises(AnsibleError) as error:
        lookup(*terms, **options)
    message = str(error.value)
    assert "db-pass" not in message
    for term in terms:
        assert not (isinstance(term, str) and term.strip() and term.strip() in message)
    return message


def test_decrypts_with_the_key_named_in_the_ciphertext(lookup, kms, key, encrypted):
    ciphertext = encrypted(context="app/db")
    result = lookup(ciphertext, context="app/db")
    assert result == [PLAINTEXT]
    # Never rendered as a template: the plaintext may hold "{{".
    assert not is_trusted_as_template(result[0])
    assert kms.requests == [("POST", "/v1/servicekey/%s/decrypt" % key["id"])]


def test_several_terms_a_file_newline_and_an_explicit_key(lookup, kms, key, encrypted):
    first, second = encrypted(b"one"), encrypted(b"two")
    assert lookup(first + "\n", second, key_id=key["id"]) == ["one", "two"]


def test_base64_output_for_binary_data_and_text_output_refuses_it(lookup, encrypted):
    ciphertext = encrypted(b"\xff\x00\x01")
    assert lookup(ciphertext, output="base64") == [base64.b64encode(b"\xff\x00\x01").decode("ascii")]
    assert failure(lookup, ciphertext) == ("term 1 decrypts to bytes that are not UTF-8 text: give output=base64 "
                                           "to get them base64-encoded")


def test_a_wrong_context_is_the_kms_error_in_one_line_with_a_hint(lookup, key, encrypted):
    ciphertext = encrypted(context="app/db")
    message = failure(lookup, ciphertext, context="app/other")
    assert message == (
        "term 1: cannot decrypt with service key %s of KMS %s: POST /v1/servicekey/%s/decrypt, HTTP 400, 17125377: "
        "decryption failed: wrong key, altered ciphertext or different context (error_id: e-1, request_id: r-1); "
        "wrong key or context? A ciphertext decrypts only with the key that made it and the context it was "
        "encrypted with (context 'app/other' given)" % (key["id"], OKMS_ID, key["id"]))
    assert "\n" not in message
    assert "(no context given)" in failure(lookup, ciphertext)


def test_a_wrong_key(lookup, kms, encrypted):
    ciphertext = encrypted()
    other = kms.add_key("other")
    message = failure(lookup, ciphertext, key_id=other["id"])
    assert message.startswith("term 1: cannot decrypt with service key %s" % other["id"])
    assert "wrong key or context?" in message


def test_a_key_the_kms_does_not_have(lookup, kms, encrypted):
    ciphertext = encrypted()
    missing = "00000000-0000-4000-8000-000000000000"
    message = failure(lookup, ciphertext, key_id=missing)
    assert "HTTP 404" in message and message.endswith("; is it a ciphertext of this KMS (okms_id)?")


@pytest.mark.parametrize("terms, options, message", [
    (["not-a-jwe"], {}, "term 1 is not a KMS ciphertext (a JWE compact string naming its key in its header); "
                        "give key_id to decrypt it with a given key"),
    (["{ok}", "  "], {}, "term 2 is not a ciphertext: give the JWE compact strings ovhcloud.kms.okms_encrypt returns"),
    (["{ok}"], {"key_id": "app-data"}, "key_id must be a service key id (a UUID), got 'app-data'"),
    (["{ok}"], {"context": "c" * 65}, "context is 65 characters: the KMS takes at most 64"),
    (["{ok}"], {"output": "hex"}, "Invalid value 'hex' for config 'output'"),
])
def test_bad_input_fails_before_any_request(lookup, kms, encrypted, terms, options, message):
    ciphertext = encrypted()
    terms = [term.format(ok=ciphertext) for term in terms]
    assert failure(lookup, *terms, **options).startswith(message)
    assert kms.requests == []


def test_an_unreadable_config_file_fails_naming_it(tmp_path):
    C.config.initialize_plugin_configuration_definitions("lookup", NAME, documentation()["options"])
    plugin = lookup_plugin.LookupModule()
    plugin._load_name = NAME
    missing = str(tmp_path / "okms.yaml")
    with pytest.raises(AnsibleError) as error:
        plugin.run(["eyJhbGciOiJkaXIiLCJraWQiOiIwMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDAifQ..a.b.c"],
                   variables={}, config_file=missing)
    assert str(error.value) == ("KMS REST API configuration: config_file: cannot read %s: No such file or directory"
                                % missing)
