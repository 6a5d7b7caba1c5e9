"""Results of pure functions of the frozen document tree, kept by the identity of their input.

An agreement's text is its template's parts with a few changed: consolidating it walks every
part, and every walk that changes nothing hands back the very objects it was given
(agreements.text.document.param_walk, blanks). So the standard's clauses are the same objects
in every agreement that uses them, and what is derived from one of them (its normal form, its
canonical JSON) is derived once per process, not once per agreement.

Keyed by ``id(tree)`` with the tree itself kept alongside the result, so an id is never reused
while its entry lives; results are immutable (or never mutated: canonical JSON's lists go
straight to ``json.dumps``). Past ``limit`` entries the memo starts again from empty: a
worker lives for days, and agreement-specific blocks (terms filled in) pass through too. At
8,192 blocks of ~1-2 kB each, normalise's and canonical's memos hold ~30 MB between them at
worst; a template's ~40 clauses are a few hundred blocks. Consolidation keeps a clause filled
with its terms (``consolidation._FILLED``: 2,048 clauses x 8 readings, ~30 MB at worst), so
agreements whose terms read alike share the filled objects too.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any, cast


class IdentityMemo[T, R]:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: dict[int, tuple[T, R]] = {}
        _MEMOS.add(self)

    def get(self, tree: T, compute: Callable[[T], R]) -> R:
        entry = self._entries.get(id(tree))
        if entry is not None and entry[0] is tree:
            return entry[1]
        result = compute(tree)
        if len(self._entries) >= self.limit:
            self._entries.clear()  # a dict's clear and set are atomic: threads may share it
        self._entries[id(tree)] = (tree, result)
        return result

    def clear(self) -> None:
        self._entries.clear()


class ContextMemo[T, R]:
    """Results by the identity of their input and then by a context: what else they depend
    on (a clause's numbering, what its references read in this text). At most ``contexts``
    per input, past which that input's start again."""

    def __init__(self, limit: int, contexts: int) -> None:
        self.contexts = contexts
        self._inputs: IdentityMemo[T, dict[Hashable, R]] = IdentityMemo(limit)

    def get(self, tree: T, context: Hashable, compute: Callable[[], R]) -> R:
        known = self._inputs.get(tree, _new_contexts)
        result = known.get(context, _MISSING)
        if result is _MISSING:
            result = compute()
            if len(known) >= self.contexts:
                known.clear()
            known[context] = result
        return cast(R, result)

    def clear(self) -> None:
        self._inputs.clear()


_MISSING: Any = object()
#: Every memo of the process, for ``clear_all``.
_MEMOS: weakref.WeakSet[IdentityMemo[Any, Any]] = weakref.WeakSet()


def clear_all() -> None:
    """Forget every memo's results, as a fresh process starts (tests that compare a text
    derived with the memos warm against one derived from nothing)."""
    for memo in list(_MEMOS):
        memo.clear()


def _new_contexts(_tree: object) -> dict[Hashable, Any]:
    return {}
