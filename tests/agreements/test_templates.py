"""Templates: versions are immutable once published; placeholders are checked; facilitators
copy, publish, import and export in the admin."""

import io

import docx
import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from agreements.models import Clause, DSATemplate, TemplateVersion
from agreements.negotiation.services import agreement_create
from agreements.standards.services import (
    clause_update,
    template_version_copy,
    template_version_publish,
)
from collaboratory.errors import DomainError
from tests.conftest import otp_verified


@pytest.fixture
def template(demo):
    return DSATemplate.objects.get(slug="standard-dsa")


@pytest.fixture
def published(template):
    return template.versions.get(number=2)


def test_demo_template_has_two_published_versions_differing_in_a_few_clauses(template):
    v1, v2 = template.versions.get(number=1), template.versions.get(number=2)
    assert v1.is_published and v2.is_published
    c1 = {c.key: c.body for c in v1.clauses.all()}
    c2 = {c.key: c.body for c in v2.clauses.all()}
    assert 25 <= len(c1) <= 40 and 25 <= len(c2) <= 40
    changed = {k for k in c1.keys() & c2.keys() if c1[k] != c2[k]}
    assert 1 <= len(changed) <= 6
    assert set(c2) - set(c1) == {"ai-model-training"}
    assert set(c1) - set(c2) == {"destruction-certification"}
    bodies = " ".join(c1.values())
    for placeholder in ("[[breach_notice_hours]]", "[[retention_days]]"):
        assert placeholder in bodies


def test_published_version_refuses_clause_edits_in_the_service(published):
    clause = published.clauses.first()
    with pytest.raises(DomainError, match="is published and can no longer change"):
        clause_update(clause=clause, body="Changed.")
    clause.refresh_from_db()
    assert clause.body != "Changed."


def test_database_refuses_editing_a_published_version(published):
    with pytest.raises(IntegrityError, match="is published; its clauses cannot change"):
        with transaction.atomic():
            Clause.objects.filter(version=published).update(body="Sneaky bulk edit.")
    with pytest.raises(IntegrityError, match="is published and cannot change"):
        with transaction.atomic():
            TemplateVersion.objects.filter(pk=published.pk).update(title="Renamed")
    unused = template_version_copy(source=published)
    template_version_publish(version=unused, by=None)
    with pytest.raises(IntegrityError, match="cannot be deleted"):
        with transaction.atomic(), connection.cursor() as cursor:
            # No agreement uses it, so only the trigger stands in the way.
            cursor.execute("DELETE FROM agreements_templateversion WHERE id = %s", [unused.pk])


def test_copy_makes_an_editable_draft_and_publish_freezes_it(published, demo):
    draft = template_version_copy(source=published)
    assert draft.number == 3 and not draft.is_published
    assert draft.clauses.count() == published.clauses.count()
    clause = draft.clauses.get(key="breach-notification")
    clause_update(clause=clause, body="Notify within [[breach_notice_hours]] hours.")
    template_version_publish(version=draft, by=demo["users"]["facilitator"])
    draft.refresh_from_db()
    assert draft.is_published and draft.published_by.username == "facilitator"
    with pytest.raises(DomainError):
        clause_update(clause=clause, body="Again.")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Keep it [[retention_period]] days.", "unknown placeholder [[retention_period]]"),
        ("Keep it [[ retention days ]] days.", "malformed placeholder"),
    ],
)
def test_publishing_names_the_bad_placeholder(published, body, message):
    draft = template_version_copy(source=published)
    clause = draft.clauses.get(key="data-retention")
    clause_update(clause=clause, body=body)
    with pytest.raises(DomainError) as error:
        template_version_publish(version=draft, by=None)
    assert any(message in m and "data-retention" in m for m in error.value.messages)
    draft.refresh_from_db()
    assert not draft.is_published


