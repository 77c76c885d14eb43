# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError
from ansible_collections.ovhcloud.kms.tests.unit.module_harness import module_args


class ModuleFailed(Exception):
    def __init__(self, kwargs):
        super(ModuleFailed, self).__init__(kwargs.get("msg"))
        self.kwargs = kwargs


@pytest.fixture(autouse=True)
def failures_raise(monkeypatch):
    # Isolation from the machine's OVH_* and ovh.conf comes from tests/unit/conftest.py.
    monkeypatch.setattr(OkmsModule, "fail_json", raise_module_failed)


def raise_module_failed(self, **kwargs):
    raise ModuleFailed(kwargs)


def make_module(args, spec=None):
    with module_args(args):
        return OkmsModule(argument_spec=spec or {}, supports_check_mode=True)


def test_shared_options_are_merged_with_module_options_and_secrets_are_no_log():
    module = make_module(dict(endpoint="ovh-eu", application_key="AK", application_secret="as-s3cr3t",
                              consumer_key="ck-s3cr3t", name="x"), spec=dict(name=dict(type="str")))
    assert module.params["name"] == "x"
    assert module.params["validate_certs"] is True
    assert module.params["timeout"] == 30
    assert {"as-s3cr3t", "ck-s3cr3t"} <= module.no_log_values
    assert "AK" not in module.no_log_values


def test_client_is_built_once():
    module = make_module(dict(endpoint="ovh-eu", client_id="cid", client_secret="cs-s3cr3t"))
    assert module.client is module.client
    assert module.client.auth.name == "oauth2"


def test_missing_credentials_fail_before_any_request():
    module = make_module(dict(endpoint="ovh-eu"))
    with pytest.raises(ModuleFailed) as err:
        module.client  # pylint: disable=pointless-statement
    assert err.value.kwargs["msg"].startswith("OVHcloud API configuration: No OVHcloud API credentials found")
    assert "OVH_CLIENT_ID" in err.value.kwargs["msg"]


def test_non_positive_timeout_is_refused():
    with pytest.raises(ModuleFailed, match="timeout must be a positive number"):
        make_module(dict(endpoint="ovh-eu", timeout=0))


def test_api_errors_become_one_readable_failure():
    module = make_module(dict(endpoint="ovh-eu", client_id="cid", client_secret="cs-s3cr3t"))
    error = OvhApiError("Key not found", status=404, error_class="Client::NotFound", query_id="EU.q9",
                        method="GET", path="/v2/okms/resource/o/serviceKey/k")
    with pytest.raises(ModuleFailed) as err:
        module.fail_api_error(error, msg_prefix="Cannot read service key", changed=False)
    kwargs = err.value.kwargs
    assert kwargs["msg"] == ("Cannot read service key: GET /v2/okms/resource/o/serviceKey/k, HTTP 404, "
                             "Client::NotFound: Key not found (X-Ovh-QueryID: EU.q9)")
    assert kwargs["api_error"]["query_id"] == "EU.q9"
    assert kwargs["changed"] is False


def test_an_unreadable_ca_path_fails_naming_the_option_before_any_request(tmp_path):
    missing = str(tmp_path / "missing-ca.pem")
    module = make_module(dict(endpoint="ovh-eu", client_id="cid", client_secret="cs-s3cr3t", ca_path=missing))
    with pytest.raises(ModuleFailed) as err:
        module.client  # pylint: disable=pointless-statement
    assert err.value.kwargs["msg"] == "ca_path: cannot read %s: No such file or directory" % missing


def test_an_http_endpoint_is_refused_before_any_request():
    module = make_module(dict(endpoint="http://eu.api.ovh.com/1.0", application_key="AK",
                              application_secret="as-s3cr3t", consumer_key="ck-s3cr3t"))
    with pytest.raises(ModuleFailed) as err:
        module.client  # pylint: disable=pointless-statement
    assert err.value.kwargs["msg"] == (
        "OVHcloud API configuration: endpoint is an http:// URL: every request carries the consumer key or an "
        "OAuth2 token (and the token request the client secret), which would travel in clear; use the https:// URL")


def test_the_client_names_the_module_in_its_user_agent():
    module = make_module(dict(endpoint="ovh-eu", client_id="cid", client_secret="cs-s3cr3t"))
    module._name = "ovhcloud.kms.okms_service_key"  # the task's action, as Ansible passes it
    user_agent = module.client.transport.session.headers["User-Agent"]
    assert user_agent.startswith("ansible-collection-ovhcloud.kms/") and user_agent.endswith(" (okms_service_key)")
