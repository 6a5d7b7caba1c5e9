"""Text as it enters the product: one normal form for every form, API call, import and admin.

Browsers submit textareas with CRLF line endings, Word and PDFs bring decomposed accents and
trailing spaces. Stored as is, each of those shows up as a change that nobody made: every
paragraph break "deleted and re-inserted" in a redline, an empty paragraph revision in the
``.docx``. Wherever text enters, it is normalised, so the comparison of two texts only ever
sees what people actually changed:

- :func:`normalise_text` for text read as Markdown (clause bodies, proposed and merged
  texts): a hard line break written as trailing spaces is rewritten as a backslash break, the
  one Markdown spelling that survives the stripping, so the text still reads the same.
- :func:`normalise_plain_text` for text shown as written (headings, rationales, comments,
  reasons, names): trailing spaces are simply dropped, since a backslash would show there.

Both are idempotent, keep leading indentation and blank lines (Markdown needs them) and
change nothing else: no space is collapsed, no character removed inside a line.
"""

from __future__ import annotations

import re
import unicodedata

_TRAILING = " \t"
_TAB_STOP = 4  # pandoc expands tabs to this stop before it reads a line
_BLANK_RE = re.compile(r"^[ \t]*$")
_ATX_HEADING_RE = re.compile(r"^ {0,3}#")
# A setext heading's underline (or a rule): it makes the line above a block of its own.
_UNDERLINE_RE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
# List markers (and quote marks) alone: where they start a list item, the spaces after them
# are the marker's, not a line break. Items start a run of lines or follow one in a list.
_MARKER = r"(?:>|[-+*]|\(?(?:[0-9]{1,9}|[A-Za-z]|[ivxlcdm]{1,8}|[IVXLCDM]{1,8}|#)[.)])"
_MARKERS_ONLY_RE = re.compile(rf"^[ \t]*(?:{_MARKER}[ \t]*)+$")
_ITEM_START_RE = re.compile(rf"^[ \t]*{_MARKER}(?:[ \t]|$)")
# A definition: the line above is the term, a block of its own.
_DEFINITION_RE = re.compile(r"^ {0,3}[:~][ \t]")
# A table's rule: grid ("+---+"), pipe ("|---|:--", "--|--") or simple ("---  ---").
_TABLE_RULE_RE = re.compile(
    r"^\s*\+[-=:+]+\+\s*$"
    r"|^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?\s*$"
    r"|^\s*-{3,}(?:\s+-{3,})+\s*$"
)


def _lines(value: str) -> list[str]:
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", value).split("\n")


def normalise_plain_text(value: str) -> str:
    """``value`` with CRLF and lone CR as LF, in Unicode NFC, without spaces or tabs at the
    end of a line. For text shown as written; Markdown goes through :func:`normalise_text`."""
    if not value:
        return value
    return "\n".join(line.rstrip(_TRAILING) for line in _lines(value))


def normalise_text(value: str) -> str:
    """``value`` as Markdown in its normal form: CRLF and lone CR become LF, the text is in
    Unicode NFC, and no line ends in a space or tab.

    Trailing whitespace means something in Markdown in one place only: two or more spaces
    (a tab counting to the next multiple of four columns) at the end of a paragraph's line
    that the next line continues are a hard line break. There they become a backslash at the
    end of the line, the hard break pandoc reads the same way. Elsewhere (the last line of a
    paragraph, a heading, the rows of a table or line block) they mean nothing and are
    dropped. A space or tab escaped by a backslash (a non-breaking space to pandoc) becomes
    the non-breaking space it reads as.

    Code blocks get no exception: a clause body has no code (the reader takes it as plain
    paragraphs), and whitespace at the end of its lines shows nowhere.
    """
    if not value:
        return value
    lines = _lines(value)
    in_paragraph = _paragraph_lines(lines)
    out: list[str] = []
    for index, line in enumerate(lines):
        content = line.rstrip(_TRAILING)
        trailing = line[len(content) :]
        if not trailing:
            out.append(line)
            continue
        if _escapes_next(content):
            content, trailing = content[:-1] + "\u00a0", trailing[1:]
        width = len((content + trailing).expandtabs(_TAB_STOP)) - len(content.expandtabs(_TAB_STOP))
        if width >= 2 and in_paragraph[index] and not _escapes_next(content):
            content += "\\"
        out.append(content)
    return "\n".join(out)


def _paragraph_lines(lines: list[str]) -> list[bool]:
    """For each line, whether a hard break at its end would join it to the next line in one
    paragraph: it has text, the next line too, and neither is a heading, an underline, a
    definition, a list marker alone, or part of a table or line block (a run of lines
    holding a table rule or starting with "|")."""
    flags = [False] * len(lines)
    start = 0
    for end in range(len(lines) + 1):
        if end < len(lines) and not _BLANK_RE.match(lines[end]):
            continue
        run = lines[start:end]
        tabular = bool(run) and (
            run[0].lstrip().startswith("|") or any(_TABLE_RULE_RE.match(line) for line in run)
        )
        if not tabular:
            listed = bool(run) and bool(_ITEM_START_RE.match(run[0]))
            heading = False
            for offset, line in enumerate(run[:-1]):
                # An ATX heading starts a run or follows one (pandoc wants a blank line before).
                heading = bool(_ATX_HEADING_RE.match(line)) and (offset == 0 or heading)
                following = run[offset + 1]
                flags[start + offset] = not (
                    heading
                    or ((offset == 0 or listed) and _MARKERS_ONLY_RE.match(line))
                    or _UNDERLINE_RE.match(line)
                    or _UNDERLINE_RE.match(following)
                    or _DEFINITION_RE.match(following)
                )
        start = end + 1
    return flags


def _escapes_next(content: str) -> bool:
    """Whether ``content`` ends in a backslash that escapes what follows (an odd run)."""
    run = len(content) - len(content.rstrip("\\"))
    return run % 2 == 1
