"""Deviation analytics for facilitators: which standard clauses fail, how, by whom and why.

For one collaboratory and one template (all its versions, or one), each clause key counts
the agreements that modified it, deleted it or added a clause next to it (accepted overrides:
the change is in the agreement's text), and the agreements where such a change is still
proposed. Sorted by how often the standard clause fails. Rendered as a table, a server-side
SVG bar chart and a CSV file.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from agreements.models import (
    Agreement,
    Clause,
    ClauseOverride,
    DSATemplate,
    OverrideKind,
    OverrideStatus,
    TemplateVersion,
)
from agreements.text.titles import numbered_heading
from collaboratory import csv_safe
from partners.models import OrganisationKind

PARTY_KINDS = (OrganisationKind.RESEARCH, OrganisationKind.DISTRICT, OrganisationKind.DEVELOPER)
COUNTED = (OverrideStatus.ACCEPTED, OverrideStatus.PROPOSED)


@dataclass(frozen=True)
class Rationale:
    reference: str
    organisation: str
    party_kind: str
    kind: str
    status: str
    text: str


@dataclass
class ClauseDeviation:
    """One clause key of the template across the collaboratory's agreements."""

    key: str  # an identifier for the CSV and anchors; pages show ``title``
    heading: str
    order: int
    number: str = ""  # the newest version's label ("7.")
    agreements: int = 0  # agreements made from a version that has this clause
    modified: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    added_after: set[str] = field(default_factory=set)
    proposed: set[str] = field(default_factory=set)
    by_party_kind: Counter[str] = field(default_factory=Counter)
    rationales: list[Rationale] = field(default_factory=list)

    @property
    def title(self) -> str:
        """ "7. Data security", as the newest version that has the clause names it."""
        return numbered_heading(self.number, self.heading) or "a clause of another version"

    @property
    def failing(self) -> int:
        """Agreements whose text departs from the standard at this clause."""
        return len(self.modified | self.deleted | self.added_after)

    @property
    def proposed_only(self) -> int:
        """Agreements where a change is proposed here but not (yet) in the text."""
        return len(self.proposed - (self.modified | self.deleted | self.added_after))

    @property
    def party_kinds(self) -> list[tuple[str, int]]:
        return [(OrganisationKind(k).label, self.by_party_kind[k]) for k in PARTY_KINDS]


@dataclass(frozen=True)
class DeviationReport:
    template: DSATemplate
    version: TemplateVersion | None
    agreements: int
    clauses: tuple[ClauseDeviation, ...]

    @property
    def failing_clauses(self) -> list[ClauseDeviation]:
        return [c for c in self.clauses if c.failing or c.proposed_only]


def deviation_report(
    template: DSATemplate, *, version: TemplateVersion | None = None
) -> DeviationReport:
    """Count, per clause key, the agreements of ``template``'s collaboratory (made from any of
    its versions, or from ``version``) that changed it. Three queries: agreements per
    version, clauses, overrides."""
    agreements = Agreement.objects.filter(
        trio__collaboratory_id=template.collaboratory_id, template_version__template=template
    )
    clauses = Clause.objects.filter(version__template=template).order_by("-version__number")
    if version is not None:
        agreements = agreements.filter(template_version=version)
        clauses = clauses.filter(version=version)
    per_version = dict(
        agreements.order_by().values_list("template_version_id").annotate(n=Count("id"))
    )
    rows: dict[str, ClauseDeviation] = {}
    for clause in clauses.only("key", "number", "heading", "order", "version_id"):
        # Newest version first: its label, heading and position win.
        clause_row = rows.setdefault(
            clause.key,
            ClauseDeviation(clause.key, clause.heading, clause.order, number=clause.number),
        )
        clause_row.agreements += per_version.get(clause.version_id, 0)
    overrides = (
        ClauseOverride.objects.filter(agreement__in=agreements, status__in=COUNTED)
        .order_by("agreement__reference", "created_at", "id")
        .values(
            "agreement__reference",
            "organisation__name",
            "organisation__kind",
            "kind",
            "status",
            "clause_key",
            "rationale",
        )
    )
    for override in overrides:
        row = rows.get(override["clause_key"])
        if row is None:  # a clause of another version of the template than the one chosen
            row = rows[override["clause_key"]] = ClauseDeviation(override["clause_key"], "", 10_000)
        reference = override["agreement__reference"]
        if override["status"] == OverrideStatus.PROPOSED:
            row.proposed.add(reference)
        elif override["kind"] == OverrideKind.REPLACE:
            row.modified.add(reference)
        elif override["kind"] == OverrideKind.DELETE:
            row.deleted.add(reference)
        else:
            row.added_after.add(reference)
        row.by_party_kind[override["organisation__kind"]] += 1
        row.rationales.append(
            Rationale(
                reference=reference,
                organisation=override["organisation__name"],
                party_kind=OrganisationKind(override["organisation__kind"]).label,
                kind=OverrideKind(override["kind"]).label,
                status=OverrideStatus(override["status"]).label,
                text=override["rationale"],
            )
        )
    ordered = sorted(rows.values(), key=lambda r: (-r.failing, -r.proposed_only, r.order, r.key))
    return DeviationReport(
        template=template,
        version=version,
        agreements=sum(per_version.values()),
        clauses=tuple(ordered),
    )


