"""What the apps above agreements plug into it.

Apps depend downwards (collaboratory <- partners <- agreements <- consent): agreements never
imports consent, so where an agreements flow needs consent's answer, agreements defines a
list here and consent fills it in its ``AppConfig.ready`` (consent/apps.py). Agreements calls
whatever is registered; with nothing registered its flows still work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django import forms

    from agreements.models import Agreement
    from collaboratory.json_prefetch import JsonPrefetch
    from partners.selectors import User


# --- review: what keeps an agreement from legal review ----------------------------------------

#: Each returns why ``agreement`` cannot go to review yet (empty when it may), in the users'
#: words; ``agreements.review.services.review_blockers`` adds them to its own reasons.
type ReviewBlockers = Callable[[Agreement], list[str]]

review_blockers: list[ReviewBlockers] = []


# --- the "new agreement" wizard: steps other apps add -----------------------------------------


@dataclass(frozen=True)
class WizardStep:
    """A step another app adds to the "new agreement" wizard, after the match and before the
    summary (agreements/web/wizard.py).

    The wizard keeps the step's answers in the session under ``slug`` (``form.cleaned_data``,
    so JSON-serialisable fields only) and creating the draft calls ``create`` inside the same
    transaction (agreements/negotiation/wizard.py): a ``DomainError`` there undoes it all.
    """

    slug: str
    title: str
    intro: str
    #: The step's page; it extends "agreements/wizard/base.html" and gets ``form``.
    template: str
    #: ``form(data, *, initial, state)``: the step's form, bound to ``data`` on POST (None on
    #: GET); ``initial`` is the saved answers (None before the first answer), ``state`` all
    #: the wizard's answers so far, to suggest from.
    form: Callable[..., forms.Form]
    #: What the summary shows of the saved answers, as (term, description) rows.
    summary: Callable[[Mapping[str, Any]], list[tuple[str, str]]]
    #: ``create(*, agreement, by, answers)``: what the step adds to the new draft.
    create: Callable[..., None]


wizard_steps: list[WizardStep] = []


# --- the director's dashboard: sections other apps add ----------------------------------------


@dataclass(frozen=True)
class DashboardSection:
    """A panel another app adds to the dashboard (agreements/web/dashboard.py), shown after
    "Coming up": ``template`` is included with ``section`` set to ``context``."""

    template: str
    context: Mapping[str, Any]


#: Each returns its section for the signed-in user, in at most one query, or None to show
#: nothing.
type DashboardSectionFor = Callable[[User], DashboardSection | None]

dashboard_sections: list[DashboardSectionFor] = []


# --- the agreement page: collections other apps show on it ------------------------------------

#: Collections of the agreement that other apps' sections of its page read, fetched in the
#: page's own query (``collaboratory.json_prefetch``) instead of one query each per view.
#: Registered before the first request (the page's statement is built once per process).
page_prefetches: list[JsonPrefetch] = []
