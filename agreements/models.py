"""Templates, agreements, clause overrides, approvals, signatures and the lifecycle record.

Rules live in services and domain modules (``consolidation``, ``lifecycle``); models hold
data and database-level guarantees. Every change to the tracked models is kept by
django-pghistory's triggers, so bulk and queryset updates are recorded too.
"""

from __future__ import annotations

import uuid

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Upper

from agreements.approvals.models import ApprovalKind

# The models' choices: the project imports them (and OPEN_OVERRIDE_STATUSES) from here.
from agreements.choices import OPEN_OVERRIDE_STATUSES as OPEN_OVERRIDE_STATUSES
from agreements.choices import (
    AuthMethod,
    CommentVisibility,
    Decision,
    DocumentKind,
    Identifiability,
    MandatoryFor,
    OverrideKind,
    OverrideStatus,
    PartKind,
    RenderStatus,
    ReviewState,
    SharingMode,
    Status,
    TemplateUsage,
    TerminationGround,
    VersionStatus,
    key_validator,
)
from agreements.terms import destruction_deadline_sql, end_date_sql
from partners.models import Collaboratory, Organisation, ResearchQuestion, Trio


@pghistory.track()
class DSATemplate(models.Model):
    collaboratory = models.ForeignKey(
        Collaboratory, on_delete=models.PROTECT, related_name="templates"
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80)
    description = models.TextField(blank=True)
    usage = models.CharField(
        max_length=12,
        choices=TemplateUsage.choices,
        default=TemplateUsage.IN_USE,
        help_text="Only templates published for use are offered in the agreement wizard.",
    )
    # Research approvals (agreements.approvals): which kinds an agreement made from this
    # template needs, current, before any data flows. Not part of the text, so it may change.
    required_research_approvals = ArrayField(
        models.CharField(max_length=30, choices=ApprovalKind.choices),
        default=list,
        blank=True,
        help_text="Approvals an agreement from this template needs before data flows.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "DSA template"
        constraints = [
            models.UniqueConstraint(fields=["collaboratory", "slug"], name="template_slug_unique")
        ]

    def __str__(self) -> str:
        return self.name


@pghistory.track()
class TemplateVersion(models.Model):
    """One version of a template; immutable once published (a database trigger enforces it)."""

    template = models.ForeignKey(DSATemplate, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    status = models.CharField(
        max_length=12, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    notes = models.TextField(blank=True, help_text="What changed compared to the last version.")
    frame = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text="The document around the clauses: title lines and how sections and "
        "attachments are numbered (canonical JSON of a document without parts; README).",
    )
    copied_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retired_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A retired version is no longer offered for new agreements; agreements on it "
        "keep it.",
    )
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="version_number_unique"),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(published_at__isnull=False),
                name="published_version_has_date",
            ),
            models.CheckConstraint(
                condition=models.Q(retired_at__isnull=True) | models.Q(status="published"),
                name="only_published_versions_retire",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.name} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.status == VersionStatus.PUBLISHED

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


