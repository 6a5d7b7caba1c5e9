"""A district's student key format: checking a new one against the keys already recorded,
and saving it (issue 20, item 5; the format language is ``partners.student_keys``).

**Existing keys.** A new format applies to keys written from then on. Keys already recorded
under the district's agreements stay as they are, and a student already in an agreement's
cohort keeps their key for later decisions (a family must always be able to withdraw). When
some recorded keys do not match the new format, saving is refused with their number (never
their values) until the admin confirms: the admin decides, knowing how many students keep
an old-style key.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from audit.models import AuditAction
from audit.services import record
from collaboratory.errors import DomainError
from partners import hooks
from partners.models import Organisation, OrganisationKind
from partners.selectors import User, organisations_administered_by
from partners.student_keys import FormatError, KeyFormat, parse_format


class KeysNotMatching(DomainError):
    """Recorded keys do not match the new format; saving needs the admin's confirmation."""

    def __init__(self, message: dict, *, count: int) -> None:
        super().__init__(message)
        self.count = count


@dataclass(frozen=True)
class FormatCheck:
    """A proposed format and how many recorded keys of the district it would not admit."""

    key_format: KeyFormat | None
    keys_not_matching: int


def district_administered_by(user: User, slug: str) -> Organisation | None:
    """The district ``slug`` when ``user`` administers it (the People pages' rule)."""
    return (
        organisations_administered_by(user)
        .filter(slug=slug, kind=OrganisationKind.DISTRICT)
        .first()
    )


def student_key_format_check(*, district: Organisation, text: str) -> FormatCheck:
    """Parse ``text`` (``DomainError`` on ``student_key_format`` saying what to fix) and
    count the district's recorded keys it does not match."""
    try:
        key_format = parse_format(text)
    except FormatError as error:
        raise DomainError({"student_key_format": str(error)}, code="invalid_format") from None
    if key_format is None:
        return FormatCheck(None, 0)
    regex = key_format.regex
    return FormatCheck(
        key_format, sum(count(district, regex) for count in hooks.student_keys_not_matching)
    )


@transaction.atomic
def organisation_student_key_format_set(
    *,
    organisation: Organisation,
    by: User,
    student_key_format: str,
    keep_keys_not_matching: bool = False,
) -> FormatCheck:
    """Set (or, with an empty text, clear) a district's student key format; its admins only.

    Refused when the format is invalid, or when recorded keys of the district do not match
    it and ``keep_keys_not_matching`` is not given (the error says how many; see the module
    docstring). An unchanged format is not written again. Audited with the old and new
    format and the number of keys kept that do not match.
    """
    locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if locked.kind != OrganisationKind.DISTRICT:
        raise DomainError("Only a school district sets a student key format.")
    if not organisations_administered_by(by).filter(pk=locked.pk).exists():
        raise DomainError("Only an admin of the district sets its student key format.")
    check = student_key_format_check(district=locked, text=student_key_format)
    new = check.key_format.source if check.key_format else ""
    if new == locked.student_key_format:
        return check
    if check.keys_not_matching and not keep_keys_not_matching:
        raise KeysNotMatching(
            {
                "student_key_format": (
                    f"{check.keys_not_matching:,} student key(s) already recorded in "
                    f"{locked.name}'s agreements do not match this format."
                )
            },
            count=check.keys_not_matching,
        )
    before = locked.student_key_format
    locked.student_key_format = new
    locked.full_clean()
    locked.save(update_fields=["student_key_format", "updated_at"])
    organisation.student_key_format = new
    record(
        action=AuditAction.STUDENT_KEY_FORMAT_SET,
        target=locked,
        actor=by,
        organisation_id=locked.pk,
        payload={
            "from": before,
            "to": new,
            "description": check.key_format.description if check.key_format else "",
            "keys_not_matching": check.keys_not_matching,
        },
    )
    return check


#: The demo districts' formats (the demo's consent file uses Riverbend's: RB-100001 ...).
DEMO_FORMATS = {"riverbend-usd": ("RB-######", "director")}


def seed_student_key_formats() -> None:
    """Give the demo districts their formats through the service (audited, by their admin),
    once: a format changed since in a running demo is left alone."""
    from django.contrib.auth import get_user_model

    for slug, (text, admin) in DEMO_FORMATS.items():
        district = Organisation.objects.filter(slug=slug, student_key_format="").first()
        user = get_user_model().objects.filter(username=admin).first()
        if district is not None and user is not None:
            organisation_student_key_format_set(
                organisation=district, by=user, student_key_format=text
            )
