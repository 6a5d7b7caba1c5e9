"""The research director's home page: what waits for them, what is coming up, the sections
other apps add (consent coverage, through ``agreements.extensions``), recent activity and
their partnerships. Reads go through ``agreements.dashboard``'s selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from agreements import dashboard as workspace
from agreements.extensions import dashboard_sections
from collaboratory.answers import kept_page
from partners.http import AuthenticatedHttpRequest

TRIOS_PER_PAGE = 24


@login_required
@kept_page
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Queries (11): session, user, one page of trios (with their members and the number of
    # all), the user's memberships, what waits for them (+1: the texts and reviews of the
    # agreements whose changes their legal team may still have to review), expiry and
    # destruction dates, research approvals missing or expiring (agreements.approvals'
    # section), destruction duties overdue or due soon (agreements.destruction's
    # section), consent coverage (consent's section), recent activity.
    user = request.user
    page = workspace.partnerships_page(user, request.GET.get("page"), per_page=TRIOS_PER_PAGE)
    sections = [section for section in (add(user) for add in dashboard_sections) if section]
    return render(
        request,
        "agreements/dashboard.html",
        {
            "page": page,
            "trios": workspace.partnership_cards(page.object_list),
            "waiting": workspace.waiting_for(user),
            "dates": workspace.coming_up(user),
            "sections": sections,
            "activity": workspace.recent_activity(user),
        },
    )
