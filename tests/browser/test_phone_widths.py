"""Every main page on a phone (390×844) and on a desktop, in real Chromium (issue 17 item 9).

On a phone a page must not scroll sideways: the document is no wider than the viewport, and
no element reaches past its edge unless it sits in a container made to scroll sideways
(``.table-wrap``, a clause's wide table). Such a container may scroll only for what cannot
wrap (tables, preformatted text, charts); prose that pushes one sideways is a failure too.
axe-core's WCAG 2.1 A/AA rules run on every page at desktop width (names, labels and colours are
the same at both widths; what a phone changes is the layout, which the width checks cover).

The pages are data (``PAGES``): a new page is one line, naming who looks at it and its
address; a state reached by acting on a page (an error shown, codes made) is a step in
``THEN``. One browser session visits them all, logging in once per person. Phone screenshots
always go to SCREENSHOT_DIR (else a temporary folder), desktop ones only when it is set;
PHONE_PAGES=name,name re-checks just those pages while fixing them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.test_workspace_journeys import AXE, log_in
from tests.conftest import otp_device, otp_verify_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"  # proposals and a conflict
IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"
SIGNING = "Open Curriculum Implementation Data Agreement"
ACTIVE = "Productive Struggle Classroom Study"  # accepted changes, an older standard
EXPIRED = "Adaptive Practice Pilot 2024"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe-core is injected; the pages' CSP would refuse it (see test_workspace_journeys).
    return {**browser_context_args, "bypass_csp": True, "viewport": DESKTOP}


@dataclass(frozen=True)
class MainPage:
    name: str
    #: Who looks at the page ("" for nobody logged in).
    user: str
    #: The page's address, from the demo (see tests/conftest.py ``demo``).
    url: Callable[[dict], str]
    #: Parts deep in a long page to photograph on their own at phone width (CSS selectors).
    parts: tuple[str, ...] = ()


def _agreement(title: str, view: str, *extra: object) -> Callable[[dict], str]:
    return lambda demo: reverse(view, args=[demo["agreements"][title].pk, *extra])


def _template_compare(demo: dict) -> str:
    from agreements.models import TemplateVersion

    old, new = TemplateVersion.objects.filter(template__slug="standard-dsa").order_by("number")[:2]
    return reverse("template-compare", args=[old.pk, new.pk])


def _url(name: str, *args: object, query: str = "") -> Callable[[dict], str]:
    return lambda demo: reverse(name, args=list(args)) + query


#: The main pages, grouped by who looks at them (one login each). Add new pages here.
PAGES: list[MainPage] = [
    MainPage("login", "", _url("login")),
    # The district's director: signs for Riverbend, party to most demo agreements.
    MainPage("dashboard", "director", _url("dashboard")),
    MainPage("agreement-list", "director", _url("agreement-list")),
    MainPage("agreement-list-filtered", "director", _url("agreement-list", query="?status=active")),
    MainPage("agreement-active", "director", _agreement(ACTIVE, "agreement-detail")),
    MainPage("agreement-in-review", "director", _agreement(IN_REVIEW, "agreement-detail")),
    MainPage("agreement-signing", "director", _agreement(SIGNING, "agreement-detail")),
    MainPage("agreement-expired", "director", _agreement(EXPIRED, "agreement-detail")),
    MainPage("sign", "director", _agreement(SIGNING, "agreement-sign")),
    MainPage("compare-active", "director", _agreement(ACTIVE, "agreement-compare")),
    MainPage("compare-upgrade", "director", _agreement(ACTIVE, "agreement-compare-upgrade")),
    MainPage("reviews-in-review", "director", _agreement(IN_REVIEW, "agreement-reviews")),
    MainPage("history-active", "director", _agreement(ACTIVE, "agreement-history")),
    MainPage("audit-trail-active", "director", _agreement(ACTIVE, "agreement-audit-trail")),
    MainPage("terminate-active", "director", _agreement(ACTIVE, "agreement-terminate")),
    MainPage("consent", "director", _agreement(ACTIVE, "consent-dashboard")),
    MainPage("consent-students", "director", _agreement(ACTIVE, "consent-students")),
    MainPage("consent-roster", "director", _agreement(ACTIVE, "consent-roster")),
    MainPage("consent-requirement", "director", _agreement(ACTIVE, "consent-requirement")),
    MainPage("consent-form-add", "director", _agreement(ACTIVE, "consent-form-add")),
    MainPage("consent-record", "director", _agreement(ACTIVE, "consent-record")),
    MainPage("consent-import", "director", _agreement(ACTIVE, "consent-import")),
    MainPage("search-clauses", "director", _url("search", query="?q=breach+notification")),
    MainPage("search-reference", "director", _url("search", query="?q=2026-002")),
    MainPage("calendar", "director", _url("calendar-settings")),
    MainPage("trio", "director", _url("trio-detail", "aims", "adaptive-practice")),
    MainPage("organisation", "director", _url("organisation-detail", "riverbend-usd")),
    MainPage("two-factor", "director", _url("two-factor")),
    MainPage("api-access", "director", _url("api-access")),
    MainPage("organisation-api", "director", _url("organisation-api", "riverbend-usd")),
    MainPage("document-verification", "director", _url("document-verification")),
    # University counsel: negotiates, with proposals on both sides and a conflict.
    MainPage(
        "agreement-negotiating",
        "counsel",
        _agreement(NEGOTIATING, "agreement-detail"),
        parts=("#clause-audits", "#clause-breach-notification"),
    ),
    MainPage(
        "agreement-negotiating-against-standard",
        "counsel",
        lambda demo: _agreement(NEGOTIATING, "agreement-detail")(demo) + "?against=standard",
    ),
    MainPage("compare-negotiating", "counsel", _agreement(NEGOTIATING, "agreement-compare")),
    MainPage(
        "compare-negotiating-side-by-side",
        "counsel",
        lambda demo: _agreement(NEGOTIATING, "agreement-compare")(demo) + "?view=side",
    ),
    MainPage(
        "compare-negotiating-accepted-only",
        "counsel",
        lambda demo: _agreement(NEGOTIATING, "agreement-compare")(demo) + "?changes=accepted",
    ),
    MainPage(
        "conflict",
        "counsel",
        _agreement(NEGOTIATING, "agreement-conflict", "breach-notification"),
    ),
    MainPage("reviews-negotiating", "counsel", _agreement(NEGOTIATING, "agreement-reviews")),
    MainPage("history-negotiating", "counsel", _agreement(NEGOTIATING, "agreement-history")),
    MainPage(
        "audit-trail-negotiating", "counsel", _agreement(NEGOTIATING, "agreement-audit-trail")
    ),
    MainPage("two-factor-not-set-up", "counsel", _url("two-factor")),
    MainPage("notifications", "counsel", _url("notification-list")),
    # The vendor's signatory, with an authenticator app, before entering its code.
    MainPage("two-factor-verify", "vendor", _url("two-factor-verify", query="?next=/")),
    # The hub's facilitator: the standards and where agreements deviate from them.
    MainPage("deviations", "facilitator", _url("deviation-index")),
    MainPage(
        "deviation-analytics", "facilitator", _url("deviation-analytics", "aims", "standard-dsa")
    ),
    MainPage("template-compare", "facilitator", _template_compare),
    # The facilitator's Partnerships pages (organisations and trios).
    MainPage("partnerships", "facilitator", _url("partnership-list")),
    MainPage("partnership-trio-new", "facilitator", _url("partnership-trio-new")),
]

#: People whose session is verified with their authenticator before the walk (signing and
#: API access ask for it); counsel stays unverified to show the set-up page.
VERIFIED = {"director", "facilitator"}

# The outermost elements that reach past the viewport's edges, outside any container made to
# scroll sideways; and the containers that scroll sideways for anything but a table, code,
# a chart or a picture (prose must wrap).
OVERFLOW = """() => {
  const width = window.innerWidth;
  const describe = (el) => {
    let name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "");
    for (const c of el.classList) name += "." + c;
    const text = (el.innerText || el.value || "").trim().replace(/\\s+/g, " ").slice(0, 50);
    return name + (text ? ` "${text}"` : "");
  };
  const scroller = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  // Inside a scrolling container, or inside text hidden for screen readers (1 px, clipped);
  // content cut off by overflow:hidden at the screen's edge is still reported.
  const inside = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (scroller(a) || a.getBoundingClientRect().width <= 1) return true;
    }
    return false;
  };
  const past = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && (r.right > width + 1 || r.left < -1);
  };
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (!past(el) || inside(el)) continue;
    if (el.parentElement && el.parentElement !== document.body && past(el.parentElement)) continue;
    const r = el.getBoundingClientRect();
    found.push(`${describe(el)} spans ${Math.round(r.left)}..${Math.round(r.right)}px`);
  }
  const wide = "table, pre, svg, img, canvas, video, .doc-table, .sample";
  for (const el of document.body.querySelectorAll("*")) {
    if (!scroller(el) || el.matches("textarea, select, input")) continue;
    if (el.scrollWidth <= el.clientWidth + 1 || el.clientWidth === 0) continue;
    if (el.matches(wide) || el.querySelector(wide)) continue;
    found.push(`${describe(el)} scrolls sideways (${el.scrollWidth}px in ${el.clientWidth}px)`);
  }
  const total = document.documentElement.scrollWidth;
  if (total > width) found.unshift(`the page is ${total}px wide`);
  return found;
}"""


def axe_violations(page: Page) -> list[str]:
    """Every violation of axe-core's WCAG 2.1 A/AA rules, whatever its impact."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
            resultTypes: ["violations"],
        })"""
    )
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:4])
        for v in result["violations"]
    ]


def _start_discussions(demo: dict) -> None:
    """Clause discussions on the negotiating agreement, as counsel sees them: a shared question
    that @mentions counsel with counsel's answer, and an internal note of counsel's own."""
    from agreements.models import CommentVisibility
    from agreements.negotiation.discussions import discussion_reply, discussion_start

    agreement, users = demo["agreements"][NEGOTIATING], demo["users"]
    question = discussion_start(
        agreement=agreement,
        by=users["vendor"],
        clause_key="audits",
        body="@counsel would a current SOC 2 Type II report satisfy the audit right for the "
        "matters it covers? https://example.org/trust/soc2-type-ii-report-2026-summary.pdf",
    )
    discussion_reply(
        comment=question,
        by=users["counsel"],
        body="It would, if the report is less than a year old and names the systems holding "
        "Shared Data.",
    )
    discussion_start(
        agreement=agreement,
        by=users["counsel"],
        clause_key="breach-notification",
        body="Internal: we could settle for 48 hours if the vendor notifies on suspicion.",
        visibility=CommentVisibility.INTERNAL,
    )


class Walk:
    """Checks the page the browser shows at both widths and collects what fails."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.failures: list[str] = []
        self.checked: list[str] = []
        # Desktop screenshots only when someone will look at them (they cost time).
        self.desktop_screenshots = bool(os.environ.get("SCREENSHOT_DIR"))

    def check(self, name: str, parts: tuple[str, ...] = ()) -> None:
        page = self.page
        page.set_viewport_size(PHONE)
        self.failures += [f"{name} at 390px: {what}" for what in page.evaluate(OVERFLOW)]
        self.screenshot(f"phone-{name}", PHONE)
        for part in parts:
            page.locator(part).screenshot(path=str(self.folder / f"phone-{name}-{part[1:]}.png"))
        page.set_viewport_size(DESKTOP)
        self.failures += [f"{name}, axe: {v}" for v in axe_violations(page)]
        if self.desktop_screenshots:
            self.screenshot(f"desktop-{name}", DESKTOP)
        self.checked.append(name)

    def screenshot(self, name: str, viewport: ViewportSize) -> None:
        """The page from its top, at most 12 screens long: an agreement's whole text is some
        60 phone screens, and encoding that picture costs more than the checks themselves."""
        height = min(self.page.evaluate("document.documentElement.scrollHeight"), 12 * 844)
        self.page.screenshot(
            path=str(self.folder / f"{name}.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": viewport["width"], "height": height},
        )

    def visit(self, name: str, url: str, parts: tuple[str, ...] = ()) -> None:
        response = self.page.goto(url)
        status = response.status if response else None
        if status != 200:
            self.failures.append(f"{name}: {url} answered {status}, not 200")
            return
        self.check(name, parts)


