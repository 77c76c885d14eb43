# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Descriptions of the attributes every module declares. Modules add the
    # variants below and then state only what differs for them.
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
"""

    # A module that talks to the OVHcloud API: member of the okms action group, no target platform.
    # (Not named API: ansible-core resolves ovhcloud.kms.attributes.api to the ovhcloud.kms.api fragment.)
    API_MODULE = r"""
attributes:
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

    # A module that runs on the managed host and uses a KMS through its REST API: member of the okms action
    # group (module_defaults can give it the OVHcloud API settings an OAuth2 identity needs).
    DATA_PLANE_MODULE = r"""
attributes:
  action_group:
    description:
      - Part of the C(ovhcloud.kms.okms) action group, so C(module_defaults) can set the connection
        options once for every module of the collection.
    support: full
    membership:
      - ovhcloud.kms.okms
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
"""

    # A module that runs on the managed host and does not talk to the OVHcloud API.
    HOST = r"""
attributes:
  action_group:
    description:
      - Not part of the C(ovhcloud.kms.okms) action group, since it does not talk to the OVHcloud API.
    support: N/A
    membership: []
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
"""

    # An _info module: it only reads.
    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: N/A
    details: The module only reads.
  idempotent:
    support: full
    details: The module only reads.
"""
