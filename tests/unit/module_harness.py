# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running a module's main() in a unit test: its arguments, and how it ended."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json

from ansible.module_utils import basic


@contextlib.contextmanager
def module_args(args):
    """Make ``args`` the arguments an AnsibleModule built inside the block receives."""
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core < 2.19
        patch_module_args = None
    if patch_module_args:
        with patch_module_args(args):
            yield
    else:
        old = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old


class ModuleOutcome(Exception):
    """How a module run ended: ``failed`` and the ``result`` it returned (``msg``, ``changed``, ...)."""

    def __init__(self, failed, result):
        super(ModuleOutcome, self).__init__(result.get("msg"))
        self.failed = failed
        self.result = result

    @property
    def warnings(self):
        return self.result.get("warnings", [])
