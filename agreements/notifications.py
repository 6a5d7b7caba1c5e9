"""Who hears about what: the one place that decides notification recipients.

``notify`` writes outbox rows (``Notification``) in the caller's transaction, so a rolled
back change notifies nobody; after commit a Celery task e-mails them.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from agreements.access import acting_memberships
from agreements.models import Agreement, Notification
from agreements.terms import destruction_deadline
from partners.models import Role

# event -> (roles that hear about it, subject template)
RULES: dict[str, tuple[tuple[str, ...], str]] = {
    # {clause} is the document's name for it ("7. Data security", agreements.text.titles).
    "override_proposed": ((Role.LEGAL,), "{ref}: {org} proposes a change to {clause}"),
    "conflict": ((Role.LEGAL,), "{ref}: conflicting proposals on {clause}"),
    # A facilitator moved the agreement to a newer template version (negotiation.upgrade).
    "template_upgrade": (
        (Role.LEGAL,),
        "{ref}: {org} proposes moving to a newer template version",
    ),
    # A party stated an ownership position that differs from the recipient party's
    # (agreements.ownership.services).
    "ownership_conflict": (
        (Role.LEGAL,),
        "{ref}: {org} states a different position on data ownership",
    ),
    "ready_for_review": ((Role.LEGAL,), "{ref} is ready for your legal review"),
    "approval_voided": ((Role.LEGAL,), "{ref}: your approval was voided"),
    "ready_to_sign": ((Role.SIGNATORY,), "{ref} is approved and ready to sign"),
    "executed": (
        (Role.DIRECTOR, Role.SIGNATORY, Role.LEGAL),
        "{ref} is signed by every party and in force",
    ),
    "expiring": ((Role.DIRECTOR, Role.SIGNATORY), "{ref} expires in {days} days"),
    "expired": ((Role.DIRECTOR, Role.LEGAL), "{ref} has expired: destruction duties start"),
    "terminated": ((Role.DIRECTOR, Role.LEGAL, Role.SIGNATORY), "{ref} was terminated"),
    "termination_noticed": (
        (Role.DIRECTOR, Role.LEGAL, Role.SIGNATORY),
        "{ref}: {org} gave notice of termination",
    ),
    "termination_withdrawn": (
        (Role.DIRECTOR, Role.LEGAL, Role.SIGNATORY),
        "{ref}: {org} withdrew its notice of termination",
    ),
    "ending": (
        (Role.DIRECTOR, Role.SIGNATORY),
        "{ref} ends in {days} days (notice of termination)",
    ),
    # A person @mentioned in a clause discussion (agreements.negotiation.discussions); sent
    # only to the people mentioned, who can all read the comment.
    "mentioned": ((Role.LEGAL,), "{ref}: {author} mentioned you on {clause}"),
    # A required research approval (agreements.approvals) nears its expiry: its holder and
    # the district hear, 60, 30 and 7 days before.
    "research_approval_expiring": (
        (Role.DIRECTOR, Role.STAFF, Role.SIGNATORY),
        "{ref}: the {kind} {number} expires in {days} days",
    ),
    # Destruction duties (agreements/destruction/): the receiving party's legal team,
    # directors and staff (who hold the data) hear about its duties; the district (the data's
    # source) about overdue duties and certificates.
    "destruction_due": (
        (Role.LEGAL, Role.DIRECTOR, Role.STAFF),
        "{ref}: {org} must destroy the shared data within {days} days",
    ),
    "destruction_overdue": (
        (Role.LEGAL, Role.DIRECTOR, Role.STAFF),
        "{ref}: {org} is overdue destroying the shared data",
    ),
    "destruction_certified": (
        (Role.LEGAL, Role.DIRECTOR),
        "{ref}: {org} certified that it destroyed shared data",
    ),
    "consent_withdrawn": (
        (Role.DIRECTOR, Role.STAFF, Role.SIGNATORY),
        "{ref}: {students} on a consented roster you received may no longer be included",
    ),
}


def recipients(
    agreement: Agreement, roles: Iterable[str], *, organisation_ids: Iterable[int] | None = None
) -> list[int]:
    """The people who act for the agreement's parties (optionally only some parties) in one
    of ``roles``: the one rule of ``agreements.access``, asked from the parties' side."""
    return list(
        acting_memberships(agreement, tuple(roles), organisation_ids=organisation_ids)
        .values_list("user_id", flat=True)
        .distinct()
    )


def notify(
    event: str,
    agreement: Agreement,
    *,
    actor=None,
    organisation_ids: Iterable[int] | None = None,
    user_ids: Iterable[int] | None = None,
    fragment: str = "",
    **context: object,
) -> list[Notification]:
    """Record ``event`` for everyone it concerns (never the actor) and schedule delivery.
    ``fragment`` points the link at a part of the agreement page (``clause-audits``,
    ``comment-12``) so the reader lands where the event happened."""
    roles, subject_template = RULES[event]
    targets = (
        list(user_ids)
        if user_ids is not None
        else recipients(agreement, roles, organisation_ids=organisation_ids)
    )
    if actor is not None:
        targets = [uid for uid in targets if uid != actor.pk]
    if not targets:
        return []
    subject = subject_template.format(ref=agreement.reference, **context)
    url = reverse("agreement-detail", args=[agreement.pk]) + (f"#{fragment}" if fragment else "")
    body = render_to_string(
        "agreements/email/notification.txt",
        {
            "event": event,
            "agreement": agreement,
            "subject": subject,
            "url": f"{settings.SITE_URL}{url}",
            "actor": actor,
            "destruction_deadline": destruction_deadline(agreement),
            **context,
        },
    )
    rows = Notification.objects.bulk_create(
        Notification(
            recipient_id=user_id,
            agreement=agreement,
            event=event,
            subject=subject[:300],
            body=body,
            url=url,
        )
        for user_id in sorted(set(targets))
    )
    from agreements.tasks import deliver_notifications, warm_agreement_page

    # robust: the rows are the outbox; if the broker is down the periodic
    # deliver_notifications run (beat) sends them, and the user's action still succeeds.
    transaction.on_commit(deliver_notifications.delay, robust=True)
    # The people just told will open the page: derive its text now, not in their request
    # (a cache warm-up; lost with the broker down, the page derives it as before).
    transaction.on_commit(partial(warm_agreement_page.delay, str(agreement.pk)), robust=True)
    return rows


# --- the reader's side ------------------------------------------------------------------------

INBOX_SIZE = 50


def notifications_for(user) -> list[Notification]:
    """The newest notifications addressed to ``user`` (their own rows only), with the
    agreement's reference."""
    return list(
        Notification.objects.filter(recipient=user)
        .select_related("agreement")
        .order_by("-created_at", "-id")[:INBOX_SIZE]
    )


@transaction.atomic
def notifications_mark_read(*, user, notifications: Iterable[Notification]) -> int:
    """Mark ``user``'s own notifications among ``notifications`` read (once: the first time
    stays recorded)."""
    from django.utils import timezone

    return Notification.objects.filter(
        recipient=user, pk__in=[n.pk for n in notifications], read_at__isnull=True
    ).update(read_at=timezone.now())
