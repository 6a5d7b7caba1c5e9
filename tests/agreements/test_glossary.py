"""The glossary: terms the agreement defines and the product's terms, explained where they
appear in clause text, with every character of the text escaped."""

import pytest
from django.urls import reverse

from agreements.models import Clause
from agreements.text.glossary import DOMAIN_TERMS, Term, annotate, defined_terms, glossary_for

SIGNING = "Open Curriculum Implementation Data Agreement"


def test_definitions_clause_terms_are_parsed(demo):
    version = demo["agreements"][SIGNING].template_version
    body = Clause.objects.get(version=version, key="definitions").body
    terms = defined_terms(body)
    assert terms["Aggregate Data"].startswith("Aggregate Data means statistical information")
    # “A” or “B” means …: both names; and a definition in the middle of a paragraph.
    assert "Product Data" in terms and "Curriculum Developer Product Data" in terms
    assert terms["Assent"].startswith("Assent means the affirmative agreement")
    assert "affirmative agreement" not in terms["Consent"]
    assert all(len(d) <= 320 for d in terms.values())


def test_agreement_terms_win_over_the_products_glossary():
    clauses = [
        type(
            "C",
            (),
            {
                "key": "definitions",
                "heading": "Definitions",
                "body": "(a) “Consent” means what the contract says.",
            },
        )()
    ]
    terms = {t.term: t for t in glossary_for(clauses)}
    assert terms["Consent"].source == "agreement"
    assert terms["Trio"].definition == DOMAIN_TERMS["Trio"]


def test_first_occurrence_of_each_term_is_marked_up():
    terms = [Term("Shared Data", "Shared Data means data.", "agreement")]
    html = str(annotate("Shared Data and Shared Data.\n\nNew paragraph", terms, id_prefix="k"))
    assert html.count('class="gloss__term"') == 1
    assert 'aria-describedby="gloss-k-1"' in html and 'id="gloss-k-1"' in html
    assert 'role="tooltip"' in html
    assert html.startswith("<p>") and "</p>\n\n<p>New paragraph</p>" in html


def test_terms_match_whole_words_only():
    terms = [Term("Party", "A party.", "agreement")]
    assert "gloss" not in str(annotate("Third-Party Partying", terms, id_prefix="k"))


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '" onmouseover="alert(1)',
        "</span><script>x</script>",
        "\x00P\x00<b>",
    ],
)
def test_clause_text_terms_and_definitions_are_escaped(payload):
    terms = [Term(f"Data {payload}", f"Def {payload}", "agreement"), Term("Data", payload, "x")]
    html = str(annotate(f"Data {payload} and Data. {payload}", terms, id_prefix=f"k{payload}"))
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert 'onmouseover="' not in html
    assert "\x00" not in html
    assert html.count("<span") == html.count("</span>")


def test_agreement_page_explains_terms_on_hover_and_focus(client, demo):
    client.force_login(demo["users"]["director"])
    agreement = demo["agreements"][SIGNING]
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert 'class="gloss__term"' in page
    assert "Aggregate Data means statistical information" in page
