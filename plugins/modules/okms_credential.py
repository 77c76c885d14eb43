#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: okms_credential
short_description: Issue, deploy, rotate and revoke OVHcloud KMS access credentials
version_added: 0.1.0
description:
  - Makes sure an OVHcloud KMS has a valid access credential (a client certificate for the KMS REST API
    and KMIP, used with mutual TLS) with the given name, identities and certificate type, and that its
    private key, certificate and CA are deployed as files where the module runs.
  - A credential is identified by O(okms_id) and O(name).
  - Credentials cannot be edited. When the existing credential does not match the task (identity URNs,
    description, certificate type), expires within O(renew_before) days, is not READY, or its private key
    is lost, the module issues a new credential with the same name, writes its files, and then revokes the
    old one (see O(revoke_replaced)). The old one is revoked only once the new one is READY and its files are
    written.
  - B(Nothing half-done.) Every file option (paths, O(owner), O(group), modes) is checked before the first
    request, so a file that cannot be written never leaves a credential issued for nothing. Before issuing,
    the module lists the credentials again (a list read while another credential is being deleted can skip
    one), and a credential of the same name created meanwhile by another run wins over the one just made,
    which is revoked.
  - B(Names during rotation.) Old and new credentials briefly share their name. The module treats the
    newest credential of that name (by creation date) as the current one and every older one with the
    same name as a replaced credential, which it revokes when O(revoke_replaced=true). So a credential
    name must be used by this module only.
  - The private key never appears in the module's output, diff, warnings or error messages.
author:
  - ovhcloud.kms maintainers (@ovh)
extends_documentation_fragment:
  - ovhcloud.kms.api
  - ovhcloud.kms.attributes
  - ovhcloud.kms.attributes.api_module
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the credential's identities, type and expiry, and the files by fingerprint only.
  idempotent:
    support: full
options:
  okms_id:
    description:
      - The id of the KMS (okmsId, a UUID).
    type: str
    required: true
  name:
    description:
      - The name of the credential, 1 to 50 characters without control characters.
    type: str
    required: true
  state:
    description:
      - V(present) makes sure a matching credential exists and its files are deployed.
      - V(absent) revokes and deletes every credential with this name. Local files are kept unless
        O(remove_files=true).
    type: str
    choices: [present, absent]
    default: present
  identity_urns:
    description:
      - The identities the credential acts as, 1 to 25 URNs, compared as a set.
      - V(urn:v1:eu:identity:account:xx1111-ovh) (the account root),
        V(urn:v1:eu:identity:user:xx1111-ovh/john.smith), V(urn:v1:eu:identity:group:xx1111-ovh/my_group)
        or V(urn:v1:eu:identity:credential:xx1111-ovh/oauth2-CLIENTID) (a service account); C(eu) is C(ca)
        or C(us) in those regions. Checked before any API call.
      - Required with O(state=present).
    type: list
    elements: str
  description:
    description:
      - A description of the credential, at most 200 characters.
    type: str
  validity:
    description:
      - How many days a new credential is valid, 1 to 365.
      - A credential cannot be changed, so an existing one is not replaced for another validity; O(renew_before)
        decides when it is replaced. When its lifetime differs from O(validity), the module warns and says when
        the next renewal applies it.
    type: int
    default: 365
  renew_before:
    description:
      - A credential that expires within this many days is replaced.
      - Must be shorter than O(validity). Defaults to 30 days, or a third of O(validity) when that is shorter.
      - Expiry is judged by the API server's time (from the C(Date) header of its answers), not by the clock of
        the host running the module. When the two differ by more than O(renew_before) days (at least 5 minutes),
        the module refuses to revoke any credential and fails, giving both times; with nothing to revoke it warns.
    type: int
  certificate_type:
    description:
      - The key type of the certificate. Defaults to V(ECDSA) (P-256).
      - With O(private_key_source=csr) the type follows the CSR's key; V(RSA) cannot be combined with
        a CSR (the API refuses it), and V(ECDSA) with an RSA CSR is refused as contradictory.
    type: str
    choices: [ECDSA, RSA]
  private_key_source:
    description:
      - Where the private key comes from.
      - V(local) (recommended) generates the key where the module runs (ECDSA P-256 or RSA 3072), writes it to
        O(private_key_path) and sends only a certificate signing request. The private key never crosses
        the network and OVHcloud never holds it.
      - V(csr) sends the CSR given in O(csr) or O(csr_path); the key is handled outside Ansible and the
        module never sees it.
      - V(ovh) lets OVHcloud generate the key; the API returns it once, in the creation response, and
        the module writes it to O(private_key_path) in the same run. The key crosses the network and
        passes through OVHcloud. When that response is lost, the credential it made (whose key nobody has) is
        found and revoked in the same run and a new one is requested, within the retry budget of the run;
        a warning says so. Each one revoked at once, such credentials never pile up.
    type: str
    choices: [local, csr, ovh]
    default: local
  private_key_path:
    description:
      - Where the private key is (or is written), PEM. Required with O(private_key_source=local) and
        O(private_key_source=ovh), since without it a key generated by OVHcloud would be lost.
      - Written atomically (a private temporary file renamed over the destination). A file that exists
        but does not hold an unencrypted PEM private key is never overwritten; the module fails instead.
      - When the file is missing, the key is lost and the credential is replaced, with a warning.
      - When the file holds a key that the credential's certificate does not carry (another key, or a key of
        another type), the module fails, saying which key is there and which one the certificate expects, and
        leaves the file alone; move the file away to have the credential replaced. The module also refuses to
        overwrite a key that is the key of another credential of the KMS.
      - With O(private_key_source=local), a new key is written to C(<private_key_path>.pending) (mode 0600)
        before the credential is requested, and moved to O(private_key_path) once the credential exists. After
        a run interrupted in between, the next run moves it into place if the credential was created, and
        deletes it if not.
      - With O(private_key_source=ovh) the file holds the key exactly as OVHcloud returns it (SEC1,
        C(BEGIN EC PRIVATE KEY), for ECDSA); with O(private_key_source=local) the module writes PKCS#8.
        An existing file is read in any unencrypted PEM form.
    type: path
  csr:
    description:
      - A PEM certificate signing request, for O(private_key_source=csr). Mutually exclusive with O(csr_path).
      - Parsed and its signature checked before any API call.
    type: str
  csr_path:
    description:
      - The path of a PEM certificate signing request, for O(private_key_source=csr).
    type: path
  certificate_path:
    description:
      - Where to write the certificate (PEM), once the credential is READY. Not rewritten when identical.
    type: path
  ca_certificate_path:
    description:
      - Where to write the KMS CA certificate that issued the credential's certificate (PEM), for clients
        that check the chain. A KMS has an ECDSA CA and an RSA CA; the issuing one is written, or both when
        the issuer cannot be told.
    type: path
  private_key_mode:
    description:
      - The permissions of the private key file, as in M(ansible.builtin.file) (octal string or symbolic).
    type: raw
    default: '0600'
  certificate_mode:
    description:
      - The permissions of the certificate and CA files.
    type: raw
    default: '0644'
  owner:
    description:
      - The owner of the files written. Defaults to the user running the module. Must exist where the module
        runs (checked before any request).
    type: str
  group:
    description:
      - The group of the files written. Must exist where the module runs (checked before any request).
    type: str
  revoke_replaced:
    description:
      - Revoke replaced credentials (older ones with the same name) once the new credential is READY and its
        files are written. With O(wait=false), they are kept until a run finds the new credential READY.
      - Set to V(false) to deploy the new credential first and revoke the old one later, for example after
        restarting the services that use it; run the task again with V(true) to revoke. Replaced
        credentials still present are returned in RV(kept_replaced_credential_ids).
    type: bool
    default: true
  wait:
    description:
      - Wait for a new (or still CREATING) credential to be READY. Without waiting, the certificate and CA
        files are not written in this run, and the credentials it replaces are not revoked yet.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait for READY. Polling is adaptive; the first check comes after 0.2 seconds,
        then the delay doubles up to 5 seconds.
    type: int
    default: 120
  remove_files:
    description:
      - With O(state=absent), also delete O(private_key_path), O(certificate_path) and O(ca_certificate_path).
    type: bool
    default: false
