"""Signing as a signatory expects it (issue 17 item 6): the page shows the key terms, what
differs from the standard and the document before the statement of intent; the statement
names the agreement and its version in plain words; the signer's title and how they proved
who they are (password plus authenticator app or backup code, and when) are stored and
printed in the audit certificate. Approving asks for a confirmation first."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements.choices import AuthMethod
from agreements.documents import pdf
from agreements.models import Agreement, DocumentKind, Signature, Status
from agreements.review.services import agreement_approve
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.signing.selectors import last_signer_title
from agreements.signing.services import agreement_sign, intent_statement, text_version
from agreements.text.placeholders import format_date
from partners import two_factor
from tests.agreements.pdf_support import SIGNING, pdf_text
from tests.conftest import otp_code, otp_device, otp_verified

IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"
NOW = dt.datetime(2026, 12, 3, 14, 0, tzinfo=dt.UTC)


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def sign_url(agreement: Agreement) -> str:
    return reverse("agreement-sign", args=[agreement.pk])


def approved(demo) -> Agreement:
    """The in-review agreement (Riverbend, Northfield, Brightpath Learning, Inc.) approved by
    every party's legal team: it waits for signatures."""
    agreement = fresh(demo["agreements"][IN_REVIEW])
    for username in ("director", "counsel", "vendor"):
        user = demo["users"][username]
        if agreement.approvals.filter(organisation__memberships__user=user).exists():
            continue  # the demo has some approvals already
        agreement_approve(agreement=fresh(agreement), by=user, text_hash=agreement.text_hash)
    agreement = fresh(agreement)
    assert agreement.status == Status.SIGNING
    return agreement


def verify_with(client, code: str) -> None:
    """Pass the session check through the real verify page, as a person does."""
    response = client.post(reverse("two-factor-verify"), {"code": code})
    assert response.status_code == 302, response.content.decode()[:2000]


def sign_in_browser_flow(client, agreement: Agreement, *, name: str, title: str):
    return client.post(
        sign_url(agreement),
        {
            "text_hash": agreement.text_hash,
            "signer_title": title,
            "typed_name": name,
            "intent_confirmed": "on",
        },
    )


# --- the statement of intent -----------------------------------------------------------------


def test_the_statement_names_the_agreement_its_version_and_the_signers_title(demo):
    agreement = approved(demo)
    signature = agreement_sign(
        agreement=agreement,
        by=demo["users"]["vendor"],
        typed_name="Priya Natarajan",
        signer_title="  Chief   Executive Officer ",
        intent_confirmed=True,
        text_hash=agreement.text_hash,
    )
    frozen = next(
        t.at for t in reversed(agreement.transitions.all()) if t.to_status == Status.IN_REVIEW
    )
    version = (
        f"version of {format_date(timezone.localdate(frozen))}, on the standard "
        f"{agreement.template_version}"
    )
    assert signature.signer_title == "Chief Executive Officer"
    assert signature.intent_statement == (
        "I, Priya Natarajan, Chief Executive Officer of Brightpath Learning, Inc., sign the "
        f"agreement “{agreement.title}” ({agreement.reference}), {version}, on behalf of "
        "Brightpath Learning, Inc., and agree to be bound by it. I intend my typed name to be my "
        "signature, and I am authorised to bind Brightpath Learning, Inc."
    )
    assert ".." not in signature.intent_statement
    # The hash is recorded beside the statement, not read out in it.
    assert signature.text_hash == agreement.text_hash
    assert agreement.text_hash not in signature.intent_statement


def test_a_name_without_a_full_stop_gets_one(demo):
    agreement = fresh(demo["agreements"][SIGNING])
    statement = intent_statement(
        agreement=agreement, name="Maya Okafor", title="", organisation="Riverbend USD"
    )
    assert statement.startswith("I, Maya Okafor, sign the agreement “")
    assert statement.endswith("I am authorised to bind Riverbend USD.")
    assert text_version(agreement) in statement


# --- the page ----------------------------------------------------------------------------


