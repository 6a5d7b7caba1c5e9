"""Answers kept for the database snapshot they were read from (collaboratory/answers.py): a
page or API answer read again reads no agreement; any committed write, a new day, another
viewer, a flash message or a transaction means it is derived anew; only what it may keep
is kept; and a kept page or API read never writes.

These tests commit (``transactional_db``): inside a test's transaction nothing is kept."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.contrib.messages import SUCCESS
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import caches
from django.db import connection, transaction
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from agreements.models import Agreement
from collaboratory import answers
from tests.kept_answers import read, reads_agreements, without_commits, writes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_answers")]

KEPT_PAGES = {
    "page:agreements.web.dashboard.dashboard",
    "page:agreements.web.views.agreement_detail",
    "page:agreements.web.agreement_list.agreement_list",
    "page:agreements.web.search.search_view",
    "page:consent.views.consent_dashboard",
}


def _agreement_of(demo, username: str) -> Agreement:
    """The first agreement ``username`` sees whose text may still change."""
    from agreements.lifecycle import EDITABLE
    from agreements.selectors import agreement_detail_for_user

    visible = agreement_detail_for_user(demo["users"][username])
    return visible.filter(status__in=EDITABLE).order_by("created_at").first()


def _signed_in(client, user):
    """A browser signed in as ``user`` that holds its CSRF cookie (as after any page)."""
    client.force_login(user)
    client.get(reverse("dashboard"))
    assert "csrftoken" in client.cookies
    return client


def test_a_page_read_again_reads_no_agreement_and_is_the_same(client, demo):
    agreement = _agreement_of(demo, "director")
    _signed_in(client, demo["users"]["director"])
    url = reverse("agreement-detail", args=[agreement.pk])
    (first, first_sql), (again, again_sql) = without_commits(
        lambda: (read(client, url), read(client, url))
    )
    assert first.status_code == again.status_code == 200
    assert reads_agreements(first_sql)
    assert not reads_agreements(again_sql), again_sql
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]


def test_another_worker_reads_the_answer_from_redis(client, demo):
    agreement = _agreement_of(demo, "director")
    _signed_in(client, demo["users"]["director"])
    url = reverse("agreement-detail", args=[agreement.pk])

    def reads():
        first, _ = read(client, url)
        answers.clear_local()  # another process: only Redis has it
        return first, read(client, url)

    first, (again, again_sql) = without_commits(reads)
    assert not reads_agreements(again_sql)
    assert again.content == first.content


def test_a_committed_write_anywhere_is_read_at_once(client, demo):
    agreement = _agreement_of(demo, "director")
    _signed_in(client, demo["users"]["director"])
    url = reverse("agreement-detail", args=[agreement.pk])
    read(client, url)
    Agreement.objects.filter(pk=agreement.pk).update(title="Renamed by counsel")
    after, sql = read(client, url)
    assert reads_agreements(sql)
    assert "Renamed by counsel" in after.content.decode()


def test_a_revoked_membership_is_a_404_at_once(client, demo):
    from partners.models import Membership

    director = demo["users"]["director"]
    agreement = _agreement_of(demo, "director")
    _signed_in(client, director)
    url = reverse("agreement-detail", args=[agreement.pk])
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200  # kept
    Membership.objects.filter(user=director).delete()
    assert client.get(url).status_code == 404


def test_each_viewer_gets_their_own_answer(client, demo):
    from django.test import Client

    agreement = _agreement_of(demo, "director")
    url = reverse("agreement-detail", args=[agreement.pk])
    director = _signed_in(client, demo["users"]["director"])
    facilitator = _signed_in(Client(), demo["users"]["facilitator"])
    mine, theirs, mine_again, theirs_again = without_commits(
        lambda: [browser.get(url).content for browser in (director, facilitator) * 2]
    )
    assert mine != theirs
    assert (mine_again, theirs_again) == (mine, theirs)
    # The same person in another browser: another session, another CSRF secret.
    other_browser = _signed_in(Client(), demo["users"]["director"])
    _, sql = read(other_browser, url)
    assert reads_agreements(sql)


def test_a_flash_message_is_shown_once_and_never_kept(client, demo, rf):
    _signed_in(client, demo["users"]["director"])
    url = reverse("dashboard")
    client.get(url)
    client.get(url)  # kept without a message
    # As after a form: the message waits in its cookie (signed, as Django's storage sets it).
    storage = CookieStorage(rf.get(url))
    client.cookies["messages"] = storage._encode([Message(SUCCESS, "Your proposal was sent.")])
    assert "Your proposal was sent." in client.get(url).content.decode()
    assert "Your proposal was sent." not in client.get(url).content.decode()


def test_a_new_day_is_a_new_answer(client, demo, monkeypatch):
    _signed_in(client, demo["users"]["director"])
    url = reverse("dashboard")
    read(client, url)
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    monkeypatch.setattr(answers.timezone, "localdate", lambda: tomorrow)
    _, sql = read(client, url)
    assert reads_agreements(sql)


def test_answers_are_kept_no_longer_than_the_setting(client, demo, monkeypatch):
    _signed_in(client, demo["users"]["director"])
    url = reverse("dashboard")
    _, (_, sql) = without_commits(lambda: (read(client, url), read(client, url)))
    assert not reads_agreements(sql)
    later = time.time() + 61
    monkeypatch.setattr(answers.time, "time", lambda: later)
    _, sql = read(client, url)
    assert reads_agreements(sql)


@override_settings(RESPONSE_CACHE_SECONDS=0)
def test_zero_seconds_keeps_nothing(client, demo):
    _signed_in(client, demo["users"]["director"])
    url = reverse("dashboard")
    read(client, url)
    _, sql = read(client, url)
    assert reads_agreements(sql)
    assert not any("pg_current_snapshot" in s for s in sql)


def test_nothing_is_kept_inside_a_transaction(demo):
    assert answers.database_state() is not None
    with transaction.atomic():
        assert answers.database_state() is None


def test_the_state_names_the_database_and_changes_with_a_commit(demo):
    before = answers.database_state()
    database = connection.settings_dict["NAME"]
    assert before is not None and f"/{database}@" in before
    Agreement.objects.filter(pk=_agreement_of(demo, "director").pk).update(title="Changed")
    assert answers.database_state() != before


def test_redis_down_computes_every_answer(client, demo):
    _signed_in(client, demo["users"]["director"])
    url = reverse("dashboard")
    dead = {
        **caches.settings,
        answers.ALIAS: {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
        },
    }
    with override_settings(CACHES=dead):
        assert client.get(url).status_code == 200
        answers.clear_local()
        response, sql = read(client, url)
    assert response.status_code == 200
    assert reads_agreements(sql)


# --- what is kept, and that it never writes ------------------------------------------------


def test_the_kept_pages_are_these_and_reading_them_writes_nothing(client, demo):
    agreement = _agreement_of(demo, "director")
    _signed_in(client, demo["users"]["director"])
    pages = [
        reverse("dashboard"),
        reverse("agreement-detail", args=[agreement.pk]),
        reverse("agreement-list"),
        reverse("search") + "?q=data",
        reverse("consent-dashboard", args=[agreement.pk]),
    ]
    assert {name for name in answers.KEPT if name.startswith("page:")} == KEPT_PAGES
    for url in pages:
        (response, sql), (_, again) = without_commits(
            lambda url=url: (read(client, url), read(client, url))
        )
        assert response.status_code == 200, url
        written = [s for s in sql if writes(s)]
        assert not written, (url, written)
        assert not reads_agreements(again), url
