"""OVHcloud IAM v2 policies: the ``/v2/iam/policy`` API and how a policy is evaluated.

Shapes are OVHcloud's ``iam.policy.Creation`` / ``iam.policy.Update`` /
``iam.policy.Response``: ``{id, name, description?, identities: [URN],
resources: [{urn}], permissions: {allow?, except?, deny?: [{action}]},
permissionsGroups: [], readOnly, owner, createdAt, updatedAt, expiredAt?}``.

Evaluation (what the data plane asks, ``allowed``): an action is allowed for
a set of identity URNs on a set of resource URNs when a policy naming one of
the identities and one of the resources allows it (``allow`` minus that
policy's ``except``), and no such policy denies it (``deny`` wins over every
allow). URNs and actions may start or end with the ``*`` wildcard. Expired
policies (``expiredAt`` in the past) do not apply. The account identity is
not bound by policies at all: the data plane never asks for it.

State: ``store.data["iam"]["policies"]`` = ``{policyId: record}``.
"""

import datetime
import re
import time
import uuid

from . import kms as kmsmod
from .auth import ACCOUNT
from .errors import ApiError, bad_request, http_code
from .routing import Response

BAD_REQUEST = "Client::BadRequest"
IDENTITY_URN = re.compile(r"^urn:v1:(eu|ca|us):identity:(account|user|group|credential):[A-Za-z0-9._-]+"
                          r"(/[A-Za-z0-9._@+-]+)?$")
RESOURCE_URN = re.compile(r"^urn:v1:(eu|ca|us):(resource|resourceGroup):\S+$")
ACCOUNT_URN = re.compile(r"^urn:v1:(eu|ca|us):identity:account:(?P<account>[A-Za-z0-9._-]+)$")
ACTION = re.compile(r"^\S+$")
URN_MAX_CHARS = 255

# The policy the emulator gives its OAuth2 service account at start (see app.py): read-only, as
# the policies OVHcloud manages are; the "ovh-" name prefix is reserved to those.
SERVICE_ACCOUNT_POLICY = "ovh-okms-emulator-service-account"
RESERVED_PREFIX = "ovh-"

CREATION_FIELDS = {"name", "description", "identities", "resources", "permissions", "permissionsGroups",
                   "conditions", "expiredAt"}
# Read-only members of iam.policy.Response, accepted and ignored so a client may send back what it read.
RESPONSE_ONLY_FIELDS = {"id", "owner", "readOnly", "createdAt", "updatedAt"}
PERMISSION_KINDS = ("allow", "except", "deny")


def service_account_urn(client_id):
    """The identity URN of an OAuth2 service account of the emulator's account."""
    return f"urn:v1:eu:identity:credential:{ACCOUNT}/oauth2-{client_id}"


def is_account(urn):
    """True for the account (root) identity of the emulator's account, in any zone."""
    found = ACCOUNT_URN.match(urn)
    return found is not None and found.group("account") == ACCOUNT


def _timestamp(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc) \
        .isoformat(timespec="microseconds").replace("+00:00", "Z")


def _parse_time(text):
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return value if value.tzinfo is not None else None


def _wildcard(pattern):
    """``*`` at the beginning or the end of a URN or an action (OVHcloud's rule), as a regular expression."""
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")


def matches(pattern, value):
    return pattern == value or ("*" in pattern and _wildcard(pattern).match(value) is not None)


def _policies(store):
    return store.data.setdefault("iam", {}).setdefault("policies", {})


def _applies(policy, identities, resources, now):
    expired_at = policy.get("expiredAt")
    if expired_at and _parse_time(expired_at).timestamp() <= now:
        return False
    return any(matches(p, i) for p in policy["identities"] for i in identities) and \
        any(matches(r["urn"], u) for r in policy["resources"] for u in resources)


def _names(policy, kind):
    return [a["action"] for a in policy["permissions"].get(kind) or []]


def decision(store, identities, action, resources):
    """``("allow", policy)``, ``("deny", policy)`` or ``(None, None)`` (no policy allows it).

    Caller holds ``store.lock``. ``resources``: the URNs the action is on (the KMS, and the
    key or secret when there is one): a policy on any of them applies.
    """
    now = time.time()
    allowing = None
    for policy in sorted(_policies(store).values(), key=lambda p: (p["createdAt"], p["id"])):
        if not _applies(policy, identities, resources, now):
            continue
        if any(matches(a, action) for a in _names(policy, "deny")):
            return "deny", policy
        if allowing is None and any(matches(a, action) for a in _names(policy, "allow")) and \
                not any(matches(a, action) for a in _names(policy, "except")):
            allowing = policy
    return ("allow", allowing) if allowing is not None else (None, None)


# --- validation -------------------------------------------------------------------

