"""Real agreements (shared/corpus) read the same whether their text is derived with the
process's memos warm from other agreements on the same template or from nothing: the
consolidated text (its hash, each clause's text, what the standard reads, the terms each
clause uses) and the agreement page's HTML of every clause (agreements.text.document.memo).
Three agreements on one imported template: two whose terms read alike, one of them with the
document's blanks filled in, and one with terms of its own, in another partnership, filled in
too."""

from __future__ import annotations

import datetime as dt

import pytest

from agreements import page_text
from agreements.models import Agreement
from agreements.negotiation.services import agreement_create, agreement_open_negotiation
from agreements.review import tracked_changes
from agreements.selectors import _consolidate, placeholder_values, with_agreement_detail
from agreements.text.document import memo
from tests.agreements.test_structured_rendering import (
    DUA,
    MASTER,
    fill_in_every_blank,
    imported_version,
)


def _agreements(demo, corpus: str) -> list[Agreement]:
    version = imported_version(demo, corpus)
    director = demo["users"]["director"]
    made = []
    for trio_slug, hours, retention, fill in (
        ("adaptive-practice", 72, 90, True),
        ("adaptive-practice", 72, 90, False),
        ("open-curriculum", 24, 365, True),
    ):
        trio = demo["trios"][trio_slug]
        made.append(
            agreement_create(
                trio=trio,
                template_version=version,
                by=director,
                title=f"Study under {corpus}",
                purpose="Learn what keeps students in school.",
                sharing_mode="analysis",
                start_date=dt.date(2026, 9, 1),
                term_months=24,
                breach_notice_hours=hours,
                retention_days=retention,
                research_questions=list(trio.research_questions.all()),
            )
        )
        if fill:
            agreement_open_negotiation(agreement=made[-1], by=director)
            fill_in_every_blank(made[-1], director)
    return made


def _read(agreement: Agreement) -> tuple:
    agreement = with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)
    text = _consolidate(agreement)
    against = tracked_changes.against_choice(None)
    html = page_text._text_html(agreement, text, placeholder_values(agreement), against)
    clauses = [
        (c.key, c.number, c.body, c.template_body, c.parameters, c.template_parameters)
        for c in text.clauses
    ]
    return text.sha256, clauses, text.unfilled, {k: str(v) for k, v in html.clauses.items()}


@pytest.mark.parametrize("corpus", [DUA, MASTER])
def test_a_real_agreement_reads_the_same_with_the_memos_warm_or_cold(demo, corpus):
    agreements = _agreements(demo, corpus)
    memo.clear_all()
    warm = [_read(a) for a in agreements]  # each after the ones before it
    cold = []
    for agreement in agreements:
        memo.clear_all()
        cold.append(_read(agreement))
    assert warm == cold
    hashes = {each[0] for each in warm}
    assert len(hashes) == 3, "three different texts"
    # Where the first is filled in, it reads its answers and the standard its blanks; the
    # second, not filled in, reads as the standard there.
    filled, blank = warm[0][1], warm[1][1]
    changed = [f for f, b in zip(filled, blank, strict=True) if f[2] != b[2]]
    assert changed, "the corpus document has blanks to fill in"
    for key, _number, body, template_body, *_ in changed:
        assert body != template_body, key
    # (The generated schedule of data elements is no clause of the standard's.)
    assert all(b[2] == b[3] for b in blank if b[0] != "data-element-schedule")
