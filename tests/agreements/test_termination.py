"""Termination as the contract says (issue 16, item 5).

The demo standard's Termination clause: (a) any party for convenience on
[[termination_notice_days]] days' notice, (b) the District with immediate effect, (c) any
party for a breach not cured within [[cure_days]] days of notice. Notice keeps the agreement
active until its ``ends_on`` (its last day, like ``expires_on``); the daily job terminates it
once that day has passed. The destruction deadline runs from the actual end. Every output (the
agreement page, lists, dashboard, API detail and ODRL terms, calendar, reminders, e-mails,
webhooks) carries the new dates.
"""

from __future__ import annotations

import datetime as dt
import html

import icalendar
import pytest
from django.urls import reverse
from django.utils import formats, timezone

from agreements import dashboard, events
from agreements.calendar import calendar_events
from agreements.choices import TerminationGround
from agreements.models import Agreement, Notification, ReminderSent, Status, Transition
from agreements.partner_hooks import agreement_resource
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.signing import termination
from agreements.signing.services import (
    agreement_terminate,
    agreement_termination_withdraw,
    agreements_expire_due,
    agreements_send_expiry_reminders,
    agreements_terminate_due,
)
from agreements.signing.termination import stated_periods, termination_choices
from agreements.terms import destruction_deadline, end_date
from audit.models import AuditEntry
from collaboratory.errors import DomainError
from partners.api_auth import api_token_issue

ACTIVE = "Productive Struggle Classroom Study"
#: The demo standard states both periods.
BOTH = frozenset({"termination_notice_days", "cure_days"})


def _day(value: dt.date) -> str:
    return formats.date_format(value, "j F Y")


def _fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


@pytest.fixture
def active(demo) -> Agreement:
    """The demo's active agreement: 60 days' notice for convenience, 30 days to cure a
    breach, an agreed destruction date 90 days after its expiry (which is more than 60 days
    away)."""
    agreement = _fresh(demo["agreements"][ACTIVE])
    assert agreement.status == Status.ACTIVE
    assert (agreement.termination_notice_days, agreement.cure_days) == (60, 30)
    assert agreement.expires_on > timezone.localdate() + dt.timedelta(days=60)
    return agreement


@pytest.fixture
def emitted(monkeypatch) -> list[tuple[str, dict]]:
    """Domain events as subscribers (the webhooks) receive them after commit."""
    received: list[tuple[str, dict]] = []
    for name in events.EVENTS:
        monkeypatch.setitem(
            events._subscribers,
            name,
            [*events._subscribers[name], lambda e, p: received.append((e, p))],
        )
    return received


# --- The rule: the actual end and the destruction deadline ---------------------------------


def test_the_end_is_the_termination_day_before_the_expiry_else_the_expiry():
    agreement = Agreement(expires_on=dt.date(2027, 8, 31), retention_days=90)
    assert end_date(agreement) == dt.date(2027, 8, 31)
    agreement.ends_on = dt.date(2027, 3, 1)
    assert end_date(agreement) == dt.date(2027, 3, 1)
    agreement.ends_on = dt.date(2027, 9, 30)  # never after the expiry
    assert end_date(agreement) == dt.date(2027, 8, 31)


def test_the_deadline_runs_from_the_actual_end_unless_the_agreed_date_is_earlier():
    agreement = Agreement(
        expires_on=dt.date(2027, 8, 31),
        retention_days=90,
        destruction_date=dt.date(2027, 11, 29),
        ends_on=dt.date(2027, 3, 1),
    )
    # 1 March + 90 days comes before the agreed date: the retention period decides.
    assert destruction_deadline(agreement) == dt.date(2027, 5, 30)
    # "and in any event no later than" the agreed date.
    agreement.destruction_date = dt.date(2027, 4, 1)
    assert destruction_deadline(agreement) == dt.date(2027, 4, 1)


# --- Done when: for convenience, 60 days' notice ---------------------------------------------


