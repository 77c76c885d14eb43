# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Modules and lookups that use a KMS through its own REST API. Used with ovhcloud.kms.api, whose
    # options serve an OAuth2 identity and finding the KMS's REST endpoint.
    DOCUMENTATION = r"""
options:
  config_file:
    description:
      - Path of an okms-cli configuration file, such as the C(okms.yaml) the P(ovhcloud.kms.okms#role) role
        deploys next to each host's access certificate. Its C(restapi) section of the profile O(profile)
        gives the REST endpoint (C(endpoint)), the CA (C(ca)), the KMS id (C(auth.okmsId)) and the identity
        (C(auth.type) C(mtls) with C(auth.cert) and C(auth.key), or C(token) with C(auth.token)).
      - A task option wins over the file, setting by setting; giving O(client_cert) and O(client_key), or
        O(token), replaces the file's identity.
      - Read where the module runs (on the managed host for a module; on the controller for a lookup).
        PyYAML is used when it is installed there; otherwise a built-in reader takes the mappings and scalars
        okms-cli configurations are made of. Relative paths in the file are relative to the file.
    type: path
  profile:
    description:
      - The profile of O(config_file) to use.
      - Defaults to the file's own C(profile), else C(default).
    type: str
  rest_endpoint:
    description:
      - The KMS's REST API, such as C(https://eu-west-rbx.okms.ovh.net) (the C(rest_endpoint) that
        M(ovhcloud.kms.okms_instance) returns).
      - When neither this option nor O(config_file) gives it, it is read from the KMS through the OVHcloud
        API, with the collection's usual OVHcloud API credentials.
    type: str
  okms_id:
    description:
      - The id of the KMS.
      - When not set, C(auth.okmsId) of O(config_file), else the KMS the access certificate is for (its subject
        alternative name C(okms.domain:<okmsId>)). Required with O(token) and OAuth2 identities.
    type: str
  client_cert:
    description:
      - Path of the access certificate (PEM) to authenticate with by mutual TLS, such as the
        C(client.cert) the P(ovhcloud.kms.okms#role) role deploys. Used with O(client_key).
      - Mutually exclusive with O(token). A certificate or a token, from the options or O(config_file), is
        always preferred to an OAuth2 service account (O(client_id)), so play-level C(module_defaults) for the
        OVHcloud API never replace a host's own certificate.
    type: path
  client_key:
    description:
      - Path of the certificate's private key (PEM), such as the role's C(domain.key). It is read by the TLS
        library only, never into a result or a message.
    type: path
  token:
    description:
      - A bearer token to authenticate with instead of a certificate, such as an IAM local user's personal
        access token. Never logged.
      - Without a certificate or a token, an OAuth2 service account (O(client_id) and O(client_secret), or
        E(OVH_CLIENT_ID) and E(OVH_CLIENT_SECRET), or C(ovh.conf)) gets one from the OVHcloud API's token
        endpoint, once per task. Application-key credentials do not work on the KMS REST API.
    type: str
notes:
  - These modules talk to the KMS's REST API as the identity of the certificate or token, whose IAM
    rights decide what it may do; a refusal fails with the KMS's answer and the path or key concerned.
  - O(ca_path) (extra certificate authorities to trust) applies to the KMS's REST API too; when it is not
    set, the C(ca) of O(config_file) is used.
  - A failed KMS call fails the task with one line holding the KMS's message, C(error_code), C(error_id) and
    C(request_id); the same fields are in the C(api_error) return value.
"""
