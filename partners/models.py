"""Organisations, their people, and the partnerships (trios) they form in a collaboratory."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from partners.student_keys import LEGEND, FormatError, parse_format


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


def validate_student_key_format(value: str) -> None:
    try:
        parse_format(value)
    except FormatError as error:
        raise ValidationError(str(error), code="student_key_format") from None


class Organisation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=OrganisationKind.choices)
    website = models.URLField(blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    address = models.TextField(blank=True)
    # Districts only (issue 20): the format of the pseudonymous student keys its consent
    # records use (partners/student_keys.py); empty: keys shaped like names are refused.
    # Set through partners.student_key_settings, which audits it.
    student_key_format = models.CharField(
        max_length=200,
        blank=True,
        validators=[validate_student_key_format],
        help_text=f"Districts only. {LEGEND}",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=OrganisationKind.values), name="organisation_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(student_key_format="") | models.Q(kind="district"),
                name="student_key_format_districts_only",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.pk:
            clashing = (
                TrioMember.objects.filter(organisation_id=self.pk).exclude(role=self.kind).first()
            )
            if clashing is not None:
                raise ValidationError(
                    {
                        "kind": "This organisation takes part in trios as a "
                        f"{clashing.get_role_display().lower()}; its kind cannot change "
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


# --- Partner API: tokens and webhooks ------------------------------------------------------


class ApiScope(models.TextChoices):
    AGREEMENTS_READ = "agreements:read", "Read agreements, their terms and documents"
    CONSENT_READ = "consent:read", "Read aggregate consent coverage"
    WEBHOOKS_MANAGE = "webhooks:manage", "Manage webhook endpoints"


class ApiToken(models.Model):
    """A bearer token of one organisation. Only its SHA-256 digest is stored; the token is
    shown once, when it is created (``partners.api_auth.api_token_issue``)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What uses the token, e.g. 'SIS sync'.")
    prefix = models.CharField(max_length=16, help_text="First characters, to recognise it.")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    scopes = ArrayField(models.CharField(max_length=32, choices=ApiScope.choices), default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organisation", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scopes__contained_by=ApiScope.values),
                name="api_token_scopes_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.organisation}"


class WebhookEvent(models.TextChoices):
    STATUS_CHANGED = "agreement.status_changed", "An agreement changed status"
    DOCUMENT_READY = "agreement.document_ready", "A sealed document is ready"
    EXPIRING = "agreement.expiring", "An agreement expires soon"
    TERMINATION_NOTICED = (
        "agreement.termination_noticed",
        "Notice of termination was given (with the end and destruction dates)",
    )
    TERMINATION_WITHDRAWN = (
        "agreement.termination_withdrawn",
        "A notice of termination was withdrawn",
    )
    DESTRUCTION_DUE_SOON = (
        "destruction.due_soon",
        "A destruction deadline is 30, 7 or 1 days away and not certified",
    )
    DESTRUCTION_OVERDUE = "destruction.overdue", "A destruction deadline passed uncertified"
    DESTRUCTION_CERTIFIED = "destruction.certified", "A receiving party certified destruction"


class WebhookEndpoint(models.Model):
    """An HTTPS address of an organisation that receives signed event deliveries.

    An organisation has at most ``WEBHOOK_MAX_ENDPOINTS_PER_ORGANISATION`` active endpoints and
    one active endpoint per URL; the circuit breaker disables one after
    ``WEBHOOK_BREAKER_FAILURES`` failed attempts in a row (partners/webhooks.py).
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=80, editable=False)
    events = ArrayField(models.CharField(max_length=40, choices=WebhookEvent.choices))
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The circuit breaker: failed attempts since the last one that got a 2xx.
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Outbox flag: the organisation's admins are still to be told the breaker disabled it.
    breaker_notice_pending = models.BooleanField(default=False)

    class Meta:
        ordering = ["organisation", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(events__contained_by=WebhookEvent.values) & ~models.Q(events=[]),
                name="webhook_events_valid",
            ),
            # Disabled endpoints are history (their log stays): the same URL may be registered
            # again once its old endpoint is disabled.
            models.UniqueConstraint(
                fields=["organisation", "url"],
                condition=models.Q(active=True),
                name="webhook_url_once_per_organisation",
                violation_error_message="Your organisation already has an active webhook "
                "endpoint with this URL.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.url} ({self.organisation})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (gave up)"


class WebhookDelivery(models.Model):
    """One event for one endpoint. Unique per (endpoint, event id): an event is never
    delivered twice as two rows; retries and redeliveries reuse this row."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField()
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="deliver_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id} to {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery: append-only, visible to the organisation admin."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    manual = models.BooleanField(default=False, help_text="Redelivered by hand.")

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"


# --- Calendar feed (the research director's workspace) -------------------------------------


class CalendarFeed(models.Model):
    """A user's secret iCalendar feed address. Only the SHA-256 digest of its token is
    stored: the address is shown once, when it is made (``partners.calendar``); making a new
    one or revoking it stops the old address at once."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise it.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Calendar feed {self.prefix}… of {self.user}"


# --- Login throttling and e-mailed enrolment codes (issue 19) ------------------------------


class LoginThrottleScope(models.TextChoices):
    USERNAME = "username", "a username, from clients that failed for it"
    ADDRESS = "address", "a client address, for any username"
    CLIENT = "client", "a username from one client (address or known device)"


class LoginThrottle(models.Model):
    """Recent wrong passwords counted under one key (partners/login_throttle.py says how
    they delay further attempts). Rows are upserted in one statement per failure, so
    concurrent attempts cannot lose a count; a count older than the window restarts."""

    scope = models.CharField(max_length=10, choices=LoginThrottleScope.choices)
    key = models.CharField(max_length=300)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    #: When the account's owner was last e-mailed about wrong passwords (username scope).
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="partners_login_throttle_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}: {self.failures} wrong passwords"


class EnrolmentCode(models.Model):
    """A one-time code e-mailed to a user so they can prove control of their address before
    enrolling their first authenticator app (partners/two_factor.py). Only a keyed hash is
    stored; it expires soon, allows a few attempts and works once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolment_codes"
    )
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="partners_enrolcode_user")]

    def __str__(self) -> str:
        return f"Enrolment code for {self.user_id} ({self.created_at:%Y-%m-%d %H:%M})"


class Invitation(models.Model):
    """An organisation admin's invitation of a colleague by e-mail (partners/people.py).

    The link carries a random token; only its SHA-256 is stored. It works once, until
    ``expires_at``, unless revoked; re-sending makes a new token (the old link stops working).
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    roles = ArrayField(models.CharField(max_length=20, choices=Role.choices))
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations_sent",
    )
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations_accepted",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "email"], name="partners_invitation_org")]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organisation_id}"

    @property
    def role_labels(self) -> list[str]:
        return [str(Role(role).label) for role in self.roles]