def test_the_signing_page_shows_terms_differences_and_the_document_before_the_statement(
    client, demo
):
    agreement = fresh(demo["agreements"][SIGNING])
    otp_verified(client, demo["users"]["director"])
    page = client.get(sign_url(agreement)).content.decode()
    order = [
        page.index('id="sign-terms-title"'),
        page.index('id="sign-deviations-title"'),
        page.index('id="sign-document-title"'),
        page.index('id="statement-title"'),
    ]
    assert order == sorted(order)
    # The same key terms as the agreement page's Terms panel.
    assert "Breach notice" in page and "Destroy data by" in page
    # The inserted clause is named with its heading, linked to the comparison.
    assert "Open Licence of Curriculum Adaptations" in page
    assert reverse("agreement-compare", args=[agreement.pk]) + "#clause-open-licence" in page
    assert "proposed by OpenAlgebra Foundation and accepted by the parties." in page
    # The whole text, in a region that keyboards can scroll.
    assert 'class="sign-document" role="region" aria-label="Text of the agreement"' in page
    for clause in consolidated_text(agreement).clauses[:3]:
        assert clause.heading.split()[0] in page
    # The statement names the agreement and its version; the hash is in small print below.
    assert f"({agreement.reference}), {text_version(agreement)}" in page
    assert "[your title]" in page
    assert f'<code class="hash">{agreement.text_hash}</code>' in page
    assert "Your title" in page


def test_the_title_is_required_stored_and_offered_next_time(client, demo):
    agreement = fresh(demo["agreements"][SIGNING])
    director = demo["users"]["director"]
    otp_verified(client, director)
    response = sign_in_browser_flow(client, agreement, name="Maya Okafor", title="  ")
    assert response.status_code == 200
    assert "Give your title, e.g. “Superintendent”" in response.content.decode()
    assert not Signature.objects.filter(agreement=agreement, user=director).exists()

    response = sign_in_browser_flow(client, agreement, name="Maya Okafor", title="Superintendent")
    assert response.status_code == 302
    signature = Signature.objects.get(agreement=agreement, user=director)
    assert signature.signer_title == "Superintendent"
    assert "I, Maya Okafor, Superintendent of Riverbend" in signature.intent_statement
    assert last_signer_title(director) == "Superintendent"
    # The agreement page's parties table names the title.
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert "✓ Maya Okafor, Superintendent," in page


def test_the_form_starts_from_the_title_last_signed_with(client, demo):
    director = demo["users"]["director"]
    otp_verified(client, director)
    other = fresh(demo["agreements"][SIGNING])
    page = client.get(sign_url(other)).content.decode()
    # The demo has her sign earlier agreements as Superintendent.
    assert 'name="signer_title" id="id_signer_title" value="Superintendent"' in page
    agreement = approved(demo)
    agreement_sign(
        agreement=agreement,
        by=director,
        typed_name="Maya Okafor",
        signer_title="Superintendent of Schools",
        intent_confirmed=True,
        text_hash=agreement.text_hash,
    )
    page = client.get(sign_url(other)).content.decode()
    assert 'name="signer_title" id="id_signer_title" value="Superintendent of Schools"' in page
    assert "I, Maya Okafor, <span" in page and ">Superintendent of Schools</span>" in page


# --- how the signer authenticated -------------------------------------------------------------


def test_signing_after_an_authenticator_code_records_it_and_when(client, demo):
    agreement = fresh(demo["agreements"][SIGNING])
    director = demo["users"]["director"]
    client.force_login(director)
    before = timezone.now()
    verify_with(client, otp_code(otp_device(director)))
    assert client.session[two_factor.VERIFIED_SESSION_KEY]["method"] == "totp"
    response = sign_in_browser_flow(client, agreement, name="Maya Okafor", title="Superintendent")
    assert response.status_code == 302
    signature = Signature.objects.get(agreement=agreement, user=director)
    assert signature.auth_method == AuthMethod.TOTP
    assert before <= signature.authenticated_at <= signature.signed_at


def test_signing_after_a_backup_code_records_the_backup_code(client, demo):
    agreement = fresh(demo["agreements"][SIGNING])
    director = demo["users"]["director"]
    otp_device(director)
    codes = two_factor.backup_codes_issue(user=director)
    client.force_login(director)
    verify_with(client, codes[0])
    response = sign_in_browser_flow(client, agreement, name="Maya Okafor", title="Superintendent")
    assert response.status_code == 302
    signature = Signature.objects.get(agreement=agreement, user=director)
    assert signature.auth_method == AuthMethod.BACKUP
    assert signature.authenticated_at is not None


def test_a_session_verified_before_the_record_was_kept_still_names_its_factor(client, demo):
    agreement = fresh(demo["agreements"][SIGNING])
    director = demo["users"]["director"]
    otp_verified(client, director)  # django-otp's own session key only, no time recorded
    response = sign_in_browser_flow(client, agreement, name="Maya Okafor", title="Superintendent")
    assert response.status_code == 302
    signature = Signature.objects.get(agreement=agreement, user=director)
    assert signature.auth_method == AuthMethod.TOTP
    assert signature.authenticated_at is None


