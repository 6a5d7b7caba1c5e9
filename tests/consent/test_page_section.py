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


def test_one_built_statement_keeps_every_viewer_to_the_consent_pages_they_may_see(
    client, world, outsider, builds
):
    """The consent pages read their agreement through a statement built once per shape (a
    superuser or not), the viewer and the agreement its parameters
    (collaboratory.prepared.shaped_rows): every viewer still gets the consent dashboard
    exactly of the agreements whose parties they act for, and a 404 elsewhere."""
    import uuid

    from django.contrib.auth import get_user_model

    make_agreement(world, title="Consent access check")
    builds.watch(selectors, "_consent_statement")
    root = get_user_model().objects.create_superuser("consent-root", password="x" * 16)
    viewers = [*world["users"].values(), outsider, root]
    every = list(Agreement.objects.order_by("reference"))
    shown = 0
    for viewer in viewers:
        client.force_login(viewer)
        allowed = set(selectors.consent_agreements_for_user(viewer).values_list("pk", flat=True))
        for agreement in every:
            response = client.get(f"/agreements/{agreement.pk}/consent/")
            expected = 200 if agreement.pk in allowed else 404
            assert response.status_code == expected, (viewer.username, agreement.reference)
            if expected == 200:
                assert response.context["agreement"].pk == agreement.pk
                shown += 1
        assert client.get(f"/agreements/{uuid.uuid4()}/consent/").status_code == 404
    assert 0 < shown < len(viewers) * len(every)
    assert sorted(builds.of("_consent_statement")) == [(False,), (True,)]
