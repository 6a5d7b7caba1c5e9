"""Full-text search across what a user may see: agreements (title, purpose, reference),
trios, organisations, standard clause text (clauses of the template versions their visible
agreements use) and the clause text the parties proposed (overrides of visible agreements).

PostgreSQL does the matching and ranking (``websearch_to_tsquery``, ``ts_rank`` over the
documents it stores beside each row, :class:`StoredDocument`) and marks the matches
(``ts_headline``, only for the rows a page shows). The kinds that grow with the agreements
rank at most :data:`CANDIDATES` matches, the most recently changed, so a word every agreement
has costs the same at 10,000 agreements as at 100,000.

Excerpts are user text, so :func:`highlight` escapes them whole and only then turns the
random markers PostgreSQL put around matches into ``<mark>`` elements: nothing a clause or
proposal says can become markup.

Excerpts (:func:`snippet`) are cut here rather than by ``ts_headline``'s word counts: they
start where the sentence with the first match starts (or, in a long sentence, at a word with
an ellipsis before it), end at a word boundary with an ellipsis when cut, and show a clause's
terms as the agreement fills them (``[[breach_notice_hours]]`` reads "48"; a standard
clause, which no agreement fills yet, names the term).

Agreements are found by their words, by their reference or a fragment of it ("2026-002",
``agreements.text.search_documents.reference_phrase``) and by the names of their parties.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from functools import partial
from itertools import accumulate
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorField,
)
from django.db import connection
from django.db.models import (
    BooleanField,
    Expression,
    ExpressionWrapper,
    F,
    Func,
    JSONField,
    Prefetch,
    Q,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString

from agreements import parameters
from agreements.models import Agreement, Clause, ClauseOverride
from agreements.selectors import placeholder_values
from agreements.text.search_documents import CONFIG, REFERENCE_CONFIG, reference_phrase
from agreements.text.titles import numbered_heading
from collaboratory.arrays import among
from collaboratory.prepared import shaped_rows
from collaboratory.safe_html import sanitised
from partners import selectors as partner_selectors
from partners.models import Membership, Organisation, Trio, TrioMember
from partners.selectors import AnyUser

KINDS = {
    "agreements": "Agreements",
    "trios": "Partnerships",
    "organisations": "Organisations",
    "clauses": "Standard clauses",
    "changes": "Proposed clause text",
}
MAX_QUERY_LENGTH = 200
SNIPPET_CHARS = 240  # about two lines of a result
SNIPPET_LEAD = 180  # of them at most this many before the first match


@dataclass(frozen=True)
class Markers:
    """Random start/stop strings for ``ts_headline``: no text can contain them by chance or
    by design, so after escaping they are the only places a <mark> may go."""

    start: str
    stop: str
    # Around a term's filled value (``[[breach_notice_hours]]`` -> "48"), made a
    # <span class="term-value"> like the agreement page's terms.
    term_start: str = "@@term@@"
    term_stop: str = "@@/term@@"

    @classmethod
    def new(cls) -> Markers:
        token = secrets.token_hex(8)
        return cls(
            start=f"@@hl{token}@@",
            stop=f"@@/hl{token}@@",
            term_start=f"@@tv{token}@@",
            term_stop=f"@@/tv{token}@@",
        )


def highlight(text: str | None, markers: Markers) -> SafeString:
    """Escape ``text`` (a ts_headline excerpt of user text) completely, then replace the
    escaped markers with <mark>/</mark>. Unbalanced markers cannot occur (PostgreSQL emits
    them in pairs), but a stray stop marker is dropped rather than closing foreign markup."""
    escaped = str(escape(text or ""))
    start, stop = str(escape(markers.start)), str(escape(markers.stop))
    out: list[str] = []
    open_mark = False
    for index, part in enumerate(escaped.split(start)):
        if index > 0:
            out.append("<mark>")
            open_mark = True
        if open_mark and stop in part:
            before, _, after = part.partition(stop)
            out.append(before + "</mark>" + after.replace(stop, ""))
            open_mark = False
        else:
            out.append(part.replace(stop, ""))
    if open_mark:
        out.append("</mark>")
    html = "".join(out)
    term_start, term_stop = str(escape(markers.term_start)), str(escape(markers.term_stop))
    if html.count(term_start) == html.count(term_stop):  # snippet() puts them in pairs
        html = html.replace(term_start, '<span class="term-value">').replace(term_stop, "</span>")
    else:
        html = html.replace(term_start, "").replace(term_stop, "")
    # Everything above is escaped text plus the literal <mark>, </mark>, <span
    # class="term-value"> and </span> tags; nh3 makes sure of it.
    return sanitised(html)


def _plain(text: str, markers: Markers) -> str:
    for marker in (markers.start, markers.stop, markers.term_start, markers.term_stop):
        text = text.replace(marker, "")
    return text


def _fill_terms(text: str, markers: Markers, values: Mapping[str, Any] | None) -> str:
    """``[[name]]`` as the agreement fills it (between term markers), or, without values (a
    standard clause), the term's name. A match PostgreSQL marked inside the name is dropped."""
    hl = f"(?:{re.escape(markers.start)}|{re.escape(markers.stop)})"
    pattern = re.compile(rf"\[\[((?:[a-z0-9_]|{hl})+)\]\]")

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).replace(markers.start, "").replace(markers.stop, "")
        value = (values or {}).get(name)
        if value in (None, ""):
            words = f"the {parameters.label(name).lower()}" if name in parameters.TERMS else name
            return f"{markers.term_start}{words}{markers.term_stop}"
        return f"{markers.term_start}{parameters.filled(name, value)}{markers.term_stop}"

    return pattern.sub(fill, text)


