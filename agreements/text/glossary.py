"""The glossary shown where terms appear in clause text: the product's domain terms and the
terms an agreement's own Definitions clause defines (``(a) “Aggregate Data” means …``).

Clause text is data: :func:`annotate` escapes every character of it and of the definitions,
and adds only its own fixed markup around the first occurrence of each term, so nothing in
the text can become HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from django.utils.html import escape
from django.utils.safestring import SafeString

from collaboratory.safe_html import escape_text, html_concat, html_format, sanitised

#: The product's terms, after the domain description the whole team shares (DOMAIN.md),
#: copied here as data: the running application never reads that file.
DOMAIN_TERMS: dict[str, str] = {
    "Collaboratory": "A community of practice that groups partnerships, for example fourteen "
    "trios working on algebra education.",
    "Trio": "A partnership of exactly three organisations, one per role: a research partner, a "
    "district and a curriculum developer.",
    "Research Question": "What the partnership wants to learn. Every requested data element "
    "must be tied to at least one research question.",
    "DSA Template": "The standard data-sharing agreement: an ordered list of clauses. A "
    "published template version never changes; a new version is a new one.",
    "Clause Override": "A change one party's legal team proposes to one clause: replace its "
    "text, insert a new clause after it, or delete it, always with a rationale.",
    "Consolidated Text": "The agreement's text: the template's clauses, plus the accepted "
    "changes, with every placeholder filled in.",
    "Deviation": "A clause whose agreed text differs from the standard template's.",
    "Sharing Mode": "Analysis (aggregate or de-identified data, lighter governance) or "
    "operations (identifiable data, frequent or real-time, strict governance).",
    "Data Element": "One field or dataset to be shared, with its source party, recipient, "
    "identifiability and the research questions it answers.",
    "Approval": "A party's legal sign-off on one exact text, identified by its SHA-256; any "
    "change to the text voids earlier approvals.",
    "Executed Agreement": "The agreement once every party has signed: a PDF of the text with "
    "a signature page and audit certificate, sealed with a digital signature.",
    "Consent": "A parent's or guardian's consent, recorded per student under a pseudonymous "
    "key the district controls; it can be withdrawn, and its history is never lost.",
    "Assent": "A student's own agreement (students under 18) to take part, alongside their "
    "parent's consent.",
}

#: Tooltips stay short; the Definitions clause has the full text.
MAX_DEFINITION_LENGTH = 320

_DEFINITION_RE = re.compile(r"“([^”\n]{2,80})”(?:\s+or\s+“([^”\n]{2,80})”)?\s+means\s+")


@dataclass(frozen=True)
class Term:
    term: str
    definition: str
    source: str  # "agreement" (its Definitions clause) or "glossary" (the product's terms)


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_DEFINITION_LENGTH:
        return text
    cut = text[: MAX_DEFINITION_LENGTH - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def defined_terms(body: str) -> dict[str, str]:
    """Terms a Definitions clause defines: ``“Term” means …`` (optionally ``“A” or “B”
    means …``), each definition running to the next definition or the end of its paragraph."""
    terms: dict[str, str] = {}
    for paragraph in re.split(r"\n+", body):
        matches = list(_DEFINITION_RE.finditer(paragraph))
        for index, match in enumerate(matches):
            end = matches[index + 1].start() if index + 1 < len(matches) else len(paragraph)
            definition = paragraph[match.end() : end].strip()
            # “Assent” is defined mid-paragraph: drop the opening quote of the next term.
            definition = definition.rstrip("“ ").strip()
            if not definition:
                continue
            names = [match.group(1), match.group(2)] if match.group(2) else [match.group(1)]
            for name in names:
                terms.setdefault(name.strip(), _shorten(f"{name.strip()} means {definition}"))
    return terms


class ClauseText(Protocol):
    """What the glossary reads of any clause (a template clause or a consolidated one)."""

    @property
    def body(self) -> str: ...


def glossary_for(clauses: Iterable[ClauseText]) -> list[Term]:
    """The glossary of an agreement's text: the terms its Definitions clause defines (those
    win) and the product's own terms. ``clauses`` have ``key``, ``heading`` and ``body``."""
    agreement_terms: dict[str, str] = {}
    for clause in clauses:
        if getattr(clause, "key", "") == "definitions" or (
            getattr(clause, "heading", "").strip().lower() == "definitions"
        ):
            agreement_terms.update(defined_terms(clause.body))
    terms = [Term(t, d, "agreement") for t, d in agreement_terms.items()]
    taken = {t.lower() for t in agreement_terms}
    terms += [Term(t, d, "glossary") for t, d in DOMAIN_TERMS.items() if t.lower() not in taken]
    return terms


def _pattern(terms: Iterable[Term]) -> re.Pattern[str] | None:
    return _names_pattern(frozenset(t.term for t in terms))