def _check_pattern(value, what, shape):
    """A URN or an action: the wildcard only at its beginning or its end."""
    if not isinstance(value, str) or not value:
        raise bad_request(f"{what} must be a non-empty string")
    if len(value) > URN_MAX_CHARS:
        raise bad_request(f"{what} {value!r} is longer than {URN_MAX_CHARS} characters")
    inner = value[1:] if value.startswith("*") else value
    inner = inner[:-1] if inner.endswith("*") else inner
    if "*" in inner:
        raise bad_request(f"{what} {value!r}: the wildcard * is allowed only at the beginning or the end")
    if "*" not in value and not shape.match(value):
        raise bad_request(f"{what} {value!r} is not valid")


def _string_list(body, name):
    value = body.get(name)
    if value is None:
        raise bad_request(f"Missing required field {name} (iam.policy.Creation)")
    if not isinstance(value, list) or not value:
        raise bad_request(f"Field {name} must be a non-empty array")
    return value


def _actions(permissions, kind):
    value = permissions.get(kind)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(a, dict) and set(a) == {"action"} for a in value):
        raise bad_request(f"Field permissions.{kind} must be an array of {{action}} (iam.policy.Action)")
    for index, item in enumerate(value):
        _check_pattern(item["action"], f"permissions.{kind}[{index}].action", ACTION)
    return [{"action": a["action"]} for a in value]


def validate_policy(body):
    """The stored members of a Creation/Update body, or a 400 naming the member at fault."""
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object (iam.policy.Creation)")
    unknown = sorted(set(body) - CREATION_FIELDS - RESPONSE_ONLY_FIELDS)
    if unknown:
        raise bad_request(f"Unknown field(s) {', '.join(unknown)} in iam.policy.Creation")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("Missing required field name (iam.policy.Creation): a non-empty string")
    if name.startswith(RESERVED_PREFIX):
        raise bad_request(f"Field name {name!r}: the prefix {RESERVED_PREFIX!r} is reserved to OVHcloud policies")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise bad_request("Field description must be a string")
    identities = _string_list(body, "identities")
    for index, urn in enumerate(identities):
        _check_pattern(urn, f"identities[{index}]", IDENTITY_URN)
    resources = _string_list(body, "resources")
    for index, item in enumerate(resources):
        if not isinstance(item, dict) or not isinstance(item.get("urn"), str):
            raise bad_request(f"Field resources[{index}] must be an object {{urn}} (iam.policy.Resource)")
        _check_pattern(item["urn"], f"resources[{index}].urn", RESOURCE_URN)
    permissions = body.get("permissions")
    if not isinstance(permissions, dict):
        raise bad_request("Missing required field permissions (iam.policy.Permissions): an object")
    unknown = sorted(set(permissions) - set(PERMISSION_KINDS))
    if unknown:
        raise bad_request(f"Unknown field(s) {', '.join(unknown)} in iam.policy.Permissions")
    if body.get("permissionsGroups"):
        raise bad_request("Field permissionsGroups: permissions groups are not emulated; "
                          "list the actions in permissions instead")
    if body.get("conditions") is not None:
        raise bad_request("Field conditions: policy conditions are not emulated (a policy without "
                          "conditions applies always)")
    expired_at = body.get("expiredAt")
    if expired_at is not None and _parse_time(expired_at) is None:
        raise bad_request(f"Field expiredAt {expired_at!r} is not an RFC 3339 date-time with a time zone")
    return {
        "name": name, "description": description or None,
        "identities": list(identities),
        "resources": [{"urn": item["urn"]} for item in resources],
        "permissions": {kind: _actions(permissions, kind) for kind in PERMISSION_KINDS},
        "expiredAt": expired_at,
    }


def new_policy(fields, read_only=False):
    stamp = _timestamp(time.time())
    return {"id": str(uuid.uuid4()), **fields, "owner": ACCOUNT, "readOnly": read_only,
            "createdAt": stamp, "updatedAt": stamp}


def ensure_service_account_policy(store, client_id):
    """The read-only policy letting the emulator's OAuth2 service account use every KMS (okms:*)."""
    with store.lock:
        policies = _policies(store)
        if any(p["name"] == SERVICE_ACCOUNT_POLICY for p in policies.values()):
            return
        record = new_policy({
            "name": SERVICE_ACCOUNT_POLICY,
            "description": "okms-emulator: its OAuth2 service account (connection.json client_id) "
                           "may do everything on every KMS",
            "identities": [service_account_urn(client_id)],
            "resources": [{"urn": f"urn:v1:{zone}:resource:okms:*"} for zone in ("eu", "ca")],
            "permissions": {"allow": [{"action": "okms:*"}], "except": [], "deny": []},
            "expiredAt": None,
        }, read_only=True)
        policies[record["id"]] = record
        store.save()


