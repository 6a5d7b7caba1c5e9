"""Full-text search: ranking across kinds, filters, highlighted and escaped excerpts, what
each user may see, query counts."""

import dataclasses
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from agreements import search
from agreements.negotiation.proposals import override_propose
from agreements.search import Filters, Markers, highlight

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
LAKESHORE = "Lakeshore Fluency Pathways Data Agreement"
XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '"><svg onload=alert(1)>',
    "</mark><script>alert(1)</script><mark>",
    "&lt;script&gt;",
]


def found(kind, user, text, filters, markers=None):
    """The lazy queryset of one kind, as the search page pages it."""
    filters = dataclasses.replace(filters, kind=kind)
    return search.search(user, text, filters, markers or Markers.new())[kind]


@pytest.mark.parametrize("payload", XSS)
def test_highlight_escapes_everything_but_its_own_marks(payload):
    markers = Markers.new()
    excerpt = f"before {markers.start}breach{markers.stop} {payload} after"
    html = str(highlight(excerpt, markers))
    assert "<mark>breach</mark>" in html
    assert "<script" not in html and "<img" not in html and "<svg" not in html
    assert html.count("<mark>") == 1 and html.count("</mark>") == 1
    assert html.replace("<mark>", "").replace("</mark>", "") == (
        "before breach "
        + payload.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        + " after"
    )


def test_highlight_drops_markers_it_did_not_pair():
    markers = Markers.new()
    assert str(highlight(f"a {markers.stop} b {markers.start}c", markers)) == "a  b <mark>c</mark>"
    assert str(highlight(None, markers)) == ""


def test_markers_are_new_each_time():
    assert Markers.new() != Markers.new()


def test_agreements_match_by_word_forms_and_rank(demo):
    director = demo["users"]["director"]
    results = found("agreements", director, "adapting lessons", Filters(), Markers.new())
    titles = [a.title for a in results]
    assert titles[0] == "Open Curriculum Implementation Data Agreement"
    reference = demo["agreements"][NEGOTIATING].reference
    exact = found("agreements", director, reference, Filters(), Markers.new())
    assert [a.reference for a in exact] == [reference]


def test_search_never_shows_what_the_user_cannot_see(demo):
    director = demo["users"]["director"]
    for kind, rows in search.search(director, "fluency", Filters(), Markers.new()).items():
        for row in rows:
            assert "Lakeshore" not in str(getattr(row, "title", getattr(row, "name", ""))), kind
    assert not found("trios", director, "Lakeshore", Filters(), Markers.new()).exists()
    assert not found("organisations", director, "Lakeshore", Filters(), Markers.new()).exists()
    facilitator = demo["users"]["facilitator"]
    assert found("trios", facilitator, "Lakeshore", Filters(), Markers.new()).exists()


def test_clause_text_search_finds_standard_clauses_and_proposals(demo):
    counsel = demo["users"]["counsel"]
    clauses = list(found("clauses", counsel, "breach notification", Filters(), Markers.new()))
    assert clauses
    assert any(c.key == "breach-notification" for c in clauses)
    assert all(c.used_by for c in clauses)
    # Counsel's proposal on breach notification (the shorter window is its term change).
    changes = list(found("changes", counsel, "affected families", Filters(), Markers.new()))
    assert any(c.clause_key == "breach-notification" for c in changes)


def test_filters_narrow_by_status_and_trio(demo):
    director = demo["users"]["director"]
    trio = demo["trios"]["open-curriculum"]
    rows = found("agreements", director, "data", Filters(trio_id=trio.pk), Markers.new())
    assert {a.trio_id for a in rows} == {trio.pk}
    rows = found("agreements", director, "adaptive", Filters(status="expired"), Markers.new())
    assert {a.status for a in rows} == {"expired"}


