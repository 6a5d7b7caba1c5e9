"""The fill-ins page: every blank of the agreement's text with what it asks, filled in or marked
not applicable by the parties' people (agreements.negotiation.fillins)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from agreements import lifecycle
from agreements.access import acting_parties
from agreements.negotiation.fillins import agreement_fillins_update
from agreements.selectors import agreement_detail_for_user, consolidated_text
from agreements.text.document.blanks import (
    CHECKED,
    CHOICE_TEXT,
    MAX_LENGTH,
    MAX_REASON_LENGTH,
    UNCHECKED,
    FillIn,
    State,
)
from agreements.text.document.model import BlankKind
from collaboratory.errors import DomainError
from collaboratory.web import add_to_form
from partners.http import AuthenticatedHttpRequest

HELP = {
    BlankKind.TEXT: "Text; line breaks are kept.",
    BlankKind.NAME: "A person's or organisation's name, on one line.",
    BlankKind.TITLE: "A job title, on one line.",
    BlankKind.DATE: "A date; the text writes it out (June 30, 2027).",
    BlankKind.CHOICE: "A check box: ticked reads [X], left unticked reads [ ].",
}


def _value_field(fillin: FillIn) -> forms.Field:
    label = fillin.prompt or ("Check box" if fillin.kind is BlankKind.CHOICE else "Fill in")
    label = label[:1].upper() + label[1:]  # "[date]" asks for a "Date"
    options: dict[str, Any] = {
        "label": label,
        "required": False,
        "show_hidden_initial": True,  # changed_data compares with what the page showed
        "help_text": HELP.get(fillin.kind, ""),
    }
    if fillin.kind is BlankKind.CHOICE:
        choices = [
            ("", "Not decided yet"),
            (CHECKED, f"Ticked {CHOICE_TEXT[CHECKED]}"),
            (UNCHECKED, f"Left unticked {CHOICE_TEXT[UNCHECKED]}"),
        ]
        return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **options)
    limit = {"maxlength": MAX_LENGTH[fillin.kind]}
    widget: forms.Widget
    if fillin.kind is BlankKind.DATE:
        widget = forms.DateInput(attrs={"type": "date"})
    elif fillin.kind is BlankKind.TEXT:
        widget = forms.Textarea(attrs={"rows": 3, **limit})
    else:
        widget = forms.TextInput(attrs={"autocomplete": "off", **limit})
    return forms.CharField(widget=widget, **options)


class FillInsForm(forms.Form):
    """One group per blank the parties fill in: a value of the blank's kind, or "not
    applicable" with a reason. Shape only: the service checks the values. Only the blanks
    whose fields changed from what the page showed are sent, so saving does not undo what
    someone else wrote meanwhile in another blank."""

    def __init__(self, *args: Any, fillins: Sequence[FillIn], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fillins = [f for f in fillins if f.state != State.AT_SIGNING]
        for fillin in self.fillins:
            self.fields[fillin.id] = _value_field(fillin)
            self.fields[f"{fillin.id}.na"] = forms.BooleanField(
                label="Not applicable", required=False, show_hidden_initial=True
            )
            self.fields[f"{fillin.id}.reason"] = forms.CharField(
                label="Why it does not apply",
                required=False,
                show_hidden_initial=True,
                widget=forms.Textarea(attrs={"rows": 2, "maxlength": MAX_REASON_LENGTH}),
            )
            self.initial[fillin.id] = fillin.value
            self.initial[f"{fillin.id}.na"] = fillin.state == State.NOT_APPLICABLE
            self.initial[f"{fillin.id}.reason"] = fillin.reason

    def rows(self) -> list[dict[str, Any]]:
        """Each blank with its three fields, for the template."""
        return [
            {
                "fillin": fillin,
                "value": self[fillin.id],
                "na": self[f"{fillin.id}.na"],
                "reason": self[f"{fillin.id}.reason"],
            }
            for fillin in self.fillins
        ]

    def changes(self) -> tuple[dict[str, str], dict[str, str]]:
        """``(values, not_applicable)`` for the blanks changed on the page."""
        changed = set(self.changed_data)
        values: dict[str, str] = {}
        not_applicable: dict[str, str] = {}
        for fillin in self.fillins:
            names = {fillin.id, f"{fillin.id}.na", f"{fillin.id}.reason"}
            if not changed & names:
                continue
            value = self.cleaned_data[fillin.id] or ""
            if self.cleaned_data[f"{fillin.id}.na"]:
                not_applicable[fillin.id] = self.cleaned_data[f"{fillin.id}.reason"] or ""
                if value:
                    values[fillin.id] = value  # both: the service says which to choose
            else:
                values[fillin.id] = value
        return values, not_applicable


@login_required
def agreement_fillins(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    # Queries: session, user, the agreement with its text's rows (one), the user's
    # memberships of its parties; a save adds the service's lock, reload and writes.
    agreement = get_object_or_404(agreement_detail_for_user(request.user), pk=pk)
    text = consolidated_text(agreement)
    form = FillInsForm(request.POST or None, fillins=text.fillins)
    if form.is_bound and form.is_valid():
        values, not_applicable = form.changes()
        try:
            agreement_fillins_update(
                agreement=agreement,
                by=request.user,
                values=values,
                not_applicable=not_applicable,
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(request, "Fill-ins saved.")
            return redirect("agreement-fillins", agreement.pk)
    editable = agreement.status in lifecycle.EDITABLE and bool(
        acting_parties(request.user, agreement)
    )
    return render(
        request,
        "agreements/fillins.html",
        {
            "agreement": agreement,
            "text": text,
            "form": form,
            "rows": form.rows(),
            "editable": editable,
            "signature_lines": [f for f in text.fillins if f.state == State.AT_SIGNING],
        },
    )
