"""The audit trail of one agreement, for the people who may see the agreement."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from agreements.selectors import agreements_visible_to
from audit.selectors import audit_trail_of

ENTRIES_PER_PAGE = 50


@login_required
@require_GET
def agreement_audit_trail(request: HttpRequest, pk: UUID) -> HttpResponse:
    # Queries: session, user, the agreement (through the access rule), the entry count, one
    # page of entries.
    agreement = get_object_or_404(agreements_visible_to(request.user), pk=pk)
    page = Paginator(audit_trail_of(agreement), ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "agreements/audit_trail.html",
        {"agreement": agreement, "page": page, "entries": page.object_list},
    )
