"""Forms of the Partnerships pages (partners/views_partnerships.py)."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet

from partners.models import Collaboratory, Organisation, TrioRole

SLUG_HELP = "Lower-case letters, digits and hyphens; used in addresses. Leave empty to derive it."


class OrganisationForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        label="Name",
        error_messages={"required": "Give the organisation its name."},
    )
    kind = forms.ChoiceField(
        choices=TrioRole.choices,
        label="Kind",
        help_text="The role it can take in a trio.",
        error_messages={
            "invalid_choice": "Choose a research partner, a school district or a "
            "curriculum developer."
        },
    )
    slug = forms.SlugField(max_length=80, required=False, label="Short name", help_text=SLUG_HELP)


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Organisation) -> str:
        return obj.name


class TrioForm(forms.Form):
    collaboratory: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=Collaboratory.objects.none(), empty_label=None, label="Collaboratory"
    )
    name = forms.CharField(
        max_length=200, label="Name", error_messages={"required": "Give the trio its name."}
    )
    slug = forms.SlugField(max_length=80, required=False, label="Short name", help_text=SLUG_HELP)
    research = MemberChoiceField(
        queryset=Organisation.objects.none(),
        label="Research partner",
        empty_label="Choose a research partner…",
        error_messages={"required": "Choose the trio's research partner."},
    )
    district = MemberChoiceField(
        queryset=Organisation.objects.none(),
        label="School district",
        empty_label="Choose a school district…",
        error_messages={"required": "Choose the trio's school district."},
    )
    developer = MemberChoiceField(
        queryset=Organisation.objects.none(),
        label="Curriculum developer",
        empty_label="Choose a curriculum developer…",
        error_messages={"required": "Choose the trio's curriculum developer."},
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Description"
    )

    def __init__(
        self,
        *args,
        collaboratories: QuerySet[Collaboratory] | None,
        organisations: QuerySet[Organisation],
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        if collaboratories is None:  # editing: a trio stays in its collaboratory
            del self.fields["collaboratory"]
        else:
            collaboratory = self.fields["collaboratory"]
            assert isinstance(collaboratory, forms.ModelChoiceField)
            collaboratory.queryset = collaboratories
        listed = list(organisations.order_by("name"))
        for role in TrioRole.values:
            field = self.fields[role]
            assert isinstance(field, MemberChoiceField)
            # Any partner organisation the facilitator manages is accepted, so a member of the
            # wrong kind (a stale page, a hand-made request) meets the service's message that
            # says what to fix; each list offers only the organisations of its kind.
            field.queryset = organisations
            field.widget.choices = [("", field.empty_label)] + [
                (o.pk, o.name) for o in listed if o.kind == role
            ]
