"""The consolidated text of an agreement, computed by one function, and its SHA-256.

consolidated text = the template's document (its frame and its clauses as parts)
                    + accepted overrides + filled parameters + the data-element schedule.

Pure functions over plain values: no ORM, no request. The same function serves the detail
page, approvals, signatures, PDFs, the Word export and the API, so every one of them sees the
same text and the same hash.

The result is a structured :class:`~agreements.text.document.model.Document` (``document``):
parts in the template's order, numbered by its own series (sections A., B., ...; attachments
"Attachment A", ...), so labels follow the source and an inserted clause renumbers the ones
after it. ``clauses`` keeps the flat view other modules read (key, label, heading and the plain
text of each part, references resolved); ``body`` there is text, never markup.

**What the hash covers** (README, "Structured text"): the UTF-8 bytes of

    COLLABORATORY AGREEMENT TEXT v2
    <Name>: <value>          one line per header field (title, reference, parties, dates)
    <canonical JSON of the consolidated document>

where the canonical JSON is :func:`agreements.text.document.canonical.to_json`.
Agreements whose approvals or signatures were given on the first text format keep that hash
while their text is unchanged (:mod:`agreements.text.legacy_text`).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any, Protocol

from agreements.ownership.schedule import OwnershipRow, ownership_blocks
from agreements.text import legacy_text
from agreements.text.document import canonical
from agreements.text.document.blanks import FillIn, Stale, fill_stored
from agreements.text.document.memo import ContextMemo, IdentityMemo
from agreements.text.document.model import (
    Block,
    BulletList,
    Cell,
    Document,
    Emph,
    Inline,
    ListItem,
    Paragraph,
    Param,
    Part,
    PartKind,
    Row,
    Strong,
    Table,
    Text,
)
from agreements.text.document.param_walk import ParamWalk
from agreements.text.document.plain import blocks_text, inline_text
from agreements.text.document.resolver import Resolver
from agreements.text.document.retarget import cited_paths, item_path_map, refs_read, retarget
from agreements.text.placeholders import PlaceholderValue, fill

FORMAT_HEADER = "COLLABORATORY AGREEMENT TEXT v2"
SCHEDULE_KEY = "data-elements"  # Part.generated of the data-element schedule
SCHEDULE_PART_KEY = "data-element-schedule"  # its key when the template does not place it
SCHEDULE_TITLE = "Data Elements"
SCHEDULE_COLUMNS = ("Data element", "From", "To", "Identifiability", "Research questions", "Notes")


class ClauseLike(Protocol):
    """A template clause or a consolidated one: read-only members, so frozen dataclasses
    (``ConsolidatedClause``) match as well as model rows. Template clauses may also carry
    ``kind``, ``label``, ``generated`` and ``blocks`` (read with defaults)."""

    @property
    def key(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def heading(self) -> str: ...
    @property
    def body(self) -> str: ...


class OverrideLike(Protocol):
    id: int
    kind: str
    clause_key: str
    new_key: str
    heading: str
    body: str


@dataclass(frozen=True)
class ConsolidatedClause:
    key: str
    number: str  # the label shown: "A.", "7.", "Attachment B", "" for unnumbered parts
    heading: str
    body: str  # plain text of the part, labels and references resolved
    origin: str  # "template", "replaced", "inserted" or "generated"
    override_id: int | None = None
    template_heading: str = ""
    template_body: str = ""
    kind: str = PartKind.SECTION.value
    part: Part | None = None
    # The parameters the part refers to ([[breach_notice_hours]]), in order, and those the
    # template's part referred to: a term that one states and the other does not was typed
    # over (agreements.terms_check).
    parameters: tuple[str, ...] = ()
    template_parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScheduleRow:
    """One data element as it appears in the agreement's schedule."""

    name: str
    source: str
    recipient: str
    identifiability: str
    research_questions: tuple[str, ...] = ()
    description: str = ""
    # The parties' positions on who owns it, once one is stated (agreements.ownership).
    ownership: OwnershipRow | None = None


