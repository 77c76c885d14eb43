# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  endpoint:
    description:
      - The OVHcloud API to talk to, as a name (V(ovh-eu), V(ovh-ca), V(ovh-us)) or a full URL
        such as the one in the local emulator's C(connection.json) (C(https://127.0.0.1:PORT/1.0)).
      - A full URL must be C(https://); an C(http://) URL is refused, as the credentials would travel in clear.
      - Paths under C(/v1/) and C(/v2/) drop a trailing C(/1.0) from the URL.
      - When not set, the environment variable E(OVH_ENDPOINT) is used, then C(endpoint) in the
        C([default]) section of C(/etc/ovh.conf), C(~/.ovh.conf) or C(./ovh.conf) (a later file wins).
      - In those files the credentials are read from the section named after the endpoint exactly
        as it is written, for example C([ovh-eu]), or C([https://127.0.0.1:8443/1.0]) for a URL
        (with a trailing C(/), the section name needs it too).
    type: str
  application_key:
    description:
      - Application key, for application-key signature authentication.
      - Used with O(application_secret) and O(consumer_key); mutually exclusive with O(client_id).
      - When not set, E(OVH_APPLICATION_KEY), then C(application_key) in the INI section named
        after the endpoint.
    type: str
  application_secret:
    description:
      - Application secret, for application-key signature authentication. Never logged.
      - When not set, E(OVH_APPLICATION_SECRET), then the INI files.
    type: str
  consumer_key:
    description:
      - Consumer key, for application-key signature authentication. Never logged.
      - When not set, E(OVH_CONSUMER_KEY), then the INI files.
    type: str
  client_id:
    description:
      - OAuth2 service account client ID, for client-credentials authentication.
      - Used with O(client_secret); mutually exclusive with O(application_key).
      - When not set, E(OVH_CLIENT_ID), then the INI files.
      - The token is fetched once per task and renewed before it expires. For a full-URL
        O(endpoint), the token endpoint is C(/auth/oauth2/token) on the same host.
    type: str
  client_secret:
    description:
      - OAuth2 service account client secret. Never logged.
      - When not set, E(OVH_CLIENT_SECRET), then the INI files.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate. Only turn off for local experiments.
      - The certificate authorities trusted by default are those of the C(requests) library, or the
        PEM bundle named by the environment variable E(REQUESTS_CA_BUNDLE) (else E(CURL_CA_BUNDLE))
        on the machine that runs the module, which replaces them. Pointing it at a bundle that holds
        the local emulator's CA (C(ca_path) in its C(connection.json)) is another way to trust the
        emulator.
    type: bool
    default: true
  ca_path:
    description:
      - Path of a PEM file of extra certificate authorities to trust, in addition to the default
        bundle (E(REQUESTS_CA_BUNDLE) when it is set, see O(validate_certs)); for example the local
        emulator's C(ca_path) or a corporate proxy's CA.
      - Read once into memory; no file is written.
    type: path
  timeout:
    description:
      - Timeout in seconds for each HTTP request to the API.
      - Failed requests are retried with jittered exponential backoff on HTTP 429 (honouring
        C(Retry-After)), 500, 502, 503, 504 and connection errors. A mutating request is only
        retried when it surely never reached the server.
    type: int
    default: 30
notes:
  - Exactly one authentication method must be configured, across module options, environment
    variables and INI files, each option resolved on its own in that order.
requirements:
  - requests
"""

    # Lookup (and other controller) plugins: ``extends_documentation_fragment: [ovhcloud.kms.api,
    # ovhcloud.kms.api.plugins]``. Adds where else Ansible reads each option: the OVH_* variables the
    # modules read, and the role's okms_api_* variables, so that a play configuring the role
    # configures the lookups too.
    PLUGINS = r"""
options:
  endpoint:
    env:
      - name: OVH_ENDPOINT
    vars:
      - name: okms_api_endpoint
  application_key:
    env:
      - name: OVH_APPLICATION_KEY
    vars:
      - name: okms_api_application_key
  application_secret:
    env:
      - name: OVH_APPLICATION_SECRET
    vars:
      - name: okms_api_application_secret
  consumer_key:
    env:
      - name: OVH_CONSUMER_KEY
    vars:
      - name: okms_api_consumer_key
  client_id:
    env:
      - name: OVH_CLIENT_ID
    vars:
      - name: okms_api_client_id
  client_secret:
    env:
      - name: OVH_CLIENT_SECRET
    vars:
      - name: okms_api_client_secret
  validate_certs:
    vars:
      - name: okms_api_validate_certs
  ca_path:
    vars:
      - name: okms_api_ca_path
  timeout:
    vars:
      - name: okms_api_timeout
notes:
  - Each connection option is taken from the lookup's own option, else the C(okms_api_*) variable
    (those of the P(ovhcloud.kms.okms#role) role), else the E(OVH_*) environment variable, else the
    INI files. An empty C(okms_api_*) variable counts as unset, as in the role.
"""
