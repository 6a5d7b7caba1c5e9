"""What each consolidated clause says the standard read (``template_body``,
``template_parameters``): terms checks and deviation marks compare against it. A clause the
standard wrote and nothing changed reads the same as the text; a fill-in, a replacement and
a deletion each leave the standard's own reading in place."""

from __future__ import annotations

from types import SimpleNamespace

from agreements.text.consolidation import consolidate

VALUES = {"breach_notice_hours": 48, "retention_days": 365}


def _clause(key: str, body: str, heading: str = "") -> SimpleNamespace:
    return SimpleNamespace(key=key, number="", heading=heading or key.title(), body=body)


CLAUSES = [
    _clause("breach", "Notify within [[breach_notice_hours]] hours of a breach."),
    _clause("retention", "Keep the data [[retention_days]] days, then destroy it."),
    _clause("contact", "The contact for this agreement is [Name], reachable by e-mail."),
    _clause("plain", "Nothing to fill here."),
]


def _by_key(text):
    return {c.key: c for c in text.clauses}


def test_an_unchanged_clause_reads_as_the_standard_filled_with_the_same_terms():
    text = _by_key(consolidate(clauses=CLAUSES, accepted_overrides=[], values=VALUES))
    breach = text["breach"]
    assert "48 hours" in breach.body
    assert breach.template_body == breach.body
    assert breach.parameters == breach.template_parameters == ("breach_notice_hours",)
    assert text["plain"].template_body == text["plain"].body
    assert text["plain"].template_parameters == ()


def test_a_fill_in_leaves_the_standard_reading_its_blank():
    blank = next(
        f
        for f in consolidate(clauses=CLAUSES, accepted_overrides=[], values=VALUES).fillins
        if f.part_key == "contact"
    )
    fillins = {blank.id: {"value": "Dana Ortiz", "prompt": blank.prompt, "anchor": blank.anchor}}
    text = _by_key(
        consolidate(clauses=CLAUSES, accepted_overrides=[], values=VALUES, fillins=fillins)
    )
    contact = text["contact"]
    assert "Dana Ortiz" in contact.body
    assert "Dana Ortiz" not in contact.template_body
    assert "Name" in contact.template_body
    # The other clauses are still the standard's own.
    assert text["breach"].template_body == text["breach"].body


def test_a_replaced_clause_keeps_the_standard_s_reading_and_terms():
    override = SimpleNamespace(
        id=1,
        kind="replace",
        clause_key="breach",
        new_key="",
        heading="",
        body="Notify within 24 hours of a breach.",
        blocks=None,
    )
    text = _by_key(consolidate(clauses=CLAUSES, accepted_overrides=[override], values=VALUES))
    breach = text["breach"]
    assert breach.body.startswith("Notify within 24 hours")
    assert "48 hours" in breach.template_body
    assert breach.parameters == ()
    assert breach.template_parameters == ("breach_notice_hours",)
