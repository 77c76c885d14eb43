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
    old one (see O(revoke_replaced)).
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
  - ovhcloud.kms.attributes.api
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
        passes through OVHcloud.
    type: str
    choices: [local, csr, ovh]
    default: local
  private_key_path:
    description:
      - Where the private key is (or is written), PEM. Required with O(private_key_source=local) and
        O(private_key_source=ovh), since without it a key generated by OVHcloud would be lost.
      - Written atomically (a private temporary file renamed over the destination). A file that exists
        but does not hold an unencrypted PEM private key is never overwritten; the module fails instead.
      - When the file is missing, or its key does not match the certificate, the credential is replaced
        with a warning.
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
      - The owner of the files written. Defaults to the user running the module.
    type: str
  group:
    description:
      - The group of the files written.
    type: str
  revoke_replaced:
    description:
      - Revoke replaced credentials (older ones with the same name) once the new files are written.
      - Set to V(false) to deploy the new credential first and revoke the old one later, for example after
        restarting the services that use it; run the task again with V(true) to revoke. Replaced
        credentials still present are returned in RV(kept_replaced_credential_ids).
    type: bool
    default: true
  wait:
    description:
      - Wait for a new (or still CREATING) credential to be READY. Without waiting, the certificate and CA
        files are not written in this run.
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
  description: The credentials this run revoked (or would revoke, in check mode).
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