def test_the_page_filters_by_a_list_for_a_few_partnerships_and_a_name_for_many(
    client, demo, monkeypatch
):
    from agreements.web import agreement_list

    facilitator = demo["users"]["facilitator"]
    client.force_login(facilitator)
    trio = demo["trios"]["open-curriculum"]
    page = client.get(reverse("search"), {"q": "data", "trio": trio.pk}).content.decode()
    assert '<select name="trio" id="id_trio">' in page
    assert f'<option value="{trio.pk}" selected>' in page

    monkeypatch.setattr(agreement_list, "TRIO_CHOICES_MAX", 0)
    page = client.get(reverse("search"), {"q": "data"}).content.decode()
    assert 'name="trio"' not in page and 'name="partnership"' in page
    named = client.get(reverse("search"), {"q": "data", "partnership": "CURRICULUM impl"})
    rows = [r for s in named.context["sections"] if s["kind"] == "agreements" for r in s["rows"]]
    assert rows and {r.trio_id for r in rows} == {trio.pk}
    nothing = client.get(reverse("search"), {"q": "data", "partnership": "no such partnership"})
    assert not nothing.context["found"]
    assert "or remove the filters" in nothing.content.decode()
    # An id still narrows (a link may carry one), to nothing when the viewer cannot see it.
    by_id = client.get(reverse("search"), {"q": "data", "trio": trio.pk, "kind": "agreements"})
    assert {r.trio_id for r in by_id.context["page"].object_list} == {trio.pk}
    client.force_login(demo["users"]["vendor"])
    hidden = client.get(reverse("search"), {"q": "data", "trio": trio.pk})
    assert not hidden.context["found"]


def test_page_shows_highlighted_escaped_excerpts(client, demo):
    counsel = demo["users"]["counsel"]
    agreement = demo["agreements"][NEGOTIATING]
    override_propose(
        agreement=agreement,
        by=counsel,
        kind="insert",
        clause_key="audits",
        new_key="escrow-terms",
        heading="Escrow <script>alert(1)</script>",
        body="Escrow of keys <img src=x onerror=alert(1)> under escrow rules.",
        rationale="Escrow <b>protects</b> everyone.",
    )
    client.force_login(counsel)
    page = client.get(reverse("search"), {"q": "escrow"}).content.decode()
    assert "<mark>Escrow</mark>" in page or "<mark>escrow</mark>" in page
    assert "<img src=x" not in page and "<script>alert(1)" not in page and "<b>protects" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_page_lists_every_kind_then_one_kind_paginated(client, demo):
    client.force_login(demo["users"]["director"])
    page = client.get(reverse("search"), {"q": "data"}).content.decode()
    assert 'id="results-agreements"' in page
    assert 'id="results-clauses"' in page
    one = client.get(reverse("search"), {"q": "data", "kind": "clauses"})
    assert one.context["page"].paginator.count >= 1
    assert 'id="results-agreements"' not in one.content.decode()


def test_empty_and_unmatched_searches_say_what_to_do(client, demo):
    client.force_login(demo["users"]["director"])
    assert "What are you looking for?" in client.get(reverse("search")).content.decode()
    page = client.get(reverse("search"), {"q": "zzyzxqqq"}).content.decode()
    assert "Nothing found for “zzyzxqqq”" in page


def test_outsider_finds_nothing(client, demo, outsider):
    client.force_login(outsider)
    response = client.get(reverse("search"), {"q": "agreement"})
    assert response.status_code == 200
    assert not response.context["found"]


def test_search_query_counts(client, demo, django_assert_max_num_queries):
    client.force_login(demo["users"]["facilitator"])
    # session, user, trios for the filter, the trios with a party of that name (read first so
    # PostgreSQL can estimate the agreements they add), one query per kind (5), the parties
    # of the agreements whose proposals matched (their names fill the excerpts' terms).
    with django_assert_max_num_queries(10):
        assert client.get(reverse("search"), {"q": "data"}).status_code == 200
    # session, user, trios for the filter, count, page.
    with django_assert_max_num_queries(5):
        assert client.get(reverse("search"), {"q": "data", "kind": "clauses"}).status_code == 200


