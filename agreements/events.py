"""Domain events other parts subscribe to (webhooks, document rendering), after commit.

``emit`` is called by services inside their transaction; subscribers run only once the
transaction commits, with plain ids (never model instances), so a rolled back change emits
nothing. Subscribers register with ``subscribe`` at app start-up (AppConfig.ready).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction

log = logging.getLogger(__name__)

type Subscriber = Callable[[str, dict[str, Any]], None]

_subscribers: dict[str, list[Subscriber]] = defaultdict(list)

#: Events: agreement.status_changed {agreement_id, from, to},
#: agreement.document_ready {agreement_id, document_id, kind},
#: agreement.expiring {agreement_id, days, ends_on} (ends_on: its actual last day),
#: agreement.termination_noticed {agreement_id, ground, noticed_on, ends_on,
#: destruction_deadline}, agreement.termination_withdrawn {agreement_id, ends_on,
#: destruction_deadline}; destruction.due_soon / destruction.overdue {agreement_id,
#: organisation, days, deadline, data_elements} and destruction.certified {agreement_id,
#: organisation, data_element, method, destroyed_on} (agreements/destruction/).
EVENTS = (
    "agreement.status_changed",
    "agreement.document_ready",
    "agreement.expiring",
    "agreement.termination_noticed",
    "agreement.termination_withdrawn",
    "destruction.due_soon",
    "destruction.overdue",
    "destruction.certified",
)


def subscribe(event: str, subscriber: Subscriber) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    if subscriber not in _subscribers[event]:
        _subscribers[event].append(subscriber)


def emit(event: str, payload: dict[str, Any]) -> None:
    """Call every subscriber of ``event`` after the current transaction commits."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    for subscriber in list(_subscribers[event]):
        transaction.on_commit(_delivery(subscriber, event, payload), robust=True)


def _delivery(subscriber: Subscriber, event: str, payload: dict[str, Any]) -> Callable[[], None]:
    """One subscriber's call, each with its own copy of the payload."""
    return lambda: subscriber(event, dict(payload))
