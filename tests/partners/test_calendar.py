"""The per-user iCalendar feed: a secret, revocable address; RFC 5545 output that a real
parser reads; only the user's visible agreements."""

import datetime as dt
import hashlib

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from agreements import calendar
from partners.models import CalendarFeed

ACTIVE = "Productive Struggle Classroom Study"
SIGNING = "Open Curriculum Implementation Data Agreement"
LAKESHORE = "Lakeshore Fluency Pathways Data Agreement"


def _make_feed(client, user) -> str:
    client.force_login(user)
    response = client.post(reverse("calendar-feed-create"), follow=True)
    assert response.status_code == 200
    url = response.context["feed_url"]
    assert url and url.endswith(".ics")
    return url.split("/calendar/", 1)[1].removesuffix(".ics")


def _events(content: bytes) -> dict[str, icalendar.Event]:
    parsed = icalendar.Calendar.from_ical(content)
    return {str(e["UID"]): e for e in parsed.walk("VEVENT")}


def test_the_address_is_shown_once_and_only_its_digest_is_stored(client, demo):
    director = demo["users"]["director"]
    token = _make_feed(client, director)
    feed = CalendarFeed.objects.get(user=director)
    assert feed.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in feed.prefix or len(feed.prefix) < len(token)
    again = client.get(reverse("calendar-settings")).content.decode()
    assert token not in again
    assert feed.prefix in again


def test_feed_parses_and_holds_expiry_reminders_and_destruction(client, demo):
    token = _make_feed(client, demo["users"]["director"])
    client.logout()  # calendar programs do not log in
    response = client.get(reverse("calendar-feed", args=[token]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    events = _events(response.content)
    active = demo["agreements"][ACTIVE]
    active.refresh_from_db()
    expiry = events[f"{active.pk}-expiry@testserver"]
    assert expiry.decoded("DTSTART") == active.expires_on  # an all-day DATE
    assert "Expires" in str(expiry["SUMMARY"])
    for days in (90, 30, 7):
        reminder = events[f"{active.pk}-remind-{days}@testserver"]
        assert reminder.decoded("DTSTART") == active.expires_on - dt.timedelta(days=days)
    assert f"{active.pk}-destruction@testserver" in events
    assert all(LAKESHORE not in str(e["SUMMARY"]) for e in events.values())


def test_output_follows_rfc_5545_lines(client, demo):
    token = _make_feed(client, demo["users"]["director"])
    body = client.get(reverse("calendar-feed", args=[token])).content
    lines = body.split(b"\r\n")
    assert body.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in lines)
    assert b"\n" not in body.replace(b"\r\n", b"")


def test_text_values_are_escaped_and_long_lines_folded_on_character_boundaries():
    assert calendar.escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    line = "SUMMARY:" + "Données sûres, " * 12
    folded = calendar.fold(line)
    parts = folded.split("\r\n ")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert "".join(parts) == line  # no character lost or split
    event = calendar.CalendarEvent(
        uid="x@y",
        day=dt.date(2027, 1, 31),
        summary="Sign; now, please\\",
        description="a\nb",
        url="https://example.org/a",
    )
    ics = calendar.render_ics([event], name="Test, calendar", now=timezone.now())
    parsed = icalendar.Calendar.from_ical(ics)
    (only,) = parsed.walk("VEVENT")
    assert str(only["SUMMARY"]) == "Sign; now, please\\"
    assert str(only["DESCRIPTION"]) == "a\nb"
    assert only.decoded("DTEND") == dt.date(2027, 2, 1)


def test_a_new_address_stops_the_old_one_and_revoking_stops_it_too(client, demo):
    director = demo["users"]["director"]
    first = _make_feed(client, director)
    second = _make_feed(client, director)
    assert client.get(reverse("calendar-feed", args=[first])).status_code == 404
    assert client.get(reverse("calendar-feed", args=[second])).status_code == 200
    response = client.post(reverse("calendar-feed-revoke"), follow=True)
    assert "revoked" in response.content.decode()
    assert client.get(reverse("calendar-feed", args=[second])).status_code == 404
    assert not CalendarFeed.objects.filter(user=director).exists()


def test_an_inactive_users_feed_answers_404(client, demo):
    director = demo["users"]["director"]
    token = _make_feed(client, director)
    director.is_active = False
    director.save(update_fields=["is_active"])
    assert client.get(reverse("calendar-feed", args=[token])).status_code == 404


@pytest.mark.parametrize("token", ["cal_nope", "nope", "cal_" + "x" * 43])
def test_unknown_tokens_answer_404(client, demo, token):
    assert client.get(reverse("calendar-feed", args=[token])).status_code == 404


def test_outsider_feed_is_empty_and_settings_need_login(client, demo, outsider):
    assert client.get(reverse("calendar-settings")).status_code == 302
    token = _make_feed(client, outsider)
    events = _events(client.get(reverse("calendar-feed", args=[token])).content)
    assert events == {}


def test_feed_query_count(client, demo, django_assert_max_num_queries):
    token = _make_feed(client, demo["users"]["facilitator"])
    client.logout()
    # the feed and its user, the last-used stamp, the agreements (+trio).
    with django_assert_max_num_queries(3):
        assert client.get(reverse("calendar-feed", args=[token])).status_code == 200


def test_settings_page_query_count(client, demo, django_assert_max_num_queries):
    client.force_login(demo["users"]["director"])
    # session, user, the user's feed.
    with django_assert_max_num_queries(3):
        assert client.get(reverse("calendar-settings")).status_code == 200
