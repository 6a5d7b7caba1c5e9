from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """Indexes that keep the pages a party uses as fast at 100,000 agreements as at 10,000
    (bench/bench_pages.py): each answers its query's rows and order from the index alone.

    Built CONCURRENTLY: on a live agreements table a plain CREATE INDEX would hold writes
    (every save of an agreement) for as long as the build takes. The (trio, status) index is
    dropped after its replacement, which starts with the same two columns, exists."""

    atomic = False

    dependencies = [
        ("agreements", "0016_template_upgrade"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="agreement",
            index=models.Index(fields=["trio", "-updated_at", "id"], name="agreement_trio_recent"),
        ),
        AddIndexConcurrently(
            model_name="agreement",
            index=models.Index(
                fields=["trio", "status", "expires_on", "reference"],
                include=["id"],
                name="agreement_trio_status_expiry",
            ),
        ),
        RemoveIndexConcurrently(model_name="agreement", name="agreements__trio_id_610768_idx"),
    ]
