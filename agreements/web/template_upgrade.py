"""Moving an agreement to a newer template version: the facilitator's confirmation page,
listing what will become proposals, and the move itself (``negotiation.upgrade``).

Only the collaboratory's facilitators see this page; anyone else, party or stranger, gets 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from agreements.models import OPEN_OVERRIDE_STATUSES, Agreement, Clause, TemplateVersion
from agreements.negotiation import upgrade
from agreements.review.selectors import agreement_for_comparison, newer_versions
from agreements.selectors import consolidated_text
from collaboratory.errors import DomainError
from collaboratory.web import flash_error
from partners.http import AuthenticatedHttpRequest


def _facilitated(request: HttpRequest, pk) -> Agreement:
    agreement = get_object_or_404(agreement_for_comparison(request.user), pk=pk)
    if not upgrade.is_facilitator(request.user, agreement):
        raise Http404("Only the collaboratory's facilitators move agreements between versions.")
    return agreement


def _target(
    agreement: Agreement, wanted: str
) -> tuple[list[TemplateVersion], TemplateVersion | None]:
    candidates = list(newer_versions(agreement.template_version))
    target = next((v for v in candidates if str(v.pk) == wanted), None)
    return candidates, target or (candidates[0] if candidates else None)


def move_refusal(user, agreement: Agreement, target: TemplateVersion | None) -> str:
    """Why the preview page cannot offer a facilitator the move ("" for anyone else, and when
    it can): the agreement's status, or its earlier move."""
    if target is None or not _offered_to(user, agreement):
        return ""
    return upgrade.refusal(agreement, target)


def may_move(user, agreement: Agreement, target: TemplateVersion | None) -> bool:
    """Whether the preview page offers ``user`` the move to ``target`` (facilitators only,
    while the agreement can move)."""
    return (
        target is not None
        and _offered_to(user, agreement)
        and not upgrade.refusal(agreement, target)
    )


def _offered_to(user, agreement: Agreement) -> bool:
    """Whether the preview offers ``user`` the move: a facilitator of the agreement's
    collaboratory. Facilitators are staff (the navigation's Templates and Deviations follow
    the same flag), so the parties' preview asks the database nothing more."""
    if not (user.is_staff or user.is_superuser):
        return False
    cache = f"_facilitates_{agreement.trio.collaboratory_id}"
    if not hasattr(user, cache):
        setattr(user, cache, upgrade.is_facilitator(user, agreement))
    return bool(getattr(user, cache))


@login_required
def agreement_template_upgrade(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    # Queries: session, user, the agreement with its text's prefetches, the facilitator check,
    # the newer versions, the earlier move, the target's clauses (and the used keys' text).
    agreement = _facilitated(request, pk)
    wanted = request.POST.get("version", "") if request.method == "POST" else ""
    candidates, target = _target(agreement, wanted or request.GET.get("version", ""))
    if request.method == "POST":
        if target is None or (wanted and str(target.pk) != wanted):
            messages.error(request, "Choose a newer published version of the template.")
            return redirect(reverse("agreement-compare-upgrade", args=[agreement.pk]))
        try:
            moved = upgrade.agreement_template_upgrade(
                agreement=agreement, by=request.user, version=target
            )
        except DomainError as error:
            flash_error(request, error)
            return redirect(
                reverse("agreement-template-upgrade", args=[agreement.pk]) + f"?version={target.pk}"
            )
        count = moved.proposals.count()
        messages.success(
            request,
            f"{agreement.reference} is moving to {target}: {count} proposals are waiting for "
            "the parties' answers. The agreement keeps its text until they accept them.",
        )
        return redirect(reverse("agreement-compare", args=[agreement.pk]) + "?changes=pending")
    context: dict = {"agreement": agreement, "candidates": candidates, "target": target}
    refused = upgrade.refusal(agreement, target)
    context["refused"] = refused
    if target is not None and not refused:
        changes, problems = upgrade.version_changes(
            list(agreement.template_version.clauses.all()),
            list(Clause.objects.filter(version=target).order_by("order")),
        )
        changed_by_parties = _changed_by_parties(agreement)
        text = consolidated_text(agreement)
        context.update(
            {
                "changes": [
                    (
                        change,
                        change.describe(_title(text.clause(change.clause_key))),
                        _title(text.clause(change.clause_key)),
                        changed_by_parties.get(change.clause_key, [])
                        if change.kind != "insert"
                        else [],
                    )
                    for change in changes
                ],
                "problems": problems,
            }
        )
    return render(request, "agreements/upgrade_confirm.html", context)


def _title(clause) -> str:
    """A clause as the text names it: "9. Data Minimisation" ("" when it is not there)."""
    if clause is None:
        return ""
    return f"{clause.number} {clause.heading}".strip()


def _changed_by_parties(agreement: Agreement) -> dict[str, list]:
    """The parties' open proposals (pending or accepted) by the clause they change."""
    found: dict[str, list] = {}
    for override in agreement.overrides.all():
        if override.kind != "insert" and override.status in OPEN_OVERRIDE_STATUSES:
            found.setdefault(override.clause_key, []).append(override)
    return found
