"""Word's automatic numbering, read from ``word/numbering.xml`` and counted as Word counts it.

In a Word file a list number or section letter is not in the text: the paragraph says "I am
level ``w:ilvl`` of list ``w:numId``" (directly in ``w:pPr/w:numPr`` or through its paragraph
style, inherited along ``w:basedOn``), and the label is computed:

- ``w:num`` (a list instance) points to a ``w:abstractNum`` (the list definition). An abstract
  that only says ``w:numStyleLink="X"`` borrows the definition of the numbering style X: the
  abstract with ``w:styleLink="X"``, or the one reached through style X's own ``w:numId``.
- Each level (``w:lvl``) has ``w:numFmt`` (decimal, decimalZero, lowerLetter, upperLetter,
  lowerRoman, upperRoman, bullet, none), ``w:lvlText`` (``%1.``, ``%1.%2``, ``(%3)``: ``%n`` is
  the counter of level n-1), ``w:start``, ``w:lvlRestart`` (restart only after that level, 0 =
  never; by default a level restarts whenever a higher level is used) and ``w:isLgl`` (show the
  enclosing counters in decimal: "1.1" under "Article I").
- A ``w:num`` may override a level: ``w:lvlOverride/w:startOverride`` (start again at n) or a
  whole ``w:lvlOverride/w:lvl``.
- Counters: list instances that point to the same abstract share one set of counters, so a
  list continues across them; an instance with an override counts on its own from its start.
  A counter not used yet shows its start value. (What an instance with start overrides shows
  for outer levels it has not used is where renderers disagree; LibreOffice ignores those
  overrides, so the export never relies on them.)

:class:`Counter` walks the paragraphs in document order (including those in tables and content
controls) and gives each numbered paragraph its label; :func:`numbering_for` maps a level to
our :class:`~agreements.text.document.model.Numbering` so that
``labels.label(numbering, counters[-len(numbering.formats):])`` spells the same label.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from agreements.text.document.labels import count
from agreements.text.document.model import NumberFormat, Numbering

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W_NS}
LEVELS = 9

_FORMATS = {
    "decimal": NumberFormat.DECIMAL,
    "decimalZero": NumberFormat.DECIMAL_ZERO,
    "lowerLetter": NumberFormat.LOWER_LETTER,
    "upperLetter": NumberFormat.UPPER_LETTER,
    "lowerRoman": NumberFormat.LOWER_ROMAN,
    "upperRoman": NumberFormat.UPPER_ROMAN,
    "none": NumberFormat.NONE,
}
WORD_FORMATS = {value: key for key, value in _FORMATS.items()}
BULLET = "bullet"


def w(name: str) -> str:
    """Clark notation for a WordprocessingML name: ``w("numId")``."""
    return f"{{{W_NS}}}{name}"


def _val(element: Any, path: str) -> str | None:
    found = element.find(path, NS)
    return None if found is None else found.get(w("val"))


def _int(value: str | None, default: int | None = None) -> int | None:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


@dataclass(frozen=True)
class Level:
    """One ``w:lvl``: how one level of a list counts and spells its label."""

    ilvl: int
    fmt: str = "decimal"  # Word's w:numFmt, as written
    text: str = "%1."  # w:lvlText
    start: int = 1
    restart: int | None = None  # w:lvlRestart: None = after any higher level, 0 = never
    legal: bool = False  # w:isLgl
    style: str | None = None  # w:pStyle: the paragraph style tied to this level
    indent: int | None = None  # w:pPr/w:ind w:left, in twips
    hanging: int | None = None

    @property
    def is_bullet(self) -> bool:
        return self.fmt == BULLET

    @property
    def format(self) -> NumberFormat:
        """Our format; Word formats we do not model (ordinal, cardinalText...) count decimal."""
        return _FORMATS.get(self.fmt, NumberFormat.DECIMAL)


def _level(element: Any) -> Level:
    ind = element.find("w:pPr/w:ind", NS)
    return Level(
        ilvl=_int(element.get(w("ilvl")), 0) or 0,
        fmt=_val(element, "w:numFmt") or "decimal",
        text=_val(element, "w:lvlText") or "",
        start=_int(_val(element, "w:start"), 1) or 0,
        restart=_int(_val(element, "w:lvlRestart")),
        legal=element.find("w:isLgl", NS) is not None
        and _val(element, "w:isLgl") not in ("0", "false"),
        style=_val(element, "w:pStyle"),
        indent=_int(None if ind is None else ind.get(w("left")) or ind.get(w("start"))),
        hanging=_int(None if ind is None else ind.get(w("hanging"))),
    )


@dataclass(frozen=True)
class AbstractNum:
    id: str
    levels: Mapping[int, Level]
    style_link: str | None = None  # this abstract defines numbering style X
    num_style_link: str | None = None  # this abstract borrows numbering style X's definition


@dataclass(frozen=True)
class Num:
    id: str
    abstract_id: str
    start_overrides: Mapping[int, int] = field(default_factory=dict)
    level_overrides: Mapping[int, Level] = field(default_factory=dict)

    @property
    def overridden(self) -> bool:
        return bool(self.start_overrides or self.level_overrides)


@dataclass(frozen=True)
class StyleNumbering:
    """What a paragraph style says about numbering: its own ``w:numPr`` and its parent."""

    num_id: str | None
    ilvl: int | None
    based_on: str | None


class WordNumbering:
    """The list definitions of one document, and which paragraph uses which level."""

    def __init__(self, numbering: Any | None, styles: Any | None) -> None:
        self.abstracts: dict[str, AbstractNum] = {}
        self.nums: dict[str, Num] = {}
        self.styles: dict[str, StyleNumbering] = {}
        self.default_style: str | None = None
        self.unknown_formats: set[str] = set()
        if numbering is not None:
            self._read_numbering(numbering)
        if styles is not None:
            self._read_styles(styles)

    def _read_numbering(self, root: Any) -> None:
        for element in root.iterfind("w:abstractNum", NS):
            levels = {}
            for lvl in element.iterfind("w:lvl", NS):
                level = _level(lvl)
                levels[level.ilvl] = level
                if level.fmt not in _FORMATS and level.fmt != BULLET:
                    self.unknown_formats.add(level.fmt)
            abstract_id = element.get(w("abstractNumId")) or ""
            self.abstracts[abstract_id] = AbstractNum(
                abstract_id,
                levels,
                style_link=_val(element, "w:styleLink"),
                num_style_link=_val(element, "w:numStyleLink"),
            )
        for element in root.iterfind("w:num", NS):
            starts, redefined = {}, {}
            for override in element.iterfind("w:lvlOverride", NS):
                ilvl = _int(override.get(w("ilvl")), 0) or 0
                if (start := _int(_val(override, "w:startOverride"))) is not None:
                    starts[ilvl] = start
                if (lvl := override.find("w:lvl", NS)) is not None:
                    redefined[ilvl] = _level(lvl)
            num_id = element.get(w("numId")) or ""
            abstract_id = _val(element, "w:abstractNumId") or ""
            self.nums[num_id] = Num(num_id, abstract_id, starts, redefined)

    def _read_styles(self, root: Any) -> None:
        for element in root.iterfind("w:style", NS):
            style_id = element.get(w("styleId")) or ""
            num_pr = element.find("w:pPr/w:numPr", NS)
            self.styles[style_id] = StyleNumbering(
                num_id=None if num_pr is None else _val(num_pr, "w:numId"),
                ilvl=None if num_pr is None else _int(_val(num_pr, "w:ilvl")),
                based_on=_val(element, "w:basedOn"),
            )
            if element.get(w("type")) == "paragraph" and element.get(w("default")) in ("1", "true"):
                self.default_style = style_id

    # -- definitions ------------------------------------------------------------------------

    def abstract_of(self, num_id: str) -> AbstractNum | None:
        """The abstract a list instance uses, following numbering-style links."""
        num = self.nums.get(num_id)
        abstract = self.abstracts.get(num.abstract_id) if num else None
        seen: set[str] = set()
        while abstract is not None and abstract.num_style_link and abstract.id not in seen:
            seen.add(abstract.id)
            link = abstract.num_style_link
            target = next((a for a in self.abstracts.values() if a.style_link == link), None)
            if target is None:
                style_num = self._style_numpr(link)[0]
                via = self.nums.get(style_num or "")
                target = self.abstracts.get(via.abstract_id) if via else None
            if target is None or target is abstract:
                break
            abstract = target
        return abstract

    def level(self, num_id: str, ilvl: int) -> Level | None:
        num = self.nums.get(num_id)
        if num is None:
            return None
        level: Level | None
        if ilvl in num.level_overrides:
            level = num.level_overrides[ilvl]
        else:
            abstract = self.abstract_of(num_id)
            level = abstract.levels.get(ilvl) if abstract else None
        if level is not None and ilvl in num.start_overrides:
            level = replace(level, start=num.start_overrides[ilvl])
        return level

    def counter_key(self, num_id: str) -> str:
        """Whose counters a list instance advances: its abstract's, unless it overrides."""
        num = self.nums[num_id]
        if num.overridden:
            return f"num:{num_id}"
        abstract = self.abstract_of(num_id)
        return f"abstract:{abstract.id if abstract else num.abstract_id}"

    # -- paragraphs ---------------------------------------------------------------------------

    def _style_numpr(self, style_id: str | None) -> tuple[str | None, int | None]:
        """(numId, ilvl) a paragraph style gives, inherited through w:basedOn."""
        num_id: str | None = None
        ilvl: int | None = None
        seen: set[str] = set()
        while style_id and style_id not in seen and style_id in self.styles:
            seen.add(style_id)
            style = self.styles[style_id]
            if num_id is None and style.num_id is not None:
                num_id = style.num_id
            if ilvl is None and style.ilvl is not None:
                ilvl = style.ilvl
            style_id = style.based_on
        return num_id, ilvl

    def numbering_of(self, paragraph: Any) -> tuple[str, int] | None:
        """(numId, ilvl) of a ``w:p``, or None when it is not numbered (numId 0 removes it)."""
        ppr = paragraph.find("w:pPr", NS)
        style_id = (None if ppr is None else _val(ppr, "w:pStyle")) or self.default_style
        num_id = None if ppr is None else _val(ppr, "w:numPr/w:numId")
        ilvl = None if ppr is None else _int(_val(ppr, "w:numPr/w:ilvl"))
        style_num, style_ilvl = self._style_numpr(style_id)
        if num_id is None:
            num_id = style_num
        if num_id is None or num_id == "0" or num_id not in self.nums:
            return None
        if ilvl is None:
            ilvl = style_ilvl
        if ilvl is None:
            # A style tied to a level by the level's w:pStyle numbers at that level.
            abstract = self.abstract_of(num_id)
            tied = [lvl.ilvl for lvl in (abstract.levels.values() if abstract else ())]
            tied = [i for i in tied if abstract and abstract.levels[i].style == style_id]
            ilvl = tied[0] if tied else 0
        return num_id, max(0, min(ilvl, LEVELS - 1))


