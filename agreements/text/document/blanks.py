"""Fill-in blanks: where each one is, what the parties wrote in it, and the text that results.

A blank (:class:`~agreements.text.document.model.Blank`) is a gap the source leaves for the
parties: "[Summarize the purpose of the research]", "Month, Day, Year", "[Name]", "[ ]", a line
of underscores. Before an agreement goes to legal review each one is filled in, or marked not
applicable with a reason (``agreements.review.services.review_blockers`` names every open one).

**Signature lines are not fill-ins.** A ``signature`` blank is the line a signatory signs on
(and prints their name and the date beside) in a signature block; signing completes it
(``agreements.signing``), so it is listed with the state ``at_signing`` and never blocks
review, and it cannot be filled in here.

**Ids** are ``<part key>.<ordinal>.<kind>``: "purpose.1.text", "period-of-agreement.1.date".
The ordinal counts the blanks of one part in document order (its title, then its body), from 1.
A change anywhere else (another clause replaced or inserted, a section renumbered, a parameter
changed) leaves the id as it was.

**Anchors.** An entry remembers the blank it was written for: a short hash of the blank's kind,
its prompt and up to six words on either side of it in its paragraph, read with references as
their target's key, parameters by name and other blanks by prompt, so renumbering, parameter
values and neighbouring fill-ins do not move it. When a part's text is replaced and the blank at
that id is not the same blank any more (another prompt, other words around it, a blank inserted
before it), the entry is *stale*: it is not applied, the blank is open again, and the entry is
listed (``FilledText.stale``) so a person can write it again. An entry is never applied to a
blank it was not written for.

**What the text then says** (what a lawyer writes on a paper form):

- text, name and title blanks: the value, underlined (written on the blank's line); line breaks
  in a text value are kept;
- date blanks: the date written out, "June 30, 2027" where the prompt asks "Month, Day, Year",
  otherwise as the rest of the agreement writes dates, "30 June 2027";
- check boxes: "[X]" when ticked, "[ ]" when deliberately left unticked;
- not applicable: "N/A", underlined. The reason is not agreement text: it stays with the
  agreement's fill-ins (frozen with the text once signing starts) and its history, where
  reviewers read it.

The filled text is what the text hash covers. Pure functions over the document tree; no ORM.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from agreements.text.document.model import (
    Blank,
    BlankKind,
    Block,
    Break,
    BulletList,
    Document,
    Emph,
    Indented,
    Inline,
    ListItem,
    OrderedList,
    Paragraph,
    Param,
    Part,
    PartKind,
    Ref,
    Row,
    Strong,
    Superscript,
    Table,
    Term,
    Text,
    Underline,
)
from agreements.text.document.plain import EMPTY_BLANK, inline_text, ref_text
from agreements.text.document.resolver import Resolver
from agreements.text.placeholders import MONTH_NAMES, format_date

#: Blanks completed by signing, not by a fill-in (module docstring).
AT_SIGNING = frozenset({BlankKind.SIGNATURE})

NOT_APPLICABLE = "N/A"
CHECKED, UNCHECKED = "checked", "unchecked"
CHOICE_TEXT = {CHECKED: "[X]", UNCHECKED: "[ ]"}

#: Longest value per kind, and of a reason for "not applicable" (characters).
MAX_LENGTH = {
    BlankKind.TEXT: 4000,
    BlankKind.NAME: 200,
    BlankKind.TITLE: 200,
    BlankKind.DATE: 40,
    BlankKind.CHOICE: 10,
}
MAX_REASON_LENGTH = 500
#: Lines a text value may have (a paragraph or a short list, not a second agreement).
MAX_TEXT_LINES = 30

CONTEXT_WORDS = 6  # words on either side that anchor an entry to its blank
EXCERPT_CHARS = 70  # characters on either side of the blank in an excerpt
PROMPT_CHARS = 80  # a longer prompt is shortened in messages


class State:
    OPEN = "open"
    FILLED = "filled"
    NOT_APPLICABLE = "not_applicable"
    AT_SIGNING = "at_signing"


@dataclass(frozen=True)
class Entry:
    """What the parties wrote for one blank, as the agreement stores it: a ``value`` (text; a
    date as ISO 2027-06-30; ``checked``/``unchecked`` for a check box) or, when the blank does
    not apply, the ``reason``. ``prompt`` and ``anchor`` name the blank it was written for."""

    value: str = ""
    not_applicable: str = ""  # the reason; non-empty means "not applicable"
    prompt: str = ""
    anchor: str = ""


@dataclass(frozen=True)
class FillIn:
    """One blank of a document as the parties see it: where it is, what it asks, its state."""

    id: str  # "purpose.1.text"
    part_key: str
    ordinal: int  # 1-based among the blanks of its part
    kind: BlankKind
    prompt: str  # the source's own words; "" for a bare line or check box
    where: str  # "Section H.2", "Preamble", "Section L, table row 5"
    part_label: str  # "H.", "ATTACHMENT A:", "" when unnumbered
    part_title: str  # "STANFORD RESEARCH ORGANIZATION RESPONSIBILITIES"
    item_labels: tuple[str, ...]  # labels of the list items it sits in ("2.",)
    row: int | None  # table row (1-based) when it sits in a table
    excerpt: str  # "…shall designate [Name], [title] as the person…"
    anchor: str
    state: str = State.OPEN
    value: str = ""  # as stored (Entry.value)
    shown: str = ""  # as the text reads: "June 30, 2027", "N/A", "[X]"
    reason: str = ""  # why it does not apply

    @property
    def place(self) -> str:
        """ "Section B (PURPOSE)": where it is, with the part's title as written."""
        if self.part_title and self.part_title != self.where:
            return f"{self.where} ({self.part_title})"
        return self.where

    @property
    def asks(self) -> str:
        """The blank as the text shows it: "[Summarize the project]", "the line “… ______ …”"."""
        if self.prompt:
            return f"[{shorten(self.prompt)}]"
        if self.kind is BlankKind.CHOICE:
            return f"the check box in “{self.excerpt}”"
        return f"the blank in “{self.excerpt}”"

    @property
    def has_context(self) -> bool:
        """Whether the excerpt shows words around the blank, not the blank alone."""
        return self.excerpt != _blank_shown(Blank(self.kind, self.prompt))

    @property
    def is_open(self) -> bool:
        return self.state == State.OPEN

    @property
    def not_filled(self) -> str:
        """Why review waits for it: "Section B (PURPOSE): [Summarize …] is not filled in."."""
        return f"{self.place}: {self.asks} is not filled in."


