"""The calendar feed: a page to make or revoke one's private address, and the iCalendar file
at that address. The address (a token) is ``partners.calendar``'s; the dates are the
agreements' (``agreements.calendar``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agreements import calendar
from partners import calendar as feeds
from partners.http import AuthenticatedHttpRequest
from partners.models import CalendarFeed

CALENDAR_TOKEN_SESSION_KEY = "calendar-feed-token-once"  # noqa: S105 - a key name


def _feed_url(request: HttpRequest, token: str) -> str:
    path = reverse("calendar-feed", args=[token])
    base = (getattr(settings, "SITE_URL", "") or "").rstrip("/")
    return f"{base}{path}" if base else request.build_absolute_uri(path)


@login_required
def calendar_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Queries: session, user, the user's feed.
    feed = CalendarFeed.objects.filter(user=request.user).first()
    token = request.session.pop(CALENDAR_TOKEN_SESSION_KEY, None)
    return render(
        request,
        "agreements/calendar.html",
        {
            "feed": feed,
            "feed_url": _feed_url(request, token) if token and feed else None,
            "webcal_url": _feed_url(request, token)
            .replace("https://", "webcal://", 1)
            .replace("http://", "webcal://", 1)
            if token and feed
            else None,
        },
    )


@login_required
@require_POST
def calendar_feed_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    existed = CalendarFeed.objects.filter(user=request.user).exists()
    _feed, token = feeds.calendar_feed_issue(user=request.user)
    # Shown once, on the next page; the database keeps only its digest.
    request.session[CALENDAR_TOKEN_SESSION_KEY] = token
    messages.success(
        request,
        "A new calendar address is ready; the old one no longer works."
        if existed
        else "Your calendar address is ready. Copy it now: it is shown only once.",
    )
    return redirect("calendar-settings")


@login_required
@require_POST
def calendar_feed_revoke(request: AuthenticatedHttpRequest) -> HttpResponse:
    if feeds.calendar_feed_revoke(user=request.user):
        messages.success(
            request, "Your calendar address is revoked: calendars using it stop updating."
        )
    else:
        messages.info(request, "You had no calendar address to revoke.")
    return redirect("calendar-settings")


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    # Queries (3 at most): the feed and its user, last-used stamp (at most hourly), the
    # agreements.
    feed = feeds.calendar_feed_for_token(token)
    if feed is None:
        raise Http404("No such calendar.")
    today = timezone.localdate()
    agreements = calendar.agreements_for_calendar(feed.user, today=today)
    base = (getattr(settings, "SITE_URL", "") or "").rstrip("/") or (
        f"{request.scheme}://{request.get_host()}"
    )
    events = calendar.calendar_events(
        agreements, base_url=base, uid_domain=request.get_host().split(":")[0] or "collaboratory"
    )
    name = feed.user.get_full_name() or feed.user.get_username()
    body = calendar.render_ics(
        events, name=f"Collaboratory: agreement dates for {name}", now=timezone.now()
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="collaboratory.ics"'
    response["Cache-Control"] = "private, max-age=900"
    response["X-Robots-Tag"] = "noindex"
    return response
