"""Cursor pagination of v2 lists."""

import time

import pytest

from conftest import URN, order_kms
from okms_emulator.errors import ApiError
from okms_emulator.pagination import Paginator


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


# -- cursors are positions: lists that change between two page reads ---------------------------------

@pytest.fixture(scope="module")
def own_kms(api):
    """A KMS of these tests alone, so that they know every item of its lists."""
    return order_kms(api)


def _page(api, path, size, cursor=None):
    headers = {"X-Pagination-Size": str(size)}
    if cursor:
        headers["X-Pagination-Cursor"] = cursor
    response = api.call("GET", path, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()], response.headers.get("X-Pagination-Cursor-Next")


def _rest(api, path, size, cursor):
    ids = []
    while cursor:
        page, cursor = _page(api, path, size, cursor)
        ids += page
    return ids


def _new_key(api, okms_id, name):
    return api.post(f"/v2/okms/resource/{okms_id}/serviceKey", name=name, type="oct", size=128,
                    operations=["encrypt", "decrypt"])["id"]


def _delete_key(api, okms_id, key_id):
    path = f"/v2/okms/resource/{okms_id}/serviceKey/{key_id}"
    api.put(path, state="DEACTIVATED", deactivationReason="UNSPECIFIED")
    api.delete(path)


def test_deleting_a_seen_key_between_pages_skips_nothing(api, own_kms):
    path = f"/v2/okms/resource/{own_kms}/serviceKey"
    created = [_new_key(api, own_kms, f"cursor-del-{i}") for i in range(6)]
    everything, _ = _page(api, path, 100)
    first, cursor = _page(api, path, 2)
    assert first == everything[:2] and cursor
    # An offset cursor ("start at item 2") would now skip everything[2].
    for key_id in first:
        _delete_key(api, own_kms, key_id)
    rest = _rest(api, path, 2, cursor)
    assert rest == everything[2:]
    assert set(created) - set(first) <= set(rest)


def test_deleting_the_next_key_between_pages_skips_only_it(api, own_kms):
    path = f"/v2/okms/resource/{own_kms}/serviceKey"
    for i in range(4):
        _new_key(api, own_kms, f"cursor-next-{i}")
    everything, _ = _page(api, path, 100)
    first, cursor = _page(api, path, 2)
    _delete_key(api, own_kms, everything[2])
    assert _rest(api, path, 2, cursor) == everything[3:]


def test_inserting_between_pages_repeats_nothing(api, own_kms):
    path = f"/v2/okms/resource/{own_kms}/serviceKey"
    for i in range(4):
        _new_key(api, own_kms, f"cursor-ins-{i}")
    everything, _ = _page(api, path, 100)
    first, cursor = _page(api, path, 2)
    added = _new_key(api, own_kms, "cursor-ins-new")
    rest = _rest(api, path, 2, cursor)
    walked = first + rest
    assert len(walked) == len(set(walked)), "an item was returned twice"
    assert set(everything) <= set(walked)
    assert added in walked  # created after the first page was read: never behind the cursor


def test_credential_deleted_mid_listing_skips_no_other(api, own_kms):
    """The issue's case: a credential revoked while another client pages through the list."""
    path = f"/v2/okms/resource/{own_kms}/credential"
    created = [api.post(path, name=f"cursor-cred-{i}", identityURNs=[URN])["id"] for i in range(5)]
    everything, _ = _page(api, path, 100)
    first, cursor = _page(api, path, 3)
    api.delete(f"{path}/{first[0]}")
    deadline = time.time() + 10
    while first[0] in _page(api, path, 100)[0]:  # DELETING for --credential-delete-delay, then gone
        assert time.time() < deadline
        time.sleep(0.05)
    rest = _rest(api, path, 3, cursor)
    assert rest == everything[3:]
    assert set(created) - {first[0]} <= set(first + rest)