@dataclass(frozen=True)
class Stale:
    """An entry that is not applied: no blank has its id any more, or the blank there now is
    not the one it was written for (module docstring)."""

    id: str
    entry: Entry
    why: str


@dataclass(frozen=True)
class FilledText:
    document: Document  # with every applicable entry written in
    fillins: tuple[FillIn, ...]  # every blank, in document order, with its state
    stale: tuple[Stale, ...]

    @property
    def open(self) -> tuple[FillIn, ...]:
        return tuple(f for f in self.fillins if f.is_open)


class FillInProblem(ValueError):
    """A value or reason that cannot be written in a blank; the message says what to fix."""


# --- storage ---------------------------------------------------------------------------------


def read_entries(data: Any) -> tuple[dict[str, Entry], list[Stale]]:
    """The entries an agreement stores (``{id: {"value" | "not_applicable", "prompt",
    "anchor"}}``); anything that does not read as an entry is returned as stale, never
    applied."""
    entries: dict[str, Entry] = {}
    unreadable: list[Stale] = []
    if not isinstance(data, Mapping):
        return entries, unreadable
    for key, raw in data.items():
        fields = raw if isinstance(raw, Mapping) else {}
        values = {
            name: fields.get(name, "") for name in ("value", "not_applicable", "prompt", "anchor")
        }
        if not isinstance(key, str) or not all(isinstance(v, str) for v in values.values()):
            unreadable.append(Stale(str(key), Entry(), "it is not a stored fill-in"))
            continue
        entries[key] = Entry(**values)
    return entries, unreadable


