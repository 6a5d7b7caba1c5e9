"""Consent requirements, form versions, append-only consent records and their audit logs.

Students appear only under a pseudonymous key the district controls; the platform stores no
names. Rules live in ``consent.rules`` (the effective state) and ``consent.services`` (every
write); PostgreSQL keeps records append-only and form versions immutable (migration 0002).
"""

from __future__ import annotations

import uuid

import pghistory
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from agreements.models import Agreement, DataElement
from consent.rules import Action, ConsentKind, GivenBy, Method, State
from partners.models import Organisation, TrioRole
from partners.student_keys import student_key_problem

STUDENT_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
student_key_validator = RegexValidator(
    STUDENT_KEY_PATTERN,
    "A student key is the district's pseudonymous ID: 1-64 letters, digits, dots, hyphens or "
    "underscores, starting with a letter or digit. Never a name.",
)


def _district_key_problem(agreement_id, key: str, *, kept: bool) -> str:
    """The model-level twin of the services' key check (``consent.student_keys``): a key
    kept from before passes; any other must satisfy the agreement's district's rule. The
    message never echoes the key."""
    if kept or not agreement_id:
        return ""
    district = Organisation.objects.filter(
        trio_memberships__trio__agreements=agreement_id,
        trio_memberships__role=TrioRole.DISTRICT,
    ).first()
    return student_key_problem(district, key)


language_validator = RegexValidator(
    r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", "Use a language tag such as en, es or zh-Hant."
)


@pghistory.track()
class ConsentRequirement(models.Model):
    """What consent an agreement (or one of its data elements) needs before data flows."""

    agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="consent_requirements"
    )
    data_element = models.ForeignKey(
        DataElement,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="consent_requirements",
        help_text="Empty: the requirement applies to the whole agreement.",
    )
    kind = models.CharField(max_length=16, choices=ConsentKind.choices)
    legal_basis = models.TextField(
        blank=True,
        help_text="Why no consent is needed (e.g. the FERPA studies exception for de-identified "
        "data); required when the kind is none.",
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agreement", "data_element_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement"],
                condition=models.Q(data_element__isnull=True),
                name="one_agreement_wide_consent_requirement",
            ),
            models.UniqueConstraint(
                fields=["agreement", "data_element"],
                condition=models.Q(data_element__isnull=False),
                name="one_consent_requirement_per_element",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ConsentKind.values), name="consent_kind_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="none") | ~models.Q(legal_basis=""),
                name="no_consent_needs_legal_basis",
            ),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()

    def clean(self) -> None:
        if self.kind == ConsentKind.NONE and not self.legal_basis.strip():
            raise ValidationError({"legal_basis": "Record the legal basis for needing no consent."})


class ConsentForm(models.Model):
    """One version of the consent form text families see, in one language. Immutable: a
    changed text is a new version (a trigger refuses updates)."""

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="consent_forms")
    language = models.CharField(max_length=20, validators=[language_validator])
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    body = models.TextField()
    body_sha256 = models.CharField(max_length=64, editable=False)
    effective_date = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agreement", "language", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "language", "version"], name="consent_form_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.language}, v{self.version})"


class StudentConsent(models.Model):
    """One student of an agreement's consent cohort: attributes and the current effective
    state. Written only by the consent services, in the same transaction as the records it
    summarises (``rules.effective_state`` of the latest decision of each giver), so the
    coverage dashboard reads one small row per student instead of the whole history."""

    agreement = models.ForeignKey(
        Agreement, on_delete=models.PROTECT, related_name="consent_students", db_index=False
    )
    student_key = models.CharField(max_length=64, validators=[student_key_validator])
    school = models.CharField(max_length=100, blank=True)
    grade = models.SmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(12)],
        help_text="0 is kindergarten.",
    )
    birth_year = models.SmallIntegerField(null=True, blank=True)
    parent_action = models.CharField(max_length=10, choices=Action.choices, blank=True)
    parent_decided_on = models.DateField(null=True, blank=True)
    parent_record_id = models.BigIntegerField(null=True, blank=True)
    student_action = models.CharField(max_length=10, choices=Action.choices, blank=True)
    student_decided_on = models.DateField(null=True, blank=True)
    student_record_id = models.BigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.NO_RESPONSE)
    permitted = models.BooleanField(default=False)
    state_as_of = models.DateField()
    state_valid_until = models.DateField(null=True, blank=True)
    last_export = models.ForeignKey(
        "ConsentExport",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agreement", "student_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "student_key"], name="one_student_per_agreement"
            )
        ]
        indexes = [
            # States that age out (a student turns 18) are found without a scan.
            models.Index(fields=["agreement", "state_valid_until"], name="consent_aging_idx"),
            models.Index(
                fields=["agreement", "last_export"],
                name="consent_exported_idx",
                condition=models.Q(last_export__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.student_key

    def clean(self) -> None:
        kept = (
            self.pk is not None
            and StudentConsent.objects.filter(pk=self.pk, student_key=self.student_key).exists()
        )
        problem = _district_key_problem(self.agreement_id, self.student_key, kept=kept)
        if problem:
            raise ValidationError({"student_key": problem}, code="student_key_refused")

    @property
    def grade_label(self) -> str:
        if self.grade is None:
            return ""
        return "K" if self.grade == 0 else str(self.grade)


class CoverageCount(models.Model):
    """How many students of an agreement are in each state, per school and grade: the
    coverage dashboard's numbers, kept up to date by the same code and transaction that
    write ``StudentConsent`` rows (as deltas), so the dashboard reads a few hundred rows
    whatever the number of students. ``consent_states_rebuild`` recounts from scratch."""

    agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    school = models.CharField(max_length=100, blank=True)
    grade = models.SmallIntegerField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=State.choices)
    students = models.IntegerField()

    class Meta:
        ordering = ["agreement", "school", "grade", "state"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "school", "grade", "state"],
                nulls_distinct=False,
                name="one_count_per_cell",
            )
        ]

    def __str__(self) -> str:
        return f"{self.school} {self.grade} {self.state}: {self.students}"


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", "Previewed, waiting for confirmation"
    IMPORTED = "imported", "Imported"
    REJECTED = "rejected", "Rejected: the file has errors"
    DISCARDED = "discarded", "Discarded"


