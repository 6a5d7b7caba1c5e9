"""Clause text, comments and names are data (issue 9, item 5).

Template-injection payloads (``{{ settings.SECRET_KEY }}``, ``{% debug %}``, ``{% load log %}``,
``{{ request.user.password }}``) and XSS payloads (``<script>``, an ``onerror`` attribute
breaking out of a quoted value, ``javascript:`` URLs, ``</textarea>``) are written into every
kind of user text: template clauses, clause overrides and their rationales, comments,
organisation / trio / agreement names, research questions, data element names, placeholder
values and consent CSV fields. Then every output that shows them must show them literally:
HTML pages (escaped, never markup), the PDF and the .docx (the literal text), the API (JSON
strings). The SECRET_KEY (a per-test canary) and the viewer's password hash appear nowhere.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import secrets
import subprocess
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from agreements.models import Agreement, DocumentKind, Identifiability
from agreements.negotiation.discussions import clause_comment_add
from agreements.negotiation.proposals import override_propose, override_respond
from agreements.negotiation.services import (
    agreement_create,
    agreement_open_negotiation,
    data_element_add,
)
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.standards.services import (
    template_create,
    template_version_create,
    template_version_publish,
)
from partners.services import (
    membership_grant,
    organisation_create,
    research_question_add,
    trio_create,
)

SSTI = [
    "{{ settings.SECRET_KEY }}",
    "{% debug %}",
    "{% load log %}{% get_admin_log 10 as log for_user user %}",
    "{{ request.user.password }}",
]
XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    '<a href="javascript:alert(1)">click</a>',
    "</textarea><script>alert(2)</script>",
]
#: Every payload in one string; short enough for a 200-character name with a prefix.
NAME = '<script>alert(1)</script>{{ settings.SECRET_KEY }}"><img src=x onerror=alert(1)>'
TEXT = " ".join(SSTI + XSS)
#: What must be in the page, escaped, to prove the payload got there and stayed text.
SHOWN = escape("<script>alert(1)</script>")


@pytest.fixture
def canary(settings):
    """A SECRET_KEY no page could contain by accident."""
    settings.SECRET_KEY = "canary-" + secrets.token_hex(24)
    return settings.SECRET_KEY


class _Markup(HTMLParser):
    """The elements and attributes a browser would build from a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        self.in_script = tag == "script"
        if tag == "img" and ("src", "x") in attrs:
            self.problems.append("an <img src=x> element")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") and "alert" in value:
                self.problems.append(f"an event handler {name}={value!r} on <{tag}>")
            if name in ("href", "src", "action", "formaction") and value.startswith("javascript:"):
                self.problems.append(f"a javascript: URL in <{tag} {name}>")

    def handle_endtag(self, tag):
        self.in_script = False

    def handle_data(self, data):
        if self.in_script and "alert(" in data:
            self.problems.append(f"a script running {data.strip()[:40]!r}")


def assert_inert_html(body: str, *, canary: str, viewer=None, shown: bool = True) -> None:
    """No payload became markup, the secret and the viewer's password hash are absent, and
    (with ``shown``) at least one payload is visible as escaped text."""
    assert canary not in body
    if viewer is not None:
        assert viewer.password not in body
    markup = _Markup()
    markup.feed(body)
    markup.close()
    assert not markup.problems, markup.problems
    assert "<script>alert" not in body and "<img src=x" not in body
    assert body.count("<textarea") == body.count("</textarea>")
    # The template engine never ran over data: {% debug %} would dump the context and
    # sys.modules; {% load log %} would render an admin log.
    assert "sys.modules" not in body and "'csrf_token'" not in body
    if shown:
        assert SHOWN in body


