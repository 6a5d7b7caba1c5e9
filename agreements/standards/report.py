"""Import and export of DSA templates as structured text (Markdown and Word), without the ORM.

A template is a title and an ordered list of clauses; each clause has a stable ``key``, a
``number`` ("4", "4.1", "A"; may be empty), a ``heading`` and a ``body``. Parsers never raise on
bad input: they return an :class:`ImportReport` whose ``errors`` say what to fix (with line
numbers) and whose ``warnings`` say what was changed or guessed. Callers decide what to store.

Markdown, ``style="headings"`` (what :func:`export_markdown` writes)::

    # Standard Data-Sharing Agreement          <- the title (at most one, before any clause)

    ## 4. Data security {#data-security}       <- one clause: number, heading, explicit key

    Body in Markdown, kept verbatim ...

- A clause heading is a line starting with ``## `` (level-2 ATX heading at column 0); ``###``
  and deeper headings, and anything inside fenced code blocks (three or more backticks or
  tildes), are body text. Setext headings (underlined with ``===``) and closing ``#`` sequences
  are not supported.
- The clause number is a leading ``4.`` / ``4.1`` / ``4.1.`` / ``A.`` / ``IV.`` followed by a
  space, and is stored without its trailing dot ("4", "4.1", "A", "IV").
- A trailing pandoc attribute block sets the key: ``{#data-security}``. Without one the key is
  the heading (number left out, so renumbering never changes keys) slugified and cut at a hyphen
  to at most :data:`MAX_KEY_LENGTH` characters. ``{.unnumbered}`` / ``{-}`` keep a leading
  "A." in the heading, and ``{number="4a"}`` sets a number the grammar above cannot express;
  :func:`export_markdown` writes these only when it needs them to round-trip.
- Text before the first clause heading (other than the title) becomes a clause with the key
  ``preamble``, the heading "Preamble" and no number, plus a warning (the recitals of a real
  agreement are agreement text, so they are kept). :func:`export_markdown` writes it as
  ``## Preamble {#preamble}``, so a round trip has no warning.
- Keys are lowercase letters and digits in groups joined by single hyphens (``data-retention``),
  at most :data:`MAX_KEY_LENGTH` characters, as ``agreements.models.Clause`` requires. A key used
  twice is an error naming both lines. A clause without a heading, or with a number or heading
  longer than the model allows, is an error; a clause without text is a warning.

Markdown, ``style="bold"``: Word documents converted by pandoc (like the real agreements the tests
import), where a clause heading is a paragraph that is entirely bold (``**A. PURPOSE**``,
``**1. Definitions.**``, optionally followed by ``{#key}``).

- Title: the first run of bold paragraphs before any prose (a table may come first), unless they
  are numbered; the lines are joined with spaces. A ``# Title`` line also works.
- After the title, a bold paragraph is a clause heading when it is numbered (``A.``, ``1.``,
  ``IV.``), starts with ATTACHMENT/EXHIBIT/APPENDIX/SCHEDULE/ADDENDUM/ANNEX/ARTICLE/SECTION, or
  is in capitals. A bold paragraph in mixed case is emphasis inside a clause, unless the
  document has no heading of those kinds at all (then every bold paragraph is a heading).
- Bodies keep their Markdown (lists, block quotes, tables); paragraphs are separated by one blank
  line. Headings lose their bold markers and backslash escapes.

Both Markdown styles, and Word:

- Pandoc spans with only classes (``[text]{.ul}``) are reduced to their text: Collaboratory has
  no underline. Fill-in blanks written as ``[[Fill in name of project]]{.ul}`` (which is the
  underlined text "[Fill in name of project]" in Word) therefore become ``[Fill in name of
  project]``: readable, visibly a blank, and not our placeholder syntax, so the import does not
  fail on them. Each such blank, and each ``[Fill in ...]`` written with single brackets, gets a
  warning so the author can replace it with a typed placeholder (``[[district_name]]``).
- Placeholders are checked with :mod:`agreements.placeholders`: unknown names and malformed
  ``[[...]]`` are errors with their line number.

Word (.docx, :func:`parse_docx`): the upload is checked before python-docx sees it (size, that it
is a zip, that it unpacks to at most :data:`DEFAULT_MAX_UNCOMPRESSED_BYTES` in at most
:data:`DEFAULT_MAX_ZIP_MEMBERS` members, that it has ``word/document.xml``).

- Heading styles: the first paragraph styled Title, or else the first Heading 1 before any
  clause, is the title. Clauses start at Heading 2 paragraphs when the document has any (a later
  Heading 1 then also starts a clause), otherwise at Heading 1 paragraphs. Heading 3 and deeper
  are body text.
- Without heading styles for clauses, bold paragraphs are headings, by the ``"bold"`` rules.
- Body paragraphs are joined by blank lines, line breaks inside a paragraph become newlines,
  tables become Markdown pipe tables, empty paragraphs are skipped, character formatting is
  dropped. Numbers produced by Word's automatic numbering are not in the text and so not
  imported. Text inside tracked changes is left out, with a warning to accept or reject them
  first; content controls, headers, footers, footnotes and comments are not imported.
- ``Issue.line`` counts the document's paragraphs and tables from 1.
- :func:`export_docx` writes the title as Heading 1 and each clause as a Heading 2 "4. Data
  security" followed by a *hidden* run `` {#data-security}`` (Word's hidden-text font
  attribute), so the key survives the round trip and edits in Word without cluttering the page
  (Word shows it only with formatting marks on). It is the same attribute syntax as in Markdown,
  so a key typed visibly in Word works too.

Round trips: ``parse_markdown(export_markdown(t, cs))`` and ``parse_docx(export_docx(t, cs))``
give back ``t`` and ``cs`` exactly for clauses as the parsers produce them (stripped headings,
LF newlines, no leading or trailing blank lines in bodies, no pandoc spans; for Word, body
paragraphs separated by exactly one blank line).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from django.utils.text import slugify

from agreements.text import placeholders

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.table import Table
    from docx.text.paragraph import Paragraph

MIB = 1024 * 1024
DEFAULT_MAX_UPLOAD_BYTES = 5 * MIB
DEFAULT_MAX_UNCOMPRESSED_BYTES = 50 * MIB
DEFAULT_MAX_ZIP_MEMBERS = 1000
MAX_COMPRESSION_RATIO = 100
DEFAULT_MAX_MARKDOWN_CHARS = 2_000_000
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


def _split_attributes(text: str) -> tuple[str, str | None]:
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


def _split_number(text: str) -> tuple[str, str]:
    match = _NUMBER_RE.fullmatch(text)
    if not match:
        return "", text
    return match.group("number").rstrip("."), match.group("rest").strip()


def _key_problem(key: str) -> str | None:
    if not KEY_RE.fullmatch(key):
        return (
            f"'{key}' is not a valid clause key: use lowercase letters and digits joined by "
            "single hyphens, e.g. {#data-retention}."
        )
    if len(key) > MAX_KEY_LENGTH:
        return f"Clause key '{key}' is longer than {MAX_KEY_LENGTH} characters."
    return None


@dataclass
class _Heading:
    number: str
    heading: str
    key: str | None
    problems: list[str]


def _parse_heading(text: str) -> _Heading:
    """Number, heading and explicit key of a clause heading's text (without ``##``)."""
    text, attributes = _split_attributes(text)
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
                if problem := _key_problem(key):
                    problems.append(problem)
            elif token.group("dash") is not None or token.group("cls") == "unnumbered":
                unnumbered = True
            elif token.group("name") == "number":
                number = token.group("quoted")
                if number is None:
                    number = token.group("bare")
            # Other classes and attributes (from pandoc or Word) carry nothing we keep.
    heading = _clean_inline(text)
    if number is not None:
        return _Heading(number, heading, key, problems)
    if unnumbered:
        return _Heading("", heading, key, problems)
    number, heading = _split_number(heading)
    return _Heading(number, heading, key, problems)


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


