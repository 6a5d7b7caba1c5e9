"""Webhook limits (issue 18): the circuit breaker's fields, and one active endpoint per URL
per organisation. Endpoints registered twice before are reduced to the newest active one;
the older copies are disabled (their logs stay)."""

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def disable_duplicate_urls(apps, schema_editor):
    WebhookEndpoint = apps.get_model("partners", "WebhookEndpoint")
    seen: set[tuple[int, str]] = set()
    older = []
    for pk, organisation_id, url in (
        WebhookEndpoint.objects.filter(active=True)
        .order_by("-created_at", "-id")
        .values_list("pk", "organisation_id", "url")
    ):
        if (organisation_id, url) in seen:
            older.append(pk)
        seen.add((organisation_id, url))
    WebhookEndpoint.objects.filter(pk__in=older).update(
        active=False,
        disabled_at=timezone.now(),
        disabled_reason="Disabled: a newer endpoint of your organisation has the same URL.",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0004_calendar_feed"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookendpoint",
            name="breaker_notice_pending",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="consecutive_failures",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="disabled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="disabled_reason",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.RunPython(disable_duplicate_urls, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="webhookendpoint",
            constraint=models.UniqueConstraint(
                condition=models.Q(("active", True)),
                fields=("organisation", "url"),
                name="webhook_url_once_per_organisation",
                violation_error_message="Your organisation already has an active webhook endpoint with this URL.",
            ),
        ),
    ]
