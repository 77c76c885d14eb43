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
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the credential's identities, type and expiry, and the files by fingerprint only.
  idempotent:
    support: full
  action_group:
    support: full
  platform:
    support: N/A
    platforms: all
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
    - The credential after the run; V(null) with O(state=absent), or in check mode when one would be created.
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

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_credential import (
    CERTIFICATE_TYPES,
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    CredentialOptionError,
    CredentialWaitError,
    PrivateKeyFileError,
    WantedCredential,
    build_csr,
    certificate_matches_public_key,
    credential_to_result,
    effective_renew_before,
    generate_private_key,
    issuing_ca_pems,
    key_certificate_type,
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
    validate_validity,
    wait_until_ready,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_files import (
    ensure_file,
    read_file,
    remove_file,
)
from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_module import OkmsModule
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
)

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

KEY_SOURCES_WITH_FILE = ("local", "ovh")


def summarize(credential):
    """What the diff shows of a credential: no certificate body, never a key."""
    if credential is None:
        return None
    return dict(id=credential.get("id"), name=credential.get("name"), status=credential.get("status"),
                identity_urns=sorted(credential.get("identityURNs") or []),
                description=credential.get("description"), certificate_type=credential.get("certificateType"),
                expired_at=credential.get("expiredAt"))


class CredentialTask:
    """The validated options of a present task; raises CredentialOptionError before any API call."""

    def __init__(self, params):
        self.params = params
        self.source = params["private_key_source"]
        validate_name(params["name"])
        validate_description(params["description"])
        validate_validity(params["validity"])
        self.renew_before = effective_renew_before(params["validity"], params["renew_before"])
        self.identity_urns = validate_identity_urns(params["identity_urns"])
        if params["wait_timeout"] <= 0:
            raise CredentialOptionError("wait_timeout must be a positive number of seconds")
        self.csr = None
        self.csr_pem = None
        if self.source == "csr":
            self._load_csr()
            certificate_type = key_certificate_type(self.csr.public_key())
            if params["certificate_type"] == "RSA":
                raise CredentialOptionError(
                    "certificate_type RSA cannot be combined with a CSR (the API refuses it): the certificate "
                    "type follows the CSR's key; leave certificate_type unset")
            if params["certificate_type"] and params["certificate_type"] != certificate_type:
                raise CredentialOptionError("certificate_type is %s but the CSR holds an %s key"
                                            % (params["certificate_type"], certificate_type))
            if params["private_key_path"]:
                raise CredentialOptionError("private_key_path is not used with private_key_source=csr: the "
                                            "module never sees the key of a CSR")
        else:
            certificate_type = params["certificate_type"] or "ECDSA"
            if params["csr"] or params["csr_path"]:
                raise CredentialOptionError("csr and csr_path need private_key_source=csr")
            if not params["private_key_path"]:
                raise CredentialOptionError(
                    "private_key_source=%s needs private_key_path: %s" % (
                        self.source, "the key generated here must be kept somewhere" if self.source == "local"
                        else "OVHcloud returns the generated key only once, and without a path it would be lost"))
        self.wanted = WantedCredential(self.identity_urns, params["description"], certificate_type,
                                       self.renew_before)

    def _load_csr(self):
        if self.params["csr"]:
            self.csr_pem = self.params["csr"]
        elif self.params["csr_path"]:
            content = read_file(self.params["csr_path"])
            if content is None:
                raise CredentialOptionError("csr_path %s does not exist" % self.params["csr_path"])
            self.csr_pem = content.decode("utf-8", "replace")
        else:
            raise CredentialOptionError("private_key_source=csr needs csr or csr_path")
        self.csr = load_csr(self.csr_pem)


