"""Cursor pagination of v2 lists."""

import pytest

from conftest import URN


@pytest.fixture(scope="module")
def five_credentials(api, kms_id):
    return [api.post(f"/v2/okms/resource/{kms_id}/credential", name=f"page-{i}", identityURNs=[URN])["id"]
            for i in range(5)]


def _walk(api, path, size):
    ids, cursor, pages = [], None, 0
    while True:
        headers = {"X-Pagination-Size": str(size)}
        if cursor:
            headers["X-Pagination-Cursor"] = cursor
        response = api.call("GET", path, headers=headers)
        assert response.status_code == 200
        body = response.json()
        api.check("GET", path, body)
        assert len(body) <= size
        ids += [c["id"] for c in body]
        pages += 1
        cursor = response.headers.get("X-Pagination-Cursor-Next")
        if not cursor:
            return ids, pages
        assert not cursor.isdigit()


def test_cursor_chain(api, kms_id, five_credentials):
    path = f"/v2/okms/resource/{kms_id}/credential"
    ids, pages = _walk(api, path, 2)
    assert set(five_credentials) <= set(ids)
    assert len(ids) == len(set(ids))
    assert pages == -(-len(ids) // 2)


def test_default_page_size_is_small(api, kms_id, five_credentials):
    # clients that ignore X-Pagination-Cursor-Next only see the first page
    first = api.get(f"/v2/okms/resource/{kms_id}/credential")
    assert len(first) == 3


def test_bad_cursor(api, kms_id, five_credentials):
    path = f"/v2/okms/resource/{kms_id}/credential"
    response = api.call("GET", path, headers={"X-Pagination-Cursor": "3"})
    assert response.status_code == 400
    assert response.json()["class"] == "Client::BadRequest::CredentialPaginationCursorInvalidValue"
    assert response.headers["X-Ovh-QueryID"]
    # a valid cursor of another list is not accepted either
    other = api.call("GET", "/v2/okms/reference/regions", headers={"X-Pagination-Size": "1"})
    cursor = other.headers["X-Pagination-Cursor-Next"]
    response = api.call("GET", path, headers={"X-Pagination-Cursor": cursor})
    assert response.status_code == 400


def test_regions_are_paginated_too(api):
    ids, _ = _walk(api, "/v2/okms/reference/regions", 5)
    assert len(ids) == 13 and "eu-west-rbx" in ids


def test_bad_page_size(api):
    response = api.call("GET", "/v2/okms/reference/regions", headers={"X-Pagination-Size": "0"})
    assert response.status_code == 400 and response.json()["class"] == "Client::BadRequest"
