"""Login throttling state and e-mailed enrolment codes (issue 19, items 3 and 4).

django-axes is no longer installed (partners/login_throttle.py says why); its tables, left
behind in databases it migrated, are dropped.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0007_people"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="LoginThrottle",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "scope",
                    models.CharField(
                        choices=[
                            ("username", "a username, from clients that failed for it"),
                            ("address", "a client address, for any username"),
                            ("client", "a username from one client (address or known device)"),
                        ],
                        max_length=10,
                    ),
                ),
                ("key", models.CharField(max_length=300)),
                ("failures", models.PositiveIntegerField(default=0)),
                ("last_failure_at", models.DateTimeField(blank=True, null=True)),
                ("notified_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("scope", "key"), name="partners_login_throttle_key"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="EnrolmentCode",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("digest", models.CharField(editable=False, max_length=64)),
                ("created_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField()),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="enrolment_codes",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["user", "-created_at"], name="partners_enrolcode_user")
                ],
            },
        ),
        migrations.RunSQL(
            "DROP TABLE IF EXISTS axes_accessattempt, axes_accessfailurelog, axes_accesslog, "
            "axes_accessattemptexpiration",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