@dataclass(frozen=True)
class ConsolidatedText:
    header: tuple[tuple[str, str], ...]
    clauses: tuple[ConsolidatedClause, ...]
    deleted: tuple[ConsolidatedClause, ...]
    schedule: tuple[ScheduleRow, ...]
    unfilled: tuple[str, ...] = field(default=())
    document: Document = field(default_factory=Document)
    legacy_canonical: str = ""  # set while a v1 text's approvals and signatures still hold
    fillins: tuple[FillIn, ...] = ()  # every fill-in blank with its state (document.blanks)
    stale_fillins: tuple[Stale, ...] = ()  # stored entries no blank takes any more

    @property
    def open_blanks(self) -> tuple[FillIn, ...]:
        """The blanks neither filled in nor marked not applicable (review waits for them)."""
        return tuple(f for f in self.fillins if f.is_open)

    @property
    def format(self) -> str:
        return "v1" if self.legacy_canonical else "v2"

    # Derived once per text (it is frozen): the canonical form serialises the whole document.
    @cached_property
    def canonical(self) -> str:
        return self.legacy_canonical or canonical_form(self)

    @cached_property
    def sha256(self) -> str:
        # Not through ``canonical``: the text is pickled into the shared cache with what it
        # caches, and the ~100 kB canonical string made every copy larger and slower.
        form = self.legacy_canonical or canonical_form(self)
        return hashlib.sha256(form.encode("utf-8")).hexdigest()

    @cached_property
    def resolver(self) -> Resolver:
        return Resolver(self.document)

    def clause(self, key: str) -> ConsolidatedClause | None:
        return next((c for c in self.clauses if c.key == key), None)


def _line(value: str) -> str:
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    return " ".join(text.split())


def canonical_form(text: ConsolidatedText) -> str:
    """The exact string that is hashed (module docstring)."""
    lines = [FORMAT_HEADER]
    lines += [f"{_line(name)}: {_line(value)}" for name, value in text.header]
    lines.append(canonical.to_json(text.document))
    return "\n".join(lines) + "\n"


# --- reading stored clauses -----------------------------------------------------------------


@lru_cache(maxsize=4096)
def _blocks_from_json(data: str) -> tuple[Block, ...]:
    tree = canonical.from_json(data)
    assert isinstance(tree, tuple)  # noqa: S101 - a list at the top level reads as blocks
    return tree


@lru_cache(maxsize=2048)
def _blocks_from_markdown(body: str) -> tuple[Block, ...]:
    from agreements.text.document.fragments import parse_body

    blocks, _report = parse_body(body)
    return blocks


def storable(blocks: Sequence[Block]) -> Any:
    """What a clause or override stores as its ``blocks``: the canonical JSON, parsed."""
    return json.loads(canonical.to_json(tuple(blocks)))


def read_body(
    body: str, *, key: str, context: Document | None = None
) -> tuple[tuple[Block, ...], list[str]]:
    """A body typed by a person (Markdown) as blocks, and the errors that refuse it."""
    from agreements.text.document.fragments import parse_body

    blocks, report = parse_body(body, key=key, context=context)
    return blocks, [str(finding) for finding in report.errors]


def stored_blocks(blocks: Any, body: str) -> tuple[Block, ...]:
    """The blocks of a stored clause or override: its structured ``blocks`` (JSON, as the
    database returns it), or, for rows written before structured text, its Markdown body."""
    if isinstance(blocks, tuple):  # already read: an importer's parsed clause
        return blocks
    if blocks is not None:
        return _blocks_from_json(json.dumps(blocks, ensure_ascii=False, separators=(",", ":")))
    return _blocks_from_markdown(body or "")


@lru_cache(maxsize=256)
def _frame_from_json(data: str) -> Document:
    tree = canonical.from_json(data)
    if not isinstance(tree, Document):
        raise ValueError("$: a template's frame is a document")
    return tree


def read_frame(frame: Any) -> Document | None:
    """A template version's stored frame (title and series), or None when it has none."""
    if not frame:
        return None
    return _frame_from_json(json.dumps(frame, ensure_ascii=False, separators=(",", ":")))


def frame_json(document: Document) -> Any:
    """What a template version stores as its frame: ``document`` without its parts."""
    return json.loads(canonical.to_json(replace(document, parts=())))


def template_part(clause: Any) -> Part:
    """A template clause (model row or parsed clause) as a part of its document."""
    kind = PartKind(getattr(clause, "kind", "") or PartKind.SECTION)
    heading = (clause.heading or "").strip()
    return Part(
        key=clause.key,
        kind=kind,
        title=(Text(heading),) if heading else (),
        blocks=stored_blocks(getattr(clause, "blocks", None), clause.body),
        label=getattr(clause, "label", "") or None,
        generated=getattr(clause, "generated", "") or "",
    )