def test_tampered_cursor_keeps_its_error_class(api, own_kms):
    path = f"/v2/okms/resource/{own_kms}/serviceKey"
    for i in range(3):
        _new_key(api, own_kms, f"cursor-bad-{i}")
    _, cursor = _page(api, path, 1)
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    for bad in (tampered, cursor + "x", "not a cursor"):
        response = api.call("GET", path, headers={"X-Pagination-Cursor": bad})
        assert response.status_code == 400
        assert response.json()["class"] == "Client::BadRequest::ServiceKeyPaginationCursorInvalidValue"
    # a cursor of another KMS's key list is refused too: cursors are bound to their list
    other = api.call("GET", f"/v2/okms/resource/{own_kms}/credential", headers={"X-Pagination-Size": "1"})
    response = api.call("GET", path, headers={"X-Pagination-Cursor": other.headers["X-Pagination-Cursor-Next"]})
    assert response.json()["class"] == "Client::BadRequest::ServiceKeyPaginationCursorInvalidValue"


def _second_page(paginator, entries, changed):
    _, headers = paginator.page(entries, {}, "scope", "X")
    return paginator.page(changed, {"X-Pagination-Cursor": headers["X-Pagination-Cursor-Next"]}, "scope", "X")


def test_paginator_positions_survive_changes_between_pages():
    paginator = Paginator("secret", default_size=2)
    entries = [((f"2025-01-01T00:00:0{i}Z", f"id-{i}"), i) for i in range(6)]
    assert paginator.page(entries, {}, "scope", "X")[0] == [0, 1]
    # the cursor's own item and the next one deleted: an offset would resume at 4
    page, headers = _second_page(paginator, entries, [e for e in entries if e[1] not in (1, 2)])
    assert page == [3, 4]
    # two items inserted before the cursor: an offset would repeat 0 and 1
    early = [(("2024-12-31T00:00:00Z", f"early-{i}"), 10 + i) for i in range(2)]
    page, _ = _second_page(paginator, entries, early + entries)
    assert page == [2, 3]
    # created in the second of the cursor's item, with an id that sorts first: still not lost
    same_second = [((entries[1][0][0], "id-0a"), 11)]
    page, _ = _second_page(paginator, entries, sorted(entries + same_second))
    assert page == [11, 2]
    # a group spread over several pages: nothing repeated, nothing skipped
    one_second = [(("2025-01-01T00:00:00Z", f"id-{i}"), i) for i in range(7)]
    walked, headers = paginator.page(one_second, {}, "scope", "X")
    while "X-Pagination-Cursor-Next" in headers:
        more, headers = paginator.page(one_second, {"X-Pagination-Cursor": headers["X-Pagination-Cursor-Next"]},
                                       "scope", "X")
        walked += more
    assert walked == list(range(7))
    # the last page has no next cursor; a cursor is bound to its list
    page, headers = _second_page(paginator, entries[:4], entries[:4])
    assert page == [2, 3] and "X-Pagination-Cursor-Next" not in headers
    _, headers = paginator.page(entries, {}, "scope", "X")
    with pytest.raises(ApiError) as err:
        paginator.page(entries, {"X-Pagination-Cursor": headers["X-Pagination-Cursor-Next"]}, "another scope", "X")
    assert err.value.error_class == "Client::BadRequest::X"


def test_paginator_without_a_coarse_part_resumes_after_the_last_key():
    # lists sorted by a unique value alone (regions by id, secrets by path)
    paginator = Paginator("secret", default_size=2)
    entries = [((f"path-{i:02d}",), i) for i in range(30)]
    assert paginator.page(entries, {}, "scope", "X")[0] == [0, 1]
    page, _ = _second_page(paginator, entries, [e for e in entries if e[1] != 1])
    assert page == [2, 3]
    walked, headers = paginator.page(entries, {}, "scope", "X")
    cursors = []
    while "X-Pagination-Cursor-Next" in headers:
        cursors.append(headers["X-Pagination-Cursor-Next"])
        more, headers = paginator.page(entries, {"X-Pagination-Cursor": cursors[-1]}, "scope", "X")
        walked += more
    assert walked == list(range(30))
    assert max(map(len, cursors)) == min(map(len, cursors))  # a position, not a list of what was seen
