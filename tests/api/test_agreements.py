"""GET /api/v1/agreements/ and one agreement: fields, filters, strict parameters, pagination,
ETags, query counts, and that another organisation's agreement is a 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agreements.terms import destruction_deadline
from tests.api.factories import make_agreements, make_trio

LIST_FIELDS = {
    "id",
    "reference",
    "title",
    "status",
    "status_changed_at",
    "trio",
    "template",
    "parties",
    "effective_date",
    "expires_on",
    "updated_at",
    "document_url",
    "data_flow_permitted",
}


@pytest.fixture
def riverbend(api_world, issue_token, api):
    return api(issue_token(api_world["riverbend"]))


@pytest.fixture
def lakeshore(api_world, issue_token, api):
    return api(issue_token(api_world["lakeshore"]))


def _titles(response) -> set[str]:
    return {item["title"] for item in response.json()["results"]}


def test_the_list_shows_only_agreements_the_organisation_is_a_party_to(
    api_world, riverbend, lakeshore
):
    theirs = api_world["lakeshore_agreement"].title
    riverbend_titles = _titles(riverbend.get("/api/v1/agreements/"))
    assert len(riverbend_titles) == 5
    assert theirs not in riverbend_titles
    assert _titles(lakeshore.get("/api/v1/agreements/")) == {theirs}


def test_each_list_item_has_exactly_the_contract_fields(api_world, riverbend):
    body = riverbend.get("/api/v1/agreements/").json()
    assert set(body) == {"count", "page", "page_size", "next", "previous", "results"}
    item = next(i for i in body["results"] if i["reference"] == "AIMS-2026-001")
    assert set(item) == LIST_FIELDS
    agreement = api_world["riverbend_agreement"]
    assert item["id"] == str(agreement.pk)
    assert item["status"] == "active"
    assert item["trio"] == {"id": agreement.trio_id, "name": agreement.trio.name}
    assert item["template"]["version"] == agreement.template_version.number
    assert item["effective_date"] == agreement.start_date.isoformat()
    assert [p["role"] for p in item["parties"]] == ["research", "district", "developer"]
    district = item["parties"][1]
    assert district["organisation"] == {
        "id": api_world["riverbend"].pk,
        "slug": "riverbend-usd",
        "name": "Riverbend Unified School District",
        "kind": "district",
    }
    # Active: every party approved and signed.
    assert all(p["approved_at"] and p["signed_at"] for p in item["parties"])
    assert item["document_url"] is None


def test_the_detail_adds_data_elements_deviations_conflicts_and_timeline(api_world, riverbend):
    negotiating = api_world["agreements"]["Adaptive Practice Real-Time Dashboard Pilot"]
    body = riverbend.get(f"/api/v1/agreements/{negotiating.pk}/").json()
    assert set(body) == LIST_FIELDS | {
        "data_elements",
        "deviations_count",
        "open_conflicts",
        "timeline",
        "destruction_deadline",
        "open_blanks",
        "project_summary",
        "ends_on",
        "termination",
        "terms",
        "data_flow_permitted",
        "research_approvals",
        "destruction_duties",
        "destruction_overdue",
    }
    assert body["destruction_deadline"] == destruction_deadline(negotiating).isoformat()
    assert body["open_conflicts"] == [
        {
            "clause_key": "breach-notification",
            "organisations": ["brightpath-learning", "northfield-university"],
        }
    ]
    element = body["data_elements"][0]
    assert element["identifiability"] == "identifiable"
    assert element["source"]["slug"] == "riverbend-usd"
    assert element["recipient"]["slug"] == "brightpath-learning"
    assert body["timeline"][0]["to_status"] == "negotiating"
    assert body["project_summary"] == {}  # the wizard's non-binding notes; none in the demo
    # The key terms, as the Terms panel and the PDF cover state them (agreements.term_sheet).
    assert body["terms"]["breach_notice_hours"] == negotiating.breach_notice_hours
    assert body["terms"]["retention_days"] == negotiating.retention_days
    assert body["terms"]["destruction_deadline"] == body["destruction_deadline"]
    assert body["terms"]["expires_on"] == body["expires_on"]
    # No notice of termination: it ends when it expires (test_termination.py has notices).
    assert (body["ends_on"], body["termination"]) == (body["expires_on"], None)

    active = api_world["riverbend_agreement"]
    detail = riverbend.get(f"/api/v1/agreements/{active.pk}/").json()
    # The accepted publication-review rewrite and the two negotiated terms' clauses.
    assert detail["deviations_count"] == 3
    assert (detail["terms"]["breach_notice_hours"], detail["terms"]["retention_days"]) == (48, 60)
    assert [t["to_status"] for t in detail["timeline"]] == [
        "negotiating",
        "in_review",
        "signing",
        "active",
    ]


@pytest.mark.parametrize("suffix", ["/", "/document", "/terms"])
def test_another_organisations_agreement_answers_404_without_its_data(api_world, riverbend, suffix):
    theirs = api_world["lakeshore_agreement"]
    response = riverbend.get(f"/api/v1/agreements/{theirs.pk}{suffix}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert theirs.title.encode() not in response.content


def test_filters_narrow_the_list(api_world, riverbend):
    active = api_world["riverbend_agreement"]
    assert _titles(riverbend.get("/api/v1/agreements/?status=active")) == {active.title}
    by_trio = _titles(riverbend.get(f"/api/v1/agreements/?trio={active.trio_id}"))
    assert by_trio == {active.title}
    future = (timezone.now() + dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert riverbend.get("/api/v1/agreements/", {"updated_after": future}).json()["count"] == 0
    past = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert riverbend.get("/api/v1/agreements/", {"updated_after": past}).json()["count"] == 5
    cutoff = (active.expires_on + dt.timedelta(days=1)).isoformat()
    expiring = _titles(riverbend.get(f"/api/v1/agreements/?expires_before={cutoff}"))
    assert active.title in expiring
    assert all(
        a.expires_on < active.expires_on + dt.timedelta(days=1)
        for a in api_world["agreements"].values()
        if a.title in expiring
    )


def test_a_trio_of_another_organisation_filters_to_nothing(api_world, riverbend):
    theirs = api_world["lakeshore_agreement"]
    assert riverbend.get(f"/api/v1/agreements/?trio={theirs.trio_id}").json()["count"] == 0


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("colour=red", "colour"),
        ("status=bogus", "status"),
        ("trio=abc", "trio"),
        ("trio=0", "trio"),
        ("updated_after=yesterday", "updated_after"),
        ("expires_before=2026-13-45", "expires_before"),
        ("page=0", "page"),
        ("page=two", "page"),
        ("page_size=201", "page_size"),
        ("page_size=-1", "page_size"),
        ("status=active&status=draft", "status"),
    ],
)
def test_unknown_or_malformed_query_parameters_answer_400_naming_the_parameter(
    riverbend, query, parameter
):
    response = riverbend.get(f"/api/v1/agreements/?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["details"]["parameter"] == parameter
    assert parameter in error["message"]


def test_a_page_past_the_end_is_a_404_naming_the_last_page(riverbend):
    response = riverbend.get("/api/v1/agreements/?page=99")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "page_not_found"
    assert error["details"] == {"parameter": "page", "last": 1}


def test_endpoints_without_parameters_refuse_any(api_world, riverbend):
    agreement = api_world["riverbend_agreement"]
    response = riverbend.get(f"/api/v1/agreements/{agreement.pk}/?expand=all")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["parameter"] == "expand"


def test_pages_link_to_each_other_and_page_size_is_respected(api_world, riverbend):
    first = riverbend.get("/api/v1/agreements/?page_size=2").json()
    assert first["count"] == 5 and len(first["results"]) == 2
    assert first["previous"] is None
    assert "page=2" in first["next"] and "page_size=2" in first["next"]
    last = riverbend.get("/api/v1/agreements/?page_size=2&page=3").json()
    assert len(last["results"]) == 1 and last["next"] is None
    seen = {
        i["id"]
        for page in (1, 2, 3)
        for i in riverbend.get(f"/api/v1/agreements/?page_size=2&page={page}").json()["results"]
    }
    assert len(seen) == 5


@pytest.mark.parametrize("suffix", ["", "{id}/", "{id}/terms"])
def test_etag_answers_304_until_the_agreement_changes(api_world, riverbend, suffix):
    # A negotiating agreement: a signed one's title can no longer change (issue 9, item 9).
    agreement = api_world["agreements"]["Adaptive Practice Real-Time Dashboard Pilot"]
    url = "/api/v1/agreements/" + suffix.format(id=agreement.pk)
    first = riverbend.get(url)
    etag = first["ETag"]
    assert etag and first["Vary"].startswith("Authorization") or "Authorization" in first["Vary"]
    again = riverbend.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    type(agreement).objects.filter(pk=agreement.pk).update(title="Renamed study")
    changed = riverbend.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_etags_differ_between_organisations(api_world, riverbend, lakeshore):
    assert (
        riverbend.get("/api/v1/agreements/")["ETag"] != lakeshore.get("/api/v1/agreements/")["ETag"]
    )


def _list_queries(client, page_size: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/agreements/?page_size={page_size}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size
    return len(queries)


def test_the_list_query_count_is_constant_in_page_size_and_number_of_parties(
    api_world, issue_token, api, django_assert_max_num_queries
):
    # One district in 30 trios with 30 different partner pairs: 61 distinct parties.
    district = api_world["riverbend"]
    for _ in range(30):
        make_agreements(make_trio(api_world["collaboratory"], district=district), 2)
    client = api(issue_token(district))
    client.get("/api/v1/agreements/")  # warm up: the token's first use records last_used_at
    small = _list_queries(client, 2)
    large = _list_queries(client, 60)
    assert small == large
    # token, count, page, parties (members with organisations), live approvals, signatures
    with django_assert_max_num_queries(6):
        client.get("/api/v1/agreements/?page_size=200")


def test_the_detail_query_count_does_not_grow_with_data_elements(
    api_world, riverbend, django_assert_max_num_queries
):
    agreement = api_world["agreements"]["Adaptive Practice Outcomes Study 2026-2028"]
    riverbend.get(f"/api/v1/agreements/{agreement.pk}/")
    # token, then the agreement + trio/template/creator with its members, clauses,
    # overrides, responses, data elements, their questions, research questions, approvals,
    # signatures and transitions as JSON in the same query
    with django_assert_max_num_queries(2):
        response = riverbend.get(f"/api/v1/agreements/{agreement.pk}/")
    assert len(response.json()["data_elements"]) == 3


def test_the_document_is_404_until_a_sealed_pdf_exists_then_served_with_its_hash(
    api_world, riverbend, settings, tmp_path
):
    from agreements.models import Document

    settings.MEDIA_ROOT = tmp_path
    agreement = api_world["riverbend_agreement"]
    url = f"/api/v1/agreements/{agreement.pk}/document"
    missing = riverbend.get(url)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "This agreement has no sealed document yet."
    Document.objects.create(
        agreement=agreement,
        kind="executed",
        text_hash=agreement.text_hash,
        sha256="a" * 64,
        file=ContentFile(b"%PDF-1.7 sealed", name="sealed.pdf"),
        size=15,
        sealed=True,
    )
    response = riverbend.get(url, headers={"Accept": "application/pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-SHA256"] == "a" * 64
    assert b"".join(response.streaming_content) == b"%PDF-1.7 sealed"
    item = next(
        i
        for i in riverbend.get("/api/v1/agreements/").json()["results"]
        if i["id"] == str(agreement.pk)
    )
    assert item["document_url"] == f"http://testserver{url}"


def test_unsealed_or_review_documents_are_not_served(api_world, riverbend, settings, tmp_path):
    from agreements.models import Document

    settings.MEDIA_ROOT = tmp_path
    agreement = api_world["riverbend_agreement"]
    for kind, sealed, digest in (("review", True, "b"), ("executed", False, "c")):
        Document.objects.create(
            agreement=agreement,
            kind=kind,
            text_hash=agreement.text_hash,
            sha256=digest * 64,
            file=ContentFile(b"%PDF", name=f"{kind}.pdf"),
            size=4,
            sealed=sealed,
        )
    assert riverbend.get(f"/api/v1/agreements/{agreement.pk}/document").status_code == 404


def test_terms_are_an_odrl_agreement_policy(api_world, riverbend):
    agreement = api_world["agreements"]["Adaptive Practice Outcomes Study 2026-2028"]
    response = riverbend.get(f"/api/v1/agreements/{agreement.pk}/terms")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/ld+json"
    policy = response.json()
    assert policy["@context"] == "http://www.w3.org/ns/odrl.jsonld"
    assert policy["@type"] == "Agreement"
    assert policy["uid"] == f"urn:uuid:{agreement.pk}"
    uses = [p for p in policy["permission"] if p["action"] == "use"]
    assert len(uses) == 3  # one per data element
    scores = next(p for p in uses if p["target"]["title"].startswith("Algebra I"))
    assert scores["assigner"]["uid"] == "urn:collaboratory:organisation:riverbend-usd"
    assert scores["assignee"]["uid"] == "urn:collaboratory:organisation:northfield-university"
    constraints = {
        (c["leftOperand"], c["operator"]): c["rightOperand"] for c in scores["constraint"]
    }
    assert constraints[("purpose", "eq")] == agreement.purpose
    assert constraints[("dateTime", "gteq")]["@value"] == agreement.start_date.isoformat()
    assert constraints[("dateTime", "lt")]["@value"] == agreement.expires_on.isoformat()
    prohibited = {p["action"] for p in policy["prohibition"] if p["target"] == scores["target"]}
    assert {"urn:collaboratory:action:reidentify", "sell"} <= prohibited
    duties = {d["action"]: d for d in policy["obligation"] if d["target"] == scores["target"]}
    assert duties["delete"]["constraint"][0]["rightOperand"]["@value"] == (
        agreement.destruction_date.isoformat()
    )
    notice = {c["leftOperand"]: c["rightOperand"] for c in duties["inform"]["constraint"]}
    assert notice["elapsedTime"]["@value"] == "PT72H"


def test_terms_never_prohibit_reidentifying_identifiable_data_they_share_as_such(
    api_world, riverbend
):
    agreement = api_world["agreements"]["Adaptive Practice Real-Time Dashboard Pilot"]
    policy = riverbend.get(f"/api/v1/agreements/{agreement.pk}/terms").json()
    actions = {p["action"] for p in policy["prohibition"]}
    assert "urn:collaboratory:action:reidentify" not in actions
    assert "sell" in actions


def test_organisations_me_names_the_token_and_its_organisation(api_world, issue_token, api):
    token = issue_token(api_world["lakeshore"], ["agreements:read"])
    body = api(token).get("/api/v1/organisations/me").json()
    assert body["slug"] == "lakeshore-cps"
    assert body["token"]["prefix"] == token[:12]
    assert body["token"]["scopes"] == ["agreements:read"]
    assert token not in str(body)


def _plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def test_a_deep_page_builds_the_parties_of_its_own_rows_only(api_world, issue_token, api, settings):
    # Page 4 of 10: PostgreSQL used to build every skipped row's parties (JSON of members,
    # approvals, signatures) before the OFFSET dropped them, so deep pages cost more as an
    # organisation's agreements grew. The page's ids are now chosen alone.
    # The page's statement as SQL text to EXPLAIN, not as the EXECUTE of a prepared one.
    settings.DATABASE_SERVER_PREPARED = False
    district = api_world["riverbend"]
    make_agreements(make_trio(api_world["collaboratory"], district=district), 45)
    client = api(issue_token(district))
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/agreements/?page_size=10&page=4")
    assert response.status_code == 200 and len(response.json()["results"]) == 10
    (page_sql,) = [q["sql"] for q in queries.captured_queries if "json_agg" in q["sql"]]
    with connection.cursor() as cursor:
        # Statistics as autovacuum keeps them, so the plan does not depend on what earlier
        # tests left behind.
        cursor.execute("ANALYZE agreements_agreement, partners_triomember")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + page_sql)
        (plan,) = cursor.fetchone()[0]
    # The correlated subqueries run once per row they are computed for (the parties' JSON,
    # the sealed document), or per party of those rows (its approval, its signature): at most
    # the page's 10 rows x 3 parties, not for the 30 rows before the OFFSET too.
    per_row = [
        node
        for node in _plan_nodes(plan["Plan"])
        if node.get("Parent Relationship") == "SubPlan" and node.get("Actual Loops", 0) > 1
    ]
    assert per_row, "the parties' subquery is in the plan"
    assert all(node["Actual Loops"] <= 10 * 3 for node in per_row), [
        (node["Node Type"], node.get("Subplan Name"), node["Actual Loops"]) for node in per_row
    ]


def test_one_built_statement_answers_every_organisation_with_its_own_agreements(
    demo, issue_token, api, builds
):
    """The detail and the ODRL terms read their agreement through a statement built once
    (collaboratory.prepared.shaped_rows), the organisation and the agreement its parameters:
    every organisation's token still gets 200 exactly on the agreements it is a party to and
    404 on every other, and each answer is about the agreement asked for."""
    import uuid

    from agreements.api import selectors
    from agreements.models import Agreement
    from agreements.selectors import agreements_visible_to_organisation
    from partners.models import Organisation

    for view in list(selectors._STATEMENTS):
        builds.watch(selectors._STATEMENTS, view)
    every = list(Agreement.objects.order_by("reference"))
    answered = 0
    for organisation in Organisation.objects.order_by("slug"):
        client = api(issue_token(organisation))
        party_to = set(
            agreements_visible_to_organisation(organisation.pk).values_list("pk", flat=True)
        )
        for agreement in every:
            detail = client.get(f"/api/v1/agreements/{agreement.pk}/")
            terms = client.get(f"/api/v1/agreements/{agreement.pk}/terms")
            if agreement.pk in party_to:
                assert (detail.status_code, terms.status_code) == (200, 200)
                assert detail.json()["reference"] == agreement.reference
                assert str(agreement.pk) in terms.json()["uid"]
                answered += 1
            else:
                assert (detail.status_code, terms.status_code) == (404, 404), organisation.slug
        assert client.get(f"/api/v1/agreements/{uuid.uuid4()}/").status_code == 404
    assert 0 < answered < Organisation.objects.count() * len(every)
    assert sorted(name for name, _ in builds.all) == ["detail", "terms"]


def test_the_list_is_a_statement_prepared_once_that_lists_each_organisations_own(
    demo, issue_token, api
):
    """The list's page runs as a server-side prepared statement (its planning was ~1 ms of
    every request), the organisation a parameter: every organisation's token still lists
    exactly the agreements it is a party to, each with that agreement's parties."""
    from django.db import connection

    from agreements.models import Agreement
    from agreements.selectors import agreements_visible_to_organisation
    from collaboratory import prepared
    from partners.models import Organisation

    prepared.clear()
    listed_somewhere = 0
    for organisation in Organisation.objects.order_by("slug"):
        client = api(issue_token(organisation))
        expected = {
            str(pk)
            for pk in agreements_visible_to_organisation(organisation.pk).values_list(
                "pk", flat=True
            )
        }
        body = client.get("/api/v1/agreements/?page_size=200").json()
        results = body["results"]
        assert {item["id"] for item in results} == expected, organisation.slug
        assert body["count"] == len(expected)  # the count's own built-once statement
        for item in results:
            agreement = Agreement.objects.select_related("trio").get(pk=item["id"])
            members = set(agreement.trio.members.values_list("organisation_id", flat=True))
            assert {p["organisation"]["id"] for p in item["parties"]} == members
        listed_somewhere += len(results)
    assert listed_somewhere > 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%json_agg%'"
        )
        assert cursor.fetchone()[0] == 1
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%AS SELECT COUNT(*) FROM (SELECT%"],
        )
        assert cursor.fetchone()[0] == 1
