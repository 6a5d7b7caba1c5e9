"""Derived terms have one definition (agreements/terms.py): the actual end is the day a
termination takes effect or else the expiry; the destruction deadline is the end plus
retention, or the agreed date when that is earlier ("within [[retention_days]] days after the
end of the Term, and in any event no later than [[destruction_date]]"), in Python and in SQL
alike, and every output states the same day — the dashboard, the agreement page, the calendar
feed, the partner API's ODRL policy and agreement detail, the PDF cover and the "expired" and
"terminated" e-mails — also for an agreement that names no destruction date."""

from __future__ import annotations

import datetime as dt

import icalendar
from django.db import connection
from django.db.models import Case, Value, When
from django.urls import reverse
from django.utils import formats, timezone

from agreements import dashboard
from agreements.documents import pdf
from agreements.models import Agreement, DocumentKind
from agreements.notifications import notify
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.terms import (
    destruction_deadline,
    destruction_deadline_sql,
    end_date,
    end_date_sql,
)
from partners.api_auth import api_token_issue

EXPIRED = "Adaptive Practice Pilot 2024"


def _signed_terms(agreement: Agreement, **fields) -> Agreement:
    """Set up an agreement that was signed with these terms: a signed text cannot change
    (issue 9), so the trigger is off for this statement only (rolled back with the test)."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE agreements_agreement DISABLE TRIGGER agreement_text_frozen")
        Agreement.objects.filter(pk=agreement.pk).update(**fields)
        cursor.execute("ALTER TABLE agreements_agreement ENABLE TRIGGER agreement_text_frozen")
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def test_the_deadline_is_the_end_plus_retention_or_the_earlier_agreed_date():
    agreement = Agreement(
        expires_on=dt.date(2027, 8, 31), retention_days=90, destruction_date=dt.date(2027, 9, 30)
    )
    assert destruction_deadline(agreement) == dt.date(2027, 9, 30)
    agreement.destruction_date = None
    assert destruction_deadline(agreement) == dt.date(2027, 11, 29)
    # An agreed date after the end of the retention period does not extend it.
    agreement.destruction_date = dt.date(2028, 1, 31)
    assert destruction_deadline(agreement) == dt.date(2027, 11, 29)
    # A termination moves the end, and the deadline with it.
    agreement.ends_on = dt.date(2027, 3, 1)
    assert end_date(agreement) == dt.date(2027, 3, 1)
    assert destruction_deadline(agreement) == dt.date(2027, 5, 30)


def test_the_sql_form_states_the_same_rule_as_the_python_one(demo):
    agreements = list(Agreement.objects.order_by("reference"))
    # Half of them without an agreed date, so both branches are compared; some ending
    # before their expiry (a termination), one with a notice that would run past it, and
    # one whose agreed date comes before the end of its retention period.
    undated = [a.pk for a in agreements[::2]]
    first, second, third = agreements[:3]
    early = third.expires_on + dt.timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE agreements_agreement DISABLE TRIGGER agreement_text_frozen")
        Agreement.objects.filter(pk__in=[*undated, third.pk]).update(
            destruction_date=Case(When(pk=third.pk, then=Value(early)), default=None)
        )
        cursor.execute("ALTER TABLE agreements_agreement ENABLE TRIGGER agreement_text_frozen")
    # The termination dates are not frozen: notice is given while an agreement is active.
    Agreement.objects.filter(pk=first.pk).update(ends_on=first.expires_on - dt.timedelta(days=100))
    Agreement.objects.filter(pk=second.pk).update(ends_on=second.expires_on + dt.timedelta(days=10))
    rows = Agreement.objects.annotate(
        deadline=destruction_deadline_sql(), end=end_date_sql()
    ).order_by("reference")
    assert any(row.destruction_date is None for row in rows)
    assert any(row.destruction_date is not None for row in rows)
    assert any(row.end != row.expires_on for row in rows)
    for row in rows:
        assert row.end == end_date(row), row.reference
        assert row.deadline == destruction_deadline(row), row.reference


def test_every_output_states_the_same_derived_deadline(client, demo):
    """The expired pilot named no destruction date: its deadline is expiry plus retention.
    Before one definition, the API announced a duty the dashboard and calendar never showed."""
    director = demo["users"]["director"]
    today = timezone.localdate()
    ended = demo["agreements"][EXPIRED]
    ended.refresh_from_db()
    # A retention that puts the derived deadline 20 days ahead: "coming up" on the dashboard.
    retention = (today + dt.timedelta(days=20) - ended.expires_on).days
    agreement = _signed_terms(ended, destruction_date=None, retention_days=retention)
    expected = agreement.expires_on + dt.timedelta(days=agreement.retention_days)
    assert agreement.destruction_date is None
    assert destruction_deadline(agreement) == expected

    # The dashboard: its selector and the page.
    items = [i for i in dashboard.coming_up(director) if i.agreement.pk == agreement.pk]
    assert [(i.kind, i.day) for i in items] == [("destruction", expected)]
    client.force_login(director)
    page = client.get(reverse("dashboard")).content.decode()
    assert f'Destroy the data by <time datetime="{expected.isoformat()}">' in page

    # The agreement page: the status line and the terms.
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert f'Destruction duties apply by <time datetime="{expected.isoformat()}">' in page
    # The Terms panel (agreements.term_sheet.key_terms, as the PDF cover).
    assert (
        '<div data-term="destruction_deadline"><dt>Destroy data by</dt>'
        f"<dd>{expected.day} {expected:%B %Y}</dd></div>" in page
    )

    # The calendar feed, as a calendar program reads it.
    client.post(reverse("calendar-feed-create"))
    token = client.get(reverse("calendar-settings")).context["feed_url"].split("/calendar/")[1]
    client.logout()
    feed = client.get(reverse("calendar-feed", args=[token.removesuffix(".ics")]))
    events = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")}
    assert events[f"{agreement.pk}-destruction@testserver"].decoded("DTSTART") == expected

    # The partner API's terms: every data element's deletion duty.
    _row, bearer = api_token_issue(organisation=demo["orgs"]["riverbend-usd"], name="terms")
    response = client.get(
        f"/api/v1/agreements/{agreement.pk}/terms", HTTP_AUTHORIZATION=f"Bearer {bearer}"
    )
    assert response.status_code == 200
    duties = [d for d in response.json()["obligation"] if d["action"] == "delete"]
    assert duties
    for duty in duties:
        assert duty["constraint"][0]["rightOperand"]["@value"] == expected.isoformat()

    # The partner API's agreement detail.
    response = client.get(
        f"/api/v1/agreements/{agreement.pk}/", HTTP_AUTHORIZATION=f"Bearer {bearer}"
    )
    assert response.status_code == 200
    assert response.json()["destruction_deadline"] == expected.isoformat()

    # The e-mails that say destruction duties start now.
    for event, context in (("expired", {}), ("terminated", {"reason": "funding ended"})):
        (notification, *_) = notify(event, agreement, **context)
        assert (
            f"destroy the shared data by {formats.date_format(expected)}." in notification.body
        ), event

    # The PDF's cover (its HTML, from the one rendering module).
    html = pdf.html_for(
        agreement,
        consolidated_text(agreement),
        DocumentKind.EXECUTED,
        generated_at=timezone.now(),
    )
    assert f'<th scope="row">Destroy data by</th><td>{expected.day} {expected:%B %Y}</td>' in html


def test_a_derived_deadline_that_passed_shows_as_overdue(demo):
    ended = demo["agreements"][EXPIRED]
    ended.refresh_from_db()
    today = timezone.localdate()
    retention = (today - dt.timedelta(days=3) - ended.expires_on).days
    agreement = _signed_terms(ended, destruction_date=None, retention_days=retention)
    (item,) = [
        i for i in dashboard.coming_up(demo["users"]["director"]) if i.agreement.pk == agreement.pk
    ]
    assert item.kind == "destruction"
    assert item.overdue and item.days_overdue == 3
