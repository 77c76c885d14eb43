# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Writing the files modules deliver (keys, certificates, CA bundles) safely.

A file is written to a private temporary file in the target directory and
renamed over the destination, so readers never see a partial file and a
private key is never, even briefly, readable by others. Check mode reports
the change without writing. Diffs describe files by fingerprint, never by
content.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import os
import tempfile


def fingerprint(content):
    return "sha256:" + hashlib.sha256(content).hexdigest()


def read_file(path):
    """The file's bytes, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        if getattr(exc, "errno", None) == errno.ENOENT:
            return None
        raise


class FileResult:
    def __init__(self, path, changed, before, after):
        self.path = path
        self.changed = changed
        self.before = before
        self.after = after


def ensure_file(module, path, content, mode, owner=None, group=None):
    """Make ``path`` hold ``content`` with the given attributes; returns a FileResult.

    ``mode`` may be octal (``"0600"``) or symbolic, as in Ansible's file
    modules. The temporary file is created 0600 and only widened to ``mode``
    once in place.
    """
    if isinstance(content, str):
        content = content.encode("utf-8")
    existing = read_file(path)
    before = {"path": path, "state": "absent"} if existing is None else \
        {"path": path, "state": "file", "fingerprint": fingerprint(existing)}
    after = {"path": path, "state": "file", "fingerprint": fingerprint(content)}
    content_changed = existing != content
    if content_changed and not module.check_mode:
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            module.fail_json(msg="cannot write %s: directory %s does not exist" % (path, directory))
        fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path), suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(tmp_path, path)
        except BaseException:
            if os.path.exists(tmp_path):
                os.unlink(tmp_path)
            raise
    attributes_changed = False
    # In check mode a file still to be created has no attributes to compare.
    if existing is not None or not module.check_mode:
        attributes_changed = module.set_owner_if_different(path, owner, attributes_changed)
        attributes_changed = module.set_group_if_different(path, group, attributes_changed)
        attributes_changed = module.set_mode_if_different(path, mode, attributes_changed)
    return FileResult(path, content_changed or attributes_changed, before, after)


def remove_file(module, path):
    """Delete ``path`` if present; returns a FileResult."""
    existing = read_file(path)
    if existing is None:
        return FileResult(path, False, {"path": path, "state": "absent"}, {"path": path, "state": "absent"})
    if not module.check_mode:
        os.unlink(path)
    return FileResult(path, True, {"path": path, "state": "file", "fingerprint": fingerprint(existing)},
                      {"path": path, "state": "absent"})
