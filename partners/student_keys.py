"""Student keys that cannot be names (issue 20, item 5).

A district records consent under pseudonymous student keys it controls. Two rules keep
names out of them, and ``check_student_key`` is the one function every path that writes a
key calls (consent form, CSV import, services, model ``clean``):

1. **The district's format**, when its admin has set one. A format is typed without regular
   expressions: ``#`` is a digit, ``@`` a capital letter, ``*`` a capital letter or a digit;
   letters, digits, ``.``, ``_`` and ``-`` stand for themselves (``S#######`` is "“S”
   followed by 7 digits"). Several formats may be given, separated by commas
   (``S#######, T######``). A format must itself be unable to spell a name: every
   alternative has at least one digit, at least 4 positions that vary, and at most 3
   letters in a row (fixed letters next to varying ones count: ``S@@@`` would admit
   ``SARA``).

2. **Without a format, keys shaped like names are refused**: a key with no digit at all
   (``Maria.Lopez``, ``lopez_maria``, ``MLopez``), or with a run of four or more letters that
   holds a vowel (``jsmith2``, ``maria.lopez2013``), since that is how names and
   name-derived logins look. Keys such as ``S1234567``, ``stu-0042``, ``A1B2C3`` and
   ``RB-100001`` pass. A district whose keys really contain words sets a format instead:
   a fixed word in a format (``STUDENT####``) is allowed.

Every key also keeps the basic shape stored keys always had: 1-64 letters, digits, dots,
hyphens or underscores, starting with a letter or digit (no spaces, no ``@``).

**An error never contains the refused value**: it may be a child's name, and error messages
end up in pages, import reports, logs and audit entries. Messages name the rule (and the
row, in a file), never the key.

Pure functions over strings: no database. A format compiles to one regular expression that
Python and PostgreSQL read alike (``[0-9]``, ``[A-Z]``, escaped literals, ``{n}``), so the
settings page can count the stored keys that a new format would not admit in SQL.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Protocol

from collaboratory.errors import DomainError

DIGIT, LETTER, EITHER = "#", "@", "*"
#: The basic shape of every stored key (as the consent models have always required).
BASIC_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
LITERAL_RE = re.compile(r"[A-Za-z0-9._-]")
SEPARATOR_RE = re.compile(r"\s*[,;\n]\s*|\s+or\s+")
MAX_KEY_LENGTH = 64
MAX_ALTERNATIVES = 5
MIN_VARYING = 4
MAX_LETTERS_IN_A_ROW = 3
MAX_FORMAT_LENGTH = 200

LEGEND = (
    "# is a digit, @ a capital letter, * a capital letter or a digit; letters, digits, "
    ". _ and - stand for themselves. Separate several formats with commas."
)

#: Characters for made-up examples: consonants only, so an example never spells a name.
_EXAMPLE_DIGITS = "4827391056"
_EXAMPLE_LETTERS = "KQTXBZ"


class FormatError(ValueError):
    """A format that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Part:
    """A run of one kind of position: ``literal`` (``text``), ``digit``, ``letter`` or
    ``either`` (``count`` positions)."""

    kind: str
    count: int
    text: str = ""

    @property
    def regex(self) -> str:
        if self.kind == "literal":
            return "".join("\\" + c if c in ".-" else c for c in self.text)
        cls = {"digit": "[0-9]", "letter": "[A-Z]", "either": "[A-Z0-9]"}[self.kind]
        return cls if self.count == 1 else f"{cls}{{{self.count}}}"

    @property
    def description(self) -> str:
        if self.kind == "literal":
            return f"“{self.text}”"
        one, many = {
            "digit": ("a digit", "digits"),
            "letter": ("a capital letter", "capital letters"),
            "either": ("a capital letter or digit", "capital letters or digits"),
        }[self.kind]
        return one if self.count == 1 else f"{self.count} {many}"


