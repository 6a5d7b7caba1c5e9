"""Hypothesis strategies for document trees: a reasonable subset that Markdown can carry.

Text is drawn from letters, digits, spaces and harmless punctuation (no Markdown syntax the
importer reads specially, so a generated text never spells a blank or a reference); lists use
the numberings pandoc writes natively; tables have at most one header row and no spans.
"""

from __future__ import annotations

from functools import cache

from hypothesis import strategies as st

from agreements.text.document.model import (
    Blank,
    BlankKind,
    Break,
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
    Param,
    Part,
    PartKind,
    Ref,
    Row,
    Series,
    Strong,
    Superscript,
    Table,
    Term,
    Text,
    Underline,
)

WORD = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éü",
    min_size=1,
    max_size=8,
)
PUNCT = st.sampled_from([",", ";", ":", "!", "?", "'", '"', "(", ")", "/", "%", "&", "–"])


@st.composite
def words(draw, min_size=1, max_size=6) -> str:
    parts = draw(
        st.lists(
            st.one_of(WORD, PUNCT.map(lambda p: p + "x")), min_size=min_size, max_size=max_size
        )
    )
    return " ".join(parts)


def texts():
    return words().map(Text)


@cache
def leaves(keys):
    options = [
        texts(),
        texts(),
        st.builds(
            Blank, st.sampled_from(list(BlankKind)), st.one_of(st.just(""), words(max_size=3))
        ),
        st.sampled_from(["retention_days", "district_name"]).map(Param),
    ]
    if keys:
        options.append(
            st.builds(
                Ref,
                st.sampled_from(keys),
                st.just(()),
                st.sampled_from(["Section", "Attachment", ""]),
            )
        )
    return st.one_of(*options)


@cache
def inline_runs(keys, depth=2):
    base = leaves(keys)
    if depth == 0:
        return st.lists(base, min_size=1, max_size=4)
    styled = st.one_of(
        *(
            st.lists(base, min_size=1, max_size=3).map(lambda c, k=k: k(tuple(c)))
            for k in (Strong, Emph, Underline, Term)
        ),
        # A superscript is a short word ("5^th^"): Markdown cannot hold links or spans in one.
        WORD.map(lambda w: Superscript((Text(w),))),
    )
    return st.lists(st.one_of(base, styled), min_size=1, max_size=5)


@cache
def paragraphs(keys):
    # A break only between two pieces of text: pandoc cannot write one at an edge.
    return st.tuples(inline_runs(keys), st.booleans(), inline_runs(keys)).map(
        lambda t: Paragraph(
            (Text("w "), *t[0], Break(), Text("v "), *t[2]) if t[1] else (Text("w "), *t[0])
        )
    )


NATIVE = [
    (pattern, fmt)
    for pattern in ("%1.", "%1)", "(%1)")
    for fmt in (
        NumberFormat.DECIMAL,
        NumberFormat.LOWER_LETTER,
        NumberFormat.UPPER_LETTER,
        NumberFormat.LOWER_ROMAN,
        NumberFormat.UPPER_ROMAN,
    )
]


@st.composite
def numberings(draw) -> Numbering:
    pattern, fmt = draw(st.sampled_from(NATIVE))
    letters = fmt in (NumberFormat.LOWER_LETTER, NumberFormat.UPPER_LETTER)
    roman = fmt in (NumberFormat.LOWER_ROMAN, NumberFormat.UPPER_ROMAN)
    # Markdown cannot tell a roman list starting at V or X from a letter list.
    start = draw(
        st.integers(1, 5 if letters else 12).filter(lambda n: not (roman and n in (5, 10)))
    )
    return Numbering(pattern, (fmt,), start)


@cache
def blocks(keys, depth=2):
    para = paragraphs(keys)
    if depth == 0:
        return st.lists(para, min_size=1, max_size=2)
    inner = blocks(keys, depth - 1)
    item = inner.map(lambda b: ListItem(tuple(b)))
    ordered = st.builds(
        OrderedList, st.lists(item, min_size=1, max_size=3).map(tuple), numberings()
    )
    bullets = st.lists(item, min_size=1, max_size=3).map(lambda i: BulletList(tuple(i)))
    cell = st.lists(para, min_size=0, max_size=2).map(lambda b: Cell(tuple(b)))
    table = st.integers(1, 3).flatmap(
        lambda n: st.builds(
            Table,
            st.lists(
                st.lists(cell, min_size=n, max_size=n).map(lambda c: Row(tuple(c))),
                min_size=1,
                max_size=3,
            ).map(tuple),
            st.integers(0, 1),
        )
    )
    indented = st.lists(para, min_size=1, max_size=2).map(lambda b: Indented(tuple(b)))
    # Paragraphs between the structures keep them apart as the source would.
    return st.lists(st.one_of(para, ordered, bullets, table, indented), min_size=1, max_size=4).map(
        lambda bs: [x for b in bs for x in (b, Paragraph((Text("and"),)))]
    )


SECTION_SERIES = [
    Numbering("%1.", (NumberFormat.UPPER_LETTER,)),
    Numbering("%1.", (NumberFormat.DECIMAL,)),
    Numbering("Article %1", (NumberFormat.UPPER_ROMAN,)),
]
ATTACHMENT_SERIES = [
    Numbering("ATTACHMENT %1:", (NumberFormat.UPPER_LETTER,)),
    Numbering("Exhibit %1", (NumberFormat.DECIMAL,)),
]


@st.composite
def documents(draw) -> Document:
    count = draw(st.integers(1, 3))
    kinds = [PartKind.SECTION] * count + draw(
        st.lists(st.sampled_from([PartKind.UNNUMBERED, PartKind.ATTACHMENT]), max_size=2)
    )
    keys = tuple(f"part-{index}" for index in range(len(kinds)))
    parts = []
    if draw(st.booleans()):
        parts.append(Part("preamble", PartKind.PREAMBLE, (), tuple(draw(blocks(keys, 1)))))
    for key, kind in zip(keys, kinds, strict=True):
        title = (Text(draw(words(max_size=4)).upper()),)
        parts.append(Part(key, kind, title, tuple(draw(blocks(keys, 1)))))
    title = tuple((Text(draw(words(max_size=4))),) for _ in range(draw(st.integers(0, 2))))
    return Document(
        title,
        tuple(parts),
        Series(draw(st.sampled_from(SECTION_SERIES))),
        Series(draw(st.sampled_from(ATTACHMENT_SERIES))),
    )
