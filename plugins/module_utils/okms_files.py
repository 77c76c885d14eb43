# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Writing the files modules deliver (keys, certificates, CA bundles) safely.

A file is written to a private temporary file in the target directory and
renamed over the destination, so readers never see a partial file and a
private key is never, even briefly, readable by others. The temporary file's
name holds its writer's process id: one left by a writer that was killed
before renaming it is removed by the next write of that file. Check mode reports
the change without writing. Diffs describe files by fingerprint, never by
content.

A module checks every path it will write (and the owner, group and mode it
will give the files) before its first API request, so that a file that cannot
be written never leaves a half-done change behind (a credential issued whose
key has nowhere to go).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import hashlib
import os
import pwd
import re
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule


def fingerprint(content):
    return "sha256:" + hashlib.sha256(content).hexdigest()


class FilePathError(Exception):
    """A file option that cannot be used; the message names the option (never the file's content)."""


def read_file(path):
    """The file's bytes, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        if getattr(exc, "errno", None) == errno.ENOENT:
            return None
        raise


def _reason(exc):
    return getattr(exc, "strerror", None) or str(exc)


def read_option_file(option, path):
    """The bytes of the file option ``option`` names, None when it does not exist.

    Raises FilePathError naming the option when the path exists but cannot be
    read (permission denied, a directory).
    """
    if os.path.isdir(path):
        raise FilePathError("%s %s is a directory, not a file" % (option, path))
    try:
        return read_file(path)
    except (IOError, OSError) as exc:
        raise FilePathError("%s %s cannot be read: %s" % (option, path, _reason(exc)))


def check_writable(option, path, read_too=False, check_mode=False):
    """Raise FilePathError naming ``option`` when ``path`` cannot be written (created or replaced).

    Files are written as a temporary file in the same directory, then renamed:
    the directory must exist and be writable; ``path`` itself must not be a
    directory. With ``read_too``, an existing file must also be readable (the
    module compares it with what it would write). In check mode a missing
    directory is not an error: an earlier task of the play (skipped in check
    mode) may create it, and a real run checks again before any request.
    """
    if os.path.isdir(path):
        raise FilePathError("%s %s is a directory: give the path of a file" % (option, path))
    directory = os.path.dirname(os.path.abspath(path))
    if check_mode and not os.path.lexists(directory):
        return
    if not os.path.isdir(directory):
        what = "is not a directory" if os.path.exists(directory) else "does not exist"
        raise FilePathError("%s %s cannot be written: directory %s %s" % (option, path, directory, what))
    if not os.access(directory, os.W_OK | os.X_OK):
        raise FilePathError("%s %s cannot be written: directory %s is not writable by user %s"
                            % (option, path, directory, _user_name()))
    if read_too and os.path.exists(path) and not os.access(path, os.R_OK):
        raise FilePathError("%s %s cannot be read by user %s: the module compares it with what it would write"
                            % (option, path, _user_name()))


def _user_name():
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


class NewFileStat:
    """What a symbolic mode is applied to for a file still to be created: a new 0600 file."""

    st_mode = stat.S_IFREG | 0o600


def user_name(user):
    """A user's name, from a name or a uid (a uid without a name stays a number)."""
    try:
        return pwd.getpwuid(int(user)).pw_name if str(user).isdigit() else str(user)
    except KeyError:
        return str(user)


def group_name(group):
    """A group's name, from a name or a gid (a gid without a name stays a number)."""
    try:
        return grp.getgrgid(int(group)).gr_name if str(group).isdigit() else str(group)
    except KeyError:
        return str(group)


