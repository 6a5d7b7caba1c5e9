"""The agreement's text as its page shows it, the same for every viewer: each clause's HTML
(glossary terms marked), each proposal as it would read, and as tracked changes. Derived once
per distinct input (collaboratory.derived) by the page, and ahead of the page by the
``agreements.warm_agreement_page`` task when the parties are told of a change, so the people
notified find it ready."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.safestring import SafeString

from agreements import parameters
from agreements.models import Agreement
from agreements.review import tracked_changes
from agreements.selectors import (
    consolidated_text,
    override_inputs,
    parties,
    placeholder_values,
    text_inputs,
    with_agreement_detail,
)
from agreements.text.consolidation import ConsolidatedText, fill_blocks, stored_blocks
from agreements.text.document.html import HtmlRenderer
from agreements.text.document.memo import ContextMemo
from agreements.text.document.model import Block, Part
from agreements.text.document.retarget import refs_read
from agreements.text.glossary import Term, TermMarker, glossary_for
from agreements.text.placeholders import PlaceholderValue
from agreements.text.tracked import TrackedProposal
from collaboratory.derived import derived, derived_key, source_version

#: The code the page's text HTML is derived by (collaboratory.derived).
PAGE_TEXT_CODE = source_version(
    "agreements.text",
    "agreements.review",
    "agreements.parameters",
    "agreements.selectors",
    "agreements.page_text",
)


@dataclass(frozen=True)
class TextHtml:
    """The agreement's text as the page shows it, the same for every viewer: each clause's
    HTML (glossary terms marked), each proposal as it would read, and as tracked changes."""

    clauses: dict[str, SafeString]
    proposals: dict[int, SafeString]
    tracked: dict[int, TrackedProposal]


CLAUSE_ID_PREFIX = "clause-"

#: A clause's HTML by the identity of its blocks (agreements.text.document.memo), then by all
#: else it depends on: its key (ids), its numbering chain (list labels), the glossary (marked
#: terms) and what each of its references reads in this text. The walks keep an unchanged
#: clause the same object in every agreement on one template, so the standard's clauses are
#: rendered once per process and not once per agreement. Bounded for a worker that lives for
#: days: ~1,000 clauses (25 templates' worth, or the agreement-specific clauses of the last
#: few dozen texts), each in at most 8 numberings, at ~2 kB of HTML apiece: 16 MB at worst.
_CLAUSE_HTML: ContextMemo[tuple[Block, ...], SafeString] = ContextMemo(1024, contexts=8)


def clause_html(renderer: HtmlRenderer, part: Part, terms: tuple[Term, ...]) -> SafeString:
    """``renderer.body`` of ``part`` with ``terms`` marked, as the page shows it."""

    def render() -> SafeString:
        return renderer.body(part, text=TermMarker(terms, id_prefix=part.key))

    resolver = renderer.resolver
    if resolver is None or renderer.params or type(part.blocks) is not tuple:
        return render()
    context = (
        renderer.id_prefix,
        part.key,
        resolver.chain(part.key),
        terms,
        refs_read(part.blocks, resolver),
    )
    return _CLAUSE_HTML.get(part.blocks, context, render)


def _text_html(
    agreement: Agreement,
    text: ConsolidatedText,
    values: dict[str, PlaceholderValue | None],
    against: str,
) -> TextHtml:
    # One renderer for the page: references link to the clauses' articles (#clause-KEY).
    renderer = HtmlRenderer(text.document, id_prefix=CLAUSE_ID_PREFIX)
    terms = tuple(glossary_for(text.clauses))
    return TextHtml(
        clauses={
            clause.key: clause_html(renderer, clause.part, terms)
            for clause in text.clauses
            if clause.part is not None
        },
        # As each proposal would read: its terms over the agreement's values.
        proposals={
            override.pk: renderer.loose_blocks(
                fill_blocks(
                    stored_blocks(override.blocks, override.body),
                    parameters.overlay(values, override.parameters, "to"),
                )
            )
            for override in agreement.overrides.all()
        },
        # Each proposal as tracked changes by its party, against the text now or the standard.
        tracked=tracked_changes.proposals_tracked(agreement, text, against=against),
    )


NAMESPACE = "agreement-page-text"


def page_text_inputs(agreement: Agreement, against: str) -> dict[str, Any]:
    """Everything the page's text HTML is derived from: the text's inputs, every proposal's
    content and status, the parties (whose names and colours mark the changes), ``against``."""
    return {
        "text": text_inputs(agreement),
        "overrides": [
            [*override_inputs(o), o.organisation.name, o.target_key]
            for o in agreement.overrides.all()
        ],
        "parties": [[m.organisation_id, m.organisation.name, m.role] for m in parties(agreement)],
        "against": against,
    }


def page_text_key(agreement: Agreement, against: str) -> str:
    """Where the page's text HTML is kept once derived (collaboratory.derived)."""
    return derived_key(NAMESPACE, page_text_inputs(agreement, against), code=PAGE_TEXT_CODE)


def page_text(agreement: Agreement, text: ConsolidatedText, against: str) -> TextHtml:
    """``_text_html``, derived once per distinct input (``page_text_inputs``)."""
    values = placeholder_values(agreement)
    return derived(
        NAMESPACE,
        page_text_inputs(agreement, against),
        lambda: _text_html(agreement, text, values, against),
        code=PAGE_TEXT_CODE,
    )


def page_text_ready(agreement_id: str) -> bool:
    """Derive agreement ``agreement_id``'s text and its page's text HTML (as a page view with
    no ``against`` asked for would) unless they are derived already; False when there is no
    such agreement. Run by ``agreements.warm_agreement_page`` after a change the parties are
    told of: the derived values land in the shared cache, so the first of them to open the
    page does not wait for them."""
    agreement = with_agreement_detail(Agreement.objects.filter(pk=agreement_id)).first()
    if agreement is None:
        return False
    text = consolidated_text(agreement)
    page_text(agreement, text, tracked_changes.against_choice(None))
    return True
