"""Per-user iCalendar feeds of agreement dates: the end (the expiry, or the day a notice of
termination takes effect: ``agreements.terms.end_date``), the reminders before it
(``lifecycle.REMINDER_DAYS``) and destruction deadlines (``agreements.terms``) — so directors
see them in their own calendar. The feed's secret address is ``partners.calendar``'s.

The file is written by hand per RFC 5545: CRLF line ends, lines folded at 75 octets (never
inside a UTF-8 character), TEXT values escaped (backslash, semicolon, comma, newline), all-day
events as DATE values, a stable UID per agreement and event so updates replace, not duplicate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse

from agreements.lifecycle import REMINDER_DAYS
from agreements.models import Agreement, Status
from agreements.selectors import agreements_visible_to
from agreements.signing import termination
from agreements.terms import destruction_deadline, destruction_deadline_sql, end_date, end_date_sql
from partners.selectors import AnyUser

#: Ended agreements stay in the feed this long after their destruction deadline.
ENDED_WINDOW_DAYS = 365
FEED_LIMIT = 500
PRODID = "-//Collaboratory//Agreement dates//EN"


# --- Events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    day: dt.date
    summary: str
    description: str
    url: str


def agreements_for_calendar(user: AnyUser, *, today: dt.date) -> list[Agreement]:
    """The user's visible agreements with dates worth a calendar entry (one query): in
    force or about to be (signing), and ended ones whose destruction deadline (agreed or
    derived) is recent."""
    return list(
        agreements_visible_to(user)
        .annotate(deadline=destruction_deadline_sql())
        .filter(
            Q(status__in=[Status.ACTIVE, Status.SIGNING])
            | Q(
                status__in=[Status.EXPIRED, Status.TERMINATED],
                deadline__gte=today - dt.timedelta(days=ENDED_WINDOW_DAYS),
            )
        )
        .select_related("trio")
        .order_by(end_date_sql(), "reference")[:FEED_LIMIT]
    )


def calendar_events(
    agreements: Iterable[Agreement], *, base_url: str, uid_domain: str
) -> list[CalendarEvent]:
    """End (expiry, or termination after notice), reminder and destruction events of
    ``agreements``."""
    events = []
    for agreement in agreements:
        url = base_url + reverse("agreement-detail", args=[agreement.pk])
        name = f"{agreement.reference} {agreement.title}"
        about = f"{agreement.title} ({agreement.reference}), partnership {agreement.trio.name}."
        if agreement.status in (Status.ACTIVE, Status.SIGNING):
            end = end_date(agreement)
            if end == agreement.expires_on:
                events.append(
                    CalendarEvent(
                        uid=f"{agreement.pk}-expiry@{uid_domain}",
                        day=end,
                        summary=f"Expires: {name}",
                        description=f"{about}\nLast day the agreement is in force; no data may "
                        "flow after it.",
                        url=url,
                    )
                )
                what = f"Expires on {end.isoformat()}: renew, or plan the end of data sharing."
                when = "to expiry"
            else:
                # Notice of termination was given: the end replaces the expiry.
                ground = termination.ground_phrase(agreement.termination_ground)
                events.append(
                    CalendarEvent(
                        uid=f"{agreement.pk}-end@{uid_domain}",
                        day=end,
                        summary=f"Ends: {name}",
                        description=f"{about}\nLast day the agreement is in force ({ground}, "
                        f"notice given on {_iso(agreement.termination_noticed_on)}; it would "
                        f"have expired on {agreement.expires_on.isoformat()}); no data may flow "
                        "after it.",
                        url=url,
                    )
                )
                what = f"Ends on {end.isoformat()} ({ground}): plan the end of data sharing."
                when = "to the end"
            for days in REMINDER_DAYS:
                events.append(
                    CalendarEvent(
                        uid=f"{agreement.pk}-remind-{days}@{uid_domain}",
                        day=end - dt.timedelta(days=days),
                        summary=f"{days} days {when}: {name}",
                        description=f"{about}\n{what}",
                        url=url,
                    )
                )
        events.append(
            CalendarEvent(
                uid=f"{agreement.pk}-destruction@{uid_domain}",
                day=destruction_deadline(agreement),
                summary=f"Destroy data by today: {name}",
                description=f"{about}\nEvery recipient must have destroyed the shared data "
                "by this day.",
                url=url,
            )
        )
    return events


def _iso(day: dt.date | None) -> str:
    return day.isoformat() if day else "?"


# --- RFC 5545 -------------------------------------------------------------------------------


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545, 3.3.11): backslash, semicolon, comma and newlines escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545, 3.1), never splitting a UTF-8 character:
    continuation lines start with one space, which counts toward their 75."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts: list[str] = []
    current = ""
    size = 0
    limit = 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, 74  # the leading space takes one octet
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def render_ics(events: Iterable[CalendarEvent], *, name: str, now: dt.datetime) -> str:
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{event.day.strftime('%Y%m%d')}",
            f"DTEND;VALUE=DATE:{(event.day + dt.timedelta(days=1)).strftime('%Y%m%d')}",
            f"SUMMARY:{escape_text(event.summary)}",
            f"DESCRIPTION:{escape_text(event.description)}",
            f"URL:{event.url}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
