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
from collaboratory.forms import field_of
from partners.selectors import trios_visible_to

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
    trio = forms.TypedChoiceField(
        label="Partnership", required=False, coerce=int, empty_value=None, choices=[]
    )

    def __init__(self, *args, trios=(), **kwargs):
        super().__init__(*args, **kwargs)
        field_of(self, "trio", forms.ChoiceField).choices = [
            ("", "Any partnership"),
            *[(t.pk, t.name) for t in trios],
        ]

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
                for value, label in cast(
                    list[tuple[Any, str]], field_of(self, name, forms.ChoiceField).choices
                )
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
def search_view(request: HttpRequest) -> HttpResponse:
    # Queries: session, user, trios for the filter; then every kind's first rows (5 queries,
    # one per kind) or, for one kind, its count and one page.
    trios = list(trios_visible_to(request.user).order_by("name").only("id", "name"))
    form = SearchForm(request.GET or None, trios=trios)
    data = form.cleaned_data if form.is_valid() else {}
    text = (data.get("q") or "").strip()
    filters = search_module.Filters(
        kind=data.get("kind") or "", status=data.get("status") or "", trio_id=data.get("trio")
    )
    sections = []
    page = None
    if text:
        markers = search_module.Markers.new()
        results = search_module.search(
            request.user, text, filters, markers, trio_ids=[t.pk for t in trios]
        )
        if filters.kind:
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
            for kind, queryset in results.items():
                rows = list(queryset[: PER_KIND_PREVIEW + 1])
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
            "selects": {name: form.select(name) for name in ("kind", "status", "trio")},
            "text": text,
            "filters": filters,
            "sections": sections,
            "found": any(s["rows"] for s in sections),
            "page": page,
            "query_without_kind": query.urlencode(),
        },
    )
