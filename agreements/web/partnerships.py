"""The partnership (trio) and organisation pages: their members and people (partners'
selectors) and the agreements under them (agreements' selectors). Strangers get 404."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from agreements.dashboard import organisation_agreements, trio_agreements
from partners.selectors import (
    organisations_visible_to,
    people_of,
    trio_detail_for_user,
    trio_list_for_user,
)

AGREEMENTS_PER_PAGE = 20


@login_required
def trio_detail(request: HttpRequest, collaboratory: str, slug: str) -> HttpResponse:
    # Queries (9): session, user, trio (+collaboratory), members (+organisations), research
    # questions, the members' people, agreement count, one page of agreements (+template,
    # sealed PDF), their lifecycle steps.
    trio = get_object_or_404(
        trio_detail_for_user(request.user), collaboratory__slug=collaboratory, slug=slug
    )
    members = list(trio.members.all())
    people = people_of([m.organisation_id for m in members])
    page = Paginator(trio_agreements(request.user, trio.pk), AGREEMENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
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
        organisation_agreements(request.user, organisation.pk), AGREEMENTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "partners/organisation_detail.html",
        {
            "organisation": organisation,
            "trios": trios,
            "page": page,
            "agreements": page.object_list,
            "people": people_of([organisation.pk]).get(organisation.pk, []),
        },
    )
