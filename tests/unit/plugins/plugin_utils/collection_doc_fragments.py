# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A plugin's documentation merged with the collection's doc fragments, by Ansible's own merge code."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib

import yaml

from ansible.utils.plugin_docs import add_fragments


class CollectionFragments:
    """Finds ``ovhcloud.kms.<name>`` doc fragments as Ansible's fragment loader does.

    The real loader needs Ansible's collection finder, which cannot be
    installed into a test process that already imported the collection.
    """

    def get(self, name):
        parts = name.split(".")
        if len(parts) != 3 or parts[:2] != ["ovhcloud", "kms"]:
            return None
        module = importlib.import_module("ansible_collections.ovhcloud.kms.plugins.doc_fragments." + parts[2])
        fragment = module.ModuleDocFragment()
        fragment.ansible_name = name
        return fragment


def merged_documentation(documentation, filename, is_module=False):
    """The DOCUMENTATION text as Ansible shows it: its ``extends_documentation_fragment`` merged in."""
    doc = yaml.safe_load(documentation)
    add_fragments(doc, filename, CollectionFragments(), is_module=is_module)
    return doc