_MARKDOWN = re.compile(r"(\*\*|__|^\s*(?:#{1,6}|[-*+]|\d+\.)\s+)", re.MULTILINE)
#: A Markdown link, "[Schedule A](#schedule-a)": an excerpt reads its words only. (A term,
#: "[[name]]", is no link: its "]" is followed by another "]".)
_LINK = re.compile(r"\[([^\[\]]*)\]\([^()\s]*\)")
_SENTENCE_END = re.compile(r"[.;:!?][\"'’”)\]]*$")


def snippet(
    text: str | None,
    markers: Markers,
    *,
    values: Mapping[str, Any] | None = None,
    limit: int = SNIPPET_CHARS,
) -> SafeString:
    """An excerpt of ``text`` (a ``ts_headline`` of the whole field, every match between
    ``markers``) around its first match, as safe HTML: from the start of that match's
    sentence (a long sentence from a word shortly before the match, after "…") to about
    ``limit`` characters, cut after a word ("…") or at the end of a sentence; terms filled
    from ``values``."""
    text = _fill_terms(_LINK.sub(r"\1", _MARKDOWN.sub("", text or "")), markers, values)
    lines = text.splitlines()
    # Only the first match's line and the lines after it, until the excerpt's limit, can be
    # shown: a sentence never runs across lines (each line's last word ends one), and a lead
    # cut short stays inside the match's sentence. Reading every word of a long clause was
    # most of the search page's Python.
    first = next((i for i, line in enumerate(lines) if markers.start in line), 0)
    words: list[str] = []
    ends: list[bool] = []  # whether words[i] ends a sentence or a paragraph
    lengths: list[int] = []  # each word's visible length (markers left out)
    hit = -1  # the first word with a match (the first word when none has), once read
    for line in lines[first:]:
        line_words = line.split()
        words += line_words
        for word in line_words:
            visible = _plain(word, markers)
            lengths.append(len(visible))
            ends.append(bool(_SENTENCE_END.search(visible)))
        if ends:
            ends[-1] = True
            if hit < 0:  # the match is on the first line read, if anywhere
                hit = next((i for i, w in enumerate(words) if markers.start in w), 0)
            # Past the limit from the match's word (spaces counted): no later word can show.
            if sum(lengths[hit:]) + len(lengths) - hit - 1 > limit:
                break
    if not words:
        return highlight("", markers)
    # The visible length of " ".join(words[a:b]) is offsets[b] - offsets[a] + the spaces:
    # one pass, where joining and measuring each candidate cut grew with its square.
    offsets = list(accumulate(lengths, initial=0))

    def visible_length(a: int, b: int) -> int:
        return offsets[b] - offsets[a] + max(b - a - 1, 0)

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


@dataclass(frozen=True)
class Filters:
    kind: str = ""  # one of KINDS, or "" for every kind
    status: str = ""
    trio_id: int | None = None


