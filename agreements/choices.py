"""The choices of agreements' models (statuses, kinds, decisions) and the clause-key rule.

Imported through ``agreements.models`` everywhere; kept here so the models module stays a
readable list of tables.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

key_validator = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    "Use lowercase letters, digits and single hyphens, e.g. data-retention.",
)


class SharingMode(models.TextChoices):
    ANALYSIS = "analysis", "Analysis (aggregate or de-identified)"
    OPERATIONS = "operations", "Operations (identifiable, frequent)"


class Identifiability(models.TextChoices):
    IDENTIFIABLE = "identifiable", "Identifiable"
    PSEUDONYMOUS = "pseudonymous", "Pseudonymous"
    DEIDENTIFIED = "deidentified", "De-identified"
    AGGREGATE = "aggregate", "Aggregate"


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    NEGOTIATING = "negotiating", "Negotiating"
    IN_REVIEW = "in_review", "In review"
    SIGNING = "signing", "Signing"
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    TERMINATED = "terminated", "Terminated"


class TerminationGround(models.TextChoices):
    """Why an agreement ends before its term: each ground has its own timing in the text."""

    CONVENIENCE = "convenience", "For convenience (after the notice period)"
    BREACH = "breach", "For an uncured breach (after the cure period)"
    IMMEDIATE = "immediate", "With immediate effect (as the text allows)"


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class TemplateUsage(models.TextChoices):
    """Whether the agreement wizard offers a template: only ``in_use`` ones, and of those only
    their published, current (not retired) versions."""

    IN_USE = "in_use", "Published for use"
    DRAFT = "draft", "Draft (not offered)"
    TEST = "test", "Test (not offered)"


class PartKind(models.TextChoices):
    """Where a clause sits in the document's outline (``agreements.text.document.model``)."""

    PREAMBLE = "preamble", "Preamble or recitals (unnumbered, untitled)"
    SECTION = "section", "Numbered section"
    UNNUMBERED = "unnumbered", "Unnumbered part (e.g. signature block)"
    ATTACHMENT = "attachment", "Attachment, exhibit or schedule"


class MandatoryFor(models.TextChoices):
    NONE = "", "Never mandatory"
    OPERATIONS = "operations", "Mandatory for operations-mode agreements"
    ALL = "all", "Mandatory for every agreement"


class OverrideKind(models.TextChoices):
    REPLACE = "replace", "Replace the clause text"
    INSERT = "insert", "Insert a new clause after it"
    DELETE = "delete", "Delete the clause"


class OverrideStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    SUPERSEDED = "superseded", "Superseded"


OPEN_OVERRIDE_STATUSES = (OverrideStatus.PROPOSED, OverrideStatus.ACCEPTED)


class Decision(models.TextChoices):
    ACCEPT = "accept", "Accept"
    REJECT = "reject", "Reject"


class DocumentKind(models.TextChoices):
    EXECUTED = "executed", "Executed agreement (sealed)"
    REVIEW = "review", "Review copy (draft watermark)"
    REDLINE = "redline", "Redline"


class RenderStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Rendering"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class ReviewState(models.TextChoices):
    REVIEWED = "reviewed", "Reviewed"
    ACCEPTED = "accepted", "Accepted"


class CommentVisibility(models.TextChoices):
    PARTIES = "parties", "All parties"
    INTERNAL = "internal", "Only my organisation (internal note)"


class AuthMethod(models.TextChoices):
    PASSWORD = "password", "Password only"
    TOTP = "totp", "Password and authenticator app"
    BACKUP = "backup", "Password and backup code"
