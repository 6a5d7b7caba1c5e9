"""The outline of a Word file: title, preamble, sections, unnumbered parts, attachments.

Headings are found the way the file marks them:

- **Heading styles.** Parts start at the highest heading level in use (Heading 1, or Heading 2
  when a lone Heading 1 at the top is the title); paragraphs styled Title are title lines.
  Deeper heading styles stay in the body as bold paragraphs (a note says so).
- **Otherwise, bold or underlined paragraphs**, whole or after a typed label ("A. **PURPOSE**"),
  and auto-numbered ones whose letter exists only in ``numbering.xml``. When some of them are
  labelled, keyword headings ("ATTACHMENT A") or in capitals, mixed-case ones are emphasis.
  The leading bold lines before any prose (tables may come first) are the title.

A heading's label is Word's automatic label or one typed at its start ("A.", "IV.", "(b)",
"Article 3", "ATTACHMENT A:"). Attachments, exhibits, schedules, appendices and annexes count
in the attachments series; other labelled headings are sections; a heading without a label is
an unnumbered part. Each series takes its numbering from its first label ("A." is
upper-letter "%1.", "I." upper-roman); a part keeps an explicit label only where the source's
breaks that series. Text before the first heading is the preamble. Part keys come from the
titles, unique within the document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from agreements.text.document.docx_blocks import Assembler, freeze
from agreements.text.document.docx_inlines import nest
from agreements.text.document.docx_refs import item_paths, resolve_refs
from agreements.text.document.fillins import find_fillins
from agreements.text.document.import_report import ImportReport
from agreements.text.document.labels import value_of
from agreements.text.document.model import (
    Document,
    Inline,
    NumberFormat,
    Numbering,
    Part,
    PartKind,
    Series,
    Text,
)
from agreements.text.document.outline_builder import derive_key
from agreements.text.document.resolver import Resolver
from agreements.text.document.typed_lists import rebuild
from agreements.text.document.word_numbering import first_slot, numbering_for

if TYPE_CHECKING:
    from agreements.text.document.docx_import import BodyReader, Entry, ParaEntry

MAX_KEY_LENGTH = 50
_ATTACHMENT_WORDS = {"attachment", "exhibit", "schedule", "appendix", "annex", "addendum"}
_KEYWORDS = "article|section|part|" + "|".join(sorted(_ATTACHMENT_WORDS))
_COUNTER = r"[0-9]{1,3}|[A-Za-z]|[IVXLCDM]{1,7}|[ivxlcdm]{1,7}"
_LABEL_RE = re.compile(
    rf"(?P<label>(?P<word>(?i:{_KEYWORDS}))\s+(?P<wtoken>{_COUNTER})(?P<wpunct>[.:]?)"
    rf"|(?P<open>\(?)(?P<token>{_COUNTER})(?P<close>[.)]))"
    r"(?P<sep>\s*[:\u2013\u2014-]\s+|\s+|$)"
)
_FORMATS_BY_COUNTER = (
    (re.compile(r"[0-9]+"), (NumberFormat.DECIMAL,)),
    (re.compile(r"[IVXLCDM]"), (NumberFormat.UPPER_LETTER, NumberFormat.UPPER_ROMAN)),
    (re.compile(r"[ivxlcdm]"), (NumberFormat.LOWER_LETTER, NumberFormat.LOWER_ROMAN)),
    (re.compile(r"[A-Z]"), (NumberFormat.UPPER_LETTER,)),
    (re.compile(r"[a-z]"), (NumberFormat.LOWER_LETTER,)),
    (re.compile(r"[IVXLCDM]+"), (NumberFormat.UPPER_ROMAN,)),
    (re.compile(r"[ivxlcdm]+"), (NumberFormat.LOWER_ROMAN,)),
)


@dataclass(frozen=True)
class Label:
    """A heading's label: as shown, the series it counts in, and how it counts."""

    text: str  # "A.", "ATTACHMENT A:"
    kind: PartKind  # SECTION or ATTACHMENT
    choices: tuple[Numbering, ...]  # numberings it reads under (letter or roman for "I.")
    cut: int  # characters of the paragraph text taken by the typed label and separator