#: At most this many matches of a kind that grows with the agreements (agreements, proposed
#: clause text) are ranked: the most recently changed ones. A common word matches nearly
#: every agreement; ranking, counting or paging all of them would grow with the total.
CANDIDATES = 200


class StoredDocument(Expression):
    """The table's ``search_document`` column: the full-text document PostgreSQL keeps
    beside each row (migration 0014, GIN-indexed), so matching and ranking read a stored
    ``tsvector`` instead of parsing the text again. Not a model field: only search reads it."""

    output_field = SearchVectorField()

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[()]]:
        table = compiler.quote_name(compiler.query.base_table)
        return f"{table}.search_document", ()


def visible_trio_ids(user: AnyUser) -> list[int]:
    """The ids of the trios ``user`` may see: everything search shows belongs to one."""
    return partner_selectors.visible_trio_ids(user)


@dataclass(frozen=True)
class Asked:
    """One search as its statements take it. Every field but the last two is a parameter of
    them, never part of their SQL: so :func:`preview` compiles one statement per kind and
    :meth:`shape` and runs it for every search (``collaboratory.prepared.shaped_rows``)."""

    words: str  # as typed, in websearch syntax (quotes, "or", -word)
    exact: str  # the whole text: a reference typed whole
    phrase: str  # the parts of a reference or a fragment of one ("2026 002"), if it is one
    trio_ids: list[int]  # visible, and the chosen one when filtered
    party_trio_ids: list[int]  # of those, the trios with a party named by the words
    status: str  # "" for any
    options: str  # ts_headline's options: this search's markers
    user_id: int
    # The shape: which parts the statements have.
    by_phrase: bool  # the text looks like a reference
    by_status: bool
    own_organisations: bool  # no partnership chosen: the user's own organisations count
    superuser: bool

    def shape(self) -> tuple[bool, ...]:
        return tuple(getattr(self, name) for name in _SHAPE)

    def values(self) -> dict[str, Any]:
        """The fields the statements take as parameters: all but the shape."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _SHAPE}


#: The fields of :class:`Asked` that change the statements themselves.
_SHAPE = ("by_phrase", "by_status", "own_organisations", "superuser")


def asked(
    user: AnyUser,
    text: str,
    filters: Filters,
    markers: Markers,
    *,
    trio_ids: list[int] | None = None,
    parties: bool = True,
) -> Asked:
    """``text`` under ``filters``, as ``user`` asks it. ``trio_ids``: the trios ``user`` may
    see, when the caller has read them already; ``parties``: read which trios have a party
    named by the words (only agreements need them: one query)."""
    text = text[:MAX_QUERY_LENGTH]
    ids = visible_trio_ids(user) if trio_ids is None else trio_ids
    if filters.trio_id:
        ids = [pk for pk in ids if pk == filters.trio_id]
    options = f"StartSel='{markers.start}', StopSel='{markers.stop}', HighlightAll=true"
    phrase = reference_phrase(text) or ""
    active = user.is_authenticated and user.is_active
    return Asked(
        words=text,
        exact=text.strip(),
        phrase=phrase,
        trio_ids=ids,
        party_trio_ids=_trios_with_a_party_named(text, ids) if parties and ids else [],
        status=filters.status,
        options=options,
        user_id=(user.pk or 0) if active else 0,  # memberships_of: none for an inactive user
        by_phrase=bool(phrase),
        by_status=bool(filters.status),
        own_organisations=not filters.trio_id,
        superuser=bool(active and user.is_superuser),
    )


def _query(asked: Asked) -> SearchQuery:
    return SearchQuery(asked.words, search_type="websearch", config=CONFIG)


class _Headline(Func):
    """``ts_headline`` of one field with every match marked: Django's SearchHeadline quotes
    each option through the database driver on every compile, which for the dozen
    headlines of a page cost more than the rest of its query building."""

    function = "ts_headline"
    template = f"%(function)s('{CONFIG}'::regconfig, %(expressions)s)"
    output_field = TextField()


def _whole(field: str, query: SearchQuery, asked: Asked) -> _Headline:
    """The whole field with every match between the markers (:attr:`Asked.options`);
    :func:`snippet` cuts the long ones to an excerpt."""
    return _Headline(F(field), query, Value(asked.options))


def _trios_with_a_party_named(text: str, ids: list[int]) -> list[int]:
    """The trios among ``ids`` with a member whose name matches ``text``, read first (one
    small query): as a known array, PostgreSQL estimates the agreements it selects; as a
    subquery's array it guessed a few percent of all agreements, walked them newest first
    looking for matches of a rare word and read all 100,000."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT m.trio_id FROM partners_triomember m"
            " JOIN partners_organisation o ON o.id = m.organisation_id"
            " WHERE m.trio_id = ANY(%s)"
            " AND to_tsvector('english'::regconfig, COALESCE(o.name, ''))"  # CONFIG
            " @@ websearch_to_tsquery('english'::regconfig, %s)",
            [ids, text[:MAX_QUERY_LENGTH]],
        )
        return [row[0] for row in cursor.fetchall()]