@pytest.mark.parametrize(
    ("kind", "index"),
    [("agreements", "agreement_search_document"), ("changes", "override_search_document")],
)
def test_the_growing_searches_can_use_their_full_text_index(demo, kind, index):
    """Agreements and proposed clause text grow with every partnership: their match must be
    answerable from the GIN index, which indexes the stored document (migration 0014). The
    search matches that column, and with sequential and plain index scans priced out, the
    plan of such a match shows the index serving it. (The demo's few agreements are found
    faster by their trios, so the search's own plan is no proof either way.)"""
    from django.contrib.postgres.search import SearchQuery
    from django.db import connection

    from agreements.models import Agreement, ClauseOverride

    user = demo["users"]["facilitator"]
    queryset = found(kind, user, "student data", Filters())
    assert ".search_document @@" in str(queryset.query)
    model = {"agreements": Agreement, "changes": ClauseOverride}[kind]
    match = model.objects.annotate(document=search.StoredDocument()).filter(
        document=SearchQuery("student data", search_type="websearch", config="english")
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    plan = match.explain()
    assert f"Bitmap Index Scan on {index}" in plan, plan


def test_an_exact_reference_is_found_even_when_it_is_no_word(demo):
    agreement = next(iter(demo["agreements"].values()))
    user = demo["users"]["facilitator"]
    hits = found("agreements", user, agreement.reference.lower(), Filters(), Markers.new())
    assert agreement in hits


@pytest.mark.parametrize("fragment", ["{year}-{number}", "{code}-{year}", "{number}", "{ref}"])
def test_agreements_are_found_by_fragments_of_their_reference(demo, fragment):
    agreement = demo["agreements"][NEGOTIATING]  # AIMS-2027-002 in the demo
    code, year, number = agreement.reference.split("-")
    text = fragment.format(code=code, year=year, number=number, ref=agreement.reference)
    hits = found("agreements", demo["users"]["director"], text, Filters(), Markers.new())
    assert agreement in hits, text
    others = {a.reference for a in hits}
    assert all(number in r.split("-") for r in others) if fragment == "{number}" else True


def test_agreements_are_found_by_a_party_name(demo):
    director = demo["users"]["director"]
    hits = found("agreements", director, "Brightpath", Filters(), Markers.new())
    assert demo["agreements"][NEGOTIATING] in hits
    for agreement in hits:
        assert "Brightpath Learning, Inc." in agreement.party_names


def test_snippets_start_at_a_sentence_and_show_filled_terms(client, demo):
    agreement = demo["agreements"][NEGOTIATING]
    hours = agreement.breach_notice_hours
    client.force_login(demo["users"]["counsel"])
    response = client.get(reverse("search"), {"q": "cooperate investigation", "kind": "changes"})
    rows = response.context["sections"][0]["rows"]
    assert rows
    page = response.content.decode()
    assert "[[" not in page and "breach_notice_hours" not in page
    assert "breach-notification" not in page.split('id="results-changes"')[1].replace(
        "#clause-breach-notification", ""
    )
    assert "a change to 16. Security Incidents and Breach Notification" in page
    # Counsel's proposal states its own window (24 hours), the vendor's the current one.
    assert '<span class="term-value">24</span> hours' in page
    assert f'<span class="term-value">{hours}</span> hours' in page
    for row in rows:
        text = str(row.body_hl)
        assert text.startswith("Each Party") or text.startswith("… "), text


def test_snippet_cuts_at_words_and_sentences():
    markers = Markers.new()
    sentence = "The district may audit the recipient once a year on thirty days notice."
    text = (
        "Preamble words that say nothing in particular. "
        + "Filler " * 40
        + f"and then the {markers.start}breach{markers.stop} happened "
        "within [[breach_notice_hours]] hours of discovery. " + sentence * 5
    )
    html = str(search.snippet(text, markers, values={"breach_notice_hours": 48}))
    assert html.startswith("… ") and "<mark>breach</mark>" in html
    assert '<span class="term-value">48</span> hours' in html
    assert html.endswith(" …") or html.endswith(".")
    words = html.removeprefix("… ").removesuffix(" …").split()
    assert words[0] in text.split() and words[-1] in text.split() + [sentence.split()[-1]]
    short = str(
        search.snippet(f"First. Second {markers.start}one{markers.stop} here. Third.", markers)
    )
    assert short == "Second <mark>one</mark> here. Third."  # whole sentences, the first left out
    standard = str(search.snippet("Within [[breach_notice_hours]] hours.", markers))
    assert standard == 'Within <span class="term-value">the breach notice window</span> hours.'


def _snippet_of_every_word(text, markers, *, values=None, limit=search.SNIPPET_CHARS):
    """The excerpt as snippet() cut it when it read every word of the text: the reference
    its reading of the match's lines only must equal."""
    from itertools import accumulate

    from agreements.search import (
        _LINK,
        _MARKDOWN,
        _SENTENCE_END,
        SNIPPET_LEAD,
        _fill_terms,
        _plain,
    )

    text = _fill_terms(_LINK.sub(r"\1", _MARKDOWN.sub("", text or "")), markers, values)
    words, ends, lengths = [], [], []
    for line in text.splitlines():
        line_words = line.split()
        words += line_words
        for word in line_words:
            visible = _plain(word, markers)
            lengths.append(len(visible))
            ends.append(bool(_SENTENCE_END.search(visible)))
        if ends:
            ends[-1] = True
    if not words:
        return highlight("", markers)
    offsets = list(accumulate(lengths, initial=0))

    def visible_length(a, b):
        return offsets[b] - offsets[a] + max(b - a - 1, 0)

    hit = next((i for i, w in enumerate(words) if markers.start in w), 0)
    start = hit
    while start > 0 and not ends[start - 1]:
        start -= 1
    lead = ""
    if visible_length(start, hit) > SNIPPET_LEAD:
        start = hit
        while start > 0 and visible_length(start - 1, hit) < 60:
            start -= 1
        lead = "… "
    end = hit + 1
    while end < len(words) and visible_length(start, end + 1) <= limit:
        end += 1
        if ends[end - 1] and visible_length(start, end) >= limit // 2:
            break
    tail = "" if end >= len(words) or ends[end - 1] else " …"
    return highlight(lead + " ".join(words[start:end]) + tail, markers)


def test_snippet_reads_only_the_match_s_lines_and_cuts_as_reading_every_word_did():
    import random

    rng = random.Random(18)
    m = Markers.new()
    vocabulary = ["data", "the", "district", "shall", "breach", "notice", "of", "a", "b"]
    punctuation = ["", "", "", ".", ";", ":", ",", "?", '."', ")"]
    for case in range(3000):
        lines = []
        for _ in range(rng.randint(0, 12)):
            if rng.random() < 0.15:
                lines.append(" " * rng.randint(0, 3))  # a blank line
                continue
            words = []
            for _ in range(rng.randint(1, rng.choice([5, 30, 120]))):
                word = rng.choice(vocabulary) * rng.randint(1, 3) + rng.choice(punctuation)
                if rng.random() < 0.04:
                    word = f"{m.start}{word}{m.stop}"
                elif rng.random() < 0.02:
                    word = "[[breach_notice_hours]]"
                words.append(word)
            lines.append((" " * rng.randint(1, 2)).join(words))
        text = "\n".join(lines)
        values = {"breach_notice_hours": 48} if case % 2 else None
        limit = rng.choice([40, 120, search.SNIPPET_CHARS])
        assert str(search.snippet(text, m, values=values, limit=limit)) == str(
            _snippet_of_every_word(text, m, values=values, limit=limit)
        ), (case, text)


def test_snippets_read_a_link_s_words_not_its_markdown():
    m = Markers.new()
    linked = f"[Schedule A](#schedule-a) lists every {m.start}Data{m.stop} Element."
    assert str(search.snippet(linked, m)) == "Schedule A lists every <mark>Data</mark> Element."
    marked = f"See [{m.start}Schedule{m.stop} A](#schedule-a) within [[breach_notice_hours]] h."
    assert str(search.snippet(marked, m, values={"breach_notice_hours": 48})) == (
        'See <mark>Schedule</mark> A within <span class="term-value">48</span> h.'
    )


def _rows(rows):
    """What a result shows, the markers taken out (each search has its own)."""
    shown = []
    for row in rows:
        fields = {k: v for k, v in vars(row).items() if not k.startswith("_")}
        shown.append(
            (
                type(row).__name__,
                row.pk,
                sorted((k, re.sub(r"@@/?\w+@@", "", str(v))) for k, v in fields.items()),
            )
        )
    return shown


def test_the_page_s_preview_finds_what_the_search_finds(demo):
    """search.preview runs each kind's statement compiled once, with each search's values
    in place: every user, text, filter and shape gives the rows search() gives, one search
    after another (a statement never keeps the values it was first run with)."""
    agreement = demo["agreements"][NEGOTIATING]
    trio = demo["trios"]["open-curriculum"]
    superuser = get_user_model().objects.create_superuser("search-root", password="x" * 16)
    users = [*demo["users"].values(), superuser]
    texts = ["data", "breach notification", agreement.reference, "2027-002", "Brightpath", "zzzz"]
    filters = [Filters(), Filters(status="active"), Filters(trio_id=trio.pk)]
    compared = 0
    for user in users:
        for text in texts:
            for chosen in filters:
                preview = search.preview(user, text, chosen, Markers.new(), rows=6)
                full = search.search(user, text, chosen, Markers.new())
                assert preview.keys() == full.keys() == set(search.KINDS)
                for kind, rows in preview.items():
                    assert _rows(rows) == _rows(full[kind][:6]), (user, text, chosen, kind)
                    compared += len(rows)
    assert compared > 100, "the searches found things to compare"
    # Another number of rows is another statement (its LIMIT), not the one built for six.
    user = demo["users"]["director"]
    two = search.preview(user, "data", Filters(), Markers.new(), rows=2)
    full = search.search(user, "data", Filters(), Markers.new())
    assert any(len(rows) == 2 for rows in two.values())
    for kind, rows in two.items():
        assert _rows(rows) == _rows(full[kind][:2]), kind
