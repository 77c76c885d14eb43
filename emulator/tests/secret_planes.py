"""The Secret Manager's two v2 APIs behind one interface, so that every rule is
tested on both planes and with both URL forms of a secret path:

- ``ControlPlane``: ``/v2/okms/resource/{okmsId}/secret...`` through python-ovh
  (signed), each successful answer checked against the spec's models;
- ``DataPlaneV2``: ``/api/{okmsId}/v2/secret...`` through requests with an
  OAuth2 token.

``encoded=True`` sends the path percent-encoded (``a%2Fb``, as Terraform and
the Go SDK do), else raw (``a/b``). Every call returns ``(status, body)``.
"""

import urllib.parse


class SecretPlane:
    name = None

    def __init__(self, okms_id, encoded):
        self.okms_id = okms_id
        self.encoded = encoded

    def __repr__(self):
        return f"{self.name}-{'encoded' if self.encoded else 'raw'}"

    def quote(self, path):
        return urllib.parse.quote(path, safe="") if self.encoded else path

    def _secret(self, path, suffix="", **query):
        query = {k: v for k, v in query.items() if v is not None}
        url = f"{self.base}/secret/{self.quote(path)}{suffix}"
        return url + ("?" + urllib.parse.urlencode(query) if query else "")

    def create(self, path, data, metadata=None):
        body = {"path": path, "version": {"data": data}}
        if metadata is not None:
            body["metadata"] = metadata
        return self.request("POST", self.base + "/secret", body)

    def get(self, path, include_data=None, version=None):
        flag = None if include_data is None else str(include_data).lower()
        return self.request("GET", self._secret(path, includeData=flag, version=version))

    def update(self, path, data=None, metadata=None, cas=None):
        body = {}
        if data is not None:
            body["version"] = {"data": data}
        if metadata is not None:
            body["metadata"] = metadata
        return self.request("PUT", self._secret(path, cas=cas), body)

    def delete(self, path):
        return self.request("DELETE", self._secret(path))

    def versions(self, path, headers=None):
        return self.request("GET", self._secret(path, "/version"), headers=headers)

    def all_versions(self, path):
        """Every version, following X-Pagination-Cursor-Next (the control plane's default page is 3)."""
        versions, headers = [], {}
        while True:
            status, page = self.versions(path, headers)
            assert status == 200, page
            versions += page
            cursor = self.last_headers.get("X-Pagination-Cursor-Next")
            if not cursor:
                return versions
            headers = {"X-Pagination-Cursor": cursor}

    def add_version(self, path, data, cas=None):
        return self.request("POST", self._secret(path, "/version", cas=cas), {"data": data})

    def version(self, path, number, include_data=None):
        flag = None if include_data is None else str(include_data).lower()
        return self.request("GET", self._secret(path, f"/version/{number}", includeData=flag))

    def set_state(self, path, number, state):
        return self.request("PUT", self._secret(path, f"/version/{number}"), {"state": self.state(state)})

    def list(self, headers=None):
        return self.request("GET", self.base + "/secret", headers=headers)

    def config(self):
        return self.request("GET", self.base + "/secretConfig")

    def set_config(self, **changes):
        return self.request("PUT", self.base + "/secretConfig", changes)


class ControlPlane(SecretPlane):
    name = "control"

    def __init__(self, api, okms_id, encoded=False):
        super().__init__(okms_id, encoded)
        self.api = api
        self.base = f"/v2/okms/resource/{okms_id}"
        self.last_headers = {}

    def request(self, method, url, body=None, headers=None):
        response = self.api.client.raw_call(method, url, body, headers=headers)
        self.last_headers = response.headers
        payload = response.json() if response.content else None
        if response.ok:
            self.api.check(method, url, payload)
        return response.status_code, payload

    @staticmethod
    def state(name):
        return name.upper()

    @staticmethod
    def error_class(body):
        return body["class"]

    @staticmethod
    def message(body):
        return body["message"]


class DataPlaneV2(SecretPlane):
    name = "data"

    def __init__(self, session, data_endpoint, okms_id, encoded=False):
        super().__init__(okms_id, encoded)
        self.session = session
        self.base = f"{data_endpoint}/api/{okms_id}/v2"
        self.last_headers = {}

    def request(self, method, url, body=None, headers=None):
        response = self.session.request(method, url, json=body, headers=headers)
        self.last_headers = response.headers
        payload = response.json() if response.content else None
        if not response.ok:
            assert set(payload) == {"error_code", "error_id", "errors", "request_id"}, payload
        return response.status_code, payload

    @staticmethod
    def state(name):
        return name.lower()

    @staticmethod
    def error_class(body):
        return None  # the data plane has error codes, not classes

    @staticmethod
    def message(body):
        return " ".join(body["errors"])


def refused(plane, answer, status, error_class=None, mentions=None):
    """Assert ``answer`` is a refusal with ``status`` (and, on the control plane, ``error_class``)."""
    code, body = answer
    assert code == status, (plane, code, body)
    if error_class is not None and plane.error_class(body) is not None:
        assert plane.error_class(body) == error_class, body
    if mentions is not None:
        assert mentions in plane.message(body), body
    return body