#: The parties' names, in role order, of the agreement a top-level query selects.
_PARTY_NAMES = RawSQL(
    "ARRAY(SELECT o.name FROM partners_triomember m"
    " JOIN partners_organisation o ON o.id = m.organisation_id"
    ' WHERE m.trio_id = "agreements_agreement"."trio_id" ORDER BY m.role)',
    (),
    output_field=ArrayField(TextField()),
)


def _agreements(asked: Asked) -> QuerySet[Agreement]:
    """Agreements by their words (title, purpose), their reference or a fragment of it, and
    their parties' names: the best-ranked of the CANDIDATES (+1, to tell there are more)
    most recently changed matches."""
    words = _query(asked)
    query = (
        words | SearchQuery(asked.phrase, search_type="phrase", config=REFERENCE_CONFIG)
        if asked.by_phrase
        else words
    )
    visible = Agreement.objects.filter(among("trio_id", asked.trio_ids))
    if asked.by_status:
        visible = visible.filter(status=asked.status)
    candidates = (
        visible.annotate(document=StoredDocument())
        .filter(
            Q(document=query)
            | Q(reference__iexact=asked.exact)
            | among("trio_id", asked.party_trio_ids)
        )
        .order_by("-updated_at")
        .values("pk")[: CANDIDATES + 1]
    )
    return (
        Agreement.objects.filter(pk__in=candidates)
        .annotate(
            rank=SearchRank(StoredDocument(), query),
            title_hl=_whole("title", query, asked),
            purpose_hl=_whole("purpose", words, asked),
            party_names=_PARTY_NAMES,
        )
        # What a result shows: not the agreement's terms, summary and other long fields.
        .only("reference", "title", "status", "updated_at", "trio__name")
        .select_related("trio")
        .order_by("-rank", "-updated_at", "pk")
    )


def _trios(asked: Asked) -> QuerySet[Trio]:
    query = _query(asked)
    vector = SearchVector("name", weight="A", config=CONFIG) + SearchVector(
        "description", weight="B", config=CONFIG
    )
    return (
        Trio.objects.filter(among("id", asked.trio_ids))
        .annotate(document=vector)
        .filter(document=query)
        .annotate(
            rank=SearchRank(vector, query),
            name_hl=_whole("name", query, asked),
            description_hl=_whole("description", query, asked),
        )
        .select_related("collaboratory")
        .order_by("-rank", "name", "pk")
    )


def _organisations(asked: Asked) -> QuerySet[Organisation]:
    """The members of the visible trios (of the chosen one) and, without a partnership
    filter, the user's own organisations."""
    query = _query(asked)
    vector = SearchVector("name", weight="A", config=CONFIG) + SearchVector(
        "contact_name", weight="C", config=CONFIG
    )
    members = TrioMember.objects.filter(among("trio_id", asked.trio_ids))
    organisations = Organisation.objects.filter(id__in=members.values("organisation_id"))
    if asked.own_organisations:
        # partners.selectors.organisations_visible_to, with the trios already known (and the
        # user's memberships by id: memberships_of, whose user is a parameter here).
        own = Membership.objects.filter(user_id=asked.user_id).values("organisation_id")
        organisations = (
            Organisation.objects.all()
            if asked.superuser
            else Organisation.objects.filter(
                Q(id__in=members.values("organisation_id")) | Q(id__in=own)
            )
        )
    return (
        organisations.annotate(document=vector)
        .filter(document=query)
        .annotate(rank=SearchRank(vector, query), name_hl=_whole("name", query, asked))
        .order_by("-rank", "name", "pk")
    )