def entries_json(entries: Mapping[str, Entry]) -> dict[str, dict[str, str]]:
    """What the agreement stores: the entries by id, keys sorted, empty fields left out."""
    out: dict[str, dict[str, str]] = {}
    for key in sorted(entries):
        entry = entries[key]
        fields = {
            "value": entry.value,
            "not_applicable": entry.not_applicable,
            "prompt": entry.prompt,
            "anchor": entry.anchor,
        }
        out[key] = {name: value for name, value in fields.items() if value}
    return out


# --- values ----------------------------------------------------------------------------------

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ISO_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_DAY_MONTH_YEAR_RE = re.compile(r"([0-9]{1,2})\.?\s+([A-Za-z]+)\.?,?\s+([0-9]{4})")
_MONTH_DAY_YEAR_RE = re.compile(r"([A-Za-z]+)\.?\s+([0-9]{1,2})(?:st|nd|rd|th)?,?\s+([0-9]{4})")
_MONTHS = {name.lower(): number for number, name in enumerate(MONTH_NAMES, start=1)}
_MONTHS.update({name[:3].lower(): number for name, number in list(_MONTHS.items())})
_MONTHS["sept"] = 9


def shorten(text: str, limit: int = PROMPT_CHARS) -> str:
    """``text`` cut at a word boundary before ``limit`` characters, with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return f"{cut}…"


def _clean_text(raw: str, *, what: str, limit: int, lines: bool) -> str:
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\t", " ").strip()
    for char in text:
        if char == "\n":
            continue
        if unicodedata.category(char) == "Cc" or char in "\u2028\u2029":
            raise FillInProblem(
                f"{what} contains a control character (U+{ord(char):04X}); retype it as plain text."
            )
        if char in _BIDI_CONTROLS:
            raise FillInProblem(
                f"{what} contains an invisible character that changes the direction of the "
                f"text (U+{ord(char):04X}); retype it as plain text."
            )
    if "\n" in text and not lines:
        raise FillInProblem(f"{what} must be on one line.")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    if len(text) > limit:
        raise FillInProblem(f"{what} must be at most {limit} characters, got {len(text)}.")
    if text.count("\n") + 1 > MAX_TEXT_LINES:
        raise FillInProblem(f"{what} must be at most {MAX_TEXT_LINES} lines.")
    return text


def parse_date(raw: str) -> dt.date | None:
    """A date typed as 2027-06-30, 30 June 2027 or June 30, 2027 (month names in English,
    full or abbreviated); None when it reads as none of these or is not a real day."""
    text = " ".join(raw.split())
    found = _ISO_DATE_RE.fullmatch(text)
    if found:
        year, month, day = (int(g) for g in found.groups())
    else:
        found = _DAY_MONTH_YEAR_RE.fullmatch(text)
        if found:
            day, name, year = int(found.group(1)), found.group(2), int(found.group(3))
        else:
            found = _MONTH_DAY_YEAR_RE.fullmatch(text)
            if not found:
                return None
            name, day, year = found.group(1), int(found.group(2)), int(found.group(3))
        month = _MONTHS.get(name.lower(), 0)
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def clean_value(fillin: FillIn, raw: str) -> str:
    """The value to store for ``fillin`` from what a person typed; ``FillInProblem`` names
    what to fix. An empty value is "" (the entry is removed)."""
    what = f"{fillin.place}, {fillin.asks}"
    if fillin.kind in AT_SIGNING:
        raise FillInProblem(f"{what} is a signature line: signing completes it.")
    if fillin.kind is BlankKind.DATE:
        text = " ".join(raw.split())
        if not text:
            return ""
        if len(text) > MAX_LENGTH[BlankKind.DATE]:
            raise FillInProblem(f"{what}: that is not a date; enter it as 2027-06-30.")
        day = parse_date(text)
        if day is None:
            raise FillInProblem(
                f"{what}: “{text}” is not a date; enter it as 2027-06-30, 30 June 2027 or "
                "June 30, 2027."
            )
        return day.isoformat()
    if fillin.kind is BlankKind.CHOICE:
        text = raw.strip().lower()
        if text not in ("", CHECKED, UNCHECKED):
            raise FillInProblem(f"{what}: choose “{CHECKED}” or “{UNCHECKED}”.")
        return text
    return _clean_text(
        raw, what=what, limit=MAX_LENGTH[fillin.kind], lines=fillin.kind is BlankKind.TEXT
    )


def clean_reason(fillin: FillIn, raw: str) -> str:
    """The reason a blank does not apply; ``FillInProblem`` when it is missing or unusable."""
    what = f"{fillin.place}, {fillin.asks}"
    if fillin.kind in AT_SIGNING:
        raise FillInProblem(f"{what} is a signature line: signing completes it.")
    reason = _clean_text(raw, what=f"The reason for {what}", limit=MAX_REASON_LENGTH, lines=True)
    if not reason:
        raise FillInProblem(f"{what}: say why it does not apply.")
    return reason


def shown_text(fillin: FillIn, entry: Entry) -> str:
    """How ``entry`` reads in the text of ``fillin``'s blank (module docstring)."""
    if entry.not_applicable:
        return NOT_APPLICABLE
    if fillin.kind is BlankKind.CHOICE:
        return CHOICE_TEXT.get(entry.value, entry.value)
    if fillin.kind is BlankKind.DATE:
        day = dt.date.fromisoformat(entry.value)
        if fillin.prompt.lower().startswith("month"):
            return f"{MONTH_NAMES[day.month - 1]} {day.day}, {day.year}"
        return format_date(day)
    return entry.value


