"""Control plane of the Secret Manager: ``/v2/okms/resource/{okmsId}/secret...``,
``/secretConfig`` and ``/okms/reference/secretConfig``.

Shapes are the models of ``specs/ovh-api-v2-okms.json`` (``okms.secret.*``,
``okms.secretConfig.*``, ``okms.reference.secretConfig.Response``); the rules
are ``secret_manager.py``'s. A secret path is accepted raw (``a/b``) or
percent-encoded (``a%2Fb``); a raw path ending in ``/version`` or
``/version/<n>`` names the versions of the secret before it.
"""

import functools

from . import kms as kmsmod
from .control_v2 import ControlV2
from .errors import ApiError
from .routing import Response
from .secret_manager import REGION_DEFAULTS, SecretError, SecretManager, check_path, parse_cas, \
    parse_version, path_from_url

BAD_REQUEST = "Client::BadRequest"


def _api_errors(handler):
    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except SecretError as exc:
            raise ApiError(exc.status, exc.error_class, exc.message) from None
    return wrapper


def _body(req, model, allowed, required=()):
    body = req.json()
    if not isinstance(body, dict):
        raise ApiError(400, BAD_REQUEST, f"Request body must be a JSON object ({model})")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ApiError(400, BAD_REQUEST, f"Unknown field(s) {', '.join(unknown)} in {model}")
    for name in required:
        if body.get(name) is None:
            raise ApiError(400, BAD_REQUEST, f"Missing required field {name} ({model})")
    return body


def _version_data(version, required):
    """``data`` of an ``okms.secret.version.Creation`` member (None when absent and allowed)."""
    if version is None and not required:
        return None
    if not isinstance(version, dict):
        raise ApiError(400, BAD_REQUEST, "Field version must be an object {data} (okms.secret.version.Creation)")
    unknown = sorted(set(version) - {"data"})
    if unknown:
        raise ApiError(400, BAD_REQUEST, f"Unknown field(s) {', '.join(unknown)} in okms.secret.version.Creation")
    if version.get("data") is None:
        raise ApiError(400, BAD_REQUEST, "Missing required field version.data (okms.secret.version.Creation)")
    return version["data"]


