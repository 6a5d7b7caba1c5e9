"""Costs and effort (issue 20, item 1): services (validation, privacy, audit), totals and
cycle time, the pages, the report and its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements.costs.cycle import agreement_cycle, cycle_stats
from agreements.costs.models import CostEntry, CostKind
from agreements.costs.report import cost_report, report_csv
from agreements.costs.selectors import agreement_totals, visible_entries
from agreements.costs.services import (
    cost_entry_delete,
    cost_entry_record,
    cost_entry_share,
    cost_entry_update,
)
from agreements.models import Agreement, Transition
from audit.models import AuditAction, AuditEntry
from collaboratory.errors import DomainError

PILOT = "Adaptive Practice Real-Time Dashboard Pilot"
TODAY = dt.date(2026, 11, 2)


@pytest.fixture
def pilot(demo) -> Agreement:
    return demo["agreements"][PILOT]


def _legal(agreement, user, hours="4", *, shared=False, **values) -> CostEntry:
    return cost_entry_record(
        agreement=agreement,
        by=user,
        kind=CostKind.LEGAL_REVIEW,
        occurred_on=TODAY,
        values={"hours": hours, "legal_role": "in_house_counsel", **values},
        shared=shared,
    )


def _ongoing(agreement, user, amount="100", period="monthly", *, shared=False) -> CostEntry:
    return cost_entry_record(
        agreement=agreement,
        by=user,
        kind=CostKind.ONGOING,
        occurred_on=TODAY,
        values={"category": "storage", "amount": amount, "period": period},
        shared=shared,
    )


# --- services -------------------------------------------------------------------------------


def test_it_records_an_entry_for_the_party_the_user_acts_for_with_an_audit_entry(demo, pilot):
    entry = _legal(pilot, demo["users"]["counsel"], "6.5", hourly_rate="200", clause_key="audits")
    assert entry.organisation == demo["orgs"]["northfield-university"]
    assert entry.shared is False and entry.hours == Decimal("6.5")
    audit = AuditEntry.objects.filter(object_type="agreements.costentry").last()
    assert audit.action == AuditAction.COST_RECORDED
    assert audit.organisation_id == entry.organisation_id
    # The trail never carries what the party keeps private.
    assert "6.5" not in str(audit.payload) and "200" not in str(audit.payload)
    assert audit.payload == {"agreement": str(pilot.pk), "kind": "legal_review", "shared": False}


@pytest.mark.parametrize(
    ("kind", "values", "field"),
    [
        (CostKind.LEGAL_REVIEW, {"hours": "0", "legal_role": "paralegal"}, "hours"),
        (CostKind.LEGAL_REVIEW, {"hours": "501", "legal_role": "paralegal"}, "hours"),
        (CostKind.LEGAL_REVIEW, {"hours": "two", "legal_role": "paralegal"}, "hours"),
        (CostKind.LEGAL_REVIEW, {"hours": "2"}, "legal_role"),
        (CostKind.LEGAL_REVIEW, {"hours": "2", "legal_role": "x"}, "legal_role"),
        (
            CostKind.LEGAL_REVIEW,
            {"hours": "2", "legal_role": "paralegal", "clause_key": "nope"},
            "clause_key",
        ),
        (
            CostKind.LEGAL_REVIEW,
            {"hours": "2", "legal_role": "paralegal", "currency": "dollars"},
            "currency",
        ),
        (CostKind.LEGAL_REVIEW, {"hours": "2", "legal_role": "paralegal", "amount": "5"}, "amount"),
        (
            CostKind.DATA_PREPARATION,
            {
                "hours": "3",
                "prepared_by": "district_staff",
                "compensation": "stipend",
                "compensation_state": "paid",
            },
            "stipend_amount",
        ),
        (
            CostKind.DATA_PREPARATION,
            {
                "hours": "3",
                "prepared_by": "district_staff",
                "compensation": "grant_funded",
                "compensation_state": "paid",
            },
            "funding_source",
        ),
        (
            CostKind.DATA_PREPARATION,
            {
                "hours": "3",
                "prepared_by": "district_staff",
                "compensation": "stipend",
                "stipend_amount": "10",
            },
            "compensation_state",
        ),
        (CostKind.ONGOING, {"category": "storage", "amount": "-1", "period": "yearly"}, "amount"),
        (CostKind.ONGOING, {"category": "storage", "amount": "10"}, "period"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    demo, pilot, kind, values, field
):
    before = CostEntry.objects.count(), AuditEntry.objects.count()
    with pytest.raises(DomainError) as refused:
        cost_entry_record(
            agreement=pilot,
            by=demo["users"]["director"],
            kind=kind,
            occurred_on=TODAY,
            values=values,
        )
    assert field in refused.value.message_dict
    assert (CostEntry.objects.count(), AuditEntry.objects.count()) == before


def test_facilitators_and_outsiders_record_nothing(demo, pilot):
    for username in ("facilitator", "lakeshore"):
        with pytest.raises(DomainError) as refused:
            _legal(pilot, demo["users"][username])
        assert refused.value.code == "not_allowed"
    assert not CostEntry.objects.filter(agreement=pilot).exists()


def test_only_the_recording_party_changes_shares_or_deletes_an_entry(demo, pilot):
    entry = _legal(pilot, demo["users"]["counsel"], shared=True)
    for act in (
        lambda: cost_entry_update(entry=entry, by=demo["users"]["director"], values={"hours": "1"}),
        lambda: cost_entry_share(entry=entry, by=demo["users"]["vendor"], shared=False),
        lambda: cost_entry_delete(entry=entry, by=demo["users"]["director"]),
    ):
        with pytest.raises(DomainError):
            act()
    entry.refresh_from_db()
    assert entry.hours == Decimal("4") and entry.shared


def test_update_share_and_delete_each_leave_an_audit_entry(demo, pilot):
    counsel = demo["users"]["counsel"]
    entry = _legal(pilot, counsel)
    entry = cost_entry_update(entry=entry, by=counsel, values={"hours": "5.25", "note": "Redo"})
    assert entry.hours == Decimal("5.25")
    cost_entry_share(entry=entry, by=counsel)
    with pytest.raises(DomainError, match="shared already"):
        cost_entry_share(entry=entry, by=counsel)
    cost_entry_delete(entry=entry, by=counsel)
    assert not CostEntry.objects.filter(pk=entry.pk).exists()
    actions = list(
        AuditEntry.objects.filter(object_type="agreements.costentry", object_id=str(entry.pk))
        .order_by("seq")
        .values_list("action", "payload")
    )
    assert [a for a, _ in actions] == [
        AuditAction.COST_RECORDED,
        AuditAction.COST_CHANGED,
        AuditAction.COST_SHARED,
        AuditAction.COST_DELETED,
    ]
    assert actions[1][1]["fields"] == ["hours", "note"]


def test_an_invalid_update_changes_nothing(demo, pilot):
    counsel = demo["users"]["counsel"]
    entry = _legal(pilot, counsel)
    with pytest.raises(DomainError) as refused:
        cost_entry_update(entry=entry, by=counsel, values={"hours": "-3", "note": "x"})
    assert "hours" in refused.value.message_dict
    entry.refresh_from_db()
    assert entry.hours == Decimal("4") and entry.note == ""


# --- privacy and totals ---------------------------------------------------------------------


def test_another_party_never_sees_a_private_entry_nor_its_amount_in_totals(demo, pilot):
    counsel, director = demo["users"]["counsel"], demo["users"]["director"]
    northfield, riverbend = demo["orgs"]["northfield-university"], demo["orgs"]["riverbend-usd"]
    private = _legal(pilot, counsel, "7", hourly_rate="300")
    shared = _legal(pilot, counsel, "2", shared=True)
    _ongoing(pilot, counsel, "999", "one_off")
    # Riverbend's view: the shared entry only; the trio's totals count it only.
    seen = set(visible_entries(pilot.pk, [riverbend.pk]).values_list("pk", flat=True))
    assert shared.pk in seen and private.pk not in seen
    totals = agreement_totals(pilot.pk, [riverbend.pk])
    assert totals.shared.legal_hours == Decimal("2")
    assert totals.shared.legal_fees == {} and totals.shared.one_off == {}
    assert totals.own[riverbend.pk].entries == 0
    # Northfield's own totals count everything it recorded.
    mine = agreement_totals(pilot.pk, [northfield.pk])
    assert mine.own[northfield.pk].legal_hours == Decimal("9")
    assert mine.own[northfield.pk].legal_fees == {"USD": Decimal("2100.0000")}
    assert mine.own[northfield.pk].one_off == {"USD": Decimal("999.00")}
    # The facilitator (no party): shared only.
    assert set(visible_entries(pilot.pk, []).values_list("pk", flat=True)) == {shared.pk}
    del director


def test_recurring_costs_add_up_to_a_year(demo, pilot):
    vendor = demo["users"]["vendor"]
    _ongoing(pilot, vendor, "100", "monthly", shared=True)
    _ongoing(pilot, vendor, "50", "yearly", shared=True)
    _ongoing(pilot, vendor, "30", "one_off", shared=True)
    totals = agreement_totals(pilot.pk, []).shared
    assert totals.per_year == {"USD": Decimal("1250.00")}
    assert totals.one_off == {"USD": Decimal("30.00")}
    assert totals.money == {"USD": Decimal("1280.00")}


def test_stipends_promised_and_not_yet_paid_are_summed_apart(demo, pilot):
    director = demo["users"]["director"]
    for amount, state in (("500", "promised"), ("300", "paid")):
        cost_entry_record(
            agreement=pilot,
            by=director,
            kind=CostKind.DATA_PREPARATION,
            occurred_on=TODAY,
            values={
                "hours": "8",
                "prepared_by": "district_staff",
                "compensation": "stipend",
                "stipend_amount": amount,
                "compensation_state": state,
            },
            shared=True,
        )
    totals = agreement_totals(pilot.pk, []).shared
    assert totals.preparation_hours == Decimal("16")
    assert totals.stipends == {"USD": Decimal("800.00")}
    assert totals.stipends_unpaid == {"USD": Decimal("500.00")}


def test_totals_take_one_query(demo, pilot, django_assert_num_queries):
    for hours in ("1", "2", "3"):
        _legal(pilot, demo["users"]["counsel"], hours, shared=True)
    with django_assert_num_queries(1):  # the aggregate over the visible entries
        totals = agreement_totals(pilot.pk, [demo["orgs"]["riverbend-usd"].pk])
    assert totals.shared.legal_hours == Decimal("6")


# --- cycle time -----------------------------------------------------------------------------


def _backdate(agreement: Agreement, created: dt.datetime, steps: list[dt.datetime]) -> None:
    Agreement.objects.filter(pk=agreement.pk).update(created_at=created)
    for transition, at in zip(
        Transition.objects.filter(agreement=agreement).order_by("at", "id"), steps, strict=False
    ):
        Transition.objects.filter(pk=transition.pk).update(at=at)


def test_cycle_time_per_stage_comes_from_the_transitions(demo, pilot, django_assert_num_queries):
    start = timezone.now() - dt.timedelta(days=30)
    _backdate(pilot, start, [start + dt.timedelta(days=4)])  # draft -> negotiating
    with django_assert_num_queries(1):
        stages = agreement_cycle(pilot.pk, now=start + dt.timedelta(days=10))
    assert [(s.stage, round(s.days, 3), s.open) for s in stages] == [
        ("draft", 4.0, False),
        ("negotiating", 6.0, True),
    ]


def test_cycle_statistics_use_finished_stages_in_one_query(demo, django_assert_num_queries):
    agreements = Agreement.objects.filter(trio__collaboratory=demo["collaboratory"])
    with django_assert_num_queries(1):
        stats = cycle_stats(agreements)
    assert set(stats.overall) >= {"draft", "negotiating", "in_review", "signing", "total"}
    trio = demo["trios"]["adaptive-practice"]
    assert stats.by_trio[trio.pk]["draft"].agreements >= 2


# --- report and CSV -------------------------------------------------------------------------


def test_the_report_counts_shared_entries_only(demo, pilot, django_assert_max_num_queries):
    counsel = demo["users"]["counsel"]
    _legal(pilot, counsel, "8", shared=True, clause_key="breach-notification")
    _legal(pilot, counsel, "40", clause_key="breach-notification")  # private
    # Queries: trios, templates, agreement counts, shared totals, cycle statistics, clause
    # durations, clause hours, clause headings.
    with django_assert_max_num_queries(8):
        report = cost_report(demo["collaboratory"])
    trio = next(r for r in report.trios if r.name == "Adaptive Practice in Algebra I")
    assert trio.totals.legal_hours == Decimal("8")
    assert report.overall.totals.legal_hours == Decimal("8")
    clause = next(c for c in report.clauses if c.key == "breach-notification")
    assert clause.legal_hours == Decimal("8")
    assert clause.negotiations >= 1 and clause.still_open >= 1


def test_the_csv_neutralises_formulas(demo, pilot):
    from partners.models import Trio

    Trio.objects.filter(pk=pilot.trio_id).update(name='=HYPERLINK("http://evil")')
    _legal(pilot, demo["users"]["counsel"], "3", shared=True)
    rows = list(csv.reader(io.StringIO(report_csv(cost_report(demo["collaboratory"])))))
    assert rows[0][0] == "section"
    names = [row[1] for row in rows if row[0] == "trio"]
    assert '\'=HYPERLINK("http://evil")' in names
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)


# --- pages ----------------------------------------------------------------------------------


def test_the_costs_page_shows_own_and_shared_entries_but_not_others_private(
    client, demo, pilot, django_assert_max_num_queries
):
    _legal(pilot, demo["users"]["counsel"], "7.75", note="Northfield private note")
    _legal(pilot, demo["users"]["counsel"], "1.5", shared=True, note="Northfield shared note")
    for index in range(12):  # many rows of every party: the count below does not grow
        _ongoing(pilot, demo["users"]["vendor"], str(10 + index), shared=True)
        _legal(pilot, demo["users"]["director"], "1", shared=bool(index % 2))
    client.force_login(demo["users"]["director"])
    url = reverse("agreement-costs", args=[pilot.pk])
    # Queries: session, user, the agreement (+trio, template), members (+organisations),
    # memberships, the clauses, the entries, their totals, the agreement's stages, the
    # template's medians.
    with django_assert_max_num_queries(10):
        response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Northfield shared note" in html
    assert "Northfield private note" not in html and "7.75" not in html


def test_recording_through_the_page_and_a_field_error(client, demo, pilot):
    client.force_login(demo["users"]["director"])
    url = reverse("agreement-costs", args=[pilot.pk])
    response = client.post(
        url,
        {
            "kind": "ongoing",
            "ongoing-occurred_on": "2026-11-01",
            "ongoing-currency": "USD",
            "ongoing-category": "storage",
            "ongoing-amount": "120",
            "ongoing-period": "monthly",
            "ongoing-shared": "on",
        },
    )
    assert response.status_code == 302
    entry = CostEntry.objects.get(agreement=pilot)
    assert entry.shared and entry.organisation == demo["orgs"]["riverbend-usd"]
    response = client.post(
        url,
        {
            "kind": "data_preparation",
            "data_preparation-occurred_on": "2026-11-01",
            "data_preparation-currency": "USD",
            "data_preparation-hours": "5",
            "data_preparation-prepared_by": "district_staff",
            "data_preparation-compensation": "stipend",
        },
    )
    assert response.status_code == 400
    assert "Enter the stipend" in response.content.decode()


def test_another_partys_private_entry_answers_404_on_its_pages(client, demo, pilot):
    entry = _legal(pilot, demo["users"]["counsel"])
    client.force_login(demo["users"]["director"])
    for name in ("cost-entry-edit", "cost-entry-share", "cost-entry-delete"):
        url = reverse(name, args=[pilot.pk, entry.pk])
        assert client.post(url, {"shared": "1"}).status_code == 404
    assert CostEntry.objects.get(pk=entry.pk).shared is False


def test_outsiders_get_404_and_the_report_is_for_facilitators(client, demo, pilot):
    client.force_login(demo["users"]["lakeshore"])
    assert client.get(reverse("agreement-costs", args=[pilot.pk])).status_code == 404
    assert client.get(reverse("cost-report")).status_code == 404
    _legal(pilot, demo["users"]["counsel"], "7.75", note="Kept to Northfield")
    client.force_login(demo["users"]["facilitator"])
    response = client.get(reverse("agreement-costs", args=[pilot.pk]))
    assert response.status_code == 200
    assert "Kept to Northfield" not in response.content.decode()
    assert client.get(reverse("cost-report")).status_code == 200
    response = client.get(reverse("cost-report-csv"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")


def test_the_report_page_pins_its_queries(client, demo, pilot, django_assert_max_num_queries):
    _legal(pilot, demo["users"]["counsel"], "3", shared=True, clause_key="audits")
    client.force_login(demo["users"]["facilitator"])
    # Queries: session, user, staffed collaboratories, then the report's eight.
    with django_assert_max_num_queries(11):
        response = client.get(reverse("cost-report"))
    assert response.status_code == 200
    assert "<svg" in response.content.decode()


def test_the_trio_page_shows_shared_totals(client, demo, pilot, django_assert_max_num_queries):
    _legal(pilot, demo["users"]["counsel"], "3", shared=True)
    _legal(pilot, demo["users"]["counsel"], "43.25")
    client.force_login(demo["users"]["vendor"])
    trio = pilot.trio
    # Queries: session, user, trio (+collaboratory), members, research questions,
    # memberships, agreements, shared totals, own totals, cycle statistics.
    with django_assert_max_num_queries(10):
        response = client.get(reverse("trio-costs", args=[trio.collaboratory.slug, trio.slug]))
    html = response.content.decode()
    assert response.status_code == 200 and "43.25" not in html and "46.25" not in html
    assert "3</td>" in html  # the shared hours


def test_the_demo_records_costs_in_two_trios_once(demo):
    from agreements.costs.demo import seed_costs

    seed_costs(demo["collaboratory"])
    count = CostEntry.objects.count()
    trios = set(CostEntry.objects.values_list("agreement__trio__slug", flat=True))
    assert trios == {"adaptive-practice", "productive-struggle"}
    assert CostEntry.objects.filter(shared=False).exists()  # private ones too
    seed_costs(demo["collaboratory"])
    assert CostEntry.objects.count() == count