def test_notice_for_convenience_ends_it_60_days_out_and_moves_every_date(
    client, demo, active, emitted, django_capture_on_commit_callbacks
):
    director = demo["users"]["director"]  # Riverbend (the District): director and signatory
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        agreement_terminate(
            agreement=active,
            by=director,
            ground=TerminationGround.CONVENIENCE,
            reason="The study's funding ends this spring.",
        )
    agreement = _fresh(active)
    ends_on = today + dt.timedelta(days=60)
    deadline = ends_on + dt.timedelta(days=agreement.retention_days)
    assert agreement.status == Status.ACTIVE  # in force until then
    assert (agreement.termination_ground, agreement.termination_noticed_on, agreement.ends_on) == (
        TerminationGround.CONVENIENCE,
        today,
        ends_on,
    )
    assert end_date(agreement) == ends_on
    # The agreed date (expiry + 90) is later than the end + 90 days: the end decides.
    assert agreement.destruction_date is not None and agreement.destruction_date > deadline
    assert destruction_deadline(agreement) == deadline

    # The partner API's agreement detail.
    _row, bearer = api_token_issue(organisation=demo["orgs"]["riverbend-usd"], name="t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {bearer}"}
    detail = client.get(f"/api/v1/agreements/{agreement.pk}/", **auth).json()
    assert detail["status"] == "active"
    assert detail["ends_on"] == ends_on.isoformat()
    assert detail["expires_on"] == agreement.expires_on.isoformat()
    assert detail["termination"] == {
        "ground": "convenience",
        "noticed_on": today.isoformat(),
        "ends_on": ends_on.isoformat(),
    }
    assert detail["destruction_deadline"] == deadline.isoformat()
    # The ODRL policy: use and distribution end with the agreement; deletion by the deadline.
    policy = client.get(f"/api/v1/agreements/{agreement.pk}/terms", **auth).json()
    for permission in policy["permission"]:
        (end,) = [c for c in permission["constraint"] if c.get("operator") == "lt"]
        assert end["rightOperand"]["@value"] == ends_on.isoformat()
    duties = [d for d in policy["obligation"] if d["action"] == "delete"]
    assert duties
    assert {d["constraint"][0]["rightOperand"]["@value"] for d in duties} == {deadline.isoformat()}

    # The calendar feed, as a calendar program reads it: the end replaces the expiry.
    client.force_login(director)
    client.post(reverse("calendar-feed-create"))
    token = client.get(reverse("calendar-settings")).context["feed_url"].split("/calendar/")[1]
    feed = client.get(reverse("calendar-feed", args=[token.removesuffix(".ics")]))
    ics = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")}
    end_event = ics[f"{agreement.pk}-end@testserver"]
    assert end_event.decoded("DTSTART") == ends_on
    assert str(end_event["SUMMARY"]).startswith("Ends: ")
    assert "terminated for convenience" in str(end_event["DESCRIPTION"])
    assert f"{agreement.pk}-expiry@testserver" not in ics
    assert ics[f"{agreement.pk}-remind-30@testserver"].decoded("DTSTART") == ends_on - dt.timedelta(
        days=30
    )
    assert ics[f"{agreement.pk}-destruction@testserver"].decoded("DTSTART") == deadline

    # The dashboard: what ends soon.
    items = [i for i in dashboard.coming_up(director) if i.agreement.pk == agreement.pk]
    assert [(i.kind, i.day) for i in items] == [("end", ends_on)]
    page = client.get(reverse("dashboard")).content.decode()
    assert f'Ends <time datetime="{ends_on.isoformat()}">' in page

    # The agreement page and the lists say how it ends, and who gave notice.
    status = (
        f"Ends on {_day(ends_on)} (terminated for convenience by Riverbend Unified School "
        f"District on {_day(today)})"
    )
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert status in page
    assert f'destroy the shared data by <time datetime="{deadline.isoformat()}">' in page
    listed = f"Ends on {_day(ends_on)} (terminated for convenience on {_day(today)})"
    assert listed in client.get(reverse("agreement-list")).content.decode()
    trio = agreement.trio
    trio_page = reverse("trio-detail", args=[trio.collaboratory.slug, trio.slug])
    assert listed in client.get(trio_page).content.decode()

    # The other parties hear of it; the audit chain names the party that gave notice.
    noticed = Notification.objects.filter(agreement=agreement, event="termination_noticed")
    assert noticed.exists() and not noticed.filter(recipient=director).exists()
    body = noticed.first().body
    assert f"stays in force until {formats.date_format(ends_on)}" in body
    assert f"destroy the shared data by {formats.date_format(deadline)}" in body
    entry = AuditEntry.objects.filter(object_id=str(agreement.pk)).order_by("-seq").first()
    assert entry.organisation_id == demo["orgs"]["riverbend-usd"].pk
    assert entry.payload["ends_on"] == ends_on.isoformat()

    # Webhooks: the notice as an event, and the agreement resource with the new dates.
    assert (
        "agreement.termination_noticed",
        {
            "agreement_id": str(agreement.pk),
            "ground": "convenience",
            "noticed_on": today.isoformat(),
            "ends_on": ends_on.isoformat(),
            "destruction_deadline": deadline.isoformat(),
        },
    ) in emitted
    resource = agreement_resource(str(agreement.pk))
    assert resource is not None
    assert (resource["ends_on"], resource["destruction_deadline"]) == (
        ends_on.isoformat(),
        deadline.isoformat(),
    )

    # The daily job: in force through its last day, terminated once it has passed.
    assert agreements_terminate_due(today=ends_on) == 0
    assert _fresh(agreement).status == Status.ACTIVE
    emitted.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert agreements_terminate_due(today=ends_on + dt.timedelta(days=1)) == 1
    assert agreements_terminate_due(today=ends_on + dt.timedelta(days=1)) == 0  # safe to rerun
    agreement = _fresh(agreement)
    assert agreement.status == Status.TERMINATED
    assert destruction_deadline(agreement) == deadline
    step = Transition.objects.filter(agreement=agreement).latest("at")
    assert (step.from_status, step.to_status, step.by) == ("active", "terminated", None)
    assert step.reason == (
        "Terminated for convenience by Riverbend Unified School District on "
        f"{today.isoformat()}: its last day was {ends_on.isoformat()}."
    )
    assert Notification.objects.filter(agreement=agreement, event="terminated").exists()
    changed = [p for e, p in emitted if e == "agreement.status_changed"]
    assert [(p["from"], p["to"]) for p in changed] == [("active", "terminated")]
    # Afterwards the dashboard shows the destruction deadline, as for any ended agreement.
    after = [
        (i.kind, i.day)
        for i in dashboard.coming_up(director, today=ends_on + dt.timedelta(days=1))
        if i.agreement.pk == agreement.pk
    ]
    assert after == [("destruction", deadline)]


