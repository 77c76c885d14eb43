# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one place the collection imports ``cryptography``.

Modules that need it call ``require_cryptography(module)`` first; the rest of
``module_utils`` imports the names below from here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib

__all__ = ["HAS_CRYPTOGRAPHY", "CRYPTOGRAPHY_IMPORT_ERROR", "require_cryptography", "x509", "InvalidSignature",
           "UnsupportedAlgorithm", "hashes", "serialization", "ec", "padding", "rsa", "asymmetric_utils", "NameOID"]

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils as asymmetric_utils
    from cryptography.x509.oid import NameOID
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:
    x509 = InvalidSignature = UnsupportedAlgorithm = hashes = serialization = None
    ec = padding = rsa = asymmetric_utils = NameOID = None
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()


def require_cryptography(module, where=None):
    """Fail the module, before anything else, when ``cryptography`` is missing."""
    if not HAS_CRYPTOGRAPHY:
        message = missing_required_lib("cryptography")
        if where:
            message = "%s (%s)" % (message, where)
        module.fail_json(msg=message, exception=CRYPTOGRAPHY_IMPORT_ERROR)