class FileAttributes:
    """A file's mode (octal text), owner and group, as diffs show them: never its content."""

    def __init__(self, mode, owner, group):
        self.mode = mode
        self.owner = user_name(owner)
        self.group = group_name(group)

    @classmethod
    def of(cls, path):
        """The attributes ``path`` has, or None when it does not exist."""
        if not os.path.lexists(path):
            return None
        status = os.stat(path)
        return cls("%04o" % (status.st_mode & 0o7777), status.st_uid, status.st_gid)

    @classmethod
    def predicted(cls, module, path, mode, owner=None, group=None):
        """What writing ``path`` with these options would leave: the options, else what the file (or a new one) has."""
        exists = os.path.exists(path)
        status = os.stat(path) if exists else NewFileStat()
        return cls(mode_text(module, status, mode),
                   owner if owner is not None else (status.st_uid if exists else os.geteuid()),
                   group if group is not None else (status.st_gid if exists else os.getegid()))

    def as_dict(self):
        return dict(mode=self.mode, owner=self.owner, group=self.group)

    def line(self, template="mode %s, owner %s, group %s\n"):
        return template % (self.mode, self.owner, self.group)


def mode_text(module, status, mode):
    """The octal text of ``mode`` (an int, octal text or symbolic mode) applied to a file of ``status``."""
    if isinstance(mode, int):
        return "%04o" % mode
    try:
        return "%04o" % int(mode, 8)
    except ValueError:
        return "%04o" % module._symbolic_mode_to_octal(status, mode)


def check_file_attributes(mode_option, mode, owner, group):
    """Raise FilePathError when the mode, owner or group files are to be given cannot be applied.

    Checked before any API call: otherwise the file would be written and the
    change made before ``chown``/``chmod`` fail.
    """
    if mode is not None:
        _check_mode(mode_option, mode)
    if owner is not None and not str(owner).isdigit():
        try:
            pwd.getpwnam(owner)
        except KeyError:
            raise FilePathError("owner %s is not a user of this host" % owner)
    if group is not None and not str(group).isdigit():
        try:
            grp.getgrnam(group)
        except KeyError:
            raise FilePathError("group %s is not a group of this host" % group)


def _check_mode(option, mode):
    allowed = "an octal string such as '0600' or a symbolic mode such as 'u=rw,g=r'"
    if isinstance(mode, int) and not isinstance(mode, bool):
        value = mode
    elif isinstance(mode, str) and mode.strip():
        try:
            value = int(mode, 8)
        except ValueError:
            try:
                AnsibleModule._symbolic_mode_to_octal(NewFileStat(), mode)
            except ValueError:
                raise FilePathError("%s %r is not a file mode: use %s" % (option, mode, allowed))
            return
    else:
        raise FilePathError("%s %r is not a file mode: use %s" % (option, mode, allowed))
    if value != stat.S_IMODE(value) or value < 0:
        raise FilePathError("%s %r is not a file mode: use %s" % (option, mode, allowed))


class FileResult:
    def __init__(self, path, changed, before, after):
        self.path = path
        self.changed = changed
        self.before = before
        self.after = after


def _temporary_prefix(path):
    return ".%s.%d." % (os.path.basename(path), os.getpid())


def _process_runs(pid):
    try:
        os.kill(pid, 0)
    except OSError as exc:
        # EPERM: it runs, as another user.
        return exc.errno != errno.ESRCH
    return True


def remove_abandoned_temporary_files(path):
    """Delete the temporary files of ``path`` whose writer no longer runs (it was killed before renaming).

    A temporary file still being written by a running process (another task writing the same file) is kept.
    """
    directory = os.path.dirname(os.path.abspath(path))
    pattern = re.compile(r"^%s(\d+)\.\w+\.tmp$" % re.escape(".%s." % os.path.basename(path)))
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = pattern.match(name)
        if match and int(match.group(1)) != os.getpid() and not _process_runs(int(match.group(1))):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass  # gone meanwhile, or not ours to remove: it stays as it was


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
    directory = os.path.dirname(os.path.abspath(path))
    if not module.check_mode:
        remove_abandoned_temporary_files(path)
    if content_changed and not module.check_mode:
        if not os.path.isdir(directory):
            module.fail_json(msg="cannot write %s: directory %s does not exist" % (path, directory))
        fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=_temporary_prefix(path), suffix=".tmp")
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
