"""The facilitator's cost report for one collaboratory: trios and templates compared by what
their parties shared (hours, fees, stipends, ongoing costs) and by cycle time, and which
clauses cost the most negotiation time. Rendered as tables, a server-drawn SVG chart and a
CSV file.

Everything here is built from shared entries only (``selectors.shared_entries``): the
facilitator acts for no party, so no private entry reaches the report, not even inside a
sum. Negotiation time per clause comes from the proposals and the parties' discussions
(internal notes are a party's own and are left out): from the first proposal or discussion
on a clause of an agreement until the last of them was decided or resolved; a clause with
something still open counts as open, not in the durations.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

from django.db import connection
from django.db.models import Count, QuerySet, Sum

from agreements.costs.cycle import (
    STAGE_LABELS,
    STAGES,
    TOTAL,
    CycleStats,
    StageStats,
    cycle_stats,
)
from agreements.costs.models import CostKind
from agreements.costs.selectors import Totals, shared_entries, totals_by
from agreements.models import Agreement, Clause, DSATemplate
from collaboratory import csv_safe
from partners.models import Collaboratory, Trio

CYCLE_COLUMNS = (*STAGES, TOTAL)


@dataclass
class GroupRow:
    """One trio, one template or the whole collaboratory."""

    id: int | None
    name: str
    agreements: int
    totals: Totals
    cycle: dict[str, StageStats]
    statistic: str  # "average" (trios) or "median"

    def days(self, stage: str) -> float | None:
        stats = self.cycle.get(stage)
        if stats is None:
            return None
        return stats.average if self.statistic == "average" else stats.median

    @property
    def cycle_days(self) -> list[float | None]:
        return [self.days(stage) for stage in CYCLE_COLUMNS]

    @property
    def cycle_cells(self) -> list[tuple[str, float | None]]:
        """``(stage label, days)`` per column, for the page's cells and their labels."""
        return [(STAGE_LABELS[stage], self.days(stage)) for stage in CYCLE_COLUMNS]


@dataclass
class ClauseRow:
    key: str
    heading: str
    legal_hours: Decimal = Decimal("0")
    negotiations: int = 0
    still_open: int = 0
    median_days: float | None = None
    total_days: float = 0.0

    @property
    def title(self) -> str:
        return self.heading or self.key


@dataclass
class CostReport:
    collaboratory: Collaboratory
    overall: GroupRow
    trios: list[GroupRow] = field(default_factory=list)
    templates: list[GroupRow] = field(default_factory=list)
    clauses: list[ClauseRow] = field(default_factory=list)


_NEGOTIATION_SQL = """
WITH chosen AS ({agreements}),
events AS (
    SELECT o.agreement_id, o.clause_key, o.created_at AS started, o.decided_at AS ended,
           o.status = 'proposed' AS open
    FROM agreements_clauseoverride o WHERE o.agreement_id IN (SELECT id FROM chosen)
    UNION ALL
    SELECT c.agreement_id, c.clause_key, c.created_at, c.resolved_at, c.resolved_at IS NULL
    FROM agreements_clausecomment c
    WHERE c.agreement_id IN (SELECT id FROM chosen) AND c.parent_id IS NULL
      AND c.visibility = 'parties'
),
per_clause AS (
    SELECT agreement_id, clause_key, BOOL_OR(open) AS open,
           EXTRACT(EPOCH FROM (MAX(ended) - MIN(started))) / 86400.0 AS days
    FROM events GROUP BY agreement_id, clause_key
)
SELECT clause_key, COUNT(*), COUNT(*) FILTER (WHERE open),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY days) FILTER (WHERE NOT open),
       COALESCE(SUM(days) FILTER (WHERE NOT open), 0)
FROM per_clause GROUP BY clause_key
"""


def _clause_rows(collaboratory: Collaboratory, agreements: QuerySet[Agreement]) -> list[ClauseRow]:
    """Negotiation time and shared legal hours per clause key (three queries: durations,
    hours, headings), the costliest first."""
    inner, params = agreements.order_by().values("id").query.sql_with_params()
    rows: dict[str, ClauseRow] = {}
    with connection.cursor() as cursor:
        cursor.execute(_NEGOTIATION_SQL.format(agreements=inner), params)  # noqa: S608 - compiled subquery
        for key, negotiations, still_open, median, total in cursor:
            rows[key] = ClauseRow(
                key=key,
                heading="",
                negotiations=negotiations,
                still_open=still_open,
                median_days=None if median is None else float(median),
                total_days=float(total),
            )
    hours = (
        shared_entries(agreements.values("id"))
        .filter(kind=CostKind.LEGAL_REVIEW)
        .exclude(clause_key="")
        .order_by()
        .values("clause_key")
        .annotate(total_hours=Sum("hours"))
    )
    for row in hours:
        rows.setdefault(row["clause_key"], ClauseRow(key=row["clause_key"], heading=""))
        rows[row["clause_key"]].legal_hours = row["total_hours"] or Decimal("0")
    # The heading of the newest version that has the key.
    for key, heading in (
        Clause.objects.filter(version__template__collaboratory=collaboratory, key__in=list(rows))
        .order_by("key", "-version__published_at", "-version_id")
        .distinct("key")
        .values_list("key", "heading")
    ):
        rows[key].heading = heading
    return sorted(
        rows.values(), key=lambda r: (-(r.legal_hours or 0), -r.total_days, -r.negotiations, r.key)
    )


