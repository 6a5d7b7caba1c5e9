"""Deviation analytics for facilitators (agreements/analytics.py and its pages)."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from agreements.models import Agreement, DSATemplate, TemplateVersion
from agreements.negotiation.proposals import override_propose, override_respond
from agreements.review import analytics
from agreements.selectors import with_agreement_detail
from partners.models import Collaboratory

# What agreements/demo.py seeds, read by hand (the oracle for these tests):
# - v1: "Adaptive Practice Pilot 2024" (expired, no change) and "Productive Struggle Classroom
#   Study" (Hillcrest, a research partner, replaces publication-review; Riverbend, the district,
#   changes the breach-notification and data-retention terms to 48 hours and 60 days; all
#   accepted).
# - v2: "Open Curriculum ..." (OpenAlgebra, a developer, inserts open-licence after
#   intellectual-property; accepted), "Adaptive Practice Outcomes Study" and Lakeshore's (no
#   change), and "Adaptive Practice Real-Time Dashboard Pilot": Northfield (research) and
#   Brightpath (developer) both propose to replace breach-notification, Brightpath proposes to
#   delete audits; all three still proposed.
EXPECTED = {
    # key: (failing, modified, deleted, added after, proposed only, research, district,
    #       developer, agreements with the clause)
    "publication-review": (1, 1, 0, 0, 0, 1, 0, 0, 6),
    "intellectual-property": (1, 0, 0, 1, 0, 0, 0, 1, 6),
    "breach-notification": (1, 1, 0, 0, 1, 1, 1, 1, 6),
    "data-retention": (1, 1, 0, 0, 0, 0, 1, 0, 6),
    "audits": (0, 0, 0, 0, 1, 0, 0, 1, 6),
}


def counts(row: analytics.ClauseDeviation) -> tuple[int, ...]:
    return (
        row.failing,
        len(row.modified),
        len(row.deleted),
        len(row.added_after),
        row.proposed_only,
        *[row.by_party_kind[k] for k in analytics.PARTY_KINDS],
        row.agreements,
    )


@pytest.fixture
def template(demo) -> DSATemplate:
    return DSATemplate.objects.get(collaboratory=demo["collaboratory"], slug="standard-dsa")


def url(name: str = "deviation-analytics") -> str:
    return reverse(name, args=["aims", "standard-dsa"])


def test_report_counts_what_the_demo_seeds(template):
    report = analytics.deviation_report(template)

    assert report.agreements == 6
    assert {r.key: counts(r) for r in report.failing_clauses} == EXPECTED
    # Most failing first; proposals only after the clauses agreements actually changed.
    assert [r.key for r in report.failing_clauses] == [
        "breach-notification",
        "data-retention",
        "publication-review",
        "intellectual-property",
        "audits",
    ]
    by_key = {r.key: r for r in report.clauses}
    assert by_key["ai-model-training"].agreements == 4  # only v2 has it
    assert by_key["destruction-certification"].agreements == 2  # only v1 has it
    assert len(report.clauses) == 38  # every key of either version, Schedule A included


def test_report_gives_the_rationales_with_who_proposed_them(template):
    by_key = {r.key: r for r in analytics.deviation_report(template).clauses}

    breach = by_key["breach-notification"].rationales
    assert [(r.organisation, r.party_kind, r.status) for r in breach] == [
        ("Riverbend Unified School District", "School district", "Accepted"),
        ("Northfield University Learning Sciences Lab", "Research partner", "Proposed"),
        ("Brightpath Learning, Inc.", "Curriculum developer", "Proposed"),
    ]
    assert "the district wants notice sooner" in breach[0].text
    assert "shorter window than the standard 72 hours" in breach[1].text
    (ip,) = by_key["intellectual-property"].rationales
    assert (ip.kind, ip.status) == ("Insert a new clause after it", "Accepted")


def test_report_for_one_version_counts_only_its_agreements(template):
    v1 = TemplateVersion.objects.get(template=template, number=1)

    report = analytics.deviation_report(template, version=v1)

    assert report.agreements == 2
    assert [(r.key, r.failing) for r in report.failing_clauses] == [
        ("breach-notification", 1),
        ("data-retention", 1),
        ("publication-review", 1),
    ]
    assert "ai-model-training" not in {r.key for r in report.clauses}


def test_an_accepted_deletion_counts_as_deleted(demo, template):
    negotiating = demo["agreements"]["Adaptive Practice Real-Time Dashboard Pilot"]
    deletion = negotiating.overrides.get(kind="delete")
    for user in ("counsel", "director"):
        override_respond(override=deletion, by=demo["users"][user], decision="accept")

    audits = next(r for r in analytics.deviation_report(template).clauses if r.key == "audits")

    assert (audits.failing, len(audits.deleted), audits.proposed_only) == (1, 1, 0)


def test_page_shows_the_counts_chart_and_rationales(client, demo):
    client.force_login(demo["users"]["facilitator"])

    html = client.get(url()).content.decode()

    assert "6 agreements in AIMS Collaboratory" in html
    assert '<svg class="deviation-chart"' in html
    assert html.count("<rect") >= 4
    for key in EXPECTED:
        assert f'id="deviation-{key}"' in html
    assert "<strong>1</strong> of 6" in html
    assert "Our IRB requires that partners cannot veto findings." in html
    assert html.index('id="deviation-publication-review"') < html.index('id="deviation-audits"')
    assert reverse("deviation-index") in html  # the nav link for staff


def test_csv_export_has_one_row_per_clause_with_the_counts(client, demo):
    client.force_login(demo["users"]["facilitator"])

    response = client.get(url("deviation-csv"))

    assert response["Content-Type"].startswith("text/csv")
    assert "aims-standard-dsa-deviations.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 38  # every key of either version, Schedule A included
    by_key = {r["clause_key"]: r for r in rows}
    assert by_key["publication-review"]["modified"] == "1"
    assert by_key["intellectual-property"]["added_after"] == "1"
    assert by_key["breach-notification"]["proposed_only"] == "1"
    assert by_key["breach-notification"]["changes_by_research"] == "1"
    assert by_key["audits"]["changes_by_developer"] == "1"
    assert "SOC 2 Type II" in by_key["audits"]["rationales"]


def test_csv_cells_cannot_run_as_spreadsheet_formulas():
    row = analytics.ClauseDeviation(key="x", heading='=HYPERLINK("http://evil")', order=1)
    report = analytics.DeviationReport(template=None, version=None, agreements=0, clauses=(row,))

    (line,) = list(csv.DictReader(io.StringIO(analytics.deviation_csv(report))))

    assert line["heading"] == '\'=HYPERLINK("http://evil")'


def test_chart_escapes_clause_headings():
    row = analytics.ClauseDeviation(key="x", heading="<script>alert(1)</script>", order=1)
    row.modified.add("AIMS-2026-001")

    svg = analytics.deviation_chart([row])

    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_page_query_count_does_not_grow_with_agreements(
    client, demo, django_assert_max_num_queries
):
    client.force_login(demo["users"]["facilitator"])
    # session, user, template (+collaboratory), its versions, agreements per version,
    # clauses, overrides (+agreement reference and organisation).
    with django_assert_max_num_queries(7):
        assert client.get(url()).status_code == 200
    source = with_agreement_detail(Agreement.objects.all()).get(
        pk=demo["agreements"]["Adaptive Practice Real-Time Dashboard Pilot"].pk
    )
    for key in ("term", "notices", "insurance"):
        override_propose(
            agreement=source,
            by=demo["users"]["director"],
            kind="replace",
            clause_key=key,
            body="Changed.",
            rationale="Local policy.",
        )
    with django_assert_max_num_queries(7):
        assert client.get(url()).status_code == 200
    # The export also appends an audit entry (issue 9): savepoint, chain lock, chain tail,
    # insert, release.
    with django_assert_max_num_queries(7 + 5):
        assert client.get(url("deviation-csv")).status_code == 200


def test_index_lists_the_facilitators_templates(client, demo, django_assert_max_num_queries):
    client.force_login(demo["users"]["facilitator"])
    # session, user, templates (+collaboratory), their versions, staffed collaboratories.
    with django_assert_max_num_queries(5):
        html = client.get(reverse("deviation-index")).content.decode()
    assert url() in html


@pytest.mark.parametrize("name", ["deviation-analytics", "deviation-csv"])
def test_people_who_do_not_staff_the_collaboratory_get_404(client, demo, outsider, name):
    for user in (outsider, demo["users"]["director"], demo["users"]["counsel"]):
        client.force_login(user)
        assert client.get(url(name)).status_code == 404
    other = Collaboratory.objects.create(name="Elsewhere", slug="elsewhere", code="ELSE")
    stranger = get_user_model().objects.create_user("elsewhere-staff", is_staff=True)
    other.staff.add(stranger)
    client.force_login(stranger)
    assert client.get(url(name)).status_code == 404


def test_index_is_404_for_people_who_staff_no_collaboratory(client, demo, outsider):
    for user in (outsider, demo["users"]["director"]):
        client.force_login(user)
        assert client.get(reverse("deviation-index")).status_code == 404
