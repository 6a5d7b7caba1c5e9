"""The text of a Word paragraph as inlines: runs, emphasis, blanks, parameters, references.

A paragraph is read into a flat list of ``(marks, atom)`` pieces, where marks are the
character formats in force (bold -> Strong, italic -> Emph, underline -> Underline,
superscript -> Superscript, the "Defined Term" character style -> Term), and atoms are text,
line breaks, blanks, parameters and references. :func:`nest` then rebuilds nested inlines, the
longest-running format outermost (ties in the order of :data:`MARK_ORDER`), which is also how
the export writes them, so a tree survives the round trip.

Fill-in blanks: a run in one of our "Fill-in <kind>" character styles is a blank of that kind
(the export writes them so). Blanks typed as text (underscores, ``[Name]``, "Month, Day,
Year") and ``[[parameters]]`` are found afterwards by :mod:`.fillins`, the same rules as for
Markdown.

What a run holds that the tree cannot (images, text boxes, fields, footnotes, comments,
tracked changes, content controls, hidden text, symbols) is given to ``notice`` with a
message, so the importer reports it with the paragraph's position.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from agreements.text.document.model import (
    Blank,
    BlankKind,
    Emph,
    Inline,
    Strong,
    Superscript,
    Term,
    Text,
    Underline,
)
from agreements.text.document.plain import EMPTY_BLANK
from agreements.text.document.word_numbering import NS, w

MARK_ORDER = ("strong", "emph", "underline", "superscript", "term")
_MARK_CLASSES: dict[str, type] = {
    "strong": Strong,
    "emph": Emph,
    "underline": Underline,
    "superscript": Superscript,
    "term": Term,
}
FILL_IN_STYLE = "Fill-in "  # + the kind, title-cased: "Fill-in Date"
TERM_STYLE = "Defined Term"
PARAM_STYLE = "Parameter"
OUR_CHARACTER_STYLES = {TERM_STYLE, PARAM_STYLE} | {
    FILL_IN_STYLE + kind.value.title() for kind in BlankKind
}
CHECK_BOX = "\u2610"

type Marks = frozenset[str]
type Piece = tuple[Marks, Inline | PendingRef]
type Notice = Callable[[str], None]


@dataclass(frozen=True)
class PendingRef:
    """An internal link (``w:hyperlink w:anchor``) to resolve once the outline is known."""

    anchor: str
    text: str


# -- styles -------------------------------------------------------------------------------------

_FLAGS = {"b": "strong", "i": "emph", "u": "underline", "vanish": "hidden", "strike": "strike"}


def _rpr_flags(rpr: Any) -> dict[str, bool]:
    flags: dict[str, bool] = {}
    if rpr is None:
        return flags
    for tag, flag in _FLAGS.items():
        element = rpr.find(f"w:{tag}", NS)
        if element is not None:
            value = element.get(w("val"))
            flags[flag] = value not in ("0", "false", "off", "none")
    if (dstrike := rpr.find("w:dstrike", NS)) is not None and dstrike.get(w("val")) not in (
        "0",
        "false",
    ):
        flags["strike"] = True
    if (vert := rpr.find("w:vertAlign", NS)) is not None:
        flags["superscript"] = vert.get(w("val")) == "superscript"
        flags["subscript"] = vert.get(w("val")) == "subscript"
    return flags


@dataclass(frozen=True)
class Style:
    id: str
    name: str
    kind: str  # paragraph, character, table, numbering
    based_on: str | None
    flags: dict[str, bool]
    outline_level: int | None
    indent: int | None  # w:pPr/w:ind w:left, twips


class Styles:
    """Style names, inherited character formats and heading levels from ``styles.xml``."""

    def __init__(self, root: Any | None) -> None:
        self.by_id: dict[str, Style] = {}
        self.default_paragraph: str | None = None
        self.defaults: dict[str, bool] = {}
        if root is None:
            return
        self.defaults = _rpr_flags(root.find("w:docDefaults/w:rPrDefault/w:rPr", NS))
        for element in root.iterfind("w:style", NS):
            style_id = element.get(w("styleId")) or ""
            name = element.find("w:name", NS)
            outline = element.find("w:pPr/w:outlineLvl", NS)
            ind = element.find("w:pPr/w:ind", NS)
            left = None if ind is None else ind.get(w("left")) or ind.get(w("start"))
            kind = element.get(w("type")) or "paragraph"
            based = element.find("w:basedOn", NS)
            self.by_id[style_id] = Style(
                style_id,
                (name.get(w("val")) if name is not None else style_id) or style_id,
                kind,
                None if based is None else based.get(w("val")),
                _rpr_flags(element.find("w:rPr", NS)),
                None if outline is None else int(outline.get(w("val")) or 0),
                int(left) if left and left.lstrip("-").isdigit() else None,
            )
            if kind == "paragraph" and element.get(w("default")) in ("1", "true"):
                self.default_paragraph = style_id

    def name(self, style_id: str | None) -> str:
        style = self.by_id.get(style_id or "")
        return style.name if style else (style_id or "")

    def chain(self, style_id: str | None) -> Iterable[Style]:
        seen: set[str] = set()
        while style_id and style_id in self.by_id and style_id not in seen:
            seen.add(style_id)
            style = self.by_id[style_id]
            yield style
            style_id = style.based_on

    def flags(self, style_id: str | None) -> dict[str, bool]:
        """Character formats a style sets, nearest definition winning."""
        merged: dict[str, bool] = {}
        for style in self.chain(style_id):
            for flag, value in style.flags.items():
                merged.setdefault(flag, value)
        return merged

    def indent(self, style_id: str | None) -> int | None:
        return next((s.indent for s in self.chain(style_id) if s.indent is not None), None)

    def heading_level(self, style_id: str | None) -> int | None:
        """0 for Title, n for "heading n" (or a style whose outline level is n-1)."""
        for style in self.chain(style_id):
            lowered = style.name.lower()
            if lowered == "title":
                return 0
            if match := re.fullmatch(r"heading ([1-9])", lowered):
                return int(match.group(1))
            if style.outline_level is not None and style.outline_level < 9:
                return style.outline_level + 1
        return None


# -- nesting ------------------------------------------------------------------------------------


def nest(pieces: list[Piece]) -> list[Inline | PendingRef]:
    """Nested inlines from flat pieces: at each point the format that runs longest is
    outermost (ties in MARK_ORDER); adjacent text with the same formats is merged."""
    out: list[Inline | PendingRef] = []
    index = 0
    while index < len(pieces):
        marks, atom = pieces[index]
        if not marks:
            if isinstance(atom, Text) and out and isinstance(out[-1], Text):
                out[-1] = Text(out[-1].text + atom.text)
            else:
                out.append(atom)
            index += 1
            continue

        reach = {mark: _reach(pieces, index, mark) for mark in marks}
        best = max(reach.values())
        outer = next(m for m in MARK_ORDER if m in marks and reach[m] == best)
        end = reach[outer]
        inner = [(m - {outer}, a) for m, a in pieces[index:end]]
        out.append(_MARK_CLASSES[outer](tuple(nest(inner))))
        index = end
    return out


def _reach(pieces: list[Piece], start: int, mark: str) -> int:
    end = start
    while end < len(pieces) and mark in pieces[end][0]:
        end += 1
    return end


def flatten(inlines: Iterable[Inline], marks: Marks = frozenset()) -> list[Piece]:
    """The inverse of :func:`nest`: each atom with the formats around it."""
    out: list[Piece] = []
    for inline in inlines:
        if isinstance(inline, (Strong, Emph, Underline, Superscript, Term)):
            name = next(n for n, cls in _MARK_CLASSES.items() if isinstance(inline, cls))
            out.extend(flatten(inline.children, marks | {name}))
        else:
            out.append((marks, inline))
    return out


# -- blanks written by the export -------------------------------------------------------------


def styled_blank(style_name: str, text: str) -> Blank | None:
    """The blank a run in one of our "Fill-in <kind>" styles stands for."""
    if not style_name.startswith(FILL_IN_STYLE):
        return None
    try:
        kind = BlankKind(style_name[len(FILL_IN_STYLE) :].lower())
    except ValueError:
        return None
    prompt = text.strip()
    if prompt.startswith("[") and prompt.endswith("]"):
        prompt = prompt[1:-1].strip()
    if kind is BlankKind.CHOICE and prompt in ("", CHECK_BOX):
        prompt = ""
    if set(prompt) <= {"_"}:
        prompt = ""
    return Blank(kind, prompt)


def blank_text(blank: Blank) -> str:
    """How the export writes a blank (read back by :func:`styled_blank`)."""
    if blank.kind is BlankKind.CHOICE and not blank.prompt:
        return CHECK_BOX
    return f"[{blank.prompt}]" if blank.prompt else EMPTY_BLANK
