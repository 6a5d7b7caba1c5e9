"""Fast rows for API tests that need many agreements across many trios (bypassing the
services on purpose: these tests are about reading, not the rules of writing)."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from agreements.models import Agreement, TemplateVersion
from partners.models import Collaboratory, Organisation
from partners.services import trio_create

_counter = itertools.count(1)


def make_trio(collaboratory: Collaboratory, *, district: Organisation | None = None):
    n = next(_counter)
    research = Organisation.objects.create(name=f"Lab {n}", slug=f"lab-{n}", kind="research")
    district = district or Organisation.objects.create(
        name=f"District {n}", slug=f"district-{n}", kind="district"
    )
    developer = Organisation.objects.create(name=f"Dev {n}", slug=f"dev-{n}", kind="developer")
    return trio_create(
        collaboratory=collaboratory,
        name=f"Trio {n}",
        research=research,
        district=district,
        developer=developer,
    )


def make_agreements(trio, count: int, *, version: TemplateVersion | None = None, **fields):
    version = version or TemplateVersion.objects.filter(status="published").first()
    now = timezone.now()
    today = timezone.localdate()
    rows = []
    for _ in range(count):
        n = next(_counter)
        rows.append(
            Agreement(
                reference=f"T-{n:06d}",
                trio=trio,
                template_version=version,
                title=f"Agreement {n}",
                purpose="Test purpose.",
                sharing_mode="analysis",
                start_date=today,
                expires_on=today + dt.timedelta(days=365),
                breach_notice_hours=72,
                retention_days=90,
                status=fields.get("status", "active"),
                status_changed_at=now,
            )
        )
    return Agreement.objects.bulk_create(rows)
