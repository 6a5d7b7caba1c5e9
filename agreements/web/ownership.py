"""The ownership page of an agreement: per data element, each party's position on who owns,
controls, stewards and processes it, the conflicts between them, and the forms by which a
party states its position, agrees to differ, or confirms the wording (agreements.ownership).

One URL: GET shows the page; POST carries ``act`` (``state``, ``differ``, ``confirm``) and the
data element, calls the service, and redirects back to the element; a refused or invalid form
shows the page again, at 400, with the error beside the element's form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from agreements import lifecycle
from agreements.access import parties_in_role, roles_by_party
from agreements.models import Agreement
from agreements.ownership.rules import ElementOwnership, agreement_ownership, answer_text
from agreements.ownership.services import (
    STATING_ROLES,
    WORDING_MAX,
    ownership_agree_to_differ,
    ownership_difference_confirm,
    ownership_position_state,
)
from agreements.ownership.vocabulary import QUESTION_LABELS, QUESTIONS, Owner, Party, Steward
from agreements.selectors import agreement_detail_for_user
from collaboratory.errors import DomainError
from collaboratory.web import add_to_form
from partners.http import AuthenticatedHttpRequest
from partners.models import TrioMember

ACTS = ("state", "differ", "confirm")


def _choices(enum: Any, members: list[TrioMember]) -> list[tuple[str, str]]:
    """The vocabulary's choices, parties named as in this agreement."""
    names = {m.role: m.organisation.name for m in members}
    return [
        (value, f"{names[value]} ({label.lower()[4:]})" if value in names else label)
        for value, label in enum.choices
        if value not in Party.values or value in names
    ]


