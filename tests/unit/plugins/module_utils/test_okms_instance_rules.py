# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules and shapes of KMS instances, and the documentation of the two modules that return them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_instance import (
    cart_description,
    instance_to_diff,
    instance_to_result,
    is_unnamed,
    matches,
    parse_okms_id,
    termination_token_in,
)
from ansible_collections.ovhcloud.kms.plugins.modules import okms_instance, okms_instance_info
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms import instances
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"


def delivered_kms(name=None):
    """A KMS as the API returns it with ?publicCA=true (the fake follows the emulator's fields)."""
    account = instances.install(FakeOkmsApi())
    okms_id = account.add_instance("eu-west-rbx", name=name)
    return account.api.get("/v2/okms/resource/%s" % okms_id, params={"publicCA": "true"})


def test_result_has_exactly_the_documented_keys_of_both_modules():
    documented = yaml.safe_load(okms_instance.RETURN)["instance"]["contains"]
    documented_info = yaml.safe_load(okms_instance_info.RETURN)["instances"]["contains"]
    assert documented_info == documented
    result = instance_to_result(delivered_kms(name="prod"))
    assert sorted(result) == sorted(documented)
    assert result["name"] == "prod"
    assert result["iam"]["display_name"] == "prod"
    # System tags keep their names.
    assert result["iam"]["tags"] == {"ovh:region": "eu-west-rbx"}


def test_result_without_cas_still_has_their_keys():
    resource = delivered_kms()
    del resource["publicCA"], resource["publicRsaCA"]
    result = instance_to_result(resource)
    assert result["public_ca"] is None and result["public_rsa_ca"] is None


def test_diff_shows_id_name_and_region_only():
    resource = delivered_kms(name="prod")
    assert instance_to_diff(resource) == {"id": resource["id"], "name": "prod", "region": "eu-west-rbx"}
    assert instance_to_diff({"region": "eu-west-gra", "iam": {"displayName": "next"}}) == {
        "id": None, "name": "next", "region": "eu-west-gra"}


@pytest.mark.parametrize("value, expected", [
    (OKMS_ID, OKMS_ID), (OKMS_ID.upper(), OKMS_ID), ("{%s}" % OKMS_ID, OKMS_ID),
])
def test_kms_ids_are_canonical(value, expected):
    assert parse_okms_id(value) == expected


@pytest.mark.parametrize("value", ["not-a-uuid", "5b8f6e2e", ""])
def test_a_kms_id_that_is_not_a_uuid_names_the_option_and_the_form(value):
    with pytest.raises(ValueError) as failure:
        parse_okms_id(value)
    assert str(failure.value) == "id must be a KMS id (a UUID such as %s), got '%s'" % (OKMS_ID, value)


def test_a_kms_is_unnamed_while_its_display_name_is_its_id():
    assert is_unnamed({"id": OKMS_ID, "iam": {"displayName": OKMS_ID}})
    assert is_unnamed({"id": OKMS_ID, "iam": {}})
    assert not is_unnamed({"id": OKMS_ID, "iam": {"displayName": "prod"}})


def test_matches_by_name_and_region():
    resource = {"region": "eu-west-rbx", "iam": {"displayName": "prod"}}
    assert matches(resource) and matches(resource, name="prod") and matches(resource, region="eu-west-rbx")
    assert not matches(resource, name="prod", region="eu-west-gra")
    assert not matches(resource, name="test")


def test_the_cart_description_holds_the_name_and_the_region():
    assert cart_description("prod", "eu-west-rbx") == "ovhcloud.kms okms_instance prod in eu-west-rbx"


def test_the_termination_token_is_read_from_this_services_link_only():
    body = "Hello,\nhttps://www.ovh.com/manager/#/billing/confirmTerminate?id=100042&token=0a1b2c\nBye"
    assert termination_token_in(body, 100042) == "0a1b2c"
    assert termination_token_in(body, 10004) is None
    assert termination_token_in(None, 100042) is None
