"""Native Word numbering for the export: list definitions, and a check that Word shows our labels.

Every label the export needs (a section letter, "7.2", "(c)", an explicit "1.0.") is produced
by Word's own numbering, never typed into the text:

- Each list gets a Word list definition (``w:abstractNum``): its levels from the numberings of
  the list and of the lists nested in it (``%1.%2`` under section 7 becomes ``%1.%2`` at level 1
  of the sections' definition, so Word prints "7.2" from the heading's counter; ``(%1)`` two
  levels deep becomes ``(%3)``), with ``w:isLgl`` where the outer counters read decimal.
- Before writing each numbered paragraph, :meth:`NumberingWriter.place` asks the counter engine
  of :mod:`.word_numbering` what Word would show. Where that is not the label our counting
  rules give (a list that restarts, a numbering Word cannot express, an explicit label out of
  sequence), it starts a new list instance (``w:num``) on the same definition whose start
  overrides carry the counters on, and if need be a level override whose text is the label
  itself. So Word shows exactly our labels, and reading the file back gives them again.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from agreements.text.document.labels import count
from agreements.text.document.model import NumberFormat, Numbering
from agreements.text.document.word_numbering import (
    WORD_FORMATS,
    AbstractNum,
    Counter,
    Level,
    Num,
    WordNumbering,
    w,
)

BULLETS = ("\u2022", "\u25e6", "\u25aa")
STEP = 720  # twips: half an inch per level
_SLOT_RE = re.compile(r"%([1-9])")


def hanging_for(label: str) -> int:
    """Room for the label before the text: a quarter inch for "1." or "(a)", half for more."""
    return 360 if len(label) <= 3 else STEP


def level_for(
    numbering: Numbering | None, ilvl: int, *, outer: dict[int, Level], hanging: int
) -> Level:
    """Word's level ``ilvl`` for one of our numberings (None: a bullet). ``outer`` holds the
    levels above it in the same definition, whose formats the label's other slots show."""
    indent = STEP * (ilvl + 1)
    if numbering is None:
        return Level(ilvl, "bullet", BULLETS[ilvl % 3], 1, indent=indent, hanging=360)
    count = len(numbering.formats)
    if not count:
        return Level(
            ilvl, "none", numbering.pattern, numbering.start, indent=indent, hanging=hanging
        )

    def slot(match: re.Match[str]) -> str:
        target = ilvl - count + int(match.group(1))
        return f"%{target + 1}" if target >= 0 else ""

    text = _SLOT_RE.sub(slot, numbering.pattern)
    outer_formats = [
        outer[ilvl - count + 1 + j].format if ilvl - count + 1 + j in outer else None
        for j in range(count - 1)
    ]
    wanted = list(numbering.formats[:-1])
    legal = outer_formats != wanted and all(f is NumberFormat.DECIMAL for f in wanted)
    return Level(
        ilvl,
        WORD_FORMATS[numbering.formats[-1]],
        text,
        numbering.start,
        legal=legal and count > 1,
        indent=indent,
        hanging=hanging,
    )