@pghistory.track()
class Clause(models.Model):
    version = models.ForeignKey(TemplateVersion, on_delete=models.CASCADE, related_name="clauses")
    key = models.CharField(max_length=80, validators=[key_validator])
    number = models.CharField(
        max_length=40, blank=True, help_text="The label shown (computed from the outline)."
    )
    heading = models.CharField(max_length=300, blank=True)
    body = models.TextField(help_text="The text as Markdown, as people edit it.")
    blocks = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text="The structured text (canonical JSON blocks; README, 'Structured text').",
    )
    kind = models.CharField(max_length=12, choices=PartKind.choices, default=PartKind.SECTION)
    label = models.CharField(
        max_length=40,
        blank=True,
        help_text="Only when the source's own label does not follow its series.",
    )
    generated = models.CharField(
        max_length=40,
        blank=True,
        help_text="'data-elements': the product fills this part (the data-element schedule).",
    )
    order = models.PositiveIntegerField()
    mandatory_for = models.CharField(
        max_length=12, choices=MandatoryFor.choices, default=MandatoryFor.NONE, blank=True
    )

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="clause_key_unique"),
            models.UniqueConstraint(fields=["version", "order"], name="clause_order_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.heading}".strip()

    def is_mandatory(self, sharing_mode: str) -> bool:
        return self.mandatory_for == MandatoryFor.ALL or (
            self.mandatory_for == MandatoryFor.OPERATIONS and sharing_mode == SharingMode.OPERATIONS
        )


@pghistory.track()
class Agreement(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=32, unique=True, editable=False)
    trio = models.ForeignKey(Trio, on_delete=models.PROTECT, related_name="agreements")
    template_version = models.ForeignKey(
        TemplateVersion, on_delete=models.PROTECT, related_name="agreements"
    )
    title = models.CharField(max_length=300)
    purpose = models.TextField()
    research_questions = models.ManyToManyField(
        ResearchQuestion, related_name="agreements", blank=True
    )
    sharing_mode = models.CharField(max_length=12, choices=SharingMode.choices)
    start_date = models.DateField()
    term_months = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    expires_on = models.DateField()
    breach_notice_hours = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(720)]
    )
    retention_days = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    destruction_date = models.DateField(null=True, blank=True)
    termination_notice_days = models.PositiveIntegerField(
        default=60,
        validators=[MaxValueValidator(365)],
        help_text="Days of written notice a party must give to terminate for convenience.",
    )
    cure_days = models.PositiveIntegerField(
        default=30,
        validators=[MaxValueValidator(365)],
        help_text="Days a party in breach has to cure it after notice before termination.",
    )
    project_summary = models.JSONField(
        default=dict,
        blank=True,
        help_text="Non-binding notes from the wizard (goals, how success is measured, what "
        "each partner gains); never part of the agreement's text.",
    )
    termination_ground = models.CharField(
        max_length=12, choices=TerminationGround.choices, blank=True
    )
    termination_noticed_on = models.DateField(
        null=True, blank=True, help_text="The day notice of termination was given."
    )
    ends_on = models.DateField(
        null=True,
        blank=True,
        help_text="The last day of an agreement that ends before its expiry (termination); "
        "set when notice is given, the agreement stays in force until then.",
    )
    placeholder_values = models.JSONField(
        default=dict,
        blank=True,
        help_text="Values for placeholders not derived from the fields above (e.g. "
        "governing_state).",
    )
    fillins = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the parties wrote in the text's fill-in blanks, by blank id "
        "(agreements.text.document.blanks); written by agreement_fillins_update only.",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    status_changed_at = models.DateTimeField()
    text_hash = models.CharField(max_length=64, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "expires_on"]),
            # A party's agreements in a status, soonest expiry first (the dashboard's
            # consent coverage and expiry panels): the rows are chosen from the index alone.
            models.Index(
                fields=["trio", "status", "expires_on", "reference"],
                include=["id"],
                name="agreement_trio_status_expiry",
            ),
            # "Coming up" on the dashboard (agreements.dashboard.coming_up): a party's active
            # agreements by their actual end, and its ended ones by their destruction
            # deadline, read only for the days shown, however large the portfolio.
            models.Index(
                F("trio"),
                end_date_sql(),
                condition=models.Q(status=Status.ACTIVE),
                name="agreement_trio_active_end",
            ),
            models.Index(
                F("trio"),
                destruction_deadline_sql(),
                condition=models.Q(status__in=[Status.EXPIRED, Status.TERMINATED]),
                name="agreement_trio_ended_deadline",
            ),
            # An organisation's agreements, newest change first (the API list's pages): the
            # page's ids come from this index alone, without reading the table.
            models.Index(fields=["trio", "-updated_at", "id"], name="agreement_trio_recent"),
            models.Index(fields=["updated_at"]),
            # Search: whether a visible agreement uses a template version, one probe each.
            models.Index(fields=["template_version", "trio"], name="agreement_version_trio"),
            # Search (agreements/search.py) matches the table's stored search_document
            # column (migration 0014, GIN-indexed), OR-ed with the exact reference lookup.
            models.Index(Upper("reference"), name="agreement_reference_upper"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="agreement_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(expires_on__gt=models.F("start_date")),
                name="agreement_expires_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"


@pghistory.track()
class DataElement(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="data_elements")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    source = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    identifiability = models.CharField(max_length=14, choices=Identifiability.choices)
    research_questions = models.ManyToManyField(ResearchQuestion, related_name="data_elements")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["agreement", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(source=models.F("recipient")),
                name="data_element_source_is_not_recipient",
            )
        ]

    def __str__(self) -> str:
        return self.name


@pghistory.track()
class ClauseOverride(models.Model):
    """One party's proposed change to one clause: replace, insert after, or delete."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="overrides")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=OverrideKind.choices)
    clause_key = models.CharField(
        max_length=80, help_text="The clause changed, or (insert) the clause it follows."
    )
    new_key = models.CharField(
        max_length=80,
        blank=True,
        validators=[key_validator],
        help_text="Key of an inserted clause.",
    )
    heading = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    blocks = models.JSONField(
        null=True, blank=True, editable=False, help_text="The structured text of ``body``."
    )
    parameters = models.JSONField(
        default=dict,
        blank=True,
        help_text="Terms this proposal changes, by parameter name: {name: {from, to}} "
        "(agreements.terms); the text keeps referring to the parameter.",
    )
    rationale = models.TextField()
    status = models.CharField(
        max_length=12, choices=OverrideStatus.choices, default=OverrideStatus.PROPOSED
    )
    resolves = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="resolved_by",
        help_text="Overrides this merged text replaces (conflict resolution).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agreement", "created_at"]
        indexes = [
            models.Index(fields=["agreement", "status"]),
            # Search reads the stored search_document column (migration 0014, GIN-indexed).
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="insert") | ~models.Q(new_key=""),
                name="insert_override_has_new_key",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="delete") | ~models.Q(body=""),
                name="override_has_text_unless_delete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.clause_key} by {self.organisation}"

    @property
    def target_key(self) -> str:
        """The clause this override writes: the inserted clause's key, or the changed one."""
        return self.new_key if self.kind == OverrideKind.INSERT else self.clause_key


