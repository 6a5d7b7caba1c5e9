"""One table of cost and effort entries, three kinds (legal review time, data preparation,
ongoing cost), each recorded by one party of an agreement.

One table rather than three: every kind follows the same privacy rule (``selectors``), is
shared the same way and adds up into the same totals; the kind's own fields are checked by
``CostEntry.clean`` and by database constraints (a legal entry has hours, an ongoing cost an
amount and a period, ...).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from agreements.models import Agreement
from partners.models import Organisation

#: The most hours one entry may book: a quarter of a working year. More is a typo (or
#: should be booked as several entries, e.g. per month).
MAX_HOURS = Decimal("500")
#: Rates, stipends and amounts: up to ten million in the entry's currency.
MAX_AMOUNT = Decimal("10000000")
DEFAULT_CURRENCY = "USD"

currency_validator = RegexValidator(
    r"^[A-Z]{3}$", "Use a three-letter ISO 4217 currency code, e.g. USD or EUR."
)


class CostKind(models.TextChoices):
    LEGAL_REVIEW = "legal_review", "Legal review time"
    DATA_PREPARATION = "data_preparation", "Data preparation"
    ONGOING = "ongoing", "Ongoing cost"


class LegalRole(models.TextChoices):
    IN_HOUSE_COUNSEL = "in_house_counsel", "In-house counsel"
    OUTSIDE_COUNSEL = "outside_counsel", "Outside counsel (on retainer)"
    PARALEGAL = "paralegal", "Paralegal"
    CONTRACTS_OFFICER = "contracts_officer", "Contracts officer"


class PreparedBy(models.TextChoices):
    DISTRICT_STAFF = "district_staff", "District staff"
    RESEARCHER_ON_SITE = "researcher_on_site", "Researcher on site, under supervision"
    CONTRACTOR = "contractor", "Contractor"


class Compensation(models.TextChoices):
    NONE = "none", "Not compensated"
    STIPEND = "stipend", "Stipend"
    GRANT_FUNDED = "grant_funded", "Grant-funded"
    IN_KIND = "in_kind", "In kind"


class CompensationState(models.TextChoices):
    PROMISED = "promised", "Promised"
    PAID = "paid", "Paid"


class CostCategory(models.TextChoices):
    STORAGE = "storage", "Storage"
    TRANSFER = "transfer", "Transfer"
    SECURITY = "security", "Security"
    MAINTENANCE = "maintenance", "Maintenance"
    OTHER = "other", "Other"


class CostPeriod(models.TextChoices):
    ONE_OFF = "one_off", "One-off"
    MONTHLY = "monthly", "Monthly"
    YEARLY = "yearly", "Yearly"


def _money(**kwargs) -> models.DecimalField:
    return models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_AMOUNT)],
        **kwargs,
    )


class CostEntry(models.Model):
    """One party's record of time or money spent on one agreement.

    Private to ``organisation`` (the party that recorded it) until it is ``shared`` with the
    trio; see ``agreements.costs.selectors`` for who sees what.
    """

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="cost_entries")
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The party that recorded the entry and to which it belongs.",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=CostKind.choices)
    shared = models.BooleanField(
        default=False, help_text="Shared with the trio (and the collaboratory's facilitators)."
    )
    shared_at = models.DateTimeField(null=True, blank=True)
    occurred_on = models.DateField(help_text="When the work was done or the cost started.")
    note = models.TextField(blank=True, max_length=2000)
    # Legal review time and data preparation.
    hours = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(MAX_HOURS)],
    )
    # Legal review time.
    legal_role = models.CharField(max_length=20, choices=LegalRole.choices, blank=True)
    hourly_rate = _money()
    clause_key = models.CharField(
        max_length=80, blank=True, help_text="The clause of the agreement the time was spent on."
    )
    # Data preparation.
    prepared_by = models.CharField(max_length=20, choices=PreparedBy.choices, blank=True)
    compensation = models.CharField(max_length=14, choices=Compensation.choices, blank=True)
    stipend_amount = _money()
    funding_source = models.CharField(max_length=200, blank=True)
    compensation_state = models.CharField(
        max_length=10, choices=CompensationState.choices, blank=True
    )
    # Ongoing cost.
    category = models.CharField(max_length=12, choices=CostCategory.choices, blank=True)
    amount = _money()
    period = models.CharField(max_length=8, choices=CostPeriod.choices, blank=True)
    # The currency of the rate, the stipend or the amount.
    currency = models.CharField(
        max_length=3, default=DEFAULT_CURRENCY, validators=[currency_validator]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agreement", "-occurred_on", "-id"]
        verbose_name_plural = "cost entries"
        indexes = [
            models.Index(fields=["agreement", "organisation"], name="costentry_agreement_org"),
            models.Index(
                fields=["agreement"], condition=models.Q(shared=True), name="costentry_shared"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=CostKind.values), name="costentry_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(hours__isnull=True) | models.Q(hours__gt=0),
                name="costentry_hours_positive",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=["legal_review", "data_preparation"])
                | models.Q(hours__isnull=False),
                name="costentry_time_has_hours",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="ongoing")
                | (models.Q(amount__isnull=False) & ~models.Q(period="")),
                name="costentry_ongoing_has_amount",
            ),
            models.CheckConstraint(
                condition=models.Q(shared=False) | models.Q(shared_at__isnull=False),
                name="costentry_shared_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.organisation_id} on {self.agreement_id}"

    def clean(self) -> None:
        """What each kind needs; an error names the field to fix."""
        errors: dict[str, str] = {}
        if self.kind in (CostKind.LEGAL_REVIEW, CostKind.DATA_PREPARATION):
            if self.hours is None:
                errors["hours"] = "Enter the hours spent (more than 0)."
        if self.kind == CostKind.LEGAL_REVIEW:
            if not self.legal_role:
                errors["legal_role"] = "Choose who did the review (e.g. in-house counsel)."
        elif self.kind == CostKind.DATA_PREPARATION:
            if not self.prepared_by:
                errors["prepared_by"] = "Choose who prepared the data."
            if not self.compensation:
                errors["compensation"] = "Choose how the work is compensated."
            elif self.compensation == Compensation.NONE:
                if self.stipend_amount is not None:
                    errors["stipend_amount"] = (
                        "Uncompensated work has no stipend: choose a compensation or leave "
                        "the amount empty."
                    )
                if self.compensation_state:
                    errors["compensation_state"] = (
                        "Uncompensated work is neither promised nor paid: leave it empty."
                    )
            else:
                if self.compensation == Compensation.STIPEND and self.stipend_amount is None:
                    errors["stipend_amount"] = "Enter the stipend's amount."
                if not self.compensation_state:
                    errors["compensation_state"] = "Say whether it is promised or paid."
            if self.compensation == Compensation.GRANT_FUNDED and not self.funding_source:
                errors["funding_source"] = "Name the grant or funder that pays for it."
        elif self.kind == CostKind.ONGOING:
            if not self.category:
                errors["category"] = "Choose what the cost is for (storage, transfer, ...)."
            if self.amount is None:
                errors["amount"] = "Enter the amount."
            if not self.period:
                errors["period"] = "Choose whether it is one-off, monthly or yearly."
        if errors:
            raise ValidationError(errors)