def _new_backup_codes(walk: Walk) -> None:
    """The director's two-factor page right after making new backup codes (shown once)."""
    page = walk.page
    page.get_by_role("button", name="Make new backup codes").click()
    expect(page.get_by_role("status")).to_contain_text("New backup codes made")
    walk.check("two-factor-new-backup-codes")


def _refused_answers(walk: Walk) -> None:
    """The agreement page after counsel's answers are refused: a rejection without a reason
    (the comment box comes back with its message), then a new clause without its text (the
    form open with what was typed, an error summary, each message beside its input)."""
    page = walk.page
    audits = page.locator("#clause-audits")
    audits.get_by_role("button", name="Reject").first.click()
    expect(page.locator("#clause-audits").get_by_role("alert")).to_contain_text("Say why")
    walk.check("agreement-rejected-without-reason", parts=("#clause-audits",))

    clause = page.locator("#clause-insurance")
    clause.get_by_text("Propose a change to this clause").click()
    form = clause.locator("form.propose-form")
    form.get_by_label("Insert a new clause after this one").check()
    form.get_by_role("textbox", name="Heading of the new clause").fill("Data escrow")
    form.get_by_label("Rationale (required)").fill("Continuity if the vendor fails.")
    form.get_by_role("button", name="Propose").click()
    expect(page.locator("#clause-insurance").get_by_role("alert")).to_contain_text(
        "Your proposal is not recorded yet"
    )
    walk.check("agreement-refused-proposal", parts=("#clause-insurance",))


