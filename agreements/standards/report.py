"""What a template import finds, and the clause-heading rules every reader shares.

A template is a title and an ordered list of clauses; each clause has a stable ``key``, a
``number`` ("4", "4.1", "A"; may be empty), a ``heading`` and a ``body``. The readers
(:mod:`~agreements.standards.markdown_import`, :mod:`~agreements.standards.docx_import`, and
:func:`agreements.standards.upload.parse_upload` for an upload of either kind) never raise on
bad input: they return an :class:`ImportReport` whose ``errors`` say what to fix (with line
numbers) and whose ``warnings`` say what was changed or guessed. Callers decide what to store.
:mod:`~agreements.standards.export` writes templates back out; the modules have no ORM.

A clause heading, whatever the format, reads ``4. Data security {#data-security}``:

- The clause number is a leading ``4.`` / ``4.1`` / ``4.1.`` / ``A.`` / ``IV.`` followed by a
  space, and is stored without its trailing dot ("4", "4.1", "A", "IV").
- A trailing pandoc attribute block sets the key: ``{#data-security}``. Without one the key is
  the heading (number left out, so renumbering never changes keys) slugified and cut at a hyphen
  to at most :data:`MAX_KEY_LENGTH` characters. ``{.unnumbered}`` / ``{-}`` keep a leading
  "A." in the heading, and ``{number="4a"}`` sets a number the grammar above cannot express;
  the exporters write these only when they need them to round-trip.
- Keys are lowercase letters and digits in groups joined by single hyphens (``data-retention``),
  at most :data:`MAX_KEY_LENGTH` characters, as ``agreements.models.Clause`` requires. A key used
  twice is an error naming both lines. A clause without a heading, or with a number or heading
  longer than the model allows, is an error; a clause without text is a warning here, and
  ``template_import`` then refuses the file naming the clause (a stored clause needs text).
- Text before the first clause heading (other than the title) becomes a clause with the key
  ``preamble``, the heading "Preamble" and no number, plus a warning (the recitals of a real
  agreement are agreement text, so they are kept). The exporters write it as
  ``## Preamble {#preamble}``, so a round trip has no warning.

In every format:

- Pandoc spans with only classes (``[text]{.ul}``) are reduced to their text: Collaboratory has
  no underline. Fill-in blanks written as ``[[Fill in name of project]]{.ul}`` (which is the
  underlined text "[Fill in name of project]" in Word) therefore become ``[Fill in name of
  project]``: readable, visibly a blank, and not our placeholder syntax, so the import does not
  fail on them. Each such blank, and each ``[Fill in ...]`` written with single brackets, gets a
  warning so the author can replace it with a typed placeholder (``[[district_name]]``).
- Placeholders are checked with :mod:`agreements.text.placeholders`: unknown names and malformed
  ``[[...]]`` are errors with their line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from django.utils.text import slugify

# The limits of agreements.models.Clause, checked here so errors come with a line number.
MAX_KEY_LENGTH = 50
MAX_NUMBER_LENGTH = 12
MAX_HEADING_LENGTH = 300
PREAMBLE_KEY = "preamble"
PREAMBLE_HEADING = "Preamble"
# Past this many errors (or warnings) the rest are counted, not listed: nobody reads more.
MAX_ISSUES = 200

KEY_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

ImportStyle = Literal["auto", "headings", "bold"]


# -- public data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """One problem found on import.

    ``line`` is the 1-based line of a Markdown file or the paragraph number of a .docx (None when
    the problem is about the whole file); ``clause_key`` the clause it concerns, if any.
    """

    line: int | None
    clause_key: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.clause_key:
            where.append(f"clause '{self.clause_key}'")
        if not where:
            return self.message
        location = ", ".join(where)
        return f"{location[0].upper()}{location[1:]}: {self.message}"


@dataclass(frozen=True)
class ParsedClause:
    key: str
    number: str
    heading: str
    body: str
    # The structured form (issue 15): where the part sits in the outline and its blocks.
    kind: str = "section"
    label: str = ""
    generated: str = ""
    blocks: tuple[Any, ...] | None = None


@dataclass
class ImportReport:
    """What an import found: the title, the clauses in order, and what is wrong or was changed.

    ``style`` says how clauses were found: "headings" (Markdown ``##`` / Word heading styles) or
    "bold" (bold paragraphs); it is "" when the input was refused before that.
    """

    clauses: list[ParsedClause] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    title: str = ""
    style: str = ""
    frame: Any = None  # the document around the clauses: title lines, numbering series
    notes: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ClauseLike(Protocol):
    """Anything with a clause's four fields: a ParsedClause, a model instance, ..."""

    @property
    def key(self) -> str: ...

    @property
    def number(self) -> str: ...

    @property
    def heading(self) -> str: ...

    @property
    def body(self) -> str: ...


def refused(message: str) -> ImportReport:
    """The report of an input refused as a whole, before any clause was read."""
    return ImportReport(errors=[Issue(None, None, message)])


# -- headings: numbers, attributes, keys --------------------------------------------------------

_NUMBER_RE = re.compile(
    r"(?P<number>\d+(?:\.\d+)+\.?|\d+\.|[A-Z]\.|[IVXLCDM]+\.)\s+(?P<rest>\S.*)", re.DOTALL
)
_ATTRIBUTE_TOKEN_RE = re.compile(
    r"\s*(?:#(?P<id>[^\s{}]+)|\.(?P<cls>[^\s{}]+)|(?P<name>[A-Za-z][\w-]*)="
    r'(?:"(?P<quoted>[^"]*)"|(?P<bare>[^\s"{}]+))|(?P<dash>-))'
)


def _looks_like_attributes(content: str) -> bool:
    stripped = content.strip()
    return stripped.startswith(("#", ".", "-")) or bool(re.match(r"[A-Za-z][\w-]*=", stripped))


def split_attributes(text: str) -> tuple[str, str | None]:
    """``text`` without a trailing pandoc attribute block, and the block's content.

    The block must follow whitespace (or start the text): ``[x]{.ul}`` is a span, not a block.
    Written without a regex so that long runs of spaces cannot make it slow.
    """
    stripped = text.strip()
    opening = stripped.rfind("{")
    if not stripped.endswith("}") or opening == -1:
        return stripped, None
    content = stripped[opening + 1 : -1]
    before = stripped[:opening]
    if "}" in content or "\n" in content or (before and not before[-1].isspace()):
        return stripped, None
    if not _looks_like_attributes(content):
        return stripped, None
    return before.strip(), content


def split_number(text: str) -> tuple[str, str]:
    match = _NUMBER_RE.fullmatch(text)
    if not match:
        return "", text
    return match.group("number").rstrip("."), match.group("rest").strip()


def key_problem(key: str) -> str | None:
    if not KEY_RE.fullmatch(key):
        return (
            f"'{key}' is not a valid clause key: use lowercase letters and digits joined by "
            "single hyphens, e.g. {#data-retention}."
        )
    if len(key) > MAX_KEY_LENGTH:
        return f"Clause key '{key}' is longer than {MAX_KEY_LENGTH} characters."
    return None


@dataclass
class Heading:
    number: str
    heading: str
    key: str | None
    problems: list[str]


def parse_heading(text: str) -> Heading:
    """Number, heading and explicit key of a clause heading's text (without ``##``)."""
    text, attributes = split_attributes(text)
    key: str | None = None
    number: str | None = None
    unnumbered = False
    problems: list[str] = []
    if attributes is not None:
        position = 0
        while position < len(attributes.rstrip()):
            token = _ATTRIBUTE_TOKEN_RE.match(attributes, position)
            if not token:
                problems.append(
                    f"Could not read the attributes {{{attributes}}}: write the key as "
                    "{#clause-key}."
                )
                break
            position = token.end()
            if token.group("id") is not None:
                key = token.group("id")
                if problem := key_problem(key):
                    problems.append(problem)
            elif token.group("dash") is not None or token.group("cls") == "unnumbered":
                unnumbered = True
            elif token.group("name") == "number":
                number = token.group("quoted")
                if number is None:
                    number = token.group("bare")
            # Other classes and attributes (from pandoc or Word) carry nothing we keep.
    heading = clean_inline(text)
    if number is not None:
        return Heading(number, heading, key, problems)
    if unnumbered:
        return Heading("", heading, key, problems)
    number, heading = split_number(heading)
    return Heading(number, heading, key, problems)


def derive_key(heading: str) -> str:
    """The key a clause without an explicit key gets: its heading slugified, at most 50 chars.

    The number is not part of ``heading`` here, so renumbering a template keeps its keys.
    Returns "" when the heading has no letters or digits.
    """
    slug = re.sub(r"[-_]+", "-", slugify(heading)).strip("-")
    if len(slug) > MAX_KEY_LENGTH:
        cut = slug[: MAX_KEY_LENGTH + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else slug[:MAX_KEY_LENGTH]
    return slug.strip("-")


# -- inline clean-up: pandoc spans, fill-in blanks ----------------------------------------------

# A pandoc bracketed span with classes only, e.g. [text]{.ul}; one level of nested brackets.
_SPAN_RE = re.compile(
    r"\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]\{\s*\.[A-Za-z][\w-]*(?:\s+\.[A-Za-z][\w-]*)*\s*\}"
)
_BRACKETED_RE = re.compile(r"\[[^\[\]\n]*\]")
_FILL_IN_TEXT_RE = re.compile(r"(?<!\[)\[(?:fill in|insert|enter)\b[^\[\]\n]*\](?![\[\](:{])", re.I)
_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")


def clean_spans(line: str) -> tuple[str, list[str]]:
    """``line`` with class-only pandoc spans reduced to their text, and the fill-in blanks."""
    blanks: list[str] = []

    def unwrap(match: re.Match[str]) -> str:
        content = match.group(1)
        if _BRACKETED_RE.fullmatch(content):
            blanks.append(content)
        return content

    cleaned = _SPAN_RE.sub(unwrap, line)
    blanks.extend(m.group(0) for m in _FILL_IN_TEXT_RE.finditer(line))
    return cleaned, blanks


def clean_inline(text: str) -> str:
    return _SPAN_RE.sub(lambda match: match.group(1), text).strip()


def clean_bold_heading(text: str) -> str:
    text = clean_inline(text.replace("*", ""))
    text = _ESCAPE_RE.sub(r"\1", text)
    return " ".join(text.split())