def _heading_text(number: str, heading: str, key: str, *, where: str) -> tuple[str, str]:
    """The visible heading text and the attribute block that parse back to exactly these."""
    if "\n" in heading or "\r" in heading:
        raise ValueError(f"{where}: a heading must be one line.")
    if problem := _key_problem(key):
        raise ValueError(f"{where}: {problem}")
    heading = heading.strip()
    if not heading:
        raise ValueError(f"{where}: every clause needs a heading.")
    attributes = [f"#{key}"]
    if number:
        visible = f"{number} {heading}" if "." in number else f"{number}. {heading}"
        if _clean_inline(visible) != visible or _split_number(visible) != (number, heading):
            if re.search(r'["{}\n]', number):
                raise ValueError(f"{where}: the clause number {number!r} cannot be written.")
            visible = heading
            attributes.append(f'number="{number}"')
    else:
        visible = heading
        if _split_number(heading)[0]:
            attributes.append(".unnumbered")
    if _clean_inline(heading) != heading or _split_attributes(visible + " {x=y}")[0] != visible:
        raise ValueError(f"{where}: the heading {heading!r} would not read back the same.")
    return visible, "{" + " ".join(attributes) + "}"


# -- inline clean-up: pandoc spans, fill-in blanks ----------------------------------------------