class PositionForm(forms.Form):
    """One party's answers for one data element (shape only: the service checks them)."""

    # Named for what it is (the data's owner), not "owner", which reads as a protected field.
    data_owner = forms.ChoiceField(label="Owner", widget=forms.RadioSelect)
    controller = forms.ChoiceField(label="Controller", widget=forms.RadioSelect)
    steward = forms.ChoiceField(label="Steward", widget=forms.RadioSelect)
    processors = forms.MultipleChoiceField(
        label="Processors", required=False, widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(
        label="Note (your reasons, the law you rely on)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 2000}),
    )

    def __init__(self, *args: Any, members: list[TrioMember], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["data_owner"].choices = _choices(Owner, members)  # type: ignore[attr-defined]
        self.fields["controller"].choices = _choices(Party, members)  # type: ignore[attr-defined]
        self.fields["steward"].choices = _choices(Steward, members)  # type: ignore[attr-defined]
        self.fields["processors"].choices = _choices(Party, members)  # type: ignore[attr-defined]


class DifferForm(forms.Form):
    wording = forms.CharField(
        label="What the agreement says about the difference",
        max_length=WORDING_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": WORDING_MAX}),
        help_text="Every party confirms this wording; the schedule states it with each "
        "party's position.",
    )


def _position_initial(item: ElementOwnership, organisation_id: int) -> dict[str, Any] | None:
    mine = next(
        (s.position for s in item.stands if s.member.organisation_id == organisation_id), None
    )
    if mine is None:
        return None
    return {
        "data_owner": mine.owner,
        "controller": mine.controller,
        "steward": mine.steward,
        "processors": list(mine.processors),
        "note": mine.note,
    }


def _rows(item: ElementOwnership) -> list[dict[str, Any]]:
    """Each party with its answers (in words), for the element's table."""
    members = item.members
    return [
        {
            "member": stand.member,
            "position": stand.position,
            "answers": [
                {
                    "question": q,
                    "text": answer_text(stand.position, q, members),
                    "disputed": q in item.disputed,
                }
                for q in QUESTIONS
            ]
            if stand.position is not None
            else [],
            "confirmed": stand.confirmed,
        }
        for stand in item.stands
    ]


def _page(
    request: AuthenticatedHttpRequest,
    agreement: Agreement,
    *,
    bound: tuple[int, str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    items = agreement_ownership(agreement)
    members = items[0].members if items else []
    held = roles_by_party(request.user, agreement)
    stating = parties_in_role(held, STATING_ROLES)
    editable = agreement.status in lifecycle.EDITABLE
    mine = stating[0] if stating else None
    elements = []
    for item in items:
        element_id = item.element.pk
        position_form: forms.Form | None = None
        differ_form: forms.Form | None = None
        if editable and mine is not None:
            position_form = PositionForm(
                members=members, initial=_position_initial(item, mine), prefix=f"e{element_id}"
            )
            differ_form = DifferForm(
                prefix=f"e{element_id}",
                initial={"wording": item.difference.wording} if item.difference else None,
            )
            if bound is not None and bound[0] == element_id:
                if bound[1] == "state":
                    position_form = bound[2]
                elif bound[1] == "differ":
                    differ_form = bound[2]
        confirmed_by_me = any(s.confirmed for s in item.stands if s.member.organisation_id == mine)
        # Other parties' positions the viewer's party can take with one click: not one it
        # already states, each distinct position once.
        taken = {
            s.position.answers
            for s in item.stands
            if s.position is not None and s.member.organisation_id == mine
        }
        others = []
        for stand in item.stands:
            if stand.position is not None and stand.position.answers not in taken:
                taken.add(stand.position.answers)
                others.append(stand)
        elements.append(
            {
                "item": item,
                "rows": _rows(item),
                "position_form": position_form,
                "differ_form": differ_form,
                "can_differ": item.state == "conflict",
                "can_confirm": item.difference is not None and not confirmed_by_me,
                "adopt": others if mine is not None else [],
                "error": bound is not None and bound[0] == element_id,
            }
        )
    return render(
        request,
        "agreements/ownership/page.html",
        {
            "agreement": agreement,
            "elements": elements,
            "editable": editable,
            "mine": mine,
            "questions": [QUESTION_LABELS[q] for q in QUESTIONS],
            "open_count": sum(1 for i in items if not i.settled),
        },
        status=status,
    )


@login_required
def agreement_ownership_page(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    # Queries: session, user, the agreement with its text's rows and every element's
    # positions, differences and confirmations (one), the user's memberships of its parties
    # (one). A POST adds the service's lock, reload and writes, then redirects.
    agreement = get_object_or_404(agreement_detail_for_user(request.user), pk=pk)
    if request.method != "POST":
        return _page(request, agreement)
    act = request.POST.get("act", "")
    element = next(
        (e for e in agreement.data_elements.all() if str(e.pk) == request.POST.get("element")),
        None,
    )
    if act not in ACTS or element is None:
        messages.error(request, "Choose a data element and what to do with it, then send again.")
        return _page(request, agreement, status=400)
    prefix = f"e{element.pk}"
    members = agreement_ownership(agreement)[0].members
    form: forms.Form
    if act == "state":
        form = PositionForm(request.POST, members=members, prefix=prefix)
    elif act == "differ":
        form = DifferForm(request.POST, prefix=prefix)
    else:
        form = forms.Form(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if act == "state":
                ownership_position_state(
                    element=element,
                    by=request.user,
                    owner=data["data_owner"],
                    controller=data["controller"],
                    steward=data["steward"],
                    processors=data["processors"],
                    note=data["note"],
                )
                done = f"Your position on “{element.name}” is recorded."
            elif act == "differ":
                ownership_agree_to_differ(element=element, by=request.user, wording=data["wording"])
                done = "Your wording is proposed; the other parties confirm it."
            else:
                live = next(
                    (
                        d
                        for d in element.ownership_differences.all()
                        if str(d.pk) == request.POST.get("difference")
                    ),
                    None,
                )
                if live is None:
                    raise DomainError(
                        "This wording was replaced or voided; read the current one and confirm "
                        "that."
                    )
                ownership_difference_confirm(difference=live, by=request.user)
                done = "You confirmed the wording agreeing to differ."
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(request, done)
            url = reverse("agreement-ownership", args=[agreement.pk])
            return redirect(f"{url}#ownership-{element.pk}")
    if act == "confirm":
        for message in form.non_field_errors():
            messages.error(request, str(message))
    return _page(request, agreement, bound=(element.pk, act, form), status=400)
