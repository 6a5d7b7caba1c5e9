"""Agreement pages. Every lookup goes through the selectors (strangers get 404); every
write through a service; DomainError becomes a flash message or form error."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from agreements.access import parties_in_role, roles_by_party
from agreements.history import agreement_history
from agreements.models import Agreement, ClauseOverride, OverrideStatus
from agreements.negotiation import proposals
from agreements.negotiation import services as negotiation
from agreements.negotiation.actions import available_actions
from agreements.review import services as review
from agreements.selectors import (
    COMMENTS,
    agreement_detail_for_user,
    agreement_list_for_user,
    agreements_visible_to,
    conflicts,
    consolidated_text,
    live_approvals,
    parties,
)
from agreements.signing import services as signing
from agreements.terms import destruction_deadline
from agreements.web import forms
from collaboratory.errors import DomainError
from collaboratory.json_prefetch import with_json_prefetch
from collaboratory.web import add_to_form, client_ip, flash_error, user_agent
from partners.http import AuthenticatedHttpRequest
from partners.models import Role
from partners.selectors import trios_visible_to
from partners.two_factor import WHY_SIGN, needs_two_factor

AGREEMENTS_PER_PAGE = 25


@login_required
def agreement_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Queries: session, user, trios for the filter, count, page, trio members.
    trios = list(trios_visible_to(request.user).order_by("name").only("id", "name"))
    form = forms.AgreementFilterForm(request.GET or None, trios=trios)
    filters = form.cleaned_data if form.is_valid() else {}
    queryset = agreement_list_for_user(
        request.user,
        status=filters.get("status") or None,
        trio_id=filters.get("trio") or None,
        expiring_within_days=filters.get("expiring_within"),
    )
    page = Paginator(queryset, AGREEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "agreements/agreement_list.html",
        {"form": form, "page": page, "agreements": page.object_list, "query": query.urlencode()},
    )


def _detail_context(request: AuthenticatedHttpRequest, agreement: Agreement) -> dict:
    text = consolidated_text(agreement)
    held = roles_by_party(request.user, agreement)
    mine = set(parties_in_role(held))
    blockers = review.review_blockers(agreement) if agreement.status == "negotiating" else []
    overrides_by_key: dict[str, list[ClauseOverride]] = {}
    for override in agreement.overrides.all():
        overrides_by_key.setdefault(override.clause_key, []).append(override)
    approvals = {a.organisation_id: a for a in live_approvals(agreement)}
    signatures = {s.organisation_id: s for s in agreement.signatures.all()}
    party_rows = [
        {
            "member": member,
            "approval": approvals.get(member.organisation_id),
            "signature": signatures.get(member.organisation_id),
            "mine": member.organisation_id in mine,
        }
        for member in parties(agreement)
    ]
    comments_by_key: dict[str, list] = {}
    for comment in agreement.comments.all():
        comments_by_key.setdefault(comment.clause_key, []).append(comment)
    clauses = [
        {
            "clause": clause,
            "overrides": overrides_by_key.get(clause.key, [])
            + [o for o in agreement.overrides.all() if o.new_key == clause.key],
            "comments": comments_by_key.get(clause.key, []),
        }
        for clause in text.clauses
    ]
    return {
        "agreement": agreement,
        "text": text,
        "clauses": clauses,
        "party_rows": party_rows,
        "conflicts": conflicts(agreement),
        "blockers": blockers,
        "actions": available_actions(agreement, held, blockers),
        "my_orgs": mine,
        "pending": [o for o in agreement.overrides.all() if o.status == OverrideStatus.PROPOSED],
        "propose_form": forms.OverrideProposeForm(),
        "reason_form": forms.ReasonForm(),
        "destruction_deadline": destruction_deadline(agreement),
    }


@login_required
def agreement_detail(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    agreement = get_object_or_404(
        with_json_prefetch(agreement_detail_for_user(request.user), COMMENTS), pk=pk
    )
    return render(request, "agreements/agreement_detail.html", _detail_context(request, agreement))


def _act(
    request: AuthenticatedHttpRequest,
    pk,
    action: Callable[[Agreement], object],
    success: str,
    anchor: str = "",
) -> HttpResponseRedirect:
    agreement = get_object_or_404(agreement_detail_for_user(request.user), pk=pk)
    try:
        action(agreement)
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(request, success)
    return redirect(reverse("agreement-detail", args=[agreement.pk]) + anchor)


@login_required
@require_POST
def agreement_open_negotiation(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda a: negotiation.agreement_open_negotiation(agreement=a, by=request.user),
        "Negotiation is open: the parties' legal teams can now propose changes.",
    )


@login_required
@require_POST
def override_propose(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    form = forms.OverrideProposeForm(request.POST)
    if not form.is_valid():
        agreement = get_object_or_404(agreement_detail_for_user(request.user), pk=pk)
        for field, errors in form.errors.items():
            label = form[field].label if field in form.fields else ""
            for error in errors:  # an ErrorList yields each message as text
                messages.error(request, f"{label}: {error}" if label else str(error))
        return redirect("agreement-detail", agreement.pk)
    data = form.cleaned_data
    return _act(
        request,
        pk,
        lambda a: proposals.override_propose(
            agreement=a,
            by=request.user,
            kind=data["kind"],
            clause_key=data["clause_key"],
            body=data["body"],
            heading=data["heading"],
            new_key=data["new_key"],
            rationale=data["rationale"],
        ),
        "Your proposal is recorded; the other parties have been notified.",
        anchor=f"#clause-{data['clause_key']}",
    )


def _override_action(request: AuthenticatedHttpRequest, pk, override_id: int, act, success: str):
    agreement = get_object_or_404(agreement_detail_for_user(request.user), pk=pk)
    override = get_object_or_404(ClauseOverride.objects.filter(agreement=agreement), pk=override_id)
    try:
        act(override)
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(request, success)
    return redirect(
        reverse("agreement-detail", args=[agreement.pk]) + f"#clause-{override.clause_key}"
    )


@login_required
@require_POST
def override_respond(request: AuthenticatedHttpRequest, pk, override_id: int) -> HttpResponse:
    form = forms.OverrideRespondForm(request.POST)
    decision = form.cleaned_data["decision"] if form.is_valid() else ""
    comment = form.cleaned_data.get("comment", "") if form.is_valid() else ""
    return _override_action(
        request,
        pk,
        override_id,
        lambda o: proposals.override_respond(
            override=o, by=request.user, decision=decision, comment=comment
        ),
        "Your answer is recorded." if decision != "accept" else "You accepted the proposal.",
    )


@login_required
@require_POST
def override_withdraw(request: AuthenticatedHttpRequest, pk, override_id: int) -> HttpResponse:
    return _override_action(
        request,
        pk,
        override_id,
        lambda o: proposals.override_withdraw(override=o, by=request.user),
        "Your proposal is withdrawn.",
    )


@login_required
@require_POST
def conflict_resolve(request: AuthenticatedHttpRequest, pk, clause_key: str) -> HttpResponse:
    form = forms.ConflictResolveForm(request.POST)
    form.is_valid()
    data = form.cleaned_data

    def resolve(agreement: Agreement):
        keep = None
        if data.get("keep"):
            keep = get_object_or_404(
                ClauseOverride.objects.filter(agreement=agreement), pk=data["keep"]
            )
        return proposals.conflict_resolve(
            agreement=agreement,
            clause_key=clause_key,
            by=request.user,
            keep=keep,
            merged_body=data.get("merged_body") or "",
            rationale=data.get("rationale") or "",
        )

    return _act(request, pk, resolve, "The conflict is resolved.", anchor=f"#clause-{clause_key}")


@login_required
@require_POST
def clause_comment(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    form = forms.CommentForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    return _act(
        request,
        pk,
        lambda a: proposals.clause_comment_add(
            agreement=a,
            by=request.user,
            clause_key=data.get("clause_key", ""),
            body=data.get("body", ""),
        ),
        "Comment added.",
        anchor=f"#clause-{data.get('clause_key', '')}",
    )


@login_required
@require_POST
def agreement_submit_for_review(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda a: review.agreement_submit_for_review(agreement=a, by=request.user),
        "The text is frozen for legal review; every party's legal team has been asked to approve.",
    )


@login_required
@require_POST
def agreement_reopen(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    form = forms.ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _act(
        request,
        pk,
        lambda a: review.agreement_reopen(agreement=a, by=request.user, reason=reason),
        "Negotiation is reopened; earlier approvals are void.",
    )


@login_required
@require_POST
def agreement_approve(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    form = forms.ApproveForm(request.POST)
    text_hash = form.cleaned_data["text_hash"] if form.is_valid() else ""
    return _act(
        request,
        pk,
        lambda a: review.agreement_approve(
            agreement=a,
            by=request.user,
            text_hash=text_hash,
            ip_address=client_ip(request),
            user_agent=user_agent(request),
        ),
        "You approved this text for your organisation.",
    )


@login_required
@needs_two_factor(
    why=WHY_SIGN,
    # Strangers keep their 404: only someone who can see the agreement is asked for a code.
    applies=lambda request, pk: agreements_visible_to(request.user).filter(pk=pk).exists(),
)
def agreement_sign(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    agreement = get_object_or_404(agreement_detail_for_user(request.user), pk=pk)
    text = consolidated_text(agreement)
    form = forms.SignForm(request.POST or None, initial={"text_hash": text.sha256})
    if request.method == "POST" and form.is_valid():
        try:
            signing.agreement_sign(
                agreement=agreement,
                by=request.user,
                typed_name=form.cleaned_data["typed_name"],
                intent_confirmed=form.cleaned_data["intent_confirmed"],
                text_hash=form.cleaned_data["text_hash"],
                ip_address=client_ip(request),
                user_agent=user_agent(request),
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(request, "You signed the agreement for your organisation.")
            return redirect("agreement-detail", agreement.pk)
    held = roles_by_party(request.user, agreement)
    # The party the service signs for: the first the user is a signatory of.
    signs_for = next(iter(parties_in_role(held, Role.SIGNATORY)), None)
    organisation = next(
        (m.organisation for m in parties(agreement) if m.organisation_id == signs_for), None
    )
    full_name = request.user.get_full_name() or request.user.get_username()
    return render(
        request,
        "agreements/agreement_sign.html",
        {
            "agreement": agreement,
            "text": text,
            "form": form,
            "actions": available_actions(agreement, held, []),
            "statement": signing.intent_statement(
                name=full_name,
                organisation=organisation.name if organisation else "your organisation",
                text_hash=text.sha256,
            ),
            "full_name": full_name,
        },
    )


@login_required
@require_POST
def agreement_terminate(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    form = forms.ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _act(
        request,
        pk,
        lambda a: signing.agreement_terminate(agreement=a, by=request.user, reason=reason),
        "The agreement is terminated; destruction duties start now.",
    )


@login_required
def agreement_history_view(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    agreement = get_object_or_404(agreement_detail_for_user(request.user), pk=pk)
    return render(
        request,
        "agreements/agreement_history.html",
        {"agreement": agreement, "events": agreement_history(agreement)},
    )


@login_required
def data_element_add(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    agreement = get_object_or_404(agreement_detail_for_user(request.user), pk=pk)
    form = forms.DataElementForm(request.POST or None, agreement=agreement)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            negotiation.data_element_add(
                agreement=agreement,
                by=request.user,
                name=data["name"],
                description=data["description"],
                source=data["source"],
                recipient=data["recipient"],
                identifiability=data["identifiability"],
                research_questions=data["research_questions"],
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(request, f"Data element “{data['name']}” added.")
            return redirect(reverse("agreement-detail", args=[agreement.pk]) + "#schedule")
    return render(
        request, "agreements/data_element_form.html", {"agreement": agreement, "form": form}
    )