def cost_report(collaboratory: Collaboratory) -> CostReport:
    """The report (seven queries: trios, templates, agreement counts, shared totals, cycle
    statistics, clause durations, clause hours, clause headings)."""
    agreements = Agreement.objects.filter(trio__collaboratory=collaboratory)
    trios = list(Trio.objects.filter(collaboratory=collaboratory).order_by("name"))
    templates = list(DSATemplate.objects.filter(collaboratory=collaboratory).order_by("name"))
    counts = {
        (row["trio_id"], row["template_version__template_id"]): row["n"]
        for row in agreements.order_by()
        .values("trio_id", "template_version__template_id")
        .annotate(n=Count("id"))
    }
    grouped = totals_by(
        shared_entries(agreements.values("id")),
        "agreement__trio_id",
        "agreement__template_version__template_id",
    )
    by_trio: dict[int, Totals] = {}
    by_template: dict[int, Totals] = {}
    overall = Totals()
    for key, totals in grouped.items():
        trio_id, template_id = cast(tuple[int, int], key)  # two group fields: a pair
        for target in (
            by_trio.setdefault(trio_id, Totals()),
            by_template.setdefault(template_id, Totals()),
            overall,
        ):
            target.merge(totals)
    cycle: CycleStats = cycle_stats(agreements)
    report = CostReport(
        collaboratory=collaboratory,
        overall=GroupRow(
            None, collaboratory.name, sum(counts.values()), overall, cycle.overall, "median"
        ),
    )
    report.trios = [
        GroupRow(
            trio.pk,
            trio.name,
            sum(n for (t, _), n in counts.items() if t == trio.pk),
            by_trio.get(trio.pk, Totals()),
            cycle.by_trio.get(trio.pk, {}),
            "average",
        )
        for trio in trios
    ]
    report.templates = [
        GroupRow(
            template.pk,
            template.name,
            sum(n for (_, t), n in counts.items() if t == template.pk),
            by_template.get(template.pk, Totals()),
            cycle.by_template.get(template.pk, {}),
            "median",
        )
        for template in templates
    ]
    report.clauses = _clause_rows(collaboratory, agreements)
    return report


# --- CSV ------------------------------------------------------------------------------------

CSV_HEADER = [
    "section",
    "name",
    "statistic",
    "agreements",
    "shared_entries",
    "legal_hours",
    "preparation_hours",
    "legal_fees",
    "stipends",
    "one_off_costs",
    "recurring_costs_per_year",
    *[f"days_{stage}" for stage in CYCLE_COLUMNS],
    "clause_key",
    "clause_negotiations",
    "clause_still_open",
    "clause_median_days",
    "clause_total_days",
]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def report_csv(report: CostReport) -> str:
    """The report as one CSV: a row per collaboratory, trio, template and clause (the
    ``section`` column says which). Text cells go through :mod:`collaboratory.csv_safe`, so
    a trio or clause named ``=HYPERLINK(...)`` reads as text in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv_safe.writer(buffer)
    writer.writerow(CSV_HEADER)
    blank_clause = [None] * 5
    for section, rows in (
        ("collaboratory", [report.overall]),
        ("trio", report.trios),
        ("template", report.templates),
    ):
        for row in rows:
            t = row.totals
            writer.writerow(
                [
                    section,
                    row.name,
                    row.statistic,
                    row.agreements,
                    t.entries,
                    t.legal_hours,
                    t.preparation_hours,
                    t.legal_fees_text,
                    t.stipends_text,
                    t.one_off_text,
                    t.per_year_text,
                    *[_round(d) for d in row.cycle_days],
                    *blank_clause,
                ]
            )
    for clause in report.clauses:
        writer.writerow(
            [
                "clause",
                clause.title,
                "median",
                None,
                None,
                clause.legal_hours,
                None,
                None,
                None,
                None,
                None,
                *[None] * len(CYCLE_COLUMNS),
                clause.key,
                clause.negotiations,
                clause.still_open,
                _round(clause.median_days),
                _round(clause.total_days),
            ]
        )
    return buffer.getvalue()


# --- chart ----------------------------------------------------------------------------------

CHART_WIDTH = 360
BAR_WIDTH = 300
ROW_HEIGHT = 56


@dataclass(frozen=True)
class ClauseBar:
    label: str
    y: int
    hours: float
    hours_width: float
    days: float
    days_width: float

    @property
    def label_y(self) -> int:
        return self.y + 13

    @property
    def hours_y(self) -> int:
        return self.y + 18

    @property
    def days_y(self) -> int:
        return self.y + 34

    @property
    def hours_text_x(self) -> float:
        return self.hours_width + 4

    @property
    def days_text_x(self) -> float:
        return self.days_width + 4


@dataclass(frozen=True)
class ClauseChart:
    bars: list[ClauseBar]
    width: int
    height: int


def clause_chart(clauses: list[ClauseRow], *, limit: int = 10) -> ClauseChart | None:
    """Geometry of the chart "which clauses cost the most negotiation time": per clause (the
    costliest first) one bar of shared legal hours and one of negotiation days (all
    agreements added up), each scaled to its own largest value. The template draws it (CSS
    classes colour it: the page's Content-Security-Policy forbids inline styles)."""
    rows = [c for c in clauses if c.legal_hours or c.total_days >= 0.05][:limit]
    if not rows:
        return None
    # At least an hour and a day of scale: minutes of negotiation are no full-width bar.
    most_hours = max(1.0, *(float(c.legal_hours) for c in rows))
    most_days = max(1.0, *(c.total_days for c in rows))
    bars = [
        ClauseBar(
            label=row.title[:48],
            y=index * ROW_HEIGHT,
            hours=float(row.legal_hours),
            hours_width=round(BAR_WIDTH * float(row.legal_hours) / most_hours, 1),
            days=round(row.total_days, 1),
            days_width=round(BAR_WIDTH * row.total_days / most_days, 1),
        )
        for index, row in enumerate(rows)
    ]
    return ClauseChart(bars=bars, width=CHART_WIDTH, height=len(bars) * ROW_HEIGHT - 8)
