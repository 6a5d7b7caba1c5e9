"""The agreement list pages by position ("Older" / "Newer"), counts up to a cap, and offers the
partnership filter as a list only to someone in a few partnerships (issue 18: the page costs
the same at 100,000 agreements as at 1,000)."""

import re
from html import unescape

import pytest
from django.urls import reverse

from agreements.models import Agreement
from agreements.selectors import agreements_visible_to
from agreements.web import agreement_list

LIST = reverse("agreement-list")


def _references(page: str) -> list[str]:
    return re.findall(r'data-label="Reference"><a href="[^"]+">([^<]+)</a>', page)


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    return unescape(found.group(1)) if found else None


@pytest.fixture
def many(demo):
    """60 more agreements in the facilitator's view, so the list has three pages."""
    source = demo["agreements"]["Open Curriculum Implementation Data Agreement"]
    Agreement.objects.bulk_create(
        Agreement(
            reference=f"AIMS-2031-{n:03d}",
            trio=source.trio,
            template_version=source.template_version,
            title=f"Copy {n}",
            purpose="p",
            sharing_mode="analysis",
            start_date=source.start_date,
            expires_on=source.expires_on,
            breach_notice_hours=72,
            retention_days=30,
            status="draft",
            status_changed_at=source.status_changed_at,
        )
        for n in range(60)
    )
    return demo


def test_older_and_newer_walk_every_visible_agreement_once_in_order(client, many):
    facilitator = many["users"]["facilitator"]
    client.force_login(facilitator)
    expected = list(
        agreements_visible_to(facilitator)
        .order_by("-updated_at", "-id")
        .values_list("reference", flat=True)
    )
    assert len(expected) > 2 * agreement_list.AGREEMENTS_PER_PAGE
    pages, url = [], LIST
    while url:
        page = client.get(url if url.startswith("/") else LIST + url).content.decode()
        pages.append((url, page))
        url = _link(page, "next")
    assert [r for _, page in pages for r in _references(page)] == expected
    assert _link(pages[0][1], "prev") is None
    # Back from the last page: the same rows as on the way down, up to the first page.
    url = _link(pages[-1][1], "prev")
    for _, page in reversed(pages[:-1]):
        assert url is not None
        back = client.get(LIST + url).content.decode()
        assert _references(back) == _references(page)
        url = _link(back, "prev")
    assert url is None


def test_page_links_keep_the_filters_and_a_bad_position_is_the_first_page(client, many):
    client.force_login(many["users"]["facilitator"])
    page = client.get(LIST, {"status": "draft"}).content.decode()
    older = _link(page, "next")
    assert older is not None and "status=draft" in older
    second = client.get(LIST + older).content.decode()
    assert _references(second) and all(
        Agreement.objects.get(reference=r).status == "draft" for r in _references(second)
    )
    first = client.get(LIST, {"after": "not-a-position"}).content.decode()
    assert _references(first) == _references(client.get(LIST).content.decode())


def test_the_count_stops_at_the_cap(client, many, monkeypatch):
    client.force_login(many["users"]["facilitator"])
    visible = agreements_visible_to(many["users"]["facilitator"]).count()
    page = client.get(LIST).content.decode()
    assert f"{visible} agreements, most recently changed first." in page
    monkeypatch.setattr(agreement_list, "COUNT_CAP", 10)
    page = client.get(LIST).content.decode()
    assert "More than 10 agreements, most recently changed first" in page
    page = client.get(LIST, {"status": "draft"}).content.decode()
    assert "More than 10 agreements match" in page


def test_a_few_partnerships_are_a_list_many_are_a_name_to_type(client, demo, monkeypatch):
    director = demo["users"]["director"]
    client.force_login(director)
    page = client.get(LIST).content.decode()
    assert '<select name="trio" id="id_trio">' in page
    trio = agreements_visible_to(director).first().trio
    page = client.get(LIST, {"trio": trio.pk}).content.decode()
    assert f'<option value="{trio.pk}" selected>' in page
    assert all(Agreement.objects.get(reference=r).trio_id == trio.pk for r in _references(page))

    monkeypatch.setattr(agreement_list, "TRIO_CHOICES_MAX", 0)
    page = client.get(LIST).content.decode()
    assert 'name="trio"' not in page and 'name="partnership"' in page
    words = trio.name.split()[0]
    page = client.get(LIST, {"partnership": words.lower()}).content.decode()
    listed = _references(page)
    assert listed and all(
        words.lower() in Agreement.objects.get(reference=r).trio.name.lower() for r in listed
    )
    # A partnership the viewer cannot see filters to nothing, not to its agreements.
    hidden = Agreement.objects.exclude(trio__in=[a.trio for a in agreements_visible_to(director)])
    stranger = hidden.first()
    assert stranger is not None
    page = client.get(LIST, {"trio": stranger.trio_id}).content.decode()
    assert stranger.reference not in page and "No agreements match" in page


def test_the_list_costs_the_same_queries_on_any_page(client, many, django_assert_num_queries):
    client.force_login(many["users"]["director"])
    # user, the viewer's partnerships, the page, the count (capped); the session is read from
    # Redis (collaboratory/sessions.py: force_login wrote it there).
    with django_assert_num_queries(4):
        page = client.get(LIST).content.decode()
    older = _link(page, "next")
    client.force_login(many["users"]["facilitator"])
    with django_assert_num_queries(4):
        page = client.get(LIST).content.decode()
    older = _link(page, "next")
    assert older is not None
    with django_assert_num_queries(4):
        client.get(LIST + older)