@pghistory.track()
class OverrideResponse(models.Model):
    override = models.ForeignKey(ClauseOverride, on_delete=models.CASCADE, related_name="responses")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(max_length=8, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["override", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["override", "organisation"], name="one_response_per_party"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.decision}s {self.override_id}"


@pghistory.track()
class ClauseComment(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="comments")
    clause_key = models.CharField(max_length=80)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="replies",
        help_text="The comment this one answers; empty for the start of a discussion.",
    )
    visibility = models.CharField(
        max_length=8,
        choices=CommentVisibility.choices,
        default=CommentVisibility.PARTIES,
        help_text="All parties on the agreement, or only the author's organisation.",
    )
    quote = models.TextField(
        blank=True, help_text="The passage of the clause the discussion is about, if not all of it."
    )
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", help_text="People @mentioned."
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agreement", "clause_key", "created_at"]

    def __str__(self) -> str:
        return f"Comment on {self.clause_key} by {self.organisation}"


@pghistory.track()
class Approval(models.Model):
    """A party's legal sign-off on one exact consolidated text (its SHA-256)."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="approvals")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text_hash = models.CharField(max_length=64)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["agreement", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "organisation"],
                condition=models.Q(voided_at__isnull=True),
                name="one_live_approval_per_party",
            )
        ]

    def __str__(self) -> str:
        return f"Approval by {self.organisation} of {self.text_hash[:12]}"


@pghistory.track()
class Signature(models.Model):
    """A signatory's act of signing one exact text for their organisation."""

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="signatures")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    typed_name = models.CharField(max_length=200)
    signer_title = models.CharField(
        max_length=200, blank=True, help_text="The signer's title, e.g. Superintendent."
    )
    intent_statement = models.TextField()
    auth_method = models.CharField(
        max_length=12,
        choices=AuthMethod.choices,
        blank=True,
        help_text="How the signer proved who they are for this session.",
    )
    authenticated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the signer passed that check."
    )
    text_hash = models.CharField(max_length=64)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    signed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agreement", "signed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "organisation"], name="one_signature_per_party"
            )
        ]

    def __str__(self) -> str:
        return f"Signature by {self.typed_name} for {self.organisation}"


class Transition(models.Model):
    """One lifecycle step: who, when, from, to, why. Append-only."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=12, choices=Status.choices)
    to_status = models.CharField(max_length=12, choices=Status.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    text_hash = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agreement", "at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status} -> {self.to_status}"


class ReminderSent(models.Model):
    """Keeps the daily expiry job from reminding twice for the same threshold."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="+")
    days_before = models.PositiveIntegerField()
    sent_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agreement", "days_before"], name="remind_once")
        ]

    def __str__(self) -> str:
        return f"{self.days_before}-day reminder for {self.agreement_id}"


class Notification(models.Model):
    """An outbox row: who must hear about what. Written in the same transaction as the
    change it reports, delivered by e-mail by a Celery task after commit."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    agreement = models.ForeignKey(
        Agreement, null=True, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(max_length=40)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["sent_at"]), models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.subject


class Document(models.Model):
    """A rendered PDF, content-addressed: stored under its own SHA-256, never twice."""

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=10, choices=DocumentKind.choices)
    text_hash = models.CharField(max_length=64, help_text="SHA-256 of the consolidated text.")
    sha256 = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the PDF bytes.")
    file = models.FileField(upload_to="documents/", max_length=300)
    size = models.PositiveBigIntegerField()
    pages = models.PositiveIntegerField(default=0)
    sealed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["agreement", "kind", "text_hash"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.agreement_id} ({self.sha256[:12]})"


class RenderJob(models.Model):
    """One request to render a text; one row per (agreement, kind, text) makes it idempotent."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="render_jobs")
    kind = models.CharField(max_length=10, choices=DocumentKind.choices)
    text_hash = models.CharField(max_length=64)
    status = models.CharField(
        max_length=8, choices=RenderStatus.choices, default=RenderStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "kind", "text_hash"], name="render_once_per_text"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} render of {self.agreement_id} ({self.status})"