def written(fillin: FillIn, entry: Entry) -> tuple[Inline, ...]:
    """The inlines that take the blank's place: the text, underlined except a check box."""
    text = shown_text(fillin, entry)
    if fillin.kind is BlankKind.CHOICE and not entry.not_applicable:
        return (Text(text),)
    pieces: list[Inline] = []
    for index, line in enumerate(text.split("\n")):
        if index:
            pieces.append(Break())
        if line:
            pieces.append(Text(line))
    return (Underline(tuple(pieces)),)


# --- finding and filling ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Atom:
    shown: str  # as a reader sees it (excerpts)
    anchored: str  # as the anchor reads it: independent of labels, values and fill-ins
    blank: Blank | None = None


def _anchor(kind: BlankKind, prompt: str, before: str, after: str) -> str:
    words = " ".join(before.split()[-CONTEXT_WORDS:]), " ".join(after.split()[:CONTEXT_WORDS])
    data = "\x1f".join((kind.value, " ".join(prompt.split()), *words))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]


def _excerpt(raw_before: str, blank: str, raw_after: str) -> str:
    before, after = " ".join(raw_before.split()), " ".join(raw_after.split())
    if len(before) > EXCERPT_CHARS:
        before = "…" + before[-EXCERPT_CHARS:].split(" ", 1)[-1]
    if len(after) > EXCERPT_CHARS:
        after = after[:EXCERPT_CHARS].rsplit(" ", 1)[0] + "…"
    left = " " if raw_before[-1:].isspace() else ""
    right = " " if raw_after[:1].isspace() else ""
    return f"{before}{left}{blank}{right}{after}".strip()


def _has_blank(inlines: Sequence[Inline]) -> bool:
    for inline in inlines:
        if isinstance(inline, Blank):
            return True
        if isinstance(inline, (Strong, Emph, Underline, Superscript, Term)) and _has_blank(
            inline.children
        ):
            return True
    return False


