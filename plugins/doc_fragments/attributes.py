# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Descriptions of the attributes every module of the collection declares;
    # each module states its own level of support.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description:
      - Can run in check mode and predict C(changed) without sending any mutating request to the API
        or writing any file.
  diff_mode:
    description:
      - Returns what changed (or would change in check mode) when run in diff mode; never key material.
  idempotent:
    description:
      - Run again with the same options, it reports no change and sends no mutating request.
  action_group:
    description:
      - Part of the C(ovhcloud.kms.okms) action group, so C(module_defaults) can set the connection
        options once for every module of the collection.
    support: full
    membership:
      - ovhcloud.kms.okms
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: all
"""
