# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The reconcile skeleton every resource module is built on.

A module builds its request (options checked before any API call), then a
``Reconciler`` subclass whose ``reconcile()`` looks the resource up once,
decides, and changes what differs. Every mutating call goes through
``apply()``, which marks the run changed and skips the call in check mode, so
check mode and a real run share one code path. Failures are raised
(``TaskError`` or the API client's ``OvhApiError``) and reported once, by
``run()``, with ``changed`` as it stood.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
    OvhWriteNotAppliedError,
)

# What every module returns for a resource that does not exist (or no longer does).
ABSENT = {}


class TaskError(Exception):
    """The task cannot be carried out; ``result`` holds extra return values for the failure."""

    def __init__(self, message, **result):
        super(TaskError, self).__init__(message)
        self.message = message
        self.result = result


class Reconciler:
    """Converges one resource; subclasses implement ``reconcile()`` and set ``to_diff``."""

    # The resource's diff shape: ``<resource>_to_diff(api_object)`` (never key material).
    to_diff = None

    def __init__(self, module, request=None):
        self.module = module
        self.params = module.params
        self.request = request
        self.check_mode = module.check_mode
        self.changed = False
        self.warnings = []

    @property
    def client(self):
        """The run's API client, built on first use (one session per run)."""
        return self.module.client

    def apply(self, write, *args, **kwargs):
        """Make a change: marks the run changed, and calls ``write`` unless in check mode (then returns None).

        A write the API refused outright (a 4xx answer), or one re-reading
        proved absent every time it was sent, changed nothing, so it leaves
        ``changed`` as it was; one whose answer was lost may have. ``write``
        should therefore make one change at a time.
        """
        if self.check_mode:
            self.changed = True
            return None
        try:
            result = write(*args, **kwargs)
        except OvhWriteNotAppliedError:
            raise
        except OvhAmbiguousRequestError:
            self.changed = True
            raise
        except OvhApiError as exc:
            if not (exc.status and 400 <= exc.status < 500):
                self.changed = True
            raise
        self.changed = True
        return result

    def diff(self, before, after):
        """``{"diff": {before, after}}`` in diff mode, else ``{}``, in the resource's diff shape."""
        if not self.module._diff:
            return {}
        to_diff = type(self).to_diff
        return {"diff": {"before": to_diff(before) if before else {}, "after": to_diff(after) if after else {}}}

    def warn(self, message):
        self.warnings.append(message)

    def reconcile(self):
        """Converge and return the module's result (without ``changed``)."""
        raise NotImplementedError

    def run(self):
        """Reconcile, then exit: the one place a resource module fails or succeeds."""
        try:
            result = self.reconcile()
        except TaskError as exc:
            self._emit_warnings()
            self.module.fail_json(msg=exc.message, changed=self.changed, **exc.result)
        except OvhApiError as exc:
            self._emit_warnings()
            self.module.fail_json(msg=str(exc), changed=self.changed, api_error=exc.to_result())
        self._emit_warnings()
        self.module.exit_json(changed=self.changed, **result)

    def _emit_warnings(self):
        for message in self.warnings:
            self.module.warn(message)
        self.warnings = []