# A pandoc bracketed span with classes only, e.g. [text]{.ul}; one level of nested brackets.
_SPAN_RE = re.compile(
    r"\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]\{\s*\.[A-Za-z][\w-]*(?:\s+\.[A-Za-z][\w-]*)*\s*\}"
)
_BRACKETED_RE = re.compile(r"\[[^\[\]\n]*\]")
_FILL_IN_TEXT_RE = re.compile(r"(?<!\[)\[(?:fill in|insert|enter)\b[^\[\]\n]*\](?![\[\](:{])", re.I)
_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")


def _clean_spans(line: str) -> tuple[str, list[str]]:
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


def _clean_inline(text: str) -> str:
    return _SPAN_RE.sub(lambda match: match.group(1), text).strip()


def _clean_bold_heading(text: str) -> str:
    text = _clean_inline(text.replace("*", ""))
    text = _ESCAPE_RE.sub(r"\1", text)
    return " ".join(text.split())


# -- assembling clauses (shared by every format) ------------------------------------------------

Line = tuple[int | None, str]  # (line or paragraph number, text); None for inserted blank lines


@dataclass
class _RawClause:
    line: int | None
    number: str
    heading: str
    explicit_key: str | None
    body: list[Line] = field(default_factory=list)
    implicit_preamble: bool = False


