# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The access credentials of one KMS, as okms_credential and okms_credential_info use them.

Owns the credential paths; "not found" is None; a creation or revocation
whose answer was lost is confirmed by re-reading, never blindly repeated.
Lists are read in large pages (ResourceApi.read_all): a list read page by page
can skip an item when another is deleted meanwhile, and fewer pages leave fewer
chances (okms_credential also lists again before it creates).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import time

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential import (
    CredentialWaitError,
    wait_until_ready,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_resource import Confirmation, ResourceApi
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
    api_action,
)


UTC = datetime.timezone.utc


class CredentialKeyLostError(OvhApiError):
    """The credential was created, but the only answer carrying its private key (privateKeyPEM) was lost."""

    def __init__(self, credential, cause):
        super(CredentialKeyLostError, self).__init__(
            str(cause), status=cause.status, error_class=cause.error_class, query_id=cause.query_id,
            method=cause.method, path=cause.path, details=cause.details, error_code=cause.error_code)
        self.credential = credential
        self.credential_id = credential["id"]
        self.cause_text = str(cause)

    def __str__(self):
        # Says what happened; no "cannot <action>" prefix: the creation did happen.
        return ("credential %s was created but the response carrying its private key was lost (%s)"
                % (self.credential_id, self.cause_text))


def _already_being_deleted(exc):
    # DELETE on a DELETING credential: 400 Client::BadRequest::CredentialStatusInvalid.
    return exc.status == 400 and "StatusInvalid" in (exc.error_class or "")


class CredentialApi(ResourceApi):
    """The credentials of KMS ``okms_id``."""

    # How waiting passes time (tests replace them with a fake clock).
    sleep = staticmethod(time.sleep)
    clock = staticmethod(time.monotonic)

    def __init__(self, client, okms_id):
        super(CredentialApi, self).__init__(client)
        self.okms_id = okms_id

    # -- paths ---------------------------------------------------------------------------

    @property
    def kms_path(self):
        return "/v2/okms/resource/%s" % self.okms_id

    @property
    def collection_path(self):
        return "%s/credential" % self.kms_path

    def credential_path(self, credential_id):
        return "%s/%s" % (self.collection_path, credential_id)

    # -- reading -------------------------------------------------------------------------

    def get(self, credential_id):
        """The credential, or None when it does not exist (or no longer does)."""
        return self.read(self.credential_path(credential_id), "read credential %s" % credential_id)

    def list(self):
        """Every credential of the KMS, in the API's order (oldest first)."""
        return self.read_all(self.collection_path, "list the credentials of KMS %s" % self.okms_id)

    def list_named(self, name):
        """The credentials called ``name`` (several during a rotation), DELETING ones included."""
        return [credential for credential in self.list() if credential.get("name") == name]

    def kms_with_public_cas(self):
        """The KMS with its CA certificates (``publicCA``, and ``publicRsaCA`` when it has one)."""
        return self.read(self.kms_path, "read the CA of KMS %s" % self.okms_id, params={"publicCA": "true"},
                         gone_statuses=())

    def server_now(self):
        """The API server's current time (aware, UTC), as its answers' Date header told it; None when unknown."""
        # A stand-in client (tests) may not know the server's time.
        server_time = getattr(self.client, "server_time", None)
        seconds = server_time() if server_time is not None else None
        return None if seconds is None else datetime.datetime.fromtimestamp(seconds, UTC)

    # -- writing -------------------------------------------------------------------------

    def create(self, body, known_ids):
        """POST the credential and return the API's answer (``privateKeyPEM`` included when sent).

        After a lost answer, the credential it made is looked up among those of
        the same name that are not in ``known_ids``. None: the request never
        took effect, and is sent again (within the client's retry budget). One:
        adopted when a CSR was sent; without a CSR the private key came only in
        the lost answer, so CredentialKeyLostError names the credential (the
        module revokes it and asks for a new one). Several: undecidable.
        """
        name = body.get("name")
        lost = []

        def post():
            try:
                return self.client.post(self.collection_path, body)
            except OvhAmbiguousRequestError as exc:
                lost.append(exc)
                raise

        def find_the_new_one():
            new = [credential for credential in self.list_named(name) if credential["id"] not in known_ids]
            if not new:
                return Confirmation.absent()
            if len(new) > 1:
                return Confirmation.undecidable(
                    "%d credentials named '%s' appeared meanwhile (%s): list them with okms_credential_info"
                    % (len(new), name, ", ".join(sorted(credential["id"] for credential in new))))
            if "csr" not in body:
                raise CredentialKeyLostError(new[0], lost[-1])
            return Confirmation.applied(new[0])

        return self.write_then_confirm(
            "create credential '%s'" % name, post, find_the_new_one,
            check="list the credentials named '%s' of KMS %s (okms_credential_info) before running again: the "
                  "newest may be this one" % (name, self.okms_id))

    def revoke(self, credential):
        """Revoke and delete ``credential``; already gone or already DELETING counts as done."""
        credential_id = credential["id"]
        path = self.credential_path(credential_id)
        action = "revoke credential %s ('%s')" % (credential_id, credential.get("name"))

        def gone_or_deleting():
            current = self.get(credential_id)
            if current is None or current.get("status") == "DELETING":
                return Confirmation.applied(current)
            # Still there and not being deleted: the DELETE never took effect, sending it again is safe.
            return Confirmation.absent()

        try:
            return self.write_then_confirm(
                action, lambda: self.client.delete(path), gone_or_deleting,
                check="check whether credential %s is still READY (GET %s) before running again"
                      % (credential_id, path))
        except OvhApiError as exc:
            if exc.status == 404 or _already_being_deleted(exc):
                return None
            raise

    # -- waiting -------------------------------------------------------------------------

    def wait_until_ready(self, credential_id, wait_timeout):
        """The credential once READY; raises CredentialWaitError on another status, a timeout or its end."""

        def fetch():
            credential = self.get(credential_id)
            if credential is None:
                raise CredentialWaitError("credential %s no longer exists" % credential_id)
            return credential

        with api_action("wait for credential %s to be READY" % credential_id):
            return wait_until_ready(fetch, wait_timeout, sleep=self.sleep, clock=self.clock)
