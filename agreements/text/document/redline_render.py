"""Structured redlines as safe HTML, for the agreement pages and the PDFs.

Safe by construction, as :mod:`.html` is: every piece is a fixed tag written here or the output
of ``escape``/``format_html`` over the diff's text; nothing is ``mark_safe``'d.

The markup is :mod:`.html`'s (``static/css/document.css``: ``doc-list`` items with hanging
labels, ``doc-table``, ``indented``, blanks, parameters, references) inside
``<article class="document redline">``, plus (``static/css/redline-structure.css``):

- word changes as ``<ins class="redline-ins">`` / ``<del class="redline-del">`` with a visually
  hidden ``[inserted: …]`` / ``[deleted: …]`` cue, as :mod:`agreements.text.redline_html`
  writes them; a change of white space alone shows ``·`` (a space) or ``¶`` (a line break);
- elements inserted, deleted or moved carry the class ``inserted``, ``deleted``,
  ``moved moved-from`` or ``moved moved-to`` (parts: ``<section class="part … inserted">``;
  items: ``<li class="inserted">``; rows: ``<tr class="deleted">``; paragraphs, lists, tables
  and indented passages likewise), and their text is all ``<ins>`` or ``<del>`` (text where a
  moved element was: ``<del class="redline-del redline-moved">``). Parts with changes inside
  carry ``changed``;
- every element of change N has ``data-change="N"``; the first has ``id="{id_prefix}N"``
  (where a moved element was: ``{id_prefix}N-from``), so a page can step from change to
  change. A part's heading carries its change's id; the part itself keeps
  ``id="{id_prefix}part-KEY"`` for references;
- both ends of a move link to each other (``<a class="move-note">moved to (d)</a>``). Where a
  whole part moved, its old place shows the heading and that link, not the clause again;
- given an ``author`` (a party's proposal shown as tracked changes), every mark names it in
  its cue, ``aria-label`` and ``title`` ("inserted by Northfield University"), and the wrapper
  carries ``party--PARTY`` so the party's colour applies: the name is never in colour alone;
- given ``param_labels``, a parameter's filled value says which term it is (``title``,
  "Term: Breach notice window").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from itertools import groupby

from django.utils.html import escape
from django.utils.safestring import SafeString

from agreements.text.document.docx_inlines import MARK_ORDER
from agreements.text.document.html import column_widths
from agreements.text.document.model import Blank, Break, Param, Ref
from agreements.text.document.redline import (
    BlockDiff,
    BlocksDiff,
    DocumentDiff,
    IndentedDiff,
    ItemDiff,
    ListDiff,
    ParagraphDiff,
    PartDiff,
    RowDiff,
    Span,
    Status,
    TableDiff,
    TextDiff,
)
from collaboratory.safe_html import html_concat, html_format

__all__ = ["redline_html"]

_STATUS_CLASSES = {
    Status.UNCHANGED: (),
    Status.CHANGED: (),
    Status.INSERTED: ("inserted",),
    Status.DELETED: ("deleted",),
    Status.MOVED_FROM: ("moved", "moved-from"),
    Status.MOVED_TO: ("moved", "moved-to"),
}
_MARK_TAGS = {
    "strong": (SafeString("<strong>"), SafeString("</strong>")),
    "emph": (SafeString("<em>"), SafeString("</em>")),
    "underline": (SafeString("<u>"), SafeString("</u>")),
    "superscript": (SafeString("<sup>"), SafeString("</sup>")),
    "term": (SafeString('<span class="term">'), SafeString("</span>")),
}
_CHANGE_TAGS = {
    "insert": ("ins", "redline-ins", "inserted"),
    "delete": ("del", "redline-del", "deleted"),
}
_NEWLINE_RE = re.compile(r"\r\n?|\n")
_EMPTY = SafeString("")


#: Concatenate pieces that are each already safe (escaped text or fixed tags).
_join = html_concat


class _Renderer:
    def __init__(
        self,
        id_prefix: str,
        params: Mapping[str, str] | None,
        part_keys: frozenset[str],
        author: str = "",
        param_labels: Mapping[str, str] | None = None,
    ) -> None:
        self.id_prefix = id_prefix
        self.params = params or {}
        self.author = author
        self.param_labels = param_labels or {}
        self.part_keys = part_keys
        self.anchored: set[str] = set()
        self.moved_from: set[int] = set()  # change numbers of moves, for their old text
        self.noted: set[tuple[int, Status]] = set()

    # -- change attributes --------------------------------------------------------------------

    def _anchor(self, change: int, status: Status | None = None) -> str | None:
        name = f"{change}-from" if status is Status.MOVED_FROM else str(change)
        if name in self.anchored:
            return None
        self.anchored.add(name)
        return f"{self.id_prefix}{name}"

    def change_attributes(
        self, status: Status, change: int | None, classes: tuple[str, ...] = ()
    ) -> SafeString:
        names = (*classes, *_STATUS_CLASSES[status])
        pieces = [html_format(' class="{}"', " ".join(names))] if names else []
        if change is not None:
            anchor = self._anchor(change, status)
            if anchor is not None:
                pieces.append(html_format(' id="{}"', anchor))
            pieces.append(html_format(' data-change="{}"', change))
        return _join(pieces)

    def move_note(self, status: Status, change: int | None, label: str) -> SafeString:
        """The link to a move's other end, on the outermost element of each end only."""
        if change is None or status not in (Status.MOVED_FROM, Status.MOVED_TO):
            return _EMPTY
        if (change, status) in self.noted:
            return _EMPTY
        self.noted.add((change, status))
        if status is Status.MOVED_FROM:
            other = str(change)
            where = "above" if other in self.anchored else "below"
            text = f"moved to {label}" if label else f"moved {where}"
        else:
            other = f"{change}-from"
            where = "above" if other in self.anchored else "below"
            text = f"moved from {label}" if label else f"moved from {where}"
        return html_format(' <a class="move-note" href="#{}{}">{}</a>', self.id_prefix, other, text)

    # -- text ---------------------------------------------------------------------------------

    def text(self, diff: TextDiff) -> SafeString:
        pieces: list[SafeString] = []
        for (kind, change), group in groupby(diff.spans, key=lambda s: (s.kind, s.change)):
            spans = list(group)
            if kind == "equal" or change is None:
                pieces.extend(self.span(span) for span in spans)
                continue
            plain = "".join(span.text for span in spans)
            if plain.isspace() and all(span.atom is None for span in spans):
                content = escape("¶" if _NEWLINE_RE.search(plain) else "·")
            else:
                content = _join(self.span(span) for span in spans)
            pieces.append(self.mark(kind, change, content))
        return _join(pieces)

    def mark(self, kind: str, change: int, content: SafeString) -> SafeString:
        tag, css, cue = _CHANGE_TAGS[kind]
        if kind == "delete" and change in self.moved_from:
            css, cue = f"{css} redline-moved", "moved from here"
        anchor = self._anchor(change, Status.MOVED_FROM if change in self.moved_from else None)
        ident = html_format(' id="{}"', anchor) if anchor is not None else _EMPTY
        if self.author:
            cue = f"{cue} by {self.author}"
            ident = html_format('{} title="{}"', ident, cue[:1].upper() + cue[1:])
        return html_format(
            '<{} class="{}" aria-label="{}"{} data-change="{}">'
            '<span class="visually-hidden">[{}: </span>{}<span class="visually-hidden">]</span>'
            "</{}>",
            tag,
            css,
            cue,
            ident,
            change,
            cue,
            content,
            tag,
        )

    def span(self, span: Span) -> SafeString:
        atom = span.atom
        if isinstance(atom, Break):
            return SafeString("<br>")
        if isinstance(atom, Blank):
            content = html_format(
                '<span class="blank" data-kind="{}">{}</span>', atom.kind.value, atom.prompt
            )
        elif isinstance(atom, Param):
            value = self.params.get(atom.name, f"[[{atom.name}]]")
            label = self.param_labels.get(atom.name)
            if label:
                content = html_format(
                    '<span class="param" data-name="{}" title="Term: {}">{}</span>',
                    atom.name,
                    label,
                    value,
                )
            else:
                content = html_format(
                    '<span class="param" data-name="{}">{}</span>', atom.name, value
                )
        elif isinstance(atom, Ref):
            if span.kind != "delete" and atom.target in self.part_keys:
                content = html_format(
                    '<a class="ref" href="#{}part-{}">{}</a>',
                    self.id_prefix,
                    atom.target,
                    span.text,
                )
            else:
                content = html_format('<span class="ref">{}</span>', span.text)
        else:
            content = escape(span.text)
        for mark in reversed(MARK_ORDER):
            if mark in span.marks:
                opening, closing = _MARK_TAGS[mark]
                content = _join((opening, content, closing))
        return content

    # -- blocks -------------------------------------------------------------------------------

    def blocks(self, blocks: Iterable[BlockDiff]) -> SafeString:
        return _join(self.block(block) for block in blocks)

    def block(self, block: BlockDiff) -> SafeString:
        if block.status is Status.MOVED_FROM and block.change is not None:
            self.moved_from.add(block.change)
        match block:
            case ParagraphDiff():
                attributes = self.change_attributes(block.status, block.change)
                text = self.text(block.text)
                note = self.move_note(block.status, block.change, "")
                return html_format("<p{}>{}{}</p>", attributes, text, note)
            case ListDiff():
                tag, css = ("ol", "doc-list") if block.ordered else ("ul", "doc-bullets")
                attributes = self.change_attributes(block.status, block.change, (css,))
                items = _join(self.item(item, block.ordered) for item in block.items)
                return html_format("<{}{}>{}</{}>", tag, attributes, items, tag)
            case TableDiff():
                return self.table(block)
            case IndentedDiff():
                attributes = self.change_attributes(block.status, block.change, ("indented",))
                return html_format("<div{}>{}</div>", attributes, self.blocks(block.blocks))
        raise TypeError(f"not a block diff: {block!r}")

    def item(self, item: ItemDiff, ordered: bool) -> SafeString:
        if item.status is Status.MOVED_FROM and item.change is not None:
            self.moved_from.add(item.change)
        attributes = self.change_attributes(item.status, item.change)
        note = self.move_note(item.status, item.change, item.moved_label)
        label = html_format('<span class="label">{}</span>', item.label) if ordered else _EMPTY
        return html_format(
            '<li{}>{}<div class="item-body">{}{}</div></li>',
            attributes,
            label,
            self.blocks(item.blocks),
            note,
        )

    def table(self, table: TableDiff) -> SafeString:
        attributes = self.change_attributes(table.status, table.change, ("doc-table",))
        cols = column_widths(table.widths)
        head, body = table.rows[: table.header_rows], table.rows[table.header_rows :]
        sections = []
        if head:
            sections.append(html_format("<thead>{}</thead>", self.rows(head, "th")))
        if body:
            sections.append(html_format("<tbody>{}</tbody>", self.rows(body, "td")))
        colgroup = html_format("<colgroup>{}</colgroup>", cols) if cols else _EMPTY
        return html_format("<table{}>{}{}</table>", attributes, colgroup, _join(sections))

    def rows(self, rows: Iterable[RowDiff], tag: str) -> SafeString:
        out = []
        for row in rows:
            if row.status is Status.MOVED_FROM and row.change is not None:
                self.moved_from.add(row.change)
            attributes = self.change_attributes(row.status, row.change)
            note = self.move_note(row.status, row.change, "")
            cells = []
            for index, cell in enumerate(row.cells):
                spans = _join(
                    html_format(' {}="{}"', name, value)
                    for name, value in (("colspan", cell.colspan), ("rowspan", cell.rowspan))
                    if value != 1
                )
                content = _join((self.blocks(cell.blocks), note if index == 0 else _EMPTY))
                cells.append(html_format("<{}{}>{}</{}>", tag, spans, content, tag))
            out.append(html_format("<tr{}>{}</tr>", attributes, _join(cells)))
        return _join(out)

    # -- parts --------------------------------------------------------------------------------

    def part(self, part: PartDiff) -> SafeString:
        moved_away = part.status is Status.MOVED_FROM
        if moved_away and part.change is not None:
            self.moved_from.add(part.change)
        classes = ["part", f"part--{part.kind.value}", "redline-part"]
        classes.extend(_STATUS_CLASSES[part.status])
        if part.status is Status.CHANGED:
            classes.append("changed")
        heading_attributes = _EMPTY
        if part.change is not None:
            anchor = self._anchor(part.change, part.status)
            heading_attributes = _join(
                [
                    html_format(' id="{}"', anchor) if anchor else _EMPTY,
                    html_format(' data-change="{}"', part.change),
                ]
            )
        note = self.move_note(part.status, part.change, part.moved_label)
        heading = _EMPTY
        if part.label or part.title.spans or note:
            label = (
                html_format('<span class="label">{}</span> ', part.label) if part.label else _EMPTY
            )
            heading = html_format(
                '<h2 class="part-heading"{}>{}{}{}</h2>',
                heading_attributes,
                label,
                self.text(part.title),
                note,
            )
        elif part.change is not None:  # an untitled preamble inserted or deleted
            heading = html_format('<span class="change-anchor"{}></span>', heading_attributes)
        ident = _EMPTY if moved_away else html_format(' id="{}part-{}"', self.id_prefix, part.key)
        body = _EMPTY if moved_away else self.blocks(part.blocks)
        return html_format(
            '<section class="{}"{}>{}{}</section>', " ".join(classes), ident, heading, body
        )