# --- filling ---------------------------------------------------------------------------------


class _Filler(ParamWalk):
    def __init__(self, values: Mapping[str, PlaceholderValue | None]) -> None:
        self.values = values
        self.missing: list[str] = []
        self.used: list[str] = []  # every parameter met, filled or not, in order

    def param(self, inline: Param) -> Inline:
        if inline.name not in self.used:
            self.used.append(inline.name)
        text = fill(f"[[{inline.name}]]", self.values)
        if text == f"[[{inline.name}]]":
            if inline.name not in self.missing:
                self.missing.append(inline.name)
            return inline
        return Text(text)

    def part(self, part: Part) -> Part:
        title = self.inlines(part.title)
        blocks = self._part_blocks(part.blocks)
        if title is part.title and blocks is part.blocks:
            return part
        return replace(part, title=title, blocks=blocks)

    def _part_blocks(self, blocks: tuple[Block, ...]) -> tuple[Block, ...]:
        # Most of a standard's clauses have no term to fill: known once per process, they
        # are not walked again (the walk would hand back the same blocks).
        if type(blocks) is not tuple:
            return tuple(self.blocks(blocks))  # walked, as before
        names = _PARAMETERS.get(blocks, parameters_in)
        if not names:
            return blocks
        # A clause's terms read the same in many agreements (the same notice period, the
        # same district): filled once per reading, the result is the same objects in each,
        # so what is derived from it (normal form, canonical JSON, HTML, plain text) is too.
        reading = tuple(fill(f"[[{name}]]", self.values) for name in names)
        filled, used, missing = _FILLED.get(blocks, reading, lambda: _filled(blocks, self.values))
        self.used += [name for name in used if name not in self.used]
        self.missing += [name for name in missing if name not in self.missing]
        return filled


def _filled(
    blocks: tuple[Block, ...], values: Mapping[str, PlaceholderValue | None]
) -> tuple[tuple[Block, ...], tuple[str, ...], tuple[str, ...]]:
    filler = _Filler(values)
    return tuple(filler.blocks(blocks)), tuple(filler.used), tuple(filler.missing)


#: The parameters a part's blocks hold, by their identity (agreements.text.document.memo).
_PARAMETERS: IdentityMemo[tuple[Block, ...], tuple[str, ...]] = IdentityMemo(8192)
#: A part's blocks filled, by their identity and how each of their parameters reads.
_FILLED: ContextMemo[
    tuple[Block, ...], tuple[tuple[Block, ...], tuple[str, ...], tuple[str, ...]]
] = ContextMemo(2048, 8)


def _cell(text: str) -> Cell:
    return Cell((Paragraph((Text(text),)),) if text.strip() else ())


def schedule_table(schedule: Sequence[ScheduleRow]) -> Table:
    """The data-element schedule as a table with a header row."""
    header = Row(tuple(Cell((Paragraph((Strong((Text(c),)),)),)) for c in SCHEDULE_COLUMNS))
    rows = [
        Row(
            (
                _cell(_line(row.name)),
                _cell(_line(row.source)),
                _cell(_line(row.recipient)),
                _cell(row.identifiability),
                Cell(
                    (BulletList(tuple(ListItem((Paragraph((Text(_line(q)),)),)) for q in qs)),)
                    if (qs := [q for q in row.research_questions if q.strip()])
                    else ()
                ),
                _cell(_line(row.description)),
            )
        )
        for row in schedule
    ]
    return Table((header, *rows), header_rows=1, widths=(3, 2, 2, 2, 3, 3))


def _schedule_blocks(part: Part, schedule: Sequence[ScheduleRow]) -> tuple[Block, ...]:
    if not schedule:
        none = Paragraph((Emph((Text("No data elements are listed yet."),)),))
        return (*part.blocks, none)
    # Each party's position on ownership, once one is stated (agreements.ownership).
    ownership = [row.ownership for row in schedule if row.ownership is not None]
    return (*part.blocks, schedule_table(schedule), *ownership_blocks(ownership))


# --- consolidating ---------------------------------------------------------------------------


