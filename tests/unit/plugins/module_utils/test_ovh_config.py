# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_config import (
    build_url,
    default_token_urls,
    resolve_config,
    resolve_endpoint,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhConfigurationError

AK = dict(application_key="ak-opt", application_secret="as-opt-s3cr3t", consumer_key="ck-opt-s3cr3t")
NO_FILES = ()


def options(**values):
    base = dict(endpoint=None, application_key=None, application_secret=None, consumer_key=None,
                client_id=None, client_secret=None)
    base.update(values)
    return base


@pytest.mark.parametrize("name, url", [
    ("ovh-eu", "https://eu.api.ovh.com/1.0"),
    ("ovh-ca", "https://ca.api.ovh.com/1.0"),
    ("ovh-us", "https://api.us.ovhcloud.com/1.0"),
])
def test_endpoint_names(name, url):
    assert resolve_endpoint(name) == (name, url)


def test_full_url_endpoint_is_kept_without_trailing_slash():
    assert resolve_endpoint("https://127.0.0.1:8443/1.0/") == (None, "https://127.0.0.1:8443/1.0")


def test_unknown_endpoint_name_is_refused_with_the_known_names():
    with pytest.raises(OvhConfigurationError, match="ovh-ca, ovh-eu, ovh-us"):
        resolve_endpoint("ovh-moon")


@pytest.mark.parametrize("base, path, expected", [
    ("https://eu.api.ovh.com/1.0", "/v2/okms/resource", "https://eu.api.ovh.com/v2/okms/resource"),
    ("https://eu.api.ovh.com/1.0", "/v1/order/cart", "https://eu.api.ovh.com/v1/order/cart"),
    ("https://eu.api.ovh.com/1.0", "/order/cart", "https://eu.api.ovh.com/1.0/order/cart"),
    ("https://eu.api.ovh.com/1.0", "auth/time", "https://eu.api.ovh.com/1.0/auth/time"),
    ("https://127.0.0.1:9/1.0", "/v2/okms/resource/x", "https://127.0.0.1:9/v2/okms/resource/x"),
    ("https://proxy.example/ovh", "/v2/okms/resource", "https://proxy.example/ovh/v2/okms/resource"),
    ("https://proxy.example/ovh", "/me", "https://proxy.example/ovh/me"),
])
def test_build_url_prefix_rule(base, path, expected):
    assert build_url(base, path) == expected


def test_token_urls_by_name_and_for_custom_urls():
    assert default_token_urls("ovh-eu", "x") == ["https://www.ovh.com/auth/oauth2/token"]
    # Both published ovh-ca addresses are tried, in order.
    assert default_token_urls("ovh-ca", "x") == [
        "https://ca.ovh.com/auth/oauth2/token", "https://www.ovh.ca/auth/oauth2/token"]
    assert default_token_urls(None, "https://127.0.0.1:8443/1.0") == ["https://127.0.0.1:8443/auth/oauth2/token"]


def test_options_win_over_environment_and_files(tmp_path):
    conf = tmp_path / "ovh.conf"
    conf.write_text("[default]\nendpoint=ovh-ca\n[ovh-eu]\napplication_key=ak-file\n")
    env = {"OVH_ENDPOINT": "ovh-us", "OVH_APPLICATION_KEY": "ak-env",
           "OVH_APPLICATION_SECRET": "as-env", "OVH_CONSUMER_KEY": "ck-env"}
    config = resolve_config(options(endpoint="ovh-eu", **AK), env, [str(conf)])
    assert config.endpoint_name == "ovh-eu"
    assert config.values["application_key"] == "ak-opt"
    assert config.sources["application_key"] == "module option application_key"


def test_environment_wins_over_files_field_by_field(tmp_path):
    conf = tmp_path / "ovh.conf"
    conf.write_text("[default]\nendpoint=ovh-eu\n[ovh-eu]\napplication_key=ak-file\n"
                    "application_secret=as-file\nconsumer_key=ck-file\n")
    config = resolve_config(options(), {"OVH_CONSUMER_KEY": "ck-env"}, [str(conf)])
    assert config.base_url == "https://eu.api.ovh.com/1.0"
    assert config.values == dict(application_key="ak-file", application_secret="as-file",
                                 consumer_key="ck-env", client_id=None, client_secret=None)
    assert config.sources["consumer_key"] == "environment variable OVH_CONSUMER_KEY"
    assert config.auth_method == "application_key"


def test_later_config_file_wins(tmp_path):
    first = tmp_path / "etc.conf"
    second = tmp_path / "home.conf"
    first.write_text("[default]\nendpoint=ovh-eu\n[ovh-eu]\nclient_id=id-etc\nclient_secret=secret-etc\n")
    second.write_text("[ovh-eu]\nclient_id=id-home\n")
    config = resolve_config(options(), {}, [str(first), str(second), str(tmp_path / "missing.conf")])
    assert config.values["client_id"] == "id-home"
    assert config.values["client_secret"] == "secret-etc"
    assert config.auth_method == "oauth2"


def test_ini_section_follows_the_endpoint(tmp_path):
    conf = tmp_path / "ovh.conf"
    conf.write_text("[ovh-eu]\nclient_id=eu\nclient_secret=eu-s\n[ovh-ca]\nclient_id=ca\nclient_secret=ca-s\n")
    config = resolve_config(options(endpoint="ovh-ca"), {}, [str(conf)])
    assert config.values["client_id"] == "ca"


def test_both_methods_is_an_error_naming_sources_not_values():
    with pytest.raises(OvhConfigurationError) as err:
        resolve_config(options(endpoint="ovh-eu", **AK), {"OVH_CLIENT_ID": "cid", "OVH_CLIENT_SECRET": "cs-s3cr3t"},
                       NO_FILES)
    text = str(err.value)
    assert "Both application-key credentials" in text
    assert "client_id (from environment variable OVH_CLIENT_ID)" in text
    assert "application_secret (from module option application_secret)" in text
    assert "s3cr3t" not in text


def test_no_credentials_names_every_place_looked(tmp_path):
    with pytest.raises(OvhConfigurationError) as err:
        resolve_config(options(endpoint="ovh-eu"), {}, ["/etc/ovh.conf", "~/.ovh.conf", "./ovh.conf"])
    text = str(err.value)
    for place in ("module option application_key", "OVH_APPLICATION_KEY", "OVH_CLIENT_SECRET",
                  "/etc/ovh.conf", "~/.ovh.conf", "./ovh.conf", "[ovh-eu]"):
        assert place in text


def test_no_endpoint_names_every_place_looked():
    with pytest.raises(OvhConfigurationError) as err:
        resolve_config(options(**AK), {}, NO_FILES)
    assert "module option endpoint" in str(err.value)
    assert "OVH_ENDPOINT" in str(err.value)


def test_incomplete_credentials_say_what_is_missing():
    with pytest.raises(OvhConfigurationError) as err:
        resolve_config(options(endpoint="ovh-eu", application_key="ak", application_secret="as-s3cr3t"), {}, NO_FILES)
    assert "consumer_key missing" in str(err.value)
    assert "s3cr3t" not in str(err.value)
