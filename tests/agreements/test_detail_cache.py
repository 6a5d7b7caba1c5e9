"""The agreement page's text is derived once per input (collaboratory.derived): it is never
stale, and a page seen again derives nothing anew."""

import copy
import datetime as dt
import re

import pytest
from django.urls import reverse

from agreements import selectors
from agreements.documents.jobs import render_jobs_for, render_request
from agreements.models import Agreement, Clause, DocumentKind
from agreements.negotiation.proposals import override_propose, override_respond
from agreements.negotiation.services import agreement_update, data_element_add
from agreements.selectors import with_agreement_detail
from agreements.text.placeholders import fill
from collaboratory import derived as derived_module
from collaboratory.derived import derived, digest


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def clause_body(page: str, key: str) -> str:
    """The text of clause ``key``'s body on the page (its HTML between the clause's heading
    and its proposals)."""
    match = re.search(
        rf'<article [^>]*id="clause-{re.escape(key)}".*?<div class="clause__body document">'
        r"(.*?)</div>\s*(?:<div class=\"proposals\"|<section|<details|</article>)",
        page,
        re.S,
    )
    assert match, f"no clause {key} on the page"
    return match.group(1)


@pytest.fixture
def page(client, demo, deviating):
    client.force_login(demo["users"]["counsel"])

    def get() -> str:
        response = client.get(reverse("agreement-detail", args=[deviating.pk]))
        assert response.status_code == 200
        return response.content.decode()

    return get


def test_an_accepted_proposal_shows_at_once(demo, deviating, page):
    users = demo["users"]
    before = page()
    assert "unless renewed in writing" not in clause_body(before, "term")
    override = override_propose(
        agreement=fresh(deviating),
        by=users["counsel"],
        kind="replace",
        clause_key="term",
        body="This Agreement takes effect on the effective date and ends on [[expires_on]] "
        "unless renewed in writing.",
        rationale="Renewal.",
    )
    proposed = page()
    assert "unless renewed in writing" not in clause_body(proposed, "term")
    assert f"proposal-{override.pk}-" in proposed  # its tracked changes
    override_respond(override=override, by=users["vendor"], decision="accept")
    override_respond(override=override, by=users["director"], decision="accept")
    assert "unless renewed in writing" in clause_body(page(), "term")


def test_a_changed_term_shows_at_once(demo, deviating, page):
    old = fill("[[expires_on]]", {"expires_on": deviating.expires_on})
    assert old in clause_body(page(), "term")
    later = deviating.expires_on + dt.timedelta(days=30)
    agreement_update(agreement=deviating, by=demo["users"]["director"], expires_on=later)
    body = clause_body(page(), "term")
    assert fill("[[expires_on]]", {"expires_on": later}) in body
    assert old not in body


def test_a_changed_term_the_header_does_not_state_shows_at_once(demo, deviating, page):
    days = deviating.cure_days
    assert f"cure the breach within {days} days" in page()
    agreement_update(agreement=deviating, by=demo["users"]["director"], cure_days=days + 7)
    shown = page()
    assert f"cure the breach within {days + 7} days" in shown
    assert f"cure the breach within {days} days" not in shown


def test_a_new_data_element_shows_at_once(demo, deviating, page):
    assert "Attendance by week, bench" not in page()
    members = {m.role: m.organisation for m in deviating.trio.members.all()}
    data_element_add(
        agreement=deviating,
        by=demo["users"]["counsel"],
        name="Attendance by week, bench",
        source=members["district"],
        recipient=members["research"],
        identifiability="deidentified",
        research_questions=list(deviating.trio.research_questions.all()[:1]),
    )
    assert "Attendance by week, bench" in page()


