"""The search page: one box over everything the user may see, with filters by kind, status
and partnership. Reads go through ``agreements.search`` (the access rule inside)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from agreements import search as search_module
from agreements.models import Status
from agreements.web import agreement_list
from agreements.web.fields import NormalisedCharField
from collaboratory.answers import kept_page
from collaboratory.forms import field_of
from partners.selectors import trio_choices, trios_visible_to

PER_KIND_PREVIEW = 5
PER_PAGE = 20


class SearchForm(forms.Form):
    """Shape only."""

    q = forms.CharField(
        label="Search for", max_length=search_module.MAX_QUERY_LENGTH, required=False
    )
    kind = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[("", "Everything"), *search_module.KINDS.items()],
    )
    status = forms.ChoiceField(
        label="Agreement status", required=False, choices=[("", "Any status"), *Status.choices]
    )
    #: Either filter only narrows what the viewer already sees: an id they cannot see, or a
    #: name none of their partnerships has, matches nothing.
    trio = forms.IntegerField(label="Partnership", required=False, min_value=1)
    #: Someone who sees many partnerships (a facilitator) types part of a name instead of
    #: scrolling a list of hundreds, as on the agreement list.
    partnership = NormalisedCharField(required=False, max_length=200, label="Partnership")

    def __init__(self, *args, trios=None, **kwargs):
        """``trios``: (id, name) of the partnerships to choose from, or None: type a name."""
        super().__init__(*args, **kwargs)
        self.trio_choices = trios

    def choices(self, name: str) -> list[tuple[Any, str]]:
        if name == "trio":
            return [("", "Any partnership"), *(self.trio_choices or [])]
        return cast(list[tuple[Any, str]], field_of(self, name, forms.ChoiceField).choices)

    def select(self, name: str) -> SafeString:
        """The field's <select>, as Django's widget renders it but without a template per
        option: a facilitator's partnership list has an option per trio (hundreds), which
        through the widget templates cost more than the whole search."""
        field = self[name]
        chosen = "" if field.value() is None else str(field.value())
        options = format_html_join(
            "\n",
            '<option value="{}"{}>{}</option>',
            (
                (value, " selected" if str(value) == chosen else "", label)
                for value, label in self.choices(name)
            ),
        )
        return format_html(
            '<select name="{}" id="{}">\n{}\n</select>', field.html_name, field.auto_id, options
        )


class BoundedPaginator(Paginator):
    """Pages over at most ``search.CANDIDATES`` rows: a kind that grows with the agreements
    ranks no more (``search_agreements``), and a page says "more than" when there were more."""

    @cached_property
    def matches(self) -> int:
        return cast(QuerySet, self.object_list).count()

    @cached_property
    def count(self) -> int:
        return min(self.matches, search_module.CANDIDATES)

    @property
    def more(self) -> bool:
        return self.matches > search_module.CANDIDATES


@login_required
@kept_page
def search_view(request: HttpRequest) -> HttpResponse:
    # Queries: session, user, the viewer's first partnerships (then, for someone who sees more
    # than a list holds, the ids of those the name box matches); then every kind's first rows
    # (5 queries, one per kind) or, for one kind, its count and one page.
    first = trio_choices(request.user, agreement_list.TRIO_CHOICES_MAX + 1)
    choices = first if len(first) <= agreement_list.TRIO_CHOICES_MAX else None
    form = SearchForm(request.GET or None, trios=choices)
    data = form.cleaned_data if form.is_valid() else {}
    text = (data.get("q") or "").strip()
    filters = search_module.Filters(
        kind=data.get("kind") or "", status=data.get("status") or "", trio_id=data.get("trio")
    )
    if choices is not None:
        trio_ids = [pk for pk, _ in choices]
    elif data.get("partnership"):
        named = trios_visible_to(request.user).filter(name__icontains=data["partnership"])
        trio_ids = list(named.values_list("id", flat=True))
    else:
        trio_ids = None  # every visible trio: the searches read their ids themselves
    sections = []
    page = None
    if text:
        markers = search_module.Markers.new()
        if filters.kind:
            results = search_module.search(request.user, text, filters, markers, trio_ids=trio_ids)
            page = BoundedPaginator(results[filters.kind], PER_PAGE).get_page(
                request.GET.get("page")
            )
            sections.append(
                {
                    "kind": filters.kind,
                    "label": search_module.KINDS[filters.kind],
                    "rows": search_module.presented(page.object_list, markers),
                    "more": False,
                }
            )
        else:
            previews = search_module.preview(
                request.user, text, filters, markers, rows=PER_KIND_PREVIEW + 1, trio_ids=trio_ids
            )
            for kind, rows in previews.items():
                sections.append(
                    {
                        "kind": kind,
                        "label": search_module.KINDS[kind],
                        "rows": search_module.presented(rows[:PER_KIND_PREVIEW], markers),
                        "more": len(rows) > PER_KIND_PREVIEW,
                    }
                )
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("kind", None)
    return render(
        request,
        "agreements/search.html",
        {
            "form": form,
            "selects": {
                name: form.select(name)
                for name in ("kind", "status", *(("trio",) if choices is not None else ()))
            },
            "text": text,
            "filters": filters,
            "sections": sections,
            "found": any(s["rows"] for s in sections),
            "page": page,
            "query_without_kind": query.urlencode(),
        },
    )
