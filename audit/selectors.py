"""Reads of the audit chain that users see (access-controlled by the agreement's rule)."""

from __future__ import annotations

from django.db.models import QuerySet

from agreements.models import Agreement
from audit.models import AuditEntry


def audit_trail_for_agreement(agreement: Agreement) -> QuerySet[AuditEntry]:
    """Entries about one agreement, newest first. The caller must already have found the
    agreement through ``agreements_visible_to`` (the access rule)."""
    return AuditEntry.objects.filter(
        object_type=Agreement._meta.label_lower, object_id=str(agreement.pk)
    ).order_by("-seq")
