"""What a destruction duty's state is, from its deadline and certificate: plain functions.

- ``certified``: the receiving party certified the destruction (whatever the date).
- ``overdue``: not certified and the deadline (``agreements.terms.destruction_deadline``) is
  past: the day after the deadline.
- ``due_soon``: not certified, the agreement has ended or the deadline is at most
  ``DUE_SOON_DAYS`` away.
- ``pending``: not certified, the agreement still in force and the deadline further away.

Reminders go to the receiving party ``REMINDER_DAYS`` days before the deadline, once per
threshold; the day after the deadline it is flagged overdue once (notification and webhook).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agreements.models import Agreement

#: Days before the deadline on which the receiving party is reminded.
REMINDER_DAYS = (30, 7, 1)
#: A duty whose deadline is at most this many days away is "due soon".
DUE_SOON_DAYS = max(REMINDER_DAYS)


class DutyState(StrEnum):
    PENDING = "pending"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    CERTIFIED = "certified"

    @property
    def label(self) -> str:
        return {
            "pending": "Pending",
            "due_soon": "Due soon",
            "overdue": "Overdue",
            "certified": "Certified",
        }[self.value]


def duty_state(*, certified: bool, deadline: dt.date, today: dt.date) -> DutyState:
    """The state of one duty on ``today``."""
    if certified:
        return DutyState.CERTIFIED
    if deadline < today:
        return DutyState.OVERDUE
    if (deadline - today).days <= DUE_SOON_DAYS:
        return DutyState.DUE_SOON
    return DutyState.PENDING


def shared_from(agreement: Agreement) -> dt.date:
    """The first day data could have been shared under ``agreement``: its effective date (no
    data flows under it before). A destruction cannot be dated earlier."""
    return agreement.start_date