class _Collector:
    """Clauses, errors and warnings as they are found, turned into an ImportReport at the end."""

    def __init__(self, style: str, unit: str) -> None:
        self.style = style
        self.unit = unit  # "line" or "paragraph", for messages
        self.title = ""
        self.clauses: list[_RawClause] = []
        self.preamble: list[Line] = []
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.unlisted_errors = 0
        self.unlisted_warnings = 0

    def error(self, line: int | None, message: str, key: str | None = None) -> None:
        if len(self.errors) < MAX_ISSUES:
            self.errors.append(Issue(line, key, message))
        else:
            self.unlisted_errors += 1

    def warn(self, line: int | None, message: str, key: str | None = None) -> None:
        if len(self.warnings) < MAX_ISSUES:
            self.warnings.append(Issue(line, key, message))
        else:
            self.unlisted_warnings += 1

    def start_clause(self, line: int | None, text: str) -> None:
        parsed = _parse_heading(text)
        for problem in parsed.problems:
            self.error(line, problem)
        if not parsed.heading:
            self.error(line, "This clause has no heading: give it one after the number.")
        if len(parsed.number) > MAX_NUMBER_LENGTH:
            self.error(
                line, f"The clause number '{parsed.number}' is longer than {MAX_NUMBER_LENGTH}."
            )
        if len(parsed.heading) > MAX_HEADING_LENGTH:
            self.error(
                line,
                f"This heading is {len(parsed.heading)} characters long; the limit is "
                f"{MAX_HEADING_LENGTH}. Is a paragraph of text formatted as a heading?",
            )
        self.clauses.append(_RawClause(line, parsed.number, parsed.heading, parsed.key))

    def add_body(self, line: Line) -> None:
        (self.clauses[-1].body if self.clauses else self.preamble).append(line)

    def add_block(self, lines: Sequence[Line]) -> None:
        """Add a paragraph, table, ... separated from what came before by one blank line."""
        target = self.clauses[-1].body if self.clauses else self.preamble
        if any(text.strip() for _, text in target):
            target.append((None, ""))
        target.extend(lines)

    def report(self) -> ImportReport:
        if not self.clauses and not self.errors:
            self.error(
                None,
                "No clauses found: start each clause with a heading line such as "
                "'## 4. Data security', or a bold line such as '**A. PURPOSE**'.",
            )
        if _strip_blank(self.preamble):
            first = _strip_blank(self.preamble)[0][0]
            self.clauses.insert(
                0,
                _RawClause(
                    first, "", PREAMBLE_HEADING, None, self.preamble, implicit_preamble=True
                ),
            )
            self.warn(
                first,
                f"The text before the first clause heading was kept as a clause "
                f"'{PREAMBLE_HEADING}' (key '{PREAMBLE_KEY}'). Give it a heading of its own if "
                "that does not describe it.",
                PREAMBLE_KEY,
            )
        report = ImportReport(title=self.title, style=self.style)
        seen: dict[str, int | None] = {}
        for position, raw in enumerate(self.clauses, start=1):
            report.clauses.append(self._finish_clause(raw, position, seen))
        report.errors = self.errors
        report.warnings = self.warnings
        if self.unlisted_errors:
            report.errors.append(Issue(None, None, f"… and {self.unlisted_errors:,} more errors."))
        if self.unlisted_warnings:
            report.warnings.append(
                Issue(None, None, f"… and {self.unlisted_warnings:,} more warnings.")
            )
        return report

    def _finish_clause(
        self, raw: _RawClause, position: int, seen: dict[str, int | None]
    ) -> ParsedClause:
        if raw.implicit_preamble:
            key = PREAMBLE_KEY
        elif raw.explicit_key is not None:
            key = raw.explicit_key
        else:
            key = derive_key(raw.heading)
            if not key:
                key = f"clause-{position}"
                if raw.heading:
                    self.warn(
                        raw.line,
                        f"No key could be made from the heading '{raw.heading}'; used '{key}'. "
                        "Add an explicit key such as {#data-security} to the heading.",
                        key,
                    )
        if key in seen:
            self.error(
                raw.line,
                f"Clause key '{key}' is used twice: {self.unit} {seen[key]} and {self.unit} "
                f"{raw.line}. Keys must be unique; give one of them its own key in the heading, "
                f"e.g. {{#{key}-2}}.",
                key,
            )
        else:
            seen[key] = raw.line
        self._check_text(raw.line, raw.heading, key)
        lines = []
        for number, text in _strip_blank(raw.body):
            cleaned, blanks = _clean_spans(text)
            for blank in blanks:
                self.warn(
                    number,
                    f"'{blank}' is a fill-in blank from a Word document, not a Collaboratory "
                    "placeholder; it was kept as text. If the agreement should fill it in, "
                    "replace it with a typed placeholder such as [[district_name]] or "
                    "[[effective_date]]; otherwise with fixed text.",
                    key,
                )
            self._check_text(number, cleaned, key)
            lines.append(cleaned)
        body = "\n".join(lines)
        if not body.strip():
            self.warn(raw.line, "This clause has no text.", key)
        return ParsedClause(key=key, number=raw.number, heading=raw.heading, body=body)

    def _check_text(self, line: int | None, text: str, key: str) -> None:
        for name in placeholders.unknown_placeholders(text):
            if len(self.errors) >= MAX_ISSUES:  # skip the difflib search for a suggestion
                self.unlisted_errors += 1
            else:
                self.error(line, _unknown_placeholder_message(name), key)
        for malformed in placeholders.malformed_placeholders(text):
            self.error(line, malformed.message, key)


def _unknown_placeholder_message(name: str) -> str:
    if hint := placeholders.suggest_placeholder(name):
        return f"Unknown placeholder [[{name}]]: did you mean [[{hint}]]?"
    known = ", ".join(f"[[{known}]]" for known in placeholders.PLACEHOLDERS)
    return f"Unknown placeholder [[{name}]]: the known placeholders are {known}."


def _strip_blank(lines: list[Line]) -> list[Line]:
    start, end = 0, len(lines)
    while start < end and not lines[start][1].strip():
        start += 1
    while end > start and not lines[end - 1][1].strip():
        end -= 1
    return lines[start:end]


# -- Markdown -----------------------------------------------------------------------------------

# Greedy to the end of the line (callers strip): a lazy group before trailing blanks would be
# quadratic on long runs of spaces.
_ATX_RE = re.compile(r"(#{1,2})(?:[ \t]+(.*))?")
_FENCE_RE = re.compile(r" {0,3}(`{3,}|~{3,})")


class _Fences:
    """Tracks whether a line is inside a fenced code block, where ``#`` is no heading."""

    def __init__(self) -> None:
        self.open: str | None = None

    def inside_after(self, line: str) -> bool:
        """Feed ``line``; True if it is part of a fence (including the fence lines)."""
        match = _FENCE_RE.match(line)
        if self.open is None:
            if match:
                self.open = match.group(1)
                return True
            return False
        fence = line.strip()
        if match and fence == fence[0] * len(fence) and fence.startswith(self.open):
            self.open = None
        return True


