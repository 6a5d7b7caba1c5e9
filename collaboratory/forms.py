"""Typed access to a form instance's fields.

A form's ``fields`` are per-instance copies of the fields its class declares, typed only as
``Field``; forms that fill in choices or a queryset per request reach them through
``field_of``, which checks the declared class once and hands back a field of that type.
"""

from __future__ import annotations

from django import forms


def field_of[F: forms.Field](form: forms.BaseForm, name: str, kind: type[F]) -> F:
    """``form.fields[name]`` as a ``kind`` (the class the form declares for it)."""
    field = form.fields[name]
    if not isinstance(field, kind):
        raise TypeError(
            f"{type(form).__name__}.{name} is a {type(field).__name__}, not a {kind.__name__}."
        )
    return field
