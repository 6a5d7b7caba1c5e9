"""Ending an agreement early: the terminate page (each ground of the Termination clause with
the end and destruction dates it would set, before anyone confirms) and withdrawing a notice.
The rules are ``agreements.signing.termination``'s; the writes its services'."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from agreements.access import parties_in_role, party_ids, roles_by_party
from agreements.lifecycle import FINAL
from agreements.negotiation.actions import available_actions
from agreements.selectors import agreement_detail_for_user, consolidated_text
from agreements.signing import services as signing
from agreements.signing import termination
from agreements.terms import destruction_deadline, end_date
from agreements.web import forms
from collaboratory.errors import DomainError
from collaboratory.web import add_to_form, flash_error
from partners.http import AuthenticatedHttpRequest
from partners.models import TrioRole


@login_required
def agreement_terminate(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    # Queries: session, user, the agreement with its detail (one, JSON prefetches), the
    # user's roles in its parties, the pending notice's party (only while one is pending).
    agreement = get_object_or_404(agreement_detail_for_user(request.user), pk=pk)
    held = roles_by_party(request.user, agreement)
    form = forms.TerminateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ground = form.cleaned_data["ground"]
        try:
            agreement = signing.agreement_terminate(
                agreement=agreement,
                by=request.user,
                ground=ground,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            ends = termination.day_text(end_date(agreement))
            destroy_by = termination.day_text(destruction_deadline(agreement))
            if agreement.status in FINAL:
                messages.success(
                    request,
                    "The agreement is terminated; destruction duties start now: destroy the "
                    f"shared data by {destroy_by}.",
                )
            else:
                messages.success(
                    request,
                    "Notice of termination is given; the other parties have been notified. "
                    f"The agreement stays in force until {ends}, then ends; destroy the shared "
                    f"data by {destroy_by}.",
                )
            return redirect("agreement-detail", agreement.pk)
    terminators = parties_in_role(held, termination.TERMINATORS)
    today = timezone.localdate()
    return render(
        request,
        "agreements/agreement_terminate.html",
        {
            "agreement": agreement,
            "form": form,
            "actions": available_actions(agreement, held, []),
            "choices": termination.termination_choices(
                agreement,
                today=today,
                acts_for_district=party_ids(agreement).get(TrioRole.DISTRICT) in terminators,
                stated=termination.stated_periods(consolidated_text(agreement)),
            ),
            "notice": termination.notice_status(agreement, terminators),
            "today": today,
            "destruction_deadline": destruction_deadline(agreement),
        },
    )


@login_required
@require_POST
def agreement_termination_withdraw(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    agreement = get_object_or_404(agreement_detail_for_user(request.user), pk=pk)
    form = forms.ReasonForm(request.POST)
    try:
        signing.agreement_termination_withdraw(
            agreement=agreement,
            by=request.user,
            reason=form.cleaned_data["reason"] if form.is_valid() else "",
        )
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(
            request,
            "Your notice of termination is withdrawn: the agreement runs until its expiry on "
            f"{termination.day_text(agreement.expires_on)}.",
        )
    return redirect("agreement-detail", agreement.pk)