#: What to do on a page once it is checked, leading to another state worth checking.
THEN: dict[str, Callable[[Walk], None]] = {
    "two-factor": _new_backup_codes,
    "agreement-negotiating": _refused_answers,
}


WIZARD = [
    "wizard-need-with-errors",
    "wizard-need",
    "wizard-data",
    "wizard-value",
    "wizard-match",
    "wizard-consent",
    "wizard-summary",
]


def _walk_the_wizard(walk: Walk, live_server) -> None:
    """The guided creation's steps, answered as a director would, and one step with errors."""
    page = walk.page
    start = reverse("agreement-wizard", args=["aims", "adaptive-practice", "need"])
    page.goto(live_server.url + start)
    save = page.get_by_role("button", name="Save and continue ›")
    save.click()
    expect(page.get_by_role("alert").first).to_be_visible()
    walk.check("wizard-need-with-errors")
    page.get_by_label("Title").fill("Practice and growth 2027")
    page.get_by_label(re.compile("The purpose: what will")).fill(
        "Estimate how weekly adaptive practice relates to unit assessment growth."
    )
    page.get_by_role("group", name="Research questions this agreement serves").get_by_role(
        "checkbox"
    ).first.check()
    page.get_by_label(re.compile("hope to achieve")).fill("Help teachers decide on practice.")
    page.get_by_label("How will you know it worked?").fill("0.1 SD higher unit scores.")
    walk.check("wizard-need")
    save.click()
    expect(page.get_by_role("heading", name="The data supply")).to_be_visible()
    page.locator("#id_elements-0-name").fill("Unit assessment scores")
    page.locator("#id_elements-0-source").select_option(label="Riverbend Unified School District")
    page.locator("#id_elements-0-recipient").select_option(
        label="Northfield University Learning Sciences Lab"
    )
    page.locator("#id_elements-0-identifiability").select_option("deidentified")
    page.locator("fieldset.wz-element").first.get_by_role("checkbox").first.check()
    walk.check("wizard-data")
    save.click()
    expect(page.get_by_role("heading", name="The value")).to_be_visible()
    walk.check("wizard-value")
    save.click()
    expect(page.get_by_role("heading", name="The match")).to_be_visible()
    page.get_by_label("Governing law (state)").fill("Columbia")
    walk.check("wizard-match")
    save.click()
    expect(page.get_by_role("heading", name="Consent", exact=True)).to_be_visible()
    page.get_by_role("radio", name="Parental consent", exact=True).check()
    walk.check("wizard-consent")
    save.click()
    expect(page.get_by_role("heading", name="Summary", exact=True)).to_be_visible()
    walk.check("wizard-summary")


