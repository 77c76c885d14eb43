# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every resource layer (``okms_*_api.py``) is built on.

A resource layer owns its resource's paths, says what it is doing in its
errors ("create service key 'db'"), maps "not found" to None, and re-reads
after a write whose answer was lost. The last two are written here, once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
    api_action,
)

# HTTP statuses that mean "this object does not exist".
NOT_FOUND_STATUSES = (404,)


class ResourceApi:
    """Base of the resource layers: one API client, read-or-None, write-then-confirm."""

    def __init__(self, client):
        self.client = client

    def read(self, path, action, params=None, gone_statuses=NOT_FOUND_STATUSES):
        """The object at ``path``, or None when the API says it does not exist."""
        with api_action(action):
            try:
                return self.client.get(path, params=params)
            except OvhApiError as exc:
                if exc.status in gone_statuses:
                    return None
                raise

    def read_all(self, path, action, params=None):
        """Every item of a paginated list."""
        with api_action(action):
            return self.client.get_all(path, params=params)

    def write_then_confirm(self, action, write, confirm):
        """Run ``write()`` and return its answer; if the answer was lost, ask ``confirm()``.

        ``confirm()`` re-reads the resource and returns ``(applied, result)``:
        when the write took effect, ``result`` stands for its answer; when it
        cannot be shown to have taken effect, the ambiguity is raised, naming
        ``action``, so nothing is ever written twice.
        """
        with api_action(action):
            try:
                return write()
            except OvhAmbiguousRequestError:
                applied, result = confirm()
                if applied:
                    return result
                raise