def typed_label(text: str) -> Label | None:
    """The label typed at the start of a heading ("B. PURPOSE" -> "B."), or None."""
    match = _LABEL_RE.match(text)
    if match is None:
        return None
    word = match.group("word")
    token = match.group("wtoken") if word else match.group("token")
    if word:
        pattern = f"{word} %1{match.group('wpunct')}"
    else:
        pattern = f"{match.group('open')}%1{match.group('close')}"
        if match.group("open") and match.group("close") != ")":
            return None
    formats = next((f for rx, f in _FORMATS_BY_COUNTER if rx.fullmatch(token)), ())
    choices = tuple(
        Numbering(pattern, (fmt,), value)
        for fmt in formats
        if (value := value_of(token, fmt)) is not None
    )
    if not choices:
        return None
    kind = PartKind.ATTACHMENT if word and word.lower() in _ATTACHMENT_WORDS else PartKind.SECTION
    return Label(match.group("label"), kind, choices, match.end())


def auto_label(entry: ParaEntry) -> Label | None:
    """The label Word's numbering gives a heading paragraph."""
    found = entry.numbered
    if found is None or found.is_bullet or not found.label.strip():
        return None
    own = numbering_for(found.levels, found.ilvl)
    word = found.label.split()[0].lower() if found.label.split() else ""
    kind = PartKind.ATTACHMENT if word in _ATTACHMENT_WORDS else PartKind.SECTION
    single = first_slot(found.level) == found.ilvl and len(own.formats) == 1
    choices = (Numbering(own.pattern, own.formats, found.counters[-1]),) if single else ()
    return Label(found.label.strip(), kind, choices, 0)


# -- headings -----------------------------------------------------------------------------------


@dataclass
class Heading:
    entry: ParaEntry
    label: Label | None
    strip: frozenset[str]  # formats that made it a heading, not emphasis in its title


def _visible(entry: ParaEntry, mark: str, skip: int = 0) -> bool:
    """True when every visible character after the first ``skip`` carries ``mark``."""
    seen = 0
    found = False
    for marks, atom in entry.body_pieces():
        text = atom.text if isinstance(atom, Text) else " "
        for char in text:
            seen += 1
            if seen <= skip or char.isspace():
                continue
            if mark not in marks:
                return False
            found = True
    return found


def _candidate(entry: ParaEntry) -> Heading | None:
    text = entry.text
    if not text or len(text) > 200 or entry.numbered is not None and entry.numbered.is_bullet:
        return None
    auto = auto_label(entry)
    typed = None if auto else typed_label(text)
    skip = typed.cut if typed else 0
    for mark in ("strong", "underline"):
        if _visible(entry, mark, skip):
            if auto and len(text.split()) > 8 and text != text.upper():
                return None  # a bold list item, not a heading
            strip = (
                frozenset({mark})
                if mark == "strong" or not _visible(entry, "strong")
                else frozenset()
            )
            return Heading(entry, auto or typed, strip)
    return None


def _kind_of(heading: Heading) -> str:
    text = heading.entry.text
    if heading.label is not None:
        return "labelled"
    if text.split()[0].lower().rstrip(":") in _ATTACHMENT_WORDS:
        return "keyword"
    if any(c.isalpha() for c in text) and text == text.upper():
        return "capitals"
    return "other"


def find_headings(
    paras: Sequence[ParaEntry], report: ImportReport
) -> tuple[list[ParaEntry], dict[int, Heading]]:
    """The title lines and the part headings (by entry identity) among top-level paragraphs."""
    styled = [p for p in paras if p.heading_level is not None and p.text]
    if any(p.hints.get("key") for p in paras) or any(p.heading_level for p in styled):
        return _styled_headings(paras, styled, report)
    candidates = {id(p): h for p in paras if (h := _candidate(p)) is not None}
    kinds = {key: _kind_of(h) for key, h in candidates.items()}
    structured = any(kind != "other" for kind in kinds.values())
    titles = _leading_bold(paras, candidates, kinds)
    headings = {
        key: h
        for key, h in candidates.items()
        if h.entry not in titles and (not structured or kinds[key] != "other")
    }
    return titles, headings


def _leading_bold(
    paras: Sequence[ParaEntry], candidates: dict[int, Heading], kinds: dict[int, str]
) -> list[ParaEntry]:
    """The bold lines before any prose and any labelled heading: the title."""
    titles: list[ParaEntry] = []
    for p in paras:
        if id(p) not in candidates or kinds[id(p)] in ("labelled", "keyword"):
            if p.text or p.heading_level:
                break
            continue
        titles.append(p)
    return titles


