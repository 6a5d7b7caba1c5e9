"""What the apps above partners plug into it.

Apps depend downwards (collaboratory <- partners <- agreements <- consent): partners imports
none above it, so where a partners rule needs their answer, partners defines a list here and
they fill it in their ``AppConfig.ready`` (agreements/apps.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from partners.models import Trio

#: Each is called, inside the transaction, before a trio's members change
#: (``partners.services.trio_set_members``) and raises ``DomainError`` to refuse the change:
#: the parties of a signed agreement are part of its text (agreements).
type TrioMemberChangeGuard = Callable[[Trio], None]

trio_member_change_guards: list[TrioMemberChangeGuard] = []
