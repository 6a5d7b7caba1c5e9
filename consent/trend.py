"""Coverage over time: how many students were in each state on each of a series of days.

Replays the full history once, student by student. A student's state only changes on the
days of their decisions and on the day they become an adult, so each student is evaluated
once per such change and the result is spread over the checkpoints it covers (difference
arrays), instead of once per checkpoint.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

from consent.rules import Decision, State, adult_from, effective_state

MAX_POINTS = 30


@dataclass(frozen=True)
class StudentHistory:
    enrolled_on: dt.date
    birth_year: int | None
    decisions: tuple[Decision, ...]


def checkpoints(first: dt.date, today: dt.date, *, max_points: int = MAX_POINTS) -> list[dt.date]:
    """Evenly spaced days ending today, at least a week apart, at most ``max_points``."""
    span = max((today - first).days, 0)
    step = max(7, math.ceil(span / (max_points - 1))) if span else 7
    days: list[dt.date] = []
    day = today
    while day >= first and len(days) < max_points:
        days.append(day)
        day -= dt.timedelta(days=step)
    if not days or days[-1] > first:
        days.append(day)  # one point before the first decision: the starting line
    return sorted(days)


def trend_counts(
    students: Iterable[StudentHistory], days: list[dt.date], *, kind: str
) -> list[dict[str, int]]:
    """Students per state on each of ``days`` (sorted), by ``rules.effective_state``."""
    n = len(days)
    diff: dict[str, list[int]] = {state: [0] * (n + 1) for state in State.values}
    for student in students:
        first = min([student.enrolled_on, *(d.decided_on for d in student.decisions)])
        changes = {first, *(d.decided_on for d in student.decisions)}
        turns_adult = adult_from(student.birth_year)
        if turns_adult is not None and turns_adult > first:
            changes.add(turns_adult)
        ordered = sorted(changes)
        for position, start in enumerate(ordered):
            begin = bisect_left(days, start)
            end = bisect_left(days, ordered[position + 1]) if position + 1 < len(ordered) else n
            if begin >= end:
                continue
            state = effective_state(
                student.decisions, kind=kind, birth_year=student.birth_year, as_of=start
            ).state
            diff[state][begin] += 1
            diff[state][end] -= 1
    points: list[dict[str, int]] = [{} for _ in range(n)]
    for state, deltas in diff.items():
        running = 0
        for index in range(n):
            running += deltas[index]
            if running:
                points[index][state] = running
    return points