notes:
  - Requires the C(cryptography) Python library where the module runs.
  - A credential issued from O(private_key_source=local) and one whose key OVHcloud generated are both kept
    as long as the key in O(private_key_path) matches the certificate, so switching between V(local) and
    V(ovh) alone does not replace a credential.
  - Revoking takes effect at once on the data plane; the API then shows the credential as DELETING for a
    short while before it disappears.
requirements:
  - cryptography
seealso:
  - module: ovhcloud.kms.okms_credential_info
  - module: ovhcloud.kms.okms_instance
"""

EXAMPLES = r"""
- name: Give this host a KMS certificate whose key never leaves it
  ovhcloud.kms.okms_credential:
    okms_id: "{{ kms.instance.id }}"
    name: "{{ inventory_hostname }}"
    identity_urns:
      - urn:v1:eu:identity:account:xx1111-ovh
    description: Access for the app servers
    validity: 90
    private_key_path: /etc/okms/domain.key
    certificate_path: /etc/okms/client.cert
    ca_certificate_path: /etc/okms/ca.pem
    group: app
    private_key_mode: '0640'

# Each credential has files of its own: two credentials sharing a key file would replace each other on every run.
- name: Deploy a rotated credential first, revoke the old one after the restart
  ovhcloud.kms.okms_credential:
    okms_id: "{{ kms.instance.id }}"
    name: app
    identity_urns: [urn:v1:eu:identity:group:xx1111-ovh/app]
    private_key_path: /etc/myapp/okms/domain.key
    certificate_path: /etc/myapp/okms/client.cert
    revoke_replaced: false
  register: credential
  notify: Restart app and revoke the old credential

- name: Use a CSR made elsewhere (an HSM, another tool)
  ovhcloud.kms.okms_credential:
    okms_id: "{{ kms.instance.id }}"
    name: hsm-client
    identity_urns: [urn:v1:eu:identity:account:xx1111-ovh]
    private_key_source: csr
    csr_path: /etc/pki/hsm-client.csr
    certificate_path: /etc/pki/hsm-client.pem

- name: Revoke and delete it
  ovhcloud.kms.okms_credential:
    okms_id: "{{ kms.instance.id }}"
    name: hsm-client
    state: absent
