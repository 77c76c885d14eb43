# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""KMS instances: the rules on names, regions and ids, and the shapes the modules return.

Pure functions, shared by okms_instance and okms_instance_info so both return
the same shape. The API calls (reading, ordering, renaming, terminating) are in
``okms_instance_api.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import uuid

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

# The OVHcloud subsidiaries a KMS can be ordered for (nichandle.OvhSubsidiaryEnum).
SUBSIDIARIES = ["ASIA", "AU", "CA", "CZ", "DE", "ES", "EU", "FI", "FR", "GB", "IE", "IN", "IT", "LT", "MA", "NL",
                "PL", "PT", "QC", "SG", "SN", "TN", "US", "WE", "WS"]
# services.update.Service: a display name is 1 to 255 characters.
NAME_MAX_LENGTH = 255
EXAMPLE_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"


def display_name(resource):
    """The display name of a KMS (``iam.displayName``), or None."""
    return (resource.get("iam") or {}).get("displayName")


def instance_to_result(resource):
    """The API's KMS, in the snake_case shape both modules return."""
    result = camel_dict_to_snake_dict(resource, ignore_list=["tags"])
    result["name"] = display_name(resource)
    result.setdefault("public_ca", None)
    result.setdefault("public_rsa_ca", None)
    return result


def instance_to_diff(resource):
    """What diff mode shows of a KMS."""
    return {"id": resource.get("id"), "name": display_name(resource), "region": resource.get("region")}


def is_unnamed(resource):
    """Whether a KMS still has the display name it is delivered with (its id)."""
    return display_name(resource) in (None, "", resource.get("id"))


def matches(resource, name=None, region=None):
    """Whether a KMS has the given display name and region (None matches anything)."""
    return ((name is None or display_name(resource) == name)
            and (region is None or resource.get("region") == region))


def normalize_region(region):
    """The API's region id for a user's spelling: the Terraform provider's older form EU_WEST_SBG is eu-west-sbg."""
    if region is None:
        return None
    return region.strip().lower().replace("_", "-")


def parse_okms_id(value):
    """The canonical form of a KMS id (a UUID); ValueError naming the option when it is not one."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("id must be a KMS id (a UUID such as %s), got '%s'" % (EXAMPLE_ID, value))


def cart_description(name, region):
    """The description of the cart a KMS of this name is ordered with.

    Orders do not say which cart they came from, but carts can be found by
    description: it records which name and region a checkout was for.
    """
    return "ovhcloud.kms okms_instance %s in %s" % (name, region)


def termination_token_in(email_body, service_id):
    """The token of a termination email for this service (its confirmTerminate link), or None."""
    match = re.search(r"confirmTerminate\?id=%s&token=([A-Za-z0-9]+)" % re.escape(str(service_id)), email_body or "")
    return match.group(1) if match else None
