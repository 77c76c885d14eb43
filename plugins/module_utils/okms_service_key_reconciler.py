# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Converging service keys: one key (``okms_service_key``) or many in one run (``okms_service_keys``).

``ServiceKeyRequest`` checks what a task asks for against the API's rules
before any API call; ``ServiceKeyReconciler`` converges one key;
``ServiceKeysReconciler`` converges a list of keys of one KMS from a single
listing of its keys, each key on its own, so that one key that fails does not
stop the others.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.ovhcloud.kms.plugins.module_utils.cryptography_dependency import require_cryptography
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_files import ensure_file
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_reconciler import ABSENT, Reconciler, TaskError
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_service_key import (
    ServiceKeyValidationError,
    immutable_differences,
    immutable_differences_message,
    jwk_from_key_file,
    normalize_deactivation_reason,
    normalize_jwk,
    public_jwk_material,
    resolve_key_spec,
    resolve_state_update,
    secret_values,
    service_key_to_diff,
    service_key_to_result,
    state_transition_refusal,
    validate_context,
    validate_name,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_service_key_api import (
    ServiceKeyApi,
    ServiceKeyNameConflict,
    key_label,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhApiError

# okms_service_key's options that an item of okms_service_keys does not take, as that module defaults them.
NOT_IN_KEY_LISTS = dict(id=None, jwk=None, key_path=None, public_key_path=None, public_key_format="pem",
                        public_key_mode="0644", public_key_owner=None, public_key_group=None)


class ServiceKeyRequest:
    """What the task asks for, checked against the API's rules before any API call."""

    def __init__(self, params):
        self.params = params
        self.okms_id = params["okms_id"]
        self.key_id = params["id"]
        self.name = params["name"]
        self.state = params["state"]
        self.context = params["context"]
        self.force = params["force"]
        self.public_key_path = params["public_key_path"]
        self.public_key_format = params["public_key_format"]
        self.public_key_mode = params["public_key_mode"]
        self.public_key_owner = params["public_key_owner"]
        self.public_key_group = params["public_key_group"]
        self.spec = None          # {type, size, curve, operations} to create and compare, or None
        self.jwk = None           # private JWK to import
        self.state_update = None  # PUT body for key_state, or None
        self.deactivation_reason = None

    @classmethod
    def from_module(cls, module):
        """The request of the module's options; raises TaskError naming the option when the API would refuse it."""
        try:
            return cls.from_params(module, module.params)
        except ServiceKeyValidationError as exc:
            raise TaskError(str(exc))

    @classmethod
    def from_params(cls, module, params):
        """The request of ``params`` (okms_service_key's options); raises ServiceKeyValidationError."""
        request = cls(params)
        request._check(module)
        return request

    def _check(self, module):
        params = self.params
        if self.name is not None:
            validate_name(self.name)
        validate_context(self.context)
        self.deactivation_reason = normalize_deactivation_reason(params["deactivation_reason"])
        if self.state == "absent":
            if self.public_key_path:
                raise ServiceKeyValidationError("public_key_path applies only with state present")
            return
        if params["key_state"]:
            self.state_update = resolve_state_update(params["key_state"], self.deactivation_reason)
        elif self.deactivation_reason:
            raise ServiceKeyValidationError("deactivation_reason needs key_state deactivated or compromised "
                                            "(or state absent with force)")
        if params["jwk"] is not None or params["key_path"]:
            jwk = params["jwk"] if params["jwk"] is not None else read_key_file(module, params["key_path"])
            # Whatever happens next, no output may carry the private members.
            module.no_log_values.update(secret_values(jwk))
            option = "jwk" if params["jwk"] is not None else "key_path"
            self.jwk, self.spec = normalize_jwk(jwk, params["operations"], kid=self.name, option=option)
        elif params["type"]:
            self.spec = resolve_key_spec(params["type"], params["size"], params["curve"], params["operations"])
        else:
            given = [option for option in ("size", "curve", "operations") if params[option] is not None]
            if given:
                raise ServiceKeyValidationError("%s needs type (or jwk / key_path to import a key)" % ", ".join(given))
        if self.public_key_path and self.spec and self.spec["type"] == "oct":
            raise ServiceKeyValidationError("public_key_path: an oct key is symmetric and has no public key")


def read_key_file(module, path):
    """The private JWK held by the file ``path`` (option key_path: a PEM or raw oct key)."""
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except (IOError, OSError) as exc:
        raise TaskError("cannot read key_path %s: %s" % (path, exc.strerror or exc))
    try:
        return jwk_from_key_file(content, "key_path %s" % path)
    except ImportError:
        require_cryptography(module, "to read the PEM key of key_path")


class ServiceKeyReconciler(Reconciler):
    """Looks the key up once, then converges it one aspect at a time."""

    to_diff = staticmethod(service_key_to_diff)

    def __init__(self, module, request=None, listing=None):
        super(ServiceKeyReconciler, self).__init__(module, request)
        self.api = None
        # The KMS's keys, when a caller converging several keys read them once for all.
        self.listing = listing

    def reconcile(self):
        if self.request is None:
            self.request = ServiceKeyRequest.from_module(self.module)
        self.api = ServiceKeyApi(self.client, self.request.okms_id)
        try:
            return self.converge()
        except ServiceKeyNameConflict as exc:
            raise TaskError(str(exc))

    def converge(self):
        request = self.request
        key = self.lookup()
        before = dict(key) if key else None
        if request.state == "absent":
            if key is not None:
                self.delete(key)
            return dict(service_key=ABSENT, **self.diff(before, None))

        if key is None:
            key = self.create()
        else:
            self.check_immutable(key)
            self.warn_about_context(key)
            self.ensure_name(key)
        self.ensure_key_state(key)
        public_key_file = self.ensure_public_key_file(key) if request.public_key_path else None

        # The lookup already returned the key as the API shows it: re-read only after a change.
        if self.changed and key.get("id") is not None and not self.check_mode:
            key = self.api.get(key["id"]) or key
        result = dict(service_key=service_key_to_result(key), **self.diff(before, key))
        if public_key_file is not None:
            result["public_key_file"], file_before, file_after = public_key_file
            if "diff" in result:
                result["diff"]["before"]["public_key_file"] = file_before
                result["diff"]["after"]["public_key_file"] = file_after
        return result

    def lookup(self):
        request = self.request
        if request.key_id:
            return self.api.get(request.key_id)
        key = self.api.find_by_name(request.name, listing=self.listing)
        if key is None and request.state == "present" and request.spec is not None:
            # About to create: "absent" is read once more, so a listing that missed the key costs no duplicate.
            key = self.api.find_before_creating(request.name)
        return key

    # -- creating -----------------------------------------------------------------

    def create(self):
        request = self.request
        if request.key_id:
            raise TaskError("no service key with id %s in KMS %s (a key cannot be created with a chosen id: give "
                            "only name to create one)" % (request.key_id, request.okms_id))
        if request.spec is None:
            raise TaskError("service key %s does not exist in KMS %s: give type (or jwk / key_path) to create it"
                            % (request.name, request.okms_id))
        if request.jwk is not None:
            created = self.apply(self.api.import_key, request.name, request.jwk, request.context)
        else:
            created = self.apply(self.api.create, request.name, request.spec, request.context)
        if self.check_mode:
            # What the API will answer, but the id it has not chosen yet.
            return dict(request.spec, id=None, name=request.name, state="ACTIVE")
        # An older key of the same name made meanwhile is kept instead of this one: it must fit too.
        differences = immutable_differences(request.spec, created)
        if differences:
            raise TaskError(immutable_differences_message(created["name"], differences))
        return created

    # -- comparing ----------------------------------------------------------------

    def check_immutable(self, key):
        if self.request.spec is None:
            return
        differences = immutable_differences(self.request.spec, key)
        if differences:
            raise TaskError(immutable_differences_message(key["name"], differences))
        if self.request.jwk is not None:
            self.check_imported_material(key)

    def check_imported_material(self, key):
        wanted = public_jwk_material(self.request.jwk)
        if wanted is None:
            return  # oct: the API never returns the material
        if public_jwk_material(self.api.public_key(key, "JWK") or {}) != wanted:
            raise TaskError("service key %s holds another public key than the one to import; this module never "
                            "replaces a key: import under another name, or delete this key explicitly" % key["name"])

    def warn_about_context(self, key):
        if self.request.context is not None:
            # The API never returns the context: whether it differs cannot be known, so say so every time.
            self.warn("context is only applied when a key is created; it cannot be compared or changed on existing "
                      "service key %s (%s), so it was not sent: create a new key (another name) to use another "
                      "context" % (key["name"], key["id"]))

    # -- updating -----------------------------------------------------------------

    def ensure_name(self, key):
        wanted = self.request.name
        if not self.request.key_id or wanted is None or key["name"] == wanted:
            return
        self.apply(self.api.rename, key, wanted)
        key["name"] = wanted

    def ensure_key_state(self, key):
        update = self.request.state_update
        if update is None or key["state"] == update["state"]:
            return
        refusal = state_transition_refusal(key["state"], update["state"])
        if refusal:
            raise TaskError("service key %s: %s" % (key["name"], refusal))
        self.apply(self.api.change_state, key, update)
        key["state"] = update["state"]

    # -- deleting -----------------------------------------------------------------

    def delete(self, key):
        if key["state"] == "ACTIVE":
            if not self.request.force:
                raise TaskError("service key %s (%s) is ACTIVE and was not deleted: deleting a key is permanent and "
                                "every ciphertext made with it can never be decrypted again. Deactivate it first "
                                "(key_state: deactivated), or set force: true to deactivate and delete it in one task"
                                % (key["name"], key["id"]))
            body = {"state": "DEACTIVATED", "deactivationReason": self.request.deactivation_reason or "UNSPECIFIED"}
            self.apply(self.api.change_state, key, body,
                       action="deactivate service key %s before deleting it" % key_label(key))
        self.apply(self.api.delete, key)

    # -- public key file ----------------------------------------------------------

    def ensure_public_key_file(self, key):
        """``(public_key_file result, file diff before, file diff after)``."""
        request = self.request
        path = request.public_key_path
        if key["type"] == "oct":
            raise TaskError("public_key_path: service key %s is an oct (symmetric) key and has no public key"
                            % key["name"])
        if key.get("id") is None:
            # Check mode, key still to be created: its public key does not exist yet.
            return {"path": path, "changed": True}, {"path": path, "state": "absent"}, {"path": path, "state": "file"}
        public = self.api.public_key(key, request.public_key_format.upper())
        if public is None:
            raise TaskError("service key %s (%s) was deleted while its public key was being read"
                            % (key["name"], key["id"]))
        if request.public_key_format == "pem":
            content = public if public.endswith("\n") else public + "\n"
        else:
            content = json.dumps(public, indent=2, sort_keys=True) + "\n"
        written = ensure_file(self.module, path, content, request.public_key_mode, request.public_key_owner,
                              request.public_key_group)
        if written.changed:
            self.changed = True
        return {"path": path, "changed": written.changed}, written.before, written.after


class ServiceKeysReconciler(Reconciler):
    """Converges the keys of option ``keys`` of one KMS: one listing for all, then each key on its own.

    Every item is checked before any API call. A key that fails does not stop
    the others; the run fails at the end, naming each key that failed.
    """

    to_diff = staticmethod(service_key_to_diff)

    def reconcile(self):
        okms_id = self.params["okms_id"]
        requests = self.requests()
        if not requests:
            return dict(service_keys=[], **self.diff(None, None))
        api = ServiceKeyApi(self.client, okms_id)
        listing, listing_error = None, None
        try:
            listing = api.list()
        except OvhApiError as exc:
            # Every key needs the listing: each one fails with its error.
            listing_error = str(exc)

        result = dict(service_keys=[])
        before, after = {}, {}
        for request in requests:
            outcome, key_diff = self.converge(request, listing, listing_error)
            result["service_keys"].append(outcome)
            if key_diff:
                before[request.name], after[request.name] = key_diff["before"], key_diff["after"]
        if self.module._diff:
            # Keyed by name, each key in okms_service_key's diff shape; a key that failed has none.
            result["diff"] = {"before": before, "after": after}
        failed = [outcome for outcome in result["service_keys"] if outcome["failed"]]
        if failed:
            raise TaskError("%d of %d service keys of KMS %s could not be converged: %s"
                            % (len(failed), len(requests), okms_id,
                               "; ".join("%s: %s" % (outcome["name"], outcome["msg"]) for outcome in failed)),
                            **result)
        return result

    def requests(self):
        """A ServiceKeyRequest per item of ``keys``; raises TaskError listing every problem of every item."""
        requests, problems, first_index = [], [], {}
        for index, item in enumerate(self.params["keys"]):
            where = "keys[%d] (%s)" % (index, item["name"])
            if item["name"] in first_index:
                problems.append("%s: the name %s is already given to keys[%d]; give each key once"
                                % (where, item["name"], first_index[item["name"]]))
                continue
            first_index[item["name"]] = index
            params = dict(NOT_IN_KEY_LISTS, okms_id=self.params["okms_id"], **item)
            try:
                requests.append(ServiceKeyRequest.from_params(self.module, params))
            except (ServiceKeyValidationError, TaskError) as exc:
                problems.append("%s: %s" % (where, exc))
        if problems:
            raise TaskError("; ".join(problems))
        return requests

    def converge(self, request, listing, listing_error):
        """``(outcome, diff)`` of one key: its item of ``service_keys``, and its diff (None when it failed)."""
        outcome = dict(name=request.name, changed=False, failed=False, service_key=ABSENT)
        reconciler = ServiceKeyReconciler(self.module, request, listing=listing)
        try:
            if listing_error is not None:
                raise TaskError(listing_error)
            converged = reconciler.reconcile()
        except TaskError as exc:
            return dict(outcome, changed=reconciler.changed, failed=True, msg=exc.message), None
        except OvhApiError as exc:
            return dict(outcome, changed=reconciler.changed, failed=True, msg=str(exc)), None
        finally:
            self.changed = self.changed or reconciler.changed
            self.warnings.extend(reconciler.warnings)
        outcome.update(changed=reconciler.changed, service_key=converged["service_key"])
        return outcome, converged.get("diff")