def _clauses(asked: Asked) -> QuerySet[Clause]:
    """Standard clauses of the template versions the user's visible agreements use, each
    with (up to five of) those agreements to open it in."""
    query = _query(asked)
    # The visible agreements of the clause's version (of the chosen status, if any), in raw
    # SQL for the same reason as _trios_with_a_party_named.
    params = (asked.trio_ids, asked.status, asked.status)
    # A version is used when one visible agreement uses it: one index probe per version,
    # not a pass over every visible agreement. (OFFSET 0 keeps PostgreSQL from turning the
    # probe into a join, which hashed all 100,000 agreements to find the one version.)
    used = RawSQL(
        "agreements_clause.version_id IN (SELECT v.id FROM agreements_templateversion v"
        " WHERE EXISTS (SELECT 1 FROM agreements_agreement a WHERE a.template_version_id = v.id"
        " AND a.trio_id = ANY(%s) AND (%s = '' OR a.status = %s) OFFSET 0))",
        params,
    )
    used_by = RawSQL(
        "ARRAY(SELECT jsonb_build_object('pk', a.id, 'reference', a.reference, 'title', a.title)"
        " FROM agreements_agreement a WHERE a.template_version_id = agreements_clause.version_id"
        " AND a.trio_id = ANY(%s) AND (%s = '' OR a.status = %s)"
        " ORDER BY a.updated_at DESC LIMIT 5)",
        params,
        output_field=ArrayField(JSONField()),
    )
    return (
        Clause.objects.filter(ExpressionWrapper(used, output_field=BooleanField()))
        .annotate(document=StoredDocument())
        .filter(document=query)
        .annotate(
            rank=SearchRank(StoredDocument(), query),
            heading_hl=_whole("heading", query, asked),
            body_hl=_whole("body", query, asked),
            used_by=used_by,
        )
        # The excerpt comes from body_hl: not the body and its structured blocks again.
        .defer("body", "blocks")
        .select_related("version__template")
        .order_by("-rank", "version_id", "order")
    )


# The number and heading of the standard clause a proposal changes (or follows), for a
# top-level query of proposals joined to their agreements; (version, key) is unique.
_STANDARD_NUMBER = RawSQL(
    "(SELECT c.number FROM agreements_clause c"
    ' WHERE c.version_id = "agreements_agreement"."template_version_id"'
    ' AND c.key = "agreements_clauseoverride"."clause_key")',
    (),
    output_field=TextField(),
)
_STANDARD_HEADING = RawSQL(
    "(SELECT c.heading FROM agreements_clause c"
    ' WHERE c.version_id = "agreements_agreement"."template_version_id"'
    ' AND c.key = "agreements_clauseoverride"."clause_key")',
    (),
    output_field=TextField(),
)


def _changes(asked: Asked) -> QuerySet[ClauseOverride]:
    """Clause text the parties proposed (clause overrides) in visible agreements, each with
    the number and heading of the clause it changes (or follows) in the standard: the
    best-ranked of the CANDIDATES (+1) most recent matches."""
    query = _query(asked)
    visible = ClauseOverride.objects.filter(among("agreement__trio_id", asked.trio_ids))
    if asked.by_status:
        visible = visible.filter(agreement__status=asked.status)
    candidates = (
        visible.annotate(document=StoredDocument())
        .filter(document=query)
        .order_by("-created_at")
        .values("pk")[: CANDIDATES + 1]
    )
    return (
        ClauseOverride.objects.filter(pk__in=candidates)
        .annotate(
            rank=SearchRank(StoredDocument(), query),
            heading_hl=_whole("heading", query, asked),
            body_hl=_whole("body", query, asked),
            rationale_hl=_whole("rationale", query, asked),
            reference=F("agreement__reference"),
            agreement_title=F("agreement__title"),
            clause_number=_STANDARD_NUMBER,
            clause_heading=_STANDARD_HEADING,
        )
        .select_related("organisation", "agreement__trio")
        # The parties' names fill [[district_name]] and the like in the excerpt.
        .prefetch_related(
            Prefetch(
                "agreement__trio__members",
                queryset=TrioMember.objects.select_related("organisation"),
            )
        )
        .order_by("-rank", "-created_at", "pk")
    )


