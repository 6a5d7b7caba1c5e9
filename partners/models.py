"""Organisations, their people, and the partnerships (trios) they form in a collaboratory."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models


class OrganisationKind(models.TextChoices):
    RESEARCH = "research", "Research partner"
    DISTRICT = "district", "School district"
    DEVELOPER = "developer", "Curriculum developer"
    FACILITATOR = "facilitator", "Facilitator"
    FUNDER = "funder", "Funder"


class Role(models.TextChoices):
    DIRECTOR = "director", "Research director"
    LEGAL = "legal", "Legal team"
    SIGNATORY = "signatory", "Signatory"
    STAFF = "staff", "Staff"
    ADMIN = "admin", "Organisation admin"


class Organisation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=OrganisationKind.choices)
    website = models.URLField(blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    address = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=OrganisationKind.values), name="organisation_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.pk:
            clashing = TrioMember.objects.filter(organisation_id=self.pk).exclude(role=self.kind)
            if clashing.exists():
                raise ValidationError(
                    {
                        "kind": "This organisation takes part in trios as a "
                        f"{clashing.first().get_role_display().lower()}; its kind cannot change "
                        "while it does."
                    }
                )


class Membership(models.Model):
    """A user's role in an organisation; one row per role (a person may hold several)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation__name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="membership_unique_role"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.organisation}"


class Collaboratory(models.Model):
    """A community of practice grouping partnerships, e.g. fourteen trios on algebra."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    code = models.CharField(
        max_length=8,
        unique=True,
        validators=[RegexValidator(r"^[A-Z][A-Z0-9]{1,7}$", "Use 2-8 capital letters or digits.")],
        help_text="Prefix of agreement references, e.g. AIMS in AIMS-2026-007.",
    )
    description = models.TextField(blank=True)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="staffed_collaboratories",
        help_text="Facilitators who see every trio of this collaboratory.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "collaboratories"

    def __str__(self) -> str:
        return self.name


class TrioRole(models.TextChoices):
    RESEARCH = OrganisationKind.RESEARCH.value, "Research partner"
    DISTRICT = OrganisationKind.DISTRICT.value, "School district"
    DEVELOPER = OrganisationKind.DEVELOPER.value, "Curriculum developer"


class Trio(models.Model):
    """A partnership of exactly three organisations: research, district and developer.

    The members live in ``TrioMember`` rows so other partnership shapes stay possible later;
    a trio is validated as such by ``partners.services.validate_trio_organisations``, by
    unique constraints, and by PostgreSQL triggers (see migration 0002).
    """

    collaboratory = models.ForeignKey(Collaboratory, on_delete=models.PROTECT, related_name="trios")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80)
    description = models.TextField(blank=True)
    organisations = models.ManyToManyField(Organisation, through="TrioMember", related_name="trios")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["collaboratory", "slug"], name="trio_slug_unique"),
            models.UniqueConstraint(fields=["collaboratory", "name"], name="trio_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def member(self, role: str) -> Organisation | None:
        """The member organisation in ``role``; uses prefetched members when present."""
        for member in self.members.all():
            if member.role == role:
                return member.organisation
        return None


class TrioMember(models.Model):
    trio = models.ForeignKey(Trio, on_delete=models.CASCADE, related_name="members")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="trio_memberships"
    )
    role = models.CharField(max_length=20, choices=TrioRole.choices)

    class Meta:
        ordering = ["trio", "role"]
        constraints = [
            models.UniqueConstraint(fields=["trio", "role"], name="trio_one_member_per_role"),
            models.UniqueConstraint(fields=["trio", "organisation"], name="trio_organisation_once"),
            models.CheckConstraint(
                condition=models.Q(role__in=TrioRole.values), name="trio_member_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} ({self.get_role_display()}) in {self.trio}"

    def clean(self) -> None:
        if self.organisation_id and self.organisation.kind != self.role:
            raise ValidationError(
                {
                    "organisation": f"{self.organisation} is a "
                    f"{self.organisation.get_kind_display().lower()}, so it cannot be the "
                    f"trio's {self.get_role_display().lower()}."
                }
            )


class ResearchQuestion(models.Model):
    """What a partnership wants to learn; every data element must answer at least one."""

    trio = models.ForeignKey(Trio, on_delete=models.CASCADE, related_name="research_questions")
    text = models.TextField()
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["trio", "position", "id"]

    def __str__(self) -> str:
        return self.text[:80]
