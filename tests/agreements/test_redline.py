"""Word-level redlines of clause texts: agreements/redline.py (pure functions, no database)."""

from __future__ import annotations

import random
import re
import time

import pytest
from django.template import Context, Engine
from django.utils.safestring import SafeString
from hypothesis import given, settings
from hypothesis import strategies as st

from agreements.text import redline
from agreements.text.redline import (
    Op,
    change_count,
    changed,
    diff_tokens,
    word_stats,
)
from agreements.text.redline_html import redline_html, side_by_side

HIDDEN = '<span class="visually-hidden">'


def deleted(text: str, number: int, *, ident: str | None = "chg-{}") -> str:
    """The expected markup of a deletion; ``ident`` is its id (None: not the change's first)."""
    attribute = f' id="{ident.format(number)}"' if ident is not None else ""
    return (
        f'<del class="redline-del" aria-label="deleted"{attribute} data-change="{number}">'
        f"{HIDDEN}[deleted: </span>{text}{HIDDEN}]</span></del>"
    )


def inserted(text: str, number: int, *, ident: str | None = "chg-{}") -> str:
    attribute = f' id="{ident.format(number)}"' if ident is not None else ""
    return (
        f'<ins class="redline-ins" aria-label="inserted"{attribute} data-change="{number}">'
        f"{HIDDEN}[inserted: </span>{text}{HIDDEN}]</span></ins>"
    )


def changes(ops: list[Op]) -> list[tuple[str, str]]:
    return [(op.kind, op.text) for op in ops if op.kind != "equal"]


def old_of(ops: list[Op]) -> str:
    return "".join(op.text for op in ops if op.kind != "insert")


def new_of(ops: list[Op]) -> str:
    return "".join(op.text for op in ops if op.kind != "delete")


def long_clause(words: int, seed: int) -> str:
    rng = random.Random(seed)
    vocabulary = (
        "the district shall provide student data to the researcher for the approved study "
        "and the researcher shall not disclose personally identifiable information except as "
        "permitted by this agreement or required by law within thirty days of any request"
    ).split()
    sentences = []
    while sum(len(s.split()) for s in sentences) < words:
        sentence = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(12, 28)))
        sentences.append(sentence.capitalize() + ".")
    return "\n\n".join(" ".join(sentences[i : i + 8]) for i in range(0, len(sentences), 8))


# --- No change ------------------------------------------------------------------------------


def test_identical_texts_give_no_marks() -> None:
    text = "The Researcher shall destroy all Student Data.\n\nNo copies may be kept."

    assert diff_tokens(text, text) == [Op("equal", text)]
    assert redline_html(text, text) == (
        "<p>The Researcher shall destroy all Student Data.</p>\n<p>No copies may be kept.</p>"
    )
    assert not changed(text, text)
    assert change_count(text, text) == 0
    assert word_stats(text, text) == {"words_inserted": 0, "words_deleted": 0, "changes": 0}


def test_two_empty_texts_give_no_ops_and_no_html() -> None:
    assert diff_tokens("", "") == []
    assert redline_html("", "") == ""
    assert side_by_side("", "") == ("", "")


# --- Word-level marks -----------------------------------------------------------------------


def test_a_one_word_change_marks_only_that_word() -> None:
    old = "The vendor shall delete the data."
    new = "The vendor shall destroy the data."

    assert diff_tokens(old, new) == [
        Op("equal", "The vendor shall "),
        Op("delete", "delete"),
        Op("insert", "destroy"),
        Op("equal", " the data."),
    ]
    assert redline_html(old, new) == (
        "<p>The vendor shall "
        '<del class="redline-del" aria-label="deleted" id="chg-1" data-change="1">'
        '<span class="visually-hidden">[deleted: </span>delete'
        '<span class="visually-hidden">]</span></del>'
        '<ins class="redline-ins" aria-label="inserted" data-change="1">'
        '<span class="visually-hidden">[inserted: </span>destroy'
        '<span class="visually-hidden">]</span></ins>'
        " the data.</p>"
    )
    assert change_count(old, new) == 1


def test_an_inserted_word_marks_the_word_and_one_space() -> None:
    html = redline_html("Notify the district.", "Notify the school district.")

    assert html == f"<p>Notify the {inserted('school ', 1)}district.</p>"