def test_a_page_seen_again_consolidates_nothing(monkeypatch, demo, deviating, page):
    """The second view of an unchanged agreement takes its text and the text's HTML from the
    cache: consolidation (the real one, counted) does not run again."""
    calls = []
    real = selectors.consolidate

    def counted(**kwargs):
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setattr(selectors, "consolidate", counted)
    derived_module.clear_local()
    first = page()
    second = page()
    assert len(calls) <= 1  # none when another test derived the same text before
    assert first.count('class="clause ') == second.count('class="clause ') > 10


def test_derived_computes_once_per_input_and_code():
    computed = []

    def compute(value):
        computed.append(value)
        return value

    token = digest([dt.datetime.now(dt.UTC).isoformat()])  # inputs no other run had
    assert derived("test", [token, 1], lambda: compute(1), code="a") == 1
    assert derived("test", [token, 1], lambda: compute(99), code="a") == 1
    derived_module.clear_local()  # another worker: the shared cache has it
    assert derived("test", [token, 1], lambda: compute(99), code="a") == 1
    assert derived("test", [token, 2], lambda: compute(2), code="a") == 2
    assert derived("test", [token, 1], lambda: compute(3), code="b") == 3
    assert computed == [1, 2, 3]


def test_inputs_of_different_types_differ():
    assert digest({"days": 180}) != digest({"days": "180"})
    assert digest({"on": dt.date(2026, 1, 2)}) != digest({"on": "2026-01-02"})


def test_a_text_from_the_shared_cache_is_the_text(deviating):
    """Another worker reads the text another derived (pickled, compressed) as it was."""
    derived_module.clear_local()
    here = selectors.consolidated_text(fresh(deviating))
    derived_module.clear_local()
    there = selectors.consolidated_text(fresh(deviating))
    assert there is not here
    assert there == here
    assert there.sha256 == here.sha256 == selectors._consolidate(fresh(deviating)).sha256


def test_the_page_reads_a_published_versions_clauses_as_stored(
    demo, deviating, django_assert_num_queries
):
    """The page's query leaves a published version's clauses out; they come from the rows
    derived once per version, in this process or from the shared cache, as stored."""
    version = deviating.template_version
    assert version.is_published
    stored = list(Clause.objects.filter(version=version).order_by("order").values())
    for shared in (False, True):
        if shared:
            derived_module.clear_local()  # another worker: the rows come from Redis
        agreement = selectors.agreement_page_for_user(demo["users"]["counsel"]).get(pk=deviating.pk)
        assert "clauses" not in getattr(agreement.template_version, "_prefetched_objects_cache", {})
        selectors.with_version_clauses(agreement)
        with django_assert_num_queries(0):
            clauses = list(agreement.template_version.clauses.all())
            assert all(c.version is agreement.template_version for c in clauses)
        assert [
            {f.attname: getattr(c, f.attname) for f in Clause._meta.concrete_fields}
            for c in clauses
        ] == stored


def test_a_published_version_with_a_reused_id_is_another_input(deviating):
    """Ids restart after a flush or a restore while the shared cache keeps its entries: the
    version's moments of creation and publication tell the two apart."""
    version = deviating.template_version
    again = copy.copy(version)
    again.published_at = version.published_at + dt.timedelta(seconds=1)
    assert again.pk == version.pk
    assert digest(selectors.version_inputs(again)) != digest(selectors.version_inputs(version))


def test_the_page_query_brings_the_render_jobs(demo, deviating, django_assert_num_queries):
    """The documents section reads the render jobs the page's query brought, as stored."""
    render_request(agreement=fresh(deviating), kind=DocumentKind.REVIEW, by=None)
    stored = render_jobs_for(Agreement.objects.get(pk=deviating.pk))
    assert stored
    agreement = selectors.agreement_page_for_user(demo["users"]["counsel"]).get(pk=deviating.pk)
    with django_assert_num_queries(0):
        jobs = render_jobs_for(agreement)
        assert [(j.pk, j.kind, j.status, j.text_hash, j.created_at, j.document) for j in jobs] == [
            (j.pk, j.kind, j.status, j.text_hash, j.created_at, j.document) for j in stored
        ]
