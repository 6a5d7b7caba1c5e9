"""The agreement list: what the viewer sees, most recently changed first, 25 at a time.

It costs the same at 100,000 agreements as at 1,000: pages follow a position in the order
(the last row's change time and id: "Older" continues after it, "Newer" before it), not a
page number, so no page skips over the rows before it; the count stops at COUNT_CAP ("more
than 1,000 agreements": use the filters); and the partnership filter offers a list only to
someone in a few partnerships: a facilitator types part of the name instead.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.dates import MONTHS_3

from agreements.models import Agreement, Status
from agreements.selectors import agreement_list_rows, agreements_listed_for_user
from agreements.signing.termination import ending_summary
from agreements.web.forms import AgreementFilterForm
from collaboratory.answers import kept_page
from partners.http import AuthenticatedHttpRequest
from partners.selectors import trio_choices, trios_visible_to

AGREEMENTS_PER_PAGE = 25
#: The count says "more than 1,000" past this: counting further costs time and tells nobody
#: anything the filters would not tell better.
COUNT_CAP = 1000
#: More partnerships than this and the filter is a name to type, not a list to scroll.
TRIO_CHOICES_MAX = 50

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Position:
    """A row's place in the list's order (``-updated_at, -id``), as a page link carries it."""

    updated_at: dt.datetime
    pk: uuid.UUID

    @classmethod
    def of(cls, agreement: Agreement) -> Position:
        return cls(agreement.updated_at, agreement.pk)

    @classmethod
    def parse(cls, token: str | None) -> Position | None:
        """The position in a link, or None (the first page) for anything else."""
        if not token:
            return None
        micros, _, pk = token.partition(".")
        try:
            return cls(_EPOCH + int(micros) * _MICROSECOND, uuid.UUID(pk))
        except (ValueError, OverflowError):
            return None

    def __str__(self) -> str:
        return f"{(self.updated_at - _EPOCH) // _MICROSECOND}.{self.pk}"

    def older(self) -> Q:
        """Rows after this one in the list (changed earlier)."""
        t = self.updated_at
        return Q(updated_at__lte=t) & (Q(updated_at__lt=t) | Q(id__lt=self.pk))

    def newer(self) -> Q:
        """Rows before this one in the list (changed later)."""
        t = self.updated_at
        return Q(updated_at__gte=t) & (Q(updated_at__gt=t) | Q(id__gt=self.pk))


@dataclass(frozen=True)
class Row:
    """One line of the table, written out here: 25 rows of ``{% url %}``, two ``|date``
    filters and ``get_status_display`` cost the template more than the page's queries."""

    href: str
    reference: str
    title: str
    partnership: str
    status: str
    status_label: str
    ending: str
    expires_iso: str
    expires_text: str
    open_proposals: int


#: The detail page's address with a stand-in id: each row's is this with its own id.
_ANY_ID = uuid.UUID(int=0)


def _rows(agreements: list[Agreement]) -> list[Row]:
    detail = reverse("agreement-detail", args=[_ANY_ID])
    labels = {value: str(label) for value, label in Status.choices}
    months = {n: str(name).title() for n, name in MONTHS_3.items()}
    return [
        Row(
            href=detail.replace(str(_ANY_ID), str(a.pk)),
            reference=a.reference,
            title=a.title,
            partnership=a.trio_name,  # type: ignore[attr-defined]  # annotated
            status=a.status,
            status_label=labels.get(a.status, a.status),
            ending=ending_summary(a),
            expires_iso=a.expires_on.isoformat(),
            # As the |date:"j M Y" filter writes it: 1 Feb 2027.
            expires_text=f"{a.expires_on.day} {months[a.expires_on.month]} {a.expires_on.year}",
            open_proposals=a.open_overrides,  # type: ignore[attr-defined]  # annotated
        )
        for a in agreements
    ]


@dataclass(frozen=True)
class Page:
    agreements: list[Agreement]
    newer: Position | None  # the link to the rows before this page, if any
    older: Position | None  # the link to the rows after it, if any


def _page(rows: QuerySet[Agreement], after: Position | None, before: Position | None) -> Page:
    """One page of ``rows`` (ordered newest first): the first, the one after ``after`` or
    the one before ``before``. One query (two when "Newer" reaches the first page)."""
    size = AGREEMENTS_PER_PAGE
    if before is not None:
        found = list(rows.filter(before.newer()).reverse()[: size + 1])
        if len(found) > size:
            found = found[:size][::-1]
            return Page(found, Position.of(found[0]), Position.of(found[-1]))
        # Back at the top: the first page, full even if rows moved up meanwhile.
        after = None
    if after is not None:
        rows = rows.filter(after.older())
    found = list(rows[: size + 1])
    older = Position.of(found[size - 1]) if len(found) > size else None
    found = found[:size]
    newer = Position.of(found[0]) if after is not None and found else None
    return Page(found, newer, older)


def _options(choices, current) -> list[tuple[str, str, bool]]:
    """A select's options as (value, label, selected), written out by the template (the
    form widget's per-option templates cost more than the rest of the page)."""
    current = "" if current is None else str(current)
    return [(str(value), label, str(value) == current) for value, label in choices]


@login_required
@kept_page
def agreement_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Queries: session, user, the viewer's first partnerships, the count (capped), the page.
    trios = trio_choices(request.user, TRIO_CHOICES_MAX + 1)
    choices = trios if len(trios) <= TRIO_CHOICES_MAX else None
    form = AgreementFilterForm(request.GET or None, trios=choices)
    filters = form.cleaned_data if form.is_valid() else {}
    listed = agreements_listed_for_user(
        request.user,
        trios=trios_visible_to(request.user) if choices is None else [pk for pk, _ in choices],
        status=filters.get("status") or None,
        trio_id=filters.get("trio") or None,
        partnership=filters.get("partnership") or "",
        expiring_within_days=filters.get("expiring_within"),
    )
    page = _page(
        agreement_list_rows(listed),
        after=Position.parse(request.GET.get("after")),
        before=Position.parse(request.GET.get("before")),
    )
    count = listed.order_by().values("pk")[: COUNT_CAP + 1].count()
    query = request.GET.copy()
    for key in ("after", "before", "page"):
        query.pop(key, None)
    return render(
        request,
        "agreements/agreement_list.html",
        {
            "form": form,
            "agreements": _rows(page.agreements),
            "summary": _summary(count, filtered=bool(query)),
            "newer_url": _link(query, "before", page.newer),
            "older_url": _link(query, "after", page.older),
            "status_options": _options(
                [("", "Any status"), *Status.choices], form["status"].value()
            ),
            "trio_options": None
            if choices is None
            else _options([("", "Any partnership"), *choices], form["trio"].value()),
        },
    )


def _link(query: QueryDict, key: str, position: Position | None) -> str:
    if position is None:
        return ""
    query = query.copy()
    query[key] = str(position)
    return f"?{query.urlencode()}"


def _summary(count: int, *, filtered: bool) -> str:
    """ "275 agreements, most recently changed first." (or "match", with filters); past the
    cap, "More than 1,000 …" and a nudge towards the filters."""
    if count > COUNT_CAP:
        verb = " match" if filtered else ""
        return (
            f"More than {COUNT_CAP:,} agreements{verb}, most recently changed first: "
            "the filters narrow them."
        )
    noun = "agreement" if count == 1 else "agreements"
    verb = (" matches" if count == 1 else " match") if filtered else ""
    return f"{count:,} {noun}{verb}, most recently changed first."