def _styled_headings(
    paras: Sequence[ParaEntry], styled: list[ParaEntry], report: ImportReport
) -> tuple[list[ParaEntry], dict[int, Heading]]:
    titles = [p for p in styled if p.heading_level == 0]
    levels = sorted({p.heading_level for p in styled if p.heading_level})
    part_level = levels[0] if levels else None
    at_level = [p for p in styled if p.heading_level == part_level]
    if not titles and len(at_level) == 1 and len(levels) > 1 and styled[0] is at_level[0]:
        titles, part_level = at_level, levels[1]
    if not titles:
        candidates = {id(p): h for p in paras if (h := _candidate(p)) is not None}
        titles = _leading_bold(paras, candidates, {k: _kind_of(h) for k, h in candidates.items()})
    headings = {}
    for p in paras:
        if (
            p.hints.get("key")
            and p.hints.get("part") != "preamble"
            or (p.heading_level == part_level and p.text and p not in titles)
        ):
            headings[id(p)] = Heading(p, auto_label(p) or typed_label(p.text), frozenset())
        elif p.heading_level and part_level and p.heading_level > part_level:
            report.note(
                p.where, f"a Heading {p.heading_level} paragraph is kept as a bold paragraph"
            )
            p.style_marks = p.style_marks | {"strong"}
    return titles, headings


# -- the document -------------------------------------------------------------------------------


def _cut(pieces: list[Any], count: int) -> list[Any]:
    """``pieces`` without leading white space and then ``count`` more characters."""
    out = []
    leading = True
    for marks, atom in pieces:
        if isinstance(atom, Text) and (leading or count):
            text = atom.text
            if leading:
                stripped = text.lstrip()
                leading = not stripped
                text = stripped
            taken = min(count, len(text))
            count -= taken
            text = text[taken:]
            if text:
                out.append((marks, Text(text)))
            continue
        leading = False
        out.append((marks, atom))
    return out


def _inlines(pieces: list[Any], strip: frozenset[str], cut: int = 0) -> tuple[Inline, ...]:
    kept = [(marks - strip, atom) for marks, atom in _cut(pieces, cut)]
    return tuple(nest(kept))  # type: ignore[arg-type]


@dataclass
class _PartSpec:
    kind: PartKind
    heading: Heading | None
    entries: list[Entry]
    key: str = ""
    title: tuple[Inline, ...] = ()
    label: str | None = None
    generated: str = ""


def build_document(entries: list[Entry], reader: BodyReader, report: ImportReport) -> Document:
    from agreements.text.document.docx_import import ParaEntry, decode_numbering, feed

    paras = [e for e in entries if isinstance(e, ParaEntry)]
    titles, headings = find_headings(paras, report)
    ours = reader.ours
    title = tuple(_title_line(t, ours) for t in titles)
    specs: list[_PartSpec] = [_PartSpec(PartKind.PREAMBLE, None, [], key="preamble")]
    for entry in entries:
        if isinstance(entry, ParaEntry):
            if entry in titles:
                continue
            if id(entry) in headings:
                specs.append(_heading_spec(headings[id(entry)], ours))
                continue
        if ours and entry.hints.get("part") == "preamble":
            specs.append(_PartSpec(PartKind.PREAMBLE, None, [], key=entry.hints.get("key", "")))
        specs[-1].entries.append(entry)
    if not specs[0].entries and len(specs) > 1:
        specs.pop(0)
    body = reader.package.document.find(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}body"
    )
    hints = {} if body is None or not ours else body.attrib
    from agreements.text.document.docx_import import cb

    sections = decode_numbering(hints.get(cb("sections"))) or _series(specs, PartKind.SECTION)
    attachments = decode_numbering(hints.get(cb("attachments"))) or _series(
        specs, PartKind.ATTACHMENT, Numbering("Attachment %1", (NumberFormat.UPPER_LETTER,))
    )
    _keys(specs)
    skeleton = Document(
        title,
        tuple(Part(s.key, s.kind, s.title, (), s.label, s.generated) for s in specs),
        Series(sections),
        Series(attachments),
    )
    if not ours:
        skeleton = _minimise_labels(skeleton, report)
    resolver = Resolver(skeleton)
    parts, builders = [], []
    for spec, part in zip(specs, skeleton.parts, strict=True):
        assembler = Assembler()
        for entry in spec.entries:
            feed(assembler, entry, ours=ours, numbering=reader.numbering)
        builders.append(assembler.blocks)
        chain = resolver.chain(part.key)
        blocks = freeze(assembler.blocks, chain)
        if not ours:  # numbers typed by hand ("1.0.", "(a)") make lists as in Markdown
            decimal = sections.formats[:1] == (NumberFormat.DECIMAL,)
            section = chain[0] if chain and part.kind is PartKind.SECTION and decimal else None
            blocks = rebuild(blocks, section)
        parts.append(replace(part, blocks=blocks))
    document = replace(skeleton, parts=tuple(parts))
    anchors: dict[str, tuple[str, tuple[int, ...]]] = {}
    for spec, part, built in zip(specs, parts, builders, strict=True):
        first = spec.heading.entry if spec.heading else next(iter(spec.entries), None)
        if isinstance(first, ParaEntry):  # a bookmark on the heading, or a preamble's start
            anchors.update(dict.fromkeys(first.read.bookmarks, (part.key, ())))
        for name, path in item_paths(built, ()).items():
            anchors[name] = (part.key, path)
    return find_fillins(resolve_refs(document, anchors, report), report)