class CredentialReconciler:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.okms_id = self.params["okms_id"]
        self.name = self.params["name"]
        self.collection_path = "/v2/okms/resource/%s/credential" % self.okms_id
        self.changed = False
        self.warnings = []
        self.revoked_ids = []
        self.kept_replaced_ids = []
        self.files_before = {}
        self.files_after = {}
        # The credentials of this name as first listed, for the diff.
        self.before_credentials = None

    # -- API ------------------------------------------------------------------------------

    def list_named(self):
        try:
            credentials = self.module.client.get_all(self.collection_path)
        except OvhApiError as exc:
            self.module.fail_api_error(exc, msg_prefix="cannot list the credentials of KMS %s" % self.okms_id)
        named = [c for c in credentials if c.get("name") == self.name]
        if self.before_credentials is None:
            self.before_credentials = [summarize(c) for c in named if c.get("status") != "DELETING"]
        return named

    def get(self, credential_id):
        try:
            return self.module.client.get("%s/%s" % (self.collection_path, credential_id))
        except OvhApiError as exc:
            self.module.fail_api_error(exc, msg_prefix="cannot read credential %s" % credential_id)

    def wait_ready(self, credential):
        try:
            return wait_until_ready(lambda: self.get(credential["id"]), self.params["wait_timeout"])
        except CredentialWaitError as exc:
            if exc.credential is not None and exc.credential.get("status") not in ("CREATING", "READY"):
                # ERROR/EXPIRED/DELETING: let the caller decide (an existing one is replaced).
                return exc.credential
            self.module.fail_json(msg="%s (name %s)" % (exc, self.name), **self.result(exc.credential))

    def create(self, body, known_ids):
        """POST once; after an ambiguous failure, adopt the credential it made rather than make another."""
        try:
            return self.module.client.post(self.collection_path, body)
        except OvhAmbiguousRequestError as exc:
            new = [c for c in self.list_named() if c["id"] not in known_ids]
            if len(new) == 1 and self.params["private_key_source"] != "ovh":
                return new[0]
            if len(new) == 1:
                self.module.fail_json(
                    msg="credential %s was created but the response carrying its private key was lost (%s); the "
                        "next run replaces it" % (new[0]["id"], exc), api_error=exc.to_result())
            self.module.fail_api_error(exc, msg_prefix="creating credential %s" % self.name)
        except OvhApiError as exc:
            self.module.fail_api_error(exc, msg_prefix="cannot create credential %s" % self.name)

    def revoke(self, credential):
        self.changed = True
        self.revoked_ids.append(credential["id"])
        if self.module.check_mode:
            return
        path = "%s/%s" % (self.collection_path, credential["id"])
        try:
            self.module.client.delete(path)
        except OvhApiError as exc:
            # Already gone or already being deleted (maybe by our own ambiguous attempt) is what we wanted.
            if exc.status == 404 or (exc.status == 400 and "StatusInvalid" in (exc.error_class or "")):
                return
            if isinstance(exc, OvhAmbiguousRequestError):
                try:
                    if self.module.client.get(path).get("status") == "DELETING":
                        return
                except OvhApiError as again:
                    if again.status == 404:
                        return
            self.module.fail_api_error(exc, msg_prefix="cannot revoke credential %s" % credential["id"])

    # -- files ------------------------------------------------------------------------------

    def write(self, path, content, mode):
        outcome = ensure_file(self.module, path, content, mode, self.params["owner"], self.params["group"])
        self.files_before[path] = outcome.before
        self.files_after[path] = outcome.after
        self.changed = self.changed or outcome.changed

    def plan_new_file(self, path):
        """Check mode: a file that a real run would write with content not known yet."""
        existing = read_file(path)
        self.files_before[path] = {"path": path, "state": "absent"} if existing is None else \
            {"path": path, "state": "file"}
        self.files_after[path] = {"path": path, "state": "file", "fingerprint": "(known after the run)"}

    def write_certificate_files(self, credential):
        certificate_pem = credential.get("certificatePEM")
        if not certificate_pem:
            return
        if self.params["certificate_path"]:
            self.write(self.params["certificate_path"], certificate_pem, self.params["certificate_mode"])
        if self.params["ca_certificate_path"]:
            try:
                kms = self.module.client.get("/v2/okms/resource/%s" % self.okms_id, params={"publicCA": "true"})
            except OvhApiError as exc:
                self.module.fail_api_error(exc, msg_prefix="cannot read the CA of KMS %s" % self.okms_id)
            ca_pems = issuing_ca_pems(certificate_pem, kms)
            if not ca_pems:
                self.module.fail_json(msg="KMS %s returned no public CA" % self.okms_id)
            content = "".join(pem.strip() + "\n" for pem in ca_pems)
            self.write(self.params["ca_certificate_path"], content, self.params["certificate_mode"])

    def write_private_key(self, pem_bytes):
        # Masks the key in anything the module might print, as a second line of defence.
        self.module.no_log_values.add(pem_bytes.decode("ascii").strip())
        self.write(self.params["private_key_path"], pem_bytes, self.params["private_key_mode"])

    def read_private_key(self):
        """(PEM bytes, key) of private_key_path, (None, None) when missing; fails on an unusable file."""
        path = self.params["private_key_path"]
        content = read_file(path)
        if content is None:
            return None, None
        self.module.no_log_values.add(content.decode("utf-8", "replace").strip())
        try:
            return content, load_private_key(content)
        except PrivateKeyFileError as exc:
            self.module.fail_json(msg="private_key_path %s cannot be used: %s. It is not overwritten; move it "
                                      "away to let the module write a new key" % (path, exc))

    # -- reconcile ---------------------------------------------------------------------------

    def present(self, task):
        named = self.list_named()
        current, older = select_current(named)
        if current is not None and current.get("status") == "CREATING" and self.params["wait"]:
            current = self.wait_ready(current)

        key_pem, key = (None, None)
        expected_public_key = None
        key_problem = None
        if task.source == "csr":
            expected_public_key = task.csr.public_key()
        else:
            key_pem, key = self.read_private_key()
            if key is not None and key_certificate_type_or_none(key) == task.wanted.certificate_type:
                expected_public_key = key.public_key()
            elif key is None:
                key_problem = "its private key is not in %s" % self.params["private_key_path"]

        if current is None:
            reasons = ["none exists"]
        else:
            key_label = "the CSR" if task.source == "csr" else "the key in %s" % self.params["private_key_path"]
            reasons = replacement_reasons(current, task.wanted, expected_public_key, utc_now(), key_label)
            if key_problem:
                reasons.append(key_problem)
            key_mismatch = expected_public_key is not None and current.get("certificatePEM") and \
                not certificate_matches_public_key(current["certificatePEM"], expected_public_key)
            if (key_problem or key_mismatch) and task.source != "csr":
                self.warnings.append(
                    "credential %s (%s) is replaced because its private key is lost: %s" % (
                        current["id"], self.name,
                        key_problem or "the key in %s does not match its certificate" % self.params["private_key_path"]))

        if not reasons:
            credential = current
            self.warn_if_validity_differs(credential, task)
            if key_pem is not None:
                self.write(self.params["private_key_path"], key_pem, self.params["private_key_mode"])
            self.write_certificate_files(credential)
            self.handle_replaced(older)
            return self.result(credential)

        replaced = [current] if current is not None else []
        replaced_id = current["id"] if current is not None else None
        self.changed = True
        if self.module.check_mode:
            for path in (self.params["private_key_path"] if task.source != "csr" else None,
                         self.params["certificate_path"] if self.params["wait"] else None,
                         self.params["ca_certificate_path"] if self.params["wait"] else None):
                if path:
                    self.plan_new_file(path)
            self.handle_replaced(replaced + older)
            return self.result(None, replaced_id, reasons)

        body = dict(name=self.name, identityURNs=task.identity_urns, validity=self.params["validity"])
        if self.params["description"]:
            body["description"] = self.params["description"]
        new_key = None
        if task.source == "local":
            new_key = generate_private_key(task.wanted.certificate_type)
            body["csr"] = build_csr(new_key, self.name)
        elif task.source == "csr":
            body["csr"] = task.csr_pem
        else:
            body["certificateType"] = task.wanted.certificate_type
        created = self.create(body, set(c["id"] for c in named))

        # The key is written before waiting, so that it is kept even when waiting fails.
        if new_key is not None:
            self.write_private_key(private_key_pem(new_key))
        elif task.source == "ovh":
            generated = created.pop("privateKeyPEM", None)
            if not generated:
                self.module.fail_json(msg="the API returned no private key for credential %s" % created.get("id"))
            self.write_private_key(generated.encode("ascii"))

        credential = created
        if self.params["wait"]:
            credential = self.wait_ready(created)
            if credential.get("status") != "READY":
                self.module.fail_json(msg="new credential %s is %s instead of READY"
                                          % (credential.get("id"), credential.get("status")),
                                      **self.result(credential, replaced_id, reasons))
            if new_key is not None and not credential_matches_key(credential, new_key):
                self.module.fail_json(msg="the certificate of new credential %s does not carry the key sent in "
                                          "the CSR" % credential["id"], **self.result(credential, replaced_id))
            self.write_certificate_files(credential)
        self.handle_replaced(replaced + older)
        return self.result(credential, replaced_id, reasons)

    def warn_if_validity_differs(self, credential, task):
        """A kept credential whose lifetime is not ``validity``: say when the new validity applies."""
        try:
            created = parse_api_datetime(credential["createdAt"])
            expires = parse_api_datetime(credential["expiredAt"])
        except (AttributeError, KeyError, TypeError, ValueError):
            return
        day = datetime.timedelta(days=1)
        issued_days = int(round((expires - created) / day))
        wanted = self.params["validity"]
        if issued_days == wanted:
            return
        renewal = expires - task.renew_before * day
        days_left = int(math.ceil((expires - utc_now()) / day))
        if days_left < wanted:
            sooner = "to renew it now, run once with renew_before: %d" % days_left
        else:
            sooner = "to replace it sooner, revoke it (state: absent) and run this task again"
        self.warnings.append(
            "validity is %d days but credential %s (%s) was issued for %d days: a credential cannot be changed, so "
            "validity applies from its next renewal, on %s (renew_before: %d, counted back from its expiry on %s); %s"
            % (wanted, credential["id"], self.name, issued_days, renewal.strftime("%Y-%m-%d %H:%M UTC"),
               task.renew_before, credential["expiredAt"], sooner))

    def handle_replaced(self, replaced):
        for credential in replaced:
            if credential.get("status") == "DELETING":
                continue
            if self.params["revoke_replaced"]:
                self.revoke(credential)
            else:
                self.kept_replaced_ids.append(credential["id"])

    def absent(self):
        for credential in self.list_named():
            if credential.get("status") != "DELETING":
                self.revoke(credential)
        if self.params["remove_files"]:
            for path in (self.params["private_key_path"], self.params["certificate_path"],
                         self.params["ca_certificate_path"]):
                if path:
                    outcome = remove_file(self.module, path)
                    self.files_before[path] = outcome.before
                    self.files_after[path] = outcome.after
                    self.changed = self.changed or outcome.changed
        return self.result(None)

    def result(self, credential, replaced_id=None, reasons=None):
        result = dict(changed=self.changed,
                      credential=credential_to_result(credential) if credential else None,
                      revoked_credential_ids=list(self.revoked_ids),
                      kept_replaced_credential_ids=list(self.kept_replaced_ids))
        if replaced_id:
            result["replaced_credential_id"] = replaced_id
        if reasons:
            result["issue_reasons"] = list(reasons)
        if self.module._diff:
            result["diff"] = dict(
                before=dict(credentials=self.before_credentials or [], files=self.files_before),
                after=dict(credentials=self._after_credentials(credential, reasons), files=self.files_after))
        return result

    def _after_credentials(self, credential, reasons):
        remaining = [c for c in (self.before_credentials or []) if c["id"] not in self.revoked_ids]
        if credential is not None and credential.get("id") not in [c["id"] for c in remaining]:
            remaining.append(summarize(credential))
        elif credential is None and reasons and self.params["state"] == "present":
            remaining.append(dict(name=self.name, identity_urns=sorted(self.params["identity_urns"]),
                                  description=self.params["description"], status="(new)"))
        return remaining


def key_certificate_type_or_none(key):
    try:
        return key_certificate_type(key.public_key())
    except CredentialOptionError:
        return None


def credential_matches_key(credential, private_key):
    return certificate_matches_public_key(credential["certificatePEM"], private_key.public_key())


def main():
    module = OkmsModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                        mutually_exclusive=[("csr", "csr_path")],
                        required_if=[("state", "present", ["identity_urns"])])
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)
    reconciler = CredentialReconciler(module)
    try:
        validate_name(module.params["name"])
        task = CredentialTask(module.params) if module.params["state"] == "present" else None
    except CredentialOptionError as exc:
        module.fail_json(msg="%s (nothing was sent to the API)" % exc)

    if task is None:
        result = reconciler.absent()
    else:
        result = reconciler.present(task)
    for warning in reconciler.warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