def test_the_expiry_job_leaves_a_notice_that_ends_on_the_expiry_day_to_termination(demo, active):
    """Both jobs run daily; termination goes first, so the ground is what the record says."""
    today = active.expires_on - dt.timedelta(days=60)
    agreement_terminate(
        agreement=active,
        by=demo["users"]["director"],
        ground=TerminationGround.CONVENIENCE,
        reason="Ending with the school year.",
        today=today,
    )
    assert _fresh(active).ends_on == active.expires_on
    after = active.expires_on + dt.timedelta(days=1)
    assert agreements_terminate_due(today=after) == 1
    assert agreements_expire_due(today=after) == 0
    assert _fresh(active).status == Status.TERMINATED


def test_a_notice_that_would_end_after_the_expiry_changes_nothing(demo, active):
    late = active.expires_on - dt.timedelta(days=10)
    with pytest.raises(DomainError) as refused:
        agreement_terminate(
            agreement=active,
            by=demo["users"]["director"],
            ground=TerminationGround.CONVENIENCE,
            reason="Too late for notice.",
            today=late,
        )
    assert refused.value.code == "ends_after_expiry"
    assert "it simply expires then" in refused.value.messages[0]
    agreement = _fresh(active)
    assert (agreement.ends_on, agreement.termination_ground) == (None, "")
    # The page says so before anyone tries.
    (convenience, *_) = termination_choices(
        agreement, today=late, acts_for_district=True, stated=BOTH
    )
    assert not convenience.available
    assert "it simply expires then" in convenience.why_not


# --- For a breach: the cure period, and withdrawing the notice -----------------------------


