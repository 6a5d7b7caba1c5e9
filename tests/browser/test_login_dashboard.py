"""Real Chromium: the director logs in and sees the three demo trios, and not Lakeshore's."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("collaboratory-demo")
    page.get_by_role("button", name="Log in").click()


def test_director_logs_in_and_sees_three_trios(page: Page, live_server, demo):
    _log_in(page, live_server, "director")
    expect(page.get_by_role("heading", name="Your partnerships")).to_be_visible()
    cards = page.get_by_role("list", name="Partnerships").get_by_role("listitem")
    expect(cards).to_have_count(3)
    for name in (
        "Adaptive Practice in Algebra I",
        "Productive Struggle in Grade 8",
        "Open Curriculum Implementation Study",
    ):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_text("Lakeshore Fluency Pathways")).to_have_count(0)

    page.get_by_role("link", name="Adaptive Practice in Algebra I").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Adaptive Practice in Algebra I")
    expect(page.get_by_text("Brightpath Learning, Inc.")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/"))


def test_wrong_password_shows_a_clear_error(page: Page, live_server, demo):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("director")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")


def test_static_assets_are_served_locally_only(page: Page, live_server, demo):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    _log_in(page, live_server, "director")
    expect(page.get_by_role("heading", name="Your partnerships")).to_be_visible()
    assert requested
    assert all(url.startswith(live_server.url) for url in requested), requested
    stylesheet = page.evaluate(
        "getComputedStyle(document.querySelector('.site-header')).backgroundColor"
    )
    assert stylesheet == "rgb(31, 78, 121)"  # app.css loaded