def test_agreement_must_use_a_published_version(published, demo):
    draft = template_version_copy(source=published)
    trio = demo["trios"]["adaptive-practice"]
    with pytest.raises(DomainError, match="is a draft; choose a published version"):
        agreement_create(
            trio=trio,
            template_version=draft,
            by=demo["users"]["counsel"],
            title="x",
            purpose="y",
            sharing_mode="analysis",
            start_date=__import__("datetime").date(2027, 1, 1),
            term_months=12,
            breach_notice_hours=72,
            retention_days=30,
        )


def test_staff_import_markdown_in_the_admin(client, admin_user, demo, template):
    otp_verified(client, admin_user)  # staff maintenance: the admin
    text = (
        "# Short DSA\n\n## 1. Purpose {#purpose}\n\nFor [[purpose_summary]].\n\n"
        "## 2. Retention {#data-retention}\n\nDestroy within [[retention_days]] days.\n"
    )
    upload = io.BytesIO(text.encode())
    upload.name = "short.md"
    response = client.post(
        reverse("admin:agreements_dsatemplate_import", args=[template.pk]), {"file": upload}
    )
    assert response.status_code == 302
    version = template.versions.order_by("-number").first()
    assert not version.is_published
    assert list(version.clauses.values_list("key", flat=True)) == ["purpose", "data-retention"]


def test_admin_import_reports_errors_and_creates_nothing(client, admin_user, demo, template):
    otp_verified(client, admin_user)  # staff maintenance: the admin
    before = template.versions.count()
    upload = io.BytesIO(b"# T\n\n## 1. A {#a}\n\nUses [[no_such_thing]].\n")
    upload.name = "bad.md"
    response = client.post(
        reverse("admin:agreements_dsatemplate_import", args=[template.pk]), {"file": upload}
    )
    assert response.status_code == 200
    assert "no_such_thing" in response.content.decode()
    assert template.versions.count() == before
    upload = io.BytesIO(b"\x89PNG\r\n\x1a\n")
    upload.name = "picture.png"
    response = client.post(
        reverse("admin:agreements_dsatemplate_import", args=[template.pk]), {"file": upload}
    )
    assert "upload a Markdown file (.md)" in response.content.decode()
    assert template.versions.count() == before


NO_BODY = b"# T\n\n## 1. Reserved {#reserved}\n\n## 2. Term {#term}\n\nOne year.\n"


def test_the_import_service_refuses_a_clause_without_text_naming_it(template):
    from agreements.standards.services import template_import

    before = template.versions.count()
    version, report = template_import(template=template, filename="t.md", data=NO_BODY)
    assert version is None
    assert [str(issue) for issue in report.errors] == [
        "Clause 'reserved' (1. Reserved) has no text: a template clause needs its text. "
        "Write it, or leave the clause out."
    ]
    assert template.versions.count() == before


def test_creating_a_version_with_a_clause_without_text_is_a_validation_error(template):
    from agreements.standards.report import ParsedClause
    from agreements.standards.services import template_version_create

    before = template.versions.count()
    with pytest.raises(DomainError) as error:
        template_version_create(
            template=template,
            title="T",
            clauses=[
                ParsedClause("term", "1", "Term", "One year."),
                ParsedClause("reserved", "2", "Reserved", "  \n"),
            ],
        )
    assert error.value.messages == [
        "Clause 'reserved' (2. Reserved) has no text: a template clause needs its text. "
        "Write it, or leave the clause out."
    ]
    assert template.versions.count() == before


def test_the_admin_import_names_a_clause_without_text_instead_of_failing(
    client, admin_user, demo, template
):
    otp_verified(client, admin_user)  # staff maintenance: the admin
    before = template.versions.count()
    upload = io.BytesIO(NO_BODY)
    upload.name = "t.md"
    response = client.post(
        reverse("admin:agreements_dsatemplate_import", args=[template.pk]), {"file": upload}
    )
    assert response.status_code == 200
    assert "Clause &#x27;reserved&#x27; (1. Reserved) has no text" in response.content.decode()
    assert template.versions.count() == before


