"""Reading a template written in Markdown (:func:`parse_markdown`); rules shared with Word in
:mod:`~agreements.standards.report` (headings, keys, preamble, placeholders).

``style="headings"`` (what :func:`agreements.standards.export.export_markdown` writes)::

    # Standard Data-Sharing Agreement          <- the title (at most one, before any clause)

    ## 4. Data security {#data-security}       <- one clause: number, heading, explicit key

    Body in Markdown, kept verbatim ...

- A clause heading is a line starting with ``## `` (level-2 ATX heading at column 0); ``###``
  and deeper headings, and anything inside fenced code blocks (three or more backticks or
  tildes), are body text. Setext headings (underlined with ``===``) and closing ``#`` sequences
  are not supported.

``style="bold"``: Word documents converted by pandoc, where a clause heading is a paragraph
that is entirely bold (``**A. PURPOSE**``); the rules are in
:mod:`~agreements.standards.assembly`, which the Word reader shares.
"""

from __future__ import annotations

import re
from typing import Literal

from agreements.standards.assembly import Block, Collector, Line, parse_bold
from agreements.standards.limits import DEFAULT_MAX_MARKDOWN_CHARS
from agreements.standards.report import (
    ImportReport,
    ImportStyle,
    clean_bold_heading,
    clean_inline,
    refused,
    split_attributes,
)

# Greedy to the end of the line (callers strip): a lazy group before trailing blanks would be
# quadratic on long runs of spaces.
_ATX_RE = re.compile(r"(#{1,2})(?:[ \t]+(.*))?")
_FENCE_RE = re.compile(r" {0,3}(`{3,}|~{3,})")


class Fences:
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
    """Parse a template written in Markdown; the module docstring has both styles.

    ``style="auto"`` uses ``"headings"`` when the text has a ``## `` heading outside code
    fences, else ``"bold"`` when it has a paragraph that is entirely bold, else ``"headings"``.
    """
    if len(text) > max_chars:
        return refused(
            f"The text is {len(text):,} characters long; the limit is {max_chars:,}. "
            "Is this really one template?"
        )
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        return refused("This is not a text file: upload Markdown (.md) or Word (.docx).")
    if not text.strip():
        return refused("The file is empty.")
    lines = text.split("\n")
    if style == "auto":
        style = _detect_style(lines)
    if style == "headings":
        return _parse_headings(lines)
    if style == "bold":
        return parse_bold(_markdown_blocks(lines), Collector("bold", "line"))
    raise ValueError(f"Unknown import style {style!r}; use 'auto', 'headings' or 'bold'.")


def _detect_style(lines: list[str]) -> Literal["headings", "bold"]:
    fences = Fences()
    for line in lines:
        if not fences.inside_after(line) and line.startswith("##") and atx_level(line) == 2:
            return "headings"
    if any(block.bold is not None for block in _markdown_blocks(lines)):
        return "bold"
    return "headings"


def atx_level(line: str) -> int:
    match = _ATX_RE.fullmatch(line)
    return len(match.group(1)) if match else 0


def _parse_headings(lines: list[str]) -> ImportReport:
    found = Collector("headings", "line")
    fences = Fences()
    title_line: int | None = None
    for number, line in enumerate(lines, start=1):
        match = None if fences.inside_after(line) else _ATX_RE.fullmatch(line)
        if match is None:
            found.add_body((number, line))
        elif len(match.group(1)) == 2:
            found.start_clause(number, match.group(2) or "")
        elif title_line is None and not found.clauses:
            title_line = number
            found.title = clean_inline(match.group(2) or "")
        else:
            where = f"the title is on line {title_line}" if title_line else "clauses have begun"
            found.error(
                number,
                f"Only the template title may be a level-1 heading ('# '), and {where}; "
                "start clauses with '## '.",
            )
    return found.report()


# and has no two stars in a row, which keeps matching linear.
_BOLD_RUN = r"\*\*\*?(?=[^\s*])[^*]+(?:\*[^*]+)*(?<=[^\s*])\*\*\*?"
_BOLD_LINE_RE = re.compile(rf"{_BOLD_RUN}(?:\s+{_BOLD_RUN})*")
_TABLE_START_RE = re.compile(r"\s*(?:\||\+[-=+]|-{3,}|={3,})")


def _bold_heading(text: str) -> str | None:
    text, attributes = split_attributes(" ".join(text.split()))
    if not _BOLD_LINE_RE.fullmatch(text):
        return None
    plain = clean_bold_heading(text)
    if not plain:
        return None
    return f"{plain} {{{attributes}}}" if attributes is not None else plain


def _markdown_blocks(lines: list[str]) -> list[Block]:
    blocks: list[Block] = []
    current: list[Line] = []
    fences = Fences()

    def close() -> None:
        if not current:
            return
        first = current[0][1]
        joined = " ".join(text.strip() for _, text in current)
        atx = _ATX_RE.fullmatch(first) if len(current) == 1 else None
        blocks.append(
            Block(
                lines=list(current),
                bold=_bold_heading(joined),
                prose=not _TABLE_START_RE.match(first),
                title=clean_inline(atx.group(2) or "") if atx and len(atx.group(1)) == 1 else None,
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