@dataclass(frozen=True)
class Shape:
    """One alternative of a format, e.g. ``S#######``."""

    source: str
    parts: tuple[Part, ...]

    @property
    def regex(self) -> str:
        return "".join(part.regex for part in self.parts)

    @property
    def description(self) -> str:
        words = [part.description for part in self.parts]
        if len(words) == 1:
            return words[0]
        return f"{words[0]} followed by {', then '.join(words[1:])}"

    def example(self, seed: int) -> str:
        """A made-up key of this shape (deterministic; consonants only, never a name)."""
        out = []
        for position, char in enumerate(self.source):
            n = seed + position
            digit = _EXAMPLE_DIGITS[(n * 3) % len(_EXAMPLE_DIGITS)]
            letter = _EXAMPLE_LETTERS[(n * 5) % len(_EXAMPLE_LETTERS)]
            if char == DIGIT:
                out.append(digit)
            elif char == LETTER:
                out.append(letter)
            elif char == EITHER:
                out.append(letter if n % 2 else digit)
            else:
                out.append(char)
        return "".join(out)


@dataclass(frozen=True)
class KeyFormat:
    """A district's student key format: one or more shapes."""

    shapes: tuple[Shape, ...]

    @property
    def source(self) -> str:
        """The normal spelling, as stored: the shapes separated by ", "."""
        return ", ".join(shape.source for shape in self.shapes)

    @property
    def regex(self) -> str:
        """Anchored; the same meaning in Python's ``re`` and PostgreSQL's ``~``."""
        return "^(?:" + "|".join(shape.regex for shape in self.shapes) + ")$"

    @property
    def description(self) -> str:
        return ", or ".join(shape.description for shape in self.shapes)

    def examples(self) -> list[str]:
        return [shape.example(seed) for shape in self.shapes for seed in (0, 5)]

    def matches(self, key: str) -> bool:
        return _compiled(self.regex).fullmatch(key) is not None


@functools.lru_cache(maxsize=256)
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def _kind(char: str) -> str:
    return {DIGIT: "digit", LETTER: "letter", EITHER: "either"}.get(char, "literal")


def _parse_shape(source: str) -> Shape:
    if len(source) > MAX_KEY_LENGTH:
        raise FormatError(
            f"“{source[:20]}…” is {len(source)} characters long; a student key has at most "
            f"{MAX_KEY_LENGTH}."
        )
    for position, char in enumerate(source, start=1):
        if char not in (DIGIT, LETTER, EITHER) and not LITERAL_RE.fullmatch(char):
            what = "a space" if char.isspace() else f"“{char}”"
            raise FormatError(
                f"{what[0].upper()}{what[1:]} (character {position} of “{source}”) cannot be "
                f"part of a student key. {LEGEND}"
            )
    if not LITERAL_RE.fullmatch(source[0]) and source[0] not in (DIGIT, LETTER, EITHER):
        raise FormatError(f"“{source}” must start with a letter or a digit.")
    if source[0] in "._-":
        raise FormatError(f"“{source}” must start with a letter, a digit, # @ or *.")
    parts: list[Part] = []
    for char in source:
        kind = _kind(char)
        if parts and parts[-1].kind == kind:
            last = parts[-1]
            parts[-1] = Part(kind, last.count + 1, last.text + char if kind == "literal" else "")
        else:
            parts.append(Part(kind, 1, char if kind == "literal" else ""))
    varying = sum(1 for char in source if char in (DIGIT, LETTER, EITHER))
    if DIGIT not in source:
        raise FormatError(
            f"“{source}” has no digit (#): keys without digits are how names look. Use # "
            "for each digit of your keys."
        )
    if varying < MIN_VARYING:
        raise FormatError(
            f"“{source}” has only {varying} position(s) that vary, too few to tell your "
            f"students apart: use at least {MIN_VARYING} of # @ *."
        )
    run = 0
    varying_in_run = False
    for char in source:
        if char in (LETTER, EITHER) or char.isalpha():
            run += 1
            varying_in_run = varying_in_run or char in (LETTER, EITHER)
            if run > MAX_LETTERS_IN_A_ROW and varying_in_run:
                raise FormatError(
                    f"“{source}” allows {run} or more letters in a row, which can spell a name "
                    f"(such as “MARK” or “SARA”): use at most {MAX_LETTERS_IN_A_ROW} letters "
                    "in a row, counting fixed letters next to @ or *."
                )
        else:
            run, varying_in_run = 0, False
    return Shape(source, tuple(parts))