"""

RETURN = r"""
credential:
  description:
    - The credential after the run; an empty dictionary (V({})) with O(state=absent), or in check mode when a
      new one would be issued.
    - Never contains the private key.
  returned: success
  type: dict
  contains:
    id:
      description: The credential id.
      type: str
      sample: 2b7ed1fa-43a3-4a8a-9c4b-d0a3ba1fd55a
    name:
      description: Its name.
      type: str
      sample: web1
    description:
      description: Its description.
      type: str
      sample: Access for the app servers
    identity_urns:
      description: The identities it acts as.
      type: list
      elements: str
      sample: [urn:v1:eu:identity:account:xx1111-ovh]
    status:
      description: V(CREATING), V(READY), V(EXPIRED), V(DELETING) or V(ERROR).
      type: str
      sample: READY
    from_csr:
      description: Whether it was issued from a CSR (O(private_key_source=local) or V(csr)).
      type: bool
      sample: true
    certificate_type:
      description: V(ECDSA) or V(RSA).
      type: str
      sample: ECDSA
    created_at:
      description: When it was created (RFC 3339).
      type: str
      sample: "2025-01-01T12:00:00Z"
    expired_at:
      description: When its certificate expires (RFC 3339).
      type: str
      sample: "2026-01-01T12:00:00Z"
    certificate_pem:
      description: The certificate (PEM); V(null) while CREATING.
      type: str
      sample: "-----BEGIN CERTIFICATE-----\n..."
replaced_credential_id:
  description: The id of the credential this run replaced with a new one.
  returned: when a credential was replaced
  type: str
  sample: 0d3c0f77-6a3a-4a61-8c5e-0b1f1f3d2c11
revoked_credential_ids:
  description:
    - The credentials this run revoked (or would revoke, in check mode), including any whose OVHcloud-generated
      key was lost with its creation answer (a warning names them).
  returned: success
  type: list
  elements: str
  sample: [0d3c0f77-6a3a-4a61-8c5e-0b1f1f3d2c11]
issue_reasons:
  description: Why a new credential was issued (or would be, in check mode).
  returned: when a credential was issued
  type: list
  elements: str
  sample: ["its identity URNs differ"]
kept_replaced_credential_ids:
  description: Replaced credentials with the same name left in place because O(revoke_replaced=false).
  returned: success
  type: list
  elements: str
  sample: []