from ansible_collections.ovhcloud.kms.plugins.module_utils.cryptography_dependency import require_cryptography
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential import (
    CERTIFICATE_TYPES,
    CredentialOptionError,
    CredentialWaitError,
    PrivateKeyFileError,
    WantedCredential,
    build_csr,
    certificate_matches_public_key,
    credential_to_diff,
    credential_to_result,
    effective_renew_before,
    generate_private_key,
    issuing_ca_pems,
    key_certificate_type,
    load_csr,
    load_private_key,
    parse_api_datetime,
    private_key_pem,
    private_key_type,
    replacement_reasons,
    select_current,
    utc_now,
    validate_description,
    validate_identity_urns,
    validate_name,
    validate_validity,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential_api import CredentialApi
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_files import (
    ensure_file,
    read_file,
    remove_file,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_reconciler import ABSENT, Reconciler, TaskError

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


class CredentialRequest:
    """The task's options, checked before any API call (a bad one raises TaskError)."""

    def __init__(self, params):
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
            validate_name(self.name)
            if self.state == "present":
                self._check_present(params)
        except CredentialOptionError as exc:
            raise TaskError("%s (nothing was sent to the API)" % exc)

    @property
    def key_file_label(self):
        """How replacement reasons and warnings name the key the certificate must carry."""
        return "the CSR" if self.source == "csr" else "the key in %s" % self.private_key_path

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

    def _load_csr(self, params):
        if params["csr"]:
            self.csr_pem = params["csr"]
        elif params["csr_path"]:
            content = read_file(params["csr_path"])
            if content is None:
                raise CredentialOptionError("csr_path %s does not exist" % params["csr_path"])
            self.csr_pem = content.decode("utf-8", "replace")
        else:
            raise CredentialOptionError("private_key_source=csr needs csr or csr_path")
        self.csr = load_csr(self.csr_pem)


class CredentialPlan:
    """What a present run found and decided, before it changes anything."""

    def __init__(self, current, older, reasons, key_pem, known_ids):
        # The credential in use (the newest of the name), or None.
        self.current = current
        # Older credentials of the same name: replaced by a past rotation, still there.
        self.older = older
        # Why a new credential is needed; empty when the current one is kept.
        self.reasons = reasons
        # The content of private_key_path (local and ovh sources), None when missing.
        self.key_pem = key_pem
        # The ids listed before creating: a credential a lost creation made is the one not among them.
        self.known_ids = known_ids

    @property
    def keep(self):
        return not self.reasons

    @property
    def replaced(self):
        """Every credential of the name that a new one replaces."""
        return ([self.current] if self.current is not None else []) + self.older


class CredentialReconciler(Reconciler):
    """Lists the credentials of the name once, then plans (keep or issue) and applies the plan."""

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

    def reconcile(self):
        if self.request is None:
            self.request = CredentialRequest(self.params)
        named = self.api.list_named(self.request.name)
        self.before_credentials = [self.to_diff(c) for c in named if c.get("status") != "DELETING"]
        if self.request.state == "absent":
            return self.absent(named)
        return self.apply_plan(self.plan(named))

    # -- present: plan -------------------------------------------------------------------

    def plan(self, named):
        """Keep the current credential, or issue a new one and why; reads only (and waits for a CREATING one)."""
        request = self.request
        current, older = select_current(named)
        if current is not None and current.get("status") == "CREATING" and request.wait:
            current = self.wait_ready(current)

        key_pem, expected_public_key, key_problem = None, None, None
        if request.source == "csr":
            expected_public_key = request.csr.public_key()
        else:
            key_pem, key = self.read_private_key()
            if key is None:
                key_problem = "its private key is not in %s" % request.private_key_path
            elif private_key_type(key) == request.wanted.certificate_type:
                expected_public_key = key.public_key()

        if current is None:
            reasons = ["none exists"]
        else:
            reasons = replacement_reasons(current, request.wanted, expected_public_key, utc_now(),
                                          request.key_file_label)
            if key_problem:
                reasons.append(key_problem)
            key_mismatch = expected_public_key is not None and current.get("certificatePEM") and \
                not certificate_matches_public_key(current["certificatePEM"], expected_public_key)
            if (key_problem or key_mismatch) and request.source != "csr":
                self.warn("credential %s (%s) is replaced because its private key is lost: %s" % (
                    current["id"], request.name,
                    key_problem or "the key in %s does not match its certificate" % request.private_key_path))
        return CredentialPlan(current, older, reasons, key_pem, set(c["id"] for c in named))

    # -- present: apply ------------------------------------------------------------------

    def apply_plan(self, plan):
        """Keep and deploy the current credential, or issue, deploy and wait for a new one; then retire the old."""
        if plan.keep:
            credential = plan.current
            self.warn_if_validity_differs(credential)
            if plan.key_pem is not None:
                # Same content: only converges the file's mode and owner.
                self.write_file(self.request.private_key_path, plan.key_pem, self.request.private_key_mode)
            self.write_certificate_files(credential)
            self.handle_replaced(plan.older)
            return self.result(credential)

        issued = self.apply(self.issue, plan)
        if issued is None:
            # Check mode: the files a real run would write, with content not known yet.
            request = self.request
            for path in (request.private_key_path if request.source != "csr" else None,
                         request.certificate_path if request.wait else None,
                         request.ca_certificate_path if request.wait else None):
                if path:
                    self.plan_new_file(path)
            self.handle_replaced(plan.replaced)
            return self.result(None, plan)

        credential, new_key = issued
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
        self.handle_replaced(plan.replaced)
        return self.result(credential, plan)

    def issue(self, plan):
        """Create the new credential and write its private key; returns (credential, key generated here or None)."""
        request = self.request
        body = dict(name=request.name, identityURNs=request.identity_urns, validity=request.validity)
        if request.description:
            body["description"] = request.description
        new_key = None
        if request.source == "local":
            new_key = generate_private_key(request.wanted.certificate_type)
            body["csr"] = build_csr(new_key, request.name)
        elif request.source == "csr":
            body["csr"] = request.csr_pem
        else:
            body["certificateType"] = request.wanted.certificate_type
        created = self.api.create(body, plan.known_ids)
        generated = created.pop("privateKeyPEM", None)

        # The key is written before waiting, so that it is kept even when waiting fails.
        if new_key is not None:
            self.write_private_key(private_key_pem(new_key))
        elif request.source == "ovh":
            if not generated:
                raise TaskError("the API returned no private key for credential %s" % created.get("id"))
            self.write_private_key(generated.encode("ascii"))
        return created, new_key

    def wait_ready(self, credential):
        """The credential once READY, or as it ended up (ERROR, EXPIRED, DELETING) for the caller to judge."""
        try:
            return self.api.wait_until_ready(credential["id"], self.request.wait_timeout)
        except CredentialWaitError as exc:
            if exc.credential is not None and exc.credential.get("status") not in ("CREATING", "READY"):
                return exc.credential
            raise TaskError("%s (name %s)" % (exc, self.request.name), **self.result(exc.credential))

    def warn_if_validity_differs(self, credential):
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
        days_left = int(math.ceil((expires - utc_now()) / day))
        if days_left < request.validity:
            sooner = "to renew it now, run once with renew_before: %d" % days_left
        else:
            sooner = "to replace it sooner, revoke it (state: absent) and run this task again"
        self.warn(
            "validity is %d days but credential %s (%s) was issued for %d days: a credential cannot be changed, so "
            "validity applies from its next renewal, on %s (renew_before: %d, counted back from its expiry on %s); %s"
            % (request.validity, credential["id"], request.name, issued_days, renewal.strftime("%Y-%m-%d %H:%M UTC"),
               renew_before, credential["expiredAt"], sooner))

    def handle_replaced(self, replaced):
        for credential in replaced:
            if credential.get("status") == "DELETING":
                continue
            if self.request.revoke_replaced:
                self.revoke(credential)
            else:
                self.kept_replaced_ids.append(credential["id"])

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

    def write_private_key(self, pem_bytes):
        # Masks the key in anything the module might print, as a second line of defence.
        self.module.no_log_values.add(pem_bytes.decode("ascii").strip())
        self.write_file(self.request.private_key_path, pem_bytes, self.request.private_key_mode)

    def read_private_key(self):
        """(PEM bytes, key) of private_key_path, (None, None) when missing; raises on an unusable file."""
        path = self.request.private_key_path
        content = read_file(path)
        if content is None:
            return None, None
        self.module.no_log_values.add(content.decode("utf-8", "replace").strip())
        try:
            return content, load_private_key(content)
        except PrivateKeyFileError as exc:
            raise TaskError("private_key_path %s cannot be used: %s. It is not overwritten; move it away to let the "
                            "module write a new key" % (path, exc))

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
