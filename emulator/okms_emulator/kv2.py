"""Data plane, Vault-KV2-compatible Secret Manager API: ``/api/{okmsId}/v1/secret/...``.

A Vault client pointed at ``<data endpoint>/api/<okmsId>`` with the mount
``secret`` works unmodified (hvac is the proof, ``tests/test_hvac.py``):
Vault's envelope ``{request_id, lease_id, renewable, lease_duration, data,
wrap_info, warnings, auth}``, snake_case members, ``?list=true`` or the
``LIST`` verb on ``metadata/``, POST and PUT alike on every write (Vault treats
them the same; hvac destroys with POST, the spec lists PUT), answers typed
exactly ``application/json``. KV2 ``delete``/``undelete``/``destroy`` are the
v2 states DEACTIVATED/ACTIVE/DELETED; the rules are ``secret_manager.py``'s.
Rights are checked with the IAM actions the spec lists for each KV2 path
(``data_secrets.require``); a list shows what the caller may ``secret/get``.
"""

import re
import uuid

from .data_errors import SECRETS, DataPlaneError, error_body
from .data_secrets import manager, may_get, query_flag, request_json, require
from .routing import Response
from .secret_manager import SecretError, parse_cas, parse_number, path_from_url, timestamp

_KV2_PATH = re.compile(r"^/api/[^/]+/v1/secret(/|$)")
# Vault's metadata names -> the v2 names of secret_manager.
METADATA_NAMES = {"cas_required": "casRequired", "custom_metadata": "customMetadata",
                  "delete_version_after": "deactivateVersionAfter", "max_versions": "maxVersions"}


# KV2 delete / undelete / destroy: the v2 state they set and the action it needs.
STATE_ACTIONS = {"DEACTIVATED": "secret/version/deactivate", "ACTIVE": "secret/version/activate",
                 "DELETED": "secret/version/delete"}


def is_kv2_path(path):
    return _KV2_PATH.match(path) is not None


def envelope(data):
    """Vault's response envelope (some Vault clients require every member)."""
    return {"request_id": str(uuid.uuid4()), "lease_id": "", "renewable": False, "lease_duration": 0,
            "data": data, "wrap_info": None, "warnings": None, "auth": None}


def _deletion_time(version):
    if version["state"] != "ACTIVE":
        return version["deactivatedAt"] or ""
    # Like Vault, an active version shows when deleteVersionAfter will delete (here: deactivate) it.
    return timestamp(version["deactivateAt"]) if version.get("deactivateAt") else ""


def version_metadata(secret, version):
    return {"created_time": version["createdAt"], "custom_metadata": dict(secret["customMetadata"]) or None,
            "deletion_time": _deletion_time(version), "destroyed": version["state"] == "DELETED",
            "version": version["id"]}


def _metadata_changes(body):
    return {METADATA_NAMES[name]: value for name, value in body.items()}


def _cas_option(body):
    options = body.get("options")
    if options is None:
        return None
    if not isinstance(options, dict) or set(options) - {"cas"}:
        raise DataPlaneError(400, "field 'options' must be an object {cas}", domain=SECRETS)
    cas = options.get("cas")
    if cas is None:
        return None
    if isinstance(cas, bool) or not isinstance(cas, int):
        raise DataPlaneError(400, "options.cas must be an integer (0: write only if the secret does not exist)",
                             domain=SECRETS)
    return parse_cas(cas)


def _versions(req):
    numbers = request_json(req, ("versions",), ("versions",))["versions"]
    if not isinstance(numbers, list) or not numbers or \
            not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in numbers):
        raise DataPlaneError(400, "field 'versions' must be a non-empty list of version numbers", domain=SECRETS)
    return numbers