def test_every_main_page_fits_a_phone_and_passes_axe(page: Page, live_server, demo, tmp_path):
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    # PHONE_PAGES=name,name re-checks only those pages ("wizard" for the guided creation)
    # while fixing them; unset, every page is checked.
    only = {n for n in os.environ.get("PHONE_PAGES", "").split(",") if n}
    pages = [p for p in PAGES if not only or p.name in only]
    _start_discussions(demo)
    otp_device(demo["users"]["vendor"])
    walk = Walk(page, folder)
    who: str | None = None
    for main_page in pages:
        if main_page.user != who:
            page.context.clear_cookies()
            if main_page.user:
                log_in(page, live_server, main_page.user)
                if main_page.user in VERIFIED:
                    otp_verify_in_browser(page, live_server, demo["users"][main_page.user])
            who = main_page.user
        walk.visit(main_page.name, live_server.url + main_page.url(demo), main_page.parts)
        if main_page.name in THEN and main_page.name in walk.checked:
            THEN[main_page.name](walk)
    if not only or "wizard" in only:
        page.context.clear_cookies()
        log_in(page, live_server, "director")
        _walk_the_wizard(walk, live_server)

    assert walk.failures == [], "\n".join(
        [f"{len(walk.failures)} problems on phones or for axe:", *walk.failures]
    )
    # Every page answered and was checked (a page that did not is among the failures above).
    expected = [p.name for p in pages] + (WIZARD if not only or "wizard" in only else [])
    assert [name for name in expected if name not in walk.checked] == []
