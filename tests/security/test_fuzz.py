"""Fuzzing the functions that turn user text into agreement text, HTML and consent rows
(issue 9, item 6): placeholder filling, the consolidated text, the redline, and the consent
CSV parser.

Properties: nothing raises but the domain's own refusals (``ValidationError`` /
``FileRejected`` with a message); HTML output never contains markup that came from the input
(every tag is one of the renderer's own); results are deterministic (same input, same output
and same hash); a redline of (a, b) gives back b from its equal and inserted text and a from
its equal and deleted text.

Reproducible in CI: ``derandomize=True`` (examples derived from the test itself, no database
of failures needed) and bounded examples, so the file runs in well under 40 s.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreements.search import Markers, highlight
from agreements.text import placeholders, redline, redline_html
from agreements.text.consolidation import consolidate
from agreements.text.glossary import Term, TermMarker, annotate
from consent import csv_import

FUZZ = settings(
    derandomize=True,
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

# Pieces that matter to these parsers, mixed with arbitrary characters.
FRAGMENTS = [
    "<",
    ">",
    "&",
    '"',
    "'",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "</textarea>",
    "{{ settings.SECRET_KEY }}",
    "{% debug %}",
    "[[district_name]]",
    "[[effective_date]]",
    "[[retention_days]]",
    "[[unknown_thing]]",
    "[[",
    "]]",
    "[[Bad Name]]",
    "\n",
    "\n\n",
    "\r\n",
    " ",
    "\t",
    ",",
    "“Term” means ",
    "Trio",
    "é",
    "e\u0301",
    "\u200b",
    "\x00",
    "\x0b",
    "word",
    "data",
]
text = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=5), max_size=25).map("".join),
)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.text.append(data)


def _tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(str(html))
    parser.close()
    return parser


# --- placeholders ---------------------------------------------------------------------------

placeholder_values = st.dictionaries(
    st.sampled_from([*placeholders.PLACEHOLDERS, "unknown_thing"]),
    st.one_of(st.none(), text, st.dates().map(dt.date.isoformat)),
    max_size=6,
)


@FUZZ
@given(body=text, values=placeholder_values)
def test_filling_placeholders_is_total_deterministic_and_one_pass(body, values):
    try:
        first = placeholders.fill(body, values)
    except ValidationError as error:
        assert error.messages and all(error.messages)  # a refusal that says why
        return
    assert placeholders.fill(body, values) == first
    # Values are inserted literally, never filled again: a value that itself reads
    # "[[district_name]]" stays as written.
    echoed = placeholders.fill("[[district_name]]", {"district_name": "[[retention_days]]"})
    assert echoed == "[[retention_days]]"
    # Text without placeholders comes back unchanged.
    if "[[" not in body:
        assert first == body


@FUZZ
@given(name=st.sampled_from(sorted(placeholders.PLACEHOLDERS)), raw=text)
def test_validating_a_placeholder_value_refuses_only_with_a_message(name, raw):
    try:
        placeholders.validate_value(name, raw)
    except ValidationError as error:
        assert error.messages and all(error.messages)


# --- consolidated text ----------------------------------------------------------------------

keys = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)


@st.composite
def agreements(draw):
    clause_keys = draw(st.lists(keys, min_size=1, max_size=6, unique=True))
    clauses = [
        SimpleNamespace(key=k, number=str(i), heading=draw(text), body=draw(text))
        for i, k in enumerate(clause_keys, start=1)
    ]
    overrides = []
    for number in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["replace", "delete", "insert"]))
        overrides.append(
            SimpleNamespace(
                id=number + 1,
                kind=kind,
                clause_key=draw(st.sampled_from([*clause_keys, "gone"])),
                new_key=f"inserted-{number}",
                heading=draw(text),
                body=draw(text),
            )
        )
    return clauses, overrides, draw(placeholder_values), draw(text)


def _consolidate(clauses, overrides, values, title):
    return consolidate(
        clauses=clauses,
        accepted_overrides=overrides,
        values=values,
        header=[("Title", title)],
    )


@settings(FUZZ, max_examples=70)
@given(agreement=agreements())
def test_the_consolidated_text_is_total_and_deterministic(agreement):
    clauses, overrides, values, title = agreement
    try:
        first = _consolidate(clauses, overrides, values, title)
    except ValidationError as error:  # a date or number value that does not parse
        assert error.messages and all(error.messages)
        return
    again = _consolidate(clauses, overrides, values, title)
    assert again == first and again.canonical == first.canonical
    assert again.sha256 == first.sha256 and len(first.sha256) == 64
    inserted = sum(
        1 for o in overrides if o.kind == "insert" and o.clause_key in {c.key for c in clauses}
    )
    # Every clause, and the data-element schedule the text appends as its last attachment.
    assert len(first.clauses) + len(first.deleted) == len(clauses) + inserted + 1
    sections = first.clauses[:-1]
    assert [c.number for c in sections] == [f"{i + 1}." for i in range(len(sections))]
    assert first.clauses[-1].number == "Attachment A"


# --- redline --------------------------------------------------------------------------------

REDLINE_TAGS = {"p", "br", "del", "ins", "span"}


@FUZZ
@given(old=text, new=text)
def test_a_redline_reconstructs_both_texts_and_never_lets_input_become_markup(old, new):
    ops = redline.diff_tokens(old, new)
    assert redline.diff_tokens(old, new) == ops
    assert "".join(op.text for op in ops if op.kind in ("equal", "insert")) == new
    assert "".join(op.text for op in ops if op.kind in ("equal", "delete")) == old
    html = str(redline_html.redline_html(old, new))
    assert str(redline_html.redline_html(old, new)) == html
    parsed = _tags(html)
    assert parsed.tags <= REDLINE_TAGS, parsed.tags
    assert parsed.attributes <= {"class", "aria-label", "id", "data-change"}
    for side in redline_html.side_by_side(old, new):
        assert _tags(str(side)).tags <= REDLINE_TAGS


# --- the two other builders of HTML from user text ------------------------------------------


@FUZZ
@given(excerpt=st.lists(text | st.sampled_from(["START", "STOP"]), max_size=12))
def test_search_highlighting_only_adds_mark_elements(excerpt):
    markers = Markers.new()
    raw = "".join(
        markers.start if p == "START" else markers.stop if p == "STOP" else p for p in excerpt
    )
    html = str(highlight(raw, markers))
    assert _tags(html).tags <= {"mark"}
    assert html.count("<mark>") == html.count("</mark>")


@FUZZ
@given(body=text, definition=text)
def test_glossary_markup_only_adds_its_own_elements(body, definition):
    terms = [Term("Trio", definition, "glossary"), Term("Term", definition, "agreement")]
    html = str(annotate(body, terms, id_prefix="c"))
    parsed = _tags(html)
    assert parsed.tags <= {"p", "br", "span", "button"}
    assert parsed.attributes <= {"class", "id", "role", "type", "aria-describedby"}
    assert str(annotate(body, terms, id_prefix="c")) == html


@FUZZ
@given(
    runs=st.lists(text | st.sampled_from(["the Trio", "Term and Trio"]), max_size=6),
    definition=text,
)
def test_the_renderers_term_marker_only_adds_its_own_elements(runs, definition):
    """The agreement page's term marker builds its markup with html_format, not nh3: hostile
    text and definitions still come out as text, and only the glossary's own elements and
    attributes appear."""
    terms = [Term("Trio", definition, "glossary"), Term("Term", definition, "agreement")]
    marker = TermMarker(terms, id_prefix="clause <x>")
    html = "".join(str(marker(run)) for run in runs)
    parsed = _tags(html)
    assert parsed.tags <= {"span", "button"}
    assert parsed.attributes <= {"class", "id", "role", "type", "aria-describedby"}


# --- the consent CSV parser -----------------------------------------------------------------

FORM = csv_import.FormRef(id=1, language="en", version=1, effective_date=dt.date(2025, 1, 1))
CELLS = st.one_of(
    text,
    st.sampled_from(
        [
            "granted",
            "withdrawn",
            "refused",
            "parent",
            "student",
            "paper",
            "verbal",
            "2025-09-14",
            "2026-13-01",
            "RB-000123",
            "RB-1",
            "7",
            "K",
            "2013",
            "en",
            "1",
            "",
        ]
    ),
)


@st.composite
def csv_files(draw) -> bytes:
    header = draw(
        st.one_of(
            st.just(list(csv_import.ALL_COLUMNS)),
            st.just(list(csv_import.REQUIRED_COLUMNS)),
            st.lists(st.sampled_from([*csv_import.ALL_COLUMNS, "name", ""]), max_size=8),
        )
    )
    rows = draw(st.lists(st.lists(CELLS, max_size=len(header) + 1), max_size=8))

    def line(cells):
        return ",".join(
            '"' + c.replace('"', '""') + '"' if any(x in c for x in ',"\n\r') else c for c in cells
        )

    content = "\r\n".join(line(r) for r in [header, *rows]).encode("utf-8", "surrogatepass")
    return draw(
        st.one_of(st.just(content), st.binary(max_size=80), st.just(b"\xef\xbb\xbf" + content))
    )


def _check(content: bytes):
    text = csv_import.decode(content, max_bytes=10_000)
    return csv_import.check_file(
        text, max_rows=5, today=dt.date(2026, 10, 15), default_form=FORM, forms=[FORM]
    )


def _summary(result) -> tuple:
    return (
        [(r.number, r.student_key, r.action, r.decided_on, r.school) for r in result.rows],
        [e.as_dict() for e in result.errors],
        result.error_count,
    )


@FUZZ
@given(content=csv_files())
def test_the_consent_csv_parser_refuses_with_messages_and_is_deterministic(content):
    try:
        result = _check(content)
    except csv_import.FileRejected as error:
        assert str(error)
        return
    assert _summary(_check(content)) == _summary(result)
    assert all(e.message and e.row >= 1 and e.column for e in result.errors)
    assert result.ok == (result.error_count == 0)
    for row in result.rows:
        assert csv_import.STUDENT_KEY_RE.fullmatch(row.student_key)


# --- atheris (coverage-guided), bounded -----------------------------------------------------


def test_the_atheris_harness_runs_clean_for_a_bounded_number_of_inputs(tmp_path):
    """scripts/fuzz/fuzz_text.py under libFuzzer: 20,000 inputs with a fixed seed (a few
    seconds); any crash fails with the input that caused it."""
    pytest.importorskip("atheris")
    script = Path(__file__).resolve().parents[2] / "scripts" / "fuzz" / "fuzz_text.py"
    result = subprocess.run(
        [sys.executable, str(script), "-runs=20000", "-seed=1", "-max_len=512"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done 20000 runs" in result.stderr
    assert not list(tmp_path.glob("crash-*"))