"""


import datetime
import math
import os

from ansible_collections.ovhcloud.kms.plugins.module_utils.cryptography_dependency import require_cryptography
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential import (
    CERTIFICATE_TYPES,
    CredentialOptionError,
    CredentialWaitError,
    PrivateKeyFileError,
    WantedCredential,
    api_date,
    build_csr,
    certificate_matches_public_key,
    clock_tolerance,
    credential_to_diff,
    credential_to_result,
    credentials_carrying,
    describe_duration,
    describe_key,
    effective_renew_before,
    generate_private_key,
    issuing_ca_pems,
    key_certificate_type,
    load_certificate,
    load_csr,
    load_private_key,
    parse_api_datetime,
    private_key_pem,
    replacement_reasons,
    select_current,
    utc_now,
    validate_description,
    validate_identity_urns,
    validate_name,
    validate_uuid,
    validate_validity,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential_api import (
    CredentialApi,
    CredentialKeyLostError,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_files import (
    FilePathError,
    check_file_attributes,
    check_writable,
    ensure_file,
    read_file,
    read_option_file,
    remove_file,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_reconciler import ABSENT, Reconciler, TaskError
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhAmbiguousRequestError, OvhApiError

ARGUMENT_SPEC = dict(
    okms_id=dict(type="str", required=True),
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    identity_urns=dict(type="list", elements="str"),
    description=dict(type="str"),
    validity=dict(type="int", default=365),
    renew_before=dict(type="int"),
    certificate_type=dict(type="str", choices=list(CERTIFICATE_TYPES)),
    private_key_source=dict(type="str", choices=["local", "csr", "ovh"], default="local"),
    # Paths, not secrets.
    private_key_path=dict(type="path", no_log=False),
    csr=dict(type="str"),
    csr_path=dict(type="path", no_log=False),
    certificate_path=dict(type="path"),
    ca_certificate_path=dict(type="path"),
    # File permissions, not a secret.
    private_key_mode=dict(type="raw", default="0600", no_log=False),
    certificate_mode=dict(type="raw", default="0644"),
    owner=dict(type="str"),
    group=dict(type="str"),
    revoke_replaced=dict(type="bool", default=True),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=120),
    remove_files=dict(type="bool", default=False),
)

FILE_OPTIONS = ("private_key_path", "certificate_path", "ca_certificate_path")
# A new locally generated key waits in <private_key_path>.pending while its credential is requested.
PENDING_SUFFIX = ".pending"
# Listings of the credentials of the name read before creating, until two in a row agree.
MAX_LISTINGS = 4


class CredentialRequest:
    """The task's options, checked before any API call (a bad one raises TaskError)."""

    def __init__(self, params, check_mode=False):
        self.check_mode = check_mode
        self.okms_id = params["okms_id"]
        self.name = params["name"]
        self.state = params["state"]
        self.source = params["private_key_source"]
        self.description = params["description"]
        self.validity = params["validity"]
        self.private_key_path = params["private_key_path"]
        self.certificate_path = params["certificate_path"]
        self.ca_certificate_path = params["ca_certificate_path"]
        self.private_key_mode = params["private_key_mode"]
        self.certificate_mode = params["certificate_mode"]
        self.owner = params["owner"]
        self.group = params["group"]
        self.revoke_replaced = params["revoke_replaced"]
        self.wait = params["wait"]
        self.wait_timeout = params["wait_timeout"]
        self.remove_files = params["remove_files"]
        self.csr = None
        self.csr_pem = None
        self.identity_urns = None
        self.wanted = None
        try:
            validate_uuid("okms_id", self.okms_id, "a KMS")
            validate_name(self.name)
            if self.state == "present":
                self._check_present(params)
            elif self.remove_files:
                self._check_removable()
        except (CredentialOptionError, FilePathError) as exc:
            raise TaskError("%s (nothing was sent to the API)" % exc)

    @property
    def key_file_label(self):
        """How replacement reasons and warnings name the key the certificate must carry."""
        return "the CSR" if self.source == "csr" else "the key in %s" % self.private_key_path

    @property
    def pending_key_path(self):
        """Where a new local key waits while its credential is requested."""
        return self.private_key_path + PENDING_SUFFIX if self.source == "local" else None

    def _check_present(self, params):
        validate_description(self.description)
        validate_validity(self.validity)
        renew_before = effective_renew_before(self.validity, params["renew_before"])
        self.identity_urns = validate_identity_urns(params["identity_urns"])
        if self.wait_timeout <= 0:
            raise CredentialOptionError("wait_timeout must be a positive number of seconds")
        if self.source == "csr":
            self._load_csr(params)
            certificate_type = key_certificate_type(self.csr.public_key())
            if params["certificate_type"] == "RSA":
                raise CredentialOptionError(
                    "certificate_type RSA cannot be combined with a CSR (the API refuses it): the certificate "
                    "type follows the CSR's key; leave certificate_type unset")
            if params["certificate_type"] and params["certificate_type"] != certificate_type:
                raise CredentialOptionError("certificate_type is %s but the CSR holds an %s key"
                                            % (params["certificate_type"], certificate_type))
            if self.private_key_path:
                raise CredentialOptionError("private_key_path is not used with private_key_source=csr: the "
                                            "module never sees the key of a CSR")
        else:
            certificate_type = params["certificate_type"] or "ECDSA"
            if params["csr"] or params["csr_path"]:
                raise CredentialOptionError("csr and csr_path need private_key_source=csr")
            if not self.private_key_path:
                raise CredentialOptionError(
                    "private_key_source=%s needs private_key_path: %s" % (
                        self.source, "the key generated here must be kept somewhere" if self.source == "local"
                        else "OVHcloud returns the generated key only once, and without a path it would be lost"))
        self.wanted = WantedCredential(self.identity_urns, self.description, certificate_type, renew_before)
        self._check_files()

    def _check_files(self):
        """Every file the run may write can be written, as asked: a credential is never issued for nothing."""
        paths = [(option, getattr(self, option)) for option in FILE_OPTIONS if getattr(self, option)]
        seen = {}
        for option, path in paths:
            real = os.path.realpath(path)
            if real in seen:
                raise CredentialOptionError("%s and %s name the same file (%s): each needs a file of its own"
                                            % (seen[real], option, path))
            seen[real] = option
            check_writable(option, path, read_too=True, check_mode=self.check_mode)
        if self.pending_key_path:
            check_writable("private_key_path", self.pending_key_path, check_mode=self.check_mode)
        if self.private_key_path:
            check_file_attributes("private_key_mode", self.private_key_mode, self.owner, self.group)
        if self.certificate_path or self.ca_certificate_path:
            check_file_attributes("certificate_mode", self.certificate_mode, self.owner, self.group)

    def _check_removable(self):
        for option in FILE_OPTIONS:
            path = getattr(self, option)
            if path and os.path.isdir(path):
                raise FilePathError("%s %s is a directory: remove_files removes files only" % (option, path))
            if path:
                # What remove_file reads first: a path under a file, or one that cannot be read, fails here.
                read_option_file(option, path)

    def _load_csr(self, params):
        if params["csr"]:
            self.csr_pem = params["csr"]
        elif params["csr_path"]:
            content = read_option_file("csr_path", params["csr_path"])
            if content is None:
                raise CredentialOptionError("csr_path %s does not exist" % params["csr_path"])
            self.csr_pem = content.decode("utf-8", "replace")
        else:
            raise CredentialOptionError("private_key_source=csr needs csr or csr_path")
        try:
            self.csr = load_csr(self.csr_pem)
        except CredentialOptionError as exc:
            raise CredentialOptionError("%s: %s" % ("csr" if params["csr"] else "csr_path %s" % params["csr_path"],
                                                    exc))


class LocalKey:
    """A private key file's content and key (the key of private_key_path, or a pending new one)."""

    def __init__(self, pem, key):
        self.pem = pem
        self.key = key

    @property
    def public_key(self):
        return self.key.public_key()


class CredentialPlan:
    """What a present run found and decided, before it changes anything."""

    def __init__(self, credentials, named, current, older, now, skew):
        # Every credential of the KMS as listed, and those of the task's name.
        self.credentials = credentials
        self.named = named
        # The credential in use (the newest of the name), or None.
        self.current = current
        # Older credentials of the same name: replaced by a past rotation, still there.
        self.older = older
        # Why a new credential is needed; empty when the current one is kept.
        self.reasons = []
        # The key of private_key_path (local and ovh sources), None when the file is missing.
        self.key = None
        # A key an interrupted run left in <private_key_path>.pending: adopted when a credential carries it.
        self.pending = None
        self.adopt_pending = False
        self.discard_pending = False
        # ovh: newer credentials whose key never reached private_key_path (an interrupted run's); revoked.
        self.orphans = []
        # The server's time (the local time when unknown), and how far the local clock is ahead of it.
        self.now = now
        self.skew = skew

    @property
    def keep(self):
        return not self.reasons

    @property
    def known_ids(self):
        """The ids of the name listed: a credential a lost creation made is the one not among them."""
        return set(credential["id"] for credential in self.named)

    @property
    def replaced(self):
        """Every credential of the name that a new one replaces."""
        return ([self.current] if self.current is not None else []) + self.older