def parse_markdown(
    text: str, *, style: ImportStyle = "auto", max_chars: int = DEFAULT_MAX_MARKDOWN_CHARS
) -> ImportReport:
    """Parse a template written in Markdown; see the module docstring for both styles.

    ``style="auto"`` uses ``"headings"`` when the text has a ``## `` heading outside code
    fences, else ``"bold"`` when it has a paragraph that is entirely bold, else ``"headings"``.
    """
    if len(text) > max_chars:
        return _refused(
            f"The text is {len(text):,} characters long; the limit is {max_chars:,}. "
            "Is this really one template?"
        )
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        return _refused("This is not a text file: upload Markdown (.md) or Word (.docx).")
    if not text.strip():
        return _refused("The file is empty.")
    lines = text.split("\n")
    if style == "auto":
        style = _detect_style(lines)
    if style == "headings":
        return _parse_headings(lines)
    if style == "bold":
        return _parse_bold(_markdown_blocks(lines), _Collector("bold", "line"))
    raise ValueError(f"Unknown import style {style!r}; use 'auto', 'headings' or 'bold'.")


def _detect_style(lines: list[str]) -> Literal["headings", "bold"]:
    fences = _Fences()
    for line in lines:
        if not fences.inside_after(line) and line.startswith("##") and _atx_level(line) == 2:
            return "headings"
    if any(block.bold is not None for block in _markdown_blocks(lines)):
        return "bold"
    return "headings"


def _atx_level(line: str) -> int:
    match = _ATX_RE.fullmatch(line)
    return len(match.group(1)) if match else 0


def _parse_headings(lines: list[str]) -> ImportReport:
    found = _Collector("headings", "line")
    fences = _Fences()
    title_line: int | None = None
    for number, line in enumerate(lines, start=1):
        match = None if fences.inside_after(line) else _ATX_RE.fullmatch(line)
        if match is None:
            found.add_body((number, line))
        elif len(match.group(1)) == 2:
            found.start_clause(number, match.group(2) or "")
        elif title_line is None and not found.clauses:
            title_line = number
            found.title = _clean_inline(match.group(2) or "")
        else:
            where = f"the title is on line {title_line}" if title_line else "clauses have begun"
            found.error(
                number,
                f"Only the template title may be a level-1 heading ('# '), and {where}; "
                "start clauses with '## '.",
            )
    return found.report()


@dataclass
class _Block:
    """A paragraph, table or similar: consecutive non-blank lines (or one Word paragraph)."""

    lines: list[Line]
    bold: str | None  # the plain text when the whole block is bold (plus any {#key}), else None
    prose: bool  # False for tables and rules, which may come before the title
    title: str | None = None  # the text of a '# Title' line
    level: int | None = None  # Word heading level (0 for Title style), else None


# **bold** or ***bold italic***: the text inside neither starts nor ends with a star or a space
# and has no two stars in a row, which keeps matching linear.
_BOLD_RUN = r"\*\*\*?(?=[^\s*])[^*]+(?:\*[^*]+)*(?<=[^\s*])\*\*\*?"
_BOLD_LINE_RE = re.compile(rf"{_BOLD_RUN}(?:\s+{_BOLD_RUN})*")
_TABLE_START_RE = re.compile(r"\s*(?:\||\+[-=+]|-{3,}|={3,})")


def _bold_heading(text: str) -> str | None:
    text, attributes = _split_attributes(" ".join(text.split()))
    if not _BOLD_LINE_RE.fullmatch(text):
        return None
    plain = _clean_bold_heading(text)
    if not plain:
        return None
    return f"{plain} {{{attributes}}}" if attributes is not None else plain


def _markdown_blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[Line] = []
    fences = _Fences()

    def close() -> None:
        if not current:
            return
        first = current[0][1]
        joined = " ".join(text.strip() for _, text in current)
        atx = _ATX_RE.fullmatch(first) if len(current) == 1 else None
        blocks.append(
            _Block(
                lines=list(current),
                bold=_bold_heading(joined),
                prose=not _TABLE_START_RE.match(first),
                title=_clean_inline(atx.group(2) or "") if atx and len(atx.group(1)) == 1 else None,
            )
        )
        current.clear()

    for number, line in enumerate(lines, start=1):
        in_fence = fences.inside_after(line)
        if not in_fence and not line.strip():
            close()
        else:
            current.append((number, line))
    close()
    return blocks


