"""Fill-in blanks, parameters and cross-references recognised in imported text.

Run by the importers on a built document (the references need its labels):

- **Blanks** (:class:`~agreements.text.document.model.Blank`): runs of three or more
  underscores (``signature`` kind in a part whose title mentions signatures, else ``text``),
  ``[ ]`` (``choice``), bracketed prompts ``[Name]``, ``[title]``, ``[date]``,
  ``[Summarize …]``, ``[Fill in …]`` (kind from the words: "date" -> date, "name" -> name,
  exactly "title" -> title, else text), the words "Month, Day, Year" (date), a run that is
  only underlined "Name", "Title" or "Date", and underlined spaces (a fill-in line). Brackets
  around a number, "sic", "reserved" or "intentionally omitted" are text. A bold, italic or
  underlined run whose whole content is one blank becomes that blank (the styling was the
  blank's look). ``[[Fill in …]]`` that is not a parameter name is a text blank, with a
  warning.
- **Parameters**: ``[[snake_case]]`` stays a :class:`~agreements.text.document.model.Param`.
- **References**: "Section I", "Section D", "Section 7.2(c)", "Article IV", "Attachment A",
  "Exhibit B" (the word capitalised as written) become a
  :class:`~agreements.text.document.model.Ref` when a part, or a list item inside one, reads
  exactly so; "Section J." keeps its period as text. One that names no part is a warning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from agreements.text.document.import_report import ImportReport
from agreements.text.document.model import (
    Blank,
    BlankKind,
    Block,
    Document,
    Emph,
    Inline,
    Param,
    Part,
    PartKind,
    Ref,
    Strong,
    Superscript,
    Term,
    Text,
    Underline,
)
from agreements.text.document.pandoc_ast import Literal
from agreements.text.document.param_walk import BlockWalk
from agreements.text.document.plain import inline_text
from agreements.text.document.resolver import Resolver, ordered_items

SECTION_WORDS = ("Section", "Article", "Paragraph", "Clause")
ATTACHMENT_WORDS = ("Attachment", "Exhibit", "Schedule", "Appendix", "Annex", "Addendum")
_WORDS = "|".join(w for word in SECTION_WORDS + ATTACHMENT_WORDS for w in (word, word.upper()))
_PIECES_RE = re.compile(
    r"(?P<param>\[\[(?P<name>[a-z][a-z0-9_]*)\]\])"
    r"|(?P<double>\[\[(?P<inner>[^\[\]\n]{1,300})\]\])"
    r"|(?P<choice>\[ ?\])"
    r"|(?P<bracket>\[(?P<prompt>[^\[\]\n]{1,300})\])"
    r"|(?P<line>_{3,})"
    r"|(?P<mdy>\bMonth,? Day,? Year\b)"
    rf"|(?P<ref>(?<![\w])(?P<word>{_WORDS}) "
    r"(?P<label>[A-Z]{1,3}\b|[0-9]{1,3}(?:\.[0-9]{1,3})*)"
    r"(?P<sub>(?:\([a-z0-9]{1,4}\))*))"
)
_NOT_BLANK_RE = re.compile(
    r"\s*(?:[0-9]+|sic|x|reserved|intentionally (?:omitted|left blank))\s*", re.I
)
_UNDERLINED_PROMPTS = {"name": BlankKind.NAME, "title": BlankKind.TITLE, "date": BlankKind.DATE}


def blank_kind(prompt: str) -> BlankKind:
    lowered = prompt.lower()
    if re.search(r"\bdate\b|\bmonth\b", lowered):
        return BlankKind.DATE
    if re.search(r"\bname\b", lowered):
        return BlankKind.NAME
    if lowered.strip() == "title":
        return BlankKind.TITLE
    return BlankKind.TEXT


class _Finder(BlockWalk):
    def __init__(self, document: Document, report: ImportReport) -> None:
        self.report = report
        resolver = Resolver(document)
        self.resolver = resolver
        self.sections: dict[str, tuple[str, tuple[int, ...]]] = {}
        self.attachments: dict[str, tuple[str, tuple[int, ...]]] = {}
        for part in document.parts:
            if part.kind is PartKind.ATTACHMENT:
                # "Exhibit A" is not "ATTACHMENT A": the word must be the part's own.
                found = re.match(r"[A-Za-z]*", resolver.part_label(part.key))
                word = found.group(0).lower() if found else ""
                bare = resolver.ref_text(Ref(part.key, (), "")) or ""
                self.attachments[f"{word} {bare}" if word else bare] = (part.key, ())
            elif part.kind is PartKind.SECTION:
                self.sections[resolver.ref_text(Ref(part.key, (), "")) or ""] = (part.key, ())
                for path in _paths(part.blocks, ()):
                    text = resolver.ref_text(Ref(part.key, path, ""))
                    if text:
                        self.sections.setdefault(text, (part.key, path))
        self.signature = False
        self.where = ""
        self.unknown: set[str] = set()

    def part(self, part: Part) -> Part:
        self.signature = "signature" in inline_text(part.title).lower()
        label = self.resolver.part_label(part.key)
        self.where = f"{label} {inline_text(part.title)}".strip() or part.key
        return replace(part, title=_literal_text(part.title), blocks=self.blocks(part.blocks))

    def inlines(self, inlines: Sequence[Inline]) -> tuple[Inline, ...]:
        out: list[Inline] = []
        for inline in _merge_text(inlines):
            if isinstance(inline, Literal):
                out.append(Text(inline.text))
            elif isinstance(inline, Text):
                out.extend(self.text(inline.text))
            elif isinstance(inline, (Strong, Emph, Underline, Superscript, Term)):
                out.append(self.styled(inline))
            elif isinstance(inline, Ref) and inline.target not in self.resolver.parts:
                self.report.warn(self.where, f"A link points at {inline.target!r}: no such part.")
                out.append(Text(f"{inline.prefix} {inline.target}".strip()))
            else:
                out.append(inline)
        return tuple(out)

    def styled(self, node: Strong | Emph | Underline | Superscript | Term) -> Inline:
        raw = "".join(c.text for c in node.children if isinstance(c, Text))
        if isinstance(node, Underline):
            only_text = all(isinstance(c, Text) for c in node.children)
            if only_text and raw.strip().lower() in _UNDERLINED_PROMPTS:
                return Blank(_UNDERLINED_PROMPTS[raw.strip().lower()], raw.strip())
            if only_text and len(raw) >= 3 and not raw.strip():
                return Blank(BlankKind.SIGNATURE if self.signature else BlankKind.TEXT)
        children = self.inlines(node.children)
        meaningful = [c for c in children if not (isinstance(c, Text) and not c.text.strip())]
        if len(meaningful) == 1 and isinstance(meaningful[0], Blank):
            return meaningful[0]
        return type(node)(children)

    def text(self, text: str) -> list[Inline]:
        out: list[Inline] = []
        position = 0
        for match in _PIECES_RE.finditer(text):
            found = self.piece(match)
            if found is None:
                continue
            out.append(Text(text[position : match.start()]))
            out.extend(found)
            position = match.end()
        out.append(Text(text[position:]))
        return [piece for piece in out if not (isinstance(piece, Text) and not piece.text)]

    def piece(self, match: re.Match[str]) -> list[Inline] | None:
        if match.group("param"):
            return [Param(match.group("name"))]
        if match.group("double"):
            inner = match.group("inner").strip()
            self.report.warn(
                self.where,
                f"“[[{inner}]]” is not a parameter name (lowercase_with_underscores); "
                "read as a fill-in blank.",
            )
            return [Blank(blank_kind(inner), inner)]
        if match.group("choice"):
            return [Blank(BlankKind.CHOICE)]
        if match.group("bracket"):
            prompt = match.group("prompt").strip()
            if not prompt or _NOT_BLANK_RE.fullmatch(prompt):
                return None
            return [Blank(blank_kind(prompt), prompt)]
        if match.group("line"):
            return [Blank(BlankKind.SIGNATURE if self.signature else BlankKind.TEXT)]
        if match.group("mdy"):
            return [Blank(BlankKind.DATE, match.group("mdy"))]
        return self.reference(match)

    def reference(self, match: re.Match[str]) -> list[Inline] | None:
        word, label, sub = match.group("word"), match.group("label"), match.group("sub")
        attachment = word.capitalize() in ATTACHMENT_WORDS
        table = self.attachments if attachment else self.sections
        for cited, rest in ((label + sub, ""), (label, sub)):
            lookup = [f"{word.lower()} {cited}", cited] if attachment else [cited]
            found = next((table[name] for name in lookup if name in table), None)
            if found is not None:
                key, path = found
                ref = Ref(key, path, word)
                if self.resolver.ref_text(ref) == f"{word} {cited}":
                    return [ref, *([Text(rest)] if rest else [])]
        name = f"{word} {label}{sub}"
        if name not in self.unknown:
            self.unknown.add(name)
            self.report.warn(self.where, f"“{name}” names no part of this document; kept as text.")
        return None


def _merge_text(inlines: Sequence[Inline]) -> list[Inline]:
    """Adjacent text nodes as one, so a bracketed prompt over several words is one match."""
    out: list[Inline] = []
    for inline in inlines:
        if isinstance(inline, Text) and out and isinstance(out[-1], Text):
            out[-1] = Text(out[-1].text + inline.text)
        else:
            out.append(inline)
    return out


def _literal_text(inlines: Sequence[Inline]) -> tuple[Inline, ...]:
    """Titles are not searched; literal spans just become text."""
    out: list[Inline] = []
    for inline in inlines:
        if isinstance(inline, Literal):
            out.append(Text(inline.text))
        elif isinstance(inline, (Strong, Emph, Underline, Superscript, Term)):
            out.append(type(inline)(_literal_text(inline.children)))
        else:
            out.append(inline)
    return tuple(out)


def _paths(blocks: Sequence[Block], prefix: tuple[int, ...]) -> list[tuple[int, ...]]:
    paths = []
    for index, (_list, _i, item) in enumerate(ordered_items(blocks)):
        path = (*prefix, index)
        paths.append(path)
        paths.extend(_paths(item.blocks, path))
    return paths


def find_fillins(document: Document, report: ImportReport) -> Document:
    """``document`` with blanks, parameters and references recognised (module docstring)."""
    finder = _Finder(document, report)
    return replace(
        document,
        title=tuple(_literal_text(line) for line in document.title),
        parts=tuple(finder.part(part) for part in document.parts),
    )