def alive_ids(credentials):
    return set(credential["id"] for credential in credentials if credential.get("status") != "DELETING")


class CredentialReconciler(Reconciler):
    """Lists the credentials, plans (keep or issue), re-lists before issuing, then applies the plan."""

    to_diff = staticmethod(credential_to_diff)

    def __init__(self, module, request=None):
        super(CredentialReconciler, self).__init__(module, request)
        self._api = None
        self.revoked_ids = []
        self.kept_replaced_ids = []
        self.files_before = {}
        self.files_after = {}
        # The credentials of this name as first listed, for the diff.
        self.before_credentials = []

    @property
    def api(self):
        if self._api is None:
            self._api = CredentialApi(self.client, self.request.okms_id)
        return self._api

    def named(self, credentials):
        return [credential for credential in credentials if credential.get("name") == self.request.name]

    def reconcile(self):
        if self.request is None:
            self.request = CredentialRequest(self.params, self.check_mode)
        credentials = self.api.list()
        named = self.named(credentials)
        self.before_credentials = [self.to_diff(c) for c in named if c.get("status") != "DELETING"]
        if self.request.state == "absent":
            return self.absent(named)
        plan = self.plan(credentials)
        if not plan.keep:
            plan = self.confirm_plan(plan)
        self.check_clock(plan)
        return self.apply_plan(plan)

    # -- present: plan -------------------------------------------------------------------

    def plan(self, credentials):
        """Keep the current credential, or issue a new one and why; reads only (and waits for a CREATING one)."""
        request = self.request
        named = self.named(credentials)
        current, older = select_current(named)
        if current is not None and current.get("status") == "CREATING" and request.wait:
            current = self.wait_ready(current)
            named = [current if c["id"] == current["id"] else c for c in named]
        now, skew = self.clock()
        plan = CredentialPlan(credentials, named, current, older, now, skew)
        if request.source == "csr":
            plan.reasons = ["none exists"] if current is None else replacement_reasons(
                current, request.wanted, request.csr.public_key(), now, request.key_file_label)
            return plan
        self.read_keys(plan)
        if request.source == "ovh":
            self.find_orphans(plan)
        if plan.current is None:
            plan.reasons = ["none exists"]
            self.refuse_a_key_in_use(plan)
            return plan
        plan.reasons = replacement_reasons(plan.current, request.wanted, None, now)
        if plan.key is None:
            plan.reasons.append("its private key is not in %s" % request.private_key_path)
            self.warn("credential %s (%s) is replaced because its private key is lost: its private key is not in %s"
                      % (plan.current["id"], request.name, request.private_key_path))
        elif not self.carries(plan.current, plan.key):
            raise TaskError(self.mismatch_message(plan))
        return plan

    def confirm_plan(self, plan):
        """List again before issuing a credential, until two listings agree on the credentials of the name.

        A list read page by page while a credential is deleted (the previous
        task revoked one) can skip another: "none exists" must not be decided
        from one pass. Each listing that differs from the one before is planned
        again; the run fails rather than decide on a list that keeps changing.
        """
        warnings = len(self.warnings)
        listings = [plan.named]
        while len(listings) < MAX_LISTINGS:
            credentials = self.api.list()
            named = self.named(credentials)
            if alive_ids(named) == alive_ids(listings[-1]):
                # Ids of DELETING credentials may come and go; a lost creation is told by the latest ones.
                plan.named = named
                return plan
            # The same as an earlier listing: the one in between missed something.
            agrees = any(alive_ids(named) == alive_ids(earlier) for earlier in listings)
            listings.append(named)
            del self.warnings[warnings:]
            plan = self.plan(credentials)
            if plan.keep or agrees:
                return plan
        raise TaskError("the credentials named %s kept changing while this task listed them %d times (%s): another "
                        "task or run is changing them; nothing was created or revoked, run again"
                        % (self.request.name, len(listings),
                           "; then ".join(", ".join(sorted(alive_ids(n))) or "none" for n in listings)))

    def clock(self):
        """(now by the server's clock, how far the local clock is ahead of it); the local time when unknown."""
        local = utc_now()
        server = self.api.server_now()
        if server is None:
            return local, None
        return server, local - server

    def read_keys(self, plan):
        """The key of private_key_path and, with local keys, one an interrupted run left pending."""
        request = self.request
        plan.key = self.read_key_file("private_key_path", request.private_key_path)
        if not request.pending_key_path:
            return
        plan.pending = self.read_key_file("private_key_path", request.pending_key_path, pending=True)
        if plan.pending is None:
            return
        carriers = credentials_carrying(plan.pending.public_key, plan.named)
        if carriers:
            # The interrupted run's request did create a credential: its key is the one to use.
            plan.adopt_pending = True
            plan.key = plan.pending
            self.warn("credential %s (%s) was created for the key an interrupted run left in %s: that key is moved to "
                      "%s" % (carriers[0]["id"], request.name, request.pending_key_path, request.private_key_path))
        elif not any(c.get("status") == "CREATING" and not c.get("certificatePEM") for c in plan.named):
            # No credential carries it (and none still CREATING could): its request never took effect.
            plan.discard_pending = True

    def find_orphans(self, plan):
        """ovh keys: credentials newer than the one whose key is in private_key_path lost their key on the way.

        Their key existed only in a creation answer that never reached the
        file (an interrupted run): nobody holds it, so they are revoked and the
        credential whose key is here is the current one.
        """
        if plan.key is None or plan.current is None or self.carries(plan.current, plan.key):
            return
        carriers = credentials_carrying(plan.key.public_key, plan.older)
        if not carriers:
            return
        holder = carriers[-1]
        position = plan.older.index(holder)
        plan.orphans = [plan.current] + plan.older[position + 1:]
        plan.current, plan.older = holder, plan.older[:position]
        for orphan in plan.orphans:
            self.warn("credential %s (%s) is revoked: its private key, generated by OVHcloud, never reached %s (an "
                      "interrupted run), while that file holds the key of credential %s"
                      % (orphan["id"], self.request.name, self.request.private_key_path, holder["id"]))

    @staticmethod
    def carries(credential, local_key):
        """Whether ``credential``'s certificate is for ``local_key``; True while it has no certificate yet."""
        certificate_pem = credential.get("certificatePEM")
        return not certificate_pem or certificate_matches_public_key(certificate_pem, local_key.public_key)

    def refuse_a_key_in_use(self, plan):
        """A new credential overwrites private_key_path: never when the key there is another credential's."""
        if plan.key is None:
            return
        owners = credentials_carrying(plan.key.public_key, plan.credentials)
        if owners:
            raise TaskError(
                "private_key_path %s holds the key of credential %s (named '%s'): a new credential '%s' would "
                "overwrite it. Each credential needs a key file of its own: give another private_key_path (nothing was "
                "changed)" % (self.request.private_key_path, owners[0]["id"], owners[0].get("name"), self.request.name))

    def mismatch_message(self, plan):
        """private_key_path holds a key the current credential's certificate does not carry: what is there, and why."""
        request = self.request
        current = plan.current
        expected = load_certificate(current["certificatePEM"]).public_key()
        found = describe_key(plan.key.public_key)
        owners = [c for c in credentials_carrying(plan.key.public_key, plan.credentials) if c["id"] != current["id"]]
        if owners:
            found += ", the key of credential %s (named '%s')" % (owners[0]["id"], owners[0].get("name"))
        return ("private_key_path %s holds %s, but the certificate of credential %s (%s) is for %s. The file is not "
                "overwritten: put the key of that certificate back, or move the file away to have the credential "
                "replaced by a new one with a new key (nothing was changed)"
                % (request.private_key_path, found, current["id"], request.name, describe_key(expected)))

    # -- the clock ----------------------------------------------------------------------

    def check_clock(self, plan):
        """Refuse to revoke anything when the local clock is further from the server's than renew_before."""
        if plan.skew is None:
            return
        tolerance = clock_tolerance(self.request.wanted.renew_before)
        if abs(plan.skew) <= tolerance:
            return
        local = plan.now + plan.skew
        way = "ahead" if plan.skew > datetime.timedelta(0) else "behind"
        wrong = ("the clock of this host is wrong: local time %s, server time %s (%s %s, more than the %s "
                 "renew_before allows)" % (api_date(local), api_date(plan.now), describe_duration(plan.skew), way,
                                           describe_duration(tolerance)))
        revoking = self.revocations(plan)
        if revoking:
            raise TaskError("%s. Refusing to revoke credential(s) %s: set the clock right (NTP) and run again; "
                            "nothing was changed" % (wrong, ", ".join(c["id"] for c in revoking)))
        self.warn("%s; expiry is judged by the server's time" % wrong)

    def revocations(self, plan):
        """The credentials applying ``plan`` revokes."""
        alive = [c for c in (plan.older if plan.keep else plan.replaced) if c.get("status") != "DELETING"]
        ready = plan.current is not None and plan.current.get("status") == "READY"
        revoked = list(plan.orphans)
        if self.request.revoke_replaced and (ready if plan.keep else self.request.wait):
            revoked.extend(alive)
        return revoked

    # -- present: apply ------------------------------------------------------------------

    def apply_plan(self, plan):
        """Keep and deploy the current credential, or issue, deploy and wait for a new one; then retire the old."""
        self.settle_pending(plan)
        for orphan in plan.orphans:
            self.revoke(orphan)
        if plan.keep:
            credential = plan.current
            self.warn_if_validity_differs(credential, plan.now)
            if plan.key is not None:
                # Same content (unless a pending key is adopted): converges the file's mode and owner.
                self.write_file(self.request.private_key_path, plan.key.pem, self.request.private_key_mode)
            self.write_certificate_files(credential)
            self.retire(plan.older, credential)
            return self.result(credential)

        if self.check_mode:
            # The files a real run would write, with content not known yet.
            self.changed = True
            request = self.request
            for path in (request.private_key_path if request.source != "csr" else None,
                         request.certificate_path if request.wait else None,
                         request.ca_certificate_path if request.wait else None):
                if path:
                    self.plan_new_file(path)
            self.retire(plan.replaced, None)
            return self.result(None, plan)

        credential, new_key = self.issue(plan)
        if self.request.wait:
            credential = self.wait_ready(credential)
            if credential.get("status") != "READY":
                raise TaskError("new credential %s is %s instead of READY"
                                % (credential.get("id"), credential.get("status")), **self.result(credential, plan))
            if new_key is not None and not certificate_matches_public_key(credential["certificatePEM"],
                                                                          new_key.public_key()):
                raise TaskError("the certificate of new credential %s does not carry the key sent in the CSR"
                                % credential["id"], **self.result(credential, plan))
            self.write_certificate_files(credential)
        self.retire(plan.replaced, credential)
        return self.result(credential, plan)

    def settle_pending(self, plan):
        """Move an adopted pending key into private_key_path, or delete one whose request never took effect."""
        request = self.request
        if plan.adopt_pending:
            self.write_file(request.private_key_path, plan.pending.pem, request.private_key_mode)
        if plan.adopt_pending or plan.discard_pending:
            self.record_file(remove_file(self.module, request.pending_key_path))

    def issue(self, plan):
        """Create the new credential with its key; returns (credential, key generated here or None).

        A key generated here is written before the request (to the pending
        file, moved to private_key_path once the credential exists): whatever
        happens to the request, the key of what the server made is on disk.
        """
        request = self.request
        body = dict(name=request.name, identityURNs=request.identity_urns, validity=request.validity)
        if request.description:
            body["description"] = request.description
        new_key = None
        if request.source == "local":
            new_key = generate_private_key(request.wanted.certificate_type)
            new_pem = private_key_pem(new_key)
            self.mask(new_pem)
            # Not reported as a change of its own: it becomes private_key_path, or goes away.
            ensure_file(self.module, request.pending_key_path, new_pem, "0600", request.owner, request.group)
            body["csr"] = build_csr(new_key, request.name)
        elif request.source == "csr":
            body["csr"] = request.csr_pem
        else:
            body["certificateType"] = request.wanted.certificate_type
        created = self.create(body, plan.known_ids)
        generated = created.pop("privateKeyPEM", None)
        self.refuse_a_newer_twin(created, plan)

        # The key is in place before waiting, so that it is kept even when waiting fails.
        if new_key is not None:
            self.write_private_key(new_pem)
            remove_file(self.module, request.pending_key_path)
        elif request.source == "ovh":
            if not generated:
                raise TaskError("the API returned no private key for credential %s" % created.get("id"))
            self.write_private_key(generated.encode("ascii"))
        return created, new_key

    def refuse_a_newer_twin(self, created, plan):
        """Another task or run may have created this name too, after this run listed it: keep the older only.

        Every run that finds an older credential of the name made meanwhile
        revokes its own, which is seconds old and in use nowhere, so one
        remains whichever run finishes first; this run then fails, and the
        next one deploys the remaining credential.
        """
        def order(credential):
            return parse_api_datetime(credential["createdAt"]), credential["id"]

        twins = [c for c in self.api.list_named(self.request.name) if c.get("status") != "DELETING"
                 and c["id"] not in plan.known_ids and c["id"] != created["id"] and order(c) < order(created)]
        if not twins:
            return
        self.revoke(created)
        if self.request.pending_key_path:
            remove_file(self.module, self.request.pending_key_path)
        raise TaskError("credential %s named %s was created meanwhile by another task or run, before this run's "
                        "credential %s, which was revoked so that one remains; run again to deploy %s"
                        % (twins[0]["id"], self.request.name, created["id"], twins[0]["id"]),
                        **self.result(None, plan))

    def create(self, body, known_ids):
        """POST the credential; an ovh credential whose key was lost with the answer is revoked and asked again.

        Each lost one is revoked before the next request, so there is never more than one without its key;
        the attempts are bounded by the client's retry budget, like any repeated write.
        """
        pending = self.request.pending_key_path
        known = set(known_ids)
        lost = []
        while True:
            try:
                return self.apply(self.api.create, body, known)
            except CredentialKeyLostError as exc:
                # Its key existed only in the lost answer: revoke it now rather than leave an orphan.
                self.revoke(exc.credential)
                known.add(exc.credential_id)
                lost.append(exc.credential_id)
                if len(lost) >= self.api.retry_policy.max_attempts:
                    raise TaskError("%s; it was revoked, as were credentials %s, whose answers were lost the same "
                                    "way. Nothing is left without its key: run again"
                                    % (exc, ", ".join(lost[:-1])), **self.result(None))
                self.warn("%s: it was revoked, and a new credential was requested" % exc)
            except OvhAmbiguousRequestError:
                if pending:
                    self.warn("the new private key stays in %s: if the credential was created, the next run finds it "
                              "and moves the key to private_key_path" % pending)
                raise
            except OvhApiError:
                # Refused (or proved not applied): no credential carries the pending key.
                if pending:
                    remove_file(self.module, pending)
                raise

    def wait_ready(self, credential):
        """The credential once READY, or as it ended up (ERROR, EXPIRED, DELETING) for the caller to judge."""
        if credential.get("status") == "READY" and credential.get("certificatePEM"):
            return credential
        try:
            return self.api.wait_until_ready(credential["id"], self.request.wait_timeout)
        except CredentialWaitError as exc:
            if exc.credential is not None and exc.credential.get("status") not in ("CREATING", "READY"):
                return exc.credential
            raise TaskError("%s (name %s)" % (exc, self.request.name), **self.result(exc.credential))

    def warn_if_validity_differs(self, credential, now):
        """A kept credential whose lifetime is not ``validity``: say when the new validity applies."""
        request = self.request
        try:
            created = parse_api_datetime(credential["createdAt"])
            expires = parse_api_datetime(credential["expiredAt"])
        except (AttributeError, KeyError, TypeError, ValueError):
            return
        day = datetime.timedelta(days=1)
        issued_days = int(round((expires - created) / day))
        if issued_days == request.validity:
            return
        renew_before = request.wanted.renew_before
        renewal = expires - renew_before * day
        days_left = int(math.ceil((expires - now) / day))
        if days_left < request.validity:
            sooner = "to renew it now, run once with renew_before: %d" % days_left
        else:
            sooner = "to replace it sooner, revoke it (state: absent) and run this task again"
        self.warn(
            "validity is %d days but credential %s (%s) was issued for %d days: a credential cannot be changed, so "
            "validity applies from its next renewal, on %s (renew_before: %d, counted back from its expiry on %s); %s"
            % (request.validity, credential["id"], request.name, issued_days, renewal.strftime("%Y-%m-%d %H:%M UTC"),
               renew_before, credential["expiredAt"], sooner))

    def retire(self, replaced, credential):
        """Revoke (or keep, with revoke_replaced=false) the replaced credentials once ``credential`` is in place.

        In place means READY with its files written; until then (wait=false, or
        still CREATING) the replaced ones keep working and are kept.
        """
        in_place = credential is None and self.request.wait or \
            credential is not None and credential.get("status") == "READY"
        waiting = []
        for old in replaced:
            if old.get("status") == "DELETING":
                continue
            if self.request.revoke_replaced and in_place:
                self.revoke(old)
            else:
                self.kept_replaced_ids.append(old["id"])
                if self.request.revoke_replaced:
                    waiting.append(old["id"])
        if waiting:
            self.warn("credential(s) %s not revoked yet: credential %s is not READY; a run that finds it READY revokes "
                      "them" % (", ".join(waiting), credential.get("id") if credential else "(new)"))

    def revoke(self, credential):
        self.revoked_ids.append(credential["id"])
        self.apply(self.api.revoke, credential)

    # -- absent --------------------------------------------------------------------------

    def absent(self, named):
        request = self.request
        for credential in named:
            if credential.get("status") != "DELETING":
                self.revoke(credential)
        if request.remove_files:
            for path in (request.private_key_path, request.certificate_path, request.ca_certificate_path):
                if path:
                    outcome = remove_file(self.module, path)
                    self.record_file(outcome)
        return self.result(None)

    # -- files ---------------------------------------------------------------------------

    def record_file(self, outcome):
        self.files_before[outcome.path] = outcome.before
        self.files_after[outcome.path] = outcome.after
        self.changed = self.changed or outcome.changed

    def write_file(self, path, content, mode):
        self.record_file(ensure_file(self.module, path, content, mode, self.request.owner, self.request.group))

    def plan_new_file(self, path):
        """Check mode: a file that a real run would write with content not known yet."""
        existing = read_file(path)
        self.files_before[path] = {"path": path, "state": "absent"} if existing is None else \
            {"path": path, "state": "file"}
        self.files_after[path] = {"path": path, "state": "file", "fingerprint": "(known after the run)"}

    def write_certificate_files(self, credential):
        request = self.request
        certificate_pem = credential.get("certificatePEM")
        if not certificate_pem:
            return
        if request.certificate_path:
            self.write_file(request.certificate_path, certificate_pem, request.certificate_mode)
        if request.ca_certificate_path:
            ca_pems = issuing_ca_pems(certificate_pem, self.api.kms_with_public_cas())
            if not ca_pems:
                raise TaskError("KMS %s returned no public CA" % request.okms_id)
            content = "".join(pem.strip() + "\n" for pem in ca_pems)
            self.write_file(request.ca_certificate_path, content, request.certificate_mode)

    def mask(self, pem_bytes):
        # Masks the key in anything the module might print, as a second line of defence.
        self.module.no_log_values.add(pem_bytes.decode("utf-8", "replace").strip())

    def write_private_key(self, pem_bytes):
        self.mask(pem_bytes)
        self.write_file(self.request.private_key_path, pem_bytes, self.request.private_key_mode)

    def read_key_file(self, option, path, pending=False):
        """The LocalKey in ``path``, None when missing; raises TaskError on a file that cannot be used."""
        try:
            content = read_option_file(option, path)
        except FilePathError as exc:
            raise TaskError("%s (nothing was changed)" % exc)
        if content is None:
            return None
        self.mask(content)
        try:
            return LocalKey(content, load_private_key(content))
        except PrivateKeyFileError as exc:
            what = "%s %s" % (option, path) if not pending else \
                "the pending key %s (a new key for private_key_path, left by an interrupted run)" % path
            raise TaskError("%s cannot be used: %s. It is not overwritten; move it away to let the module write a new "
                            "key" % (what, exc))

    # -- result --------------------------------------------------------------------------

    def result(self, credential, plan=None):
        """The module's return values; ``plan`` is given when a new credential was (or would be) issued."""
        result = dict(credential=credential_to_result(credential) if credential else dict(ABSENT),
                      revoked_credential_ids=list(self.revoked_ids),
                      kept_replaced_credential_ids=list(self.kept_replaced_ids))
        issuing = plan is not None and not plan.keep
        if issuing:
            if plan.current is not None:
                result["replaced_credential_id"] = plan.current["id"]
            result["issue_reasons"] = list(plan.reasons)
        if self.module._diff:
            result["diff"] = dict(
                before=dict(credentials=list(self.before_credentials), files=self.files_before),
                after=dict(credentials=self._after_credentials(credential, issuing), files=self.files_after))
        return result

    def _after_credentials(self, credential, issuing):
        remaining = [c for c in self.before_credentials if c["id"] not in self.revoked_ids]
        if credential is not None and credential.get("id") not in [c["id"] for c in remaining]:
            remaining.append(self.to_diff(credential))
        elif credential is None and issuing:
            remaining.append(dict(name=self.request.name, identity_urns=sorted(self.request.identity_urns),
                                  description=self.request.description, status="(new)"))
        return remaining


def main():
    module = OkmsModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                        mutually_exclusive=[("csr", "csr_path")],
                        required_if=[("state", "present", ["identity_urns"])])
    require_cryptography(module)
    CredentialReconciler(module).run()


if __name__ == "__main__":
    main()