def consolidate(
    *,
    clauses: Sequence[ClauseLike],
    accepted_overrides: Iterable[OverrideLike],
    values: Mapping[str, PlaceholderValue | None],
    header: Sequence[tuple[str, str]] = (),
    schedule: Sequence[ScheduleRow] = (),
    frame: Document | None = None,
    attested_hash: str = "",
    fillins: Mapping[str, Any] | None = None,
) -> ConsolidatedText:
    """Apply accepted overrides (in the order given) to the template's parts, number them by
    the template's series, write in the fill-ins and fill parameters.

    ``fillins`` are the entries the agreement stores for its blanks
    (:mod:`agreements.text.document.blanks`): each is written in where its blank still is,
    and is part of the hashed text; the result lists every blank with its state.

    ``frame`` is the template's document without parts (title and series); ``attested_hash``
    the hash the agreement's approvals or signatures hold, if any: when the v2 text does not
    have it but the v1 text of the same clauses does, the v1 form is kept (module docstring).
    An override whose clause is no longer there is skipped; services refuse such proposals up
    front, so this only guards against inconsistent input.
    """
    overrides = list(accepted_overrides)
    template_parts = [template_part(c) for c in clauses]
    working: list[dict[str, Any]] = [
        {"part": p, "template": p, "origin": "template", "override_id": None, "deleted": False}
        for p in template_parts
    ]
    for override in overrides:
        index = next(
            (i for i, w in enumerate(working) if w["part"].key == override.clause_key), None
        )
        if index is None:
            continue
        blocks = stored_blocks(getattr(override, "blocks", None), override.body)
        target = working[index]
        if override.kind == "replace":
            heading = (override.heading or "").strip()
            title = (Text(heading),) if heading else target["part"].title
            others = [w for w in working if w is not target]
            if cited_paths((w["part"] for w in others), override.clause_key):
                mapping = item_path_map(target["part"].blocks, blocks)
                for other in others:
                    other["part"] = retarget(other["part"], override.clause_key, mapping)
            target["part"] = replace(target["part"], title=title, blocks=blocks)
            target["origin"] = "replaced" if target["origin"] == "template" else target["origin"]
            target["override_id"] = override.id
        elif override.kind == "delete":
            target["deleted"] = True
            target["override_id"] = override.id
        elif override.kind == "insert":
            position = index + 1
            while position < len(working) and working[position].get("after") == (
                override.clause_key
            ):
                position += 1
            after = target["part"].kind
            kind = after if after in (PartKind.SECTION, PartKind.ATTACHMENT) else PartKind.SECTION
            heading = (override.heading or "").strip()
            part = Part(override.new_key, kind, (Text(heading),) if heading else (), blocks)
            working.insert(
                position,
                {
                    "part": part,
                    "template": None,
                    "origin": "inserted",
                    "override_id": override.id,
                    "deleted": False,
                    "after": override.clause_key,
                },
            )
    filler = _Filler(values)
    kept = [w for w in working if not w["deleted"]]
    if not any(w["part"].generated == SCHEDULE_KEY for w in kept):
        taken = {w["part"].key for w in working}
        key = next(k for n in range(1, 100) if (k := _nth(SCHEDULE_PART_KEY, n)) not in taken)
        generated = Part(key, PartKind.ATTACHMENT, (Text(SCHEDULE_TITLE),), (), None, SCHEDULE_KEY)
        kept.append({"part": generated, "template": None, "origin": "generated"})
    base = frame or Document()
    blank_text = fill_stored(
        Document(base.title, tuple(w["part"] for w in kept), base.sections, base.attachments),
        fillins or {},
        param_text=lambda name: fill(f"[[{name}]]", values),
    )
    parts: list[Part] = []
    used: list[tuple[str, ...]] = []
    written_parts = blank_text.document.parts
    for written in written_parts:
        filler.used = []
        part = filler.part(written)
        used.append(tuple(filler.used))
        if part.generated == SCHEDULE_KEY:
            part = replace(part, blocks=_schedule_blocks(part, schedule))
        parts.append(part)
    document = Document(base.title, tuple(parts), base.sections, base.attachments)
    resolver = Resolver(document)
    unfilled = list(filler.missing)

    def flat(
        item: dict[str, Any],
        part: Part,
        deleted: bool = False,
        params: tuple[str, ...] = (),
        written: Part | None = None,
    ) -> ConsolidatedClause:
        template = item.get("template")
        chain = () if deleted else resolver.chain(part.key)
        template_body = ""
        template_params: tuple[str, ...] = ()
        body = _text(part.blocks, resolver, chain)
        if template is not None and written is template:
            # The standard's own clause, which no fill-in changed (the walks hand back what
            # they leave alone): filled with the same values it reads the same, so it is not
            # filled and written a second time.
            template_body, template_params = body, params
        elif template is not None:
            template_filler = _Filler(values)
            template_blocks = template_filler.part(template).blocks
            # The walks keep what they leave alone: the same blocks read the same.
            same = template_blocks is part.blocks
            template_body = body if same else _text(template_blocks, resolver, chain)
            template_params = tuple(template_filler.used)
        return ConsolidatedClause(
            key=part.key,
            number="" if deleted else resolver.part_label(part.key),
            heading=_title(part),
            body=body,
            origin=item["origin"],
            override_id=item.get("override_id"),
            template_heading=_title(template) if template is not None else "",
            template_body=template_body,
            kind=part.kind.value,
            part=part,
            parameters=params,
            template_parameters=template_params,
        )

    consolidated = tuple(
        flat(item, part, params=params, written=written)
        for item, part, params, written in zip(kept, parts, used, written_parts, strict=True)
    )
    deleted = []
    for item in working:
        if item["deleted"]:
            deleted_filler = _Filler(values)
            part = deleted_filler.part(item["part"])
            deleted.append(flat(item, part, deleted=True, params=tuple(deleted_filler.used)))
    text = ConsolidatedText(
        header=tuple(header),
        clauses=consolidated,
        deleted=tuple(deleted),
        schedule=tuple(schedule),
        unfilled=tuple(unfilled),
        document=document,
        fillins=blank_text.fillins,
        stale_fillins=blank_text.stale,
    )
    if attested_hash and text.sha256 != attested_hash:
        legacy = legacy_text.consolidate(
            clauses=clauses,
            accepted_overrides=overrides,
            values=values,
            header=header,
            schedule=[legacy_text.ScheduleRow(**row.__dict__) for row in schedule],
        )
        if legacy.sha256 == attested_hash:
            return replace(text, legacy_canonical=legacy.canonical)
    return text