class ConsentImport(models.Model):
    """A CSV upload: kept (with its SHA-256) between preview and confirmation, so the
    confirmation imports exactly the file that was previewed. The content is cleared once
    imported or discarded; the log (who, when, counts) stays."""

    agreement = models.ForeignKey(
        Agreement, on_delete=models.PROTECT, related_name="consent_imports"
    )
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.PREVIEWED
    )
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField(editable=False, default=bytes)
    default_form = models.ForeignKey(ConsentForm, on_delete=models.PROTECT, related_name="+")
    row_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="The first row errors.")
    counts = models.JSONField(default=dict, blank=True, help_text="Rows by decision.")
    records_created = models.PositiveIntegerField(default=0)
    students_created = models.PositiveIntegerField(default=0)
    students_updated = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    finished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"


class ConsentRecord(models.Model):
    """One decision about one student: append-only (a trigger refuses updates and deletes
    other than the retention purge). A withdrawal is a new record."""

    # Built for 100,000-row imports: no single-column indexes (the composite ones below
    # start with the agreement), and instead of four per-row foreign key checks one
    # statement-level check (migration 0002) that the form is a version of the record's own
    # agreement. Recorder and import are audit details that the application sets.
    agreement = models.ForeignKey(
        Agreement,
        on_delete=models.PROTECT,
        related_name="consent_records",
        db_index=False,
        db_constraint=False,
    )
    student_key = models.CharField(max_length=64, validators=[student_key_validator])
    action = models.CharField(max_length=10, choices=Action.choices)
    given_by = models.CharField(max_length=10, choices=GivenBy.choices)
    method = models.CharField(max_length=12, choices=Method.choices)
    witness = models.CharField(
        max_length=200, blank=True, help_text="Staff member who witnessed a verbal decision."
    )
    decided_on = models.DateField()
    form = models.ForeignKey(
        ConsentForm,
        on_delete=models.PROTECT,
        related_name="records",
        db_index=False,
        db_constraint=False,
    )
    # Random, so unique by construction; not indexed (receipts are found by record).
    receipt_id = models.UUIDField(default=uuid.uuid4, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    source_import = models.ForeignKey(
        ConsentImport,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="records",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        ordering = ["agreement", "student_key", "decided_on", "id"]
        indexes = [
            # A student's history, and the latest decision per giver (DISTINCT ON).
            models.Index(
                fields=["agreement", "student_key", "given_by", "decided_on", "id"],
                name="consent_history_idx",
            ),
            # "Withdrawals since the last roster": only withdrawals are indexed, so imports
            # of grants pay nothing for it.
            models.Index(
                fields=["agreement", "recorded_at"],
                name="consent_withdrawals_idx",
                condition=models.Q(action="withdrawn"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=Action.values), name="consent_action_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(given_by__in=GivenBy.values), name="consent_given_by_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(method__in=Method.values), name="consent_method_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(method="verbal") | ~models.Q(witness=""),
                name="verbal_consent_has_witness",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student_key}: {self.get_action_display()} by {self.get_given_by_display()}"

    def clean(self) -> None:
        # A student already in the cohort keeps the key they were recorded under.
        kept = StudentConsent.objects.filter(
            agreement_id=self.agreement_id, student_key=self.student_key
        ).exists()
        problem = _district_key_problem(self.agreement_id, self.student_key, kept=kept)
        if problem:
            raise ValidationError({"student_key": problem}, code="student_key_refused")


class ConsentExport(models.Model):
    """The log of one consented-roster export (never its content)."""

    # Set by consent.selectors' annotation of what changed since the export (not columns).
    withdrawals_since: int | None
    not_permitted_since: int | None
    aged_out_on_roster: int | None

    agreement = models.ForeignKey(
        Agreement, on_delete=models.PROTECT, related_name="consent_exports"
    )
    recipient = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField()
    columns = models.JSONField(default=list)
    row_count = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    exported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-exported_at", "-id"]
        indexes = [models.Index(fields=["agreement", "exported_at"])]

    def __str__(self) -> str:
        return f"Roster of {self.row_count} for {self.recipient} on {self.as_of}"


class CoverageSnapshot(models.Model):
    """Students per state on one day, for the trend chart (rebuilt from the records)."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["agreement", "day"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "day"], name="one_snapshot_per_day")
        ]

    def __str__(self) -> str:
        return f"Coverage on {self.day}"


class ConsentPurgeLog(models.Model):
    """What the retention purge removed: counts only, never student data."""

    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="+")
    agreement_reference = models.CharField(max_length=32)
    agreement_status = models.CharField(max_length=12)
    ended_on = models.DateField()
    retention_days = models.PositiveIntegerField()
    records_deleted = models.PositiveIntegerField()
    students_deleted = models.PositiveIntegerField()
    snapshots_deleted = models.PositiveIntegerField()
    purged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-purged_at"]

    def __str__(self) -> str:
        return f"{self.agreement_reference}: {self.records_deleted} records purged"
