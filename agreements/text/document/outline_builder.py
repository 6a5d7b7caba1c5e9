"""The outline of an imported document: title, preamble, sections, unnumbered parts, attachments.

Input: the blocks :mod:`~agreements.text.document.pandoc_ast` read. Output: a
:class:`~agreements.text.document.model.Document`, with findings in the import report.

How parts are found:

- **Headings mode**, when the source has Markdown headings (``##``) other than a leading
  ``#`` title: headings at the shallowest level used make the parts; deeper headings become
  bold paragraphs (with a note). Classes ``.section``, ``.attachment``, ``.unnumbered``,
  ``.preamble`` and the attributes ``label=``, ``generated=`` and ``{#key}`` (what our export
  writes) are honoured; otherwise a heading is read like a bold one below.
- **Bold mode** otherwise (Word converted by pandoc): a paragraph is a heading when all of its
  text after an optional label is bold or underlined (``**A. PURPOSE**``,
  ``**A. [THE FAMILY ...]{.ul}**``, ``A. **PURPOSE**``) and it is short. With a label ``A.``,
  ``IV.``, ``1.``, ``Article 4``, ``Section 2``, it starts a section; with ATTACHMENT,
  EXHIBIT, SCHEDULE, APPENDIX, ANNEX or ADDENDUM and a label, an attachment; without a label
  and in capitals, an unnumbered part. A bold paragraph in mixed case is emphasis inside the
  text, unless the document has no heading of those kinds (then each is an unnumbered part,
  with a warning). A numbered list whose every item opens with a heading (``1.  **LICENSE**``)
  is a run of sections, numbered as the list is.
- **Title**: the leading ``#`` headings, or else the leading bold paragraphs without a label;
  tables before it (a running header) go to the preamble, with a warning.
- **Preamble**: everything between the title and the first heading (recitals, WHEREAS, NOW
  THEREFORE), as one part with key ``preamble``.
- **Series**: the sections' labels decide ``Document.sections`` (pattern from the first label,
  "A." -> ``"%1."``; the format under which the labels count best: letters A–J, roman I–IV,
  decimal; start from the first label), attachments likewise (``"ATTACHMENT %1:"``). A label
  that does not follow the series is kept as the part's explicit label, with a warning.
- **Keys**: ``{#key}`` where given, else the title slugified (at most 50 characters, cut at a
  hyphen), else the label; a repeated key gets ``-2``, ``-3`` with a warning.

Bodies then go through :mod:`~agreements.text.document.typed_lists` and
:mod:`~agreements.text.document.fillins`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.text import slugify

from agreements.text.document.canonical import MAX_KEY_LENGTH, read_series
from agreements.text.document.fillins import find_fillins
from agreements.text.document.import_report import ImportReport
from agreements.text.document.labels import label as compute_label
from agreements.text.document.labels import value_of
from agreements.text.document.model import (
    Block,
    Document,
    Emph,
    Inline,
    NumberFormat,
    Numbering,
    OrderedList,
    Paragraph,
    Part,
    PartKind,
    Series,
    Strong,
    Superscript,
    Table,
    Term,
    Text,
    Underline,
)
from agreements.text.document.normalise import normalise, unbold
from agreements.text.document.pandoc_ast import Heading, Literal, Metadata, Separator
from agreements.text.document.plain import inline_text
from agreements.text.document.resolver import read_label
from agreements.text.document.typed_lists import rebuild

F = NumberFormat
_ATTACHMENT_RE = re.compile(
    r"(?P<kw>ATTACHMENT|Attachment|EXHIBIT|Exhibit|SCHEDULE|Schedule|APPENDIX|Appendix|"
    r"ANNEX|Annex|ADDENDUM|Addendum)\s+(?P<counter>[A-Z]{1,2}|[0-9]{1,3})\b"
    r"(?P<sep>\s*[:.\u2013\u2014-])?(?:\s+|$)"
)
_SECTION_RE = re.compile(
    r"(?:(?P<kw>ARTICLE|Article|SECTION|Section)\s+(?P<kwcounter>[A-Z]{1,6}|[0-9]{1,3})"
    r"(?P<kwsep>[.:])?|(?P<counter>[A-Z]{1,6}|[0-9]{1,3})(?P<sep>[.)]))(?:\s+|$)"
)
MAX_HEADING_CHARS = 200


@dataclass
class _Start:
    kind: PartKind
    title: tuple[Inline, ...]
    where: str
    written: str | None = None  # the label as the source wrote it
    token: str = ""  # its counter ("A", "IV", "1")
    pattern: str = ""  # the label with the counter as %1 ("%1.", "ATTACHMENT %1:")
    key: str | None = None
    explicit: str | None = None  # label="..." from our export
    generated: str = ""
    from_list: Numbering | None = None  # sections that were items of a numbered list
    strip_label: bool = False  # the title still starts with the label (our export's headings)
    blocks: list[Block | Separator] = field(default_factory=list)


def _styled_text(inlines: Sequence[Inline], styled: bool = False) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    for inline in inlines:
        if isinstance(inline, Text):
            out.append((inline.text, styled))
        elif isinstance(inline, Literal):
            out.append((inline.text, styled))
        elif isinstance(inline, (Strong, Underline)):
            out.extend(_styled_text(inline.children, True))
        elif isinstance(inline, (Emph, Superscript, Term)):
            out.extend(_styled_text(inline.children, styled))
        else:
            out.append(("\x00", styled))  # a blank or reference: not heading text
    return out


def _drop_chars(inlines: Sequence[Inline], count: int) -> tuple[Inline, ...]:
    """``inlines`` without their first ``count`` characters of text."""
    out: list[Inline] = []
    for inline in inlines:
        if count <= 0:
            out.append(inline)
        elif isinstance(inline, Text):
            if len(inline.text) > count:
                out.append(Text(inline.text[count:]))
            count -= len(inline.text)
        elif isinstance(inline, (Strong, Underline, Emph, Superscript, Term)):
            length = len(inline_text(inline.children))
            rest = _drop_chars(inline.children, count)
            if rest:
                out.append(type(inline)(rest))
            count -= length
        else:
            out.append(inline)
    return tuple(out)


def heading_start(inlines: Sequence[Inline], *, require_style: bool, where: str) -> _Start | None:
    """A part start if ``inlines`` read as a heading (module docstring), else None."""
    pieces = _styled_text(inlines)
    text = "".join(piece for piece, _ in pieces)
    if not text.strip() or "\x00" in text or len(text) > MAX_HEADING_CHARS:
        return None
    stripped = len(text) - len(text.lstrip())
    body = text[stripped:]
    start = _Start(PartKind.UNNUMBERED, (), where)
    if match := _ATTACHMENT_RE.match(body):
        sep = (match.group("sep") or "").strip()
        start.kind, start.token = PartKind.ATTACHMENT, match.group("counter")
        start.pattern = f"{match.group('kw')} %1{sep}"
        start.written = f"{match.group('kw')} {start.token}{sep}"
    elif match := _SECTION_RE.match(body):
        token = match.group("kwcounter") or match.group("counter")
        if match.group("kw"):
            start.pattern = f"{match.group('kw')} %1{match.group('kwsep') or ''}"
        else:
            start.pattern = f"%1{match.group('sep')}"
        start.kind, start.token = PartKind.SECTION, token
        start.written = start.pattern.replace("%1", token)
    consumed = stripped + (match.end() if match else 0)
    if require_style:
        position = 0
        for piece, styled in pieces:
            tail = piece[max(0, consumed - position) :] if position < consumed else piece
            if not styled and tail.strip(" \t.:\u00a0"):
                return None
            position += len(piece)
    start.title = unbold(_drop_chars(inlines, consumed))
    if start.kind is PartKind.UNNUMBERED:
        letters = [c for c in body if c.isalpha()]
        if not letters or any(c.islower() for c in letters):
            start.kind = PartKind.PREAMBLE  # mixed case: the caller decides
    return start


class Builder:
    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self.series: dict[PartKind, Series] = {}

    def build(self, blocks: Sequence[object]) -> Document:
        items = list(blocks)
        for item in items:
            if isinstance(item, Metadata):
                self.metadata(item.json)
        items = [i for i in items if not isinstance(i, Metadata)]
        title, pre_title, rest = self.title(items)
        headings = [i for i in rest if isinstance(i, Heading)]
        if headings:
            starts = self.by_headings(rest, min(h.level for h in headings))
        else:
            starts = self.by_bold(rest)
        if pre_title:
            self.report.warn(
                "before the title", "Blocks before the title were put in the preamble."
            )
            if starts and starts[0].kind is PartKind.PREAMBLE and starts[0].key is None:
                starts[0].blocks[:0] = pre_title
            else:
                starts.insert(
                    0, _Start(PartKind.PREAMBLE, (), "before the title", blocks=pre_title)
                )
        if not any(s.kind is not PartKind.PREAMBLE for s in starts):
            self.report.error(
                "",
                "No section headings found: mark them as bold lines ('**A. PURPOSE**'), "
                "Markdown headings ('## 1. Purpose') or numbered bold list items.",
            )
        document = self.assemble(title, starts)
        return normalise(find_fillins(document, self.report))

    def metadata(self, text: str) -> None:
        try:
            data = json.loads(text)
            for name, kind in (
                ("sections", PartKind.SECTION),
                ("attachments", PartKind.ATTACHMENT),
            ):
                if name in data:
                    self.series[kind] = read_series(data[name], f"$.{name}")
        except (ValueError, TypeError) as error:
            self.report.warn("metadata", f"The collaboratory-document comment was ignored: {error}")

    def title(self, items: list[object]) -> tuple[list[tuple[Inline, ...]], list, list]:
        """Leading ``#`` headings, or leading unlabelled bold paragraphs; tables before them
        are returned separately (they go to the preamble)."""
        index, pre = 0, []
        while index < len(items) and isinstance(items[index], Table):
            pre.append(items[index])
            index += 1
        lines: list[tuple[Inline, ...]] = []
        atx = index < len(items) and isinstance(items[index], Heading)
        while index < len(items):
            item = items[index]
            if atx and isinstance(item, Heading) and item.level == 1 and not item.classes:
                lines.append(item.inlines)
            elif not atx and isinstance(item, Paragraph):
                start = heading_start(item.inlines, require_style=True, where="")
                if start is None or start.written is not None:
                    break
                lines.append(start.title)
            else:
                break
            index += 1
        if not lines:
            return [], [], items
        return lines, pre, items[index:]

    def by_headings(self, items: list[object], level: int) -> list[_Start]:
        starts = [_Start(PartKind.PREAMBLE, (), "before the first heading")]
        for item in items:
            if isinstance(item, Heading) and item.level == level:
                starts.append(self.from_heading(item))
            elif isinstance(item, Heading):
                self.report.note(f"heading level {item.level}", "Read as a bold paragraph.")
                starts[-1].blocks.append(Paragraph((Strong(item.inlines),)))
            else:
                if isinstance(item, Paragraph):
                    self.bold_heading_in_text(item)
                starts[-1].blocks.append(item)  # type: ignore[arg-type]
        return starts if _has_content(starts[0].blocks) else starts[1:]

    def bold_heading_in_text(self, item: Paragraph) -> None:
        """A bold labelled line ("**A. PURPOSE**") among Markdown headings is kept as text,
        never silently: the report says where, so two sections are not merged unnoticed."""
        where = f"“{inline_text(item.inlines)[:60]}”"
        start = heading_start(item.inlines, require_style=True, where=where)
        if start is not None and start.kind in (PartKind.SECTION, PartKind.ATTACHMENT):
            self.report.warn(
                where,
                "looks like a section heading (a bold line with a label) but this document's "
                "parts are its Markdown headings, so it was kept as text in the part before "
                "it; make it a heading if it starts a section.",
            )

    def from_heading(self, heading: Heading) -> _Start:
        where = f"heading “{inline_text(heading.inlines)[:60]}”"
        attributes = dict(heading.attributes)
        kinds = [PartKind(c) for c in heading.classes if c in {k.value for k in PartKind}]
        if kinds or "unnumbered" in heading.classes:
            # Our export's form: the class says what it is, the label is the computed one
            # (or label="..."), and it is taken off the front of the title in assemble().
            kind = kinds[0] if kinds else PartKind.UNNUMBERED
            start = _Start(kind, unbold(heading.inlines), where, strip_label=True)
            start.explicit = attributes.get("label")
        else:
            found = heading_start(heading.inlines, require_style=False, where=where)
            start = found or _Start(PartKind.UNNUMBERED, unbold(heading.inlines), where)
            if start.kind is PartKind.PREAMBLE:
                start.kind = PartKind.UNNUMBERED  # a mixed-case heading is still a heading
        start.key = heading.identifier or None
        start.generated = attributes.get("generated", "")
        return start

    def by_bold(self, items: list[object]) -> list[_Start]:
        found: list[tuple[int, _Start]] = []
        mixed: list[tuple[int, _Start]] = []
        for index, item in enumerate(items):
            if isinstance(item, Paragraph):
                where = f"“{inline_text(item.inlines)[:60]}”"
                start = heading_start(item.inlines, require_style=True, where=where)
                if start is not None:
                    (mixed if start.kind is PartKind.PREAMBLE else found).append((index, start))
        if not found and mixed:
            self.report.warn(
                "", "No headings in capitals or with labels: every bold line was read as a heading."
            )
            for _index, start in mixed:
                start.kind = PartKind.UNNUMBERED
            found = mixed
        at = dict(found)
        starts = [_Start(PartKind.PREAMBLE, (), "before the first heading")]
        for index, item in enumerate(items):
            if index in at:
                starts.append(at[index])
            elif isinstance(item, OrderedList) and (sections := self.list_sections(item)):
                starts.extend(sections)
            else:
                starts[-1].blocks.append(item)  # type: ignore[arg-type]
        return starts if _has_content(starts[0].blocks) else starts[1:]

    def list_sections(self, block: OrderedList) -> list[_Start]:
        """``1.  **LICENSE**`` items: each a section numbered by the list."""
        heads = []
        for item in block.items:
            first = item.blocks[0] if item.blocks else None
            heading = None
            if isinstance(first, Paragraph):
                heading = heading_start(first.inlines, require_style=True, where="list item")
            heads.append(heading if heading and heading.written is None else None)
        if not any(heads):
            return []
        if not all(heads):
            self.report.warn(
                f"list starting “{inline_text(block.items[0].blocks[0].inlines)[:40]}”"
                if block.items
                and block.items[0].blocks
                and isinstance(block.items[0].blocks[0], Paragraph)
                else "a numbered list",
                "Some items of this numbered list open with a heading and some do not; "
                "it was kept as a list. Make all of them headings or none.",
            )
            return []
        sections = []
        for item, head in zip(block.items, heads, strict=True):
            assert head is not None
            head.kind, head.from_list = PartKind.SECTION, block.numbering
            head.blocks = list(item.blocks[1:])
            sections.append(head)
        return sections

    def assemble(self, title: list[tuple[Inline, ...]], starts: list[_Start]) -> Document:
        sections = self.series.get(PartKind.SECTION) or self.infer(
            [s for s in starts if s.kind is PartKind.SECTION], Numbering("%1.", (F.DECIMAL,))
        )
        attachments = self.series.get(PartKind.ATTACHMENT) or self.infer(
            [s for s in starts if s.kind is PartKind.ATTACHMENT],
            Numbering("Attachment %1", (F.UPPER_LETTER,)),
        )
        series = {PartKind.SECTION: sections, PartKind.ATTACHMENT: attachments}
        counters = {kind: s.numbering.start - 1 for kind, s in series.items()}
        keys: set[str] = set()
        parts = []
        for start in starts:
            label, counter = None, None
            if start.kind in series:
                numbering = series[start.kind].numbering
                counter = counters[start.kind] + 1
                label = start.explicit
                if label is None and start.written is not None:
                    computed = compute_label(numbering, [counter])
                    if start.written != computed:
                        label = start.written
                        self.report.warn(
                            start.where,
                            f"The label “{start.written}” does not follow the series "
                            f"(expected “{computed}”); kept as written.",
                        )
                if label is not None and (read := read_label(numbering, label)) is not None:
                    counter = read
                counters[start.kind] = counter
            if start.strip_label:
                shown = label if label is not None else ""
                if label is None and start.kind in series:
                    shown = compute_label(series[start.kind].numbering, [counter or 0])
                start.title = _strip_prefix(start.title, shown)
            key = self.key(start, label, keys)
            decimal = sections.numbering.formats[:1] == (F.DECIMAL,)
            section = counter if start.kind is PartKind.SECTION and decimal else None
            body = rebuild(start.blocks, section)
            parts.append(Part(key, start.kind, start.title, body, label, start.generated))
        return Document(tuple(title), tuple(parts), sections, attachments)

    def infer(self, starts: list[_Start], default: Numbering) -> Series:
        """The series the labels of ``starts`` follow best (module docstring)."""
        if not starts:
            return Series(default)
        if starts[0].from_list is not None:
            numbering = starts[0].from_list
            return Series(numbering)
        first = next((s for s in starts if s.written), None)
        if first is None:
            return Series(default)
        best: tuple[int, Numbering] | None = None
        for fmt in _candidates(first.token):
            values = [value_of(s.token, fmt) for s in starts if s.pattern == first.pattern]
            if values[0] is None:
                continue
            score = sum(
                1 for a, b in zip(values, values[1:], strict=False) if a is not None and b == a + 1
            )
            score = score * 2 + (values[0] == 1)
            if best is None or score > best[0]:
                best = (score, Numbering(first.pattern, (fmt,), values[0]))
        return Series(best[1] if best else default)

    def key(self, start: _Start, label: str | None, keys: set[str]) -> str:
        if start.kind is PartKind.PREAMBLE and start.key is None:
            key = "preamble"
        elif (
            start.key
            and re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", start.key)
            and len(start.key) <= MAX_KEY_LENGTH
        ):
            key = start.key
        else:
            if start.key:
                self.report.warn(
                    start.where,
                    f"The key {start.key!r} is not a valid part key; made one from the title.",
                )
            key = (
                derive_key(inline_text(start.title))
                or derive_key(start.written or label or "")
                or "part"
            )
        unique, number = key, 2
        while unique in keys:
            unique = f"{key[: MAX_KEY_LENGTH - 4]}-{number}"
            number += 1
        if unique != key:
            self.report.warn(
                start.where, f"The key “{key}” was used before; this part is “{unique}”."
            )
        keys.add(unique)
        return unique


def _has_content(blocks: Sequence[object]) -> bool:
    return any(not isinstance(block, Separator) for block in blocks)


def _strip_prefix(title: tuple[Inline, ...], label: str) -> tuple[Inline, ...]:
    text = inline_text(title)
    if not label or not text.startswith(label):
        return title
    skip = len(label) + len(text[len(label) :]) - len(text[len(label) :].lstrip())
    return _drop_chars(title, skip)


def _candidates(token: str) -> list[NumberFormat]:
    if token.isdigit():
        return [F.DECIMAL]
    if token.isupper():
        return [F.UPPER_LETTER, F.UPPER_ROMAN]
    return [F.LOWER_LETTER, F.LOWER_ROMAN]


def derive_key(text: str) -> str:
    """A part key from a title: slugified, at most 50 characters, cut at a hyphen."""
    slug = re.sub(r"[-_]+", "-", slugify(text)).strip("-")
    if len(slug) > MAX_KEY_LENGTH:
        cut = slug[: MAX_KEY_LENGTH + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else slug[:MAX_KEY_LENGTH]
    return slug.strip("-")


def build_document(blocks: Sequence[object], report: ImportReport) -> Document:
    return Builder(report).build(blocks)