# -- labels -----------------------------------------------------------------------------------

_SLOT_RE = re.compile(r"%([1-9])")


def first_slot(level: Level) -> int | None:
    """The outermost level (0-based) the label shows, or None for a label with no counter."""
    slots = [int(n) - 1 for n in _SLOT_RE.findall(level.text) if int(n) - 1 <= level.ilvl]
    return min(slots) if slots else None


def numbering_for(levels: Mapping[int, Level], ilvl: int) -> Numbering:
    """Our Numbering for level ``ilvl`` of a list whose levels are ``levels``.

    The pattern's slots are renumbered from the outermost level the label shows, so the
    Numbering takes the last ``len(formats)`` counters: ``%1.%2`` at level 1 keeps both,
    ``(%3)`` at level 2 becomes ``(%1)`` over this level alone.
    """
    level = levels[ilvl]
    first = first_slot(level)
    if first is None:
        return Numbering(level.text, (), level.start)
    formats = []
    for index in range(first, ilvl + 1):
        outer = levels.get(index, Level(index))
        formats.append(NumberFormat.DECIMAL if level.legal and index < ilvl else outer.format)

    def shift(match: re.Match[str]) -> str:
        return f"%{int(match.group(1)) - first}"

    return Numbering(_SLOT_RE.sub(shift, level.text), tuple(formats), level.start)


