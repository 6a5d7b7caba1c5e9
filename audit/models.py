"""The audit chain: one append-only table of who did what, each entry hash-linked to the one
before it.

PostgreSQL refuses UPDATE, DELETE and (outside tests) TRUNCATE of this table with triggers,
and the application's role gets only SELECT and INSERT on it (see README, "Audit trail").
``entry_hash`` = SHA-256 of the previous entry's hash followed by the canonical JSON of this
entry's fields, so ``manage.py verify_audit`` finds any row changed or removed by hand.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    TRANSITION = "transition", "Lifecycle transition"
    APPROVAL = "approval", "Approval"
    SIGNATURE = "signature", "Signature"
    EXPORT = "export", "Export"
    DOWNLOAD = "download", "Download"
    API_TOKEN_ISSUED = "api_token_issued", "API token issued"
    API_TOKEN_REVOKED = "api_token_revoked", "API token revoked"
    API_TOKEN_USED = "api_token_used", "API token used"
    WEBHOOK_DISABLED = "webhook_disabled", "Webhook endpoint disabled"
    WEBHOOK_ENABLED = "webhook_enabled", "Webhook endpoint enabled again"
    ADMIN_ADDITION = "admin_addition", "Admin: added"
    ADMIN_CHANGE = "admin_change", "Admin: changed"
    ADMIN_DELETION = "admin_deletion", "Admin: deleted"
    INVITATION_SENT = "invitation_sent", "Invitation sent"
    INVITATION_REVOKED = "invitation_revoked", "Invitation revoked"
    INVITATION_ACCEPTED = "invitation_accepted", "Invitation accepted"
    MEMBER_ROLES_CHANGED = "member_roles_changed", "Member's roles changed"
    MEMBER_DEACTIVATED = "member_deactivated", "Member deactivated"
    MEMBER_REACTIVATED = "member_reactivated", "Member reactivated"
    MEMBER_TWO_FACTOR_RESET = "member_2fa_reset", "Member's two-factor reset"
    PASSWORD_RESET = "password_reset", "Password reset by e-mail"
    TEMPLATE_CREATED = "template_created", "Template created"
    TEMPLATE_USAGE = "template_usage", "Template offered / not offered"
    VERSION_CREATED = "version_created", "Template version created"
    VERSION_EDITED = "version_edited", "Template draft edited"
    VERSION_PUBLISHED = "version_published", "Template version published"
    VERSION_RETIRED = "version_retired", "Template version retired"
    TEMPLATE_UPGRADE = "template_upgrade", "Agreement moved to a newer template version"
    ORGANISATION_CREATED = "organisation_created", "Organisation created"
    ORGANISATION_CHANGED = "organisation_changed", "Organisation changed"
    TRIO_CREATED = "trio_created", "Trio created"
    TRIO_CHANGED = "trio_changed", "Trio changed"
    RESEARCH_APPROVAL = "research_approval", "Research approval recorded"
    RESEARCH_APPROVAL_VOID = "research_approval_void", "Research approval withdrawn"
    APPROVAL_REQUIREMENTS = "approval_requirements", "Template's required research approvals set"
    STUDENT_KEY_FORMAT_SET = "student_key_format_set", "Student key format set"
    DESTRUCTION_CERTIFIED = "destruction_certified", "Destruction certified"
    COST_RECORDED = "cost_recorded", "Cost entry recorded"
    COST_CHANGED = "cost_changed", "Cost entry changed"
    COST_DELETED = "cost_deleted", "Cost entry deleted"
    COST_SHARED = "cost_shared", "Cost entry shared or made private"
    OWNERSHIP_STATED = "ownership_stated", "Ownership position stated"
    OWNERSHIP_DIFFER = "ownership_differ", "Ownership: agreeing to differ proposed"
    OWNERSHIP_CONFIRMED = "ownership_confirmed", "Ownership: agreeing to differ confirmed"


class AuditEntry(models.Model):
    # Assigned by audit.services.record under an advisory lock: 1, 2, 3 ... without gaps, so a
    # missing number means a deleted row.
    seq = models.BigIntegerField(primary_key=True)
    occurred_at = models.DateTimeField()
    # No database foreign keys: an entry outlives the user or organisation it names (the
    # label keeps who it was), and deleting a user must never have to rewrite the chain.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=300)
    organisation = models.ForeignKey(
        "partners.Organisation",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    action = models.CharField(max_length=24, choices=AuditAction.choices)
    object_type = models.CharField(max_length=100, help_text="app_label.model of the subject.")
    object_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id", "seq"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"
