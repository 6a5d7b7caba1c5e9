"""Friendly error pages without stack traces, and dates in the user's own time zone."""

import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone

from collaboratory.timezone import TimeZoneMiddleware, zone_from_cookie


def test_unknown_page_answers_a_friendly_404(client, demo):
    client.force_login(demo["users"]["director"])
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "We cannot find that page" in page
    assert "Traceback" not in page and "urlpatterns" not in page


def test_500_page_renders_without_context():
    page = render_to_string("500.html")
    assert "Something went wrong on our side" in page
    assert "Traceback" not in page


def test_server_errors_show_the_friendly_page(client, demo, monkeypatch):
    from agreements.web import dashboard as views

    def boom(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(views.workspace, "waiting_for", boom)
    client.raise_request_exception = False
    client.force_login(demo["users"]["director"])
    response = client.get(reverse("dashboard"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "secret detail" not in response.content.decode()


def test_403_template_is_friendly():
    assert "You cannot do that here" in render_to_string("403.html")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Europe/Paris", "Europe/Paris"),
        ("America/Los_Angeles", "America/Los_Angeles"),
        ("Not/AZone", None),
        ("../../etc/passwd", None),
        ("", None),
        ("x" * 200, None),
    ],
)
def test_only_real_zones_are_accepted(value, expected):
    zone = zone_from_cookie(value)
    assert (str(zone) if zone else None) == expected


def test_middleware_activates_the_cookie_zone_for_the_request_only():
    seen = {}

    def view(request):
        seen["zone"] = str(timezone.get_current_timezone())
        return None

    request = RequestFactory().get("/")
    request.COOKIES["tz"] = "Asia/Tokyo"
    TimeZoneMiddleware(view)(request)
    assert seen["zone"] == "Asia/Tokyo"
    assert str(timezone.get_current_timezone()) == "UTC"
    request.COOKIES["tz"] = "Mars/Olympus"
    TimeZoneMiddleware(view)(request)
    assert seen["zone"] == "UTC"


@override_settings(TIME_ZONE="UTC")
def test_pages_show_times_in_the_cookie_zone(client, demo):
    from agreements.models import Transition

    client.force_login(demo["users"]["director"])
    signing = demo["agreements"]["Open Curriculum Implementation Data Agreement"]
    latest = Transition.objects.filter(agreement=signing).order_by("-at").first()
    Transition.objects.filter(pk=latest.pk).update(
        at=dt.datetime(2030, 1, 10, 23, 30, tzinfo=dt.UTC)
    )
    client.cookies["tz"] = "Asia/Tokyo"
    page = client.get(reverse("dashboard")).content.decode()
    assert "11 Jan 2030, 08:30" in page  # 23:30 UTC is 08:30 the next day in Tokyo
    assert "Times are shown in Asia/Tokyo" in page


# --- the database unreachable: 503, not 500 ---------------------------------------------------
# The fault drill (scripts/chaos.py) restarts PostgreSQL for real and checks the same; here
# the lost connection is raised where the page would meet it, to pin the answer down.


def _database_gone(*args, **kwargs):
    from django.db import OperationalError

    raise OperationalError("server closed the connection unexpectedly")


def test_a_page_answers_503_with_retry_after_while_the_database_is_unreachable(
    client, demo, monkeypatch
):
    from agreements.web import dashboard as views

    monkeypatch.setattr(views.workspace, "waiting_for", _database_gone)
    client.raise_request_exception = False
    client.force_login(demo["users"]["director"])
    response = client.get(reverse("dashboard"))
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    page = response.content.decode()
    assert "Collaboratory is briefly unavailable" in page
    assert "server closed the connection" not in page


def test_the_api_answers_503_json_while_the_database_is_unreachable(monkeypatch, demo):
    from agreements.api import views as apis
    from partners.api_auth import api_token_issue
    from tests.api.conftest import ApiClient

    _, token = api_token_issue(
        organisation=demo["orgs"]["riverbend-usd"], name="t", scopes=["agreements:read"]
    )
    monkeypatch.setattr(apis, "agreement_count", _database_gone)
    client = ApiClient(token, raise_request_exception=False)
    response = client.get(reverse("api-agreement-list"))
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json()["error"]["code"] == "service_unavailable"


def test_other_errors_still_answer_500(client, demo, monkeypatch):
    from django.db import ProgrammingError

    from agreements.web import dashboard as views

    def bad_query(*args, **kwargs):
        raise ProgrammingError("column does not exist")

    monkeypatch.setattr(views.workspace, "waiting_for", bad_query)
    client.raise_request_exception = False
    client.force_login(demo["users"]["director"])
    assert client.get(reverse("dashboard")).status_code == 500