def _title_line(entry: ParaEntry, ours: bool) -> tuple[Inline, ...]:
    if entry.heading_level == 0:
        return _inlines(entry.read.pieces, frozenset())
    mark = "strong" if _visible(entry, "strong") else "underline"
    return _inlines(entry.body_pieces(), frozenset({mark}))


def _heading_spec(heading: Heading, ours: bool) -> _PartSpec:
    entry = heading.entry
    styled = entry.heading_level is not None
    pieces = entry.read.pieces if styled else entry.body_pieces()
    if ours:  # the kind, key and any explicit label are written beside the heading
        return _PartSpec(
            PartKind(entry.hints.get("kind", PartKind.UNNUMBERED.value)),
            heading,
            [],
            key=entry.hints.get("key", ""),
            title=_inlines(pieces, frozenset()),
            label=entry.hints.get("label"),
            generated=entry.hints.get("generated", ""),
        )
    label = heading.label
    return _PartSpec(
        label.kind if label else PartKind.UNNUMBERED,
        heading,
        [],
        title=_inlines(pieces, heading.strip, label.cut if label else 0),
        label=label.text if label else None,
    )


def _series(specs: list[_PartSpec], kind: PartKind, default: Numbering | None = None) -> Numbering:
    """A series' numbering from its first label: the reading that counts from 1, or else the
    smallest ("C." is upper-letter 3, not roman 100)."""
    for spec in specs:
        if spec.kind is kind and spec.heading is not None and spec.heading.label:
            choices = spec.heading.label.choices
            if choices:
                return min(choices, key=lambda n: (n.start != 1, n.start))
            break
    return default or Numbering("%1.", (NumberFormat.DECIMAL,))


def _keys(specs: list[_PartSpec]) -> None:
    used: set[str] = set()
    for spec in specs:
        plain = "".join(i.text for i in _texts(spec.title))
        key = spec.key or derive_key(plain) or derive_key(spec.label or "") or "part"
        base, number = key, 2
        while key in used:
            suffix = f"-{number}"
            key = base[: MAX_KEY_LENGTH - len(suffix)].rstrip("-") + suffix
            number += 1
        used.add(key)
        spec.key = key


def _texts(inlines: Sequence[Any]) -> list[Text]:
    out: list[Text] = []
    for inline in inlines:
        if isinstance(inline, Text):
            out.append(inline)
        elif hasattr(inline, "children"):
            out.extend(_texts(inline.children))
        else:
            out.append(Text(" "))
    return out


def _minimise_labels(document: Document, report: ImportReport) -> Document:
    """Drop each explicit part label that the series would compute anyway, in order; say
    where a label does not follow its series."""
    parts = list(document.parts)
    for index, part in enumerate(parts):
        if part.label is None or part.kind not in (PartKind.SECTION, PartKind.ATTACHMENT):
            continue
        plain = replace(part, label=None)
        trial = replace(document, parts=(*parts[:index], plain, *parts[index + 1 :]))
        computed = Resolver(trial).part_label(part.key)
        if computed == part.label:
            parts[index] = plain
        else:
            report.warn(
                part.label,
                f"The label “{part.label}” does not follow the series (expected "
                f"“{computed}”); kept as written.",
            )
    return replace(document, parts=tuple(parts))


__all__ = ["build_document", "find_headings", "typed_label"]
