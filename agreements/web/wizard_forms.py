"""Forms of the guided "new agreement" flow (agreements/web/wizard.py); consent's step has
its form in consent/wizard.py.

They check shape and the guidance of each practitioner step; the services apply the rules
again when the draft is created, so nothing here is the only guard.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from agreements.models import Identifiability, SharingMode
from agreements.negotiation.coherence import LEAST_IDENTIFYING, mismatches
from agreements.text.placeholders import PLACEHOLDERS, validate_value
from agreements.web.fields import NormalisedCharField
from collaboratory.forms import field_of

#: Placeholders a person fills in; the others come from the agreement's fields and parties.
FREE_PLACEHOLDERS = ("governing_state", "publication_review_days", "data_custodian_title")


class NeedForm(forms.Form):
    title = NormalisedCharField(
        max_length=300,
        help_text="A short name the partners will recognise, e.g. “Algebra I practice study "
        "2026-27”.",
    )
    need = NormalisedCharField(
        label="The purpose: what will the partnership use the data for?",
        widget=forms.Textarea(attrs={"rows": 4}),
        min_length=20,
        help_text="These exact words become the agreement's Purpose clause, which limits what "
        "the data may be used for. Say what will be studied and why it needs the data; keep "
        "hopes, measures and gains for the project summary.",
    )
    research_questions = forms.MultipleChoiceField(
        label="Research questions this agreement serves",
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Every data element must answer at least one of them.",
    )
    new_question = NormalisedCharField(
        label="Add a research question (optional)",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=1000,
    )
    goals = NormalisedCharField(
        label="What does the partnership hope to achieve? (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
        help_text="E.g. “help teachers decide how much practice to assign”.",
    )
    success = NormalisedCharField(
        label="How will you know it worked?",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="The measure of success, e.g. “a difference of at least 0.1 SD in unit "
        "assessment scores”.",
    )

    #: The answers that go to the non-binding project summary, not the agreement's text.
    summary_fields = ("goals", "success")

    def __init__(self, *args, questions=(), **kwargs):
        super().__init__(*args, **kwargs)
        field_of(self, "research_questions", forms.MultipleChoiceField).choices = [
            (str(q.pk), q.text) for q in questions
        ]

    def clean(self):
        cleaned = super().clean() or {}
        if (
            not cleaned.get("research_questions")
            and not (cleaned.get("new_question") or "").strip()
        ):
            self.add_error(
                "research_questions",
                "Choose at least one research question or add one: data is collected only to "
                "answer a question.",
            )
        return cleaned


class DataElementStepForm(forms.Form):
    name = NormalisedCharField(max_length=200, label="Data element")
    description = NormalisedCharField(max_length=2000, required=False, label="Details")
    source = forms.ChoiceField(label="From")
    recipient = forms.ChoiceField(label="To")
    identifiability = forms.ChoiceField(
        choices=Identifiability.choices,
        initial=LEAST_IDENTIFYING,
    )
    research_questions = forms.MultipleChoiceField(
        label="Answers", widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args, parties=(), questions=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *[(str(o.pk), o.name) for o in parties]]
        field_of(self, "source", forms.ChoiceField).choices = choices
        field_of(self, "recipient", forms.ChoiceField).choices = choices
        field_of(self, "research_questions", forms.MultipleChoiceField).choices = list(questions)

    def has_changed(self):
        # A level alone describes no element: a row with nothing else filled in stays an
        # untouched extra row, whatever level it was left at (or none, without a browser).
        return any(name != "identifiability" for name in self.changed_data)

    def clean(self):
        cleaned = super().clean() or {}
        if cleaned.get("source") and cleaned.get("source") == cleaned.get("recipient"):
            self.add_error("recipient", "The recipient must differ from the source.")
        if cleaned.get("name") and not cleaned.get("research_questions"):
            self.add_error(
                "research_questions",
                "Tie it to at least one research question, or leave it out.",
            )
        return cleaned


class BaseDataElementFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE", False)]
        if not kept:
            raise ValidationError("List at least one data element the partnership needs.")


DataElementFormSet = forms.formset_factory(
    DataElementStepForm, formset=BaseDataElementFormSet, extra=1, can_delete=True
)


class ValueForm(forms.Form):
    sharing_mode = forms.ChoiceField(
        choices=SharingMode.choices,
        widget=forms.RadioSelect,
        label="How will the data be shared?",
    )
    benefits = NormalisedCharField(
        label="What does each partner gain? (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
        help_text="E.g. the district gets a school-level report; the developer learns which "
        "practice patterns help.",
    )

    #: The answers that go to the non-binding project summary, not the agreement's text.
    summary_fields = ("benefits",)

    def __init__(self, *args, elements=(), **kwargs):
        """``elements``: the data supply's (name, identifiability) pairs."""
        super().__init__(*args, **kwargs)
        self.elements = list(elements)

    def clean_sharing_mode(self):
        mode = self.cleaned_data["sharing_mode"]
        blockers = mismatches(mode, self.elements)
        if blockers:
            raise ValidationError(
                [
                    *blockers,
                    "Such data needs operations mode, with its consent, security and breach "
                    "clauses; or make those elements de-identified or aggregate in step 2.",
                ]
            )
        return mode


class MatchForm(forms.Form):
    template_version = forms.ChoiceField(label="Standard agreement (template version)")
    start_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    term_months = forms.IntegerField(
        min_value=1, max_value=120, required=False, label="Term (months)"
    )
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        label="…or an expiry date",
        help_text="Leave empty to compute it from the term.",
    )
    breach_notice_hours = forms.IntegerField(
        min_value=1, max_value=720, initial=72, label="Breach notice window (hours)"
    )
    retention_days = forms.IntegerField(
        min_value=1,
        max_value=3650,
        initial=90,
        label="Retention after the term (days)",
        help_text="The destruction deadline is the expiry date plus this many days.",
    )

    def __init__(self, *args, versions=(), **kwargs):
        super().__init__(*args, **kwargs)
        field_of(self, "template_version", forms.ChoiceField).choices = [
            (str(v.pk), f"{v.template.name}, version {v.number}") for v in versions
        ]
        for name in FREE_PLACEHOLDERS:
            spec = PLACEHOLDERS[name]
            self.fields[name] = NormalisedCharField(
                label=spec.label, help_text=spec.help_text, max_length=spec.max_length or 200
            )

    def clean(self):
        cleaned = super().clean() or {}
        if not cleaned.get("term_months") and not cleaned.get("expires_on"):
            self.add_error("term_months", "Give a term in months or an expiry date.")
        start, expires = cleaned.get("start_date"), cleaned.get("expires_on")
        if start and expires and expires <= start:
            self.add_error("expires_on", "The agreement must expire after it starts.")
        for name in FREE_PLACEHOLDERS:
            if cleaned.get(name):
                try:
                    validate_value(name, cleaned[name])
                except ValidationError as error:
                    self.add_error(name, error)
        return cleaned
