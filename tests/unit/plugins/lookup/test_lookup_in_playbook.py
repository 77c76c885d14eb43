# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lookup built on OkmsLookupBase, run by ansible-playbook as users run it.

The lookup is written here, into the playbook's adjacent ``lookup_plugins/``
directory (the collection ships none yet); the collection comes from
ANSIBLE_COLLECTIONS_PATH through Ansible's own collection loader and doc
fragment loading. The play sets the role's ``okms_api_*`` variables (one
templated, one empty as in the role's defaults), OVH_* variables and
``~/.ovh.conf`` fill in the rest, and a local plain-HTTP API records which
credentials every request carried. The whole ``-vvv`` output must hold no secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

from ansible_collections.ovhcloud.kms.plugins.plugin_utils import okms_lookup
from ansible_collections.ovhcloud.kms.tests.unit.plugins.plugin_utils.local_ovh_api import LocalOvhApi

# .../ansible_collections/ovhcloud/kms/plugins/plugin_utils/okms_lookup.py -> the directory holding ansible_collections
COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(okms_lookup.__file__), *[os.pardir] * 5))

PLAY_SECRET = "play-application-secret-31d7"
CONF_SECRET = "conf-application-secret-6a2b"
ENV_CONSUMER = "env-consumer-key-0e9c"
TASK_CONSUMER = "task-consumer-key-44f1"
SECRETS = (PLAY_SECRET, CONF_SECRET, ENV_CONSUMER, TASK_CONSUMER)

PROBE_LOOKUP = r'''
DOCUMENTATION = r"""
name: okms_playbook_probe
short_description: GETs each term with the collection's API client (test only)
description: [GETs each term with the collection's API client.]
extends_documentation_fragment:
  - ovhcloud.kms.api
  - ovhcloud.kms.api.plugins
"""

from ansible_collections.ovhcloud.kms.plugins.plugin_utils.okms_lookup import OkmsLookupBase


class LookupModule(OkmsLookupBase):
    def lookup(self, terms, variables):
        return [self.api_client().get(term) for term in terms]
'''

PLAYBOOK = r"""
- name: Lookups read the connection the way the role's modules do
  hosts: localhost
  gather_facts: false
  vars:
    # What a play configuring the role sets. The endpoint is left to ~/.ovh.conf, the consumer key
    # (empty, as in the role's defaults) to OVH_CONSUMER_KEY.
    okms_api_application_key: play-ak
    okms_api_application_secret: "{{ vaulted_application_secret }}"
    okms_api_consumer_key: ""
  # Secrets in a file of their own, as in a vault (failing tasks show the playbook's lines).
  vars_files: [secrets.yml]
  tasks:
    - name: Play variables, OVH_* variables and ovh.conf together
      ansible.builtin.set_fact:
        from_play: "{{ lookup('okms_playbook_probe', '/v2/okms/resource/play') }}"

    - name: A task variable beats the environment, a lookup option beats the variables
      ansible.builtin.set_fact:
        from_option: "{{ lookup('okms_playbook_probe', '/v2/okms/resource/option', application_key='option-ak') }}"
      vars:
        okms_api_consumer_key: "{{ task_consumer_key }}"

    - name: An API error fails the task with the module's text
      ansible.builtin.set_fact:
        denied: "{{ lookup('okms_playbook_probe', '/v2/okms/resource/denied') }}"
      register: denied
      ignore_errors: true

    - name: A configuration error names its sources
      ansible.builtin.set_fact:
        both: "{{ lookup('okms_playbook_probe', '/v2/okms/resource/never', client_id='cid') }}"
      register: both
      ignore_errors: true

    - name: The lookups returned the API's answers and failed with readable messages
      ansible.builtin.assert:
        that:
          - from_play.id == 'kms-play'
          - from_option.id == 'kms-option'
          - denied is failed
          - >-
            'GET /v2/okms/resource/denied, HTTP 403, Client::Forbidden: This call has not been granted
            (X-Ovh-QueryID: EU.ext-1.denied)' in denied.msg
          - both is failed
          - "'OVHcloud API configuration: Both application-key credentials' in both.msg"
          - "'consumer_key (from environment variable OVH_CONSUMER_KEY)' in both.msg"
          - "'use exactly one authentication method' in both.msg"
"""


def test_play_variables_environment_and_ovh_conf_configure_a_lookup(tmp_path):
    (tmp_path / "lookup_plugins").mkdir()
    (tmp_path / "lookup_plugins" / "okms_playbook_probe.py").write_text(PROBE_LOOKUP)
    (tmp_path / "playbook.yml").write_text(PLAYBOOK)
    (tmp_path / "secrets.yml").write_text("vaulted_application_secret: %s\ntask_consumer_key: %s\n"
                                          % (PLAY_SECRET, TASK_CONSUMER))

    with LocalOvhApi() as api:
        (tmp_path / ".ovh.conf").write_text(
            "[default]\nendpoint=%s\n\n[%s]\napplication_key=conf-ak\napplication_secret=%s\n"
            % (api.endpoint, api.endpoint, CONF_SECRET))
        api.answers["/v2/okms/resource/play"] = (200, {"id": "kms-play"}, {})
        api.answers["/v2/okms/resource/option"] = (200, {"id": "kms-option"}, {})
        api.answers["/v2/okms/resource/denied"] = (
            403, {"class": "Client::Forbidden", "message": "This call has not been granted"},
            {"X-Ovh-QueryID": "EU.ext-1.denied"})
        env = dict((name, value) for name, value in os.environ.items()
                   if not name.startswith(("OVH_", "ANSIBLE_")) and name != "PYTHONPATH")
        env.update(HOME=str(tmp_path), ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_NOCOLOR="1",
                   OVH_CONSUMER_KEY=ENV_CONSUMER, REQUESTS_CA_BUNDLE=api.ca_path)
        playbook = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-vvv", "-i", "localhost,",
             "-c", "local", "playbook.yml"],
            cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, check=False)
        output = playbook.stdout.decode("utf-8", "replace")

    assert playbook.returncode == 0, output
    assert "ok=5" in output and "failed=0" in output, output

    play, = api.calls_to("/v2/okms/resource/play")
    assert play.headers["X-Ovh-Application"] == "play-ak"
    assert api.signed_with(play, PLAY_SECRET, ENV_CONSUMER)

    option, = api.calls_to("/v2/okms/resource/option")
    assert option.headers["X-Ovh-Application"] == "option-ak"
    assert api.signed_with(option, PLAY_SECRET, TASK_CONSUMER)

    assert api.calls_to("/v2/okms/resource/never") == []
    for secret in SECRETS:
        assert secret not in output
