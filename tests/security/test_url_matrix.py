"""One permission matrix over every URL in the URLconf (issue 9, item 1).

Every pattern that ``django.urls.get_resolver()`` knows (HTML pages, the partner API, the
admin) must have an entry in ``MATRIX``; a new URL without one fails
``test_every_url_is_in_the_matrix`` ("add it to MATRIX"), and an entry whose URL is gone fails
``test_every_matrix_entry_is_still_routed``.

Each entry says how to build its URL arguments for an object of the demo's partnership side
("own": Riverbend's trios and organisation) and of Lakeshore's ("other": a trio and district
no main demo person belongs to), which methods to try, and what each demo role gets:

- roles: ``anonymous``, ``director`` (Riverbend: director, legal, signatory, admin),
  ``counsel`` and ``researcher`` (Northfield), ``vendor`` (Brightpath), ``facilitator``
  (staffs the collaboratory: sees every trio, is Django staff) and ``lakeshore`` (the
  outsider: Lakeshore's director, in no trio of the main demo people).
- HTML pages are requested with the role's browser session; the partner API with a bearer
  token of the role's organisation holding every scope (the API authenticates
  organisations, not people; ``facilitator`` uses the AIMS hub's token).
- Other organisations' objects answer 404 — never 403 and never their data (the body is
  checked for the object's title or name); anonymous browsers are sent to the login page and
  anonymous API calls get 401.

Writes are tried with empty bodies (a refused or invalid write answers a redirect with a
message, or the form again), inside the per-test transaction that rolls back. The important
writes are also tried by a stranger with a valid-looking body in
``test_a_strangers_valid_write_answers_404_and_changes_nothing``.

The world (consent data, documents, tokens, webhooks, calendar feeds) is built once for the
module inside a transaction rolled back at the end; every test runs in a savepoint on top.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from agreements.costs.services import cost_entry_record
from agreements.negotiation.discussions import discussion_start
from agreements.negotiation.proposals import override_propose
from agreements.negotiation.services import agreement_open_negotiation
from tests.api.conftest import ApiClient
from tests.conftest import otp_verified

ROLES = ("anonymous", "director", "counsel", "vendor", "researcher", "facilitator", "lakeshore")
#: The organisation whose API token each role uses.
ROLE_ORG = {
    "director": "riverbend-usd",
    "counsel": "northfield-university",
    "researcher": "northfield-university",
    "vendor": "brightpath-learning",
    "facilitator": "aims-hub",
    "lakeshore": "lakeshore-cps",
}
LOGIN = "login"  # 302 to /login/?next=...
ADMIN_LOGIN = "admin-login"  # 302 to /admin/login/?next=...
#: 302 to the two-factor pages (/account/2fa/: set-up, or verify when a device exists). The
#: demo sessions are not verified, and signatories and organisation admins must verify before
#: they sign or manage API access (partners/two_factor.py). Strangers still get 404.
TWO_FACTOR = "two-factor"
OWN, OTHER = "own", "other"

# --- who sees what ---------------------------------------------------------------------------
#: Everyone in the adaptive-practice trio (Northfield, Riverbend, Brightpath) + facilitator.
OWN_TRIO = {"director", "counsel", "vendor", "researcher", "facilitator"}
#: Lakeshore's trio: its own people and the collaboratory's facilitator.
OTHER_TRIO = {"facilitator", "lakeshore"}
PEOPLE = set(ROLES) - {"anonymous"}
#: Parties' organisations in the API (the facilitator's hub is a party to nothing).
OWN_PARTIES_API = {"director", "counsel", "vendor", "researcher"}
OTHER_PARTIES_API = {"lakeshore"}
#: Consent pages are for the agreement's parties only (not the facilitator: consent data is
#: about students); student-level pages for the district's people only.
OWN_PARTIES = {"director", "counsel", "vendor", "researcher"}
OTHER_PARTIES = {"lakeshore"}
OWN_DISTRICT = {"director"}
OTHER_DISTRICT = {"lakeshore"}
#: Admins of Riverbend (the director); nobody among the roles administers Lakeshore.
OWN_ADMIN: set[str] = {"director"}
OTHER_ADMIN: set[str] = set()


def roles(default, *, anonymous=LOGIN, **overrides) -> dict[str, object]:
    """Expected answer per role: ``default`` for every signed-in role unless overridden."""
    table = {role: default for role in ROLES}
    table["anonymous"] = anonymous
    table.update(overrides)
    return table


def seen(
    ok=200,
    *,
    own=OWN_TRIO,
    other=OTHER_TRIO,
    denied=404,
    anonymous=LOGIN,
    own_overrides: dict | None = None,
    other_overrides: dict | None = None,
):
    """``ok`` for the roles that see the object, ``denied`` (404) for everyone else."""
    return {
        OWN: {
            **{r: (ok if r in own else denied) for r in ROLES},
            "anonymous": anonymous,
            **(own_overrides or {}),
        },
        OTHER: {
            **{r: (ok if r in other else denied) for r in ROLES},
            "anonymous": anonymous,
            **(other_overrides or {}),
        },
    }


def parties(ok=200, **kwargs):
    return seen(ok, own=OWN_PARTIES, other=OTHER_PARTIES, **kwargs)


def district(ok=200, **kwargs):
    return seen(ok, own=OWN_DISTRICT, other=OTHER_DISTRICT, **kwargs)


def org_admin(ok=200):
    """Organisation admins' API pages: 2FA first (nobody's session here is verified)."""
    return seen(ok, own=OWN_ADMIN, other=OTHER_ADMIN)


def people_admin(ok=TWO_FACTOR):
    """The People pages: admins after two-factor; everyone else 404, the organisation's
    other members included (Lakeshore's director in Lakeshore)."""
    return seen(ok, own=OWN_ADMIN, other=OTHER_ADMIN)


def _people_k(**fixed: object) -> Callable[[dict, str], dict]:
    """slug of the side's organisation and a member of it (user_id), plus ``fixed``."""

    def build(world: dict, side: str) -> dict:
        from partners.models import Membership

        member = (
            Membership.objects.filter(organisation__slug=world[side]["org"])
            .order_by("user_id")
            .values_list("user_id", flat=True)
            .first()
        )
        return {"slug": world[side]["org"], "user_id": member, **fixed}

    def build_invitation(world: dict, side: str) -> dict:
        return {"slug": world[side]["org"], **fixed}

    return build_invitation if "pk" in fixed else build


def same(table: dict[str, object]) -> dict[str, dict[str, object]]:
    """For URLs with no object: one answer per role."""
    return {"-": table}


# A POST-only page asked with GET (or the other way round): 405 before any lookup, for
# every signed-in role, whoever owns the object.
NOT_ALLOWED = same(roles(405))


def api(ok=200, *, own=OWN_PARTIES_API, other=OTHER_PARTIES_API):
    return seen(ok, own=own, other=other, anonymous=401)


def api_collection(ok=200):
    return same(roles(ok, anonymous=401))


@dataclass(frozen=True)
class Entry:
    """``kwargs(world, side)`` builds the URL's arguments; ``methods`` maps an HTTP method to
    the expected answers ({side: {role: answer}}, side "-" when the URL names no object)."""

    methods: dict[str, dict[str, dict[str, object]]]
    kwargs: Callable[[dict, str], dict] | None = None
    api: bool = False
    query: Callable[[dict, str], str] | None = None
    #: Text of the object that must not appear in a 404 answer (the data of a stranger).
    secret: Callable[[dict, str], str] | None = None
    note: str = ""
    data: dict = field(default_factory=dict)
    #: Slow renderers replaced by a stub (access is decided before they run).
    stubs: tuple[str, ...] = ()


def _k(*names: str, **renamed: str) -> Callable[[dict, str], dict]:
    """URL kwargs taken from the world: ``_k("pk")`` -> {"pk": world[side]["pk"]}."""

    def build(world: dict, side: str) -> dict:
        values = world[side]
        return {**{n: values[n] for n in names}, **{k: values[v] for k, v in renamed.items()}}

    return build


def _title(key: str = "agreement") -> Callable[[dict, str], str]:
    return lambda world, side: world[side][f"{key}_title"]


AGREEMENT = _k(pk="agreement")
NEGOTIATING = _k(pk="negotiating")
CONSENT = _k(pk="consent")
ACTIVE = _k(pk="active")
TRIO = _k(collaboratory="collaboratory", slug="trio")
ORG = _k(slug="org")

# --- the matrix ------------------------------------------------------------------------------
MATRIX: dict[str, Entry] = {
    # Project-level pages.
    "healthz": Entry({"GET": same(roles(200, anonymous=200))}),
    "login": Entry(
        {
            # A signed-in user is sent on (redirect_authenticated_user); an empty POST is
            # the form again.
            "GET": same(roles(302, anonymous=200)),
            "POST": same(roles(302, anonymous=200)),
        }
    ),
    "logout": Entry(
        {"GET": same(roles(405, anonymous=405)), "POST": same(roles(302, anonymous=302))}
    ),
    # Agreements.
    "agreement-list": Entry({"GET": same(roles(200))}),
    "agreement-detail": Entry({"GET": seen(200), "POST": seen(200)}, AGREEMENT, secret=_title()),
    "agreement-history": Entry({"GET": seen(200)}, AGREEMENT, secret=_title()),
    "agreement-audit-trail": Entry({"GET": seen(200)}, AGREEMENT, secret=_title()),
    # Signatories (director, vendor, researcher, lakeshore) and organisation admins are sent
    # to two-factor first; counsel (legal only) sees the page, and so does the facilitator,
    # whose session here is verified (staff need that for the admin).
    "agreement-sign": Entry(
        {
            method: seen(
                TWO_FACTOR,
                own_overrides={"counsel": 200, "facilitator": 200},
                other_overrides={"facilitator": 200},
            )
            for method in ("GET", "POST")
        },
        AGREEMENT,
        secret=_title(),
    ),
    "data-element-add": Entry({"GET": seen(200), "POST": seen(200)}, AGREEMENT, secret=_title()),
    "agreement-open-negotiation": Entry({"GET": NOT_ALLOWED, "POST": seen(302)}, AGREEMENT),
    "override-propose": Entry({"GET": NOT_ALLOWED, "POST": seen(302)}, AGREEMENT),
    "override-respond": Entry(
        {"GET": NOT_ALLOWED, "POST": seen(302)}, _k(pk="negotiating", override_id="override")
    ),
    "override-withdraw": Entry(
        {"GET": NOT_ALLOWED, "POST": seen(302)}, _k(pk="negotiating", override_id="override")
    ),
    # A refused resolution is the agreement page again with the form and what was typed (400).
    "conflict-resolve": Entry(
        {"GET": NOT_ALLOWED, "POST": seen(400)}, _k(pk="negotiating", clause_key="clause_key")
    ),
    "clause-comment": Entry({"GET": NOT_ALLOWED, "POST": seen(302)}, AGREEMENT),
    # Clause discussions: an empty start names the missing clause (redirect); an empty reply
    # is the page again with the form (400); resolving and reopening redirect with a message.
    "discussion-start": Entry({"GET": NOT_ALLOWED, "POST": seen(302)}, NEGOTIATING),
    "discussion-reply": Entry(
        {"GET": NOT_ALLOWED, "POST": seen(400)}, _k(pk="negotiating", comment_id="comment")
    ),
    "discussion-resolve": Entry(
        {"GET": NOT_ALLOWED, "POST": seen(302)}, _k(pk="negotiating", comment_id="comment")
    ),
    "discussion-reopen": Entry(
        {"GET": NOT_ALLOWED, "POST": seen(302)}, _k(pk="negotiating", comment_id="comment")
    ),
    # Everyone's own notifications (no object: nobody sees another's).
    "notification-list": Entry({"GET": same(roles(200))}),
    "negotiation-record": Entry(
        {"GET": seen(200)}, AGREEMENT, stubs=("agreements.negotiation.record.render_record_pdf",)
    ),
    "agreement-submit": Entry({"GET": NOT_ALLOWED, "POST": seen(302)}, AGREEMENT),
    "agreement-reopen": Entry({"GET": NOT_ALLOWED, "POST": seen(302)}, AGREEMENT),
    "agreement-approve": Entry({"GET": NOT_ALLOWED, "POST": seen(302)}, AGREEMENT),
    # The terminate page shows the grounds with their dates; an empty POST shows it again.
    "agreement-terminate": Entry({"GET": seen(200), "POST": seen(200)}, AGREEMENT, secret=_title()),
    "agreement-termination-withdraw": Entry({"GET": NOT_ALLOWED, "POST": seen(302)}, AGREEMENT),
    "agreement-create": Entry({"GET": seen(302), "POST": seen(302)}, TRIO),
    "agreement-wizard-reset": Entry({"GET": NOT_ALLOWED, "POST": seen(302)}, TRIO),
    "agreement-wizard": Entry(
        {"GET": seen(200), "POST": seen(200)},
        lambda w, side: {**TRIO(w, side), "step": "need"},
    ),
    # Legal review.
    "agreement-compare": Entry({"GET": seen(200)}, AGREEMENT, secret=_title()),
    # An empty POST shows the form again: nothing to save.
    "agreement-fillins": Entry({"GET": seen(200), "POST": seen(200)}, AGREEMENT, secret=_title()),
    # Ownership positions (agreements/web/ownership.py): an empty POST names what is missing.
    "agreement-ownership": Entry(
        {"GET": seen(200), "POST": seen(400)}, NEGOTIATING, secret=_title("negotiating")
    ),
    "agreement-conflict": Entry(
        {"GET": seen(200)},
        _k(pk="negotiating", clause_key="clause_key"),
        secret=_title("negotiating"),
    ),
    "agreement-compare-earlier": Entry({"GET": seen(200)}, AGREEMENT, secret=_title()),
    "agreement-compare-upgrade": Entry({"GET": seen(200)}, AGREEMENT, secret=_title()),
    # The move to a newer template version: the collaboratory's facilitators only (parties
    # too get 404); an empty POST answers a redirect with a message.
    "agreement-template-upgrade": Entry(
        {
            "GET": seen(200, own={"facilitator"}, other={"facilitator"}),
            "POST": seen(302, own={"facilitator"}, other={"facilitator"}),
        },
        AGREEMENT,
        secret=_title(),
    ),
    "agreement-redline-docx": Entry(
        {"GET": seen(200)}, AGREEMENT, stubs=("agreements.review.redline_word.redline_docx",)
    ),
    "agreement-redline-pdf": Entry(
        {"GET": seen(200)}, AGREEMENT, stubs=("agreements.review.exports.render_redline_pdf",)
    ),
    "agreement-reviews": Entry({"GET": seen(200)}, AGREEMENT, secret=_title()),
    "clause-review-mark": Entry({"GET": NOT_ALLOWED, "POST": seen(302)}, AGREEMENT),
    "template-compare": Entry(
        {"GET": same(roles(200))}, lambda w, side: {"old": w["v1"], "new": w["v2"]}
    ),
    # Costs and effort (agreements/web/costs.py): the agreement's costs for everyone who sees
    # it (an empty POST names what to record: redirect); one entry's pages for its own party
    # only (the district's director records the world's entry); the report for facilitators.
    "agreement-costs": Entry({"GET": seen(200), "POST": seen(302)}, AGREEMENT, secret=_title()),
    "cost-entry-edit": Entry(
        {
            "GET": seen(200, own={"director"}, other={"lakeshore"}),
            "POST": seen(400, own={"director"}, other={"lakeshore"}),
        },
        _k(pk="agreement", entry_id="cost_entry"),
        secret=_title(),
    ),
    "cost-entry-share": Entry(
        {"GET": NOT_ALLOWED, "POST": seen(302, own={"director"}, other={"lakeshore"})},
        _k(pk="agreement", entry_id="cost_entry"),
    ),
    "cost-entry-delete": Entry(
        {"GET": NOT_ALLOWED, "POST": seen(302, own={"director"}, other={"lakeshore"})},
        _k(pk="agreement", entry_id="cost_entry"),
    ),
    "trio-costs": Entry({"GET": seen(200)}, TRIO, secret=_title("trio")),
    "cost-report": Entry({"GET": same(roles(404, facilitator=200))}),
    "cost-report-csv": Entry({"GET": same(roles(404, facilitator=200))}),
    "deviation-index": Entry({"GET": same(roles(404, facilitator=200))}),
    "deviation-analytics": Entry(
        {"GET": same(roles(404, facilitator=200))},
        lambda w, side: {"collaboratory": "aims", "template": w["template"]},
    ),
    "deviation-csv": Entry(
        {"GET": same(roles(404, facilitator=200))},
        lambda w, side: {"collaboratory": "aims", "template": w["template"]},
    ),
    # Documents.
    "agreement-documents": Entry({"GET": seen(200), "POST": NOT_ALLOWED}, ACTIVE),
    "document-request": Entry({"GET": NOT_ALLOWED, "POST": seen(302)}, ACTIVE),
    "render-job-retry": Entry(
        {"GET": NOT_ALLOWED, "POST": seen(302)}, _k(pk="active", job_id="job")
    ),
    "document-download": Entry(
        {"GET": seen(200), "POST": NOT_ALLOWED}, _k(pk="active", document_id="document")
    ),
    "document-check": Entry(
        {"GET": seen(200), "POST": NOT_ALLOWED}, _k(pk="active", document_id="document")
    ),
    # Destruction duties (agreements/destruction/): the active agreement's. Only the
    # receiving party (the research partner: counsel, researcher; Hillcrest on Lakeshore's
    # side) certifies; the other parties who see it are sent back to the duties page.
    "destruction-list": Entry({"GET": same(roles(200))}),
    "destruction-agreement": Entry({"GET": seen(200)}, ACTIVE, secret=_title("consent")),
    "destruction-certify": Entry(
        {
            "GET": seen(302, own_overrides={"counsel": 200, "researcher": 200}),
            "POST": seen(302, own_overrides={"counsel": 200, "researcher": 200}),
        },
        _k(pk="active", duty_id="duty"),
        secret=_title("consent"),
    ),
    "destruction-certificate": Entry(
        {"GET": seen(200), "POST": NOT_ALLOWED}, _k(pk="active", duty_id="certified_duty")
    ),
    # Evidence only for the parties (not the facilitator): it may show their systems.
    "destruction-evidence": Entry(
        {"GET": parties(200), "POST": NOT_ALLOWED}, _k(pk="active", duty_id="certified_duty")
    ),
    "document-verification": Entry({"GET": same(roles(200)), "POST": same(roles(200))}),
    "document-verify-api": Entry({"GET": same(roles(405)), "POST": same(roles(400))}),
    # Consent: the parties; student-level pages (students, records, imports, roster) the
    # district only.
    "consent-dashboard": Entry({"GET": parties()}, CONSENT, secret=_title("consent")),
    # The template workspace: the collaboratory's facilitators only (v2 is published, so its
    # clause and publish pages send the facilitator back to the read-only version page).
    "template-list": Entry({"GET": same(roles(404, facilitator=200))}),
    "template-new": Entry(
        {"GET": same(roles(404, facilitator=200)), "POST": same(roles(404, facilitator=200))}
    ),
    "template-usage": Entry(
        {"GET": NOT_ALLOWED, "POST": same(roles(404, facilitator=302))},
        lambda w, side: {"pk": w["template_pk"]},
    ),
    "template-version-new": Entry(
        {"GET": NOT_ALLOWED, "POST": same(roles(404, facilitator=302))},
        lambda w, side: {"pk": w["template_pk"]},
    ),
    "template-import": Entry(
        {"GET": same(roles(404, facilitator=200)), "POST": same(roles(404, facilitator=200))},
        lambda w, side: {"pk": w["template_pk"]},
    ),
    "template-compare-pick": Entry(
        {"GET": same(roles(404, facilitator=302))}, lambda w, side: {"pk": w["template_pk"]}
    ),
    "template-version": Entry(
        {"GET": same(roles(404, facilitator=200))}, lambda w, side: {"pk": w["v2"]}
    ),
    "template-clause-add": Entry(
        {"GET": same(roles(404, facilitator=302)), "POST": same(roles(404, facilitator=302))},
        lambda w, side: {"pk": w["v2"]},
    ),
    "template-clause-edit": Entry(
        {"GET": same(roles(404, facilitator=302)), "POST": same(roles(404, facilitator=302))},
        lambda w, side: {"pk": w["v2"], "clause": w["v2_clause"]},
    ),
    "template-clause-remove": Entry(
        {"GET": NOT_ALLOWED, "POST": same(roles(404, facilitator=302))},
        lambda w, side: {"pk": w["v2"], "clause": w["v2_clause"]},
    ),
    "template-clause-move": Entry(
        {"GET": NOT_ALLOWED, "POST": same(roles(404, facilitator=302))},
        lambda w, side: {"pk": w["v2"], "clause": w["v2_clause"]},
    ),
    "template-version-publish": Entry(
        {"GET": same(roles(404, facilitator=302)), "POST": same(roles(404, facilitator=302))},
        lambda w, side: {"pk": w["v2"]},
    ),
    "template-version-export": Entry(
        {"GET": same(roles(404, facilitator=200))}, lambda w, side: {"pk": w["v2"], "fmt": "md"}
    ),
    "template-version-retire": Entry(
        {"GET": NOT_ALLOWED, "POST": same(roles(404, facilitator=302))},
        lambda w, side: {"pk": w["v2"]},
    ),
    # Research approvals (agreements/web/approvals.py): whoever sees the agreement sees them;
    # an empty record is the form again for the parties that record a kind (the research
    # partner's and the district's people), a redirect with a message for those who record
    # none (the developer, the facilitator).
    "agreement-research-approvals": Entry(
        {
            "GET": seen(200),
            "POST": seen(
                200,
                own_overrides={"vendor": 302, "facilitator": 302},
                other_overrides={"facilitator": 302},
            ),
        },
        ACTIVE,
        secret=_title("consent"),
    ),
    "research-approval-document": Entry(
        {"GET": seen(200), "POST": NOT_ALLOWED}, _k(pk="active", approval_id="research_approval")
    ),
    # An empty withdrawal is refused with a message (no reason, or not the holder's people).
    "research-approval-withdraw": Entry(
        {"GET": NOT_ALLOWED, "POST": seen(302)}, _k(pk="active", approval_id="research_approval")
    ),
    "template-research-approvals": Entry(
        {"GET": NOT_ALLOWED, "POST": same(roles(404, facilitator=302))},
        lambda w, side: {"pk": w["template_pk"]},
    ),
    "consent-requirement": Entry({"GET": parties(), "POST": parties()}, CONSENT),
    "consent-form-add": Entry({"GET": parties(), "POST": parties()}, CONSENT),
    "consent-form-detail": Entry({"GET": parties()}, _k(pk="consent", form_id="consent_form")),
    "consent-students": Entry({"GET": district()}, CONSENT),
    "consent-student": Entry({"GET": district()}, _k(pk="consent", student_id="student")),
    "consent-record": Entry({"GET": district(), "POST": district()}, CONSENT),
    "consent-receipt": Entry({"GET": district()}, _k(pk="consent", record_id="record")),
    "consent-import": Entry({"GET": district(), "POST": district()}, CONSENT),
    "consent-import-detail": Entry({"GET": district()}, _k(pk="consent", import_id="import")),
    "consent-import-confirm": Entry(
        {"GET": NOT_ALLOWED, "POST": district(302)}, _k(pk="consent", import_id="import")
    ),
    "consent-import-discard": Entry(
        {"GET": NOT_ALLOWED, "POST": district(302)}, _k(pk="consent", import_id="import")
    ),
    "consent-roster": Entry({"GET": district(), "POST": district()}, CONSENT),
    # Partnerships, organisations, search, calendar.
    "dashboard": Entry({"GET": same(roles(200))}),
    "trio-detail": Entry({"GET": seen(200)}, TRIO, secret=_title("trio")),
    "organisation-detail": Entry({"GET": seen(200)}, ORG, secret=_title("org")),
    "search": Entry({"GET": same(roles(200))}),
    "calendar-settings": Entry({"GET": same(roles(200))}),
    # Two-factor authentication (partners/views_account.py): about the signed-in user only.
    # Verify without a device sends to set-up; removing needs a code (empty POST: refused).
    # A set-up posted before the e-mail step (issue 19) is refused (403); the facilitator
    # has an app, so the page shows its status.
    "two-factor": Entry({"GET": same(roles(200)), "POST": same(roles(403, facilitator=200))}),
    # The e-mail step before a first set-up: send a code (back to the page), then type it
    # (an empty one is refused, 400); the facilitator, who has an app, is sent back.
    "two-factor-email-code": Entry({"GET": NOT_ALLOWED, "POST": same(roles(302))}),
    "two-factor-email-code-confirm": Entry(
        {"GET": NOT_ALLOWED, "POST": same(roles(400, facilitator=302))}
    ),
    "two-factor-verify": Entry({"GET": same(roles(302)), "POST": same(roles(302))}),
    # Nobody has an app but the facilitator, who must confirm removing it with a code (400).
    "two-factor-remove": Entry({"GET": NOT_ALLOWED, "POST": same(roles(302, facilitator=400))}),
    # Nobody has an app but the facilitator (verified): new codes, back to the settings page.
    "two-factor-backup-codes": Entry({"GET": NOT_ALLOWED, "POST": same(roles(302))}),
    "calendar-feed-create": Entry({"GET": NOT_ALLOWED, "POST": same(roles(302))}),
    "calendar-feed-revoke": Entry({"GET": NOT_ALLOWED, "POST": same(roles(302))}),
    # The feed is authenticated by its secret token alone (calendar apps cannot log in):
    # whoever holds the address gets the feed of its owner, nobody else can guess it.
    "calendar-feed": Entry(
        {"GET": {OWN: roles(200, anonymous=200), OTHER: roles(200, anonymous=200)}},
        _k(token="calendar"),
    ),
    # API access pages: organisation admins only, after two-factor.
    # One administered organisation: straight to its page; none: an empty list.
    "api-access": Entry({"GET": same(roles(302, counsel=200, researcher=200, lakeshore=200))}),
    "organisation-api": Entry({"GET": org_admin(TWO_FACTOR)}, ORG),
    "organisation-api-token-create": Entry(
        {"GET": NOT_ALLOWED, "POST": org_admin(TWO_FACTOR)}, ORG
    ),
    "organisation-api-token-revoke": Entry(
        {"GET": NOT_ALLOWED, "POST": org_admin(TWO_FACTOR)}, _k(slug="org", pk="token")
    ),
    "organisation-webhook-create": Entry({"GET": NOT_ALLOWED, "POST": org_admin(TWO_FACTOR)}, ORG),
    "organisation-webhook": Entry({"GET": org_admin(TWO_FACTOR)}, _k(slug="org", pk="webhook")),
    "organisation-webhook-disable": Entry(
        {"GET": NOT_ALLOWED, "POST": org_admin(TWO_FACTOR)}, _k(slug="org", pk="webhook")
    ),
    "organisation-webhook-enable": Entry(
        {"GET": NOT_ALLOWED, "POST": org_admin(TWO_FACTOR)}, _k(slug="org", pk="webhook")
    ),
    "organisation-webhook-redeliver": Entry(
        {"GET": NOT_ALLOWED, "POST": org_admin(TWO_FACTOR)},
        _k(slug="org", pk="webhook", delivery_id="delivery"),
    ),
    # People pages (issue 19, partners/views_people.py): the organisation's admins, after
    # two-factor; anyone else, its other members included, gets 404.
    # Access is decided before the member or invitation is looked up.
    # Whom to ask (linked from the two-factor pages): an organisation admin is sent to their
    # People page; anyone else sees their organisations' admins.
    "people": Entry({"GET": same(roles(200, director=302, vendor=302, facilitator=302))}),
    "organisation-people": Entry({"GET": people_admin()}, ORG),
    "organisation-invite": Entry({"GET": NOT_ALLOWED, "POST": people_admin()}, ORG),
    "organisation-invitation-resend": Entry(
        {"GET": NOT_ALLOWED, "POST": people_admin()}, _people_k(pk=0)
    ),
    "organisation-invitation-revoke": Entry(
        {"GET": NOT_ALLOWED, "POST": people_admin()}, _people_k(pk=0)
    ),
    "organisation-member-roles": Entry({"GET": NOT_ALLOWED, "POST": people_admin()}, _people_k()),
    "organisation-member-deactivate": Entry(
        {"GET": NOT_ALLOWED, "POST": people_admin()}, _people_k()
    ),
    "organisation-member-reactivate": Entry(
        {"GET": NOT_ALLOWED, "POST": people_admin()}, _people_k()
    ),
    "organisation-member-two-factor-reset": Entry(
        {"GET": NOT_ALLOWED, "POST": people_admin()}, _people_k()
    ),
    # An invitation link is its own authority: an unknown token is 404 for everyone.
    # A district's student key format (issue 20, partners/views_student_keys.py): its admins,
    # without a two-factor step; anyone else 404. An empty POST keeps the (empty) format.
    "organisation-student-keys": Entry(
        {
            "GET": seen(200, own=OWN_ADMIN, other=OTHER_ADMIN),
            "POST": seen(302, own=OWN_ADMIN, other=OTHER_ADMIN),
        },
        ORG,
    ),
    "invitation-accept": Entry(
        {
            "GET": same(roles(404, anonymous=404)),
            "POST": same(roles(404, anonymous=404)),
        },
        lambda world, side: {"token": "not-a-real-token"},
    ),
    # Forgotten password (Django's views): open to everyone; the answer never says whether
    # an address has an account (an empty POST is the form again).
    "password_reset": Entry(
        {"GET": same(roles(200, anonymous=200)), "POST": same(roles(200, anonymous=200))}
    ),
    "password_reset_done": Entry({"GET": same(roles(200, anonymous=200))}),
    "password_reset_confirm": Entry(
        {"GET": same(roles(200, anonymous=200))},
        lambda world, side: {"uidb64": "MQ", "token": "not-a-token"},
    ),
    "password_reset_complete": Entry({"GET": same(roles(200, anonymous=200))}),
    # The partner API (bearer tokens of the role's organisation).
    "api-schema": Entry({"GET": same(roles(200, anonymous=200))}, api=True),
    "api-docs": Entry({"GET": same(roles(200, anonymous=200))}, api=True),
    "api-agreement-list": Entry({"GET": api_collection(), "POST": api_collection(405)}, api=True),
    "api-agreement-detail": Entry(
        # Read-only: 405 for every token before any lookup (nothing to learn from it).
        {
            "GET": api(),
            "PUT": api_collection(405),
            "PATCH": api_collection(405),
            "DELETE": api_collection(405),
        },
        AGREEMENT,
        api=True,
        secret=_title(),
    ),
    "api-agreement-document": Entry({"GET": api()}, ACTIVE, api=True),
    "api-agreement-terms": Entry({"GET": api()}, AGREEMENT, api=True),
    "api-agreement-costs": Entry({"GET": api()}, AGREEMENT, api=True, secret=_title()),
    "api-organisation-me": Entry({"GET": api_collection()}, api=True),
    "api-consent-summary": Entry(
        {"GET": api()}, None, api=True, query=lambda w, side: f"agreement={w[side]['consent']}"
    ),
    "api-webhook-list": Entry({"GET": api_collection(), "POST": api_collection(400)}, api=True),
    # Webhooks belong to one organisation: Riverbend's token (director) or Lakeshore's.
    "api-webhook-detail": Entry(
        {"GET": api(own={"director"}), "DELETE": api(204, own={"director"})},
        _k(pk="webhook"),
        api=True,
    ),
    "api-webhook-deliveries": Entry({"GET": api(own={"director"})}, _k(pk="webhook"), api=True),
    "api-webhook-redeliver": Entry(
        {"POST": api(202, own={"director"})},
        _k(pk="webhook", delivery_id="delivery"),
        api=True,
    ),
    # Partnerships: the collaboratory's facilitators only.
    "partnership-list": Entry({"GET": same(roles(404, facilitator=200))}),
    "partnership-organisation-new": Entry(
        {"GET": same(roles(404, facilitator=200)), "POST": same(roles(404, facilitator=200))}
    ),
    "partnership-organisation-edit": Entry(
        {"GET": same(roles(404, facilitator=200)), "POST": same(roles(404, facilitator=200))},
        lambda w, side: {"slug": w[OWN]["org"]},
    ),
    "partnership-trio-new": Entry(
        {"GET": same(roles(404, facilitator=200)), "POST": same(roles(404, facilitator=200))}
    ),
    "partnership-trio-edit": Entry(
        {"GET": same(roles(404, facilitator=200)), "POST": same(roles(404, facilitator=200))},
        lambda w, side: {"pk": w["partnership_trio_pk"]},
    ),
    # Anything else under /api/v1/: the API's JSON 404, token or not.
    "api/v1/^.*$": Entry({"GET": same(roles(404, anonymous=404))}, api=True),
}

# The admin: Django staff only. Everyone else (including anonymous) is sent to the admin's
# login page; the facilitator is staff without model permissions.
ADMIN_MODELS = {
    # model: how to find one object's id (the first row)
    "auth_group": None,
    "auth_user": "auth.User",
    "partners_organisation": "partners.Organisation",
    "partners_membership": "partners.Membership",
    "partners_trio": "partners.Trio",
    "partners_collaboratory": "partners.Collaboratory",
    "partners_researchquestion": "partners.ResearchQuestion",
    "agreements_dsatemplate": "agreements.DSATemplate",
    "agreements_templateversion": "agreements.TemplateVersion",
    "agreements_agreement": "agreements.Agreement",
    "agreements_notification": "agreements.Notification",
    "consent_consentrequirement": "consent.ConsentRequirement",
    "consent_consentform": "consent.ConsentForm",
    "consent_consentimport": "consent.ConsentImport",
    "consent_consentexport": "consent.ConsentExport",
    "consent_consentpurgelog": "consent.ConsentPurgeLog",
    "audit_auditentry": "audit.AuditEntry",
    "otp_totp_totpdevice": None,
    "otp_static_staticdevice": None,  # backup codes (hashes only)
}
ADMIN_ONLY = same(roles(ADMIN_LOGIN, anonymous=ADMIN_LOGIN, facilitator=403))
ADMIN_PAGE = same(roles(ADMIN_LOGIN, anonymous=ADMIN_LOGIN, facilitator=200))
ALL_VIEWS = {"changelist", "add", "change", "history", "delete"}
VIEW_ONLY = {"changelist", "change", "history"}
#: What the facilitator (staff, with the permissions partners/demo.py grants) may open in the
#: admin; anything else answers 403. Models without rows answer 302 (to the admin index) on
#: an object's pages they may view, and on history pages even without permission.
FACILITATOR_ADMIN = {
    "partners_organisation": ALL_VIEWS,
    "partners_membership": ALL_VIEWS,
    "partners_trio": ALL_VIEWS,
    "partners_collaboratory": ALL_VIEWS,
    "partners_researchquestion": ALL_VIEWS,
    # Nothing of the agreements app (partners/demo.py): templates have the template
    # workspace, organisations and trios the Partnerships pages; its admin is staff
    # maintenance.
    "consent_consentform": VIEW_ONLY,
    "consent_consentimport": VIEW_ONLY,
    "consent_consentrequirement": VIEW_ONLY,
    "consent_consentexport": VIEW_ONLY,
    "consent_consentpurgelog": VIEW_ONLY,
}
#: Registered models with no rows in the demo.
EMPTY_ADMIN_MODELS = {
    "auth_group",
    "otp_totp_totpdevice",
    "otp_static_staticdevice",
    "consent_consentexport",
    "consent_consentpurgelog",
}


def admin_view(model: str, view: str):
    allowed = view in FACILITATOR_ADMIN.get(model, set())
    answer = 200 if allowed else 403
    if model in EMPTY_ADMIN_MODELS and (
        view == "history" or (allowed and view in {"change", "delete"})
    ):
        answer = 302
    return same(roles(ADMIN_LOGIN, anonymous=ADMIN_LOGIN, facilitator=answer))


def _admin_object(model: str | None) -> Callable[[dict, str], dict]:
    return lambda w, side: {"object_id": w["admin_ids"].get(model, "0")}


for _model, _label in ADMIN_MODELS.items():
    _obj = _admin_object(_label)
    MATRIX[f"admin:{_model}_changelist"] = Entry({"GET": admin_view(_model, "changelist")})
    MATRIX[f"admin:{_model}_add"] = Entry({"GET": admin_view(_model, "add")})
    for _view in ("change", "history", "delete"):
        MATRIX[f"admin:{_model}_{_view}"] = Entry({"GET": admin_view(_model, _view)}, _obj)
    # The pre-"change/" address of an object redirects to its change page (unnamed).
    _app, _name = _model.rsplit("_", 1)
    MATRIX[f"admin/{_app}/{_name}/<path:object_id>/"] = Entry(
        {"GET": same(roles(ADMIN_LOGIN, anonymous=ADMIN_LOGIN, facilitator=302))}, _obj
    )
MATRIX.update(
    {
        "admin:index": Entry({"GET": ADMIN_PAGE}),
        "admin:login": Entry({"GET": same(roles(200, anonymous=200, facilitator=302))}),
        "admin:logout": Entry(
            {
                # Not staff: sent to the admin's front page (which asks them to log in).
                "GET": same(roles(302, anonymous=302, facilitator=405)),
                "POST": same(roles(302, anonymous=302)),
            }
        ),
        "admin:password_change": Entry({"GET": ADMIN_PAGE}),
        "admin:password_change_done": Entry({"GET": ADMIN_PAGE}),
        "admin:autocomplete": Entry(
            {"GET": same(roles(ADMIN_LOGIN, anonymous=ADMIN_LOGIN, facilitator=403))}
        ),
        "admin:jsi18n": Entry({"GET": ADMIN_PAGE}),
        # Redirects to the object's own page, which applies the access rule itself.
        "admin:view_on_site": Entry(
            {"GET": same(roles(302, anonymous=302, facilitator=404))},
            lambda w, side: {
                "content_type_id": w["agreement_ct"],
                "object_id": w[OWN]["agreement"],
            },
        ),
        # An app the facilitator has permissions in (none in agreements any more: 404 there).
        "admin:app_list": Entry({"GET": ADMIN_PAGE}, lambda w, side: {"app_label": "partners"}),
        "admin:auth_user_password_change": Entry(
            {"GET": ADMIN_ONLY}, lambda w, side: {"id": w["admin_ids"]["auth.User"]}
        ),
        "admin:otp_totp_totpdevice_config": Entry({"GET": ADMIN_ONLY}, lambda w, side: {"pk": 0}),
        "admin:otp_totp_totpdevice_qrcode": Entry({"GET": ADMIN_ONLY}, lambda w, side: {"pk": 0}),
        "admin:agreements_dsatemplate_import": Entry(
            {"GET": ADMIN_ONLY},
            lambda w, side: {"template_id": w["admin_ids"]["agreements.DSATemplate"]},
        ),
        "admin:agreements_templateversion_export": Entry(
            {"GET": ADMIN_ONLY}, lambda w, side: {"version_id": w["v2"], "fmt": "md"}
        ),
        "admin/(?P<url>.*)$": Entry(
            {"GET": same(roles(ADMIN_LOGIN, anonymous=ADMIN_LOGIN, facilitator=404))},
            lambda w, side: {"url": "no-such-page/"},
        ),
    }
)


# --- the URLconf -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    key: str  # the URL name with its namespace, or the route when it has no name
    route: str
    pattern: URLPattern


@functools.cache
def routes() -> list[Route]:
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
                walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
            else:
                route = prefix + str(pattern.pattern)
                key = namespace + pattern.name if pattern.name else route
                found.append(Route(key, route, pattern))

    walk(get_resolver().url_patterns, "", "")
    return found


def test_every_url_is_in_the_matrix():
    missing = sorted({r.key for r in routes()} - set(MATRIX))
    assert not missing, "URLs without a permission-matrix entry (add it to MATRIX): " + ", ".join(
        missing
    )


def test_every_matrix_entry_is_still_routed():
    stale = sorted(set(MATRIX) - {r.key for r in routes()})
    assert not stale, "MATRIX entries for URLs no longer in the URLconf: " + ", ".join(stale)


# --- the world -------------------------------------------------------------------------------
def _consent_agreement(
    world: dict, *, trio: str, creator: str, legal: tuple[str, ...], signatories: tuple[str, ...]
):
    from agreements.models import Agreement
    from agreements.negotiation.services import agreement_open_negotiation
    from agreements.review.services import agreement_approve, agreement_submit_for_review
    from agreements.signing.services import agreement_sign
    from consent import services as consent_services
    from consent.models import ConsentImport
    from tests.consent.conftest import make_agreement, text_hash

    users = world["users"]
    agreement = make_agreement(world, title=f"Consent study {trio}", trio=trio, creator=creator)
    agreement_open_negotiation(agreement=agreement, by=users[creator])
    agreement_submit_for_review(agreement=agreement, by=users[creator])
    for username in legal:
        agreement_approve(agreement=agreement, by=users[username], text_hash=text_hash(agreement))
    for username in signatories:
        agreement_sign(
            agreement=agreement,
            by=users[username],
            typed_name=users[username].get_full_name(),
            intent_confirmed=True,
            text_hash=text_hash(agreement),
        )
    agreement = Agreement.objects.get(pk=agreement.pk)
    form = consent_services.consent_form_add(
        agreement=agreement,
        by=users[creator],
        language="en",
        title="Parent permission",
        body="May we include your child?",
        effective_date=dt.date(2026, 8, 1),
    )
    today = dt.date(2026, 10, 15)
    record = consent_services.consent_record(
        agreement=agreement,
        by=users[creator],
        student_key="S-0001",  # a pseudonymous key: issue 20 refuses keys shaped like names
        action="granted",
        given_by="parent",
        method="paper",
        decided_on=dt.date(2026, 9, 1),
        form=form,
        school="Cedar Hill",
        grade=8,
        birth_year=2012,
        today=today,
    )
    upload = consent_services.consent_import_preview(
        agreement=agreement,
        by=users[creator],
        filename="consent.csv",
        content=b"student_key,decision,given_by,method,date\nS-9,granted,parent,paper,2026-09-02\n",
        default_form=form,
        today=today,
    )
    assert isinstance(upload, ConsentImport)
    return agreement, form, record, upload


def _documents(agreement, org_pk: int):
    from agreements.models import Document, RenderJob

    document = Document.objects.create(
        agreement=agreement,
        kind="executed",
        text_hash=agreement.text_hash or "0" * 64,
        sha256=f"{org_pk:064d}",
        file=ContentFile(b"%PDF-1.7 matrix", name="sealed.pdf"),
        size=15,
        sealed=True,
    )
    job = RenderJob.objects.create(
        agreement=agreement, kind="review", text_hash="1" * 64, status="failed", error="boom"
    )
    return document, job


def _research_approval(agreement, organisation, user):
    from agreements.approvals.models import ResearchApproval

    return ResearchApproval.objects.create(
        agreement=agreement,
        kind="district_research_office",
        organisation=organisation,
        approving_body="Research office",
        number=f"RO-{organisation.pk}",
        approved_on=dt.date(2026, 8, 1),
        expires_on=dt.date(2027, 7, 31),
        document=ContentFile(b"%PDF-1.7 approval", name="approval.pdf"),
        document_name="approval.pdf",
        document_type="application/pdf",
        document_size=17,
        document_sha256="0" * 64,
        recorded_by=user,
    )


def _destruction_duties(agreement) -> tuple[int, int]:
    """The active agreement's destruction duties: the research partner's open (to certify),
    a developer's certified with a certificate and evidence on file (to download)."""
    from agreements.destruction.services import destruction_duties_open
    from agreements.models import DestructionDuty

    destruction_duties_open(agreement_id=agreement.pk)
    duties = DestructionDuty.objects.filter(agreement=agreement).order_by(
        "data_element__position", "pk"
    )
    research = duties.get(data_element__name="Unit scores")
    certified = duties.exclude(pk=research.pk).first()
    certified.method = "secure_deletion"
    certified.destroyed_on = dt.date(2026, 10, 1)
    certified.certifier_name = "Matrix Certifier"
    certified.certifier_title = "Data Manager"
    certified.attestation = "Destroyed."
    certified.certified_at = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    certified.certificate = ContentFile(b"%PDF-1.7 certificate", name="certificate.pdf")
    certified.certificate_sha256 = "2" * 64
    certified.evidence = ContentFile(b"wiped", name="evidence.txt")
    certified.evidence_name = "evidence.txt"
    certified.save()
    return research.pk, certified.pk


def _webhook(organisation):
    from partners.models import WebhookDelivery, WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        organisation=organisation,
        url="https://hooks.example/matrix",
        secret="whsec_matrix",
        events=["agreement.status_changed"],
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id=f"8a4f7b36-0a4f-4c51-9b0f-{organisation.pk:012d}",
        event="agreement.status_changed",
        payload={"id": "x"},
        status="failed",
    )
    return endpoint, delivery


