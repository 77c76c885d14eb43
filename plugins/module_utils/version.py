# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection's version, as the API clients announce it (a unit test keeps it equal to galaxy.yml's)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

COLLECTION_VERSION = "0.1.0"
USER_AGENT = "ansible-collection-ovhcloud.kms/%s" % COLLECTION_VERSION


def user_agent(caller=None):
    """The User-Agent of a client used by ``caller`` (a module or plugin name), which it names in parentheses.

    Naming the caller lets an API's access log (the emulator's audit log, a proxy's) tell which task sent
    each request.
    """
    if not caller:
        return USER_AGENT
    return "%s (%s)" % (USER_AGENT, caller)