# --- CSV ------------------------------------------------------------------------------------

CSV_HEADER = [
    "clause_key",
    "heading",
    "agreements",
    "failing",
    "modified",
    "deleted",
    "added_after",
    "proposed_only",
    *[f"changes_by_{k}" for k in PARTY_KINDS],
    "rationales",
]


def deviation_csv(report: DeviationReport) -> str:
    """One row per clause; text cells neutralised by :mod:`collaboratory.csv_safe`."""
    buffer = io.StringIO()
    writer = csv_safe.writer(buffer)
    writer.writerow(CSV_HEADER)
    for row in report.clauses:
        writer.writerow(
            [
                row.key,
                row.heading,
                row.agreements,
                row.failing,
                len(row.modified),
                len(row.deleted),
                len(row.added_after),
                row.proposed_only,
                *[row.by_party_kind[k] for k in PARTY_KINDS],
                " | ".join(
                    f"{r.reference} {r.organisation} ({r.kind}, {r.status}): {r.text}"
                    for r in row.rationales
                ),
            ]
        )
    return buffer.getvalue()


# --- SVG chart ------------------------------------------------------------------------------

#: (attribute, label, fill, pattern): colour plus a pattern, so the chart does not rely on
#: colour alone.
SERIES = (
    ("modified", "Modified", "#7a4a00", ""),
    ("deleted", "Deleted", "#a4262c", "url(#hatch)"),
    ("added_after", "Clause added after it", "#1f4e79", "url(#dots)"),
    ("proposed_only", "Proposed, not (yet) agreed", "#8593a3", "url(#stripes)"),
)


def _series_count(row: ClauseDeviation, attribute: str) -> int:
    value = getattr(row, attribute)
    return value if isinstance(value, int) else len(value)


_PATTERNS = (
    '<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#fff" '
    'stroke-width="2"/></pattern>'
    '<pattern id="dots" width="6" height="6" patternUnits="userSpaceOnUse">'
    '<circle cx="3" cy="3" r="1.3" fill="#fff"/></pattern>'
    '<pattern id="stripes" width="6" height="6" patternUnits="userSpaceOnUse">'
    '<line x1="0" y1="3" x2="6" y2="3" stroke="#fff" stroke-width="1.5"/></pattern>'
)


def _swatch(x: float, y: float, width: float, colour: str, pattern: str, tip: str) -> SafeString:
    """A bar segment (or legend swatch): the colour, with the series' pattern on top."""
    overlay = (
        format_html(
            '<rect x="{}" y="{}" width="{}" height="16" fill="{}"/>',
            f"{x:.1f}",
            y,
            f"{width:.1f}",
            pattern,
        )
        if pattern
        else ""
    )
    return format_html(
        '<rect x="{}" y="{}" width="{}" height="16" fill="{}"><title>{}</title></rect>{}',
        f"{x:.1f}",
        y,
        f"{width:.1f}",
        colour,
        tip,
        overlay,
    )


def chart_legend() -> SafeString:
    """The series of ``deviation_chart`` as an HTML list with small swatches."""
    return format_html(
        '<ul class="chart-legend">{}</ul>',
        format_html_join(
            "",
            '<li><svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">'
            "<defs>{}</defs>{}</svg> {}</li>",
            (
                (SafeString(_PATTERNS), _swatch(0, 0, 16, colour, pattern, label), label)
                for _, label, colour, pattern in SERIES
            ),
        ),
    )


def deviation_chart(rows: Sequence[ClauseDeviation], *, limit: int = 15) -> SafeString:
    """One stacked horizontal bar per clause (the most failing first) under its heading, as
    inline SVG built from escaped text only. Narrow enough for a phone; the table next to it
    carries the same numbers for screen readers."""
    rows = [r for r in rows if r.failing or r.proposed_only][:limit]
    if not rows:
        return SafeString("")
    width, bar_width, row_height = 360, 320, 44
    largest = max(sum(_series_count(r, a) for a, *_ in SERIES) for r in rows)
    unit = bar_width / max(largest, 1)
    bars = []
    for index, row in enumerate(rows):
        top = index * row_height
        x = 0.0
        segments = []
        for attribute, label, colour, pattern in SERIES:
            count = _series_count(row, attribute)
            if count:
                segments.append(
                    _swatch(x, top + 20, count * unit, colour, pattern, f"{label}: {count}")
                )
                x += count * unit
        total = row.failing + row.proposed_only
        bars.append(
            format_html(
                '<g><text x="0" y="{}" class="chart-label">{}</text>{}'
                '<text x="{}" y="{}" class="chart-value">{}</text></g>',
                top + 14,
                row.title,
                format_html_join("", "{}", ((s,) for s in segments)),
                f"{x + 6:.1f}",
                top + 33,
                total,
            )
        )
    return format_html(
        '<svg class="deviation-chart" viewBox="0 0 {} {}" role="img" '
        'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">'
        '<title id="chart-title">Agreements departing from the standard, per clause</title>'
        "<defs>{}</defs>{}</svg>",
        width,
        row_height * len(rows),
        SafeString(_PATTERNS),
        format_html_join("", "{}", ((b,) for b in bars)),
    )
