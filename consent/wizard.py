"""Consent's step in the guided "new agreement" flow: which consent the data needs.

Agreements sits below consent and does not import it: consent/apps.py registers ``STEP`` in
``agreements.extensions.wizard_steps``. The wizard shows it after the match, keeps its answers
in the session and, when the draft is created, ``create`` sets the requirement in the same
transaction (a refusal undoes the whole draft).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from agreements.access import User
from agreements.extensions import WizardStep
from agreements.models import Agreement, Identifiability, SharingMode
from agreements.web.fields import NormalisedCharField
from collaboratory.forms import field_of
from consent import services
from consent.rules import ConsentKind

#: The answer that sets no requirement now (it must be set before review).
LATER = "later"


class ConsentStepForm(forms.Form):
    kind = forms.ChoiceField(widget=forms.RadioSelect, label="Consent this agreement requires")
    legal_basis = NormalisedCharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Legal basis (when no consent is needed)",
        help_text="E.g. the FERPA studies exception for de-identified data.",
    )

    def __init__(self, *args: Any, suggested: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: What the data supply and sharing mode suggest; the page says so.
        self.suggested = suggested
        field_of(self, "kind", forms.ChoiceField).choices = [
            *ConsentKind.choices,
            (LATER, "Decide later (set it before review)"),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("kind") == ConsentKind.NONE
            and not (cleaned.get("legal_basis") or "").strip()
        ):
            self.add_error("legal_basis", "Record the legal basis for needing no consent.")
        return cleaned


def suggested_kind(state: Mapping[str, Any]) -> str:
    """The requirement the wizard's answers suggest: identifiable data or operations mode
    needs parental consent and assent; pseudonymous data an opt-out; otherwise none."""
    levels = {e.get("identifiability") for e in state.get("data", {}).get("elements", [])}
    if state.get("value", {}).get("sharing_mode") == SharingMode.OPERATIONS or (
        Identifiability.IDENTIFIABLE in levels
    ):
        return ConsentKind.PARENTAL_ASSENT
    if Identifiability.PSEUDONYMOUS in levels:
        return ConsentKind.OPT_OUT
    return ConsentKind.NONE


def _form(
    data: Any, *, initial: Mapping[str, Any] | None, state: Mapping[str, Any]
) -> ConsentStepForm:
    suggested = suggested_kind(state)
    return ConsentStepForm(data, initial=initial or {"kind": suggested}, suggested=suggested)


def _summary(answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    requirement = dict(ConsentKind.choices).get(answers.get("kind", ""), "Decide later")
    if answers.get("kind") == ConsentKind.NONE and answers.get("legal_basis"):
        requirement = f"{requirement} — {answers['legal_basis']}"
    return [("Requirement", requirement)]


def _create(*, agreement: Agreement, by: User, answers: Mapping[str, Any]) -> None:
    if answers.get("kind") in (None, "", LATER):
        return
    services.consent_requirement_set(
        agreement=agreement,
        by=by,
        kind=answers["kind"],
        legal_basis=answers.get("legal_basis", ""),
    )


STEP = WizardStep(
    slug="consent",
    title="Consent",
    intro="Which consent the data needs before it may flow.",
    template="consent/wizard_step.html",
    form=_form,
    summary=_summary,
    create=_create,
)
