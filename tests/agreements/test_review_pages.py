"""Legal-review pages (agreements/views_review.py): comparisons, conflicts, earlier texts,
newer template versions; what they show, their query counts, escaping and 404s."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from agreements.models import Agreement, Approval, TemplateVersion
from agreements.negotiation.proposals import override_propose, override_respond
from agreements.review.services import agreement_reopen
from agreements.selectors import consolidated_text, with_agreement_detail

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"  # conflict on breach-notification
SIGNING = "Open Curriculum Implementation Data Agreement"  # one inserted clause
IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"  # counsel and vendor approved
ACTIVE = "Productive Struggle Classroom Study"  # v1, publication-review replaced
LAKESHORE = "Lakeshore Fluency Pathways Data Agreement"


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def page(client, user, name: str, *args, **params) -> str:
    client.force_login(user)
    response = client.get(reverse(name, args=args), params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def versions() -> tuple[TemplateVersion, TemplateVersion]:
    v1, v2 = TemplateVersion.objects.filter(template__slug="standard-dsa").order_by("number")
    return v1, v2


# --- Agreement against the standard ---------------------------------------------------------


def test_comparison_shows_the_summary_and_marks_the_inserted_clause(client, demo):
    agreement = demo["agreements"][SIGNING]

    html = page(client, demo["users"]["counsel"], "agreement-compare", agreement.pk)

    assert "0 of 37 clauses deviate from the standard; 0 conflicts; 1 inserted clause." in html
    assert 'id="clause-open-licence"' in html
    assert "Inserted clause" in html
    assert 'id="chg-open-licence-1"' in html
    # Unchanged clauses are collapsed, in runs, around the one change.
    assert "Clauses 1–19" in html and "Clauses 21–Schedule A" in html
    assert html.count('<details class="cmp-unchanged"') == 2


def test_comparison_flags_the_conflict_and_links_to_the_positions(client, demo):
    agreement = demo["agreements"][NEGOTIATING]

    # Accepted changes only: nothing deviates yet (the proposals are all pending).
    html = page(
        client, demo["users"]["vendor"], "agreement-compare", agreement.pk, changes="accepted"
    )
    assert "0 of 37 clauses deviate from the standard; 1 conflict; 0 inserted clauses." in html
    # By default while negotiating, the pending proposals show (issue 17): the first of the two
    # conflicting rewrites and the deletion of the audits clause.
    html = page(client, demo["users"]["vendor"], "agreement-compare", agreement.pk)
    assert "2 of 37 clauses deviate from the standard (1 modified, 1 deleted); 1 conflict" in html
    conflict_url = reverse("agreement-conflict", args=[agreement.pk, "breach-notification"])
    assert conflict_url in html
    assert "cmp-clause--conflict" in html


def test_side_by_side_view_has_both_sides_and_anchors_for_each(client, demo):
    agreement = demo["agreements"][ACTIVE]

    html = page(client, demo["users"]["director"], "agreement-compare", agreement.pk, view="side")

    assert 'class="cmp cmp--side"' in html
    assert 'id="chg-publication-review-1-old"' in html
    assert 'id="chg-publication-review-1-new"' in html
    assert 'aria-current="page">Side by side' in html


def test_change_navigation_works_without_javascript(client, demo):
    agreement = fresh(demo["agreements"][IN_REVIEW])
    agreement_reopen(
        agreement=agreement, by=demo["users"]["director"], reason="Two more changes needed."
    )
    counsel, vendor, director = (demo["users"][u] for u in ("counsel", "vendor", "director"))
    for key, body in (
        ("purpose", "The Parties share data only for the research questions in Schedule B."),
        ("term", "This Agreement ends on the expiry date."),
    ):
        override = override_propose(
            agreement=fresh(agreement),
            by=counsel,
            kind="replace",
            clause_key=key,
            body=body,
            rationale="Clearer.",
        )
        override_respond(override=override, by=vendor, decision="accept")
        override_respond(override=override, by=director, decision="accept")

    html = page(client, counsel, "agreement-compare", agreement.pk)

    # The toolbar's "next change" goes to the first change; each change links to its neighbours.
    assert re.search(r'href="#chg-purpose-1" data-redline-nav="next"', html)
    assert 'href="#chg-term-1">Next change' in html
    assert 'href="#chg-purpose-1">↑ Previous change' in html
    assert 'src="/static/js/redline-nav.js"' in html


def test_clause_text_that_looks_like_html_is_escaped(client, demo):
    agreement = fresh(demo["agreements"][IN_REVIEW])
    counsel = demo["users"]["counsel"]
    agreement_reopen(agreement=agreement, by=counsel, reason="Add a definition.")
    override = override_propose(
        agreement=fresh(agreement),
        by=counsel,
        kind="replace",
        clause_key="notices",
        body="<script>alert('x')</script> {{ secret }} {% now 'Y' %} Notices in writing.",
        rationale="<img src=x onerror=alert(1)>",
    )
    override_respond(override=override, by=demo["users"]["vendor"], decision="accept")
    override_respond(override=override, by=demo["users"]["director"], decision="accept")

    for view in ("inline", "side"):
        html = page(client, counsel, "agreement-compare", agreement.pk, view=view)
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
        assert "{{ secret }} {% now &#x27;Y&#x27; %}" in html


def test_comparison_page_query_count_is_fixed(client, demo, django_assert_max_num_queries):
    agreement = demo["agreements"][NEGOTIATING]
    client.force_login(demo["users"]["vendor"])
    # session, user, the agreement with its related rows (trio members, template clauses,
    # overrides, their responses, data elements, their questions, research questions,
    # approvals, signatures, transitions) as JSON in the same query.
    with django_assert_max_num_queries(3):
        response = client.get(reverse("agreement-compare", args=[agreement.pk]))
    assert response.status_code == 200
    override_propose(
        agreement=fresh(agreement),
        by=demo["users"]["director"],
        kind="insert",
        clause_key="data-transfer",
        new_key="escrow",
        heading="Escrow",
        body="A copy of the Shared Data is held in escrow.",
        rationale="Continuity.",
    )
    with django_assert_max_num_queries(3):
        assert client.get(reverse("agreement-compare", args=[agreement.pk])).status_code == 200


# --- Conflict: three columns ----------------------------------------------------------------


def test_conflict_page_shows_the_standard_and_both_positions(client, demo):
    agreement = demo["agreements"][NEGOTIATING]

    html = page(
        client,
        demo["users"]["director"],
        "agreement-conflict",
        agreement.pk,
        "breach-notification",
    )

    assert "Conflict on “Security Incidents and Breach Notification”" in html
    assert html.count('<section class="conflict-column') == 3
    assert "Standard text" in html
    assert "Northfield University Learning Sciences Lab" in html
    assert "Brightpath Learning, Inc." in html
    # Placeholders of a position are filled with the agreement's values.
    assert "within 72 hours after confirming it" in html
    assert "Identifiable real-time data needs a shorter window" in html
    assert "From Northfield University Learning Sciences Lab's text to Brightpath" in html


def test_conflict_page_of_a_clause_without_conflict_says_so(client, demo):
    agreement = demo["agreements"][NEGOTIATING]

    html = page(client, demo["users"]["director"], "agreement-conflict", agreement.pk, "audits")

    assert "There is no open conflict on this clause any more." in html
    assert "conflict-column" not in html


def test_conflict_page_of_an_unknown_clause_is_404(client, demo):
    client.force_login(demo["users"]["director"])
    url = reverse("agreement-conflict", args=[demo["agreements"][NEGOTIATING].pk, "no-such"])
    assert client.get(url).status_code == 404


def test_conflict_page_query_count(client, demo, django_assert_max_num_queries):
    client.force_login(demo["users"]["vendor"])
    url = reverse(
        "agreement-conflict", args=[demo["agreements"][NEGOTIATING].pk, "breach-notification"]
    )
    # As the comparison page: session, user, the agreement with its related rows.
    with django_assert_max_num_queries(3):
        assert client.get(url).status_code == 200


# --- Now against an earlier text ------------------------------------------------------------


def test_text_now_against_a_voided_approval_shows_what_changed_since(client, demo):
    agreement = fresh(demo["agreements"][IN_REVIEW])
    counsel, vendor, director = (demo["users"][u] for u in ("counsel", "vendor", "director"))
    approved_hash = agreement.text_hash
    agreement_reopen(agreement=agreement, by=director, reason="Retention is too long.")
    override = override_propose(
        agreement=fresh(agreement),
        by=director,
        kind="replace",
        clause_key="data-retention",
        body="Each Recipient destroys Shared Data within [[retention_days]] days after the term.",
        rationale="Shorter.",
    )
    override_respond(override=override, by=counsel, decision="accept")
    override_respond(override=override, by=vendor, decision="accept")
    voided = Approval.objects.get(
        agreement=agreement, organisation=demo["orgs"]["northfield-university"]
    )
    assert voided.voided_at is not None and voided.text_hash == approved_hash

    html = page(
        client, counsel, "agreement-compare-earlier", agreement.pk, point=f"approval-{voided.pk}"
    )

    assert "approval voided: negotiation reopened: Retention is too long." in html
    assert "The rebuilt earlier text has the SHA-256 recorded then" in html
    assert approved_hash in html
    assert "1 of 37 clauses changed since then (1 modified, 0 deleted)" in html
    assert 'id="chg-data-retention-1"' in html
    assert "within 90 days after the term" in html


def test_earlier_page_picks_an_earlier_point_by_default_and_lists_every_point(client, demo):
    agreement = fresh(demo["agreements"][ACTIVE])

    html = page(client, demo["users"]["director"], "agreement-compare-earlier", agreement.pk)

    # Approvals and lifecycle steps are offered; the default is the newest point whose text
    # differs from now: the start of negotiation, before the accepted change.
    assert html.count("<option ") == len(agreement.approvals.all()) + len(
        agreement.transitions.all()
    )
    assert "Draft → Negotiating" in html
    # Since negotiation opened: publication-review and the two negotiated terms' clauses.
    assert "3 of 37 clauses changed since then (3 modified, 0 deleted)" in html
    assert "The rebuilt earlier text has the SHA-256 recorded then" in html


def test_earlier_page_query_count(client, demo, django_assert_max_num_queries):
    agreement = demo["agreements"][ACTIVE]
    client.force_login(demo["users"]["director"])
    # The comparison page's 3, plus the history of the agreement, its overrides and its
    # data elements, and the moments the agreement's hash took the point's value.
    with django_assert_max_num_queries(7):
        response = client.get(reverse("agreement-compare-earlier", args=[agreement.pk]))
    assert response.status_code == 200


# --- Template versions ----------------------------------------------------------------------


def test_template_comparison_lists_what_changed_in_the_standard(client, demo):
    v1, v2 = versions()

    html = page(client, demo["users"]["director"], "template-compare", v1.pk, v2.pk)

    assert "5 of 37 clauses changed (4 modified, 1 deleted); 1 inserted clause." in html
    assert 'id="clause-ai-model-training"' in html
    assert "[[breach_notice_hours]]" in html  # placeholders are shown as written


def test_template_comparison_query_count(client, demo, django_assert_max_num_queries):
    v1, v2 = versions()
    client.force_login(demo["users"]["director"])
    # session, user, old version (+template), new version, both clause lists, the versions
    # of the template for the links.
    with django_assert_max_num_queries(7):
        assert client.get(reverse("template-compare", args=[v1.pk, v2.pk])).status_code == 200


def test_template_versions_of_another_collaboratory_are_404(client, demo, outsider):
    v1, v2 = versions()
    client.force_login(outsider)
    assert client.get(reverse("template-compare", args=[v1.pk, v2.pk])).status_code == 404


# --- Moving to a newer template version -----------------------------------------------------


def test_upgrade_preview_reapplies_the_accepted_change_on_the_newer_version(client, demo):
    agreement = demo["agreements"][ACTIVE]
    _, v2 = versions()

    html = page(client, demo["users"]["director"], "agreement-compare-upgrade", agreement.pk)

    assert f"On {v2}" in html
    assert re.search(
        r"Hillcrest State University Center for Mathematics Education: changes \d+\. Publication",
        html,
    )
    assert "changed in the newer version" in html
    # v2 adds the AI clause, removes the certification clause and revises three others; the
    # agreement's own publication-review, breach-notification and data-retention texts (the
    # last two carrying its negotiated terms) replace v2's revisions, so they stay as they are.
    assert "2 of 37 clauses would change (1 modified, 1 deleted); 1 inserted clause." in html
    assert reverse("template-compare", args=[agreement.template_version_id, v2.pk]) in html


def test_upgrade_preview_of_the_newest_version_says_there_is_none(client, demo):
    html = page(
        client,
        demo["users"]["counsel"],
        "agreement-compare-upgrade",
        demo["agreements"][SIGNING].pk,
    )
    assert "is the newest published version of its template" in html


def test_upgrade_page_query_count(client, demo, django_assert_max_num_queries):
    client.force_login(demo["users"]["director"])
    url = reverse("agreement-compare-upgrade", args=[demo["agreements"][ACTIVE].pk])
    # The comparison page's 3, plus the newer versions and the newer version's clauses.
    with django_assert_max_num_queries(5):
        assert client.get(url).status_code == 200


# --- Links and access -----------------------------------------------------------------------


def test_agreement_page_links_to_the_review_pages(client, demo):
    agreement = demo["agreements"][NEGOTIATING]

    html = page(client, demo["users"]["vendor"], "agreement-detail", agreement.pk)

    for name in (
        "agreement-compare",
        "agreement-reviews",
        "agreement-compare-earlier",
        "agreement-compare-upgrade",
        "agreement-redline-docx",
        "agreement-redline-pdf",
    ):
        assert reverse(name, args=[agreement.pk]) in html
    assert reverse("agreement-conflict", args=[agreement.pk, "breach-notification"]) in html


AGREEMENT_PAGES = [
    ("agreement-compare", ()),
    ("agreement-conflict", ("breach-notification",)),
    ("agreement-compare-earlier", ()),
    ("agreement-compare-upgrade", ()),
    ("agreement-reviews", ()),
]


@pytest.mark.parametrize(("name", "extra"), AGREEMENT_PAGES)
def test_outsiders_get_404_on_every_review_page(client, demo, outsider, name, extra):
    client.force_login(outsider)
    response = client.get(reverse(name, args=[demo["agreements"][NEGOTIATING].pk, *extra]))
    assert response.status_code == 404


@pytest.mark.parametrize(("name", "extra"), AGREEMENT_PAGES)
def test_another_districts_agreement_is_404_on_every_review_page(client, demo, name, extra):
    client.force_login(demo["users"]["director"])
    response = client.get(reverse(name, args=[demo["agreements"][LAKESHORE].pk, *extra]))
    assert response.status_code == 404


def test_anonymous_users_are_sent_to_log_in(client, demo):
    response = client.get(reverse("agreement-compare", args=[demo["agreements"][SIGNING].pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_facilitator_sees_every_trios_comparison(client, demo):
    html = page(
        client, demo["users"]["facilitator"], "agreement-compare", demo["agreements"][LAKESHORE].pk
    )
    text = consolidated_text(fresh(demo["agreements"][LAKESHORE]))
    assert f"0 of {len(text.clauses)} clauses deviate from the standard" in html
