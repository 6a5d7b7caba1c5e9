"""Agreements terminated before terminations took effect on ``ends_on`` get their actual end.

Until issue 16 a termination ended the agreement at once and recorded no end date, so the
destruction deadline of a terminated agreement still ran from its expiry (expiry plus the
retention period), months or years after the data stopped flowing. The day it ended is the
day its status became terminated; ``ends_on`` is set to that day (never later than the expiry),
so the deadline runs from the actual end as the text says ("within [[retention_days]] days
after the end of the Term"). ``ends_on`` is not part of the frozen text (0009), so the
signed-text trigger allows it; pghistory records the change. Reversing clears only what this
set (terminated rows without a ground: notices since 0009 always record one).
"""

from django.db import migrations

FORWARD = """
UPDATE agreements_agreement
   SET ends_on = LEAST((status_changed_at AT TIME ZONE 'UTC')::date, expires_on)
 WHERE status = 'terminated' AND ends_on IS NULL
"""

BACKWARD = """
UPDATE agreements_agreement
   SET ends_on = NULL
 WHERE status = 'terminated' AND termination_ground = ''
"""


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0010_normalise_stored_text"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
