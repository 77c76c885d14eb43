"""Concurrent requests are serialised safely."""

from concurrent.futures import ThreadPoolExecutor

from conftest import Api, app_client


def test_parallel_creates(conn, kms_id):
    def create(i):
        return Api(app_client(conn)).post(f"/v2/okms/resource/{kms_id}/serviceKey", name=f"par-{i}",
                                          type="oct", size=256, operations=["encrypt", "decrypt"])["id"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = list(pool.map(create, range(20)))
    assert len(set(ids)) == 20
    listed, cursor = [], None
    api = Api(app_client(conn))
    while True:
        headers = {"X-Pagination-Size": "100"}
        if cursor:
            headers["X-Pagination-Cursor"] = cursor
        response = api.call("GET", f"/v2/okms/resource/{kms_id}/serviceKey", headers=headers)
        listed += [k["id"] for k in response.json()]
        cursor = response.headers.get("X-Pagination-Cursor-Next")
        if not cursor:
            break
    assert set(ids) <= set(listed)
