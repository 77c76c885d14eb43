"""Data plane, Secret Manager REST API: ``/api/{okmsId}/v2/secret...`` and ``/v2/secretConfig``.

Shapes are okms-rest-api-2.14.yaml's (``GetSecretV2Response``,
``SecretV2Version``, ...): the control plane's, with the secret's IAM ``urn``
in ``metadata`` and version states in lower case. The rules are
``secret_manager.py``'s, on the same store as the control plane and KV2.
Each operation first checks the caller's rights (``data_rights.py``) with the
IAM actions the spec lists for it; a list shows only the secrets the caller
may ``secret/get``.
"""

import json

from . import data_rights
from .data_errors import SECRETS, DataPlaneError
from .routing import Response
from .secret_manager import SecretManager, check_path, parse_cas, parse_version, path_from_url


def request_json(req, allowed, required=()):
    """The JSON object body of a secret request (unknown members refused)."""
    try:
        data = json.loads(req.body.decode("utf-8")) if req.body.strip() else None
    except (UnicodeDecodeError, ValueError):
        raise DataPlaneError(400, "request body is not valid JSON", domain=SECRETS) from None
    if not isinstance(data, dict):
        raise DataPlaneError(400, "request body must be a JSON object", domain=SECRETS)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise DataPlaneError(400, f"unknown field(s) in request body: {', '.join(unknown)}", domain=SECRETS)
    for name in required:
        if data.get(name) is None:
            raise DataPlaneError(400, f"field {name!r} is required", domain=SECRETS)
    return data


def query_flag(req, name):
    value = req.arg(name)
    if value is None or value.lower() == "false":
        return False
    if value.lower() == "true":
        return True
    raise DataPlaneError(400, f"query parameter {name!r} must be true or false", domain=SECRETS)


def manager(store, okms_id):
    record = store.data["okms"].get(okms_id)
    if record is None:
        raise DataPlaneError(404, f"KMS {okms_id} not found", domain=SECRETS)
    return SecretManager(store, record)


def _version_data(version, required):
    if version is None and not required:
        return None
    if not isinstance(version, dict) or set(version) - {"data"} or version.get("data") is None:
        raise DataPlaneError(400, "field 'version' must be an object {data: {...}}", domain=SECRETS)
    return version["data"]


def _cas(req):
    return parse_cas(req.arg("cas")) if req.arg("cas") is not None else None


def require(store, req, okms_id, action, path=None):
    """The caller's right to ``action`` on the secret at ``path`` (the KMS when None), or a 403."""
    target = data_rights.KMS if path is None else data_rights.secret(path)
    data_rights.require(store, req, okms_id, action, target, domain=SECRETS)


def may_get(store, req, okms_id, path):
    """Whether a list shows the secret at ``path`` (secret/get is needed on each secret listed)."""
    return data_rights.may(store, req, okms_id, "secret/get", data_rights.secret(path))


# A version state set through PUT .../version/{n} and the action it needs.
STATE_ACTIONS = {"active": "secret/version/activate", "deactivated": "secret/version/deactivate",
                 "deleted": "secret/version/delete"}