def _blank_shown(blank: Blank) -> str:
    if blank.prompt:
        return f"[{blank.prompt}]"
    return "[ ]" if blank.kind is BlankKind.CHOICE else EMPTY_BLANK


class _Pass:
    """One walk over the parts: lists every blank (title first, then the body, depth first,
    left to right) and writes in what ``decide`` returns for it."""

    def __init__(
        self,
        resolver: Resolver,
        param_text: Callable[[str], str],
        decide: Callable[[FillIn], tuple[Inline, ...] | None],
    ) -> None:
        self.resolver = resolver
        self.param_text = param_text
        self.decide = decide
        self.fillins: list[FillIn] = []
        self.part_key = ""
        self.title = ""
        self.ordinal = 0

    # --- the tree

    def part(self, part: Part) -> Part:
        self.part_key, self.ordinal = part.key, 0
        self.title = inline_text(part.title, self.resolver).strip()
        title = self.paragraph(part.title, (), None)
        blocks = self.blocks(part.blocks, (), None, addressable=True)
        if title is part.title and blocks is part.blocks:
            return part
        return replace(part, title=title, blocks=blocks)

    def blocks(
        self,
        blocks: tuple[Block, ...],
        path: tuple[int, ...],
        row: int | None,
        *,
        addressable: bool,
        counter: list[int] | None = None,
    ) -> tuple[Block, ...]:
        # ``counter`` numbers the ordered-list items of one level as Ref.item paths do
        # (resolver.ordered_items: through indented passages, not into bullets or tables).
        counter = [0] if counter is None else counter
        out: list[Block] = []
        for block in blocks:
            new: Block = block
            match block:
                case Paragraph():
                    inlines = self.paragraph(block.inlines, path, row)
                    new = block if inlines is block.inlines else Paragraph(inlines)
                case OrderedList():
                    items = []
                    for item in block.items:
                        own = (*path, counter[0]) if addressable else path
                        counter[0] += 1
                        items.append(self.item(item, own, row, addressable))
                    new = self._changed(block, "items", block.items, tuple(items))
                case BulletList():
                    items = [self.item(item, path, row, False) for item in block.items]
                    new = self._changed(block, "items", block.items, tuple(items))
                case Table():
                    rows = tuple(
                        self._row(table_row, path, number)
                        for number, table_row in enumerate(block.rows, start=1)
                    )
                    new = self._changed(block, "rows", block.rows, rows)
                case Indented():
                    inner = self.blocks(
                        block.blocks, path, row, addressable=addressable, counter=counter
                    )
                    new = block if inner is block.blocks else Indented(inner)
            out.append(new)
        if all(a is b for a, b in zip(out, blocks, strict=True)):
            return blocks
        return tuple(out)

    def item(
        self, item: ListItem, path: tuple[int, ...], row: int | None, addressable: bool
    ) -> ListItem:
        blocks = self.blocks(item.blocks, path, row, addressable=addressable)
        return item if blocks is item.blocks else replace(item, blocks=blocks)

    def _row(self, table_row: Row, path: tuple[int, ...], number: int) -> Row:
        cells = tuple(
            cell
            if (inner := self.blocks(cell.blocks, path, number, addressable=False)) is cell.blocks
            else replace(cell, blocks=inner)
            for cell in table_row.cells
        )
        changed = any(a is not b for a, b in zip(cells, table_row.cells, strict=True))
        return Row(cells) if changed else table_row

    @staticmethod
    def _changed(block: Any, name: str, old: tuple, new: tuple) -> Any:
        if all(a is b for a, b in zip(old, new, strict=True)):
            return block
        return replace(block, **{name: new})

    # --- paragraphs

    def paragraph(
        self, inlines: tuple[Inline, ...], path: tuple[int, ...], row: int | None
    ) -> tuple[Inline, ...]:
        if not _has_blank(inlines):  # most paragraphs: no need to read them
            return inlines
        atoms = list(self.atoms(inlines))
        decisions: list[tuple[Inline, ...] | None] = []
        for index, atom in enumerate(atoms):
            if atom.blank is None:
                continue
            self.ordinal += 1
            fillin = self.fillin(atom.blank, atoms, index, path, row)
            self.fillins.append(fillin)
            decisions.append(self.decide(fillin))
        if all(decision is None for decision in decisions):
            return inlines
        return self.rewrite(inlines, iter(decisions))

    def atoms(self, inlines: Sequence[Inline]) -> Iterator[_Atom]:
        for inline in inlines:
            match inline:
                case Text():
                    yield _Atom(inline.text, inline.text)
                case Break():
                    yield _Atom(" ", " ")
                case Strong() | Emph() | Underline() | Superscript() | Term():
                    yield from self.atoms(inline.children)
                case Blank():
                    shown = _blank_shown(inline)
                    yield _Atom(shown, shown, inline)
                case Param():
                    yield _Atom(self.param_text(inline.name), f"[[{inline.name}]]")
                case Ref():
                    where = ".".join(str(i) for i in inline.item)
                    anchored = f"{inline.prefix}<{inline.target}{'#' + where if where else ''}>"
                    yield _Atom(ref_text(inline, self.resolver), anchored)

    def rewrite(
        self, inlines: Sequence[Inline], decisions: Iterator[tuple[Inline, ...] | None]
    ) -> tuple[Inline, ...]:
        out: list[Inline] = []
        for inline in inlines:
            if isinstance(inline, Blank):
                decision = next(decisions)
                out.extend((inline,) if decision is None else decision)
            elif isinstance(inline, (Strong, Emph, Underline, Superscript, Term)):
                out.append(replace(inline, children=self.rewrite(inline.children, decisions)))
            else:
                out.append(inline)
        return tuple(out)

    def fillin(
        self,
        blank: Blank,
        atoms: list[_Atom],
        index: int,
        path: tuple[int, ...],
        row: int | None,
    ) -> FillIn:
        before, after = atoms[:index], atoms[index + 1 :]
        part = self.resolver.parts[self.part_key]
        labels = tuple(self.resolver.item_labels(self.part_key, path) or ()) if path else ()
        return FillIn(
            id=f"{self.part_key}.{self.ordinal}.{blank.kind.value}",
            part_key=self.part_key,
            ordinal=self.ordinal,
            kind=blank.kind,
            prompt=blank.prompt,
            where=self.where(part, path, labels, row),
            part_label=self.resolver.part_label(self.part_key),
            part_title=self.title,
            item_labels=labels,
            row=row,
            excerpt=_excerpt(
                "".join(a.shown for a in before),
                _blank_shown(blank),
                "".join(a.shown for a in after),
            ),
            anchor=_anchor(
                blank.kind,
                blank.prompt,
                "".join(a.anchored for a in before),
                "".join(a.anchored for a in after),
            ),
            state=State.AT_SIGNING if blank.kind in AT_SIGNING else State.OPEN,
        )

    def where(
        self, part: Part, path: tuple[int, ...], labels: tuple[str, ...], row: int | None
    ) -> str:
        name = self.part_name(part, path if labels else ())
        if labels and not self.resolver.chain(part.key):
            name = f"{name}, item {labels[-1].strip()}"
        return f"{name}, table row {row}" if row is not None else name

    def part_name(self, part: Part, path: tuple[int, ...]) -> str:
        """ "Section B", "Section H.2", "Attachment A", "Article IV"; "Preamble"; the title of
        an unnumbered part."""
        found = self.resolver.part_labels.get(part.key)
        if found is not None and found.numbering is not None:
            head = found.numbering.pattern.partition("%")[0].strip()
            word = head if head[:1].isalpha() else ""
            if not word:
                word = "Attachment" if part.kind is PartKind.ATTACHMENT else "Section"
            word = word.capitalize() if word.isupper() else word
            cited = self.resolver.ref_text(Ref(part.key, path, word))
            if cited:
                return cited
        if part.kind is PartKind.PREAMBLE:
            return "Preamble"
        return self.title or (found.label if found else "") or part.key