def word_label(levels: Mapping[int, Level], ilvl: int, counters: list[int]) -> str:
    """The label Word shows for level ``ilvl`` with ``counters`` (levels 0..ilvl)."""
    level = levels[ilvl]
    if level.is_bullet:
        return level.text

    def slot(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        if index >= len(counters):
            return ""
        fmt = levels.get(index, Level(index)).format
        if level.legal and index < ilvl:
            fmt = NumberFormat.DECIMAL
        return count(counters[index], fmt)

    return _SLOT_RE.sub(slot, level.text)


# -- the counter engine -----------------------------------------------------------------------


@dataclass(frozen=True)
class NumberedParagraph:
    """What Word shows before one numbered paragraph, and why."""

    num_id: str
    abstract_id: str
    ilvl: int
    level: Level
    levels: Mapping[int, Level]  # the definition in force for this instance, by level
    counters: tuple[int, ...]  # levels 0..ilvl
    label: str
    first_of_num: bool  # the first paragraph of this list instance

    @property
    def is_bullet(self) -> bool:
        return self.level.is_bullet

    def numbering(self) -> Numbering:
        return numbering_for(self.levels, self.ilvl)


class Counter:
    """Counts numbered paragraphs in document order, as Word does."""

    def __init__(self, numbering: WordNumbering) -> None:
        self.numbering = numbering
        self._counters: dict[str, list[int | None]] = {}
        self._seen: set[str] = set()

    def _levels(self, num_id: str) -> dict[int, Level]:
        levels = {}
        for ilvl in range(LEVELS):
            level = self.numbering.level(num_id, ilvl)
            if level is not None:
                levels[ilvl] = level
        return levels

    def advance(self, paragraph: Any) -> NumberedParagraph | None:
        """The label of ``paragraph`` (a ``w:p``), advancing the counters; None if unnumbered."""
        found = self.numbering.numbering_of(paragraph)
        return None if found is None else self.count(*found)

    def count(self, num_id: str, ilvl: int, *, dry_run: bool = False) -> NumberedParagraph | None:
        """The next paragraph of list instance ``num_id`` at ``ilvl``; ``dry_run`` only looks
        (the export uses it to check that Word will show the label it wants)."""
        levels = self._levels(num_id)
        if ilvl not in levels:
            return None
        key = self.numbering.counter_key(num_id)
        state = list(self._counters.get(key, [None] * LEVELS))
        current = state[ilvl]
        state[ilvl] = levels[ilvl].start if current is None else current + 1
        for deeper in range(ilvl + 1, LEVELS):
            restart = levels.get(deeper, Level(deeper)).restart
            if restart is None or restart > deeper:
                restart = deeper
            if restart and ilvl < restart:
                state[deeper] = None
        counters = [
            value if value is not None else levels.get(index, Level(index)).start
            for index, value in enumerate(state[: ilvl + 1])
        ]
        first = num_id not in self._seen
        if not dry_run:
            self._counters[key] = state
            self._seen.add(num_id)
        abstract = self.numbering.abstract_of(num_id)
        return NumberedParagraph(
            num_id=num_id,
            abstract_id=abstract.id if abstract else "",
            ilvl=ilvl,
            level=levels[ilvl],
            levels=levels,
            counters=tuple(counters),
            label=word_label(levels, ilvl, counters),
            first_of_num=first,
        )

    def shown(self, num_id: str) -> list[int]:
        """The counters Word would show now for each level of ``num_id`` (start if unused)."""
        levels = self._levels(num_id)
        state = self._counters.get(self.numbering.counter_key(num_id), [None] * LEVELS)
        return [
            value if value is not None else levels.get(index, Level(index)).start
            for index, value in enumerate(state)
        ]


def paragraphs_in_order(body: Any) -> Iterator[Any]:
    """Every ``w:p`` of a body in document order, including inside tables and content
    controls (Word counts those too), but not inside text boxes (drawn apart from the text)."""
    for element in body.iter(w("p")):
        if any(ancestor.tag == w("txbxContent") for ancestor in element.iterancestors()):
            continue
        yield element