def test_notice_for_a_breach_ends_it_after_the_cure_period_unless_withdrawn(demo, active):
    developer = demo["users"]["quadratic"]  # Quadratic Labs' legal and signatory
    today = timezone.localdate()
    agreement_terminate(
        agreement=active,
        by=developer,
        ground=TerminationGround.BREACH,
        reason="Data shared with a subcontractor not named in the agreement.",
    )
    agreement = _fresh(active)
    cure_end = today + dt.timedelta(days=30)
    assert (agreement.status, agreement.termination_ground, agreement.ends_on) == (
        Status.ACTIVE,
        TerminationGround.BREACH,
        cure_end,
    )
    assert destruction_deadline(agreement) == cure_end + dt.timedelta(days=agreement.retention_days)

    # A later end cannot replace an earlier one.
    with pytest.raises(DomainError) as refused:
        agreement_terminate(
            agreement=agreement,
            by=demo["users"]["director"],
            ground=TerminationGround.CONVENIENCE,
            reason="We want out too.",
        )
    assert refused.value.code == "notice_pending"

    # Only the party that gave notice withdraws it: the breach was cured.
    with pytest.raises(DomainError) as refused:
        agreement_termination_withdraw(
            agreement=agreement, by=demo["users"]["director"], reason="Cured."
        )
    assert "Only the party that gave notice can withdraw it." in refused.value.messages
    agreement_termination_withdraw(
        agreement=agreement, by=developer, reason="The subcontractor destroyed the data."
    )
    agreement = _fresh(agreement)
    assert (agreement.ends_on, agreement.termination_ground) == (None, "")
    assert end_date(agreement) == agreement.expires_on
    assert agreements_terminate_due(today=cure_end + dt.timedelta(days=1)) == 0
    assert _fresh(agreement).status == Status.ACTIVE
    assert Notification.objects.filter(event="termination_withdrawn", agreement=agreement).exists()


def test_the_periods_come_from_the_text(demo, active, monkeypatch):
    """The demo text refers to both parameters. A text without [[cure_days]] lets notice of
    a breach end the agreement at once; one without [[termination_notice_days]] gives no end
    date for convenience, so that ground is not offered."""
    assert stated_periods(consolidated_text(active)) == BOTH
    today = timezone.localdate()
    no_cure = {
        c.ground: c
        for c in termination_choices(
            active, today=today, acts_for_district=False, stated={"termination_notice_days"}
        )
    }
    breach = no_cure[TerminationGround.BREACH]
    assert breach.available and breach.timing is not None
    assert breach.timing.ends_on == today
    assert breach.when == f"ends on notice, today, {_day(today)}"
    no_notice = {
        c.ground: c
        for c in termination_choices(
            active, today=today, acts_for_district=True, stated={"cure_days"}
        )
    }
    convenience = no_notice[TerminationGround.CONVENIENCE]
    assert (convenience.available, convenience.timing) == (False, None)
    assert convenience.when == "the text states no notice period"

    monkeypatch.setattr(termination, "stated_periods", lambda text: frozenset({"cure_days"}))
    with pytest.raises(DomainError) as refused:
        agreement_terminate(
            agreement=active,
            by=demo["users"]["director"],
            ground=TerminationGround.CONVENIENCE,
            reason="We want out.",
        )
    assert refused.value.message_dict["ground"] == [
        "The agreement's text gives no notice period for ending it for convenience, so no end "
        "date follows from notice."
    ]
    assert _fresh(active).ends_on is None
    monkeypatch.setattr(
        termination, "stated_periods", lambda text: frozenset({"termination_notice_days"})
    )
    agreement_terminate(
        agreement=active,
        by=demo["users"]["quadratic"],
        ground=TerminationGround.BREACH,
        reason="Data shared with a subcontractor not named in the agreement.",
    )
    agreement = _fresh(active)
    assert (agreement.status, agreement.ends_on) == (Status.TERMINATED, today)


# --- With immediate effect: the District only ------------------------------------------------


def test_only_the_district_terminates_with_immediate_effect(demo, active):
    with pytest.raises(DomainError) as refused:
        agreement_terminate(
            agreement=active,
            by=demo["users"]["quadratic"],
            ground=TerminationGround.IMMEDIATE,
            reason="Breach.",
        )
    assert "Only the District's signatory or research director" in refused.value.messages[0]
    assert _fresh(active).status == Status.ACTIVE

    today = timezone.localdate()
    agreement_terminate(
        agreement=active,
        by=demo["users"]["director"],
        ground=TerminationGround.IMMEDIATE,
        reason="A security incident exposed student records.",
    )
    agreement = _fresh(active)
    assert (agreement.status, agreement.ends_on) == (Status.TERMINATED, today)
    assert destruction_deadline(agreement) == today + dt.timedelta(days=agreement.retention_days)
    step = Transition.objects.filter(agreement=agreement).latest("at")
    assert step.reason == "A security incident exposed student records."