def test_a_moved_comma_marks_only_the_comma() -> None:
    old = "Party A, shall pay the fee"
    new = "Party A shall, pay the fee"

    assert changes(diff_tokens(old, new)) == [("delete", ","), ("insert", ",")]
    assert redline_html(old, new) == (
        f"<p>Party A{deleted(',', 1)} shall{inserted(',', 2)} pay the fee</p>"
    )


def test_an_added_comma_marks_only_the_comma() -> None:
    old = "Within thirty days the Vendor shall return the data"
    new = "Within thirty days, the Vendor shall return the data"

    assert changes(diff_tokens(old, new)) == [("insert", ",")]
    assert redline_html(old, new) == (
        f"<p>Within thirty days{inserted(',', 1)} the Vendor shall return the data</p>"
    )


def test_words_changed_side_by_side_read_as_one_change_not_fragments() -> None:
    ops = diff_tokens("the quick brown fox", "the slow red fox")

    assert ops == [
        Op("equal", "the "),
        Op("delete", "quick brown"),
        Op("insert", "slow red"),
        Op("equal", " fox"),
    ]


def test_a_change_of_a_number_in_brackets_marks_the_two_numbers() -> None:
    ops = diff_tokens("within thirty (30) days", "within forty (40) days")

    assert changes(ops) == [
        ("delete", "thirty"),
        ("insert", "forty"),
        ("delete", "30"),
        ("insert", "40"),
    ]


def test_inserted_whole_text_is_one_insertion() -> None:
    new = "The parties may renew this agreement.\n\nRenewal needs written notice."

    assert diff_tokens("", new) == [Op("insert", new)]
    assert redline_html("", new) == (
        f"<p>{inserted('The parties may renew this agreement.', 1)}</p>\n"
        f"<p>{inserted('Renewal needs written notice.', 1, ident=None)}</p>"
    )
    assert word_stats("", new) == {"words_inserted": 10, "words_deleted": 0, "changes": 1}


def test_deleted_whole_text_is_one_deletion() -> None:
    old = "This clause is struck."

    assert diff_tokens(old, "") == [Op("delete", old)]
    assert redline_html(old, "") == f"<p>{deleted('This clause is struck.', 1)}</p>"
    assert change_count(old, "") == 1


# --- Paragraphs and whitespace --------------------------------------------------------------


def test_blank_lines_make_paragraphs_and_single_newlines_make_line_breaks() -> None:
    old = "1. Purpose\nThe study.\n\n2. Term\nOne year."
    new = "1. Purpose\nThe study.\n\n2. Term\nTwo years."

    assert redline_html(old, new) == (
        "<p>1. Purpose<br>The study.</p>\n"
        f"<p>2. Term<br>{deleted('One year', 1)}{inserted('Two years', 1, ident=None)}.</p>"
    )


def test_windows_line_endings_make_the_same_paragraphs() -> None:
    html = redline_html("One.\r\n\r\nTwo.\r\nThree.", "One.\r\n\r\nTwo.\r\nThree.")

    assert html == "<p>One.</p>\n<p>Two.<br>Three.</p>"


def test_a_deleted_paragraph_shows_as_its_own_struck_paragraph() -> None:
    old = "First.\n\nSecond.\n\nThird."
    new = "First.\n\nThird."

    assert redline_html(old, new) == (
        f"<p>First.</p>\n<p>{deleted('Second.', 1)}</p>\n<p>Third.</p>"
    )


def test_joined_paragraphs_show_the_deleted_break_and_the_inserted_space() -> None:
    html = redline_html("First.\n\nSecond.", "First. Second.")

    assert html == (f"<p>First.{deleted('¶', 1)}</p>\n<p>{inserted('·', 1, ident=None)}Second.</p>")


def test_a_whitespace_only_change_is_visible() -> None:
    ops = diff_tokens("thirty  days", "thirty days")

    assert changes(ops) == [("delete", "  "), ("insert", " ")]
    assert redline_html("thirty  days", "thirty days") == (
        f"<p>thirty{deleted('·', 1)}{inserted('·', 1, ident=None)}days</p>"
    )


# --- Unicode --------------------------------------------------------------------------------