def fill_blanks(
    document: Document,
    entries: Mapping[str, Entry],
    *,
    resolver: Resolver | None = None,
    param_text: Callable[[str], str] | None = None,
) -> FilledText:
    """``document`` with ``entries`` written into its blanks, every blank with its state, and
    the entries not applied (stale, module docstring).

    ``document`` is the text before anything is written in (the template's parts with the
    accepted changes; parameters may be filled or not). ``param_text`` gives a parameter's text
    for excerpts (``[[name]]`` when None); ``resolver`` labels the parts (``document``'s own
    when None: filling never changes a label).
    """
    resolver = resolver or Resolver(document)
    used: set[str] = set()

    def decide(fillin: FillIn) -> tuple[Inline, ...] | None:
        entry = entries.get(fillin.id)
        if entry is None or _why_stale(fillin, entry):
            return None
        used.add(fillin.id)
        return written(fillin, entry)

    walk = _Pass(resolver, param_text or (lambda name: f"[[{name}]]"), decide)
    parts = tuple(walk.part(part) for part in document.parts)
    fillins = tuple(_with_state(f, entries[f.id]) if f.id in used else f for f in walk.fillins)
    known = {f.id: f for f in walk.fillins}
    stale = tuple(
        Stale(key, entry, _why_stale(known.get(key), entry))
        for key, entry in entries.items()
        if key not in used
    )
    changed = any(a is not b for a, b in zip(parts, document.parts, strict=True))
    return FilledText(replace(document, parts=parts) if changed else document, fillins, stale)