def merge_patch(target, patch):
    """RFC 7396 JSON merge patch (KV2 PATCH)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def subkeys(value, depth, level=1):
    """The keys of ``value`` with null leaves; ``depth`` 0 is unlimited."""
    return {key: subkeys(item, depth, level + 1) if isinstance(item, dict) and (depth == 0 or level < depth)
            else None for key, item in value.items()}


class KV2:
    def __init__(self, store, paginator):
        self.store = store
        self.paginator = paginator

    def register(self, router):
        base = "/api/{okmsId}/v1/secret"
        writes = ("POST", "PUT")
        router.add("GET", base + "/config", self.read_config)
        router.add(writes, base + "/config", self.write_config)
        router.add("GET", base + "/data/{path+}", self.read)
        router.add(writes, base + "/data/{path+}", self.write)
        router.add("PATCH", base + "/data/{path+}", self.patch)
        router.add("DELETE", base + "/data/{path+}", self.delete_latest)
        router.add("GET", base + "/subkeys/{path+}", self.read_subkeys)
        router.add(writes, base + "/delete/{path+}", self.soft_delete)
        router.add(writes, base + "/undelete/{path+}", self.undelete)
        router.add(writes, base + "/destroy/{path+}", self.destroy)
        router.add(("GET", "LIST"), base + "/metadata", self.list_root)
        router.add(("GET", "LIST"), base + "/metadata/{path+}", self.read_metadata)
        router.add(writes, base + "/metadata/{path+}", self.write_metadata)
        router.add("PATCH", base + "/metadata/{path+}", self.patch_metadata)
        router.add("DELETE", base + "/metadata/{path+}", self.delete_metadata)

    # -- configuration -------------------------------------------------------------------

    def read_config(self, req, okmsId):
        require(self.store, req, okmsId, "secretConfig/get")
        with self.store.lock:
            config = manager(self.store, okmsId).config
            return Response(200, envelope({"cas_required": config["casRequired"],
                                           "delete_version_after": config["deactivateVersionAfter"],
                                           "max_versions": config["maxVersions"]}))

    def write_config(self, req, okmsId):
        require(self.store, req, okmsId, "secretConfig/update")
        body = request_json(req, ("cas_required", "delete_version_after", "max_versions"))
        with self.store.lock:
            manager(self.store, okmsId).update_config(_metadata_changes(body))
        return Response(204, None)

    # -- data -------------------------------------------------------------------------

    def _readable(self, secret, version):
        """The version, or the 404 Vault gives for a deleted (here: deactivated) or destroyed one."""
        if version["state"] == "ACTIVE":
            return None
        body = error_body(404, f"version {version['id']} of secret {secret['path']!r} is "
                               f"{version['state'].lower()}", domain=SECRETS)
        body["data"] = {"data": None, "metadata": version_metadata(secret, version)}
        return Response(404, body)

    def read(self, req, okmsId, path):
        number = parse_number(req.arg("version", "0"), "version", "Version")
        secret_path = path_from_url(path)
        require(self.store, req, okmsId, "secret/version/getData", secret_path)
        with self.store.lock:
            secrets = manager(self.store, okmsId)
            secret = secrets.find(secret_path)
            version = secrets.version(secret, number)
            refusal = self._readable(secret, version)
            if refusal is not None:
                return refusal
            return Response(200, envelope({"data": secrets.readable_data(version),
                                           "metadata": version_metadata(secret, version)}))

    def write(self, req, okmsId, path):
        body = request_json(req, ("data", "options"), ("data",))
        cas = _cas_option(body)
        secret_path = path_from_url(path)
        with self.store.lock:
            secrets = manager(self.store, okmsId)
            # A first write creates the secret, a later one a version (the spec's two actions).
            exists = secret_path in secrets.secrets
            require(self.store, req, okmsId, "secret/version/create" if exists else "secret/create", secret_path)
            secret, version = secrets.write(secret_path, body["data"], cas)
            return Response(200, envelope(version_metadata(secret, version)))

    def patch(self, req, okmsId, path):
        body = request_json(req, ("data", "options"), ("data",))
        if not isinstance(body["data"], dict):
            raise DataPlaneError(400, "field 'data' must be a JSON object (a merge patch)", domain=SECRETS)
        cas = _cas_option(body)
        secret_path = path_from_url(path)
        require(self.store, req, okmsId, "secret/version/create", secret_path)
        with self.store.lock:
            secrets = manager(self.store, okmsId)
            secret = secrets.find(secret_path)
            current = secrets.version(secret, None)
            refusal = self._readable(secret, current)
            if refusal is not None:
                return refusal
            merged = merge_patch(secrets.readable_data(current), body["data"])
            secret, version = secrets.write(secret["path"], merged, cas)
            return Response(200, envelope(version_metadata(secret, version)))

    def delete_latest(self, req, okmsId, path):
        secret_path = path_from_url(path)
        require(self.store, req, okmsId, "secret/version/deactivate", secret_path)
        with self.store.lock:
            secrets = manager(self.store, okmsId)
            secret = secrets.find(secret_path)
            secrets.set_states(secret["path"], [secret["currentVersion"]], "DEACTIVATED")
        return Response(204, None)

    def read_subkeys(self, req, okmsId, path):
        number = parse_number(req.arg("version", "0"), "version", "Version")
        depth = parse_number(req.arg("depth", "0"), "depth", "Depth")
        secret_path = path_from_url(path)
        require(self.store, req, okmsId, "secret/subKeys/get", secret_path)
        with self.store.lock:
            secrets = manager(self.store, okmsId)
            secret = secrets.find(secret_path)
            version = secrets.version(secret, number)
            if version["state"] != "ACTIVE":
                raise SecretError(404, "Client::NotFound", f"version {version['id']} of secret "
                                                           f"{secret['path']!r} is {version['state'].lower()}")
            return Response(200, envelope({"subkeys": subkeys(version["data"], depth),
                                           "metadata": version_metadata(secret, version)}))

    # -- version states ------------------------------------------------------------------

    def _set_states(self, req, okms_id, path, state):
        secret_path = path_from_url(path)
        require(self.store, req, okms_id, STATE_ACTIONS[state], secret_path)
        numbers = _versions(req)
        with self.store.lock:
            manager(self.store, okms_id).set_states(secret_path, numbers, state)
        return Response(204, None)

    def soft_delete(self, req, okmsId, path):
        return self._set_states(req, okmsId, path, "DEACTIVATED")

    def undelete(self, req, okmsId, path):
        return self._set_states(req, okmsId, path, "ACTIVE")

    def destroy(self, req, okmsId, path):
        return self._set_states(req, okmsId, path, "DELETED")

    # -- metadata and lists ----------------------------------------------------------------

    def _list(self, req, okms_id, folder):
        with self.store.lock:
            names = manager(self.store, okms_id).children(
                folder, lambda secret_path: may_get(self.store, req, okms_id, secret_path))
        if not names:
            raise SecretError(404, "Client::NotFound", f"nothing is stored under {folder or '/'!r}")
        keys, headers = self.paginator.page([((n,), n) for n in names], req.headers,
                                            f"data/kv2/{okms_id}/{folder}", "SecretPaginationCursorInvalidValue")
        return Response(200, envelope({"keys": keys}), headers)

    def list_root(self, req, okmsId):
        return self._list(req, okmsId, "")

    def read_metadata(self, req, okmsId, path):
        if req.method.upper() == "LIST" or query_flag(req, "list"):
            return self._list(req, okmsId, path_from_url(path))
        secret_path = path_from_url(path)
        require(self.store, req, okmsId, "secret/get", secret_path)
        with self.store.lock:
            secrets = manager(self.store, okmsId)
            secret = secrets.find(secret_path)
            return Response(200, envelope({
                "cas_required": secret["casRequired"], "created_time": secret["createdAt"],
                "current_version": secret["currentVersion"],
                "custom_metadata": dict(secret["customMetadata"]) or None,
                "delete_version_after": secret["deactivateVersionAfter"], "max_versions": secret["maxVersions"],
                "oldest_version": secret["oldestVersion"], "updated_time": secret["updatedAt"],
                "urn": secrets.urn(secret),
                "versions": {str(v["id"]): {"created_time": v["createdAt"], "deletion_time": _deletion_time(v),
                                            "destroyed": v["state"] == "DELETED"}
                             for v in sorted(secret["versions"].values(), key=lambda v: v["id"])}}))

    def write_metadata(self, req, okmsId, path):
        secret_path = path_from_url(path)
        require(self.store, req, okmsId, "secret/updateMetadata", secret_path)
        body = request_json(req, tuple(METADATA_NAMES))
        with self.store.lock:
            manager(self.store, okmsId).update_metadata(secret_path, _metadata_changes(body))
        return Response(204, None)

    def patch_metadata(self, req, okmsId, path):
        secret_path = path_from_url(path)
        require(self.store, req, okmsId, "secret/updateMetadata", secret_path)
        body = request_json(req, tuple(METADATA_NAMES))
        with self.store.lock:
            secrets = manager(self.store, okmsId)
            secret = secrets.find(secret_path)
            changes = _metadata_changes(body)
            if isinstance(changes.get("customMetadata"), dict):
                changes["customMetadata"] = merge_patch(secret["customMetadata"], changes["customMetadata"])
            secrets.update_metadata(secret["path"], changes)
        return Response(204, None)

    def delete_metadata(self, req, okmsId, path):
        secret_path = path_from_url(path)
        require(self.store, req, okmsId, "secret/delete", secret_path)
        with self.store.lock:
            manager(self.store, okmsId).delete(secret_path)
        return Response(204, None)