def test_accented_words_are_whole_words() -> None:
    assert changes(diff_tokens("the café policy", "the cafés policy")) == [
        ("delete", "café"),
        ("insert", "cafés"),
    ]
    assert changes(diff_tokens("la política de datos", "la política de privacidad")) == [
        ("delete", "datos"),
        ("insert", "privacidad"),
    ]


def test_a_decomposed_accent_stays_inside_its_word() -> None:
    old = "the cafe\u0301 policy"  # e + combining acute, as pasted from macOS
    new = "the cafe\u0301s policy"

    assert changes(diff_tokens(old, new)) == [("delete", "cafe\u0301"), ("insert", "cafe\u0301s")]


def test_an_em_dash_is_its_own_token() -> None:
    old = "Student Data—as defined in Section 1—shall"
    new = "Student Data – as defined in Section 1 – shall"

    assert changes(diff_tokens(old, new)) == [
        ("delete", "—"),
        ("insert", " – "),
        ("delete", "—"),
        ("insert", " – "),
    ]


def test_curly_quotes_are_punctuation_so_only_the_quotes_are_marked() -> None:
    old = "the “Student Data” means"
    new = 'the "Student Data" means'

    assert changes(diff_tokens(old, new)) == [
        ("delete", "“"),
        ("insert", '"'),
        ("delete", "”"),
        ("insert", '"'),
    ]
    assert changes(diff_tokens("the Party’s data", "the Parties’ data")) == [
        ("delete", "Party’s"),
        ("insert", "Parties’"),
    ]


def test_a_non_breaking_space_is_whitespace_and_is_kept() -> None:
    old = "within 30\u00a0days"
    new = "within 45\u00a0days"

    assert changes(diff_tokens(old, new)) == [("delete", "30"), ("insert", "45")]
    assert redline_html(old, new) == (
        f"<p>within {deleted('30', 1)}{inserted('45', 1, ident=None)}\u00a0days</p>"
    )
    assert changes(diff_tokens(old, "within 30 days")) == [("delete", "\u00a0"), ("insert", " ")]


def test_chinese_characters_are_compared_one_by_one() -> None:
    assert changes(diff_tokens("学生数据保护", "学生信息保护")) == [
        ("delete", "数据"),
        ("insert", "信息"),
    ]


# --- Long and pathological clauses ----------------------------------------------------------


def test_a_5000_word_clause_with_a_few_changes_marks_exactly_those() -> None:
    old = long_clause(5_000, seed=1)
    words = old.split(" ")
    words[100] = "EDITED"
    words[2_000:2_000] = ["INSERTED"]
    del words[4_000]
    new = " ".join(words)
    dropped = old.split(" ")[3_999]

    ops = diff_tokens(old, new)

    assert old_of(ops) == old
    assert new_of(ops) == new
    marked = changes(ops)
    assert ("insert", "EDITED") in marked
    assert ("insert", "INSERTED ") in marked or ("insert", " INSERTED") in marked
    assert any(kind == "delete" and text.strip() == dropped for kind, text in marked)
    assert change_count(old, new) == 3


def test_a_long_clause_against_unrelated_text_stays_fast_and_exact() -> None:
    old = long_clause(5_000, seed=1)
    new = long_clause(5_000, seed=2)

    started = time.perf_counter()
    ops = diff_tokens(old, new)
    elapsed = time.perf_counter() - started

    assert old_of(ops) == old
    assert new_of(ops) == new
    assert elapsed < 2.0  # about 0.05 s; the exact diff takes tens of seconds


def test_a_moved_paragraph_is_deleted_in_one_place_and_inserted_in_the_other() -> None:
    paragraphs = long_clause(2_000, seed=3).split("\n\n")
    old = "\n\n".join(paragraphs)
    new = "\n\n".join([*paragraphs[:1], *paragraphs[2:], paragraphs[1]])

    ops = diff_tokens(old, new)

    assert (old_of(ops), new_of(ops)) == (old, new)
    assert changes(ops) == [
        ("delete", paragraphs[1] + "\n\n"),
        ("insert", "\n\n" + paragraphs[1]),
    ]


