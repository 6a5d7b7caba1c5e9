from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.models.functions import Coalesce, Least


def _deadline():
    """agreements.terms.destruction_deadline_sql as it stood when this migration was written."""
    by_retention = models.ExpressionWrapper(
        Least(
            Coalesce(models.F("ends_on"), models.F("expires_on")),
            models.F("expires_on"),
            output_field=models.DateField(),
        )
        + models.F("retention_days"),
        output_field=models.DateField(),
    )
    return Least(
        by_retention,
        Coalesce(models.F("destruction_date"), by_retention),
        output_field=models.DateField(),
    )


class Migration(migrations.Migration):
    """The dashboard's "Coming up" reads only the agreements whose date falls in its window:
    a party's active agreements by their actual end, its expired and terminated ones by their
    destruction deadline (agreements.terms). Without them it read every active and ended
    agreement of the party's trios and computed each date (930 rows for 46 shown at 100,000
    agreements).

    The indexed expressions are the terms' SQL forms, so PostgreSQL matches the dashboard's
    query to them (tests/agreements/test_dashboard_indexes.py checks the plan). Built
    CONCURRENTLY, as 0017: a plain CREATE INDEX would hold every save of an agreement."""

    atomic = False

    dependencies = [
        ("agreements", "0022_ownership_history"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="agreement",
            index=models.Index(
                models.F("trio"),
                Least(
                    Coalesce(models.F("ends_on"), models.F("expires_on")),
                    models.F("expires_on"),
                    output_field=models.DateField(),
                ),
                condition=models.Q(status="active"),
                name="agreement_trio_active_end",
            ),
        ),
        AddIndexConcurrently(
            model_name="agreement",
            index=models.Index(
                models.F("trio"),
                _deadline(),
                condition=models.Q(status__in=["expired", "terminated"]),
                name="agreement_trio_ended_deadline",
            ),
        ),
    ]
