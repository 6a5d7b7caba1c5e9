"""Cycle time: how many days an agreement spent in each stage before it came into force, from
the transition record (``agreements.models.Transition``, written only by
``agreements.lifecycle.transition``).

An agreement enters ``draft`` when it is created and each later stage at the transition
into it; it leaves a stage at the next transition (``LEAD`` over its transitions, in
PostgreSQL). A stage visited twice (review sent back to negotiation) counts both stays. The
stage an agreement is in now counts until ``now`` and is marked open; averages and medians
use finished stays only, so an agreement still negotiating does not pull a median down.
``total`` is the days from creation to coming into force (the first transition to
``active``), for agreements that got there.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from agreements.models import Agreement, Status

#: The stages before an agreement is in force, in order.
STAGES: tuple[str, ...] = (Status.DRAFT, Status.NEGOTIATING, Status.IN_REVIEW, Status.SIGNING)
TOTAL = "total"
STAGE_LABELS: dict[str, str] = {
    **{stage: Status(stage).label for stage in STAGES},
    TOTAL: "Creation to in force",
}

# ``chosen``: the agreements asked about (a subquery compiled from a queryset, so the access
# rule that built it applies here too).
_CTE = """
WITH chosen AS (
    SELECT a.id, a.trio_id, v.template_id, a.created_at
    FROM agreements_agreement a
    JOIN agreements_templateversion v ON v.id = a.template_version_id
    WHERE a.id IN ({agreements})
),
steps AS (
    SELECT c.id AS agreement_id, 'draft'::varchar AS stage, c.created_at AS entered,
           0::bigint AS seq
    FROM chosen c
    UNION ALL
    SELECT t.agreement_id, t.to_status, t.at, t.id
    FROM agreements_transition t
    WHERE t.agreement_id IN (SELECT id FROM chosen)
),
spans AS (
    SELECT agreement_id, stage, entered,
           LEAD(entered) OVER (PARTITION BY agreement_id ORDER BY entered, seq) AS left_at
    FROM steps
),
per_agreement AS (
    SELECT agreement_id, stage,
           SUM(EXTRACT(EPOCH FROM (COALESCE(left_at, %s) - entered))) / 86400.0 AS days,
           BOOL_OR(left_at IS NULL) AS open
    FROM spans
    WHERE stage IN ('draft', 'negotiating', 'in_review', 'signing')
    GROUP BY agreement_id, stage
    UNION ALL
    SELECT c.id, 'total',
           EXTRACT(EPOCH FROM (MIN(s.entered) - c.created_at)) / 86400.0, false
    FROM chosen c JOIN spans s ON s.agreement_id = c.id AND s.stage = 'active'
    GROUP BY c.id, c.created_at
)
"""


def _subquery(agreements: QuerySet[Agreement]) -> tuple[str, tuple[Any, ...]]:
    sql, params = agreements.order_by().values("id").query.sql_with_params()
    return sql, tuple(params)


@dataclass(frozen=True)
class StageTime:
    stage: str
    days: float
    open: bool = False

    @property
    def label(self) -> str:
        return STAGE_LABELS[self.stage]


def agreement_cycle(agreement_id: Any, *, now=None) -> list[StageTime]:
    """Days per stage of one agreement, in stage order (stages it never reached left out),
    then ``total`` once it came into force. One query."""
    # Only placeholders and our own constant SQL are formatted in; values travel as params.
    sql = _CTE.format(agreements="%s") + "SELECT stage, days, open FROM per_agreement"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [str(agreement_id), now or timezone.now()])
        rows = {
            stage: StageTime(stage, float(days), bool(is_open)) for stage, days, is_open in cursor
        }
    return [rows[stage] for stage in (*STAGES, TOTAL) if stage in rows]


@dataclass(frozen=True)
class StageStats:
    stage: str
    average: float
    median: float
    agreements: int

    @property
    def label(self) -> str:
        return STAGE_LABELS[self.stage]


@dataclass
class CycleStats:
    """Averages and medians of finished stays per stage: per trio, per template and for all
    the agreements asked about (``overall``)."""

    by_trio: dict[int, dict[str, StageStats]]
    by_template: dict[int, dict[str, StageStats]]
    overall: dict[str, StageStats]


def cycle_stats(agreements: QuerySet[Agreement], *, now=None) -> CycleStats:
    """Per-trio, per-template and overall statistics of ``agreements``' stages in one query
    (``GROUPING SETS``: PostgreSQL computes the three groupings in one pass)."""
    inner, params = _subquery(agreements)
    sql = (
        _CTE.format(agreements=inner)  # noqa: S608 - Django's compiled subquery, values as params
        + """
    SELECT c.trio_id, c.template_id, p.stage,
           GROUPING(c.trio_id) AS no_trio, GROUPING(c.template_id) AS no_template,
           AVG(p.days), percentile_cont(0.5) WITHIN GROUP (ORDER BY p.days), COUNT(*)
    FROM per_agreement p JOIN chosen c ON c.id = p.agreement_id
    WHERE NOT p.open
    GROUP BY GROUPING SETS ((c.trio_id, p.stage), (c.template_id, p.stage), (p.stage))
    """
    )
    by_trio: dict[int, dict[str, StageStats]] = defaultdict(dict)
    by_template: dict[int, dict[str, StageStats]] = defaultdict(dict)
    overall: dict[str, StageStats] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, now or timezone.now()])
        for trio_id, template_id, stage, no_trio, no_template, average, median, n in cursor:
            stats = StageStats(stage, float(average), float(median), n)
            if not no_trio:
                by_trio[trio_id][stage] = stats
            elif not no_template:
                by_template[template_id][stage] = stats
            else:
                overall[stage] = stats
    return CycleStats(by_trio=dict(by_trio), by_template=dict(by_template), overall=overall)
