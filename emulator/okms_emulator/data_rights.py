"""Rights on the data plane and KMIP: who is calling, and may they do this action on this KMS, key,
secret or KMIP object.

A caller is the identity URNs of its access certificate (the credential's
``identityURNs``), or the OAuth2 service account behind its token. The
account (root) identity is not bound by IAM: a certificate that names it may
do everything. Any other caller needs an IAM policy (``iam.py``) allowing the
operation's action, ``okms:apikms:<action>`` with the action names of
okms-rest-api-2.14.yaml (``serviceKey/encrypt``, ``secret/version/getData``,
...), on the KMS's URN or on the key's or secret's own URN, and no policy
denying it. A refusal is a 403 that names the action and the resource, never
a value. KMIP (``kmip_engine.py``) asks :func:`refusal` about ``okms:kmip:<action>``
on the KMS or on ``<kms urn>/kmip/<uniqueIdentifier>``.
"""

from dataclasses import dataclass

from . import iam
from . import kms as kmsmod
from .data_errors import SERVICE_KEYS, DataPlaneError

ACTION_PREFIX = "okms:apikms:"


@dataclass(frozen=True)
class Caller:
    label: str          # the audit log's identity: certificate:<credentialId> or oauth2:<clientId>
    identities: tuple   # identity URNs
    described: str      # how a refusal names the caller

    @property
    def root(self):
        return any(iam.is_account(urn) for urn in self.identities)


def certificate_caller(credential):
    urns = tuple(credential.get("identityURNs") or ())
    return Caller(f"certificate:{credential['id']}", urns,
                  f"access certificate {credential['id']} (identities {', '.join(urns) or 'none'})")


def token_caller(label, client_id):
    urn = iam.service_account_urn(client_id)
    return Caller(label, (urn,), f"access token of service account {urn}")


# The handlers' caller when driven without TLS (data_plane.handle, unit tests): the account.
ACCOUNT_CALLER = Caller("account", (f"urn:v1:eu:identity:account:{iam.ACCOUNT}",), "the account")


class Target:
    """What an action is on: the KMS itself, or one of its keys or secrets (by its path in the URL)."""

    def __init__(self, kind=None, name=None):
        self.kind = kind    # None (the KMS), "serviceKey" or "secret"
        self.name = name

    def urns(self, record):
        kms_urn = kmsmod.kms_urn(record)
        return (kms_urn,) if self.kind is None else (kms_urn, f"{kms_urn}/{self.kind}/{self.name}")

    def describe(self, record):
        if self.kind is None:
            return f"KMS {record['id']} ({kmsmod.kms_urn(record)})"
        noun = {"serviceKey": "service key", "kmip": "KMIP object"}.get(self.kind, "secret")
        shown = repr(self.name) if self.kind == "secret" else self.name
        return f"{noun} {shown} ({self.urns(record)[1]})"


KMS = Target()


def key(key_id):
    return Target("serviceKey", key_id.lower())


def secret(path):
    return Target("secret", path)


def kmip_object(uid):
    return Target("kmip", uid)


def _caller(req):
    caller = req.extra.get("caller")
    if caller is None:  # every request is authenticated before it is routed: never reached
        raise DataPlaneError(401, "the caller is not authenticated")
    return caller


def _record(store, okms_id, domain):
    record = store.data["okms"].get(okms_id)
    if record is None:
        raise DataPlaneError(404, f"KMS {okms_id} not found", domain=domain)
    return record


def may(store, req, okms_id, action, target=KMS):
    """Whether the request's caller may do ``action`` (without its prefix) on ``target``."""
    caller = _caller(req)
    if caller.root:
        return True
    with store.lock:
        record = _record(store, okms_id, SERVICE_KEYS)
        verdict, _ = iam.decision(store, caller.identities, ACTION_PREFIX + action, target.urns(record))
    return verdict == "allow"


def refusal(store, caller, action, record, target=KMS):
    """None when ``caller`` may do ``action`` (in full: ``okms:apikms:...``, ``okms:kmip:...``) on ``target``
    of the KMS ``record``, else the message of the refusal. Caller holds ``store.lock``."""
    if caller.root:
        return None
    verdict, policy = iam.decision(store, caller.identities, action, target.urns(record))
    if verdict == "allow":
        return None
    reason = f"denied by IAM policy {policy['name']!r}" if verdict == "deny" else "no IAM policy allows it"
    return f"forbidden: {action} on {target.describe(record)} for {caller.described}: {reason}"


def require(store, req, okms_id, action, target=KMS, domain=SERVICE_KEYS):
    """Raise the 403 of a refused action; return quietly when the caller may do it."""
    caller = _caller(req)
    if caller.root:
        return
    with store.lock:
        message = refusal(store, caller, ACTION_PREFIX + action, _record(store, okms_id, domain), target)
    if message is not None:
        raise DataPlaneError(403, message, domain=domain)