def parse_format(text: str) -> KeyFormat | None:
    """The format ``text`` describes, None when it is empty; ``FormatError`` says what is
    wrong with it otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > MAX_FORMAT_LENGTH:
        raise FormatError(f"Keep the format under {MAX_FORMAT_LENGTH} characters.")
    sources = SEPARATOR_RE.split(text)
    if any(not source for source in sources):
        raise FormatError("There is an empty format between two commas; remove the extra comma.")
    if len(sources) > MAX_ALTERNATIVES:
        raise FormatError(f"Give at most {MAX_ALTERNATIVES} formats.")
    seen: set[str] = set()
    shapes = []
    for source in sources:
        if source in seen:
            raise FormatError(f"“{source}” is given twice.")
        seen.add(source)
        shapes.append(_parse_shape(source))
    return KeyFormat(tuple(shapes))


@functools.lru_cache(maxsize=256)
def _cached_format(text: str) -> KeyFormat | None:
    try:
        return parse_format(text)
    except FormatError:
        # A stored format was valid when saved; one that no longer parses (a stricter rule)
        # must not let every key through: it admits nothing until the admin fixes it.
        return KeyFormat(())


# --- keys shaped like names ----------------------------------------------------------------

_LETTER_RUN_RE = re.compile(r"[A-Za-z]+")
_VOWELS = frozenset("aeiouyAEIOUY")


def looks_like_a_name(key: str) -> bool:
    """Whether ``key`` is shaped like a name (the rule without a district format; see the
    module docstring): no digit at all, or a run of four or more letters with a vowel."""
    if not any(char.isdigit() for char in key):
        return True
    return any(
        len(run) > MAX_LETTERS_IN_A_ROW and not _VOWELS.isdisjoint(run)
        for run in _LETTER_RUN_RE.findall(key)
    )


# --- the one check -------------------------------------------------------------------------

BASIC_PROBLEM = (
    "Not a valid student key: use the district's pseudonymous ID (letters, digits, . _ -; up "
    "to 64 characters), never a name."
)
NAME_PROBLEM = (
    "This looks like a name, not a pseudonymous student key: a key needs digits and no word "
    "of four or more letters. Use the district's student ID; if its keys really look like "
    "this, a district admin can set the key format."
)


def key_problem(key: str, key_format: KeyFormat | None) -> str:
    """Why ``key`` cannot be stored as a student key under ``key_format`` ("" when it can).
    The message never contains the key."""
    if not key:
        return "The student key is empty."
    if BASIC_KEY_RE.fullmatch(key) is None:
        return BASIC_PROBLEM
    if key_format is not None:
        if not key_format.matches(key):
            examples = " or ".join(key_format.examples()[:2])
            return (
                f"Not in the district's student key format: {key_format.description} "
                f"(e.g. {examples})."
            )
        return ""
    if looks_like_a_name(key):
        return NAME_PROBLEM
    return ""


class HasKeyFormat(Protocol):
    @property
    def student_key_format(self) -> str: ...


def format_of(district: HasKeyFormat | None) -> KeyFormat | None:
    """The district's parsed format (None: it has none, so the name rule applies)."""
    if district is None or not district.student_key_format:
        return None
    return _cached_format(district.student_key_format)


def student_key_problem(district: HasKeyFormat | None, key: str) -> str:
    """Why ``key`` cannot be a student key of ``district`` ("" when it can)."""
    return key_problem(key, format_of(district))


def check_student_key(
    district: HasKeyFormat | None, key: str, *, field: str = "student_key"
) -> None:
    """Refuse ``key`` with a ``DomainError`` on ``field`` unless it may be a student key of
    ``district``: its format when it has one, else not shaped like a name. The one check
    every path that writes a key calls; the error never echoes the key."""
    problem = student_key_problem(district, key)
    if problem:
        raise DomainError({field: problem}, code="student_key_refused")
