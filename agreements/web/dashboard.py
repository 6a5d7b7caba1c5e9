"""The research director's home page: what waits for them, what is coming up, the sections
other apps add (consent coverage, through ``agreements.extensions``), recent activity and
their partnerships. Reads go through ``agreements.dashboard``'s selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from agreements import dashboard as workspace
from agreements.extensions import dashboard_sections
from partners.http import AuthenticatedHttpRequest
from partners.selectors import trio_list_for_user

TRIOS_PER_PAGE = 24


@login_required
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Queries (9): session, user, trio count, one page of trios, their members (with
    # organisations), what waits for the user (with the texts and reviews of the agreements
    # whose changes their legal team may still have to review), expiry/destruction dates,
    # consent coverage (consent's section), recent activity (one UNION).
    user = request.user
    page = Paginator(trio_list_for_user(user), TRIOS_PER_PAGE).get_page(request.GET.get("page"))
    sections = [section for section in (add(user) for add in dashboard_sections) if section]
    return render(
        request,
        "agreements/dashboard.html",
        {
            "page": page,
            "trios": page.object_list,
            "waiting": workspace.waiting_for(user),
            "dates": workspace.coming_up(user),
            "sections": sections,
            "activity": workspace.recent_activity(user),
        },
    )
