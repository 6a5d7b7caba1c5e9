"""What the apps above partners plug into it.

Apps depend downwards (collaboratory <- partners <- agreements <- consent): partners imports
none above it, so where a partners rule needs their answer, partners defines a list here and
they fill it in their ``AppConfig.ready`` (agreements/apps.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from partners.models import Organisation, Trio

#: Each is called, inside the transaction, before a trio's members change
#: (``partners.services.trio_set_members``) and raises ``DomainError`` to refuse the change:
#: the parties of a signed agreement are part of its text (agreements).
type TrioMemberChangeGuard = Callable[[Trio], None]

trio_member_change_guards: list[TrioMemberChangeGuard] = []

#: Each counts the distinct student keys already recorded under ``district``'s agreements
#: that the anchored ``regex`` (``partners.student_keys.KeyFormat.regex``, read alike by
#: PostgreSQL) does not match, without reading the keys out; consent fills it. The student
#: key settings page shows the sum before a new format is saved.
type StudentKeysNotMatching = Callable[[Organisation, str], int]

student_keys_not_matching: list[StudentKeysNotMatching] = []
