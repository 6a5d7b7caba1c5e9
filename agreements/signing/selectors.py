"""Reads for signing: the title a signatory last signed with, how a signer authenticated
in words (the agreement page, the audit certificate)."""

from __future__ import annotations

import datetime as dt

from agreements.access import User
from agreements.choices import AuthMethod
from agreements.models import Signature
from agreements.text.placeholders import MONTH_NAMES


def last_signer_title(user: User) -> str:
    """The title ``user`` gave when they last signed anything ("" if never): the signing
    form starts from it, since a superintendent usually stays one between agreements."""
    return (
        Signature.objects.filter(user=user)
        .exclude(signer_title="")
        .order_by("-signed_at", "-pk")
        .values_list("signer_title", flat=True)
        .first()
        or ""
    )


def _utc_moment(moment: dt.datetime) -> str:
    at = moment.astimezone(dt.UTC)
    return f"{at.day} {MONTH_NAMES[at.month - 1][:3]} {at.year} {at:%H:%M} UTC"


def authentication_text(signature: Signature) -> str:
    """How the signer proved who they were, for the record: "password and authenticator app,
    verified 3 Dec 2026 13:30 UTC" (or "password and backup code, …", "password only").
    Signatures made before this was recorded say so."""
    if not signature.auth_method:
        return "not recorded"
    return authentication_phrase(signature.auth_method, signature.authenticated_at)


def authentication_phrase(method: str, at: dt.datetime | None) -> str:
    """``method`` (an ``AuthMethod``) and when its second factor passed, in words."""
    label = AuthMethod(method).label
    text = label[0].lower() + label[1:]
    if at is not None and method != AuthMethod.PASSWORD:
        text += f", verified {_utc_moment(at)}"
    return text