_KEYWORD_HEADING_RE = re.compile(
    r"(?:attachment|exhibit|appendix|schedule|addendum|annex|article|section)\b", re.I
)


def _heading_kind(text: str) -> Literal["numbered", "keyword", "capitals", "other"]:
    text = _split_attributes(text)[0]
    if _split_number(text)[0]:
        return "numbered"
    if _KEYWORD_HEADING_RE.match(text):
        return "keyword"
    if any(char.isalpha() for char in text) and text == text.upper():
        return "capitals"
    return "other"


def _parse_bold(blocks: list[_Block], found: _Collector) -> ImportReport:
    """Split blocks into title and clauses at bold paragraphs (see the module docstring)."""
    title_blocks = _title_blocks(blocks)
    if title_blocks and blocks[title_blocks[0]].title is not None:
        found.title = blocks[title_blocks[0]].title or ""
    elif title_blocks:
        found.title = " ".join(_split_attributes(blocks[i].bold or "")[0] for i in title_blocks)
    kinds = {
        index: _heading_kind(block.bold)
        for index, block in enumerate(blocks)
        if block.bold is not None and index not in title_blocks
    }
    # Mixed-case bold paragraphs are emphasis, unless the document has no other kind of heading.
    structured = any(kind != "other" for kind in kinds.values())
    for index, block in enumerate(blocks):
        if index in title_blocks:
            continue
        if block.title is not None:
            found.error(
                block.lines[0][0],
                "Only the template title may be a level-1 heading ('# '), and it must come "
                "before any text.",
            )
        elif block.bold is not None and (not structured or kinds[index] != "other"):
            found.start_clause(block.lines[0][0], block.bold)
        else:
            found.add_block(block.lines)
    return found.report()


def _title_blocks(blocks: list[_Block]) -> list[int]:
    """Indexes of the blocks that make the title: a '# ' line, or the first run of unnumbered
    bold paragraphs, provided no prose comes before it (tables may)."""
    run: list[int] = []
    for index, block in enumerate(blocks):
        if block.title is not None:
            return [index] if not run else run
        if block.bold is not None and _heading_kind(block.bold) not in ("numbered", "keyword"):
            run.append(index)
        elif run or block.prose:
            break
    return run


# -- Word ---------------------------------------------------------------------------------------

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _refused(message: str) -> ImportReport:
    return ImportReport(errors=[Issue(None, None, message)])


def _mib(size: int) -> str:
    return f"{size / MIB:.1f} MiB"


def max_upload_bytes() -> int:
    """TEMPLATE_UPLOAD_MAX_BYTES (the default outside a configured Django project)."""
    from django.conf import settings

    return getattr(settings, "TEMPLATE_UPLOAD_MAX_BYTES", DEFAULT_MAX_UPLOAD_BYTES)


def _check_docx_package(
    data: bytes, *, max_bytes: int, max_uncompressed_bytes: int, max_members: int
) -> str | None:
    """Why ``data`` must not be handed to python-docx, or None if it may."""
    if not data:
        return "The file is empty."
    if len(data) > max_bytes:
        return f"The file is {_mib(len(data))}; the limit is {_mib(max_bytes)}."
    if data.startswith(_OLE_MAGIC):
        return (
            "This is an old-format Word file (.doc) or a password-protected document: open it "
            "in Word, remove any password and save it as a Word Document (.docx)."
        )
    if not data.startswith(_ZIP_MAGIC):
        return "This is not a Word document: upload a .docx file (or the template as Markdown)."
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            members = package.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        return "The file is damaged or not a Word document: save it again as .docx."
    if len(members) > max_members:
        return f"The file has {len(members):,} parts; a Word document has far fewer."
    # zipfile stops at each member's declared size (and fails its CRC check beyond it), so the
    # declared sizes bound what python-docx can inflate.
    unpacked = sum(member.file_size for member in members)
    if unpacked > max_uncompressed_bytes:
        return (
            f"The file unpacks to {_mib(unpacked)}, more than the {_mib(max_uncompressed_bytes)} "
            "a template can need; it was not opened."
        )
    # A zip bomb: a part that inflates far more than text and XML ever do (they compress
    # about 5-20 to 1), judged from the central directory before anything is inflated.
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > MIB and ratio > MAX_COMPRESSION_RATIO:
            return (
                f"The part {member.filename} would unpack to {_mib(member.file_size)} from "
                f"{_mib(member.compress_size)} ({ratio:.0f} to 1), which no Word document "
                "does; it was not opened. Save the template again as .docx in Word."
            )
    names = {member.filename for member in members}
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        return "This is not a Word document (.docx); is it another Office file?"
    return None