def test_shuffled_sentences_stay_exact_and_deterministic_within_bounded_work() -> None:
    old = long_clause(3_000, seed=3)
    sentences = old.replace("\n\n", " ").split(". ")
    random.Random(4).shuffle(sentences)
    new = ". ".join(sentences)

    started = time.perf_counter()
    ops = diff_tokens(old, new)
    elapsed = time.perf_counter() - started

    assert (old_of(ops), new_of(ops)) == (old, new)
    assert diff_tokens(old, new) == ops  # the budget counts work, not time
    assert elapsed < 2.0  # about 0.05 s; the exact diff takes seconds


def test_diff_match_patch_still_consults_the_work_budget() -> None:
    # The worst-case guarantee rests on diff-match-patch asking `time.time() > deadline`
    # once per round of diff_bisect.
    budget = redline._WorkBudget(0)

    diffs = redline._DMP.diff_main("abcdefgh", "hgfedcba", False, budget)

    assert budget.ran_out
    assert diffs == [(-1, "abcdefgh"), (1, "hgfedcba")]


def test_the_coarse_diff_aligns_sentences_then_redlines_words() -> None:
    old = "One two three. Four five six.\nSeven eight nine."
    new = "One two three. Four FIVE six.\nSeven eight nine ten."

    coarse = redline._tidy(redline._coarse_diff(redline._tokenize(old), redline._tokenize(new)))

    assert coarse == [
        Op("equal", "One two three. Four "),
        Op("delete", "five"),
        Op("insert", "FIVE"),
        Op("equal", " six.\nSeven eight nine"),
        Op("insert", " ten"),
        Op("equal", "."),
    ]


# --- Text is data ---------------------------------------------------------------------------


def test_markup_in_clause_text_is_escaped() -> None:
    old = "A <b>bold</b> term applies"
    new = 'A <b>bold</b> term <script>alert("x")</script> applies'

    html = redline_html(old, new)

    assert "<b>" not in html
    assert "<script" not in html
    assert "A &lt;b&gt;bold&lt;/b&gt; term " in html
    assert inserted("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; ", 1) in html
    assert isinstance(html, SafeString)


def test_markup_split_by_a_change_is_escaped_piece_by_piece() -> None:
    html = redline_html('<img src=x onerror="a()">', '<img src=y onerror="b()">')

    assert "<img" not in html
    assert html.startswith("<p>&lt;img src=")


def test_template_code_in_clause_text_comes_out_literal() -> None:
    old = "Keep {{ settings.SECRET_KEY }} safe."
    new = "Keep {{ settings.SECRET_KEY }} and {% debug %} safe."

    html = redline_html(old, new)
    rendered = Engine().from_string("{{ redline }}").render(Context({"redline": html}))

    assert "{{ settings.SECRET_KEY }}" in html
    assert inserted("and {% debug %} ", 1) in html
    assert rendered == html


def test_the_side_by_side_view_escapes_too() -> None:
    left, right = side_by_side("<b>old</b> text", "<b>old</b> <i>text</i>")

    assert "<b>" not in left + right
    assert "<i>" not in right
    assert left.startswith("<p>&lt;b&gt;old&lt;/b&gt; ")
    assert inserted("&lt;i&gt;", 1, ident="chg-{}-new") in right


# --- Determinism, numbering, side by side, stats --------------------------------------------


def test_the_same_texts_always_give_the_same_redline() -> None:
    old = long_clause(800, seed=5)
    new = old.replace("researcher", "institution", 7).replace(" the ", " a ", 5)

    first = redline_html(old, new)

    assert all(redline_html(old, new) == first for _ in range(5))
    assert all(diff_tokens(old, new) == diff_tokens(old, new) for _ in range(3))


def test_change_ids_are_numbered_in_reading_order() -> None:
    old = "Alpha beta gamma.\n\nDelta epsilon zeta.\n\nEta theta iota."
    new = "Alpha BETA gamma.\n\nDelta zeta.\n\nEta theta iota kappa."

    html = redline_html(old, new)

    assert re.findall(r'id="(chg-\d+)"', html) == ["chg-1", "chg-2", "chg-3"]
    assert re.findall(r'data-change="(\d+)"', html) == ["1", "1", "2", "3"]
    assert change_count(old, new) == 3


def test_several_clauses_on_one_page_get_distinct_ids() -> None:
    html = redline_html("a b", "a c", id_prefix="clause-7-chg-")

    assert 'id="clause-7-chg-1"' in html
    assert 'id="chg-1"' not in html


