"""The access rule as a matrix: every demo user against every demo trio."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from partners.selectors import organisations_visible_to, trios_visible_to

ALL = {"adaptive-practice", "productive-struggle", "open-curriculum", "lakeshore-fluency"}
VISIBLE = {
    # Riverbend's director is in three trios; Lakeshore's trio stays invisible.
    "director": {"adaptive-practice", "productive-struggle", "open-curriculum"},
    # Northfield University is in two trios.
    "counsel": {"adaptive-practice", "open-curriculum"},
    "researcher": {"adaptive-practice", "open-curriculum"},
    # Brightpath is in one.
    "vendor": {"adaptive-practice"},
    # The facilitator staffs the collaboratory and sees every trio.
    "facilitator": ALL,
}

CASES = [(user, trio, trio in VISIBLE[user]) for user in VISIBLE for trio in sorted(ALL)]


@pytest.mark.parametrize(("username", "trio_slug", "visible"), CASES)
def test_trio_visibility_matrix(client, demo, username, trio_slug, visible):
    user = demo["users"][username]
    trio = demo["trios"][trio_slug]
    assert trios_visible_to(user).filter(pk=trio.pk).exists() is visible
    client.force_login(user)
    response = client.get(reverse("trio-detail", args=["aims", trio_slug]))
    assert response.status_code == (200 if visible else 404)
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert (trio.name in dashboard) is visible


def test_outsider_sees_nothing(client, demo, outsider):
    assert not trios_visible_to(outsider).exists()
    assert not organisations_visible_to(outsider).exists()
    client.force_login(outsider)
    for slug in ALL:
        assert client.get(reverse("trio-detail", args=["aims", slug])).status_code == 404
    assert "No partnerships yet" in client.get(reverse("dashboard")).content.decode()


def test_anonymous_is_sent_to_login(client, demo):
    response = client.get(reverse("trio-detail", args=["aims", "adaptive-practice"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not trios_visible_to(AnonymousUser()).exists()


def test_inactive_user_sees_nothing(demo):
    director = demo["users"]["director"]
    director.is_active = False
    assert not trios_visible_to(director).exists()


def test_visibility_query_has_no_duplicates(demo):
    facilitator = demo["users"]["facilitator"]
    slugs = list(trios_visible_to(facilitator).values_list("slug", flat=True))
    assert sorted(slugs) == sorted(ALL)


def test_director_organisations_exclude_lakeshore(demo):
    names = set(organisations_visible_to(demo["users"]["director"]).values_list("slug", flat=True))
    assert "riverbend-usd" in names
    assert "lakeshore-cps" not in names