@pghistory.track()
class ClauseReview(models.Model):
    """A party's legal team marks a deviating clause reviewed or accepted, for one text of it."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="reviews")
    clause_key = models.CharField(max_length=80)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=10, choices=ReviewState.choices)
    comment = models.TextField(blank=True)
    clause_hash = models.CharField(
        max_length=64, help_text="SHA-256 of the clause text reviewed; a new text needs review."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agreement", "clause_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "clause_key", "organisation"], name="one_review_per_party"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.state} {self.clause_key}"


class TemplateUpgrade(models.Model):
    """A facilitator moved an agreement in negotiation to a newer version of its template
    (agreements.negotiation.upgrade): the version differences became the facilitator's
    proposals. The agreement keeps ``from_version`` as its base; accepting every proposal
    gives ``to_version``'s text. One per agreement and target version."""

    agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="template_upgrades"
    )
    from_version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="+")
    to_version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposals = models.ManyToManyField(ClauseOverride, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agreement", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "to_version"], name="one_upgrade_per_target_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agreement_id} to {self.to_version}"


# Research approvals (agreements.approvals): the agreements app's tables, defined in their
# package.
from agreements.approvals.models import ApprovalReminderSent as ApprovalReminderSent  # noqa: E402
from agreements.approvals.models import ResearchApproval as ResearchApproval  # noqa: E402

# --- destruction duties (agreements/destruction/) ---------------------------------------------


class DestructionMethod(models.TextChoices):
    SECURE_DELETION = "secure_deletion", "Secure deletion (overwritten)"
    CRYPTOGRAPHIC_ERASURE = "crypto_erasure", "Cryptographic erasure (keys destroyed)"
    PHYSICAL = "physical", "Physical destruction of the media"
    RETURNED = "returned", "Returned to the district"


class DestructionDuty(models.Model):
    """A receiving party's obligation to destroy one data element of an agreement that has
    been in force, by the agreement's destruction deadline (``agreements.terms``: never
    stored here, so a termination moves it). Opened when the agreement becomes active;
    certified once by the receiving party (agreements/destruction/services.py)."""

    agreement = models.ForeignKey(
        Agreement, on_delete=models.PROTECT, related_name="destruction_duties"
    )
    data_element = models.ForeignKey(
        DataElement, on_delete=models.PROTECT, related_name="destruction_duties"
    )
    recipient = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    certified_at = models.DateTimeField(null=True, blank=True)
    method = models.CharField(max_length=16, choices=DestructionMethod.choices, blank=True)
    destroyed_on = models.DateField(null=True, blank=True)
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    certifier_name = models.CharField(max_length=200, blank=True)
    certifier_title = models.CharField(max_length=200, blank=True)
    attestation = models.TextField(blank=True, help_text="The statement the certifier affirmed.")
    evidence = models.FileField(upload_to="destruction/evidence/", max_length=300, blank=True)
    evidence_name = models.CharField(max_length=255, blank=True)
    evidence_sha256 = models.CharField(max_length=64, blank=True)
    certificate = models.FileField(
        upload_to="destruction/certificates/", max_length=300, blank=True
    )
    certificate_sha256 = models.CharField(max_length=64, blank=True)
    overdue_notified_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["agreement", "data_element__position", "data_element_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["data_element", "recipient"], name="destruction_duty_once"
            ),
            models.CheckConstraint(
                condition=models.Q(certified_at__isnull=True)
                | (
                    ~models.Q(method="")
                    & models.Q(destroyed_on__isnull=False)
                    & ~models.Q(certifier_name="")
                    & ~models.Q(attestation="")
                ),
                name="destruction_certified_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"Destruction of {self.data_element_id} by {self.recipient_id}"


class DestructionReminder(models.Model):
    """Keeps the daily destruction job from reminding twice for the same threshold."""

    duty = models.ForeignKey(DestructionDuty, on_delete=models.CASCADE, related_name="+")
    days_before = models.PositiveIntegerField()
    sent_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["duty", "days_before"], name="destruction_remind_once")
        ]

    def __str__(self) -> str:
        return f"{self.days_before}-day destruction reminder for {self.duty_id}"


# Costs and effort (issue 20): its own package, registered here with the app's models.
from agreements.costs.models import CostEntry as CostEntry  # noqa: E402

# Ownership and stewardship per data element (issue 20): its own package, in this app.
from agreements.ownership.models import (  # noqa: E402
    OwnershipConfirmation as OwnershipConfirmation,
)
from agreements.ownership.models import (  # noqa: E402
    OwnershipDifference as OwnershipDifference,
)
from agreements.ownership.models import (  # noqa: E402
    OwnershipPosition as OwnershipPosition,
)
