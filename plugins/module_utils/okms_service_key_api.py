# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The service keys of one KMS, through the OVHcloud API (``/v2/okms/resource/{okmsId}/serviceKey``).

Used by ``okms_service_key`` and ``okms_service_key_info``. Every method names
what it is doing in its errors ("create service key 'db'"); a write whose
answer was lost is settled by re-reading the key, never by sending it again.
Objects are returned as the API sends them (camelCase); the modules shape them
with ``service_key_to_result``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_resource import ResourceApi
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_service_key import (
    COMPROMISE_REASONS,
    DESTROYED_STATES,
    creation_body,
    import_body,
)

# The ``format`` query values of GET .../serviceKey/{keyId}: public material as a JWK or as PEM.
KEY_FORMATS = ("JWK", "PEM")


class ServiceKeyNameConflict(Exception):
    """Several keys that are not destroyed share the name that was asked for."""

    def __init__(self, okms_id, name, key_ids):
        super(ServiceKeyNameConflict, self).__init__(
            "%d service keys of KMS %s are named %s (ids: %s): give id to choose one"
            % (len(key_ids), okms_id, name, ", ".join(key_ids)))
        self.key_ids = key_ids


def key_label(key):
    """How errors name a key: ``'db' (0d4b...)``."""
    return "'%s' (%s)" % (key.get("name"), key.get("id"))


class ServiceKeyApi(ResourceApi):
    """The service keys of the KMS ``okms_id``."""

    def __init__(self, client, okms_id):
        super(ServiceKeyApi, self).__init__(client)
        self.okms_id = okms_id
        self.collection_path = "/v2/okms/resource/%s/serviceKey" % okms_id

    def key_path(self, key_id):
        return "%s/%s" % (self.collection_path, key_id)

    # -- reading ------------------------------------------------------------------

    def get(self, key_id, key_format=None):
        """The key, or None when it does not exist; ``key_format`` (JWK or PEM) adds its public material."""
        if key_format is not None and key_format not in KEY_FORMATS:
            raise ValueError("key_format must be one of %s" % ", ".join(KEY_FORMATS))
        return self.read(self.key_path(key_id), "read service key %s" % key_id,
                         params={"format": key_format} if key_format else None)

    def list(self):
        """Every key of the KMS (destroyed ones included), oldest first, every page."""
        return self.read_all(self.collection_path, "read the service keys of KMS %s" % self.okms_id)

    def find_by_name(self, name):
        """The key named ``name`` that is not destroyed, or None; raises ServiceKeyNameConflict if several are."""
        matches = [key for key in self.list() if key.get("name") == name and key.get("state") not in DESTROYED_STATES]
        if len(matches) > 1:
            raise ServiceKeyNameConflict(self.okms_id, name, [key["id"] for key in matches])
        return matches[0] if matches else None

    def public_key(self, key, key_format):
        """The key's public material: a public JWK (dict) for JWK, a PEM text for PEM; None if the key is gone.

        An oct key has a JWK without material and no PEM (None).
        """
        answer = self.get(key["id"], key_format)
        if answer is None:
            return None
        if key_format == "JWK":
            return (answer.get("keys") or [None])[0]
        return ((answer.get("keysPEM") or [{}])[0]).get("pem")

    # -- writing ------------------------------------------------------------------

    def create(self, name, spec, context=None):
        """Generate a key (``spec``: type, size, curve, operations); returns the API's answer."""
        return self._post(creation_body(name, spec, context), "create service key '%s'" % name)

    def import_key(self, name, jwk, context=None):
        """Import a private JWK; returns the API's answer (which never holds key material)."""
        return self._post(import_body(name, jwk, context), "import service key '%s'" % name)

    def _post(self, body, action):
        def confirm():
            # Only keys that do not exist are created, so a key of this name now is the one just made.
            created = self.find_by_name(body["name"])
            return created is not None, created

        return self.write_then_confirm(action, lambda: self.client.post(self.collection_path, body), confirm)

    def rename(self, key, name):
        return self._put(key, {"name": name}, "rename service key %s to '%s'" % (key_label(key), name),
                         expected={"name": name})

    def change_state(self, key, body, action=None):
        """Apply a state update (``{state, deactivationReason}``, see ``resolve_state_update``)."""
        # The API stores a deactivation for a compromise as COMPROMISED.
        state = "COMPROMISED" if body.get("deactivationReason") in COMPROMISE_REASONS else body["state"]
        return self._put(key, body, action or "move service key %s to %s" % (key_label(key), body["state"]),
                         expected={"state": state})

    def _put(self, key, body, action, expected):
        def confirm():
            current = self.get(key["id"])
            applied = current is not None and all(current.get(field) == value for field, value in expected.items())
            return applied, current

        return self.write_then_confirm(action, lambda: self.client.put(self.key_path(key["id"]), body), confirm)

    def delete(self, key):
        """Delete the key (the API refuses an ACTIVE one)."""
        def confirm():
            return self.get(key["id"]) is None, None

        return self.write_then_confirm("delete service key %s" % key_label(key),
                                       lambda: self.client.delete(self.key_path(key["id"])), confirm)