def _build_world() -> dict:
    from django.apps import apps
    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType
    from django.test import Client

    from agreements.demo import seed_templates
    from agreements.models import Agreement, ClauseOverride, DSATemplate
    from partners.api_auth import api_token_issue
    from partners.calendar import calendar_feed_issue
    from partners.models import Collaboratory, Organisation, Trio
    from tests.api.conftest import ALL_SCOPES
    from tests.consent.conftest import make_agreement

    users = {u.username: u for u in get_user_model().objects.all()}
    orgs = {o.slug: o for o in Organisation.objects.all()}
    collaboratory = Collaboratory.objects.get(slug="aims")
    base = {
        "users": users,
        "orgs": orgs,
        "trios": {t.slug: t for t in Trio.objects.all()},
        "versions": seed_templates(collaboratory),
    }
    agreements = {a.title: a for a in Agreement.objects.all()}
    review = agreements["Adaptive Practice Outcomes Study 2026-2028"]
    negotiating = agreements["Adaptive Practice Real-Time Dashboard Pilot"]
    lakeshore = agreements["Lakeshore Fluency Pathways Data Agreement"]

    # Lakeshore's own negotiation, with a pending proposal by Lakeshore's legal team.
    lakeshore_negotiating = make_agreement(
        base,
        title="Lakeshore negotiation",
        trio="lakeshore-fluency",
        creator="lakeshore",
        kind=None,
    )
    agreement_open_negotiation(agreement=lakeshore_negotiating, by=users["lakeshore"])
    override_propose(
        agreement=lakeshore_negotiating,
        by=users["lakeshore"],
        kind="delete",
        clause_key="audits",
        rationale="Lakeshore's reasons.",
    )
    own_consent = _consent_agreement(
        base,
        trio="adaptive-practice",
        creator="director",
        legal=("counsel", "director", "vendor"),
        signatories=("researcher", "director", "vendor"),
    )
    other_consent = _consent_agreement(
        base,
        trio="lakeshore-fluency",
        creator="lakeshore",
        legal=("hillcrest", "lakeshore", "quadratic"),
        signatories=("hillcrest", "lakeshore", "quadratic"),
    )
    tokens = {
        slug: api_token_issue(organisation=orgs[slug], name="matrix", scopes=ALL_SCOPES)
        for slug in set(ROLE_ORG.values())
    }
    _, own_calendar = calendar_feed_issue(user=users["director"])
    _, other_calendar = calendar_feed_issue(user=users["lakeshore"])

    def side(
        *, agreement, negotiating, trio, org, consent, calendar, token_org, commenter
    ) -> dict[str, object]:
        consent_agreement, consent_form, record, upload = consent
        document, job = _documents(consent_agreement, orgs[org].pk)
        webhook, delivery = _webhook(orgs[org])
        research_approval = _research_approval(consent_agreement, orgs[org], users[commenter])
        duty, certified_duty = _destruction_duties(consent_agreement)
        override = ClauseOverride.objects.filter(agreement=negotiating).order_by("pk").first()
        comment = discussion_start(
            agreement=negotiating,
            by=users[commenter],
            clause_key=override.clause_key,
            body="A shared question.",
        )
        cost_entry = cost_entry_record(
            agreement=agreement,
            by=users[commenter],
            kind="ongoing",
            occurred_on=dt.date(2026, 11, 1),
            values={"category": "storage", "amount": "120", "period": "monthly"},
            shared=True,
        )
        return {
            "agreement": agreement.pk,
            "agreement_title": agreement.title,
            "negotiating": negotiating.pk,
            "negotiating_title": negotiating.title,
            "override": override.pk,
            "clause_key": override.clause_key,
            "comment": comment.pk,
            "cost_entry": cost_entry.pk,
            "active": consent_agreement.pk,
            "document": document.pk,
            "research_approval": research_approval.pk,
            "job": job.pk,
            "duty": duty,
            "certified_duty": certified_duty,
            "consent": consent_agreement.pk,
            "consent_title": consent_agreement.title,
            "consent_form": consent_form.pk,
            "student": None,  # filled in below
            "record": record.pk,
            "import": upload.pk,
            "collaboratory": "aims",
            "trio": trio,
            "trio_title": base["trios"][trio].name,
            "org": org,
            "org_title": orgs[org].name,
            "token": tokens[token_org][0].pk,
            "webhook": webhook.pk,
            "delivery": delivery.pk,
            "calendar": calendar,
        }

    world = {
        OWN: side(
            agreement=review,
            negotiating=negotiating,
            trio="adaptive-practice",
            org="riverbend-usd",
            consent=own_consent,
            calendar=own_calendar,
            token_org="riverbend-usd",
            commenter="director",
        ),
        OTHER: side(
            agreement=lakeshore,
            negotiating=lakeshore_negotiating,
            trio="lakeshore-fluency",
            org="lakeshore-cps",
            consent=other_consent,
            calendar=other_calendar,
            token_org="lakeshore-cps",
            commenter="lakeshore",
        ),
        "tokens": {slug: token for slug, (_, token) in tokens.items()},
        "v1": base["versions"][1].pk,
        "v2": base["versions"][2].pk,
        "template": DSATemplate.objects.get(pk=base["versions"][2].template_id).slug,
        "template_pk": base["versions"][2].template_id,
        "partnership_trio_pk": base["trios"]["adaptive-practice"].pk,
        "v2_clause": base["versions"][2].clauses.order_by("order").first().pk,
        "agreement_ct": ContentType.objects.get_for_model(Agreement).pk,
        "admin_ids": {},
    }
    from consent.models import StudentConsent

    for name in (OWN, OTHER):
        world[name]["student"] = StudentConsent.objects.get(agreement_id=world[name]["consent"]).pk
    # One signed-in session per role, made once: each test only sends its cookie.
    world["sessions"] = {}
    for role in PEOPLE:
        browser = Client()
        if role == "facilitator":
            # Staff: the admin needs a verified session (collaboratory/admin_site.py); the
            # facilitator is no signatory or admin of the organisations tried here, so
            # verifying changes only the admin's answers. Unverified staff: a test below.
            otp_verified(browser, users[role])
        else:
            browser.force_login(users[role])
        world["sessions"][role] = browser.cookies[settings.SESSION_COOKIE_NAME].value
    for label in ADMIN_MODELS.values():
        if label:
            row = apps.get_model(label).objects.order_by("pk").first()
            if row is not None:
                world["admin_ids"][label] = str(row.pk)
    return world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once for the module, rolled back at its end; each test adds a savepoint."""
    from django.test.utils import override_settings

    media = tmp_path_factory.mktemp("matrix-media")
    with override_settings(MEDIA_ROOT=media), django_db_blocker.unblock():
        with transaction.atomic():
            from tests.conftest import _demo_is_seeded, _seed_demo

            if not _demo_is_seeded():
                _seed_demo()
            yield _build_world()
            transaction.set_rollback(True)


# --- the cases -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    key: str
    method: str
    side: str
    role: str

    @property
    def id(self) -> str:
        return f"{self.key}|{self.method}|{self.side}|{self.role}"


#: The admin lets in Django staff only (``AdminSite.admin_view`` checks ``is_staff`` before
#: anything else), so one non-staff person is as good as five there: the admin pages are
#: tried as anonymous, the most privileged non-staff person (director: admin, legal and
#: signatory of Riverbend), the outsider and the facilitator (staff). Their tables above
#: still name every role.
ADMIN_ROLES = ("anonymous", "director", "lakeshore", "facilitator")


def _roles_for(key: str) -> tuple[str, ...]:
    return ADMIN_ROLES if key.startswith("admin") else ROLES


CASES = [
    Case(key, method, side, role)
    for key, entry in MATRIX.items()
    for method, by_side in entry.methods.items()
    for side in by_side
    for role in _roles_for(key)
]


def _client(world: dict, entry: Entry, role: str):
    if entry.api:
        return ApiClient(world["tokens"][ROLE_ORG[role]] if role != "anonymous" else None)
    from django.conf import settings
    from django.test import Client

    client = Client()
    if role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world["sessions"][role]
    return client


def _url(world: dict, case: Case, entry: Entry) -> str:
    route = next(r for r in routes() if r.key == case.key)
    side = case.side if case.side != "-" else OWN
    kwargs = entry.kwargs(world, side) if entry.kwargs else {}
    if route.pattern.name:
        url = reverse(case.key, kwargs=kwargs)
    else:
        url = "/" + route.route
        for name, value in kwargs.items():
            url = url.replace(f"<path:{name}>", str(value)).replace("(?P<url>.*)$", str(value))
        url = url.replace("^.*$", "no-such-endpoint")
    if entry.query:
        url += "?" + entry.query(world, side)
    return url


def _check(response, expected, case: Case) -> None:
    got = response.status_code
    where = f"{case.method} {case.key} as {case.role} on the {case.side} object"
    if expected == LOGIN:
        assert got == 302 and response["Location"].startswith(reverse("login")), (
            f"{where}: expected a redirect to the login page, got {got} "
            f"{response.get('Location', '')}"
        )
    elif expected == TWO_FACTOR:
        assert got == 302 and response["Location"].startswith(reverse("two-factor")), (
            f"{where}: expected a redirect to two-factor authentication, got {got} "
            f"{response.get('Location', '')}"
        )
    elif expected == ADMIN_LOGIN:
        assert got == 302 and response["Location"].startswith(reverse("admin:login")), (
            f"{where}: expected a redirect to the admin login, got {got} "
            f"{response.get('Location', '')}"
        )
    else:
        assert got == expected, f"{where}: expected {expected}, got {got}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_permission_matrix(world, db, monkeypatch, case: Case):
    entry = MATRIX[case.key]
    for target in entry.stubs:
        monkeypatch.setattr(target, lambda *args, **kwargs: b"stub")
    expected = entry.methods[case.method][case.side][case.role]
    client = _client(world, entry, case.role)
    url = _url(world, case, entry)
    method = getattr(client, case.method.lower())
    if entry.api and case.method in {"POST", "PUT", "PATCH"}:
        response = method(url, data=json.dumps(entry.data), content_type="application/json")
    else:
        response = method(url, data=entry.data)
    _check(response, expected, case)
    if response.status_code == 404 and entry.secret and case.side != "-":
        secret = entry.secret(world, case.side)
        assert secret not in response.content.decode(errors="replace"), (
            f"{case.id}: the 404 answer shows the object's data ({secret!r})"
        )
    if response.status_code == 403 and case.side == OTHER and not case.key.startswith("admin"):
        pytest.fail(f"{case.id}: another organisation's object answered 403, not 404")


# --- strangers' valid-looking writes ---------------------------------------------------------
def _state(world: dict) -> dict:
    """Everything the important writes could change on Riverbend's side."""
    from agreements.models import Agreement, Approval, ClauseOverride, Signature
    from consent.models import ConsentImport, ConsentRecord
    from partners.models import ApiToken, WebhookEndpoint

    own = world[OWN]
    return {
        "agreements": sorted(Agreement.objects.values_list("pk", "status", "text_hash")),
        "approvals": Approval.objects.count(),
        "signatures": Signature.objects.count(),
        "overrides": sorted(ClauseOverride.objects.values_list("pk", "status")),
        "imports": sorted(ConsentImport.objects.values_list("pk", "status")),
        "records": ConsentRecord.objects.filter(agreement_id=own["consent"]).count(),
        "tokens": sorted(ApiToken.objects.values_list("pk", "revoked_at")),
        "webhooks": sorted(WebhookEndpoint.objects.values_list("pk", "active")),
    }


