"""The benchmark's own client of the emulator's API (set-up only: ids, bulk key creation).

OAuth2 client credentials, one token per client; its requests say "okms-bench" in their User-Agent.
"""

import requests

USER_AGENT = "okms-bench (bench set-up)"
PAGE_SIZE = 100


class BenchApi:
    def __init__(self, conn):
        self.base_url = conn["base_url"]
        self.session = requests.Session()
        # Per request: requests lets REQUESTS_CA_BUNDLE override a session's verify.
        self.verify = conn["ca_path"]
        self.session.headers["User-Agent"] = USER_AGENT
        answer = self.session.post(conn["token_url"], data={
            "grant_type": "client_credentials", "client_id": conn["client_id"],
            "client_secret": conn["client_secret"], "scope": "all"}, verify=self.verify, timeout=30)
        answer.raise_for_status()
        self.session.headers["Authorization"] = "Bearer " + answer.json()["access_token"]

    def get(self, path, headers=None):
        answer = self.session.get(self.base_url + path, headers=headers, verify=self.verify, timeout=30)
        answer.raise_for_status()
        return answer

    def post(self, path, body):
        answer = self.session.post(self.base_url + path, json=body, verify=self.verify, timeout=60)
        answer.raise_for_status()
        return answer.json()

    def list_all(self, path):
        """Every item of a v2 list, following X-Pagination-Cursor-Next."""
        items, cursor = [], None
        while True:
            headers = {"X-Pagination-Size": str(PAGE_SIZE)}
            if cursor:
                headers["X-Pagination-Cursor"] = cursor
            answer = self.get(path, headers)
            items.extend(answer.json())
            cursor = answer.headers.get("X-Pagination-Cursor-Next")
            if not cursor:
                return items

    def kms_named(self, name):
        found = [kms for kms in self.list_all("/v2/okms/resource")
                 if (kms.get("iam") or {}).get("displayName") == name]
        if len(found) != 1:
            raise RuntimeError("expected one KMS named %s in the emulator, found %d" % (name, len(found)))
        return found[0]["id"]

    def keys(self, okms_id):
        return self.list_all("/v2/okms/resource/%s/serviceKey" % okms_id)

    def credentials(self, okms_id):
        return self.list_all("/v2/okms/resource/%s/credential" % okms_id)

    def create_oct_key(self, okms_id, name):
        return self.post("/v2/okms/resource/%s/serviceKey" % okms_id,
                         {"name": name, "type": "oct", "size": 256, "operations": ["encrypt", "decrypt"]})