def test_the_audit_certificate_lists_title_and_how_each_signer_authenticated(demo):
    agreement = approved(demo)
    at = dt.datetime(2026, 12, 3, 13, 30, tzinfo=dt.UTC)
    signers = [
        ("director", "Maya Okafor", "Superintendent", AuthMethod.TOTP),
        ("counsel", None, None, None),  # Northfield's signatory is the researcher
        ("researcher", "Ana Lindqvist", "Vice President for Research", AuthMethod.BACKUP),
        ("vendor", "Priya Natarajan", "Chief Executive Officer", AuthMethod.TOTP),
    ]
    for username, name, title, method in signers:
        if name is None:
            continue
        agreement_sign(
            agreement=fresh(agreement),
            by=demo["users"][username],
            typed_name=name,
            signer_title=title,
            intent_confirmed=True,
            text_hash=agreement.text_hash,
            ip_address="198.51.100.7",
            auth_method=method,
            authenticated_at=at,
        )
    agreement = fresh(agreement)
    assert agreement.status == Status.ACTIVE
    rendered = pdf.render_agreement(
        agreement, consolidated_text(agreement), DocumentKind.EXECUTED, generated_at=NOW
    )
    content = pdf_text(rendered.pdf)
    certificate = content[content.index("Audit Certificate") :]
    signatures = content[content.index("In witness whereof") : content.index("Audit Certificate")]
    for title in ("Superintendent", "Vice President for Research", "Chief Executive Officer"):
        assert title in signatures
        assert title in certificate
    assert certificate.count("password and authenticator app, verified 3 Dec 2026 13:30 UTC") == 2
    assert certificate.count("password and backup code, verified 3 Dec 2026 13:30 UTC") == 1
    assert "198.51.100.7" in certificate
    assert "Brightpath Learning, Inc.." not in content
    # Each signer's own entry names their factor (Ana Lindqvist used a backup code).
    entry = re.search(r"Ana Lindqvist.*?(?=Signature ·|$)", certificate)
    assert entry and "backup code" in entry.group(0) and "authenticator" not in entry.group(0)


# --- approving asks first ----------------------------------------------------------------------


def test_approving_needs_the_confirmation_box(client, demo):
    agreement = fresh(demo["agreements"][IN_REVIEW])
    client.force_login(demo["users"]["director"])
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    assert '<summary class="button button--primary">Approve this text…</summary>' in page
    assert 'name="confirmed" id="approve-confirmed" required' in page
    assert f"{agreement.reference}, {text_version(agreement)}" in page
    url = reverse("agreement-approve", args=[agreement.pk])
    response = client.post(url, {"text_hash": agreement.text_hash}, follow=True)
    assert "Tick the box to confirm you approve this text" in response.content.decode()
    assert not agreement.approvals.filter(user=demo["users"]["director"]).exists()
    response = client.post(url, {"text_hash": agreement.text_hash, "confirmed": "on"}, follow=True)
    assert "You approved this text for your organisation." in response.content.decode()
    assert agreement.approvals.filter(user=demo["users"]["director"]).exists()


@pytest.mark.parametrize("name", ["agreement-sign", "agreement-approve"])
def test_strangers_get_404(client, demo, outsider, name):
    agreement = demo["agreements"][IN_REVIEW]
    client.force_login(outsider)
    response = client.post(reverse(name, args=[agreement.pk]), {"text_hash": "0" * 64})
    assert response.status_code == 404


def test_the_signing_page_query_count(client, demo, django_assert_max_num_queries):
    agreement = fresh(demo["agreements"][SIGNING])
    otp_verified(client, demo["users"]["director"])
    # session, user, verified device, the agreement with its text, parties, approvals,
    # signatures, transitions and overrides (one query: JSON prefetch), the title last signed
    # with, the user's roles. Terms, differences and the document come from those rows.
    with django_assert_max_num_queries(6):
        assert client.get(sign_url(agreement)).status_code == 200


def test_demo_signatures_carry_a_title_and_how_the_signer_authenticated(demo):
    """The demo's signed agreements show complete certificate entries, as real ones have."""
    signatures = list(Signature.objects.all())
    assert len(signatures) >= 9
    for signature in signatures:
        assert signature.signer_title, signature
        assert signature.auth_method == AuthMethod.TOTP, signature
        assert signature.authenticated_at is not None, signature
        assert signature.authenticated_at <= signature.signed_at + dt.timedelta(seconds=5)
