"""The student key settings form: shape only (the format is checked by the service)."""

from __future__ import annotations

from django import forms


class StudentKeyFormatForm(forms.Form):
    student_key_format = forms.CharField(
        label="Format of your student keys",
        max_length=200,
        required=False,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "class": "input--mono",
                "aria-describedby": "id_student_key_format_helptext",
            }
        ),
    )
    keep_keys_not_matching = forms.BooleanField(
        required=False,
        label="Save anyway: students already recorded keep their keys; new keys must match",
    )
