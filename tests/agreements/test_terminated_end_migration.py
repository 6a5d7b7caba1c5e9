"""Migration 0011: agreements terminated before notices took effect on ``ends_on`` get the day
they ended, so their destruction deadline runs from the actual end."""

from __future__ import annotations

import datetime as dt
import importlib

from django.db import connection

from agreements.models import Agreement, Status
from agreements.terms import destruction_deadline

EXPIRED = "Adaptive Practice Pilot 2024"
FORWARD = importlib.import_module("agreements.migrations.0011_terminated_agreements_end").FORWARD


def test_an_old_termination_gets_its_end_and_a_deadline_from_it(demo):
    agreement = demo["agreements"][EXPIRED]
    ended = agreement.expires_on - dt.timedelta(days=100)
    # As the first round left it: terminated at once, no end date, no ground.
    when = dt.datetime.combine(ended, dt.time(15, 30), tzinfo=dt.UTC)
    Agreement.objects.filter(pk=agreement.pk).update(
        status=Status.TERMINATED, status_changed_at=when
    )
    agreement.refresh_from_db()
    assert agreement.ends_on is None
    before = destruction_deadline(agreement)
    assert before == min(
        agreement.expires_on + dt.timedelta(days=agreement.retention_days),
        agreement.destruction_date or dt.date.max,
    )

    with connection.cursor() as cursor:
        cursor.execute(FORWARD)

    agreement.refresh_from_db()
    assert agreement.ends_on == ended
    assert destruction_deadline(agreement) == min(
        ended + dt.timedelta(days=agreement.retention_days),
        agreement.destruction_date or dt.date.max,
    )
    assert destruction_deadline(agreement) < before
    # Rows that are not terminated, or already have an end, are left alone.
    others = Agreement.objects.exclude(pk=agreement.pk)
    assert not others.filter(ends_on__isnull=False, termination_ground="").exists()
