"""Forms of the account pages (two-factor authentication): shape only."""

from __future__ import annotations

from django import forms


class CodeForm(forms.Form):
    code = forms.CharField(
        label="6-digit code",
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autocapitalize": "off",
                "spellcheck": "false",
                "size": "8",
            }
        ),
        help_text="The code your authenticator app shows now for Collaboratory.",
    )


class VerifyForm(CodeForm):
    """The session check: a code from the app, or one of the backup codes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].label = "6-digit code or backup code"
        self.fields["code"].widget.attrs["inputmode"] = "text"
        self.fields["code"].help_text = (
            "The code your authenticator app shows now for Collaboratory. Lost your phone? "
            "Enter one of your backup codes (like abcd-efgh) instead."
        )


class EmailCodeForm(forms.Form):
    """The code we e-mailed, before a first set-up (partners/two_factor.py)."""

    code = forms.CharField(
        label="Code from the e-mail",
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autocapitalize": "off",
                "spellcheck": "false",
                "size": "8",
            }
        ),
        help_text="6 digits, from the e-mail “Your code to set up two-factor authentication”.",
    )
