from __future__ import annotations

from typing import Any

from django import forms

from collaboratory.errors import DomainError
from partners.models import Organisation, OrganisationKind, Trio, TrioRole
from partners.services import validate_trio_organisations


class TrioForm(forms.ModelForm):
    """A trio with its three members chosen by role; validated by the one trio rule."""

    research = forms.ModelChoiceField(
        queryset=Organisation.objects.all(), label=TrioRole.RESEARCH.label, required=False
    )
    district = forms.ModelChoiceField(
        queryset=Organisation.objects.all(), label=TrioRole.DISTRICT.label, required=False
    )
    developer = forms.ModelChoiceField(
        queryset=Organisation.objects.all(), label=TrioRole.DEVELOPER.label, required=False
    )

    class Meta:
        model = Trio
        fields = ["collaboratory", "name", "slug", "description"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for role in TrioRole.values:
            field = self.fields[role]
            # Offer organisations of the matching kind first; any kind can still be posted
            # and gets a clear error rather than a silent "invalid choice".
            field.help_text = f"An organisation of kind “{OrganisationKind(role).label}”."
            if self.instance.pk:
                field.initial = self.instance.member(role)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        try:
            validate_trio_organisations(
                research=cleaned.get("research"),
                district=cleaned.get("district"),
                developer=cleaned.get("developer"),
            )
        except DomainError as error:
            for field, messages in error.message_dict.items():
                for message in messages:
                    self.add_error(field, message)
        return cleaned