class ControlSecrets:
    def __init__(self, emu, control):
        self.emu = emu
        self.store = emu.store
        self.control = control  # ControlV2: iamTags filter, pagination, argument parsing

    def register(self, router):
        router.add("GET", "/v2/okms/reference/secretConfig", self.reference)
        base = "/v2/okms/resource/{okmsId}"
        router.add("GET", base + "/secretConfig", self.get_config)
        router.add("PUT", base + "/secretConfig", self.put_config)
        router.add("GET", base + "/secret", self.list_secrets)
        router.add("POST", base + "/secret", self.create_secret)
        # Most specific first: the first pattern that matches a path claims it (routing.Router).
        router.add("GET", base + "/secret/{path+}/version/{version}", self.get_version)
        router.add("PUT", base + "/secret/{path+}/version/{version}", self.update_version)
        router.add("GET", base + "/secret/{path+}/version", self.list_versions)
        router.add("POST", base + "/secret/{path+}/version", self.create_version)
        router.add("GET", base + "/secret/{path+}", self.get_secret)
        router.add("PUT", base + "/secret/{path+}", self.update_secret)
        router.add("DELETE", base + "/secret/{path+}", self.delete_secret)

    def _manager(self, okms_id):
        return SecretManager(self.store, kmsmod.get_kms(self.store, okms_id))

    def _iam(self, manager, secret):
        return {"id": secret["iamId"], "urn": manager.urn(secret), "displayName": secret["path"],
                "tags": {}, "state": "OK"}

    def _secret_body(self, manager, secret):
        return {"path": secret["path"], "metadata": manager.metadata_view(secret)}

    # -- configuration -----------------------------------------------------------------

    def reference(self, req):
        self.control._region_arg(req)
        return Response(200, dict(REGION_DEFAULTS))

    def get_config(self, req, okmsId):
        with self.store.lock:
            return Response(200, dict(self._manager(okmsId).config))

    @_api_errors
    def put_config(self, req, okmsId):
        body = req.json()
        with self.store.lock:
            return Response(200, self._manager(okmsId).update_config(body))

    # -- secrets ----------------------------------------------------------------------

    def list_secrets(self, req, okmsId):
        filters = self.control._tag_filter(req)
        with self.store.lock:
            manager = self._manager(okmsId)
            entries = [((s["path"],), {**self._secret_body(manager, s), "iam": self._iam(manager, s)})
                       for s in manager.all()]
        entries = [(key, item) for key, item in entries if ControlV2._tags_match(item["iam"]["tags"], filters)]
        return self.control._page(req, entries, "secret/" + manager.record["id"],
                                  "SecretPaginationCursorInvalidValue")

    @_api_errors
    def create_secret(self, req, okmsId):
        body = _body(req, "okms.secret.Creation", ("path", "version", "metadata"), ("path", "version"))
        path = check_path(body["path"])
        data = _version_data(body["version"], required=True)
        with self.store.lock:
            manager = self._manager(okmsId)
            secret = manager.create(path, data, body.get("metadata"))
            return Response(200, self._secret_body(manager, secret))

    @_api_errors
    def get_secret(self, req, okmsId, path):
        with_data = self.control._bool_arg(req, "includeData")
        raw_version = req.arg("version")
        number = parse_version(raw_version) if raw_version is not None else None
        with self.store.lock:
            manager = self._manager(okmsId)
            secret = manager.find(path_from_url(path))
            body = {**self._secret_body(manager, secret), "iam": self._iam(manager, secret)}
            # The version block comes with includeData=true or an explicit version.
            if with_data or number is not None:
                body["version"] = manager.version_view(manager.version(secret, number), with_data)
            return Response(200, body)

    @_api_errors
    def update_secret(self, req, okmsId, path):
        cas = parse_cas(req.arg("cas")) if req.arg("cas") is not None else None
        body = _body(req, "okms.secret.UpdateRequest", ("metadata", "version"))
        data = _version_data(body.get("version"), required=False)
        with self.store.lock:
            manager = self._manager(okmsId)
            secret_path = path_from_url(path)
            manager.update(secret_path, body.get("metadata"), data, cas)
            return Response(200, self._secret_body(manager, manager.find(secret_path)))

    @_api_errors
    def delete_secret(self, req, okmsId, path):
        with self.store.lock:
            self._manager(okmsId).delete(path_from_url(path))
        return Response(200, None)

    # -- versions ----------------------------------------------------------------------

    @_api_errors
    def list_versions(self, req, okmsId, path):
        with self.store.lock:
            manager = self._manager(okmsId)
            secret = manager.find(path_from_url(path))
            entries = [((v["id"],), manager.version_view(v))
                       for v in sorted(secret["versions"].values(), key=lambda v: v["id"])]
        return self.control._page(req, entries, f"secret/{manager.record['id']}/{secret['path']}/version",
                                  "SecretVersionPaginationCursorInvalidValue")

    @_api_errors
    def create_version(self, req, okmsId, path):
        cas = parse_cas(req.arg("cas")) if req.arg("cas") is not None else None
        body = _body(req, "okms.secret.version.Creation", ("data",), ("data",))
        with self.store.lock:
            manager = self._manager(okmsId)
            version = manager.add_version(path_from_url(path), body["data"], cas)
            return Response(200, manager.version_view(version))

    @_api_errors
    def get_version(self, req, okmsId, path, version):
        with_data = self.control._bool_arg(req, "includeData")
        number = parse_version(version)
        with self.store.lock:
            manager = self._manager(okmsId)
            secret = manager.find(path_from_url(path))
            return Response(200, manager.version_view(manager.version(secret, number), with_data))

    @_api_errors
    def update_version(self, req, okmsId, path, version):
        number = parse_version(version)
        body = _body(req, "okms.secret.version.UpdateRequest", ("state",), ("state",))
        with self.store.lock:
            manager = self._manager(okmsId)
            updated = manager.set_state(path_from_url(path), number, body["state"])
            return Response(200, manager.version_view(updated))