def fill_blocks(
    blocks: Sequence[Block], values: Mapping[str, PlaceholderValue | None]
) -> tuple[Block, ...]:
    """``blocks`` with their parameters filled from ``values`` (a proposal as it would read)."""
    return _Filler(values).blocks(blocks)


def parameters_in(blocks: Sequence[Block]) -> tuple[str, ...]:
    """The parameters ``blocks`` refer to, in order of first appearance."""
    filler = _Filler({})
    filler.blocks(blocks)
    return tuple(filler.used)


def part_text(text: ConsolidatedText, key: str, blocks: Sequence[Block], values: Any) -> str:
    """How ``blocks``, filled with ``values``, would read as the body of part ``key`` of
    ``text`` (to tell whether a proposal changes anything)."""
    resolver = text.resolver
    chain = resolver.chain(key) if text.clause(key) is not None else ()
    return _text(_Filler(values).blocks(blocks), resolver, chain)


def _nth(key: str, n: int) -> str:
    return key if n == 1 else f"{key}-{n}"


def _title(part: Part) -> str:
    return inline_text(part.title).strip()


#: A part's body text by the identity of its blocks, then by all else it depends on: its
#: numbering chain (list labels) and what its references read in this text
#: (agreements.text.document.memo): the standard's clauses are written once per process.
#: ~2,000 bodies in at most 4 numberings at ~2 kB each: 16 MB at worst.
_BODY_TEXT: ContextMemo[tuple[Block, ...], str] = ContextMemo(2048, contexts=4)


def _text(blocks: Sequence[Block], resolver: Resolver, chain: tuple[int, ...]) -> str:
    """Plain text of a part's body: paragraphs and items separated by a blank line."""

    def write() -> str:
        return "\n\n".join(piece for piece in blocks_text(blocks, resolver, chain) if piece)

    if type(blocks) is not tuple:
        return write()
    return _BODY_TEXT.get(blocks, (chain, refs_read(blocks, resolver)), write)
