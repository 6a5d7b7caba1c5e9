"""The partner API's reads kept for the database snapshot they were read from
(``partners.apis.kept_read``, collaboratory/answers.py): read again, no agreement is read;
a committed write or another token is derived anew; a revoked token is refused first; the
rate limit and ETags stay per request; and a kept read never writes."""

from __future__ import annotations

import pytest

from agreements.models import Agreement
from collaboratory import answers
from tests.api.conftest import ApiClient
from tests.kept_answers import read, reads_agreements, without_commits, writes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_answers")]

KEPT_API_READS = {
    "api:agreements.api.views.AgreementListApi.get",
    "api:agreements.api.views.AgreementDetailApi.get",
    "api:agreements.api.views.AgreementTermsApi.get",
}


@pytest.fixture
def riverbend(api_world, issue_token):
    return ApiClient(issue_token(api_world["riverbend"]))


def test_an_api_read_again_reads_no_agreement(api_world, riverbend):
    agreement = api_world["riverbend_agreement"]
    # The token's first use is stamped (a commit of its own, once a minute).
    riverbend.get("/api/v1/agreements/?page_size=1")
    for path in (
        "/api/v1/agreements/",
        f"/api/v1/agreements/{agreement.pk}/",
        f"/api/v1/agreements/{agreement.pk}/terms",
    ):
        (first, first_sql), (again, again_sql) = without_commits(
            lambda path=path: (read(riverbend, path), read(riverbend, path))
        )
        assert first.status_code == again.status_code == 200, path
        assert reads_agreements(first_sql)
        assert not reads_agreements(again_sql), path
        assert again.content == first.content
        assert again["ETag"] == first["ETag"]
        assert again["Content-Type"] == first["Content-Type"]


def test_an_api_answer_follows_a_write_and_the_token(api_world, riverbend, issue_token):
    from partners.api_auth import api_token_revoke, token_digest
    from partners.models import ApiToken

    # One whose text may still change (a signed text refuses it).
    listed = riverbend.get("/api/v1/agreements/?status=negotiating").json()["results"]
    assert listed, "the demo has a negotiating agreement with Riverbend"
    path = f"/api/v1/agreements/{listed[0]['id']}/"
    assert riverbend.get(path).json()["title"] == listed[0]["title"]
    assert riverbend.get(path).json()["title"] == listed[0]["title"]  # kept
    Agreement.objects.filter(pk=listed[0]["id"]).update(title="Retitled")
    assert riverbend.get(path).json()["title"] == "Retitled"
    # Another organisation's token is never answered from Riverbend's read.
    lakeshore = ApiClient(issue_token(api_world["lakeshore"]))
    assert lakeshore.get(path).status_code == 404
    # A revoked token is refused before any kept answer is looked at.
    api_token_revoke(token=ApiToken.objects.get(digest=token_digest(riverbend.token)))
    assert riverbend.get(path).status_code == 401


def test_an_api_answer_keeps_its_rate_limit_headers_per_request(api_world, riverbend):
    path = f"/api/v1/agreements/{api_world['riverbend_agreement'].pk}/"
    first = riverbend.get(path)
    again = riverbend.get(path)
    remaining = int(first["RateLimit-Remaining"])
    assert int(again["RateLimit-Remaining"]) == remaining - 1
    assert riverbend.get(path, HTTP_IF_NONE_MATCH=again["ETag"]).status_code == 304


def test_the_kept_reads_are_these_and_they_write_nothing(api_world, riverbend):
    assert {name for name in answers.KEPT if name.startswith("api:")} == KEPT_API_READS
    agreement = api_world["riverbend_agreement"]
    for path in (
        "/api/v1/agreements/?page_size=2",
        f"/api/v1/agreements/{agreement.pk}/",
        f"/api/v1/agreements/{agreement.pk}/terms",
    ):
        # The token's first use is stamped (once a minute): not the read's own doing.
        riverbend.get("/api/v1/agreements/?page_size=1")
        response, sql = read(riverbend, path)
        assert response.status_code == 200, path
        assert not [s for s in sql if writes(s)], path
