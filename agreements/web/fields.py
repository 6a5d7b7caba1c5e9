"""Form fields for text people type: every form (pages, wizard, admin, consent) declares its
free-text fields with these, so what reaches the services is already in the one normal form
of :mod:`agreements.text.entry` (LF line endings, NFC, no trailing spaces), whatever the
browser sent. Shape only, like every form: the services decide what the text may say.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django import forms

from agreements.text.entry import normalise_plain_text, normalise_text


class NormalisedCharField(forms.CharField):
    """Text shown as written (a heading, a rationale, a comment, a name): Django's cleaning
    (ends stripped), then :func:`~agreements.text.entry.normalise_plain_text`."""

    normalise: ClassVar[Callable[[str], str]] = staticmethod(normalise_plain_text)

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return type(self).normalise(value) if isinstance(value, str) else value


class MarkdownField(NormalisedCharField):
    """Text read as Markdown (a clause's text): :func:`~agreements.text.entry.normalise_text`,
    which keeps a hard line break typed as two trailing spaces as a backslash break."""

    normalise: ClassVar[Callable[[str], str]] = staticmethod(normalise_text)
