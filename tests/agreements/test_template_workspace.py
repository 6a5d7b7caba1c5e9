"""The template workspace (issue 19, item 1): facilitators manage templates in the product's
own pages; services refuse bad input naming what to fix and write an audit entry per act;
the wizard offers only published, current versions of templates published for use."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from agreements.choices import TemplateUsage
from agreements.models import Clause, DSATemplate, TemplateVersion
from agreements.standards import services
from agreements.standards.workspace import offered_versions, version_changes
from audit.models import AuditAction, AuditEntry
from collaboratory.errors import DomainError
from tests.agreements.test_template_docx_unsupported import document_with


@pytest.fixture
def facilitator(demo):
    return demo["users"]["facilitator"]


@pytest.fixture
def template(demo):
    return DSATemplate.objects.get(slug="standard-dsa")


@pytest.fixture
def v2(template):
    return template.versions.get(number=2)


@pytest.fixture
def draft(v2, facilitator):
    return services.template_version_copy(source=v2, by=facilitator)


def audited(action: str, target) -> bool:
    return AuditEntry.objects.filter(
        action=action, object_id=str(target.pk), object_type__icontains=target._meta.model_name
    ).exists()


# --- services --------------------------------------------------------------------------------


def test_creating_a_template_is_audited_and_a_taken_short_name_is_refused(demo, facilitator):
    collaboratory = DSATemplate.objects.get(slug="standard-dsa").collaboratory
    created = services.template_create(
        collaboratory=collaboratory,
        name="Pilot DSA",
        slug="pilot-dsa",
        usage=TemplateUsage.DRAFT,
        by=facilitator,
    )
    assert created.usage == TemplateUsage.DRAFT
    assert audited(AuditAction.TEMPLATE_CREATED, created)
    with pytest.raises(DomainError, match="already has a template with the short name"):
        services.template_create(
            collaboratory=collaboratory, name="Again", slug="pilot-dsa", by=facilitator
        )
    assert DSATemplate.objects.filter(slug="pilot-dsa").count() == 1


def test_the_wizard_offers_only_current_versions_of_templates_in_use(template, v2, facilitator):
    v1 = template.versions.get(number=1)
    assert set(offered_versions().filter(template=template)) == {v1, v2}
    services.template_version_retire(version=v1, by=facilitator)
    assert list(offered_versions().filter(template=template)) == [v2]
    assert audited(AuditAction.VERSION_RETIRED, v1)
    with pytest.raises(DomainError, match="already retired"):
        services.template_version_retire(version=v1, by=facilitator)
    services.template_usage_set(template=template, usage=TemplateUsage.TEST, by=facilitator)
    assert not offered_versions().filter(template=template).exists()
    assert audited(AuditAction.TEMPLATE_USAGE, template)
    with pytest.raises(DomainError, match="Choose one of"):
        services.template_usage_set(template=template, usage="sometimes", by=facilitator)


def test_a_draft_is_never_offered_and_cannot_be_retired(draft, facilitator):
    assert not offered_versions().filter(pk=draft.pk).exists()
    with pytest.raises(DomainError, match="only published versions are retired"):
        services.template_version_retire(version=draft, by=facilitator)


def test_adding_a_clause_refuses_bad_input_naming_the_field(draft, facilitator):
    before = draft.clauses.count()
    existing = draft.clauses.first().key
    for kwargs, field, message in (
        (
            {"key": "new-one", "heading": " ", "body": "Text."},
            "heading",
            "Give the clause a heading",
        ),
        ({"key": "new-one", "heading": "New", "body": "  "}, "body", "needs its text"),
        ({"key": existing, "heading": "New", "body": "Text."}, "key", "already has a clause"),
        ({"key": "Bad Key!", "heading": "New", "body": "Text."}, "key", "lower-case letters"),
    ):
        with pytest.raises(DomainError) as caught:
            services.clause_add(version=draft, by=facilitator, **kwargs)
        assert message in " ".join(caught.value.message_dict[field])
    assert draft.clauses.count() == before


def test_add_move_and_remove_keep_the_order_and_labels(draft, facilitator):
    added = services.clause_add(
        version=draft,
        key="open-data",
        heading="Open data",
        body="Aggregates of fewer than [[retention_days]] students are never published.",
        by=facilitator,
    )
    keys = list(draft.clauses.order_by("order").values_list("key", flat=True))
    assert keys[-1] == "open-data"
    assert added.blocks  # the structured text, derived from the Markdown
    services.clause_move(clause=added, direction="up", by=facilitator)
    keys_after = list(draft.clauses.order_by("order").values_list("key", flat=True))
    assert keys_after[-2:] == ["open-data", keys[-2]]
    orders = list(draft.clauses.order_by("order").values_list("order", flat=True))
    assert len(set(orders)) == len(orders)
    services.clause_remove(clause=Clause.objects.get(pk=added.pk), by=facilitator)
    assert list(draft.clauses.order_by("order").values_list("key", flat=True)) == keys[:-1]
    edits = AuditEntry.objects.filter(action=AuditAction.VERSION_EDITED, object_id=str(draft.pk))
    assert [e.payload["edit"] for e in edits.order_by("seq")] == ["added", "moved up", "removed"]


def test_a_published_version_refuses_every_edit(v2, facilitator):
    clause = v2.clauses.first()
    for act in (
        lambda: services.clause_edit(clause=clause, heading="X", body="Y.", by=facilitator),
        lambda: services.clause_add(version=v2, key="x", heading="X", body="Y.", by=facilitator),
        lambda: services.clause_remove(clause=clause, by=facilitator),
        lambda: services.clause_move(clause=clause, direction="down", by=facilitator),
    ):
        with pytest.raises(DomainError, match="is published and can no longer change"):
            act()


def test_publishing_lists_changes_and_can_retire_the_earlier_versions(draft, v2, facilitator):
    first = draft.clauses.order_by("order").first()
    services.clause_edit(clause=first, heading=first.heading, body="Changed words.", by=facilitator)
    services.clause_add(version=draft, key="new-clause", heading="New", body="New.", by=facilitator)
    last = draft.clauses.exclude(key="new-clause").order_by("-order").first()
    services.clause_remove(clause=last, by=facilitator)
    changes = version_changes(v2, draft)
    assert any(first.heading in t for t in changes.changed)
    assert any("New" in t for t in changes.added) and any(
        last.heading in t for t in changes.removed
    )
    services.template_version_publish(version=draft, by=facilitator, retire_earlier=True)
    offered = list(offered_versions().filter(template=draft.template))
    assert offered == [TemplateVersion.objects.get(pk=draft.pk)]
    assert audited(AuditAction.VERSION_PUBLISHED, draft)


# --- pages -----------------------------------------------------------------------------------


def test_outsiders_and_parties_get_404_everywhere(client, demo, draft):
    clause = draft.clauses.first()
    urls = [
        reverse("template-list"),
        reverse("template-new"),
        reverse("template-import", args=[draft.template_id]),
        reverse("template-version", args=[draft.pk]),
        reverse("template-clause-edit", args=[draft.pk, clause.pk]),
        reverse("template-clause-add", args=[draft.pk]),
        reverse("template-version-publish", args=[draft.pk]),
    ]
    for username in ("director", "lakeshore"):
        client.force_login(demo["users"][username])
        for url in urls:
            assert client.get(url).status_code == 404, (username, url)
        post = client.post(reverse("template-clause-remove", args=[draft.pk, clause.pk]))
        assert post.status_code == 404
    assert draft.clauses.filter(pk=clause.pk).exists()


def test_the_templates_page_lists_versions_with_their_use(
    client, facilitator, template, django_assert_max_num_queries
):
    client.force_login(facilitator)
    # Queries: session, user, staffed collaboratories (exists), templates with their
    # collaboratory, their versions with publisher, retirer and agreement count.
    with django_assert_max_num_queries(6):
        page = client.get(reverse("template-list"))
    body = page.content.decode()
    assert page.status_code == 200
    assert template.name in body and "Offered in the wizard" in body
    v2 = template.versions.get(number=2)
    assert reverse("template-version", args=[v2.pk]) in body
    assert reverse("template-compare-pick", args=[template.pk]) in body


def test_a_draft_version_page_edits_and_links_the_comparison(
    client, facilitator, draft, v2, django_assert_max_num_queries
):
    client.force_login(facilitator)
    url = reverse("template-version", args=[draft.pk])
    # Queries: session, user, the version with template, collaboratory and people, its
    # clauses, the last published version, the agreement count, the sibling versions.
    with django_assert_max_num_queries(8):
        page = client.get(url)
    body = page.content.decode()
    assert reverse("template-compare", args=[v2.pk, draft.pk]) in body
    clause = draft.clauses.order_by("order").first()
    edit = reverse("template-clause-edit", args=[draft.pk, clause.pk])
    assert edit in body
    form = client.get(edit)
    assert form.status_code == 200
    refused = client.post(edit, {"heading": "", "body": "Words."})
    assert "Give the clause a heading." in refused.content.decode()
    saved = client.post(edit, {"heading": "Purpose, revised", "body": "Only for **research**."})
    assert saved.status_code == 302
    clause.refresh_from_db()
    assert clause.heading == "Purpose, revised" and "research" in str(clause.blocks)


def test_a_published_version_page_is_read_only(client, facilitator, v2):
    client.force_login(facilitator)
    body = client.get(reverse("template-version", args=[v2.pk])).content.decode()
    clause = v2.clauses.first()
    assert reverse("template-clause-edit", args=[v2.pk, clause.pk]) not in body
    assert "never changes" in body
    assert client.get(reverse("template-clause-edit", args=[v2.pk, clause.pk])).status_code == 302


def test_publishing_asks_for_confirmation_listing_the_changes(client, facilitator, draft):
    client.force_login(facilitator)
    clause = draft.clauses.order_by("order").first()
    services.clause_edit(clause=clause, heading="Renamed purpose", body="New.", by=facilitator)
    url = reverse("template-version-publish", args=[draft.pk])
    page = client.get(url).content.decode()
    assert "Clauses changed (1)" in page and "Renamed purpose" in page
    draft.refresh_from_db()
    assert not draft.is_published
    client.post(url, {})
    draft.refresh_from_db()
    assert draft.is_published and draft.published_by == facilitator


def test_importing_a_docx_shows_the_report_findings(client, facilitator, template):
    client.force_login(facilitator)
    upload = io.BytesIO(document_with("<w:r><w:drawing/></w:r>"))
    upload.name = "pilot.docx"
    response = client.post(reverse("template-import", args=[template.pk]), {"file": upload})
    assert response.status_code == 302
    version = template.versions.order_by("-number").first()
    assert not version.is_published and version.notes == "Imported from pilot.docx."
    page = client.get(response["Location"]).content.decode()
    assert "Import report: pilot.docx" in page and "an image is not imported" in page


def test_a_bad_upload_is_refused_with_the_report_and_creates_nothing(client, facilitator, template):
    client.force_login(facilitator)
    before = template.versions.count()
    upload = io.BytesIO(b"\xff\xfe not utf-8")
    upload.name = "broken.md"
    page = client.post(reverse("template-import", args=[template.pk]), {"file": upload})
    assert page.status_code == 200
    assert "The file was not imported" in page.content.decode()
    assert template.versions.count() == before


def test_creating_a_template_and_marking_it_test_in_the_pages(client, facilitator, demo):
    client.force_login(facilitator)
    collaboratory = DSATemplate.objects.get(slug="standard-dsa").collaboratory
    response = client.post(
        reverse("template-new"),
        {
            "collaboratory": collaboratory.pk,
            "name": "Pilot DSA",
            "slug": "pilot-dsa",
            "usage": TemplateUsage.DRAFT,
        },
    )
    assert response.status_code == 302
    created = DSATemplate.objects.get(slug="pilot-dsa")
    again = client.post(
        reverse("template-new"),
        {"collaboratory": collaboratory.pk, "name": "X", "slug": "pilot-dsa", "usage": "draft"},
    )
    assert "already has a template with the short name" in again.content.decode()
    client.post(reverse("template-usage", args=[created.pk]), {"usage": TemplateUsage.TEST})
    created.refresh_from_db()
    assert created.usage == TemplateUsage.TEST
    client.post(reverse("template-version-new", args=[created.pk]), {"start": "empty"})
    assert created.versions.count() == 1 and not created.versions.get().clauses.exists()


def test_a_version_downloads_as_markdown_that_imports_back(client, facilitator, v2, template):
    client.force_login(facilitator)
    response = client.get(reverse("template-version-export", args=[v2.pk, "md"]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert audited(AuditAction.EXPORT, v2)
    upload = io.BytesIO(response.content)
    upload.name = "v2.md"
    client.post(reverse("template-import", args=[template.pk]), {"file": upload})
    imported = template.versions.order_by("-number").first()
    assert list(imported.clauses.values_list("key", flat=True)) == list(
        v2.clauses.values_list("key", flat=True)
    )
    assert client.get(reverse("template-version-export", args=[v2.pk, "exe"])).status_code == 404
