"""The agreement page's consent section reads the requirements in the page's own query
(consent registers its collection in ``agreements.extensions.page_prefetches``): the same
requirements, in the same order, as the selector's own query gives."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.models import Agreement
from consent import selectors, services
from consent.models import ConsentKind
from tests.consent.conftest import make_agreement


def _section(page: str) -> str:
    match = re.search(r'<section aria-labelledby="consent-title".*?</section>', page, re.S)
    assert match, "no consent section on the page"
    return match.group(0)


def test_the_page_lists_the_requirements_without_a_query_of_its_own(world, client):
    agreement = make_agreement(world, kind=ConsentKind.PARENTAL_ASSENT)
    director = world["users"]["director"]
    elements = list(agreement.data_elements.order_by("position"))
    # Per-element requirements set out of order: the page lists them by element position.
    for element, kind in ((elements[2], ConsentKind.NONE), (elements[0], ConsentKind.PARENTAL)):
        services.consent_requirement_set(
            agreement=agreement,
            by=director,
            kind=kind,
            data_element=element,
            legal_basis="FERPA studies exception" if kind == ConsentKind.NONE else "",
        )
    expected = selectors.requirements_of(Agreement.objects.get(pk=agreement.pk))
    assert len(expected) == 3
    client.force_login(director)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/agreements/{agreement.pk}/")
    assert response.status_code == 200
    assert not [
        q
        for q in queries
        if "consent_consentrequirement" in q["sql"] and "agreements_agreement" not in q["sql"]
    ]
    items = re.findall(
        r"<li><strong>(.*?):</strong> (.*?)(?: — |</li>)", _section(response.content.decode())
    )
    assert items == [
        (
            r.data_element.name if r.data_element else "Whole agreement",
            r.get_kind_display(),
        )
        for r in expected
    ]
    assert "FERPA studies exception" in _section(response.content.decode())