# --- the API ------------------------------------------------------------------------

class IamPolicies:
    """``/v2/iam/policy`` on the control plane, authenticated like every /v2 call."""

    def __init__(self, emu):
        self.emu = emu
        self.store = emu.store

    def register(self, router):
        router.add("GET", "/v2/iam/policy", self.list_policies)
        router.add("POST", "/v2/iam/policy", self.create_policy)
        router.add("GET", "/v2/iam/policy/{policyId}", self.get_policy)
        router.add("PUT", "/v2/iam/policy/{policyId}", self.update_policy)
        router.add("DELETE", "/v2/iam/policy/{policyId}", self.delete_policy)

    def _resource_details(self, urn):
        for record in self.store.data["okms"].values():
            if kmsmod.kms_urn(record) == urn:
                return {"id": record["id"], "name": record["id"], "displayName": record["displayName"],
                        "owner": ACCOUNT, "type": "okms", "tags": {"ovh:region": record["region"]}}
        return None

    def view(self, policy, details=False):
        permissions = {kind: [dict(a) for a in policy["permissions"][kind]]
                       for kind in PERMISSION_KINDS if policy["permissions"].get(kind)}
        resources = []
        for item in policy["resources"]:
            resource = {"urn": item["urn"]}
            found = self._resource_details(item["urn"]) if details else None
            if found is not None:
                resource["resource"] = found
            resources.append(resource)
        out = {"id": policy["id"], "name": policy["name"], "owner": policy["owner"],
               "readOnly": policy["readOnly"], "identities": list(policy["identities"]),
               "resources": resources, "permissions": permissions, "permissionsGroups": [],
               "createdAt": policy["createdAt"], "updatedAt": policy["updatedAt"]}
        if policy.get("description"):
            out["description"] = policy["description"]
        if policy.get("expiredAt"):
            out["expiredAt"] = policy["expiredAt"]
        return out

    def _get(self, policy_id):
        policy_id = kmsmod.parse_uuid(policy_id, "policyId")
        policy = _policies(self.store).get(policy_id)
        if policy is None:
            raise ApiError(404, "Client::NotFound", f"Policy {policy_id} not found")
        return policy

    @staticmethod
    def _writable(policy):
        if policy["readOnly"]:
            raise ApiError(403, "Client::Forbidden", f"Policy {policy['id']} ({policy['name']}) is read-only",
                           extra={"errorCode": "FORBIDDEN", "httpCode": http_code(403)})

    @staticmethod
    def _flag(req, name):
        value = req.arg(name)
        if value is None:
            return None
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise bad_request(f"Invalid value for parameter {name}: {value!r} (boolean)")

    @staticmethod
    def _values(req, name):
        # Repeated (?identity=a&identity=b) or comma-separated.
        return [v for raw in req.query.get(name, []) for v in raw.split(",") if v]

    def list_policies(self, req):
        details = self._flag(req, "details") or False
        read_only = self._flag(req, "readOnly")
        identities, resource_urns, actions = (self._values(req, n) for n in ("identity", "resourceURN", "action"))
        with self.store.lock:
            policies = sorted(_policies(self.store).values(), key=lambda p: (p["createdAt"], p["id"]))
            entries = []
            for policy in policies:
                named = {a for kind in PERMISSION_KINDS for a in _names(policy, kind)}
                if (read_only is not None and policy["readOnly"] != read_only) \
                        or (identities and not set(identities) & set(policy["identities"])) \
                        or (resource_urns and not set(resource_urns) & {r["urn"] for r in policy["resources"]}) \
                        or (actions and not set(actions) & named):
                    continue
                entries.append(((policy["createdAt"], policy["id"]), self.view(policy, details)))
        chunk, headers = self.emu.paginator.page(entries, req.headers, "iam/policy",
                                                 "PolicyPaginationCursorInvalidValue")
        return Response(200, chunk, headers)

    def create_policy(self, req):
        fields = validate_policy(req.json())
        with self.store.lock:
            policy = new_policy(fields)
            _policies(self.store)[policy["id"]] = policy
            self.store.save()
            return Response(200, self.view(policy))

    def get_policy(self, req, policyId):
        details = self._flag(req, "details") or False
        with self.store.lock:
            return Response(200, self.view(self._get(policyId), details))

    def update_policy(self, req, policyId):
        fields = validate_policy(req.json())
        with self.store.lock:
            policy = self._get(policyId)
            self._writable(policy)
            policy.update(fields)
            policy["updatedAt"] = _timestamp(time.time())
            self.store.save()
            return Response(200, self.view(policy))

    def delete_policy(self, req, policyId):
        with self.store.lock:
            policy = self._get(policyId)
            self._writable(policy)
            del _policies(self.store)[policy["id"]]
            self.store.save()
        return Response(200, None)
