"""Celery tasks: thin, take ids, call services, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from consent import services


@shared_task(name="consent.rebuild_trend", soft_time_limit=600, time_limit=660)
def rebuild_trend(agreement_id: str) -> int:
    """Recompute one agreement's coverage trend after its consent changed."""
    return services.coverage_trend_rebuild(agreement_id=agreement_id)


@shared_task(name="consent.daily")
def daily() -> dict[str, int]:
    """Beat, once a day: re-derive states that aged out (students turning 18), then purge
    the consent data of agreements that ended longer ago than CONSENT_RETENTION_DAYS."""
    today = timezone.localdate()
    refreshed = services.consent_states_refresh(today=today)
    purged = services.consent_purge_expired(today=today)
    return {"refreshed": refreshed, "purged_agreements": len(purged)}
