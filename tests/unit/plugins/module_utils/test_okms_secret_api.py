# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SecretApi against the stateful fake API: paths in URLs, reads, pages, and writes whose answer was lost.

A write whose answer is lost is re-read: carried on when it took effect, sent
again only when sending again cannot make a second version or secret, and
otherwise failed naming what to check. The fake's request log shows what was
sent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ovhcloud.kms.plugins.module_utils.okms_secret_api import SecretApi, quote_path
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import (
    OvhAmbiguousRequestError,
    OvhApiError,
    OvhWriteNotAppliedError,
)
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.core import FakeOkmsApi
from ansible_collections.ovhcloud.kms.tests.unit.fake_okms.secrets import COLLECTION, ITEM, VERSIONS, install

OKMS_ID = "5b8f6e2e-3c5b-4f1e-9a53-9c1d3a5a7f10"
BASE = "/v2/okms/resource/%s/secret" % OKMS_ID


@pytest.fixture
def fake():
    fake = FakeOkmsApi()
    install(fake).add_kms(OKMS_ID)
    return fake


@pytest.fixture
def api(fake):
    return SecretApi(fake, OKMS_ID)


def writes(fake):
    return [(request.method, request.path) for request in fake.mutations()]


# --- paths -------------------------------------------------------------------------------------

def test_a_path_is_one_url_segment_as_terraform_sends_it():
    assert quote_path("app/db") == "app%2Fdb"
    assert quote_path("a/b:c=d@e.f_g-h") == "a%2Fb:c=d@e.f_g-h"


def test_a_secret_named_like_the_versions_of_another_is_its_own(fake, api):
    fake.secrets.add_secret(OKMS_ID, "app", {"v": "app-value"})
    api.create("app/version", {"v": "version-value"})
    assert api.get("app/version", include_data=True)["version"]["data"] == {"v": "version-value"}
    assert [v["id"] for v in api.versions("app")] == [1]
    assert writes(fake) == [("POST", BASE)]


# --- reads -------------------------------------------------------------------------------------

def test_get_asks_for_data_only_when_told(fake, api):
    fake.secrets.add_secret(OKMS_ID, "app/db", {"p": "one"}, {"p": "two"})
    plain = api.get("app/db")
    assert "version" not in plain and plain["metadata"]["currentVersion"] == 2
    assert api.get("app/db", include_data=True)["version"] == {
        "id": 2, "state": "ACTIVE", "createdAt": plain["metadata"]["updatedAt"], "data": {"p": "two"}}
    assert api.get("app/db", include_data=True, version=1)["version"]["data"] == {"p": "one"}
    assert "data" not in api.get("app/db", version=1)["version"]
    assert fake.calls("GET")[1].params == {"includeData": "true"}


def test_missing_secret_and_version_read_as_none(fake, api):
    fake.secrets.add_secret(OKMS_ID, "app/db", {"p": "one"})
    assert api.get("nope") is None
    assert api.get("app/db", version=7) is None
    assert api.versions("nope") is None
    assert api.version("app/db", 7) is None


def test_other_errors_name_the_secret_and_the_kms(fake, api):
    with pytest.raises(OvhApiError) as error:
        SecretApi(fake, "00000000-0000-4000-8000-000000000000").list()
    assert str(error.value).startswith("cannot read the secrets of KMS 00000000-0000-4000-8000-000000000000: GET ")
    with pytest.raises(OvhApiError) as error:
        api.get("app/db", version=0)
    assert str(error.value).startswith("cannot read version 0 of secret 'app/db' of KMS %s: GET %s/app%%2Fdb, "
                                       "HTTP 400, Client::BadRequest::SecretVersionMinRequired" % (OKMS_ID, BASE))


def test_list_reads_every_page(fake, api):
    fake.max_page_size = 7
    for number in range(25):
        fake.secrets.add_secret(OKMS_ID, "bulk/%02d" % number, {"n": number})
    assert [secret["path"] for secret in api.list()] == ["bulk/%02d" % n for n in range(25)]
    assert len(fake.calls("GET", COLLECTION)) == 4
    assert fake.calls("GET", COLLECTION)[0].headers["X-Pagination-Size"] == "100"


def test_versions_read_every_page(fake, api):
    fake.max_page_size = 2
    fake.secrets.add_secret(OKMS_ID, "app/db", *[{"n": n} for n in range(5)])
    assert [version["id"] for version in api.versions("app/db")] == [1, 2, 3, 4, 5]
    assert len(fake.calls("GET", VERSIONS)) == 3


# --- writes ------------------------------------------------------------------------------------

def test_writes_send_what_the_api_takes(fake, api):
    api.create("app/db", {"p": "one"}, {"maxVersions": 3})
    api.update_metadata("app/db", {"customMetadata": {"o": "x"}})
    api.write_version("app/db", {"p": "two"}, 1)
    api.add_version("app/db", {"p": "three"}, 2)
    api.set_version_state("app/db", 1, "DEACTIVATED")
    api.update_config({"casRequired": True})
    api.delete("app/db")
    bodies = [(r.method, r.path, r.params, r.body) for r in fake.mutations()]
    item = BASE + "/app%2Fdb"
    assert bodies == [
        ("POST", BASE, {}, {"path": "app/db", "version": {"data": {"p": "one"}}, "metadata": {"maxVersions": 3}}),
        ("PUT", item, {}, {"metadata": {"customMetadata": {"o": "x"}}}),
        ("PUT", item, {"cas": 1}, {"version": {"data": {"p": "two"}}}),
        ("POST", item + "/version", {"cas": 2}, {"data": {"p": "three"}}),
        ("PUT", item + "/version/1", {}, {"state": "DEACTIVATED"}),
        ("PUT", "/v2/okms/resource/%s/secretConfig" % OKMS_ID, {}, {"casRequired": True}),
        ("DELETE", item, {}, None),
    ]


