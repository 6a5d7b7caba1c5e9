"""Hypothesis trees for the Word round trip: what Markdown can carry (``strategies``) and more
that Word can: explicit labels out of sequence, outline numbering that shows the section's
counter ("7.2", "7.2(a)"), three-deep nesting, lists in table cells and indented passages,
tables in list items, merged cells, several header rows, relative widths, adjacent lists,
nested emphasis, empty list items."""

from __future__ import annotations

from functools import cache

from hypothesis import strategies as st

from agreements.text.document.docx_inlines import flatten, nest
from agreements.text.document.model import (
    Block,
    BulletList,
    Cell,
    Document,
    Emph,
    Indented,
    ListItem,
    NumberFormat,
    Numbering,
    OrderedList,
    Paragraph,
    Part,
    PartKind,
    Row,
    Series,
    Strong,
    Table,
    Text,
    Underline,
)
from tests.agreements.document.strategies import (
    ATTACHMENT_SERIES,
    SECTION_SERIES,
    inline_runs,
    numberings,
    words,
)

F = NumberFormat
OUTLINE = [  # numberings that show the section's counter, as decimal agreements do
    Numbering("%1.%2", (F.DECIMAL, F.DECIMAL)),
    Numbering("%1.%2.", (F.DECIMAL, F.DECIMAL)),
]
SUB = [
    Numbering("(%1)", (F.LOWER_LETTER,)),
    Numbering("(%1)", (F.LOWER_ROMAN,)),
    Numbering("%1.", (F.LOWER_LETTER,)),
    Numbering("%1)", (F.DECIMAL,), 0),
    Numbering("Step %1:", (F.UPPER_ROMAN,), 3),
]
LABELS = ["1.0.", "(z)", "7A", "Recital", "1.2."]


def canonical(inlines):
    """Nested emphasis as the Word reader rebuilds it (longest-running format outermost)."""
    return tuple(nest(flatten(inlines)))


@cache
def word_paragraphs(keys):
    nested = st.lists(
        st.one_of(
            inline_runs(keys, 1),
            inline_runs(keys, 1).map(lambda c: [Strong((Emph(tuple(c)), Text(" t")))]),
            inline_runs(keys, 1).map(lambda c: [Underline((Text("u "), Strong(tuple(c))))]),
        ),
        min_size=1,
        max_size=2,
    )
    return nested.map(
        lambda runs: Paragraph(canonical((Text("w "), *[i for r in runs for i in r])))
    )


def _items(inner, count=(1, 3)):
    item = st.tuples(inner, st.one_of(st.none(), st.none(), st.sampled_from(LABELS)))
    return st.lists(
        item.map(lambda t: ListItem(tuple(t[0]), t[1])), min_size=count[0], max_size=count[1]
    )


@cache
def word_blocks(keys, depth, outline):
    para = word_paragraphs(keys)
    if depth == 0:
        return st.lists(para, min_size=1, max_size=2)
    inner = word_blocks(keys, depth - 1, False)
    empty_or_inner = st.one_of(inner, inner, st.just([]))
    ordered = st.builds(
        OrderedList,
        _items(empty_or_inner).map(tuple),
        st.one_of(
            numberings(), st.sampled_from(SUB), *([st.sampled_from(OUTLINE)] if outline else [])
        ),
    )
    bullets = _items(inner).map(lambda items: BulletList(tuple(ListItem(i.blocks) for i in items)))
    table = _tables(keys)
    indented = st.lists(st.one_of(para, ordered), min_size=1, max_size=2).map(
        lambda b: Indented(tuple(b))
    )
    return st.lists(
        st.one_of(para, ordered, ordered, bullets, table, indented), min_size=1, max_size=4
    ).map(_apart)


def _apart(blocks: list[Block]) -> list[Block]:
    """An indented passage right after another, or after a list, reads as part of it in any
    word processor (and in our Markdown import): keep them apart with a paragraph."""
    out: list[Block] = []
    for block in blocks:
        if (
            out
            and isinstance(block, Indented)
            and isinstance(out[-1], (Indented, OrderedList, BulletList))
        ):
            out.append(Paragraph((Text("and"),)))
        out.append(block)
    return out


@st.composite
def _table(draw, keys) -> Table:
    columns = draw(st.integers(1, 3))
    rows_count = draw(st.integers(1, 4))
    taken: set[tuple[int, int]] = set()
    rows = []
    for r in range(rows_count):
        cells = []
        c = 0
        while c < columns:
            if (r, c) in taken:
                c += 1
                continue
            span = draw(st.integers(1, columns - c))
            free = all((r, c + k) not in taken for k in range(span))
            span = span if free else 1
            # Column 0 never spans rows, so no row is left without a cell of its own.
            down = draw(st.integers(1, rows_count - r)) if c else 1
            if any((r + d, c + k) in taken for d in range(down) for k in range(span)):
                down = 1
            for d in range(down):
                for k in range(span):
                    taken.add((r + d, c + k))
            blocks = draw(st.lists(st.one_of(word_paragraphs(keys), _cell_list(keys)), max_size=2))
            cells.append(Cell(tuple(blocks), span, down))
            c += span
        rows.append(Row(tuple(cells)))
    widths = draw(
        st.one_of(st.just(()), st.lists(st.floats(0.05, 1.0), min_size=columns, max_size=columns))
    )
    return Table(tuple(rows), draw(st.integers(0, min(2, rows_count))), tuple(widths))


def _cell_list(keys):
    return st.builds(
        OrderedList,
        _items(st.lists(word_paragraphs(keys), min_size=1, max_size=1)).map(tuple),
        numberings(),
    )


def _tables(keys):
    return _table(keys)


@st.composite
def word_documents(draw) -> Document:
    sections = draw(st.sampled_from(SECTION_SERIES))
    outline = sections.formats == (F.DECIMAL,)
    count = draw(st.integers(1, 3))
    kinds = [PartKind.SECTION] * count + draw(
        st.lists(
            st.sampled_from([PartKind.UNNUMBERED, PartKind.ATTACHMENT, PartKind.PREAMBLE]),
            max_size=2,
        )
    )
    keys = tuple(f"part-{index}" for index in range(len(kinds)))
    parts = []
    for key, kind in zip(keys, kinds, strict=True):
        title = () if kind is PartKind.PREAMBLE else (Text(draw(words(max_size=4)).upper()),)
        label = None
        if kind in (PartKind.SECTION, PartKind.ATTACHMENT) and draw(st.integers(0, 5)) == 0:
            label = draw(st.sampled_from(["1.0.", "Z.", "Article 9"]))
        blocks: list[Block] = draw(word_blocks(keys, 2, outline and kind is PartKind.SECTION))
        parts.append(Part(key, kind, title, tuple(blocks), label))
    title = tuple((Text(draw(words(max_size=4))),) for _ in range(draw(st.integers(0, 2))))
    return Document(
        title, tuple(parts), Series(sections), Series(draw(st.sampled_from(ATTACHMENT_SERIES)))
    )