# One pattern per glossary (each clause of a page marks terms with the same one).
@lru_cache(maxsize=256)
def _names_pattern(unique: frozenset[str]) -> re.Pattern[str] | None:
    names = sorted(unique, key=len, reverse=True)  # longest first
    if not names:
        return None
    alternatives = "|".join(re.escape(name) for name in names)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


def _paragraphs(html_pieces: list[tuple[bool, str]]) -> str:
    """Join (is_markup, text) pieces into paragraphs the way ``linebreaks`` does: blank lines
    separate paragraphs, single newlines become <br>. Text pieces are escaped here."""
    out: list[str] = []
    for is_markup, piece in html_pieces:
        if is_markup:
            out.append(piece)
            continue
        piece = piece.replace("\r\n", "\n").replace("\r", "\n")
        escaped: str = escape(piece)
        escaped = re.sub(r"\n{2,}", "\x00P\x00", escaped)  # control chars never survive escape
        escaped = escaped.replace("\n", "<br>").replace("\x00P\x00", "</p>\n\n<p>")
        out.append(escaped)
    return "<p>" + "".join(out) + "</p>"


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(text: str) -> str:
    return _CONTROL_RE.sub("", text)


def _term_markup(name: str, term: Term, tip_id: str) -> str:
    """The fixed markup of one marked term: escaped name and definition, an id restricted to
    [A-Za-z0-9_-]."""
    return (
        f'<span class="gloss"><button type="button" class="gloss__term" '
        f'aria-describedby="{tip_id}">{escape(name)}</button>'
        f'<span class="gloss__tip" role="tooltip" id="{tip_id}">'
        f"{escape(_clean(term.definition))}</span></span>"
    )


def _term_html(name: str, term: Term, tip_id: str) -> SafeString:
    """``_term_markup`` built by ``html_format``: every value escaped."""
    return html_format(
        '<span class="gloss"><button type="button" class="gloss__term" '
        'aria-describedby="{}">{}</button>'
        '<span class="gloss__tip" role="tooltip" id="{}">{}</span></span>',
        tip_id,
        name,
        tip_id,
        _clean(term.definition),
    )


class TermMarker:
    """Marks the first occurrence of each term across the runs of text of one clause (the text
    pieces of a structured body, in reading order), escaping every character: a text hook for
    :class:`agreements.text.document.html.HtmlRenderer`."""

    def __init__(self, terms: Iterable[Term], *, id_prefix: str) -> None:
        terms = list(terms)
        self.by_name: Mapping[str, Term] = {t.term: t for t in terms}
        self.pattern = _pattern(terms)
        self.seen: set[str] = set()
        self.prefix = re.sub(r"[^A-Za-z0-9_-]", "-", id_prefix)

    def __call__(self, text: str) -> SafeString:
        text = _clean(text)
        pieces: list[SafeString] = []
        position = 0
        if self.pattern is not None:
            for match in self.pattern.finditer(text):
                name = match.group(0)
                if name in self.seen:
                    continue
                self.seen.add(name)
                tip_id = f"gloss-{self.prefix}-{len(self.seen)}"
                pieces.append(escape_text(text[position : match.start()]))
                pieces.append(_term_html(name, self.by_name[name], tip_id))
                position = match.end()
        if not pieces:
            return escape_text(text)
        pieces.append(escape_text(text[position:]))
        # Escaped text and markup whose every value html_format escaped: safe as built, like
        # the document renderer around it (no second pass through nh3, which cost the
        # agreement page ~4 ms of every first view).
        return html_concat(pieces)


def annotate(body: str, terms: Iterable[Term], *, id_prefix: str) -> SafeString:
    """``body`` as escaped HTML paragraphs, with the first occurrence of each term marked up
    as a focusable term whose definition shows on hover and keyboard focus (CSS only) and is
    announced through ``aria-describedby``."""
    terms = list(terms)
    # Control characters have no place in clause text; dropping them keeps the paragraph
    # markers below unambiguous.
    body = _clean(str(body)).strip()
    by_name: Mapping[str, Term] = {t.term: t for t in terms}
    pattern = _pattern(terms)
    pieces: list[tuple[bool, str]] = []
    seen: set[str] = set()
    position = 0
    safe_prefix = re.sub(r"[^A-Za-z0-9_-]", "-", id_prefix)
    if pattern is not None:
        for match in pattern.finditer(body):
            name = match.group(0)
            if name in seen:
                continue
            seen.add(name)
            term = by_name[name]
            tip_id = f"gloss-{safe_prefix}-{len(seen)}"
            pieces.append((False, body[position : match.start()]))
            pieces.append((True, _term_markup(name, term, tip_id)))
            position = match.end()
    pieces.append((False, body[position:]))
    # Every piece of text went through escape(); the markup above is fixed apart from
    # escaped names, escaped definitions and an id restricted to [A-Za-z0-9_-]; nh3 makes
    # sure of it.
    return sanitised(_paragraphs(pieces))