def fixed_parents(level: Level, shown: list[int], levels: dict[int, Level]) -> Level:
    """``level`` with the enclosing levels' numbers written into its text as they stand
    ("%1.%2.%3" -> "2.1.%3"), so it shows them without counting them."""

    def slot(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        if index >= level.ilvl:
            return match.group(0)
        outer = levels.get(index, Level(index))
        fmt = NumberFormat.DECIMAL if level.legal else outer.format
        return count(shown[index], fmt)

    return replace(level, text=_SLOT_RE.sub(slot, level.text), legal=False)


def literal_level(level: Level, text: str, start: int) -> Level:
    """A level whose label is ``text`` as written (an explicit label out of sequence)."""
    return replace(level, fmt="none", text=text.replace("%", "\uff05"), start=start, legal=False)


class NumberingWriter:
    """Our list definitions and instances, counted as Word will count them."""

    def __init__(self, first_id: int) -> None:
        self.model = WordNumbering(None, None)
        self.counter = Counter(self.model)
        self.next_id = first_id
        self.suffix_space: set[tuple[str, int]] = set()

    def definition(self) -> str:
        """A new, empty list definition; its levels are added as lists need them."""
        ident = str(self.next_id)
        self.next_id += 1
        self.model.abstracts[ident] = AbstractNum(ident, {})
        return ident

    def levels(self, abstract_id: str) -> dict[int, Level]:
        return self.model.abstracts[abstract_id].levels  # type: ignore[return-value]

    def instance(
        self,
        abstract_id: str,
        starts: dict[int, int] | None = None,
        levels: dict[int, Level] | None = None,
    ) -> str:
        ident = str(self.next_id)
        self.next_id += 1
        self.model.nums[ident] = Num(ident, abstract_id, starts or {}, levels or {})
        return ident

    def place(self, num_id: str, ilvl: int, label: str, counter: int) -> str:
        """The list instance that makes Word show ``label`` for the next paragraph at
        ``ilvl`` (``num_id`` itself when it already does); counts the paragraph.

        A new instance starts at ``counter`` with the enclosing items' numbers written into
        its label text: Word and LibreOffice do not agree on what an instance shows for
        levels it has not used yet, so nothing here relies on that."""
        found = self.counter.count(num_id, ilvl, dry_run=True)
        if found is not None and found.label == label:
            self.counter.count(num_id, ilvl)
            return num_id
        current = self.model.nums[num_id]
        levels = self.effective(num_id)
        level = levels.get(ilvl) or Level(ilvl, indent=STEP * (ilvl + 1))
        overrides = {k: v for k, v in current.level_overrides.items() if k != ilvl}
        overrides[ilvl] = replace(
            fixed_parents(level, self.counter.shown(num_id), levels), start=counter
        )
        segment = self.instance(current.abstract_id, {ilvl: counter}, overrides)
        found = self.counter.count(segment, ilvl, dry_run=True)
        if found is None or found.label != label:
            overrides[ilvl] = literal_level(level, label, counter)
            self.model.nums[segment] = Num(segment, current.abstract_id, {ilvl: counter}, overrides)
        self.counter.count(segment, ilvl)
        return segment

    def effective(self, num_id: str) -> dict[int, Level]:
        """The levels in force for a list instance: its definition's, with its overrides."""
        num = self.model.nums[num_id]
        levels = dict(self.levels(num.abstract_id))
        levels.update(num.level_overrides)
        return levels

    # -- numbering.xml ------------------------------------------------------------------------

    def write(self, root: Any) -> None:
        """Add our definitions and instances to a ``w:numbering`` root, in schema order."""
        first_num = root.find(w("num"))
        for abstract in self.model.abstracts.values():
            element = etree.Element(w("abstractNum"), {w("abstractNumId"): abstract.id})
            etree.SubElement(element, w("multiLevelType"), {w("val"): "multilevel"})
            for ilvl in range(9):
                level = abstract.levels.get(ilvl) or Level(
                    ilvl, "none", "", 1, indent=STEP * (ilvl + 1)
                )
                element.append(self._level_xml(abstract.id, level))
            if first_num is not None:
                first_num.addprevious(element)
            else:
                root.append(element)
        for num in self.model.nums.values():
            element = etree.SubElement(root, w("num"), {w("numId"): num.id})
            etree.SubElement(element, w("abstractNumId"), {w("val"): num.abstract_id})
            for ilvl in sorted(set(num.start_overrides) | set(num.level_overrides)):
                override = etree.SubElement(element, w("lvlOverride"), {w("ilvl"): str(ilvl)})
                if ilvl in num.start_overrides:
                    value = str(num.start_overrides[ilvl])
                    etree.SubElement(override, w("startOverride"), {w("val"): value})
                if ilvl in num.level_overrides:
                    override.append(self._level_xml(num.abstract_id, num.level_overrides[ilvl]))

    def _level_xml(self, abstract_id: str, level: Level) -> Any:
        element = etree.Element(w("lvl"), {w("ilvl"): str(level.ilvl)})
        etree.SubElement(element, w("start"), {w("val"): str(level.start)})
        etree.SubElement(element, w("numFmt"), {w("val"): level.fmt})
        if level.restart is not None:
            etree.SubElement(element, w("lvlRestart"), {w("val"): str(level.restart)})
        if level.legal:
            etree.SubElement(element, w("isLgl"))
        if (abstract_id, level.ilvl) in self.suffix_space:
            etree.SubElement(element, w("suff"), {w("val"): "space"})
        etree.SubElement(element, w("lvlText"), {w("val"): level.text})
        etree.SubElement(element, w("lvlJc"), {w("val"): "left"})
        ppr = etree.SubElement(element, w("pPr"))
        etree.SubElement(
            ppr,
            w("ind"),
            {w("left"): str(level.indent or 0), w("hanging"): str(level.hanging or 0)},
        )
        if level.is_bullet:
            rpr = etree.SubElement(element, w("rPr"))
            fonts = {w(a): "Arial" for a in ("ascii", "hAnsi", "cs")}
            etree.SubElement(rpr, w("rFonts"), fonts)
        return element
