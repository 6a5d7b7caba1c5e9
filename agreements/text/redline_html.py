"""Redlines as HTML: the word-level diff of :mod:`agreements.text.redline`, marked up.

- Output is HTML built only from escaped text: clause texts are data, never markup or template
  code. A blank line starts a new ``<p>``; a single line break becomes ``<br>``. Each change is
  marked with ``<del>``/``<ins>`` plus a visually hidden ``[deleted: …]`` / ``[inserted: …]``
  cue, so screen-reader users and colour-blind users get the change without the colours. A change
  of whitespace alone would be invisible, so it shows ``¶`` (a line break) or ``·`` (a space).
- Changes are numbered by region as in :func:`agreements.text.redline.number_changes`; the first
  element of change N carries an ``id`` so a page can step from change to change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from enum import Enum

from django.utils.html import escape
from django.utils.safestring import SafeString

from agreements.text.redline import Op, diff_tokens, number_changes
from collaboratory.safe_html import html_format, html_join

__all__ = ["redline_html", "side_by_side"]

_BREAK_RE = re.compile(r"((?:\r\n?|\n)\s*)")  # spaces before it are kept: HTML drops them
_NEWLINE_RE = re.compile(r"\r\n?|\n")


class _Break(Enum):
    LINE = "a single line break: <br>"
    PARAGRAPH = "a blank line (two or more line breaks): a new <p>"


_MARKS = {
    "delete": (
        '<del class="redline-del" aria-label="{}"{}>'
        '<span class="visually-hidden">[{}: </span>{}<span class="visually-hidden">]</span>'
        "</del>"
    ),
    "insert": (
        '<ins class="redline-ins" aria-label="{}"{}>'
        '<span class="visually-hidden">[{}: </span>{}<span class="visually-hidden">]</span>'
        "</ins>"
    ),
}
_CUES = {"delete": "deleted", "insert": "inserted"}


def _layout(text: str) -> Iterator[str | _Break]:
    """The pieces of ``text`` between line breaks, and the breaks."""
    for index, piece in enumerate(_BREAK_RE.split(text)):
        if index % 2 == 0:
            if piece:
                yield piece
        elif len(_NEWLINE_RE.findall(piece)) >= 2:
            yield _Break.PARAGRAPH
        else:
            yield _Break.LINE


def _visible_whitespace(text: str) -> str:
    return "¶" if _NEWLINE_RE.search(text) else "·"


def _render(
    numbered: Iterable[tuple[Op, int | None]],
    kinds: frozenset[str],
    id_prefix: str,
    id_suffix: str,
    author: str = "",
) -> SafeString:
    """HTML of the ops whose kind is in ``kinds``, in ``<p>`` blocks, changes marked."""
    paragraphs: list[list[SafeString]] = [[]]
    anchored: set[int] = set()

    def mark(kind: str, text: str, number: int) -> SafeString:
        if number in anchored:
            attributes = html_format(' data-change="{}"', number)
        else:
            anchored.add(number)
            attributes = html_format(
                ' id="{}{}{}" data-change="{}"', id_prefix, number, id_suffix, number
            )
        cue = f"{_CUES[kind]} by {author}" if author else _CUES[kind]
        if author:
            attributes = html_format('{} title="{}"', attributes, cue[:1].upper() + cue[1:])
        return html_format(_MARKS[kind], cue, attributes, cue, text)

    for op, number in numbered:
        if op.kind not in kinds:
            continue
        pieces = _layout(op.text)
        if number is not None and op.text.isspace():
            paragraphs[-1].append(mark(op.kind, _visible_whitespace(op.text), number))
            pieces = (piece for piece in pieces if not isinstance(piece, str))
        for piece in pieces:
            if piece is _Break.PARAGRAPH:
                paragraphs.append([])
            elif piece is _Break.LINE:
                paragraphs[-1].append(SafeString("<br>"))
            elif number is None:
                paragraphs[-1].append(escape(piece))
            else:
                paragraphs[-1].append(mark(op.kind, piece, number))
    return html_join(
        "\n",
        "<p>{}</p>",
        (
            (html_join("", "{}", ((f,) for f in fragments)),)
            for fragments in paragraphs
            if fragments
        ),
    )


def redline_html(old: str, new: str, *, id_prefix: str = "chg-", author: str = "") -> SafeString:
    """Old and new text in one view: deletions in ``<del>``, insertions in ``<ins>``; given an
    ``author``, each mark names it ("inserted by Northfield University").

    The first element of change N has ``id="{id_prefix}N"``; every element of it has
    ``data-change="N"``, so a page can step from change to change. Pages showing several
    clauses pass a distinct ``id_prefix`` per clause to keep ids unique.
    """
    ops = diff_tokens(old, new)
    kinds = frozenset({"equal", "delete", "insert"})
    return _render(number_changes(ops), kinds, id_prefix, "", author)


def side_by_side(old: str, new: str, *, id_prefix: str = "chg-") -> tuple[SafeString, SafeString]:
    """The old text with its deletions marked, and the new text with its insertions marked.

    Change numbers match ``redline_html``; ids end in ``-old`` and ``-new`` so both sides can
    be on one page (a pure insertion has no element on the left, a pure deletion none on the
    right).
    """
    numbered = list(number_changes(diff_tokens(old, new)))
    return (
        _render(numbered, frozenset({"equal", "delete"}), id_prefix, "-old"),
        _render(numbered, frozenset({"equal", "insert"}), id_prefix, "-new"),
    )
