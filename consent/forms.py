"""Consent forms: shape only; the rules are in the services."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from agreements.models import Agreement, DataElement
from agreements.web.fields import NormalisedCharField
from collaboratory.forms import field_of
from consent.models import ConsentForm
from consent.rules import Action, ConsentKind, GivenBy, Method, State
from partners.models import Organisation


class DateInput(forms.DateInput):
    """A native date picker; its value must be ISO whatever the locale."""

    input_type = "date"

    def __init__(self, attrs: dict[str, str] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class FormVersionField(forms.ModelChoiceField):
    """One of an agreement's consent form versions (each form instance sets the queryset),
    labelled by title, language and version, and with ``dated`` the day it took effect."""

    def __init__(self, *, label: str, dated: bool) -> None:
        super().__init__(queryset=None, label=label)
        self.dated = dated

    def label_from_instance(self, obj: ConsentForm) -> str:
        label = f"{obj.title} — {obj.language}, version {obj.version}"
        return f"{label} (from {obj.effective_date})" if self.dated else label


class RequirementForm(forms.Form):
    kind = forms.ChoiceField(
        label="Consent needed", choices=ConsentKind.choices, widget=forms.RadioSelect
    )
    legal_basis = NormalisedCharField(
        label="Legal basis for needing no consent",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when no consent is needed, e.g. “FERPA studies exception, 34 CFR "
        "99.31(a)(6); de-identified data only”.",
    )
    data_element = forms.ChoiceField(
        label="Applies to",
        required=False,
        help_text="The whole agreement, or one data element with a requirement of its own.",
    )

    def __init__(self, *args: Any, agreement: Agreement, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.elements = {str(e.pk): e for e in agreement.data_elements.all()}
        choices = [("", "The whole agreement")] + [(pk, e.name) for pk, e in self.elements.items()]
        field_of(self, "data_element", forms.ChoiceField).choices = choices

    def clean_data_element(self) -> DataElement | None:
        value = self.cleaned_data.get("data_element")
        return self.elements.get(value) if value else None


class ConsentFormTextForm(forms.Form):
    language = forms.CharField(
        max_length=20, initial="en", help_text="A language tag: en, es, vi, zh-Hant…"
    )
    title = NormalisedCharField(max_length=300)
    body = NormalisedCharField(label="Text families see", widget=forms.Textarea(attrs={"rows": 12}))
    effective_date = forms.DateField(widget=DateInput, initial=timezone.localdate)


class RecordForm(forms.Form):
    student_key = forms.CharField(
        max_length=64, help_text="The district's pseudonymous student ID. Never a name."
    )
    action = forms.ChoiceField(label="Decision", choices=Action.choices)
    given_by = forms.ChoiceField(label="Given by", choices=GivenBy.choices)
    method = forms.ChoiceField(choices=Method.choices)
    witness = NormalisedCharField(
        max_length=200,
        required=False,
        help_text="Required for a verbal decision: the staff member who witnessed it.",
    )
    decided_on = forms.DateField(
        label="Date of the decision", widget=DateInput, initial=timezone.localdate
    )
    form = FormVersionField(label="Form version the family saw", dated=True)
    school = NormalisedCharField(max_length=100, required=False)
    grade = forms.IntegerField(
        min_value=0, max_value=12, required=False, help_text="0 for kindergarten."
    )
    birth_year = forms.IntegerField(min_value=1980, max_value=2100, required=False)

    def __init__(
        self, *args: Any, forms_of_agreement: QuerySet[ConsentForm], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field_of(self, "form", FormVersionField).queryset = forms_of_agreement


class ImportUploadForm(forms.Form):
    file = forms.FileField(label="CSV file (UTF-8)")
    default_form = FormVersionField(
        label="Form version, unless the file says otherwise", dated=False
    )

    def __init__(
        self, *args: Any, forms_of_agreement: QuerySet[ConsentForm], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field_of(self, "default_form", FormVersionField).queryset = forms_of_agreement

    def clean_file(self):
        """The name must say CSV; the content (UTF-8 text, not a spreadsheet, PDF or other
        binary file; the header row) and the size are checked by consent.csv_import."""
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        save_as = (
            "In your spreadsheet program choose Save As → “CSV UTF-8 (comma delimited)” and "
            "upload the .csv file."
        )
        if name.endswith((".xlsx", ".xlsm", ".xls")):
            raise forms.ValidationError(
                f"This file looks like an Excel workbook, not a CSV file. {save_as}"
            )
        if not name.endswith((".csv", ".txt")):
            raise forms.ValidationError(f"“{upload.name}” is not a CSV file. {save_as}")
        return upload


class RosterForm(forms.Form):
    recipient = forms.ChoiceField(label="Roster for")
    as_of = forms.DateField(
        label="Students permitted on", widget=DateInput, initial=timezone.localdate
    )

    def __init__(
        self,
        *args: Any,
        recipients: Iterable[tuple[Organisation, tuple[str, ...]]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.recipients = {str(org.pk): org for org, columns in recipients if columns}
        field_of(self, "recipient", forms.ChoiceField).choices = [
            (pk, org.name) for pk, org in self.recipients.items()
        ]

    def clean_recipient(self) -> Organisation:
        return self.recipients[self.cleaned_data["recipient"]]


class StudentFilterForm(forms.Form):
    state = forms.ChoiceField(choices=[("", "Any state"), *State.choices], required=False)
    school = forms.ChoiceField(required=False)
    grade = forms.IntegerField(min_value=0, max_value=12, required=False)
    key = forms.CharField(label="Key starts with", max_length=64, required=False)

    def __init__(self, *args: Any, schools: Iterable[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field_of(self, "school", forms.ChoiceField).choices = [("", "Any school")] + [
            (s, s or "(none)") for s in schools
        ]
