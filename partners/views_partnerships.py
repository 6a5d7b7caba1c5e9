"""Partnerships pages (issue 19 item 5): a collaboratory's facilitators create and edit the
partner organisations and the trios they form, in the product instead of the Django admin.

Only facilitators (the staff of a collaboratory, as on the template workspace) reach these
pages; everyone else gets 404. Every write goes through ``partners.services``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from collaboratory.errors import DomainError
from collaboratory.web import add_to_form
from partners import services
from partners.forms_partnerships import OrganisationForm, TrioForm
from partners.http import AuthenticatedHttpRequest
from partners.models import Collaboratory, Organisation, Trio, TrioRole
from partners.selectors import (
    partnership_organisations,
    partnership_trios,
    staffed_collaboratories,
)

NOT_FOR_YOU = "The Partnerships pages are for the collaboratory's facilitators."


def _facilitated(request: AuthenticatedHttpRequest) -> QuerySet[Collaboratory]:
    collaboratories = staffed_collaboratories(request.user).order_by("name")
    if not collaboratories.exists():
        raise Http404(NOT_FOR_YOU)
    return collaboratories


def _list_url(anchor: str) -> str:
    return reverse("partnership-list") + f"#{anchor}"


@login_required
def partnership_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Queries: session, user, the facilitated collaboratories (exists), the trios with their
    # collaboratory and agreement count, their members with organisation, the organisations.
    _facilitated(request)
    trios = list(partnership_trios(request.user))
    organisations = list(partnership_organisations(request.user).order_by("name"))
    trios_of: dict[int, list[Trio]] = {}
    for trio in trios:
        for member in trio.members.all():
            trios_of.setdefault(member.organisation_id, []).append(trio)
    return render(
        request,
        "partners/partnerships/list.html",
        {
            "trios": trios,
            "organisations": [(o, trios_of.get(o.pk, [])) for o in organisations],
            "roles": TrioRole.values,
        },
    )


@login_required
def organisation_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    _facilitated(request)
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = services.organisation_create(
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                slug=form.cleaned_data["slug"] or None,
                by=request.user,
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(
                request,
                f"{organisation.name} added. It can now join a trio as a "
                f"{organisation.get_kind_display().lower()}.",
            )
            return redirect(_list_url(f"organisation-{organisation.pk}"))
    return render(
        request,
        "partners/partnerships/organisation_form.html",
        {"form": form, "organisation": None},
    )


@login_required
def organisation_edit(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    _facilitated(request)
    organisation = get_object_or_404(partnership_organisations(request.user), slug=slug)
    initial = {"name": organisation.name, "kind": organisation.kind, "slug": organisation.slug}
    form = OrganisationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = services.organisation_update(
                organisation=organisation,
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                slug=form.cleaned_data["slug"],
                by=request.user,
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(request, f"{organisation.name} saved.")
            return redirect(_list_url(f"organisation-{organisation.pk}"))
    return render(
        request,
        "partners/partnerships/organisation_form.html",
        {"form": form, "organisation": organisation},
    )


def _member_choices(request: AuthenticatedHttpRequest, trio: Trio | None) -> QuerySet[Organisation]:
    """The organisations a trio's members are chosen from: those the facilitator manages,
    and the trio's current members (which may also belong to another collaboratory)."""
    managed = Q(id__in=partnership_organisations(request.user).values("id"))
    if trio is None:
        return Organisation.objects.filter(managed)
    return Organisation.objects.filter(managed | Q(trio_memberships__trio=trio)).distinct()


@login_required
def trio_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    collaboratories = _facilitated(request)
    form = TrioForm(
        request.POST or None,
        collaboratories=collaboratories,
        organisations=_member_choices(request, None),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            trio = services.trio_create(
                collaboratory=data["collaboratory"],
                name=data["name"],
                slug=data["slug"] or None,
                description=data["description"],
                research=data["research"],
                district=data["district"],
                developer=data["developer"],
                by=request.user,
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(
                request, f"Trio “{trio.name}” created. Its members can now start an agreement."
            )
            return redirect(_list_url(f"trio-{trio.pk}"))
    return render(request, "partners/partnerships/trio_form.html", {"form": form, "trio": None})


@login_required
def trio_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _facilitated(request)
    trio = get_object_or_404(partnership_trios(request.user), pk=pk)
    initial = {
        "name": trio.name,
        "slug": trio.slug,
        "description": trio.description,
        **{m.role: m.organisation_id for m in trio.members.all()},
    }
    form = TrioForm(
        request.POST or None,
        initial=initial,
        collaboratories=None,
        organisations=_member_choices(request, trio),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            trio = services.trio_update(
                trio=trio,
                name=data["name"],
                slug=data["slug"],
                description=data["description"],
                research=data["research"],
                district=data["district"],
                developer=data["developer"],
                by=request.user,
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(request, f"Trio “{trio.name}” saved.")
            return redirect(_list_url(f"trio-{trio.pk}"))
    return render(request, "partners/partnerships/trio_form.html", {"form": form, "trio": trio})
