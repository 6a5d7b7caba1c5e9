"""Forms validate shape only; the services apply the rules."""

from __future__ import annotations

from django import forms

from agreements.choices import TerminationGround
from agreements.models import Decision, Identifiability, OverrideKind, Status
from agreements.negotiation.coherence import LEAST_IDENTIFYING
from agreements.web.fields import MarkdownField, NormalisedCharField
from collaboratory.forms import field_of
from partners.models import Organisation, ResearchQuestion


class AgreementFilterForm(forms.Form):
    """The agreement list's filters. A person in a few partnerships picks one from a list
    (``trio``); someone who sees many (a facilitator) types part of its name
    (``partnership``) instead of scrolling a list of hundreds. Either only narrows what the
    viewer already sees: an id they cannot see matches nothing."""

    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    trio = forms.IntegerField(required=False, min_value=1)
    partnership = NormalisedCharField(required=False, max_length=200, label="Partnership")
    expiring_within = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label="Expiring within (days)"
    )

    def __init__(self, *args, trios=None, **kwargs):
        super().__init__(*args, **kwargs)
        #: (id, name) of the partnerships to choose from, or None: type a name instead.
        self.trio_choices = trios


class DataElementForm(forms.Form):
    name = NormalisedCharField(
        max_length=200,
        error_messages={"required": "Name the data element, e.g. “Weekly mastery scores”."},
    )
    description = NormalisedCharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    # The querysets are the agreement's parties and questions, set per form.
    source = forms.ModelChoiceField(
        queryset=Organisation.objects.none(),
        error_messages={"required": "Choose the party the data comes from."},
    )
    recipient = forms.ModelChoiceField(
        queryset=Organisation.objects.none(),
        error_messages={"required": "Choose the party that receives the data."},
    )
    # A new element starts at the least identifying level: raising it is a deliberate act.
    identifiability = forms.ChoiceField(
        choices=Identifiability.choices,
        initial=LEAST_IDENTIFYING,
        error_messages={"required": "Choose how identifiable the data is."},
    )
    research_questions = forms.ModelMultipleChoiceField(
        queryset=ResearchQuestion.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Every data element must answer at least one research question.",
    )

    def __init__(self, *args, agreement, **kwargs):
        super().__init__(*args, **kwargs)
        organisations = [m.organisation for m in agreement.trio.members.all()]
        queryset = Organisation.objects.filter(pk__in=[o.pk for o in organisations])
        field_of(self, "source", forms.ModelChoiceField).queryset = queryset
        field_of(self, "recipient", forms.ModelChoiceField).queryset = queryset
        field_of(
            self, "research_questions", forms.ModelMultipleChoiceField
        ).queryset = agreement.trio.research_questions.all()


class OverrideProposeForm(forms.Form):
    """What a party proposes for one clause. Which texts a kind needs (a heading and a text
    for a new clause, a rationale always) is the service's rule, said all at once."""

    kind = forms.ChoiceField(
        choices=OverrideKind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what you propose: replace, insert or delete."},
    )
    clause_key = forms.CharField(widget=forms.HiddenInput)
    heading = NormalisedCharField(max_length=300, required=False, label="Heading of the new clause")
    # No input on the page: the key is made from the heading. A caller may still give one
    # (the service checks it and says what is wrong).
    new_key = forms.CharField(max_length=200, required=False)
    body = MarkdownField(
        widget=forms.Textarea(attrs={"rows": 8}), required=False, label="New text of this clause"
    )
    new_body = MarkdownField(
        widget=forms.Textarea(attrs={"rows": 8}), required=False, label="Text of the new clause"
    )
    rationale = NormalisedCharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Rationale"
    )


class OverrideRespondForm(forms.Form):
    decision = forms.ChoiceField(choices=Decision.choices)
    comment = NormalisedCharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ConflictResolveForm(forms.Form):
    keep = forms.IntegerField(required=False)
    merged_body = MarkdownField(widget=forms.Textarea(attrs={"rows": 6}), required=False)
    rationale = NormalisedCharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class CommentForm(forms.Form):
    clause_key = forms.CharField(widget=forms.HiddenInput)
    body = NormalisedCharField(widget=forms.Textarea(attrs={"rows": 2}), label="Comment")


class ReasonForm(forms.Form):
    reason = NormalisedCharField(widget=forms.Textarea(attrs={"rows": 2}))


class TerminateForm(forms.Form):
    ground = forms.ChoiceField(
        choices=TerminationGround.choices,
        widget=forms.RadioSelect,
        label="Ground",
        error_messages={"required": "Choose the ground on which you end the agreement."},
    )
    reason = NormalisedCharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Reason (the other parties see it)",
        error_messages={"required": "Say why you end the agreement: the other parties read it."},
    )


class ApproveForm(forms.Form):
    text_hash = forms.CharField(widget=forms.HiddenInput, max_length=64)
    # Approving is a commitment: the page asks for it to be confirmed (no JavaScript needed).
    confirmed = forms.BooleanField(
        required=False, label="I have read this text and approve it for my organisation."
    )


class SignForm(forms.Form):
    text_hash = forms.CharField(widget=forms.HiddenInput, max_length=64)
    signer_title = NormalisedCharField(
        max_length=200,
        label="Your title",
        error_messages={
            "required": "Give your title, e.g. “Superintendent”: it goes on the record."
        },
    )
    typed_name = NormalisedCharField(max_length=200, label="Type your full name")
    intent_confirmed = forms.BooleanField(
        required=False, label="I intend my typed name to be my signature on this agreement."
    )
