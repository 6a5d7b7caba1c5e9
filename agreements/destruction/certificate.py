"""The certificate of destruction: one page that states what was destroyed, by whom, when and
how, rendered by the one PDF module (``agreements.documents.pdf``: static-only fetcher) and
sealed with the platform's certificate like an executed agreement, so it verifies with the
same check (``agreements.documents.jobs.document_verify``, the Verify page)."""

from __future__ import annotations

import datetime as dt

from django.template.loader import render_to_string
from django.utils import timezone

from agreements.documents import pdf, sealing
from agreements.models import DestructionDuty, DestructionMethod
from agreements.terms import destruction_deadline

TEMPLATE = "agreements/destruction/certificate_pdf.html"


def certificate_html(duty: DestructionDuty, *, generated_at: dt.datetime) -> str:
    """The certificate's HTML: a fixed template filled with escaped values (times in UTC)."""
    agreement = duty.agreement
    with timezone.override(dt.UTC):
        return render_to_string(
            TEMPLATE,
            {
                "duty": duty,
                "agreement": agreement,
                "element": duty.data_element,
                "source": duty.data_element.source,
                "recipient": duty.recipient,
                "method": DestructionMethod(duty.method).label,
                "deadline": destruction_deadline(agreement),
                "on_time": duty.destroyed_on is not None
                and duty.destroyed_on <= destruction_deadline(agreement),
                "generated_at": generated_at,
                "number": f"{agreement.reference}-D{duty.pk}",
            },
        )


def render_sealed(duty: DestructionDuty, *, generated_at: dt.datetime | None = None) -> bytes:
    """The sealed PDF of ``duty``'s certificate."""
    rendered = pdf.render_html(certificate_html(duty, generated_at=generated_at or timezone.now()))
    return sealing.seal(
        rendered.pdf,
        reason=f"Certificate of destruction {duty.agreement.reference}-D{duty.pk}: "
        f"{duty.data_element.name}",
    )
