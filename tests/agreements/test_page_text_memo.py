"""The agreement page's clause HTML is rendered once per process for the clauses agreements
share (agreements.page_text.clause_html), and never read as another text's: a clause reads
differently wherever its numbering, its references or the glossary differ."""

from agreements import page_text
from agreements.text.document.html import HtmlRenderer
from agreements.text.document.model import (
    Document,
    ListItem,
    OrderedList,
    Paragraph,
    Part,
    PartKind,
    Ref,
    Text,
)
from agreements.text.glossary import Term

LIST = OrderedList(
    (
        ListItem((Paragraph((Text("The Recipient keeps Student Data secure."),)),)),
        ListItem((Paragraph((Text("See "), Ref("breach"), Text(" for incidents."))),)),
    )
)
SECURITY = Part("security", PartKind.SECTION, (Text("Security"),), (LIST,))
BREACH = Part("breach", PartKind.SECTION, (Text("Breach"),), (Paragraph((Text("Tell us."),)),))
INSERTED = Part("audits", PartKind.SECTION, (Text("Audits"),), (Paragraph((Text("Yes."),)),))
TERMS = (Term("Student Data", "Records about a student.", "glossary"),)


def _html(document: Document, part: Part, terms=TERMS) -> str:
    return str(page_text.clause_html(HtmlRenderer(document, id_prefix="clause-"), part, terms))


def _fresh(document: Document, part: Part, terms=TERMS) -> str:
    page_text._CLAUSE_HTML.clear()
    return _html(document, part, terms)


def test_a_shared_clause_reads_as_a_fresh_render_in_every_text():
    standard = Document(parts=(SECURITY, BREACH))
    # Another agreement inserted a clause before both: the same clause object, other numbers.
    moved = Document(parts=(INSERTED, SECURITY, BREACH))
    # And one before the breach clause only: the reference reads differently.
    cited_moved = Document(parts=(SECURITY, INSERTED, BREACH))
    expected = [
        _fresh(standard, SECURITY),
        _fresh(moved, SECURITY),
        _fresh(cited_moved, SECURITY),
        _fresh(standard, SECURITY, ()),
    ]
    assert 'href="#clause-breach">Section 2' in expected[0]
    assert "Section 3" in expected[1] and "Section 3" in expected[2]
    assert expected[1] != expected[0] and expected[2] != expected[0]
    assert 'class="gloss"' in expected[0] and 'class="gloss"' not in expected[3]
    page_text._CLAUSE_HTML.clear()
    for _ in range(2):  # the second time from the memo
        assert [
            _html(standard, SECURITY),
            _html(moved, SECURITY),
            _html(cited_moved, SECURITY),
            _html(standard, SECURITY, ()),
        ] == expected


def test_the_standard_clause_is_rendered_once(monkeypatch):
    page_text._CLAUSE_HTML.clear()
    calls = []
    body = HtmlRenderer.body

    def counting(self, part, *, text=None):
        calls.append(part.key)
        return body(self, part, text=text)

    monkeypatch.setattr(HtmlRenderer, "body", counting)
    for _ in range(3):
        _html(Document(parts=(SECURITY, BREACH)), SECURITY)
    assert calls == ["security"]


def test_a_shared_clause_body_reads_as_its_own_text_in_each_document():
    """consolidation._text keeps a body's plain text by the same rule as its HTML."""
    from agreements.text import consolidation
    from agreements.text.document.plain import blocks_text
    from agreements.text.document.resolver import Resolver

    def fresh(document: Document) -> str:
        resolver = Resolver(document)
        pieces = blocks_text(SECURITY.blocks, resolver, resolver.chain("security"))
        return "\n\n".join(piece for piece in pieces if piece)

    documents = [
        Document(parts=(SECURITY, BREACH)),
        Document(parts=(SECURITY, INSERTED, BREACH)),  # the cited clause moved
    ]
    expected = [fresh(document) for document in documents]
    assert "Section 2" in expected[0] and "Section 3" in expected[1]
    consolidation._BODY_TEXT.clear()
    for _ in range(2):
        assert [
            consolidation._text(SECURITY.blocks, Resolver(d), Resolver(d).chain("security"))
            for d in documents
        ] == expected
