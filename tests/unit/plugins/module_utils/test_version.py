# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The version the API clients announce is the collection's (galaxy.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

from ansible_collections.ovhcloud.kms.plugins.module_utils import version

# .../kms/plugins/module_utils/version.py -> .../kms, the collection the tests run from.
COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(version.__file__))))


def test_collection_version_is_galaxy_yml_version():
    with open(os.path.join(COLLECTION_ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    assert galaxy["namespace"] == "ovhcloud" and galaxy["name"] == "kms"
    assert version.COLLECTION_VERSION == str(galaxy["version"])


def test_the_user_agent_names_the_caller_so_access_logs_tell_tasks_apart():
    assert version.user_agent() == "ansible-collection-ovhcloud.kms/%s" % version.COLLECTION_VERSION
    assert version.user_agent("okms_credential") == version.USER_AGENT + " (okms_credential)"