SEARCHES: dict[str, Callable[[Asked], QuerySet]] = {
    "agreements": _agreements,
    "trios": _trios,
    "organisations": _organisations,
    "clauses": _clauses,
    "changes": _changes,
}


def _kinds(filters: Filters) -> list[str]:
    return [filters.kind] if filters.kind in SEARCHES else list(SEARCHES)


def search(
    user: AnyUser,
    text: str,
    filters: Filters,
    markers: Markers,
    *,
    trio_ids: list[int] | None = None,
) -> dict[str, QuerySet]:
    """One lazy queryset per kind the filters ask for (every kind when none is chosen), to
    count and page. ``trio_ids``: the trios ``user`` may see, when the caller has read them
    already."""
    kinds = _kinds(filters)
    question = asked(user, text, filters, markers, trio_ids=trio_ids, parties="agreements" in kinds)
    # Not prepared on the server (collaboratory.prepared): the visible trios travel as an
    # array parameter, and a generic plan made from a director's searches (a dozen trios)
    # took a facilitator's (every trio) from ~43 to ~140 ms.
    return {kind: SEARCHES[kind](question) for kind in kinds}


def preview(
    user: AnyUser,
    text: str,
    filters: Filters,
    markers: Markers,
    *,
    rows: int,
    trio_ids: list[int] | None = None,
) -> dict[str, list]:
    """The best ``rows`` matches of each kind the filters ask for, as :func:`search` finds
    them, with each kind's statement built and compiled once per process and shape
    (``shaped_rows``): building and compiling the five statements cost the ORM more than
    PostgreSQL took to run them. Not prepared on the server, as :func:`search`."""
    kinds = _kinds(filters)
    question = asked(user, text, filters, markers, trio_ids=trio_ids, parties="agreements" in kinds)
    return {
        # The number of rows is the statement's LIMIT: part of its name.
        kind: shaped_rows(
            f"search:{kind}:{rows}",
            partial(_preview_rows, SEARCHES[kind], rows),
            question.shape(),
            question.values(),
            on_server=False,
        )
        for kind in kinds
    }


def _preview_rows(
    build: Callable[[Asked], QuerySet], rows: int, *shape: bool, **values: Any
) -> QuerySet:
    """``build``'s first ``rows``, from the stand-ins ``shaped_rows`` gives for ``values``;
    the shape (:meth:`Asked.shape`) says which parts the statement has."""
    given: dict[str, Any] = {**values, **dict(zip(_SHAPE, shape, strict=True))}
    return build(Asked(**given))[:rows]


#: Fields that hold a whole short value, marked where it matches.
WHOLE_FIELDS = ("title_hl", "name_hl", "heading_hl")
#: Fields cut to an excerpt around their first match.
EXCERPT_FIELDS = ("purpose_hl", "description_hl", "body_hl", "rationale_hl")


def _term_values(row: Any) -> Mapping[str, Any] | None:
    """The values a proposal's text is read with: its agreement's, with the terms the
    proposal changes at their proposed values. None for a standard clause."""
    if not isinstance(row, ClauseOverride):
        return None
    values = dict(placeholder_values(row.agreement))
    for name, change in (row.parameters or {}).items():
        if isinstance(change, Mapping):
            values[name] = parameters.from_json(name, change.get("to"))
    return values


def presented(rows: Any, markers: Markers) -> list:
    """Each row's ``ts_headline`` fields as safe HTML: short ones marked whole, long ones
    cut to a :func:`snippet` with their terms filled; a proposal also gets ``clause_title``,
    the clause as the document names it."""
    rows = list(rows)
    for row in rows:
        values = _term_values(row)
        for name in WHOLE_FIELDS:
            if hasattr(row, name):
                setattr(row, name, highlight(getattr(row, name), markers))
        for name in EXCERPT_FIELDS:
            if hasattr(row, name):
                setattr(row, name, snippet(getattr(row, name), markers, values=values))
        if isinstance(row, ClauseOverride):
            number = getattr(row, "clause_number", "") or ""
            heading = getattr(row, "clause_heading", "") or ""
            title = numbered_heading(number, heading) or "a clause"
            setattr(row, "clause_title", title)  # noqa: B010 (an attribute only pages read)
    return rows