class DataSecrets:
    def __init__(self, store, paginator):
        self.store = store
        self.paginator = paginator

    def register(self, router):
        base = "/api/{okmsId}/v2"
        router.add("GET", base + "/secretConfig", self.get_config)
        router.add("PUT", base + "/secretConfig", self.put_config)
        router.add("GET", base + "/secret", self.list_secrets)
        router.add("POST", base + "/secret", self.create_secret)
        # Most specific first: the first pattern that matches a path claims it (routing.Router).
        router.add(("GET", "PUT"), base + "/secret/{path+}/version/{version}", self.version)
        router.add(("GET", "POST"), base + "/secret/{path+}/version", self.versions)
        router.add("GET", base + "/secret/{path+}", self.get_secret)
        router.add("PUT", base + "/secret/{path+}", self.update_secret)
        router.add("DELETE", base + "/secret/{path+}", self.delete_secret)

    # -- views ------------------------------------------------------------------------

    @staticmethod
    def _metadata(manager_, secret):
        return {**manager_.metadata_view(secret), "urn": manager_.urn(secret)}

    @staticmethod
    def _version(version, with_data=False):
        view = SecretManager.version_view(version, with_data)
        view["state"] = view["state"].lower()
        return view

    def _secret(self, manager_, secret):
        return {"path": secret["path"], "metadata": self._metadata(manager_, secret)}

    def _page(self, req, entries, scope):
        items, headers = self.paginator.page(entries, req.headers, scope, "SecretPaginationCursorInvalidValue")
        return Response(200, items, headers)

    # -- configuration -------------------------------------------------------------------

    def get_config(self, req, okmsId):
        require(self.store, req, okmsId, "secretConfig/get")
        with self.store.lock:
            return Response(200, dict(manager(self.store, okmsId).config))

    def put_config(self, req, okmsId):
        require(self.store, req, okmsId, "secretConfig/update")
        body = request_json(req, ("casRequired", "maxVersions", "deactivateVersionAfter"))
        with self.store.lock:
            return Response(200, manager(self.store, okmsId).update_config(body))

    # -- secrets ----------------------------------------------------------------------

    def list_secrets(self, req, okmsId):
        with self.store.lock:
            secrets = manager(self.store, okmsId)
            entries = [((s["path"],), self._secret(secrets, s)) for s in secrets.all()
                       if may_get(self.store, req, okmsId, s["path"])]
        return self._page(req, entries, f"data/secret/{okmsId}")

    def create_secret(self, req, okmsId):
        body = request_json(req, ("path", "version", "metadata"), ("path", "version"))
        data = _version_data(body["version"], required=True)
        require(self.store, req, okmsId, "secret/create", check_path(body["path"]))
        with self.store.lock:
            secrets = manager(self.store, okmsId)
            return Response(200, self._secret(secrets, secrets.create(body["path"], data, body.get("metadata"))))

    def get_secret(self, req, okmsId, path):
        with_data = query_flag(req, "includeData")
        number = parse_version(req.arg("version")) if req.arg("version") is not None else None
        secret_path = path_from_url(path)
        require(self.store, req, okmsId, "secret/get", secret_path)
        if with_data:
            require(self.store, req, okmsId, "secret/version/getData", secret_path)
        with self.store.lock:
            secrets = manager(self.store, okmsId)
            secret = secrets.find(secret_path)
            body = self._secret(secrets, secret)
            if with_data or number is not None:
                body["version"] = self._version(secrets.version(secret, number), with_data)
            return Response(200, body)

    def update_secret(self, req, okmsId, path):
        cas = _cas(req)
        body = request_json(req, ("metadata", "version"))
        data = _version_data(body.get("version"), required=False)
        secret_path = path_from_url(path)
        if data is not None:
            require(self.store, req, okmsId, "secret/version/create", secret_path)
        if body.get("metadata") is not None:
            require(self.store, req, okmsId, "secret/updateMetadata", secret_path)
        with self.store.lock:
            secrets = manager(self.store, okmsId)
            secrets.update(secret_path, body.get("metadata"), data, cas)
            return Response(200, self._secret(secrets, secrets.find(secret_path)))

    def delete_secret(self, req, okmsId, path):
        secret_path = path_from_url(path)
        require(self.store, req, okmsId, "secret/delete", secret_path)
        with self.store.lock:
            manager(self.store, okmsId).delete(secret_path)
        return Response(204, None)

    # -- versions ----------------------------------------------------------------------

    def versions(self, req, okmsId, path):
        secret_path = path_from_url(path)
        if req.method.upper() == "POST":
            require(self.store, req, okmsId, "secret/version/create", secret_path)
            cas = _cas(req)
            body = request_json(req, ("data",), ("data",))
            with self.store.lock:
                version = manager(self.store, okmsId).add_version(secret_path, body["data"], cas)
                return Response(200, self._version(version))
        require(self.store, req, okmsId, "secret/get", secret_path)
        with self.store.lock:
            secret = manager(self.store, okmsId).find(secret_path)
            entries = [((v["id"],), self._version(v)) for v in sorted(secret["versions"].values(),
                                                                      key=lambda v: v["id"])]
        return self._page(req, entries, f"data/secret/{okmsId}/{secret['path']}/version")

    def version(self, req, okmsId, path, version):
        number = parse_version(version)
        secret_path = path_from_url(path)
        if req.method.upper() == "PUT":
            state = request_json(req, ("state",), ("state",))["state"]
            if state not in STATE_ACTIONS:
                raise DataPlaneError(400, "field 'state' must be one of active, deactivated, deleted",
                                     domain=SECRETS)
            require(self.store, req, okmsId, STATE_ACTIONS[state], secret_path)
            with self.store.lock:
                updated = manager(self.store, okmsId).set_state(secret_path, number, state.upper())
                return Response(200, self._version(updated))
        with_data = query_flag(req, "includeData")
        require(self.store, req, okmsId, "secret/get", secret_path)
        if with_data:
            require(self.store, req, okmsId, "secret/version/getData", secret_path)
        with self.store.lock:
            secrets = manager(self.store, okmsId)
            secret = secrets.find(secret_path)
            return Response(200, self._version(secrets.version(secret, number), with_data))