MIB = 1024 * 1024
SAME_RULES_CASES = {
    "markdown": ("short.md", b"# T\n\n## 1. Purpose {#purpose}\n\nText.\n", None),
    "word": ("short.docx", "docx", None),
    "word by content, whatever the name": ("short.bin", "docx", None),
    "another kind of file": ("picture.png", b"\x89PNG\r\n\x1a\n", "is neither Markdown nor"),
    "not UTF-8": ("latin.md", "## 1. Café\n\nx".encode("latin-1"), "is not UTF-8 text"),
    "not a zip": ("fake.docx", b"not a zip at all", "This is not a Word document"),
    "old Word": ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "(.doc)"),
    "too big": ("big.md", b"## 1. A\n\n" + b"x" * (2 * MIB), "is 2.0 MiB; the limit is 1.0"),
    "unknown placeholder": ("bad.md", b"## 1. A {#a}\n\n[[no_such_thing]]\n", "no_such_thing"),
}


@pytest.mark.parametrize("case", SAME_RULES_CASES)
def test_the_admin_import_and_the_service_accept_and_refuse_the_same_files(
    client, admin_user, demo, template, settings, case
):
    """Both read uploads through parse_upload: same names, size limit, UTF-8 rule, messages."""
    from html import unescape

    from agreements.standards.services import template_import
    from agreements.text.document.docx_export import docx_export
    from agreements.text.document.markdown_import import import_markdown

    settings.TEMPLATE_UPLOAD_MAX_BYTES = MIB
    name, data, expected = SAME_RULES_CASES[case]
    if data == "docx":
        data = docx_export(import_markdown(SAME_RULES_CASES["markdown"][1].decode()).document)
    before = template.versions.count()

    version, report = template_import(template=template, filename=name, data=data)
    assert (version is not None) == (expected is None) == report.ok, report.errors
    refusals = [str(issue) for issue in report.errors]
    assert expected is None or expected in " ".join(refusals)

    otp_verified(client, admin_user)  # staff maintenance: the admin
    upload = io.BytesIO(data)
    upload.name = name
    response = client.post(
        reverse("admin:agreements_dsatemplate_import", args=[template.pk]), {"file": upload}
    )
    if expected is None:
        assert response.status_code == 302
        assert template.versions.count() == before + 2
    else:
        assert response.status_code == 200
        page = unescape(response.content.decode())
        assert all(refusal in page for refusal in refusals), (refusals, page)
        assert template.versions.count() == before


@pytest.mark.parametrize("fmt", ["md", "docx"])
def test_admin_export_writes_the_version_document_and_reads_back_to_it(
    client, admin_user, demo, published, fmt
):
    """The export is the library's writer over the version's document: importing it gives
    the same canonical text, and Word users see no markup characters."""
    from agreements.standards.services import template_import, version_document
    from agreements.text.document import canonical

    otp_verified(client, admin_user)  # staff maintenance: the admin
    response = client.get(
        reverse("admin:agreements_templateversion_export", args=[published.pk, fmt])
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="aims-standard-three-party-dsa-v{published.number}.{fmt}"'
    )
    body = b"".join(response.streaming_content) if response.streaming else response.content
    again, report = template_import(
        template=published.template, filename=f"export.{fmt}", data=body
    )
    assert again is not None, report.errors
    assert canonical.to_json(version_document(again)) == canonical.to_json(
        version_document(published)
    )
    if fmt == "docx":
        paragraphs = docx.Document(io.BytesIO(body)).paragraphs
        words = "\n".join(p.text for p in paragraphs)
        for markup in ("**", "{#", "\\.", "{.ul}", "]{", "## "):
            assert markup not in words, markup
        numbered = [p for p in paragraphs if p._p.pPr is not None and p._p.pPr.numPr is not None]
        assert len(numbered) >= published.clauses.count() - 1  # Word numbers the clauses


def test_admin_actions_copy_and_publish(client, admin_user, demo, published):
    otp_verified(client, admin_user)  # staff maintenance: the admin
    url = reverse("admin:agreements_templateversion_changelist")
    client.post(url, {"action": "copy_versions", "_selected_action": [published.pk]})
    draft = published.template.versions.order_by("-number").first()
    assert draft.number == 3 and not draft.is_published
    client.post(url, {"action": "publish_versions", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.is_published
