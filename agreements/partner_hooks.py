"""What agreements plugs into partners, the app below it (registered in agreements/apps.py).

Partners does not import agreements: it defines the hooks (partners/hooks.py, and the
resource ``partners.webhooks.on_agreement_event`` is given) and agreements answers them here.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from agreements.models import Agreement, Status
from agreements.terms import destruction_deadline, end_date
from collaboratory.errors import DomainError
from partners import webhooks
from partners.models import Trio

#: An agreement in these states is signed, or being signed, by its parties.
SIGNED = (Status.SIGNING, Status.ACTIVE, Status.EXPIRED, Status.TERMINATED)


def refuse_if_parties_signed(trio: Trio) -> None:
    """A trio member change guard: the parties of a signed agreement are part of its text,
    so they cannot change."""
    signed = (
        Agreement.objects.filter(trio=trio, status__in=SIGNED)
        .values_list("reference", flat=True)
        .first()
    )
    if signed:
        raise DomainError(
            f"{trio.name}'s members cannot change: agreement {signed} is signed (or being "
            "signed) by these parties. Start a new partnership instead.",
            code="signed_parties",
        )


def agreement_resource(agreement_id: str) -> dict[str, Any] | None:
    """The agreement as a webhook delivery describes it (None when it is gone)."""
    agreement = Agreement.objects.filter(pk=agreement_id).first()
    if agreement is None:
        return None
    site = (settings.SITE_URL or "").rstrip("/")
    return {
        "id": str(agreement.pk),
        "reference": agreement.reference,
        "title": agreement.title,
        "status": agreement.status,
        "status_changed_at": agreement.status_changed_at.isoformat(),
        # The dates the API's agreement detail states, so a receiver need not fetch it.
        "expires_on": agreement.expires_on.isoformat(),
        "ends_on": end_date(agreement).isoformat(),
        "destruction_deadline": destruction_deadline(agreement).isoformat(),
        "url": f"{site}/api/v1/agreements/{agreement.pk}/",
    }


def on_agreement_event(event: str, payload: dict[str, Any]) -> None:
    """Every agreement event fans out to the parties' subscribed webhook endpoints."""
    webhooks.on_agreement_event(event, payload, agreement_resource=agreement_resource)