def parse_docx(
    data: bytes,
    *,
    max_bytes: int | None = None,
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES,
    max_members: int = DEFAULT_MAX_ZIP_MEMBERS,
) -> ImportReport:
    """Parse a template from a .docx upload; see the module docstring for the rules.

    Never raises on bad input: anything that is not a readable, reasonably sized .docx comes back
    as an ImportReport with one error.
    """
    problem = _check_docx_package(
        data,
        max_bytes=max_upload_bytes() if max_bytes is None else max_bytes,
        max_uncompressed_bytes=max_uncompressed_bytes,
        max_members=max_members,
    )
    if problem:
        return _refused(problem)
    import docx  # python-docx is slow to import; only uploads need it

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(_docx_blocks(document))
        tracked_changes = bool(document.element.body.xpath(".//w:ins | .//w:del"))
    except Exception:  # python-docx raises many exception types on a malformed package
        return _refused("The file could not be read as a Word document: save it again as .docx.")
    report = _parse_docx_blocks(blocks)
    if tracked_changes:
        report.warnings.insert(
            0,
            Issue(
                None,
                None,
                "The document has tracked changes. Only text outside them was imported: accept "
                "or reject all changes in Word and upload it again.",
            ),
        )
    return report


_HEADING_STYLE_RE = re.compile(r"Heading ([1-9])")


def _docx_blocks(document: DocxDocument) -> Iterator[_Block]:
    from docx.table import Table

    for number, item in enumerate(document.iter_inner_content(), start=1):
        if isinstance(item, Table):
            rows = _table_rows(item)
            if rows:
                yield _Block([(number, row) for row in rows], None, prose=False)
            continue
        text = item.text
        if not text.strip():
            continue
        style_name = item.style.name if item.style is not None else ""
        level: int | None = None
        if style_name == "Title":
            level = 0
        elif match := _HEADING_STYLE_RE.fullmatch(style_name or ""):
            level = int(match.group(1))
        bold = _clean_bold_heading(text) if _is_bold(item) else None
        yield _Block([(number, text)], bold or None, prose=True, level=level)


def _table_rows(table: Table) -> list[str]:
    rows = []
    for row in table.rows:
        cells = [" ".join(cell.text.split()).replace("|", "\\|") for cell in row.cells]
        rows.append("| " + " | ".join(cells) + " |")
        if len(rows) == 1:
            rows.append("|" + "|".join("---" for _ in cells) + "|")
    return rows


def _is_bold(paragraph: Paragraph) -> bool:
    """True when every visible character of the paragraph is bold."""
    style_bold = bool(paragraph.style is not None and paragraph.style.font.bold)
    runs = [run for run in paragraph.runs if run.text.strip() and not run.font.hidden]
    if not runs:
        return False
    for run in runs:
        bold = run.bold
        if bold is None:
            bold = bool(run.style is not None and run.style.font.bold) or style_bold
        if not bold:
            return False
    return True


def _parse_docx_blocks(blocks: list[_Block]) -> ImportReport:
    title_index = next((i for i, block in enumerate(blocks) if block.level == 0), None)
    has_level_2 = any(block.level == 2 for block in blocks)
    if title_index is None:
        first_level_1 = next((i for i, block in enumerate(blocks) if block.level == 1), None)
        first_level_2 = next((i for i, block in enumerate(blocks) if block.level == 2), None)
        if first_level_1 is not None and (first_level_2 is None or first_level_1 < first_level_2):
            title_index = first_level_1
    clause_level = 2 if has_level_2 else 1
    starts = [
        i
        for i, block in enumerate(blocks)
        if i != title_index and block.level is not None and 1 <= block.level <= clause_level
    ]
    if not starts:
        # No heading styles for clauses: fall back to bold paragraphs, keeping a styled title.
        if title_index is not None:
            title = blocks[title_index]
            blocks = list(blocks)
            blocks[title_index] = _Block(
                title.lines, None, True, title=_one_line(title.lines[0][1])
            )
        return _parse_bold(blocks, _Collector("bold", "paragraph"))
    found = _Collector("headings", "paragraph")
    if title_index is not None:
        found.title = _one_line(blocks[title_index].lines[0][1])
    for index, block in enumerate(blocks):
        if index == title_index:
            continue
        if index in starts:
            found.start_clause(block.lines[0][0], _one_line(block.lines[0][1]))
        else:
            found.add_block(block.lines)
    return found.report()


