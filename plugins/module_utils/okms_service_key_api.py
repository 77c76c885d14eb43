# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The service keys of one KMS, through the OVHcloud API (``/v2/okms/resource/{okmsId}/serviceKey``).

Used by ``okms_service_key`` and ``okms_service_key_info``. Every method names
what it is doing in its errors ("create service key 'db'"); a write whose
answer was lost is settled by re-reading the key: carried on when it took
effect, sent again when the re-read proves it did not. A key's name is only
unique by convention, so creating is guarded twice: the absence of the name is
read a second time before creating, and a same-name twin made meanwhile is
detected after creating, the older key kept and the one just made removed.
Objects are returned as the API sends them (camelCase); the modules shape them
with ``service_key_to_result``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_resource import Confirmation, ResourceApi
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_service_key import (
    COMPROMISE_REASONS,
    DESTROYED_STATES,
    creation_body,
    import_body,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError

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


def creation_order(key):
    """Sort key: oldest first (``createdAt``, then id, so that every run picks the same one)."""
    return (key.get("createdAt") or "", key.get("id") or "")


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

    def find_by_name(self, name, listing=None):
        """The key named ``name`` that is not destroyed, or None; raises ServiceKeyNameConflict if several are.

        ``listing``: the KMS's keys as ``list()`` returned them, already read for several names.
        """
        matches = self._live_named(name, listing)
        if len(matches) > 1:
            raise ServiceKeyNameConflict(self.okms_id, name, [key["id"] for key in matches])
        return matches[0] if matches else None

    def find_before_creating(self, name):
        """``find_by_name`` read once more, just before a create it found no key for.

        A list read while another task deletes a key can shift an item out of
        sight (offset cursors); a second, separate reading finds the key then,
        instead of creating a second one.
        """
        return self.find_by_name(name)

    def _live_named(self, name, listing=None):
        """The keys named ``name`` that are not destroyed, oldest first (read now unless ``listing`` is given)."""
        keys = self.list() if listing is None else listing
        live = [key for key in keys if key.get("name") == name and key.get("state") not in DESTROYED_STATES]
        return sorted(live, key=creation_order)

    def _where(self):
        return "in KMS %s (GET %s)" % (self.okms_id, self.collection_path)

    def _check_named(self, name):
        return "check whether a service key named '%s' exists %s before running again" % (name, self._where())

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
        name = body["name"]
        listed = []

        def confirm():
            made = self._live_named(name)
            listed.append(made)
            if not made:
                return Confirmation.absent()
            # Only a name with no live key is created, so these were all made meanwhile; with
            # several, which one this write made cannot be told, and _keep_oldest settles them.
            return Confirmation.applied(made[0] if len(made) == 1 else None)

        created = self.write_then_confirm(action, lambda: self.client.post(self.collection_path, body), confirm,
                                          check=self._check_named(name))
        # A listing made after the last write sees its twins as well as a new one would.
        return self._keep_oldest(name, created, listed[-1] if listed and listed[-1] else None)

    def _keep_oldest(self, name, created, twins=None):
        """The key to keep after creating ``name``: the oldest live one, removing what this run made besides.

        Another task may create the same name at the same time, or a listing
        may have missed the key: every such run keeps the oldest key and
        removes its own newer one, which is seconds old and protects no data.
        ``created`` is None when the create's answer was lost and several keys
        of the name appeared: all but the oldest are then removed. ``twins``:
        the live keys of that name, when a listing after the create has them.
        """
        if twins is None:
            twins = self._live_named(name)
        if created is not None and len(twins) <= 1:
            return created
        if not twins:
            raise OvhApiError("service key '%s' was created but is no longer listed %s" % (name, self._where()))
        keep = twins[0]
        made_here = [created] if created is not None else twins[1:]
        for key in made_here:
            if key["id"] != keep["id"]:
                self._remove_twin(key, keep)
        return keep if created is None or created["id"] != keep["id"] else created

    def _remove_twin(self, key, keep):
        try:
            if key.get("state") == "ACTIVE":
                self.change_state(key, {"state": "DEACTIVATED", "deactivationReason": "SUPERSEDED"},
                                  action="deactivate duplicate service key %s" % key_label(key))
            self.delete(key, action="delete duplicate service key %s" % key_label(key))
        except OvhApiError as exc:
            if exc.status == 404:
                return  # removed meanwhile, by the task that made it
            # A key was created: this is no refusal, whatever the status of the removal.
            raise OvhApiError(
                "service key %s was just created, but an older key of the same name, %s, exists; removing the new "
                "one failed (%s): delete service key %s yourself (its state is %s)"
                % (key_label(key), key_label(keep), exc, key["id"], key.get("state")),
                error_class=exc.error_class, query_id=exc.query_id, method=exc.method, path=exc.path)

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
            if current is None:
                return Confirmation.undecidable("service key %s is no longer found %s: check who deleted it"
                                                % (key_label(key), self._where()))
            if all(current.get(field) == value for field, value in expected.items()):
                return Confirmation.applied(current)
            return Confirmation.absent()

        wanted = ", ".join("%s %s" % (field, value) for field, value in sorted(expected.items()))
        return self.write_then_confirm(
            action, lambda: self.client.put(self.key_path(key["id"]), body), confirm,
            check="check whether service key %s has %s (GET %s) before running again"
            % (key_label(key), wanted, self.key_path(key["id"])))

    def delete(self, key, action=None):
        """Delete the key (the API refuses an ACTIVE one)."""
        def confirm():
            current = self.get(key["id"])
            if current is None or current.get("state") in DESTROYED_STATES:
                return Confirmation.applied()
            return Confirmation.absent()

        return self.write_then_confirm(
            action or "delete service key %s" % key_label(key), lambda: self.client.delete(self.key_path(key["id"])),
            confirm, check="check whether service key %s still exists (GET %s) before running again"
            % (key_label(key), self.key_path(key["id"])))
