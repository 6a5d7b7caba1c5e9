"""Text as it enters (``agreements.text.entry``): one normal form, and it never changes what
a Markdown text says. "Reads the same" is pandoc's reading, the reader every clause body goes
through; a hard break at the very end of a paragraph or list item is dropped by the canonical
form, so readings are compared without it."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreements.text.document.fragments import parse_body
from agreements.text.document.markdown_import import READER, run_pandoc
from agreements.text.document.model import Break, Paragraph
from agreements.text.entry import normalise_plain_text, normalise_text

ROOT = Path(__file__).resolve().parents[3]
STANDARDS = sorted((ROOT / "agreements" / "demo").glob("standard_dsa_v*.md"))


def _trim(node: object) -> object:
    if isinstance(node, list):
        items = [_trim(item) for item in node]
        while items and items[-1] == {"t": "LineBreak"}:
            items.pop()
        return items
    if isinstance(node, dict):
        return {key: _trim(value) for key, value in node.items()}
    return node


def _reading(text: str) -> object:
    ast = json.loads(run_pandoc(text, reader=f"{READER}-raw_html", writer="json"))
    return _trim(ast["blocks"])


def _reads_the_same(text: str) -> bool:
    return _reading(unicodedata.normalize("NFC", text)) == _reading(normalise_text(text))


@pytest.mark.parametrize("normalise", [normalise_text, normalise_plain_text])
def test_line_endings_become_lf_the_text_nfc_and_no_line_ends_in_a_space(normalise):
    assert normalise("One.\r\n\r\nTwo.\rThree.\n") == "One.\n\nTwo.\nThree.\n"
    assert normalise("Cafe\u0301 and re\u0301sume\u0301") == "Café and résumé"
    assert normalise("Ends in spaces. \t\n\n  (a) indented stays\t \n") == (
        "Ends in spaces.\n\n  (a) indented stays\n"
    )
    assert normalise("") == ""
    # Nothing inside a line changes: no space collapsed, no character dropped.
    assert normalise("a  b\u00a0c\u200bd") == "a  b\u00a0c\u200bd"


def test_a_hard_break_typed_as_two_spaces_becomes_a_backslash_break():
    assert normalise_text("Attn:  \r\nData Custodian") == "Attn:\\\nData Custodian"
    assert normalise_text("Attn:\t\nData Custodian") == "Attn:\\\nData Custodian"
    assert normalise_text("(a) notify  \n    the custodian") == "(a) notify\\\n    the custodian"
    # A single space, the last line of a paragraph, a heading, a table: nothing to keep.
    assert normalise_text("Attn: \nData Custodian") == "Attn:\nData Custodian"
    assert normalise_text("End.  \n\nNext.  ") == "End.\n\nNext."
    assert normalise_text("# Heading  \nText") == "# Heading\nText"
    assert normalise_text("Heading  \n-------") == "Heading\n-------"
    assert (
        normalise_text("| a | b |  \n|---|---|  \n| 1 | 2 |") == "| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert normalise_text("(a)  \n    text") == "(a)\n    text"
    # An escaped space is pandoc's non-breaking space, and stays one.
    assert normalise_text("a\\ \nb") == "a\u00a0\nb"


def test_plain_text_drops_trailing_spaces_without_writing_markdown():
    assert normalise_plain_text("Public university.  \r\nSelf-insured.") == (
        "Public university.\nSelf-insured."
    )


@given(st.text(alphabet=st.sampled_from("ab (1.)#|-\\ \t\r\n\u0301\u00e9"), max_size=60))
def test_the_normal_form_is_idempotent_and_has_no_cr_and_no_trailing_space(text):
    for normalise in (normalise_text, normalise_plain_text):
        normal = normalise(text)
        assert normalise(normal) == normal
        assert "\r" not in normal
        assert all(line == line.rstrip(" \t") for line in normal.split("\n"))
        assert normal == unicodedata.normalize("NFC", normal)


SAMPLES = [
    "para  \n(b) x",
    "(a) a  \n(b) b",
    "(a) one  \n    two",
    "1. one  \n   continued  \n2. two",
    "para  \n- x",
    "# H  \nb",
    "x  \n---",
    "x  \n===",
    "a  \n> q",
    "> q  \n> r",
    "**bold**  \nnext",
    "[[breach_notice_hours]] hours  \nafter",
    "Term  \n:   definition",
    "a\\  \nb",
    "a\\\t\nb",
    "a\\\\  \nb",
    "a\t\nb",
    "1. word\t\n   more",
    "| a  \n| b",
    "+---+---+\n| a | b |  \n+---+---+\n",
    "a | b  \n--|--  \n1 | 2  \n",
    "  Right     Left  \n-------     ------  \n     12     12  \n",
    "text\r\nmore  \r\nand\r\n\r\n(a) item  \r\n(b) item2",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_the_normal_form_reads_as_the_text_did(text):
    assert _reads_the_same(text), normalise_text(text)


_LINE = st.tuples(
    st.sampled_from(["", "", "", "(a) ", "- ", "1. ", "   ", "> ", "(iv) ", "7.2 "]),
    st.lists(
        st.sampled_from(["word", "two words", "**b**", "*e*", "[[p]]", "(b)", "Section D", "x:"]),
        min_size=1,
        max_size=3,
    ).map(" ".join),
    st.sampled_from(["", "", " ", "  ", "   ", "\t"]),
    st.sampled_from(["\n", "\n", "\r\n", "\n\n"]),
).map("".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINE, min_size=1, max_size=6).map("".join))
def test_clause_like_markdown_reads_the_same_after_normalising(text):
    assert _reads_the_same(text), normalise_text(text)


def _documents() -> list[tuple[str, str]]:
    corpus = ROOT.parent / "shared" / "corpus"
    paths = [*STANDARDS, *sorted(corpus.glob("*.md"))] if corpus.is_dir() else STANDARDS
    return [(path.name, path.read_text(encoding="utf-8")) for path in paths if path.is_file()]


@pytest.mark.parametrize(("name", "source"), _documents(), ids=lambda value: value[:40])
def test_a_whole_agreement_sent_from_a_browser_reads_the_same(name, source):
    """CRLF on every line, and two spaces at the end of every line (hard breaks inside
    paragraphs, noise after headings, table rows and last lines)."""
    assert _reading(source) == _reading(normalise_text(source.replace("\n", "\r\n")))
    spaced = "\r\n".join(f"{line}  " for line in source.split("\n"))
    assert _reads_the_same(spaced)


@pytest.mark.parametrize(
    "body",
    [
        "The Recipient shall notify the Custodian.\n\nWithin [[breach_notice_hours]] hours.",
        "The Recipient shall:\n\n(a) notify the Custodian;\n\n(b) **contain** the incident.",
        "| Item | Days |\n|---|---|\n| Notice | 30 |",
    ],
)
def test_a_body_reads_as_the_same_blocks_with_crlf_line_endings(body):
    assert parse_body(body.replace("\n", "\r\n"))[0] == parse_body(body)[0]
    assert parse_body(body.replace("\n", "\r"))[0] == parse_body(body)[0]


def test_plain_text_with_a_trailing_space_hard_break_reads_as_pandoc_reads_it():
    """The reader's plain fast path (no Markdown in the text) agrees with pandoc."""
    plain, _ = parse_body("Notices go to:  \r\nThe Data Custodian")
    marked, _ = parse_body("Notices go to:  \nThe *Data Custodian*")
    assert [type(i) for i in plain[0].inlines][1] is Break
    assert isinstance(marked[0], Paragraph) and any(isinstance(i, Break) for i in marked[0].inlines)
    assert (
        parse_body("Notices go to: \nThe Data Custodian")[0]
        == parse_body("Notices go to: The Data Custodian")[0]
    )
