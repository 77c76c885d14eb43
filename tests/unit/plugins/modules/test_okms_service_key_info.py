# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""okms_service_key_info against the in-memory fake of the API: filters, formats, and the module's shape."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ovhcloud.kms.plugins.modules import okms_service_key, okms_service_key_info
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.service_keys import ITEM, install

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"


@pytest.fixture
def api():
    api = FakeOkmsApi()
    keys = install(api)
    keys.add_kms(OKMS_ID)
    keys.add_key(OKMS_ID, "aes", "oct")
    keys.add_key(OKMS_ID, "rsa", "RSA", state="DEACTIVATED")
    keys.add_key(OKMS_ID, "ec", "EC", curve="P-384")
    keys.add_key(OKMS_ID, "old", "EC", state="DESTROYED")
    return api


@pytest.fixture
def info(run_module, api):
    def run(**options):
        outcome = run_module(okms_service_key_info, dict(options, okms_id=OKMS_ID), api)
        assert not outcome.failed, outcome.result
        assert outcome.result["changed"] is False
        return outcome.result["service_keys"]
    return run


def test_every_key_in_the_shape_okms_service_key_returns(run_module, api, info):
    keys = info()
    assert [key["name"] for key in keys] == ["aes", "rsa", "ec", "old"]
    same = run_module(okms_service_key, dict(okms_id=OKMS_ID, name="ec"), api).result["service_key"]
    assert keys[2] == same
    assert keys[2]["size"] is None and keys[2]["iam"]["tags"] == {"ovh:type": "EC", "ovh:state": "ACTIVE"}
    assert api.mutations() == []


@pytest.mark.parametrize("options, names", [
    ({"type": "EC"}, ["ec", "old"]),
    ({"state": "active"}, ["aes", "ec"]),
    ({"state": "DESTROYED"}, ["old"]),
    ({"name": "rsa"}, ["rsa"]),
    ({"name": "rsa", "state": "active"}, []),
    ({"name": "nothing"}, []),
])
def test_filters(info, options, names):
    assert [key["name"] for key in info(**options)] == names


def test_one_key_by_id_with_its_public_pem(info, api):
    key_id = [key["id"] for key in api.service_keys.keys(OKMS_ID) if key["name"] == "rsa"][0]
    keys = info(id=key_id, format="pem")
    assert [key["name"] for key in keys] == ["rsa"]
    assert keys[0]["keys_pem"][0]["pem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert info(id=key_id, type="oct") == []
    assert info(id="00000000-0000-4000-8000-000000000000") == []


def test_jwk_format_reads_each_key_and_never_returns_material(info, api):
    keys = info(type="oct", format="jwk")
    assert [key["keys"] for key in keys] == [[{"kid": keys[0]["id"], "kty": "oct",
                                               "key_ops": ["encrypt", "decrypt"]}]]
    assert [request.params for request in api.calls("GET", ITEM)] == [{"format": "JWK"}]


def test_an_unknown_kms_fails_naming_what_was_read(run_module, api):
    other = "11111111-2222-4333-8444-555555555555"
    outcome = run_module(okms_service_key_info, dict(okms_id=other), api)
    assert outcome.failed
    assert outcome.result["msg"].startswith("cannot read the service keys of KMS %s: GET " % other)
    assert outcome.result["api_error"]["status"] == 404
