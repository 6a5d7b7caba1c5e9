"""Labels computed from numbering: "C.", "(a)", "7.2", "Article IV", "Attachment B".

One function per question, used by every renderer and by the importers (to recognise a
source's labels), so a label is spelled the same on the page, in the PDF and in Word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from agreements.text.document.model import NumberFormat, Numbering

_ROMAN = (
    (1000, "m"),
    (900, "cm"),
    (500, "d"),
    (400, "cd"),
    (100, "c"),
    (90, "xc"),
    (50, "l"),
    (40, "xl"),
    (10, "x"),
    (9, "ix"),
    (5, "v"),
    (4, "iv"),
    (1, "i"),
)


def roman(number: int) -> str:
    """1 -> "i", 4 -> "iv", 1999 -> "mcmxcix" (lower case)."""
    if number <= 0:
        return str(number)
    out = []
    for value, letters in _ROMAN:
        while number >= value:
            out.append(letters)
            number -= value
    return "".join(out)


def letters(number: int) -> str:
    """Word's letter counting: 1 -> "a", 26 -> "z", 27 -> "aa", 28 -> "bb"."""
    if number <= 0:
        return str(number)
    letter = chr(ord("a") + (number - 1) % 26)
    return letter * ((number - 1) // 26 + 1)


def count(number: int, fmt: NumberFormat) -> str:
    """One counter in one format."""
    match fmt:
        case NumberFormat.DECIMAL:
            return str(number)
        case NumberFormat.DECIMAL_ZERO:
            return f"{number:02d}"
        case NumberFormat.LOWER_LETTER:
            return letters(number)
        case NumberFormat.UPPER_LETTER:
            return letters(number).upper()
        case NumberFormat.LOWER_ROMAN:
            return roman(number)
        case NumberFormat.UPPER_ROMAN:
            return roman(number).upper()
        case NumberFormat.NONE:
            return ""
    raise ValueError(f"unknown number format {fmt!r}")


_SLOT_RE = re.compile(r"%([1-9])")


def label(numbering: Numbering, counters: Sequence[int]) -> str:
    """The label for ``counters`` (outermost first, this level last) under ``numbering``.

    ``label(Numbering("%1.%2", (DECIMAL, DECIMAL)), [7, 2]) == "7.2"``;
    ``label(Numbering("(%1)", (LOWER_LETTER,)), [3]) == "(c)"``.
    """
    return _label(numbering, tuple(counters))


# A text has a few numberings and a few hundred counters: every page asks for the same labels.
@lru_cache(maxsize=8192)
def _label(numbering: Numbering, counters: tuple[int, ...]) -> str:
    def slot(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        if index >= len(counters):
            return ""
        fmt = numbering.formats[index] if index < len(numbering.formats) else NumberFormat.DECIMAL
        return count(counters[index], fmt)

    return _SLOT_RE.sub(slot, numbering.pattern)


# --- Reading a label back -----------------------------------------------------------------

_ROMAN_RE = re.compile(r"m{0,3}(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})")


def parse_roman(text: str) -> int | None:
    lowered = text.lower()
    if not lowered or not _ROMAN_RE.fullmatch(lowered):
        return None
    values = dict((v, n) for n, v in _ROMAN)
    total, previous = 0, 0
    for char in reversed(lowered):
        value = values[char]
        total += -value if value < previous else value
        previous = max(previous, value)
    return total


def parse_letters(text: str) -> int | None:
    """ "a" -> 1, "z" -> 26, "aa" -> 27 (Word's counting); None for anything else."""
    lowered = text.lower()
    if not lowered.isascii() or not lowered.isalpha() or len(set(lowered)) != 1:
        return None
    return (len(lowered) - 1) * 26 + ord(lowered[0]) - ord("a") + 1


def value_of(counter: str, fmt: NumberFormat) -> int | None:
    """The number a counter stands for in ``fmt`` ("iv" lower-roman -> 4), or None."""
    match fmt:
        case NumberFormat.DECIMAL | NumberFormat.DECIMAL_ZERO:
            return int(counter) if counter.isdigit() else None
        case NumberFormat.LOWER_LETTER:
            return parse_letters(counter) if counter.islower() else None
        case NumberFormat.UPPER_LETTER:
            return parse_letters(counter) if counter.isupper() else None
        case NumberFormat.LOWER_ROMAN:
            return parse_roman(counter) if counter.islower() else None
        case NumberFormat.UPPER_ROMAN:
            return parse_roman(counter) if counter.isupper() else None
    return None