def fill_stored(document: Document, stored: Any, **options: Any) -> FilledText:
    """``fill_blanks`` with the entries as an agreement stores them (``read_entries``); an
    entry that does not read is stale."""
    entries, unreadable = read_entries(stored)
    filled = fill_blanks(document, entries, **options)
    return replace(filled, stale=(*unreadable, *filled.stale)) if unreadable else filled


def list_blanks(
    document: Document,
    *,
    resolver: Resolver | None = None,
    param_text: Callable[[str], str] | None = None,
) -> tuple[FillIn, ...]:
    """Every blank of ``document``, in document order (``fill_blanks`` with no entries)."""
    return fill_blanks(document, {}, resolver=resolver, param_text=param_text).fillins


def _with_state(fillin: FillIn, entry: Entry) -> FillIn:
    if entry.not_applicable:
        return replace(
            fillin,
            state=State.NOT_APPLICABLE,
            shown=NOT_APPLICABLE,
            reason=entry.not_applicable,
        )
    return replace(fillin, state=State.FILLED, value=entry.value, shown=shown_text(fillin, entry))


def _why_stale(fillin: FillIn | None, entry: Entry) -> str:
    """Why ``entry`` cannot be written into ``fillin``; "" when it can."""
    if fillin is None:
        return "no blank of the text has this id any more"
    if fillin.kind in AT_SIGNING:
        return "it is a signature line, which signing completes"
    if entry.anchor != fillin.anchor or entry.prompt != fillin.prompt:
        return "the text around this blank changed since it was filled in"
    if entry.not_applicable:
        return ""
    if fillin.kind is BlankKind.DATE:
        try:
            dt.date.fromisoformat(entry.value)
        except ValueError:
            return "the stored value is not a date"
        return ""
    if fillin.kind is BlankKind.CHOICE:
        return "" if entry.value in CHOICE_TEXT else "the stored value is not a choice"
    return "" if entry.value else "the stored value is empty"
