"""Research approvals attached to an agreement (imported by ``agreements.models``, so they
are the agreements app's tables).

An approval is what its letter says: which body approved (an IRB, a district's research
office), under which number or protocol id, on which day, until which day. A renewal is a
new row (``renews`` points at the one it follows), so the history of approvals stays whole;
an approval recorded by mistake is withdrawn with a reason, never deleted.
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models


class ApprovalKind(models.TextChoices):
    """Which approval. The IRB's is the research party's; the research office's is the
    district's (``agreements.approvals.rules.HOLDER``)."""

    IRB = "irb", "IRB approval"
    DISTRICT_RESEARCH_OFFICE = "district_research_office", "District research office approval"


@pghistory.track()
class ResearchApproval(models.Model):
    agreement = models.ForeignKey(
        "agreements.Agreement", on_delete=models.PROTECT, related_name="research_approvals"
    )
    kind = models.CharField(max_length=30, choices=ApprovalKind.choices)
    organisation = models.ForeignKey(
        "partners.Organisation",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The party that holds the approval (the research partner for an IRB "
        "approval, the district for its research office's).",
    )
    approving_body = models.CharField(
        max_length=200, help_text="e.g. University of X IRB, Springfield USD Office of Research."
    )
    number = models.CharField(max_length=100, help_text="The approval number or protocol id.")
    approved_on = models.DateField()
    expires_on = models.DateField(
        help_text="The last day the approval holds, as its letter states it."
    )
    document = models.FileField(upload_to="research-approvals/", max_length=300)
    document_name = models.CharField(max_length=200, help_text="The uploaded file's name.")
    document_type = models.CharField(max_length=100)
    document_size = models.PositiveBigIntegerField()
    document_sha256 = models.CharField(max_length=64)
    renews = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewals",
        help_text="The approval of the same kind this one renews.",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["agreement", "kind", "recorded_at", "id"]
        indexes = [models.Index(fields=["agreement", "kind", "expires_on"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_on__gt=models.F("approved_on")),
                name="research_approval_expires_after_approval",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ApprovalKind.values),
                name="research_approval_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number} ({self.approving_body})"


class ApprovalReminderSent(models.Model):
    """Keeps the daily job from reminding twice about one approval for the same threshold."""

    approval = models.ForeignKey(ResearchApproval, on_delete=models.CASCADE, related_name="+")
    days_before = models.PositiveIntegerField()
    sent_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["approval", "days_before"], name="research_approval_remind_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.days_before}-day reminder for research approval {self.approval_id}"
