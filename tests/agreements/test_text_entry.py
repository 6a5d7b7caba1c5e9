"""Every way text enters stores it in the entry normal form (``agreements.text.entry``): the
pages' forms, the consent forms, the admin, template imports and clause edits."""

from __future__ import annotations

import importlib
import inspect

import pytest
from django import forms
from django.contrib import admin
from django.test import RequestFactory

from agreements import admin as agreements_admin
from agreements.models import DSATemplate, TemplateVersion
from agreements.standards.services import clause_update, template_import, template_version_copy
from agreements.web import forms as web_forms
from agreements.web.fields import MarkdownField, NormalisedCharField

CRLF_BODY = "The Recipient shall:  \r\n\r\n(a) notify the Custodian;  \r\n    promptly\r\n"
NORMAL_BODY = "The Recipient shall:\n\n(a) notify the Custodian;\\\n    promptly\n"

# Every module declaring forms that take text people type.
FORM_MODULES = [
    "agreements.web.forms",
    "agreements.web.wizard_forms",
    "agreements.web.review",
    "consent.forms",
    "consent.wizard",
]


def test_the_fields_normalise_after_django_strips_the_ends():
    assert NormalisedCharField().clean("  Caf\u0065\u0301  \r\nau lait  \r\n") == "Café\nau lait"
    assert MarkdownField().clean(CRLF_BODY) == NORMAL_BODY.strip()
    assert NormalisedCharField(required=False).clean("") == ""


def test_a_proposal_form_cleans_its_text_to_the_normal_form():
    form = web_forms.OverrideProposeForm(
        {
            "kind": "replace",
            "clause_key": "term",
            "heading": "Te\u0301rm  ",
            "body": CRLF_BODY,
            "rationale": "Shorter.  \r\nClearer.",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["body"] == NORMAL_BODY.strip()
    assert form.cleaned_data["heading"] == "Térm"
    # A rationale is shown as written: no Markdown backslash in it.
    assert form.cleaned_data["rationale"] == "Shorter.\nClearer."


@pytest.mark.parametrize("module_name", FORM_MODULES)
def test_every_textarea_of_every_form_is_normalised(module_name):
    module = importlib.import_module(module_name)
    forms_here = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__
    ]
    assert forms_here
    plain_textareas = [
        f"{cls.__name__}.{name}"
        for cls in forms_here
        for name, field in cls.base_fields.items()
        if isinstance(field.widget, forms.Textarea) and not isinstance(field, NormalisedCharField)
    ]
    assert plain_textareas == []


def test_consent_form_text_is_normalised():
    from consent.forms import ConsentFormTextForm

    form = ConsentFormTextForm(
        {
            "language": "en",
            "title": "Consent  ",
            "body": "Dear family,  \r\nCafe\u0301 au lait.\r\n",
            "effective_date": "2026-09-01",
        }
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["body"] == "Dear family,\nCafé au lait."
    assert form.cleaned_data["title"] == "Consent"


@pytest.fixture
def draft(demo) -> TemplateVersion:
    template = DSATemplate.objects.get(slug="standard-dsa")
    return template_version_copy(source=template.versions.get(number=2))


def test_the_admin_edits_clauses_and_versions_in_the_normal_form(draft, admin_user):
    request = RequestFactory().get("/")
    request.user = admin_user
    inline = agreements_admin.ClauseInline(TemplateVersion, admin.site)
    clause_form = inline.get_formset(request, draft).form
    assert type(clause_form.base_fields["body"]) is MarkdownField
    assert type(clause_form.base_fields["heading"]) is NormalisedCharField
    version_form = agreements_admin.TemplateVersionAdmin(TemplateVersion, admin.site).get_form(
        request, draft
    )
    assert type(version_form.base_fields["notes"]) is NormalisedCharField
    assert type(version_form.base_fields["title"]) is NormalisedCharField
    template_form = agreements_admin.DSATemplateAdmin(DSATemplate, admin.site).get_form(request)
    assert type(template_form.base_fields["description"]) is NormalisedCharField
    # Slugs keep their own field.
    assert type(template_form.base_fields["slug"]) is forms.SlugField


def test_a_clause_edit_is_stored_in_the_normal_form(draft):
    clause = draft.clauses.get(key="insurance")
    clause_update(clause=clause, heading="Insurance  ", body=CRLF_BODY)
    clause.refresh_from_db()
    assert clause.body == NORMAL_BODY
    assert clause.heading == "Insurance"


def test_a_copied_version_gets_the_normal_form(draft):
    clause = draft.clauses.get(key="insurance")
    clause_update(clause=clause, body="Line one.\r\n\r\nLine two.")
    # The same Markdown with the blocks it was read as: the copy reads the same.
    copy = template_version_copy(source=draft)
    copied = copy.clauses.get(key="insurance")
    assert copied.body == "Line one.\n\nLine two."
    assert copied.blocks == draft.clauses.get(key="insurance").blocks


def test_an_imported_template_is_stored_in_the_normal_form(demo):
    template = DSATemplate.objects.get(slug="standard-dsa")
    source = (
        "# Standard DSA\r\n\r\n"
        "## Definitions {#definitions}  \r\n\r\n"
        "In this Agreement, \u201cData\u201d means  \r\nthe records listed in Schedule A.\r\n\r\n"
        "## Re\u0301tention {#retention}\r\n\r\n"
        "Data is kept [[retention_days]] days.   \r\n"
    ).encode()
    version, report = template_import(template=template, filename="dsa.md", data=source)
    assert version is not None, report.errors
    clauses = {c.key: c for c in version.clauses.all()}
    assert clauses["retention"].heading == "Rétention"
    for clause in clauses.values():
        assert "\r" not in clause.body
        assert all(line == line.rstrip() for line in clause.body.split("\n"))
    assert "means\\\nthe records" in clauses["definitions"].body
