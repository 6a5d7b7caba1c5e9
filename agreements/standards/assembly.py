"""Assembling clauses from what a reader found, shared by the Markdown and Word readers.

A reader feeds a :class:`Collector` clause headings and body lines (or whole blocks) in order;
:meth:`Collector.report` then derives missing keys, catches duplicate keys, keeps text before the
first heading as the preamble, checks placeholders and fill-in blanks, and returns the
:class:`~agreements.standards.report.ImportReport` (rules in that module's docstring).

Bold paragraphs as clause headings (:func:`parse_bold`): Markdown ``style="bold"`` (Word
documents converted by pandoc, like the real agreements the tests import) and Word files without
heading styles for clauses. A clause heading is a paragraph that is entirely bold
(``**A. PURPOSE**``, ``**1. Definitions.**``, optionally followed by ``{#key}``).

- Title: the first run of bold paragraphs before any prose (a table may come first), unless they
  are numbered; the lines are joined with spaces. A ``# Title`` line also works.
- After the title, a bold paragraph is a clause heading when it is numbered (``A.``, ``1.``,
  ``IV.``), starts with ATTACHMENT/EXHIBIT/APPENDIX/SCHEDULE/ADDENDUM/ANNEX/ARTICLE/SECTION, or
  is in capitals. A bold paragraph in mixed case is emphasis inside a clause, unless the
  document has no heading of those kinds at all (then every bold paragraph is a heading).
- Bodies keep their Markdown (lists, block quotes, tables); paragraphs are separated by one blank
  line. Headings lose their bold markers and backslash escapes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from agreements.standards.report import (
    MAX_HEADING_LENGTH,
    MAX_ISSUES,
    MAX_NUMBER_LENGTH,
    PREAMBLE_HEADING,
    PREAMBLE_KEY,
    ImportReport,
    Issue,
    ParsedClause,
    clean_spans,
    derive_key,
    parse_heading,
    split_attributes,
    split_number,
)
from agreements.text import placeholders

Line = tuple[int | None, str]  # (line or paragraph number, text); None for inserted blank lines


@dataclass
class _RawClause:
    line: int | None
    number: str
    heading: str
    explicit_key: str | None
    body: list[Line] = field(default_factory=list)
    implicit_preamble: bool = False


class Collector:
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
        parsed = parse_heading(text)
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
            cleaned, blanks = clean_spans(text)
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


@dataclass
class Block:
    """A paragraph, table or similar: consecutive non-blank lines (or one Word paragraph)."""

    lines: list[Line]
    bold: str | None  # the plain text when the whole block is bold (plus any {#key}), else None
    prose: bool  # False for tables and rules, which may come before the title
    title: str | None = None  # the text of a '# Title' line
    level: int | None = None  # Word heading level (0 for Title style), else None


_KEYWORD_HEADING_RE = re.compile(
    r"(?:attachment|exhibit|appendix|schedule|addendum|annex|article|section)\b", re.I
)


def _heading_kind(text: str) -> Literal["numbered", "keyword", "capitals", "other"]:
    text = split_attributes(text)[0]
    if split_number(text)[0]:
        return "numbered"
    if _KEYWORD_HEADING_RE.match(text):
        return "keyword"
    if any(char.isalpha() for char in text) and text == text.upper():
        return "capitals"
    return "other"


def parse_bold(blocks: list[Block], found: Collector) -> ImportReport:
    """Split blocks into title and clauses at bold paragraphs (see the module docstring)."""
    title_blocks = _title_blocks(blocks)
    if title_blocks and blocks[title_blocks[0]].title is not None:
        found.title = blocks[title_blocks[0]].title or ""
    elif title_blocks:
        found.title = " ".join(split_attributes(blocks[i].bold or "")[0] for i in title_blocks)
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


def _title_blocks(blocks: list[Block]) -> list[int]:
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
