"""The canonical serialisation: fixed form, normalisation, validation, round trip."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings

from agreements.text.document.canonical import from_json, normalise, sha256, to_json
from agreements.text.document.model import (
    Blank,
    BlankKind,
    Break,
    Cell,
    Document,
    Emph,
    ListItem,
    NumberFormat,
    Numbering,
    OrderedList,
    Paragraph,
    Part,
    PartKind,
    Row,
    Strong,
    Table,
    Text,
    Underline,
)

from .strategies import documents


def para(*inlines) -> Paragraph:
    return Paragraph(tuple(inlines))


def test_it_writes_compact_json_with_the_tag_first_and_every_field():
    document = Document(parts=(Part("purpose", PartKind.SECTION, (Text("PURPOSE"),)),))
    text = to_json(document)
    assert text.startswith('{"t":"document","v":1,"title":[],"parts":[{"t":"part","key":"purpose"')
    assert '"label":null,"generated":""' in text
    assert ", " not in text and ": " not in text
    assert list(json.loads(text)) == ["t", "v", "title", "parts", "sections", "attachments"]


def test_it_keeps_non_ascii_as_itself_in_nfc():
    decomposed = "Cafe\u0301 « data »"
    text = to_json((para(Text(decomposed)),))
    assert "Café « data »" in text and "\\u" not in text


def test_it_normalises_text_runs_and_styles():
    blocks = (
        para(
            Text("  A "),
            Text("b\r\nc  "),
            Strong((Text(" bold "),)),
            Strong((Text("more"),)),
            Strong((Text("!"),)),
            Emph(()),
            Text("end\t"),
        ),
    )
    (paragraph,) = normalise(blocks)
    assert paragraph.inlines == (
        Text("A b"),
        Break(),
        Text("c "),
        Strong((Text("bold"),)),
        Text(" "),
        Strong((Text("more!"),)),
        Text("end"),
    )


def test_it_drops_empty_containers_but_keeps_items_cells_and_parts():
    blocks = (
        para(Text("   ")),
        OrderedList(()),
        OrderedList((ListItem(()),)),
        Table((Row((Cell(()), Cell((para(Text("x")),)))), Row(())), header_rows=5),
    )
    assert normalise(blocks) == (
        OrderedList((ListItem(()),)),
        Table((Row((Cell(()), Cell((para(Text("x")),)))),), header_rows=0),
    )


def test_a_styled_run_around_one_blank_is_the_blank():
    (paragraph,) = normalise(
        (para(Text("on "), Emph((Underline((Blank(BlankKind.DATE, "date"),)),))),)
    )
    assert paragraph.inlines == (Text("on "), Blank(BlankKind.DATE, "date"))


def test_headings_lose_the_bold_that_covers_them():
    part = normalise(Part("a", PartKind.SECTION, (Strong((Text("PURPOSE"),)),)))
    assert part.title == (Text("PURPOSE"),)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("{", "$: not valid JSON"),
        (
            '{"t":"document","parts":[{"t":"part","key":"Bad Key","kind":"section"}]}',
            "$.parts[0].key",
        ),
        (
            '[{"t":"paragraph","inlines":[{"t":"bogus"}]}]',
            "$[0].inlines[0]: unknown inline type 'bogus'",
        ),
        (
            '[{"t":"paragraph","inlines":[{"t":"text","text":1}]}]',
            "$[0].inlines[0].text: expected a string",
        ),
        ('[{"t":"paragraph","inlines":[{"t":"text","text":"a","x":1}]}]', "unknown key 'x'"),
        ('[{"t":"paragraph"}]', "$[0]: missing key 'inlines'"),
        ('[{"t":"table","rows":[],"header_rows":-1}]', "$[0].header_rows"),
        ('[{"t":"table","rows":[],"header_rows":true}]', "$[0].header_rows"),
        (
            '[{"t":"paragraph","inlines":[{"t":"blank","kind":"colour"}]}]',
            "$[0].inlines[0].kind: unknown value 'colour'",
        ),
        (
            '[{"t":"paragraph","inlines":[{"t":"param","name":"Not A Name"}]}]',
            "$[0].inlines[0].name",
        ),
        ('[{"t":"paragraph","inlines":[{"t":"text","text":"\\u0000"}]}]', "control characters"),
        (
            '[{"t":"ordered_list","items":[],"numbering":{"pattern":"%1.","formats":["greek"]}}]',
            "formats[0]",
        ),
        ('[{"t":"table","rows":[],"widths":[1e999]}]', "$[0].widths[0]"),
        ('{"t":"document","v":2}', "$.v: unsupported version"),
        (
            '{"t":"document","parts":[{"t":"part","key":"a","kind":"section"},'
            '{"t":"part","key":"a","kind":"section"}]}',
            "$.parts[1].key: duplicate part key 'a'",
        ),
        ("[" * 100 + "]" * 100, "$"),
        ('{"t":"paragraph","inlines":[]}', "unknown document or part type 'paragraph'"),
    ],
)
def test_it_refuses_malformed_input_naming_the_path(text, path):
    with pytest.raises(ValueError) as error:
        from_json(text)
    assert path in str(error.value)


def test_deep_nesting_is_refused_not_a_crash():
    nested = '{"t":"strong","children":[' * 80 + '{"t":"text","text":"x"}' + "]}" * 80
    with pytest.raises(ValueError, match="nested deeper"):
        from_json(f'[{{"t":"paragraph","inlines":[{nested}]}}]')


def test_the_hash_is_of_the_canonical_bytes():
    blocks = (para(Text("a  b")),)
    assert sha256(blocks) == sha256((para(Text("a b")),))
    assert sha256(blocks) != sha256((para(Text("a c")),))
    assert len(sha256(blocks)) == 64


def test_a_part_and_blocks_round_trip_alone():
    part = Part(
        "terms",
        PartKind.ATTACHMENT,
        (Text("Terms"),),
        (
            OrderedList(
                (ListItem((para(Text("x")),), "1.2."),),
                Numbering("1.%1.", (NumberFormat.DECIMAL,), 0),
            ),
        ),
        label="Annex 9",
    )
    assert from_json(to_json(part)) == normalise(part)
    assert from_json(to_json(part.blocks)) == normalise(part.blocks)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_from_json_of_to_json_is_the_normalised_tree(document):
    assert from_json(to_json(document)) == normalise(document)
    assert normalise(normalise(document)) == normalise(document)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), documents())
def test_memoised_parts_write_the_same_bytes_as_a_fresh_process(first, second):
    """normalise and to_json keep a part's blocks by identity (agreements.text.document.memo):
    a document that shares part objects with another, written after it, reads exactly as it
    does in a process that never saw the other."""
    from agreements.text.document import canonical
    from agreements.text.document import normalise as normalise_module

    def fresh(document):
        canonical._PART_BLOCK.clear()
        normalise_module._PART_BLOCK.clear()
        return to_json(document)

    mixed = Document(second.title, (*first.parts[:1], *second.parts), second.sections)
    expected = [fresh(first), fresh(mixed), fresh(second)]
    canonical._PART_BLOCK.clear()
    normalise_module._PART_BLOCK.clear()
    # Written one after the other, the second and third reuse the first's entries.
    assert [to_json(first), to_json(mixed), to_json(second)] == expected
    assert [to_json(first), to_json(mixed), to_json(second)] == expected