def test_side_by_side_marks_deletions_left_and_insertions_right() -> None:
    old = "The vendor shall delete the data.\n\nNo copies."
    new = "The vendor must delete all the data.\n\nNo copies."

    left, right = side_by_side(old, new)

    assert left == (
        f"<p>The vendor {deleted('shall', 1, ident='chg-{}-old')} delete the data.</p>\n"
        "<p>No copies.</p>"
    )
    assert right == (
        f"<p>The vendor {inserted('must', 1, ident='chg-{}-new')} delete "
        f"{inserted('all ', 2, ident='chg-{}-new')}the data.</p>\n<p>No copies.</p>"
    )
    assert "<ins" not in left
    assert "<del" not in right


def test_word_stats_count_words_not_spaces_or_punctuation() -> None:
    stats = word_stats(
        "The vendor shall delete the data.", "The vendor must promptly delete the data, too."
    )

    assert stats == {"words_inserted": 3, "words_deleted": 1, "changes": 2}


# --- Properties -----------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        "data",
        "Data",
        "café",
        "cafe\u0301",
        "naïve",
        "学生",
        "the",
        " ",
        "  ",
        "\u00a0",
        "\n",
        "\n\n",
        "\r\n",
        "\t",
        ",",
        ".",
        "—",
        "–",
        "“",
        "”",
        "’",
        "<",
        ">",
        "&",
        '"',
        "{{",
        "}}",
        "{%",
        "§",
        "30",
    ]
)
_TEXTS = st.one_of(
    st.text(max_size=120),
    st.lists(_PIECES, max_size=60).map("".join),
)


def _is_well_formed(ops: list[Op]) -> bool:
    """No empty op, no two neighbours of one kind, deletions before insertions in a change."""
    pairs = zip(ops, ops[1:], strict=False)
    return all(op.text for op in ops) and all(
        a.kind != b.kind and (a.kind, b.kind) != ("insert", "delete") for a, b in pairs
    )


@settings(max_examples=300, deadline=None)
@given(old=_TEXTS, new=_TEXTS)
def test_the_ops_give_back_both_texts_exactly(old: str, new: str) -> None:
    ops = diff_tokens(old, new)

    assert old_of(ops) == old
    assert new_of(ops) == new
    assert _is_well_formed(ops)
    assert changed(old, new) == any(op.kind != "equal" for op in ops)


@settings(max_examples=200, deadline=None)
@given(old=_TEXTS, edits=st.lists(st.tuples(st.integers(0, 200), _PIECES), max_size=6))
def test_edited_texts_give_back_both_texts_exactly(old: str, edits: list[tuple[int, str]]) -> None:
    new = old
    for position, piece in edits:
        new = new[:position] + piece + new[position + 1 :]

    ops = diff_tokens(old, new)
    coarse = redline._tidy(redline._coarse_diff(redline._tokenize(old), redline._tokenize(new)))

    assert (old_of(ops), new_of(ops)) == (old, new)
    assert (old_of(coarse), new_of(coarse)) == (old, new)
    assert _is_well_formed(ops)
    assert _is_well_formed(coarse)


@settings(max_examples=200, deadline=None)
@given(old=_TEXTS, new=_TEXTS)
def test_the_html_holds_no_markup_but_ours(old: str, new: str) -> None:
    ours = re.compile(
        r'</?p>|<br>|<del class="redline-del" aria-label="deleted"( id="chg-\d+")? '
        r'data-change="\d+">|</del>|<ins class="redline-ins" aria-label="inserted"'
        r'( id="chg-\d+")? data-change="\d+">|</ins>|<span class="visually-hidden">|</span>'
    )
    left, right = side_by_side(old, new)

    for html in (redline_html(old, new), left.replace("-old", ""), right.replace("-new", "")):
        assert "<" not in ours.sub("", html)


@pytest.mark.parametrize("name", ["difflib", "difflib-trimmed", "diff-match-patch"])
def test_every_exact_candidate_gives_back_both_texts(name: str) -> None:
    old = long_clause(300, seed=8)
    new = old.replace("data", "records", 3).replace(",", "", 2) + "\n\nA new paragraph."

    ops = redline._ALGORITHMS[name](old, new)

    assert (old_of(ops), new_of(ops)) == (old, new)
