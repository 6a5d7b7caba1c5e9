from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from partners.selectors import trio_detail_for_user, trio_list_for_user

TRIOS_PER_PAGE = 24


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    # Queries: session, user, count, one page of trios, their members (with organisations).
    page = Paginator(trio_list_for_user(request.user), TRIOS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "partners/dashboard.html", {"page": page, "trios": page.object_list})


@login_required
def trio_detail(request: HttpRequest, collaboratory: str, slug: str) -> HttpResponse:
    trio = get_object_or_404(
        trio_detail_for_user(request.user), collaboratory__slug=collaboratory, slug=slug
    )
    return render(request, "partners/trio_detail.html", {"trio": trio})
