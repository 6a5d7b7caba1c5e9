"""Geometry of the coverage charts, rendered as inline SVG by the templates.

Only numbers and bucket names are computed here; labels (school names) are passed through
as data and escaped by the template engine. Colours come from CSS classes (the page's
Content-Security-Policy forbids inline styles).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from consent.rules import Bucket
from consent.selectors import CoverageRow, TrendPoint

BUCKET_ORDER = [
    Bucket.PERMITTED,
    Bucket.INCOMPLETE,
    Bucket.NO_RESPONSE,
    Bucket.REFUSED,
    Bucket.WITHDRAWN,
]
WIDTH = 400
LABEL_HEIGHT = 16
BAR_HEIGHT = 18
ROW_GAP = 12
ROW_HEIGHT = LABEL_HEIGHT + BAR_HEIGHT + ROW_GAP


@dataclass(frozen=True)
class Segment:
    bucket: str
    label: str
    x: float
    width: float
    count: int


@dataclass
class Bar:
    label: str
    y: float
    total: int
    segments: list[Segment] = field(default_factory=list)

    @property
    def label_y(self) -> float:
        return self.y + LABEL_HEIGHT - 4

    @property
    def bar_y(self) -> float:
        return self.y + LABEL_HEIGHT


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    bar_height: int


def stacked_bars(rows: list[CoverageRow]) -> BarChart:
    """One bar per school (its name above it): students split by bucket, as shares of the
    school's total. Narrow, so the labels stay legible when the chart shrinks on a phone."""
    bars = []
    for index, row in enumerate(rows):
        bar = Bar(label=row.school or "(no school)", y=index * ROW_HEIGHT, total=row.total)
        x = 0.0
        for bucket in BUCKET_ORDER:
            count = row.buckets.get(bucket, 0)
            if not count or not row.total:
                continue
            width = WIDTH * count / row.total
            bar.segments.append(
                Segment(bucket, Bucket(bucket).label, round(x, 2), round(width, 2), count)
            )
            x += width
        bars.append(bar)
    height = max(len(bars) * ROW_HEIGHT - ROW_GAP, ROW_HEIGHT)
    return BarChart(bars, WIDTH, height, BAR_HEIGHT)


@dataclass(frozen=True)
class Line:
    bucket: str
    label: str
    points: str
    last_x: float
    last_y: float
    last: int


@dataclass(frozen=True)
class TrendChart:
    lines: list[Line]
    width: int
    height: int
    top: int
    bottom: int
    left: int
    right: int
    max_value: int
    first_day: object
    last_day: object


def trend_lines(
    points: list[TrendPoint], *, buckets=(Bucket.PERMITTED, Bucket.REFUSED, Bucket.WITHDRAWN)
) -> TrendChart | None:
    """Lines of the chosen buckets over time (None with fewer than two points)."""
    if len(points) < 2:
        return None
    width, height, left, right, top, bottom = WIDTH, 200, 36, 8, 8, 172
    max_value = max(max(p.buckets.get(b, 0) for b in buckets) for p in points) or 1
    first, last = points[0].day, points[-1].day
    span = max((last - first).days, 1)
    lines = []
    for bucket in buckets:
        coordinates = []
        for point in points:
            x = left + (width - left - right) * (point.day - first).days / span
            y = bottom - (bottom - top) * point.buckets.get(bucket, 0) / max_value
            coordinates.append((round(x, 1), round(y, 1)))
        lines.append(
            Line(
                bucket=bucket,
                label=Bucket(bucket).label,
                points=" ".join(f"{x},{y}" for x, y in coordinates),
                last_x=coordinates[-1][0],
                last_y=coordinates[-1][1],
                last=points[-1].buckets.get(bucket, 0),
            )
        )
    return TrendChart(
        lines, width, height, top, bottom, left, width - right, max_value, first, last
    )