def _signing_agreement():
    from agreements.models import Agreement

    return Agreement.objects.get(title="Open Curriculum Implementation Data Agreement")


def _write(name: str, world: dict):
    """(url, body) of a write that would succeed for the right person."""
    from agreements.models import Agreement

    own = world[OWN]
    review = Agreement.objects.get(pk=own["agreement"])
    signing = _signing_agreement()
    if name == "approve":
        return reverse("agreement-approve", args=[review.pk]), {
            "text_hash": review.text_hash,
            "confirmed": "on",
        }
    if name == "sign":
        return reverse("agreement-sign", args=[signing.pk]), {
            "text_hash": signing.text_hash,
            "signer_title": "Superintendent",
            "typed_name": "Tom Beringer",
            "intent_confirmed": "on",
        }
    if name == "propose":
        return reverse("override-propose", args=[own["negotiating"]]), {
            "kind": "replace",
            "clause_key": "audits",
            "body": "No audits at all.",
            "rationale": "A stranger's wish.",
        }
    if name == "respond":
        return reverse("override-respond", args=[own["negotiating"], own["override"]]), {
            "decision": "accept"
        }
    if name == "consent import":
        upload = ContentFile(
            b"student_key,decision,given_by,method,date\nS-77,granted,parent,paper,2026-09-02\n",
            name="consent.csv",
        )
        return reverse("consent-import", args=[own["consent"]]), {
            "file": upload,
            "default_form": own["consent_form"],
        }
    if name == "consent import confirm":
        return reverse("consent-import-confirm", args=[own["consent"], own["import"]]), {}
    if name == "token issue":
        return reverse("organisation-api-token-create", args=[own["org"]]), {
            "name": "stolen",
            "scopes": ["agreements:read", "consent:read", "webhooks:manage"],
        }
    if name == "token revoke":
        return reverse("organisation-api-token-revoke", args=[own["org"], own["token"]]), {}
    if name == "webhook create":
        return reverse("organisation-webhook-create", args=[own["org"]]), {
            "url": "https://hooks.example/stolen",
            "events": ["agreement.status_changed"],
        }
    raise AssertionError(name)