def _strings(value) -> list[str]:
    """Every string in a decoded JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.fixture
def evil(demo, canary):
    """A published template, an agreement of the adaptive-practice trio made from it and a
    negotiation on it, with a payload in every piece of user text."""
    User = get_user_model()
    users = {
        name: User.objects.create_user(username=f"evil-{name}", password="pw-" + name * 3)
        for name in ("director", "counsel", "vendor")
    }
    users["facilitator"] = demo["users"]["facilitator"]
    members = {
        kind: organisation_create(name=f"{kind.title()} {NAME}", kind=kind, slug=f"evil-{kind}")
        for kind in ("research", "district", "developer")
    }
    for username, kind, roles in (
        ("director", "district", ("director", "legal")),
        ("counsel", "research", ("legal",)),
        ("vendor", "developer", ("legal",)),
    ):
        for role in roles:
            membership_grant(user=users[username], organisation=members[kind], role=role)
    trio = trio_create(
        collaboratory=demo["collaboratory"],
        name=f"Trio {NAME}",
        slug="evil-trio",
        description=TEXT,
        research=members["research"],
        district=members["district"],
        developer=members["developer"],
    )
    question = research_question_add(trio=trio, text=f"Question zanzibar {TEXT}")

    template = template_create(
        collaboratory=demo["collaboratory"],
        name=f"Template {NAME}",
        slug="evil-template",
        description=TEXT,
    )
    clause = SimpleNamespace
    version = template_version_create(
        template=template,
        title=f"Version {NAME}",
        clauses=[
            clause(
                key="definitions",
                number="1",
                heading="Definitions",
                body=f"(a) “Evil Term” means zanzibar {TEXT}.",
            ),
            clause(
                key="evil-clause",
                number="2",
                heading=f"Heading {NAME}",
                body=(
                    "The Evil Term binds [[district_name]] and [[research_org_name]] under "
                    f"[[governing_state]]. zanzibar {TEXT}"
                ),
            ),
            clause(key="retention", number="3", heading="Retention", body="Kept for a year."),
        ],
    )
    version = template_version_publish(version=version, by=users["facilitator"])
    start = timezone.localdate()
    agreement = agreement_create(
        trio=trio,
        template_version=version,
        by=users["director"],
        title=f"Agreement {NAME}",
        purpose=f"Purpose zanzibar {TEXT}",
        sharing_mode="analysis",
        start_date=start,
        term_months=12,
        breach_notice_hours=48,
        retention_days=30,
        research_questions=[question],
        placeholder_values={"governing_state": f"State {NAME}"},
    )
    data_element_add(
        agreement=agreement,
        by=users["director"],
        name=f"Element {NAME}",
        description=TEXT,
        source=members["district"],
        recipient=members["research"],
        identifiability=Identifiability.PSEUDONYMOUS,
        research_questions=[question],
    )
    agreement_open_negotiation(agreement=agreement, by=users["director"])
    override = override_propose(
        agreement=agreement,
        by=users["counsel"],
        kind="replace",
        clause_key="retention",
        heading=f"Retention {NAME}",
        body=f"Kept for zanzibar {TEXT}",
        rationale=f"Because {TEXT}",
    )
    override_respond(
        override=override, by=users["director"], decision="accept", comment=f"OK {TEXT}"
    )
    override_respond(override=override, by=users["vendor"], decision="accept")
    clause_comment_add(
        agreement=agreement, by=users["director"], clause_key="evil-clause", body=f"Note {TEXT}"
    )
    agreement = with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)
    return SimpleNamespace(agreement=agreement, users=users, trio=trio, template=template)


PAGES = [
    ("agreement-detail", "agreement"),
    ("agreement-compare", "agreement"),
    ("agreement-history", "agreement"),
    ("agreement-reviews", "agreement"),
    ("agreement-list", None),
    ("dashboard", None),
    ("trio-detail", "trio"),
]


def test_payloads_render_as_escaped_text_on_every_page_showing_them(client, evil, canary):
    """One world, every page (building the world is the slow part)."""
    director = evil.users["director"]
    client.force_login(director)
    for name, target in PAGES:
        if target == "agreement":
            url = reverse(name, args=[evil.agreement.pk])
        elif target == "trio":
            url = reverse(name, args=[evil.trio.collaboratory.slug, evil.trio.slug])
        else:
            url = reverse(name)
        response = client.get(url)
        assert response.status_code == 200, url
        assert_inert_html(response.content.decode(), canary=canary, viewer=director)


def test_the_agreement_page_shows_every_payload_literally_including_the_glossary(
    client, evil, canary
):
    client.force_login(evil.users["director"])
    body = client.get(reverse("agreement-detail", args=[evil.agreement.pk])).content.decode()
    assert_inert_html(body, canary=canary, viewer=evil.users["director"])
    for payload in SSTI + XSS:
        assert escape(payload) in body, payload
    # The definitions clause defines "Evil Term": its hover text is the escaped definition.
    tip = re.search(r'<span class="gloss__tip"[^>]*>(.*?)</span>', body, re.S)
    assert tip is not None and SHOWN in tip.group(1)


def test_search_highlights_matches_without_turning_payloads_into_markup(client, evil, canary):
    client.force_login(evil.users["director"])
    body = client.get(reverse("search"), {"q": "zanzibar"}).content.decode()
    assert "<mark>zanzibar</mark>" in body
    assert_inert_html(body, canary=canary, viewer=evil.users["director"])


def test_the_redline_docx_holds_the_literal_text(client, evil, canary):
    import docx
    from docx.oxml.ns import qn

    client.force_login(evil.users["director"])
    response = client.get(reverse("agreement-redline-docx", args=[evil.agreement.pk]))
    assert response.status_code == 200
    document = docx.Document(io.BytesIO(response.content))
    text = "".join(
        node.text or ""
        for node in document.element.body.iter()
        if node.tag in (qn("w:t"), qn("w:delText"))
    )
    assert "<script>alert(1)</script>" in text and "{{ settings.SECRET_KEY }}" in text
    assert canary not in text and canary.encode() not in response.content


@pytest.mark.parametrize("fmt", ["docx", "md", "pdf"])
def test_the_exported_template_holds_the_literal_text(evil, canary, fmt):
    import docx

    from agreements.standards.export import version_export
    from agreements.text.document.markdown_import import import_markdown
    from agreements.text.document.plain import plain_text

    version = evil.template.versions.get()
    content = version_export(version, fmt).data
    if fmt == "docx":
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)
    elif fmt == "pdf":
        text = _pdf_text(content)
    else:  # escaped as Markdown needs: what it reads back as is the literal text
        text = plain_text(import_markdown(content.decode()).document)
    squashed = "".join(text.split())  # the stored text splits a payload into paragraphs
    for payload in (*SSTI, *XSS, NAME):
        assert "".join(payload.split()) in squashed, payload
    assert canary not in text and canary.encode() not in content


def _pdf_text(content: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=content, capture_output=True, check=True
    )
    return " ".join(result.stdout.decode().split())  # lines rejoined


def test_the_pdf_shows_the_payloads_as_text_and_not_the_secret(evil, canary):
    from agreements.documents.pdf import html_for, render_agreement

    agreement = evil.agreement
    text = consolidated_text(agreement)
    now = timezone.now()
    html = html_for(agreement, text, DocumentKind.REVIEW, generated_at=now)
    assert_inert_html(html, canary=canary)
    rendered = render_agreement(agreement, text, DocumentKind.REVIEW, generated_at=now)
    words = _pdf_text(rendered.pdf)
    assert "<script>alert(1)</script>" in words
    assert "{{ settings.SECRET_KEY }}" in words and "{% debug %}" in words
    assert canary not in words and canary.encode() not in rendered.pdf


def test_the_redline_pdf_shows_the_payloads_as_text(client, evil, canary):
    client.force_login(evil.users["director"])
    response = client.get(reverse("agreement-redline-pdf", args=[evil.agreement.pk]))
    assert response.status_code == 200
    words = _pdf_text(response.content)
    assert "<script>alert(1)</script>" in words and "{{ settings.SECRET_KEY }}" in words
    assert canary not in words


def test_the_api_returns_payloads_as_json_strings(evil, canary):
    from partners.api_auth import api_token_issue

    district = evil.trio.members.get(role="district").organisation
    _, token = api_token_issue(
        organisation=district, name="test", scopes=("agreements:read",), expires_at=None
    )
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    for name in ("api-agreement-detail", "api-agreement-terms"):
        response = api.get(reverse(name, args=[evil.agreement.pk]))
        assert response.status_code == 200, (name, response.content[:300])
        # JSON (the terms are JSON-LD), never something a browser would render as a page
        assert re.match(r"application/(?:[a-z.-]+\+)?json\b", response["Content-Type"])
        assert response["X-Content-Type-Options"] == "nosniff"
        raw = response.content.decode()
        assert canary not in raw
        assert any(NAME in text for text in _strings(response.json())), name


# --- consent CSV fields ----------------------------------------------------------------------


@pytest.fixture
def consent_study(demo):
    from agreements.demo import seed_templates
    from consent import services as consent_services
    from tests.consent.conftest import activate, make_agreement

    world = dict(demo)
    world["versions"] = seed_templates(demo["collaboratory"])
    agreement = activate(world, make_agreement(world, start=dt.date(2026, 1, 5)))
    form = consent_services.consent_form_add(
        agreement=agreement,
        by=world["users"]["director"],
        language="en",
        title=f"Form {NAME}",
        body=TEXT,
        effective_date=dt.date(2026, 1, 5),
    )
    return SimpleNamespace(agreement=agreement, form=form, users=world["users"])


def _upload(client, study, rows: list[str]):
    upload = SimpleUploadedFile("evil.csv", "\n".join(rows).encode(), content_type="text/csv")
    return client.post(
        reverse("consent-import", args=[study.agreement.pk]),
        {"file": upload, "default_form": study.form.pk},
        follow=True,
    )


HEADER = "student_key,decision,given_by,method,date,school,grade,birth_year,witness"


def test_consent_csv_errors_echo_bad_values_escaped(client, consent_study, canary):
    director = consent_study.users["director"]
    client.force_login(director)
    day = "2026-02-02"
    response = _upload(
        client,
        consent_study,
        [
            HEADER,
            f'RB-3,granted,parent,paper,{day},Cedar,"<script>alert(1)</script>",2013,',
            f'"<script>alert(1)</script>",granted,parent,paper,{day},Cedar,7,2013,',
            f"RB-4,{{{{ settings.SECRET_KEY }}}},parent,paper,{day},Cedar,7,2013,",
        ],
    )
    assert response.status_code == 200
    preview = response.content.decode()
    assert_inert_html(preview, canary=canary, viewer=director, shown=False)
    # The bad grade and decision are echoed (cut short, escaped); the bad key never is.
    assert escape("“<script>alert(1)</s") in preview
    assert "“{{ settings.SECRET_KEY }}” is not a decision" in preview


def test_consent_csv_fields_render_as_text_in_the_student_list(client, consent_study, canary):
    from consent.models import ConsentImport

    director = consent_study.users["director"]
    client.force_login(director)
    pk = consent_study.agreement.pk
    school = '<script>alert(1)</script>{{ settings.SECRET_KEY }}"><img src=x onerror=alert(1)>'
    witness = "</textarea><script>alert(2)</script>{% debug %}"
    day = "2026-02-02"
    quoted = '"' + school.replace('"', '""') + '"'
    response = _upload(
        client,
        consent_study,
        [
            HEADER,
            f"RB-1,granted,parent,paper,{day},{quoted},7,2013,",
            f"RB-2,granted,parent,verbal,{day},Cedar,7,2013,{witness}",
        ],
    )
    preview = response.content.decode()
    assert "No problems found" in preview, preview[-3000:]
    item = ConsentImport.objects.get(agreement_id=pk)
    client.post(reverse("consent-import-confirm", args=[pk, item.pk]))
    students = client.get(reverse("consent-students", args=[pk])).content.decode()
    assert_inert_html(students, canary=canary, viewer=director)
    assert escape(school) in students
    dashboard = client.get(reverse("consent-dashboard", args=[pk])).content.decode()
    assert_inert_html(dashboard, canary=canary, viewer=director, shown=False)


def test_an_email_built_from_user_text_escapes_it_in_the_html_part(mailoutbox):
    from collaboratory.mail import send_mail_message

    send_mail_message(subject=f"Re {NAME}", text=f"Comment: {TEXT}", to=["a@example.org"])
    html, mime = mailoutbox[0].alternatives[0]
    assert mime == "text/html"
    assert "<script>" not in html and escape("<script>alert(1)</script>") in html
    assert "{{ settings.SECRET_KEY }}" in mailoutbox[0].body