# --- Reminders before the actual end -----------------------------------------------------


def test_reminders_count_down_to_the_end_a_notice_set(demo, active):
    today = timezone.localdate()
    agreement_terminate(
        agreement=active,
        by=demo["users"]["director"],
        ground=TerminationGround.CONVENIENCE,
        reason="Ending early.",
    )
    ReminderSent.objects.filter(agreement=active).delete()
    assert agreements_send_expiry_reminders(today=today) == 1
    (reminder, *_) = Notification.objects.filter(agreement=active, event="ending")
    assert reminder.subject.endswith("ends in 60 days (notice of termination)")
    assert set(
        ReminderSent.objects.filter(agreement=active).values_list("days_before", flat=True)
    ) == {90}
    thirty_before = today + dt.timedelta(days=30)
    assert agreements_send_expiry_reminders(today=thirty_before) == 1
    assert Notification.objects.filter(
        agreement=active, event="ending", subject__contains="ends in 30 days"
    ).exists()


def test_calendar_reminders_of_an_agreement_without_notice_still_count_to_expiry(demo, active):
    (expiry, *reminders, _destruction) = calendar_events(
        [active], base_url="https://x", uid_domain="x"
    )
    assert (expiry.uid, expiry.day) == (f"{active.pk}-expiry@x", active.expires_on)
    assert reminders[0].day == active.expires_on - dt.timedelta(days=90)


# --- The terminate page ----------------------------------------------------------------------


def test_the_terminate_page_shows_each_ground_with_its_dates_before_confirming(
    client, demo, active, django_assert_max_num_queries
):
    today = timezone.localdate()
    client.force_login(demo["users"]["quadratic"])
    url = reverse("agreement-terminate", args=[active.pk])
    # Session, user, the agreement with its detail, the user's roles in its parties.
    with django_assert_max_num_queries(4):
        page = html.unescape(client.get(url).content.decode())
    ends = today + dt.timedelta(days=60)
    assert f"<strong>For convenience</strong> — ends 60 days after notice, on {_day(ends)}" in page
    deadline = ends + dt.timedelta(days=active.retention_days)
    assert f'<time datetime="{deadline.isoformat()}">{_day(deadline)}</time>' in page
    cure = today + dt.timedelta(days=30)
    assert f"ends 30 days after notice (the cure period), on {_day(cure)}" in page
    # Quadratic Labs is not the District: immediate termination is shown but not offered.
    assert 'value="immediate" disabled' in page
    assert "Only the District's signatory or research director can use this ground." in page

    response = client.post(url, {"ground": "convenience", "reason": "Product retired."})
    assert response.status_code == 302
    assert _fresh(active).ends_on == ends
    detail = client.get(reverse("agreement-detail", args=[active.pk])).content.decode()
    assert f"Ends on {_day(ends)} (terminated for convenience by Quadratic Labs" in detail
    assert "Withdraw the notice" in detail


def test_the_terminate_page_refuses_without_a_ground_or_a_reason(client, demo, active):
    client.force_login(demo["users"]["director"])
    url = reverse("agreement-terminate", args=[active.pk])
    page = client.post(url, {"ground": "", "reason": ""}).content.decode()
    # Each missing answer is named in plain words.
    assert "Choose the ground on which you end the agreement." in page
    assert "Say why you end the agreement: the other parties read it." in page
    assert _fresh(active).ends_on is None


def test_strangers_get_404_from_the_terminate_pages(client, demo, active, outsider):
    client.force_login(outsider)
    assert client.get(reverse("agreement-terminate", args=[active.pk])).status_code == 404
    response = client.post(
        reverse("agreement-terminate", args=[active.pk]),
        {"ground": "convenience", "reason": "x"},
    )
    assert response.status_code == 404
    response = client.post(
        reverse("agreement-termination-withdraw", args=[active.pk]), {"reason": "x"}
    )
    assert response.status_code == 404
    assert _fresh(active).ends_on is None
