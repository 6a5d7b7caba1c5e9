"""Reads of the audit chain that users see. Audit sits beside the apps and imports none of
them: the page that shows an agreement's trail is the agreements app's
(agreements/web/audit_trail.py), which finds the agreement through its access rule first."""

from __future__ import annotations

from django.db import models
from django.db.models import QuerySet

from audit.models import AuditEntry
from audit.services import object_type_of


def audit_trail_of(target: models.Model) -> QuerySet[AuditEntry]:
    """Entries about ``target``, newest first. No access rule here: the caller must already
    have found ``target`` through its app's rule (an agreement: ``agreements_visible_to``)."""
    return AuditEntry.objects.filter(
        object_type=object_type_of(target), object_id=str(target.pk)
    ).order_by("-seq")