def test_a_version_written_with_a_stale_cas_is_refused_naming_cas(fake, api):
    fake.secrets.add_secret(OKMS_ID, "app/db", {"p": "one"}, {"p": "two"})
    with pytest.raises(OvhApiError) as error:
        api.write_version("app/db", {"p": "three"}, 1)
    assert error.value.status == 400 and "cas" in error.value.message
    assert fake.secrets.record(OKMS_ID, "app/db")["currentVersion"] == 2


@pytest.mark.parametrize("before_applying", [False, True], ids=["applied", "never-arrived"])
def test_a_lost_create_is_settled_by_reading_the_secret(fake, api, before_applying):
    fake.lose_answer("POST", COLLECTION, before_applying=before_applying)
    created = api.create("app/db", {"p": "one"})
    assert created["metadata"]["currentVersion"] == 1
    assert fake.secrets.data(OKMS_ID, "app/db") == {"p": "one"}
    # Sent again only when it never arrived.
    assert len(fake.calls("POST", COLLECTION)) == (2 if before_applying else 1)


def test_a_lost_create_of_a_path_someone_else_wrote_is_undecidable(fake, api):
    def somebody_else_creates(request, okms_id):
        fake.secrets.add_secret(OKMS_ID, "app/db", {"p": "theirs"})
        raise OvhAmbiguousRequestError("connection reset", method="POST", path=request.path)
    fake.route("POST", COLLECTION, somebody_else_creates, first=True)
    with pytest.raises(OvhAmbiguousRequestError) as error:
        api.create("app/db", {"p": "mine"})
    assert "secret 'app/db' of KMS %s exists now, but not as this task wrote it (version 1)" % OKMS_ID \
        in str(error.value)


@pytest.mark.parametrize("before_applying", [False, True], ids=["applied", "never-arrived"])
def test_a_lost_version_write_never_makes_two_versions(fake, api, before_applying):
    fake.secrets.add_secret(OKMS_ID, "app/db", {"p": "one"})
    fake.lose_answer("PUT", ITEM, before_applying=before_applying)
    api.write_version("app/db", {"p": "two"}, 1)
    record = fake.secrets.record(OKMS_ID, "app/db")
    assert record["currentVersion"] == 2 and fake.secrets.data(OKMS_ID, "app/db") == {"p": "two"}
    assert len(fake.calls("PUT", ITEM)) == (2 if before_applying else 1)


def test_a_lost_version_write_after_another_writer_is_undecidable(fake, api):
    fake.secrets.add_secret(OKMS_ID, "app/db", {"p": "one"})

    def applied_then_overwritten(request, okms_id, path):
        fake.secrets.update_secret(request, okms_id, path)
        # Another writer's version lands before this task re-reads.
        fake.secrets.write(okms_id, "app/db", {"p": "theirs"})
        raise OvhAmbiguousRequestError("connection reset", method="PUT", path=request.path)
    fake.route("PUT", ITEM, applied_then_overwritten, first=True)
    with pytest.raises(OvhAmbiguousRequestError) as error:
        api.write_version("app/db", {"p": "two"}, 1)
    assert "is now at version 3, which this task may not have written (it wrote on version 1)" in str(error.value)
    assert len(fake.calls("PUT", ITEM)) == 1


def test_a_version_write_lost_every_time_changes_nothing(fake, api):
    fake.secrets.add_secret(OKMS_ID, "app/db", {"p": "one"})
    fake.lose_answer("PUT", ITEM, times=100, before_applying=True)
    with pytest.raises(OvhWriteNotAppliedError):
        api.write_version("app/db", {"p": "two"}, 1)
    assert fake.secrets.record(OKMS_ID, "app/db")["currentVersion"] == 1


@pytest.mark.parametrize("before_applying", [False, True], ids=["applied", "never-arrived"])
def test_lost_metadata_state_and_delete_writes_are_settled(fake, api, before_applying):
    fake.secrets.add_secret(OKMS_ID, "app/db", {"p": "one"}, {"p": "two"})
    fake.lose_answer("PUT", ITEM, before_applying=before_applying)
    api.update_metadata("app/db", {"maxVersions": 4})
    assert fake.secrets.record(OKMS_ID, "app/db")["maxVersions"] == 4
    fake.lose_answer("PUT", ITEM + "/version/{n}", before_applying=before_applying)
    api.set_version_state("app/db", 1, "DEACTIVATED")
    assert fake.secrets.record(OKMS_ID, "app/db")["versions"]["1"]["state"] == "DEACTIVATED"
    fake.lose_answer("DELETE", ITEM, before_applying=before_applying)
    api.delete("app/db")
    assert "app/db" not in fake.secrets.kms[OKMS_ID]
    assert len(fake.mutations()) == (6 if before_applying else 3)
