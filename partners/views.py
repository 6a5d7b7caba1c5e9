"""The research director's workspace: the dashboard, partnership and organisation pages, and
the calendar feed. Reads go through the selectors (strangers get 404), writes through
services, and every action ends with a flash message."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from partners import calendar
from partners import dashboard as workspace
from partners.models import CalendarFeed
from partners.selectors import (
    organisations_visible_to,
    trio_detail_for_user,
    trio_list_for_user,
)

TRIOS_PER_PAGE = 24
AGREEMENTS_PER_PAGE = 20
CALENDAR_TOKEN_SESSION_KEY = "calendar-feed-token-once"  # noqa: S105 - a key name


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    # Queries (9): session, user, trio count, one page of trios, their members (with
    # organisations), what waits for the user, expiry/destruction dates, consent coverage,
    # recent activity (one UNION).
    page = Paginator(trio_list_for_user(request.user), TRIOS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "partners/dashboard.html",
        {
            "page": page,
            "trios": page.object_list,
            "waiting": workspace.waiting_for(request.user),
            "dates": workspace.coming_up(request.user),
            "consent_rows": workspace.consent_coverage(request.user),
            "activity": workspace.recent_activity(request.user),
        },
    )


@login_required
def trio_detail(request: HttpRequest, collaboratory: str, slug: str) -> HttpResponse:
    # Queries (9): session, user, trio (+collaboratory), members (+organisations), research
    # questions, the members' people, agreement count, one page of agreements (+template,
    # sealed PDF), their lifecycle steps.
    trio = get_object_or_404(
        trio_detail_for_user(request.user), collaboratory__slug=collaboratory, slug=slug
    )
    members = list(trio.members.all())
    people = workspace.people_of([m.organisation_id for m in members])
    page = Paginator(
        workspace.trio_agreements(request.user, trio.pk), AGREEMENTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "partners/trio_detail.html",
        {
            "trio": trio,
            "member_rows": [(m, people.get(m.organisation_id, [])) for m in members],
            "page": page,
            "agreements": page.object_list,
        },
    )


@login_required
def organisation_detail(request: HttpRequest, slug: str) -> HttpResponse:
    # Queries (8): session, user, the organisation, its visible trios, their members, the
    # agreement count, one page of agreements (+trio), the organisation's people.
    organisation = get_object_or_404(organisations_visible_to(request.user), slug=slug)
    trios = list(trio_list_for_user(request.user).filter(members__organisation=organisation))
    page = Paginator(
        workspace.organisation_agreements(request.user, organisation.pk), AGREEMENTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "partners/organisation_detail.html",
        {
            "organisation": organisation,
            "trios": trios,
            "page": page,
            "agreements": page.object_list,
            "people": workspace.people_of([organisation.pk]).get(organisation.pk, []),
        },
    )


# --- Calendar feed ----------------------------------------------------------------------------


def _feed_url(request: HttpRequest, token: str) -> str:
    path = reverse("calendar-feed", args=[token])
    base = (getattr(settings, "SITE_URL", "") or "").rstrip("/")
    return f"{base}{path}" if base else request.build_absolute_uri(path)


@login_required
def calendar_settings(request: HttpRequest) -> HttpResponse:
    # Queries: session, user, the user's feed.
    feed = CalendarFeed.objects.filter(user=request.user).first()
    token = request.session.pop(CALENDAR_TOKEN_SESSION_KEY, None)
    return render(
        request,
        "partners/calendar.html",
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
def calendar_feed_create(request: HttpRequest) -> HttpResponse:
    existed = CalendarFeed.objects.filter(user=request.user).exists()
    _feed, token = calendar.calendar_feed_issue(user=request.user)
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
def calendar_feed_revoke(request: HttpRequest) -> HttpResponse:
    if calendar.calendar_feed_revoke(user=request.user):
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
    feed = calendar.calendar_feed_for_token(token)
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