def _one_line(text: str) -> str:
    # A line break typed inside a Word heading is not part of its wording.
    return text.replace("\n", " ").strip()


def parse_upload(
    data: bytes,
    *,
    filename: str = "",
    style: ImportStyle = "auto",
    max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
) -> ImportReport:
    """Parse an uploaded template file: Word by its content (or a .doc/.docx name), else UTF-8
    Markdown. For a view that accepts either; refuses binary and non-UTF-8 files with an error."""
    if len(data) > max_bytes:
        return _refused(f"The file is {_mib(len(data))}; the limit is {_mib(max_bytes)}.")
    if data.startswith((_ZIP_MAGIC, _OLE_MAGIC)) or filename.lower().endswith((".docx", ".doc")):
        return parse_docx(data, max_bytes=max_bytes)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _refused(
            "The file is neither a Word document (.docx) nor Markdown text saved as UTF-8."
        )
    return parse_markdown(text, style=style)


# -- export -------------------------------------------------------------------------------------


def _fields(clause: ClauseLike) -> tuple[str, str, str, str]:
    number = "" if clause.number is None else str(clause.number)
    return str(clause.key), number, str(clause.heading or ""), str(clause.body or "")


def export_markdown(title: str, clauses: Iterable[ClauseLike]) -> str:
    """The template as Markdown in the ``"headings"`` style, with an explicit key per clause.

    ``parse_markdown`` reads it back to the same title and clauses (see the module docstring).
    Raises ValueError for what cannot be written so: a multi-line title or heading, an invalid
    key, or a body with a line that would start a clause or a title (``# `` / ``## ``) or with
    an unclosed code fence.
    """
    if "\n" in title or "\r" in title:
        raise ValueError("The template title must be one line.")
    parts = [f"# {title.strip()}"] if title.strip() else []
    for position, clause in enumerate(clauses, start=1):
        key, number, heading, body = _fields(clause)
        where = f"Clause {position} ('{key}')"
        visible, attributes = _heading_text(number, heading, key, where=where)
        parts.append(f"## {visible} {attributes}")
        if body.strip():
            _check_markdown_body(body, where=where)
            parts.append(body)
    return "\n\n".join(parts) + "\n"


def _check_markdown_body(body: str, *, where: str) -> None:
    fences = _Fences()
    for line in body.splitlines():
        if not fences.inside_after(line) and _atx_level(line):
            raise ValueError(
                f"{where}: the body line {line[:40]!r} would start a new clause or title; "
                "use '###' for headings inside a clause."
            )
    if fences.open is not None:
        raise ValueError(f"{where}: the body opens a code fence ({fences.open}) it never closes.")


# Characters XML 1.0 cannot hold; Word would refuse the file.
_XML_INVALID_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def export_docx(title: str, clauses: Iterable[ClauseLike]) -> bytes:
    """The template as a .docx: title as Heading 1, each clause as a Heading 2 "4. Data security"
    with its key in hidden text, then one Word paragraph per body paragraph.

    ``parse_docx`` reads it back to the same title and clauses (see the module docstring).
    Raises ValueError for a multi-line title or heading, an invalid key, or control characters.
    """
    import docx

    if "\n" in title or "\r" in title:
        raise ValueError("The template title must be one line.")
    document = docx.Document()
    document.core_properties.title = title.strip()[:255]
    if title.strip():
        _check_xml_text(title, where="The template title")
        document.add_heading(title.strip(), level=1)
    for position, clause in enumerate(clauses, start=1):
        key, number, heading, body = _fields(clause)
        where = f"Clause {position} ('{key}')"
        _check_xml_text(heading + body, where=where)
        visible, attributes = _heading_text(number, heading, key, where=where)
        paragraph = document.add_heading(visible, level=2)
        paragraph.add_run(f" {attributes}").font.hidden = True
        for text in re.split(r"\n(?:[ \t]*\n)+", body.strip("\n")) if body.strip() else []:
            run = document.add_paragraph().add_run()
            for index, line in enumerate(text.split("\n")):
                if index:
                    run.add_break()
                run.add_text(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _check_xml_text(text: str, *, where: str) -> None:
    if _XML_INVALID_RE.search(text):
        raise ValueError(f"{where} contains a control character that Word cannot store.")
