"""A document tree as safe HTML, for the agreement pages and the PDFs.

Safe by construction: every piece of the result is either a fixed tag written in this module or
the output of ``django.utils.html.escape``/``format_html`` over the tree's text, so the result
is a ``SafeString`` without ``mark_safe`` ever seeing user text. Nothing in the tree is HTML.

Markup (styles in ``static/css/document.css``):

- a document is ``<article class="document">``, its title ``<header class="document-title">``
  with one ``<p>`` per line, each part ``<section class="part part--KIND" id="part-KEY">``
  with ``<h2 class="part-heading"><span class="label">A.</span> TITLE</h2>`` (no heading for
  an untitled preamble);
- ordered lists are ``<ol class="doc-list">`` whose items carry their computed label, for a
  hanging indent without tables: ``<li id="part-KEY-item-1-2"><span class="label">(c)</span>
  <div class="item-body">...</div></li>`` (the id is the item's ``Ref.item`` path);
- tables are real tables, header rows in ``<thead>`` as ``<th>``, widths as ``<col>``;
- ``<strong>``, ``<em>``, ``<u>``, ``<sup>``; defined terms ``<span class="term">``;
- a blank is ``<span class="blank" data-kind="date">date</span>`` showing its prompt;
- a reference is ``<a class="ref" href="#part-KEY">Section C</a>`` with the target's current
  label (``<span class="ref ref--missing">`` when the target is gone);
- a parameter is ``<span class="param" data-name="NAME">VALUE</span>``, its value when given.

A page or a PDF that shows every part renders them with one :class:`HtmlRenderer` (one
resolver for the whole document); ``text`` hooks let a page mark up words inside the text (the
glossary) while every character still goes through ``escape``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from django.utils.safestring import SafeString

from agreements.text.document.model import (
    Blank,
    Block,
    Break,
    BulletList,
    Document,
    Emph,
    Indented,
    Inline,
    OrderedList,
    Paragraph,
    Param,
    Part,
    Ref,
    Strong,
    Superscript,
    Table,
    Term,
    Text,
    Underline,
)
from agreements.text.document.plain import ref_text
from agreements.text.document.resolver import Resolver, list_labels
from collaboratory.safe_html import escape_text, html_concat, html_format

_STYLE_TAGS: dict[type, tuple[SafeString, SafeString]] = {
    Strong: (SafeString("<strong>"), SafeString("</strong>")),
    Emph: (SafeString("<em>"), SafeString("</em>")),
    Underline: (SafeString("<u>"), SafeString("</u>")),
    Superscript: (SafeString("<sup>"), SafeString("</sup>")),
    Term: (SafeString('<span class="term">'), SafeString("</span>")),
}


def column_widths(widths: Sequence[float]) -> SafeString:
    """``<col>`` elements for a table's relative column widths, as classes ``col-w5`` ..
    ``col-w100`` (steps of 5%, in document.css): pages forbid inline styles (CSP)."""
    total = sum(widths)
    if total <= 0:
        return SafeString("")
    return _join(
        html_format('<col class="col-w{}">', min(100, max(5, round(20 * width / total) * 5)))
        for width in widths
    )


#: Concatenate pieces that are each already safe (escaped text or fixed tags).
_join = html_concat


#: Turns a run of plain text into safe HTML; the default is ``escape``. A hook must escape every
#: character it is given and may add only fixed markup of its own (the glossary's terms).
TextHook = Callable[[str], SafeString]


# Rough advance widths in em of a serif face, enough to tell a label that fits the hanging
# indent ("(a)", "12.", "(iv)") from one that needs more room ("7.2(c)", "Article 12").
_NARROW = frozenset("ijlI1.,:;()[]' ")


def _label_em(label: str) -> float:
    return sum(0.3 if c in _NARROW else 0.75 if c.isupper() else 0.55 for c in label)


def _list_class(labels: Iterable[str]) -> str:
    """``doc-list``, with ``--wide`` or ``--wider`` when its longest label needs a deeper
    hanging indent (document.css), so a label never runs into its text."""
    widest = max((_label_em(label) for label in labels), default=0.0)
    if widest > 4.4:
        return "doc-list doc-list--wider"
    if widest > 2.6:
        return "doc-list doc-list--wide"
    return "doc-list"


class HtmlRenderer:
    """Safe HTML of the parts of one document, labels and references resolved once for all.

    ``params`` fills parameters by name; ``id_prefix`` starts every id and reference target
    (``part-`` gives ``part-KEY`` and ``part-KEY-item-1-2``).
    """

    def __init__(
        self,
        document: Document | None,
        *,
        params: Mapping[str, str] | None = None,
        id_prefix: str = "part-",
    ) -> None:
        self.document = document
        self.resolver = Resolver(document) if document is not None else None
        self.params = params or {}
        self.id_prefix = id_prefix
        self.text: TextHook = escape_text

    # --- public views ---

    def title(self) -> SafeString:
        """The document's title lines as ``<header class="document-title">`` ("" for none)."""
        if self.document is None or not self.document.title:
            return SafeString("")
        lines = _join(html_format("<p>{}</p>", self.inlines(line)) for line in self.document.title)
        return html_format('<header class="document-title">{}</header>', lines)

    def part(self, part: Part, *, text: TextHook | None = None) -> SafeString:
        """A part as ``<section>`` with its heading (label and title) and its body."""
        with self._hook(text):
            return self._part(part)

    def heading(self, part: Part, *, text: TextHook | None = None) -> SafeString:
        """A part's title alone (its inlines, no label, no tag)."""
        with self._hook(text):
            return self.inlines(part.title)

    def body(self, part: Part, *, text: TextHook | None = None) -> SafeString:
        """A part's blocks without its heading: item ids and labels as in the whole document,
        for pages that lay out the heading themselves."""
        with self._hook(text):
            return self.blocks(part.blocks, part.key, self._chain(part.key), ())

    def loose_blocks(self, blocks: Sequence[Block], *, text: TextHook | None = None) -> SafeString:
        """Blocks that are no part of the document (a proposal's text): references resolve
        against the document, list items get no ids."""
        with self._hook(text):
            return self.blocks(blocks, None, (), ())

    def whole(self) -> SafeString:
        """The whole document as ``<article class="document">``."""
        parts = _join(self._part(part) for part in self.document.parts) if self.document else ""
        return html_format('<article class="document">{}{}</article>', self.title(), parts)

    @contextmanager
    def _hook(self, text: TextHook | None) -> Iterator[None]:
        previous = self.text
        self.text = text or escape_text
        try:
            yield
        finally:
            self.text = previous

    def _chain(self, key: str) -> tuple[int, ...]:
        return self.resolver.chain(key) if self.resolver is not None else ()

    def anchor(self, key: str, path: Sequence[int] = ()) -> str:
        if not path:
            return f"{self.id_prefix}{key}"
        return f"{self.id_prefix}{key}-item-" + "-".join(str(index) for index in path)

    # --- inlines ---

    def inlines(self, inlines: Sequence[Inline]) -> SafeString:
        return _join(self.inline(inline) for inline in inlines)

    def inline(self, inline: Inline) -> SafeString:
        match inline:
            case Text():
                return self.text(inline.text)
            case Break():
                return SafeString("<br>")
            case Strong() | Emph() | Underline() | Superscript() | Term():
                opening, closing = _STYLE_TAGS[type(inline)]
                return _join((opening, self.inlines(inline.children), closing))
            case Blank():
                return html_format(
                    '<span class="blank" data-kind="{}">{}</span>',
                    inline.kind.value,
                    inline.prompt,
                )
            case Param():
                value = self.params.get(inline.name, f"[[{inline.name}]]")
                return html_format(
                    '<span class="param" data-name="{}">{}</span>', inline.name, value
                )
            case Ref():
                return self.ref(inline)
        raise TypeError(f"not an inline: {inline!r}")

    def ref(self, ref: Ref) -> SafeString:
        text = self.resolver.ref_text(ref) if self.resolver is not None else None
        if text is None:
            return html_format('<span class="ref ref--missing">{}</span>', ref_text(ref, None))
        return html_format(
            '<a class="ref" href="#{}">{}</a>', self.anchor(ref.target, ref.item), text
        )

    # --- blocks ---

    def blocks(
        self,
        blocks: Sequence[Block],
        key: str | None,
        chain: tuple[int, ...],
        path: tuple[int, ...],
    ) -> SafeString:
        """``path`` is the Ref.item path of the enclosing item; ``position`` counts the ordered
        items under it across lists and indented passages, as resolver.ordered_items does."""
        position = [0]
        return self._blocks(blocks, key, chain, path, position)

    def _blocks(
        self,
        blocks: Sequence[Block],
        key: str | None,
        chain: tuple[int, ...],
        path: tuple[int, ...],
        position: list[int],
    ) -> SafeString:
        pieces: list[SafeString] = []
        for block in blocks:
            match block:
                case Paragraph():
                    pieces.append(html_format("<p>{}</p>", self.inlines(block.inlines)))
                case OrderedList():
                    pieces.append(self.ordered(block, key, chain, path, position))
                case BulletList():
                    items = (
                        html_format(
                            '<li><div class="item-body">{}</div></li>',
                            self.blocks(item.blocks, key, chain, path),
                        )
                        for item in block.items
                    )
                    pieces.append(html_format('<ul class="doc-bullets">{}</ul>', _join(items)))
                case Table():
                    pieces.append(self.table(block, key))
                case Indented():
                    inner = self._blocks(block.blocks, key, chain, path, position)
                    pieces.append(html_format('<div class="indented">{}</div>', inner))
        return _join(pieces)

    def ordered(
        self,
        block: OrderedList,
        key: str | None,
        chain: tuple[int, ...],
        path: tuple[int, ...],
        position: list[int],
    ) -> SafeString:
        items: list[SafeString] = []
        labels = list_labels(block, chain)
        for item, (label, own) in zip(block.items, labels, strict=True):
            here = (*path, position[0])
            position[0] += 1
            body = self.blocks(item.blocks, key, own, here)
            if key is None:
                opening = SafeString("<li>")
            else:
                opening = html_format('<li id="{}">', self.anchor(key, here))
            items.append(
                html_format(
                    '{}<span class="label">{}</span><div class="item-body">{}</div></li>',
                    opening,
                    label,
                    body,
                )
            )
        return html_format(
            '<ol class="{}">{}</ol>', _list_class(label for label, _ in labels), _join(items)
        )

    def table(self, table: Table, key: str | None) -> SafeString:
        cols = column_widths(table.widths)
        head, body = table.rows[: table.header_rows], table.rows[table.header_rows :]
        sections = []
        if head:
            sections.append(html_format("<thead>{}</thead>", self.rows(head, "th", key)))
        if body:
            sections.append(html_format("<tbody>{}</tbody>", self.rows(body, "td", key)))
        colgroup = html_format("<colgroup>{}</colgroup>", cols) if cols else SafeString("")
        return html_format('<table class="doc-table">{}{}</table>', colgroup, _join(sections))

    def rows(self, rows: Sequence, tag: str, key: str | None) -> SafeString:
        out = []
        for row in rows:
            cells = []
            for cell in row.cells:
                spans = _join(
                    html_format(' {}="{}"', name, value)
                    for name, value in (("colspan", cell.colspan), ("rowspan", cell.rowspan))
                    if value != 1
                )
                cells.append(
                    html_format(
                        "<{}{}>{}</{}>",
                        tag,
                        spans,
                        self.blocks(cell.blocks, key, (), ()),
                        tag,
                    )
                )
            out.append(html_format("<tr>{}</tr>", _join(cells)))
        return _join(out)

    # --- parts ---

    def _part(self, part: Part) -> SafeString:
        label = self.resolver.part_label(part.key) if self.resolver else (part.label or "")
        heading = SafeString("")
        if label or part.title:
            label_html = (
                html_format('<span class="label">{}</span> ', label) if label else SafeString("")
            )
            heading = html_format(
                '<h2 class="part-heading">{}{}</h2>', label_html, self.inlines(part.title)
            )
        return html_format(
            '<section class="part part--{}" id="{}">{}{}</section>',
            part.kind.value,
            self.anchor(part.key),
            heading,
            self.blocks(part.blocks, part.key, self._chain(part.key), ()),
        )


def render_html(
    tree: Document | Part | Sequence[Block],
    document: Document | None = None,
    *,
    params: Mapping[str, str] | None = None,
    id_prefix: str = "part-",
) -> SafeString:
    """Safe HTML of a document, one part, or blocks (module docstring). Pass ``document``
    with a part or blocks so labels and references resolve as in that document; ``params``
    fills parameters by name; ``id_prefix`` keeps ids apart when two documents share a page."""
    if isinstance(tree, Document):
        document = tree
    renderer = HtmlRenderer(document, params=params, id_prefix=id_prefix)
    if isinstance(tree, Part):
        return renderer.part(tree)
    if not isinstance(tree, Document):
        return renderer.loose_blocks(tree)
    return renderer.whole()