IMPORTANT_WRITES = [
    "approve",
    "sign",
    "propose",
    "respond",
    "consent import",
    "consent import confirm",
    "token issue",
    "token revoke",
    "webhook create",
]
#: Strangers to each write: Lakeshore's director (legal and signatory of another district)
#: always; for Riverbend's API settings also partners' people who are no Riverbend admins.
STRANGERS = {name: ["lakeshore"] for name in IMPORTANT_WRITES}
for _name in ("token issue", "token revoke", "webhook create"):
    STRANGERS[_name] += ["counsel", "vendor", "facilitator"]
for _name in ("consent import", "consent import confirm"):
    STRANGERS[_name] += ["counsel", "vendor", "facilitator"]


@pytest.mark.parametrize(
    ("write", "stranger"),
    [(name, who) for name in IMPORTANT_WRITES for who in STRANGERS[name]],
    ids=lambda value: value.replace(" ", "-"),
)
def test_a_strangers_valid_write_answers_404_and_changes_nothing(world, db, write, stranger):
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = world["sessions"][stranger]
    before = _state(world)
    url, body = _write(write, world)
    response = client.post(url, body)
    assert response.status_code == 404, (write, stranger, response.status_code)
    assert _state(world) == before
    page = response.content.decode(errors="replace")
    assert world[OWN]["agreement_title"] not in page
    assert _signing_agreement().title not in page


def test_the_same_approval_by_a_party_is_recorded(world, db):
    """The control for the test above: the body is valid, only the person is wrong."""
    from django.conf import settings
    from django.test import Client

    from agreements.models import Approval

    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = world["sessions"]["director"]
    before = Approval.objects.count()
    url, body = _write("approve", world)
    assert client.post(url, body).status_code == 302
    assert Approval.objects.count() == before + 1


def test_api_ignores_a_browser_session(world, db):
    """The partner API authenticates tokens only: a signed-in browser gets 401."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = world["sessions"]["director"]
    response = client.get(reverse("api-agreement-detail", args=[world[OWN]["agreement"]]))
    assert response.status_code == 401
