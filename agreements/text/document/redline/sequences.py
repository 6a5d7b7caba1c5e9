"""Order-keeping alignment of two sequences, the algorithms :mod:`.align` builds on.

- :func:`common_subsequence`: a longest common subsequence of two lists of strings
  (Hunt-Szymanski: a longest increasing run over the matching positions, O((n + r) log n)
  for r matching pairs; common ends set aside first). Unlike ``difflib.SequenceMatcher``'s
  matching blocks it is always longest: swapping two of three elements leaves one over.
- :func:`heaviest_pairs`: index pairs, increasing on both sides, whose weights sum highest
  (a heaviest increasing chain over the candidate pairs, with a Fenwick tree of prefix maxima
  over the second index, O(k log m) for k candidates). Every pair is weighed for short
  sequences; for long ones only pairs near the diagonal, so the work stays near linear.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Sequence
from difflib import SequenceMatcher

_MOST_MATCHES = 200_000
_FULL_COMPARISON = 2_500  # sequences of at most this many pairs are weighed pair by pair
_BAND = 8  # longer ones within this distance of the diagonal


def common_subsequence(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int]]:
    """Index pairs of a longest common subsequence (module docstring). Past
    :data:`_MOST_MATCHES` matching pairs (many equal elements, such as empty table rows),
    difflib's matching blocks stand in: not always longest, still in order."""
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == new[-1 - end]:
        end += 1
    head = [(k, k) for k in range(start)]
    tail = [(len(old) - end + k, len(new) - end + k) for k in range(end)]
    middle_old, middle_new = old[start : len(old) - end], new[start : len(new) - end]
    positions: dict[str, list[int]] = defaultdict(list)
    for j, value in enumerate(middle_new):
        positions[value].append(j)
    if sum(len(positions.get(value, ())) for value in middle_old) > _MOST_MATCHES:
        matcher = SequenceMatcher(None, list(middle_old), list(middle_new), autojunk=False)
        middle = [
            (block.a + k, block.b + k)
            for block in matcher.get_matching_blocks()
            for k in range(block.size)
        ]
    else:
        middle = _increasing_matches(middle_old, positions)
    return head + [(i + start, j + start) for i, j in middle] + tail


def _increasing_matches(
    old: Sequence[str], positions: dict[str, list[int]]
) -> list[tuple[int, int]]:
    ends: list[int] = []  # ends[k]: smallest new index ending a common run of length k + 1
    last: list[int] = []  # the match (index into matches) that ends it
    matches: list[tuple[int, int, int]] = []  # (old index, new index, previous match or -1)
    for i, value in enumerate(old):
        for j in reversed(positions.get(value, ())):  # descending: one match per old index
            k = bisect_left(ends, j)
            previous = last[k - 1] if k else -1
            matches.append((i, j, previous))
            if k == len(ends):
                ends.append(j)
                last.append(len(matches) - 1)
            else:
                ends[k] = j
                last[k] = len(matches) - 1
    chain: list[tuple[int, int]] = []
    index = last[-1] if last else -1
    while index != -1:
        i, j, index = matches[index]
        chain.append((i, j))
    return chain[::-1]


def heaviest_pairs(n: int, m: int, weight: Callable[[int, int], float]) -> list[tuple[int, int]]:
    """Index pairs (i < n, j < m), increasing on both sides, whose weights sum highest;
    ``weight(i, j)`` is 0.0 for a pair that may not be made (module docstring)."""
    if not n or not m:
        return []
    candidates: list[tuple[int, int, float]] = []
    full = n * m <= _FULL_COMPARISON
    for i in range(n):
        if full:
            columns = range(m)
        else:
            centre = i * m // n
            columns = range(max(0, centre - _BAND), min(m, centre + _BAND + 1))
        for j in columns:
            score = weight(i, j)
            if score > 0:
                candidates.append((i, j, score))
    if not candidates:
        return []
    tree: list[tuple[float, int]] = [(0.0, -1)] * (m + 1)  # (best chain weight, its last pair)
    best: list[tuple[float, int]] = []  # per candidate: (chain weight, previous candidate)
    start = 0
    while start < len(candidates):
        row = candidates[start][0]
        end = start
        while end < len(candidates) and candidates[end][0] == row:
            end += 1
        # Chains ending in earlier rows only: query the whole row, then update.
        found = []
        for index in range(start, end):
            _i, j, score = candidates[index]
            below, previous = _prefix_max(tree, j)  # chains ending at new indexes below j
            found.append((below + score, previous))
        best.extend(found)
        for index in range(start, end):
            _update(tree, candidates[index][1] + 1, (best[index][0], index))
        start = end
    last = max(range(len(best)), key=lambda index: best[index][0])
    chain: list[tuple[int, int]] = []
    while last != -1:
        chain.append((candidates[last][0], candidates[last][1]))
        last = best[last][1]
    return chain[::-1]


def _prefix_max(tree: list[tuple[float, int]], position: int) -> tuple[float, int]:
    found = (0.0, -1)
    while position > 0:
        if tree[position][0] > found[0]:
            found = tree[position]
        position -= position & -position
    return found


def _update(tree: list[tuple[float, int]], position: int, value: tuple[float, int]) -> None:
    while position < len(tree):
        if value[0] > tree[position][0]:
            tree[position] = value
        position += position & -position
