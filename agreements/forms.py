"""Forms validate shape only; the services apply the rules."""

from __future__ import annotations

from django import forms

from agreements.models import Decision, Identifiability, OverrideKind, SharingMode, Status
from partners.models import ResearchQuestion


class AgreementFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    trio = forms.TypedChoiceField(coerce=int, required=False, choices=[("", "Any trio")])
    expiring_within = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label="Expiring within (days)"
    )

    def __init__(self, *args, trios=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trio"].choices = [("", "Any trio"), *[(t.pk, t.name) for t in trios]]


class AgreementCreateForm(forms.Form):
    template_version = forms.ModelChoiceField(queryset=None, label="Template version")
    title = forms.CharField(max_length=300)
    purpose = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    research_questions = forms.ModelMultipleChoiceField(
        queryset=ResearchQuestion.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    sharing_mode = forms.ChoiceField(choices=SharingMode.choices)
    start_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    term_months = forms.IntegerField(min_value=1, max_value=120, required=False)
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty to compute it from the term.",
    )
    breach_notice_hours = forms.IntegerField(min_value=1, max_value=720, initial=72)
    retention_days = forms.IntegerField(min_value=1, max_value=3650, initial=90)
    governing_state = forms.CharField(
        max_length=200,
        initial="Columbia",
        help_text="The state whose law governs, e.g. California.",
    )
    publication_review_days = forms.IntegerField(min_value=1, max_value=365, initial=30)
    data_custodian_title = forms.CharField(max_length=200, initial="Director of Research")

    def __init__(self, *args, trio, versions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template_version"].queryset = versions
        self.fields["research_questions"].queryset = trio.research_questions.all()

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("term_months") and not cleaned.get("expires_on"):
            self.add_error("term_months", "Give a term in months or an expiry date.")
        return cleaned


class DataElementForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    source = forms.ModelChoiceField(queryset=None)
    recipient = forms.ModelChoiceField(queryset=None)
    identifiability = forms.ChoiceField(choices=Identifiability.choices)
    research_questions = forms.ModelMultipleChoiceField(
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Every data element must answer at least one research question.",
    )

    def __init__(self, *args, agreement, **kwargs):
        super().__init__(*args, **kwargs)
        organisations = [m.organisation for m in agreement.trio.members.all()]
        from partners.models import Organisation

        queryset = Organisation.objects.filter(pk__in=[o.pk for o in organisations])
        self.fields["source"].queryset = queryset
        self.fields["recipient"].queryset = queryset
        self.fields["research_questions"].queryset = agreement.trio.research_questions.all()


class OverrideProposeForm(forms.Form):
    kind = forms.ChoiceField(choices=OverrideKind.choices, widget=forms.RadioSelect)
    clause_key = forms.CharField(widget=forms.HiddenInput)
    heading = forms.CharField(max_length=300, required=False, label="Heading (for a new clause)")
    new_key = forms.SlugField(max_length=80, required=False, label="Key of the new clause")
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), required=False, label="Text")
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class OverrideRespondForm(forms.Form):
    decision = forms.ChoiceField(choices=Decision.choices)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ConflictResolveForm(forms.Form):
    keep = forms.IntegerField(required=False)
    merged_body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False)
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class CommentForm(forms.Form):
    clause_key = forms.CharField(widget=forms.HiddenInput)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Comment")


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class ApproveForm(forms.Form):
    text_hash = forms.CharField(widget=forms.HiddenInput, max_length=64)


class SignForm(forms.Form):
    text_hash = forms.CharField(widget=forms.HiddenInput, max_length=64)
    typed_name = forms.CharField(max_length=200, label="Type your full name")
    intent_confirmed = forms.BooleanField(
        required=False, label="I intend my typed name to be my signature on this agreement."
    )
