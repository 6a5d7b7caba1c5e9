"""Who hears about what, and delivery by the real worker after commit."""

import time

import pytest

from agreements.models import Agreement, Notification
from agreements.negotiation.proposals import override_propose
from agreements.notifications import RULES, notify
from collaboratory.errors import DomainError

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"


def recipients(event: str, agreement: Agreement) -> set[str]:
    return set(
        Notification.objects.filter(event=event, agreement=agreement).values_list(
            "recipient__username", flat=True
        )
    )


def test_every_event_has_a_rule():
    assert set(RULES) >= {
        "override_proposed",
        "conflict",
        "ready_for_review",
        "approval_voided",
        "ready_to_sign",
        "executed",
        "expiring",
        "expired",
    }


def test_ready_to_sign_goes_to_signatories_only(demo):
    agreement = demo["agreements"]["Adaptive Practice Outcomes Study 2026-2028"]
    Notification.objects.all().delete()
    notify("ready_to_sign", agreement)
    # Signatories of Northfield (researcher), Riverbend (director) and Brightpath (vendor).
    assert recipients("ready_to_sign", agreement) == {"researcher", "director", "vendor"}


def test_the_actor_is_not_notified_of_their_own_action(demo):
    agreement = demo["agreements"][NEGOTIATING]
    Notification.objects.all().delete()
    notify("conflict", agreement, actor=demo["users"]["counsel"], clause="Audits")
    assert recipients("conflict", agreement) == {"director", "vendor"}


def test_nobody_outside_the_parties_is_notified(demo):
    agreement = demo["agreements"][NEGOTIATING]
    Notification.objects.all().delete()
    for event in RULES:
        notify(
            event,
            agreement,
            clause="x",
            org="y",
            author="w",
            kind="replace",
            rationale="z",
            days=7,
            reason="r",
            students=3,
            number="2025-123",
        )
    everyone = set(Notification.objects.values_list("recipient__username", flat=True))
    assert everyone <= {"director", "counsel", "vendor", "researcher"}
    assert "lakeshore" not in everyone and "facilitator" not in everyone


def test_a_rolled_back_action_notifies_nobody(demo):
    agreement = demo["agreements"][NEGOTIATING]
    before = Notification.objects.count()
    with pytest.raises(DomainError):
        override_propose(
            agreement=agreement,
            by=demo["users"]["counsel"],
            kind="delete",
            clause_key="prohibited-uses",
            rationale="Refused: mandatory clause.",
        )
    assert Notification.objects.count() == before


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_emails_notifications_after_commit(demo, celery_worker):
    agreement = demo["agreements"][NEGOTIATING]
    Notification.objects.update(sent_at=None)
    override_propose(
        agreement=agreement,
        by=demo["users"]["counsel"],
        kind="replace",
        clause_key="insurance",
        body="Each party self-insures.",
        rationale="Public body.",
    )
    # The clause as the document names it: its label and heading, never its key.
    pending = Notification.objects.filter(subject__regex=r"proposes a change to \d+\. Insurance$")
    assert pending.exists()
    deadline = time.monotonic() + 30
    while pending.filter(sent_at__isnull=True).exists():
        assert time.monotonic() < deadline, "the worker did not deliver the notifications"
        time.sleep(0.2)
    assert "agreements.deliver_notifications" in celery_worker["log"].read_text()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_parties_told_of_a_change_find_the_page_text_derived(demo, celery_worker, client):
    """Notifying the parties queues the page's text for deriving: the worker leaves it in the
    shared cache, so the first reader's request does not derive it."""
    from django.core.cache import caches

    from agreements.page_text import page_text_key
    from agreements.review.tracked_changes import against_choice
    from agreements.selectors import with_agreement_detail
    from collaboratory import derived

    agreement = demo["agreements"][NEGOTIATING]
    override_propose(
        agreement=agreement,
        by=demo["users"]["counsel"],
        kind="replace",
        clause_key="insurance",
        body="Each party carries insurance of at least $1,000,000.",
        rationale="The district's risk office asks for a floor.",
    )
    changed = with_agreement_detail(Agreement.objects.filter(pk=agreement.pk)).get()
    key = page_text_key(changed, against_choice(None))
    shared = caches[derived.ALIAS]
    deadline = time.monotonic() + 30
    while shared.get(key) is None:
        assert time.monotonic() < deadline, "the worker did not derive the page's text"
        time.sleep(0.2)
    assert "agreements.warm_agreement_page" in celery_worker["log"].read_text()

    # The district's reader opens the page: it shows the proposal from what was derived.
    derived.clear_local()
    client.force_login(demo["users"]["director"])
    response = client.get(f"/agreements/{agreement.pk}/")
    assert response.status_code == 200
    assert "at least $1,000,000" in response.content.decode()
