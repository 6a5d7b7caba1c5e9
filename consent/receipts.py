"""Consent receipts: one JSON document per consent record.

The top level follows the Kantara Initiative Consent Receipt Specification v1.1 (version,
jurisdiction, consentTimestamp, collectionMethod, consentReceiptID, language,
piiPrincipalId, piiControllers, policyUrl, services/purposes with piiCategory, sensitive);
``consentRecord`` carries the elements of ISO/IEC TS 27560 that the Kantara receipt lacks:
the event (given, refused or withdrawn; by whom), the exact notice (form version and its
SHA-256), the legal basis and the recipients. The PII principal is the pseudonymous
student key: the receipt, like the platform, never holds a name.
"""

from __future__ import annotations

import datetime as dt
import json

from django.conf import settings
from django.urls import reverse

from agreements.models import Agreement
from consent.models import ConsentRecord
from consent.rules import Action, ConsentKind, GivenBy

KANTARA_VERSION = "KI-CR-v1.1.0"
# Keyed by the stored values (the choices are str enums, so their members look up alike).
EVENT_TYPES: dict[str, str] = {
    Action.GRANTED: "given",
    Action.REFUSED: "refused",
    Action.WITHDRAWN: "withdrawn",
}
CONSENT_TYPES: dict[str, str] = {
    ConsentKind.OPT_OUT: "IMPLICIT",
    ConsentKind.PARENTAL: "EXPLICIT",
    ConsentKind.PARENTAL_ASSENT: "EXPLICIT",
}


def _timestamp(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp())


def consent_receipt(record: ConsentRecord, *, agreement: Agreement, kind: str | None) -> dict:
    """The receipt of ``record`` (``agreement`` with trio members and data elements
    prefetched; ``kind`` the governing requirement)."""
    members = {m.role: m.organisation for m in agreement.trio.members.all()}
    district = members.get("district")
    form = record.form
    elements = [
        e for e in agreement.data_elements.all() if e.source_id == getattr(district, "pk", None)
    ]
    recipients = sorted({e.recipient.name for e in elements})
    form_url = reverse("consent-form-detail", args=[agreement.pk, form.pk])
    controller = {
        "piiController": district.name if district else "",
        "contact": district.contact_name if district else "",
        "email": district.contact_email if district else "",
        "phone": district.contact_phone if district else "",
        "address": {"streetAddress": district.address} if district and district.address else {},
        "piiControllerUrl": district.website if district else "",
        "onBehalf": False,
    }
    return {
        "version": KANTARA_VERSION,
        "jurisdiction": (agreement.placeholder_values or {}).get("governing_state", "US"),
        "consentTimestamp": _timestamp(record.decided_on),
        "collectionMethod": record.get_method_display(),
        "consentReceiptID": str(record.receipt_id),
        "publicKey": None,
        "language": form.language,
        "piiPrincipalId": record.student_key,
        "piiControllers": [controller],
        "policyUrl": f"{settings.SITE_URL}{form_url}",
        "services": [
            {
                "service": agreement.title,
                "purposes": [
                    {
                        "purpose": agreement.purpose,
                        "purposeCategory": ["Research"],
                        "consentType": CONSENT_TYPES.get(kind or "", "EXPLICIT"),
                        "piiCategory": [e.name for e in elements],
                        "primaryPurpose": True,
                        "termination": f"When the agreement ends ({agreement.expires_on}) or "
                        "when consent is withdrawn",
                        "thirdPartyDisclosure": bool(recipients),
                        "thirdPartyName": ", ".join(recipients),
                    }
                ],
            }
        ],
        "sensitive": True,
        "spiCat": ["Education records of a student"],
        "consentRecord": {
            "schema": "ISO/IEC TS 27560:2023 (structure followed)",
            "recordId": str(record.receipt_id),
            "agreementReference": agreement.reference,
            "event": {
                "type": EVENT_TYPES[record.action],
                "date": record.decided_on.isoformat(),
                "recordedAt": record.recorded_at.isoformat(),
                "givenBy": "parent or guardian"
                if record.given_by == GivenBy.PARENT
                else "student (data subject)",
                "method": record.method,
                "witnessed": bool(record.witness),
            },
            "notice": {
                "title": form.title,
                "language": form.language,
                "version": form.version,
                "effectiveDate": form.effective_date.isoformat(),
                "sha256": form.body_sha256,
                "url": f"{settings.SITE_URL}{form_url}",
            },
            "legalBasis": "consent" if kind != ConsentKind.OPT_OUT else "notice with opt-out",
            "requirement": kind,
            "recipients": recipients,
        },
    }


def receipt_json(receipt: dict) -> bytes:
    return json.dumps(receipt, indent=2, ensure_ascii=False, sort_keys=False).encode("utf-8")
