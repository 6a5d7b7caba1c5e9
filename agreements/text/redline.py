"""Word-level redlines of two texts of a clause (old -> new), as legal users know them from Word.

The rules:

- Texts are cut into tokens: words, runs of whitespace, and single punctuation characters, so an
  added or moved comma marks only the comma and a one-word change marks only that word. A word is
  a run of characters that are neither whitespace nor punctuation: that is ``\\w`` plus combining
  marks, so decomposed accents (``e`` + U+0301, as pasted from macOS or Word) and Indic vowel
  signs stay inside their word, and so does an apostrophe between letters (``Party’s``,
  ``don't``). Other quotes, dashes, ``§`` and the like are punctuation. Chinese
  and Japanese characters are one token each, since those scripts do not separate words by spaces.
- The diff is exact: the equal and deleted ops put together give the old text, the equal and
  inserted ops give the new text, character for character (whitespace, NBSP, ``\\r\\n`` too).
- A change region is a maximal run of non-equal ops; within one, deletions come before
  insertions. Whitespace that is all two changes have between them is folded into one change
  (``[-quick brown-][+slow red+]`` rather than ``[-quick-][+slow+] [-brown-][+red+]``).
- Changes are counted and numbered by region, in reading order.
- :mod:`agreements.text.redline_html` shows the ops as HTML (inline, or side by side).

The algorithm (chosen by bench/bench_redline.py; every candidate stays in ``_ALGORITHMS`` so the
benchmark measures all of them in one run): Google's diff-match-patch run on the token lists, each
distinct token mapped to one character (its ``linesToChars`` trick, for words). It trims common
prefixes and suffixes and finds long common runs at C speed, and runs Myers' O(ND) bisection in
Python only on what is left, which for a clause with a few edits is almost nothing.

Worst case: Myers' bisection costs grow with the square of the edits, so one diff may spend at
most ``_BISECTION_WORK`` steps of it (about 13 ms). ``_WorkBudget`` counts those steps in place
of diff-match-patch's wall-clock deadline, so the output stays a pure function of the texts on
any machine. A diff that would need more (a clause rewritten from scratch, sentences reordered,
long texts with few words in common) is done by sentences and lines first, then word by word
within each changed stretch, each step with a budget of its own; a stretch still too costly is
shown as one deletion + insertion. Coarser, but still exact.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Literal, TypedDict

from diff_match_patch import diff_match_patch

__all__ = [
    "Op",
    "OpKind",
    "WordStats",
    "change_count",
    "changed",
    "diff_tokens",
    "number_changes",
    "word_stats",
]

OpKind = Literal["equal", "insert", "delete"]


@dataclass(frozen=True, slots=True)
class Op:
    """One run of text that is unchanged, inserted into the new text or deleted from the old."""

    kind: OpKind
    text: str


class WordStats(TypedDict):
    words_inserted: int
    words_deleted: int
    changes: int


# --- Tokens ---------------------------------------------------------------------------------

_PUNCTUATION = (
    "!-/:-@\\[-`{-~"  # ASCII punctuation and symbols
    "\u00a1-\u00bf\u00d7\u00f7"  # Latin-1: ¡ § « ¶ · » ¿ × ÷
    "\u2010-\u2027\u2030-\u205e"  # dashes, curly quotes, bullets, ellipsis, per mille, primes
    "\u20a0-\u20cf"  # currency signs
    "\u2100-\u214f\u2190-\u2bff"  # letterlike symbols (№ ™), arrows, maths, shapes, dingbats
    "\u2e00-\u2e7f\u3000-\u303f"  # supplemental and CJK punctuation
    "\ufe30-\ufe6f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"  # CJK forms, fullwidth
)
_IDEOGRAPHS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_LETTERS = rf"[^\s{_PUNCTUATION}{_IDEOGRAPHS}]+"
_WORD = rf"[{_IDEOGRAPHS}]|{_LETTERS}(?:['\u2019]{_LETTERS})*"
_TOKEN_RE = re.compile(rf"{_WORD}|\s+|.", re.DOTALL)
_WORD_RE = re.compile(_WORD)


def _tokenize(text: str) -> list[str]:
    """Words, whitespace runs and single punctuation characters; joined they give ``text``."""
    return _TOKEN_RE.findall(text)


# --- Token diffs ----------------------------------------------------------------------------

_TokenDiff = list[tuple[OpKind, list[str]]]


@dataclass(slots=True)
class _Equal:
    tokens: list[str]


@dataclass(slots=True)
class _Change:
    deleted: list[str] = field(default_factory=list)
    inserted: list[str] = field(default_factory=list)


def _segments(diff: Iterable[tuple[OpKind, list[str]]]) -> list[_Equal | _Change]:
    """Group a token diff into alternating unchanged runs and change regions."""
    segments: list[_Equal | _Change] = []
    for kind, tokens in diff:
        if not tokens:
            continue
        last = segments[-1] if segments else None
        if kind == "equal":
            if isinstance(last, _Equal):
                last.tokens.extend(tokens)
            else:
                segments.append(_Equal(list(tokens)))
            continue
        if not isinstance(last, _Change):
            last = _Change()
            segments.append(last)
        (last.deleted if kind == "delete" else last.inserted).extend(tokens)
    return segments


def _start_changes_at_words(segments: list[_Equal | _Change]) -> list[_Equal | _Change]:
    """Shift a pure insertion or deletion that starts with whitespace past that whitespace.

    Both alignments are right when the same whitespace follows the change; ``delete [+all +]the``
    reads better than ``delete[+ all+] the``.
    """
    shifted: list[_Equal | _Change] = []
    for index, segment in enumerate(segments):
        after = segments[index + 1] if index + 1 < len(segments) else None
        side = (segment.inserted or segment.deleted) if isinstance(segment, _Change) else None
        if (
            isinstance(segment, _Change)
            and not (segment.inserted and segment.deleted)
            and side
            and isinstance(after, _Equal)
            and len(after.tokens) > 1
            and side[0].isspace()
            and side[0] == after.tokens[0]
        ):
            side.append(after.tokens.pop(0))
            leading = side.pop(0)
            if shifted and isinstance(shifted[-1], _Equal):
                shifted[-1].tokens.append(leading)
            else:
                shifted.append(_Equal([leading]))
        shifted.append(segment)
    return shifted


def _has_words(tokens: Sequence[str]) -> bool:
    return any(not token.isspace() for token in tokens)


def _fold_whitespace(segments: list[_Equal | _Change]) -> list[_Equal | _Change]:
    """Fold whitespace that is all two changes share into one change.

    ``quick brown`` -> ``slow red`` then reads as one replacement rather than two, as long as
    both sides of the folded change still hold words (else it would show a lone inserted space).
    """
    folded: list[_Equal | _Change] = []
    for segment in segments:
        if (
            isinstance(segment, _Change)
            and len(folded) >= 2
            and isinstance(gap := folded[-1], _Equal)
            and isinstance(before := folded[-2], _Change)
            and all(token.isspace() for token in gap.tokens)
            and _has_words(before.deleted + segment.deleted)
            and _has_words(before.inserted + segment.inserted)
        ):
            folded.pop()
            before.deleted.extend(gap.tokens + segment.deleted)
            before.inserted.extend(gap.tokens + segment.inserted)
            continue
        folded.append(segment)
    return folded


def _ops(segments: Iterable[_Equal | _Change]) -> list[Op]:
    ops: list[Op] = []
    for segment in segments:
        if isinstance(segment, _Equal):
            ops.append(Op("equal", "".join(segment.tokens)))
            continue
        if segment.deleted:
            ops.append(Op("delete", "".join(segment.deleted)))
        if segment.inserted:
            ops.append(Op("insert", "".join(segment.inserted)))
    return ops


def _tidy(diff: _TokenDiff) -> list[Op]:
    """Ops of a token diff: runs merged, deletions before insertions, whitespace tidied."""
    return _ops(_fold_whitespace(_start_changes_at_words(_segments(diff))))


def _replace(old: list[str], new: list[str]) -> _TokenDiff:
    """The coarsest exact diff: all of ``old`` deleted, all of ``new`` inserted."""
    return [("delete", old), ("insert", new)]


# diff-match-patch on tokens: each distinct token becomes one character (skipping surrogates).
_DMP_KINDS: dict[int, OpKind] = {-1: "delete", 0: "equal", 1: "insert"}
_FIRST_CODE = 0x100
_SURROGATES = 0x800
_MAX_VOCABULARY = 0x110000 - _FIRST_CODE - _SURROGATES
# Work (steps of Myers' bisection, about 1.3 us each) one diff may spend: about 13 ms.
# A 400-word clause with 100 edits needs under 10,000; one rewritten from scratch, 200,000.
_BISECTION_WORK = 10_000


class _WorkBudget:
    """diff-match-patch's deadline, counted in steps of Myers' bisection instead of seconds.

    diff-match-patch checks ``time.time() > deadline`` once per round of a bisection and, past
    it, gives the stretch it is on as one deletion + insertion. Python evaluates that as
    ``deadline < time.time()``, which here spends the round's cost: round d of a bisection
    walks about d diagonals. Counting work rather than time bounds the worst case just the
    same and keeps the output a pure function of the texts, on any machine.
    """

    __slots__ = ("work_left", "ran_out", "_round")

    def __init__(self, work: int) -> None:
        self.work_left = work
        self.ran_out = False
        self._round = 0

    def start_bisection(self) -> None:
        self._round = 0

    def __lt__(self, _now: object) -> bool:
        self._round += 1
        self.work_left -= self._round
        if self.work_left < 0:
            self.ran_out = True
        return self.ran_out


class _BudgetedDiffMatchPatch(diff_match_patch):
    """diff-match-patch whose ``deadline`` is a ``_WorkBudget``."""

    def diff_bisect(self, text1: str, text2: str, deadline: _WorkBudget) -> list[tuple[int, str]]:
        deadline.start_bisection()
        return super().diff_bisect(text1, text2, deadline)


_DMP = _BudgetedDiffMatchPatch()


def _code(index: int) -> str:
    code = _FIRST_CODE + index
    return chr(code if code < 0xD800 else code + _SURROGATES)


def _encode(old: Sequence[str], new: Sequence[str]) -> tuple[str, str, dict[str, str]] | None:
    """Both token lists as strings of one character per token, and the way back."""
    vocabulary = dict.fromkeys(old)
    vocabulary.update(dict.fromkeys(new))
    if len(vocabulary) > _MAX_VOCABULARY:
        return None
    codes = {token: _code(index) for index, token in enumerate(vocabulary)}
    tokens = {char: token for token, char in codes.items()}
    return "".join(map(codes.__getitem__, old)), "".join(map(codes.__getitem__, new)), tokens


def _surely_over_budget(old: str, new: str, budget: _WorkBudget) -> bool:
    """Whether an exact diff surely needs more work than is left, whatever the order of tokens.

    Edits are at least the tokens the two texts do not have in common (as multisets), once
    the common prefix and suffix are set aside; a bisection finding D edits walks about D²/8
    diagonals.
    """
    prefix = _DMP.diff_commonPrefix(old, new)
    old, new = old[prefix:], new[prefix:]
    suffix = _DMP.diff_commonSuffix(old, new)
    old, new = old[: len(old) - suffix], new[: len(new) - suffix]
    if not old or not new:
        return False
    least_edits = len(old) + len(new) - 2 * (Counter(old) & Counter(new)).total()
    return least_edits * least_edits > 8 * budget.work_left


def _dmp_diff(old: Sequence[str], new: Sequence[str], budget: _WorkBudget) -> _TokenDiff | None:
    """diff-match-patch on tokens, within ``budget``; None when that surely is not enough."""
    encoded = _encode(old, new)
    if encoded is None or _surely_over_budget(encoded[0], encoded[1], budget):
        return None
    old_chars, new_chars, tokens = encoded
    diffs = _DMP.diff_main(old_chars, new_chars, False, budget)
    return [(_DMP_KINDS[op], [tokens[char] for char in chars]) for op, chars in diffs]


def _units(tokens: Sequence[str]) -> list[str]:
    """Sentences and lines: a unit ends with whitespace after ``.;:?!`` or with a line break."""
    units: list[str] = []
    start = 0
    for index, token in enumerate(tokens):
        if token.isspace() and (
            "\n" in token or "\r" in token or (index and tokens[index - 1] in ".;:?!")
        ):
            units.append("".join(tokens[start : index + 1]))
            start = index + 1
    if start < len(tokens):
        units.append("".join(tokens[start:]))
    return units


def _coarse_diff(old: list[str], new: list[str]) -> _TokenDiff:
    """Align sentences and lines first, then redline the changed stretches word by word.

    Each step has its own work budget; a stretch too costly to redline word by word is shown
    as a whole deletion + insertion.
    """
    by_unit = _dmp_diff(_units(old), _units(new), _WorkBudget(_BISECTION_WORK))
    if by_unit is None:
        return _replace(old, new)
    budget = _WorkBudget(_BISECTION_WORK)
    diff: _TokenDiff = []
    for segment in _segments(by_unit):
        if isinstance(segment, _Equal):
            diff.append(("equal", _tokenize("".join(segment.tokens))))
            continue
        deleted = _tokenize("".join(segment.deleted))
        inserted = _tokenize("".join(segment.inserted))
        refined = _dmp_diff(deleted, inserted, budget)
        diff.extend(_replace(deleted, inserted) if refined is None else refined)
    return diff


def _dmp_ops(old: str, new: str) -> list[Op]:
    """The chosen algorithm: diff-match-patch on tokens, by sentences when that is too costly."""
    old_tokens, new_tokens = _tokenize(old), _tokenize(new)
    budget = _WorkBudget(_BISECTION_WORK)
    diff = _dmp_diff(old_tokens, new_tokens, budget)
    if diff is None or budget.ran_out:
        diff = _coarse_diff(old_tokens, new_tokens)
    return _tidy(diff)


def _opcodes_diff(old: list[str], new: list[str]) -> _TokenDiff:
    diff: _TokenDiff = []
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            diff.append(("equal", old[i1:i2]))
            continue
        diff.append(("delete", old[i1:i2]))
        diff.append(("insert", new[j1:j2]))
    return diff


def _difflib_ops(old: str, new: str) -> list[Op]:
    """Candidate: difflib.SequenceMatcher on the whole token lists (no guard: can be slow)."""
    return _tidy(_opcodes_diff(_tokenize(old), _tokenize(new)))


def _difflib_trimmed_ops(old: str, new: str) -> list[Op]:
    """Candidate: difflib.SequenceMatcher on what is left once common ends are set aside."""
    old_tokens, new_tokens = _tokenize(old), _tokenize(new)
    prefix = 0
    limit = min(len(old_tokens), len(new_tokens))
    while prefix < limit and old_tokens[prefix] == new_tokens[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old_tokens[-1 - suffix] == new_tokens[-1 - suffix]:
        suffix += 1
    middle = _opcodes_diff(
        old_tokens[prefix : len(old_tokens) - suffix], new_tokens[prefix : len(new_tokens) - suffix]
    )
    ends = old_tokens[len(old_tokens) - suffix :]
    return _tidy([("equal", old_tokens[:prefix]), *middle, ("equal", ends)])


def _redlines_package_ops(old: str, new: str) -> list[Op]:
    """Candidate: the ``redlines`` PyPI package (optional; not a dependency of the project).

    It attaches whitespace and punctuation to the word before them and reflows paragraphs, so
    its ops are coarser and do not give back the texts exactly.
    """
    from redlines.processor import WholeDocumentProcessor  # only the benchmark calls this

    diff: _TokenDiff = []
    for operation in WholeDocumentProcessor().process(old, new):
        source, test = operation.source_chunk.text, operation.test_chunk.text
        tag, i1, i2, j1, j2 = operation.opcodes
        if tag == "equal":
            diff.append(("equal", source[i1:i2]))
            continue
        diff.append(("delete", source[i1:i2]))
        diff.append(("insert", test[j1:j2]))
    paragraphs = [
        (kind, [token.replace("¶ ", "\n\n") for token in tokens]) for kind, tokens in diff
    ]
    return _ops(_segments(paragraphs))


_ALGORITHMS: dict[str, Callable[[str, str], list[Op]]] = {
    "difflib": _difflib_ops,
    "difflib-trimmed": _difflib_trimmed_ops,
    "diff-match-patch": _dmp_ops,
    "redlines": _redlines_package_ops,
}
_CHOSEN = "diff-match-patch"


# --- Public API -----------------------------------------------------------------------------


def diff_tokens(old: str, new: str) -> list[Op]:
    """Ops turning ``old`` into ``new`` word by word; see the module docstring for the rules."""
    if old == new:
        return [Op("equal", old)] if old else []
    return list(_cached_ops(old, new))


@lru_cache(maxsize=256)
def _cached_ops(old: str, new: str) -> tuple[Op, ...]:
    """A page shows one clause's diff several ways (inline, side by side, counts): diff once.
    Ops are frozen and the result a tuple, so callers cannot alter what is cached."""
    return tuple(_dmp_ops(old, new))


def changed(old: str, new: str) -> bool:
    """Whether the texts differ at all, whitespace included (the diff is exact)."""
    return old != new


def number_changes(ops: Iterable[Op]) -> Iterator[tuple[Op, int | None]]:
    """Each op with the 1-based number of its change region (None for unchanged text)."""
    number = 0
    in_change = False
    for op in ops:
        if op.kind == "equal":
            in_change = False
            yield op, None
            continue
        if not in_change:
            number += 1
            in_change = True
        yield op, number


def _region_count(ops: Iterable[Op]) -> int:
    return max((number for _, number in number_changes(ops) if number is not None), default=0)


def change_count(old: str, new: str) -> int:
    """The number of change regions (a replacement counts once, as one change)."""
    return _region_count(diff_tokens(old, new))


def word_stats(old: str, new: str) -> WordStats:
    """How many words were inserted and deleted, and in how many change regions."""
    ops = diff_tokens(old, new)
    return WordStats(
        words_inserted=sum(len(_WORD_RE.findall(op.text)) for op in ops if op.kind == "insert"),
        words_deleted=sum(len(_WORD_RE.findall(op.text)) for op in ops if op.kind == "delete"),
        changes=_region_count(ops),
    )