def redline_html(
    diff: DocumentDiff | PartDiff | BlocksDiff,
    *,
    id_prefix: str = "chg-",
    params: Mapping[str, str] | None = None,
    author: str = "",
    party: str = "",
    param_labels: Mapping[str, str] | None = None,
) -> SafeString:
    """Safe HTML of a structured redline (module docstring). ``id_prefix`` starts every id
    (pages showing several redlines pass one each); ``params`` fills parameters by name and
    ``param_labels`` names the term each one is; ``author`` names whose changes these are on
    every mark, and ``party`` (a CSS-safe word) gives the wrapper ``party--PARTY``."""
    if isinstance(diff, DocumentDiff):
        keys = frozenset(
            part.key
            for part in diff.parts
            if part.status not in (Status.DELETED, Status.MOVED_FROM)
        )
    elif isinstance(diff, PartDiff):
        keys = frozenset({diff.key})
    else:
        keys = frozenset()
    renderer = _Renderer(id_prefix, params, keys, author, param_labels)
    wrapper = f"document redline party--{party}" if party else "document redline"
    if isinstance(diff, PartDiff):
        return html_format('<div class="{}">{}</div>', wrapper, renderer.part(diff))
    if isinstance(diff, BlocksDiff):
        return html_format('<div class="{}">{}</div>', wrapper, renderer.blocks(diff.blocks))
    lines = renderer.blocks(diff.title)
    title = (
        html_format('<header class="document-title">{}</header>', lines) if diff.title else _EMPTY
    )
    parts = _join(renderer.part(part) for part in diff.parts)
    return html_format('<article class="document redline">{}{}</article>', title, parts)
