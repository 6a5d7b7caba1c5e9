"""Migration 0010: stored text people can still change gets the entry normal form; signed
texts and published versions stay exactly as they are, and no text's reading or hash moves."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.core.management import call_command
from django.db import connection

from agreements.models import (
    Agreement,
    Clause,
    ClauseComment,
    ClauseOverride,
    DSATemplate,
    OverrideResponse,
    OverrideStatus,
    Status,
)
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.standards.services import template_version_copy
from agreements.text.document.fragments import parse_body

SIGNED = "Productive Struggle Classroom Study"  # active, publication-review replaced


def _messy(text: str) -> str:
    """``text`` as a browser sends it, with spaces left at the end of each line."""
    return "  \r\n".join(text.split("\n"))


def _set_aside(table: str, statement) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        statement()
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _migrate() -> None:
    migration = importlib.import_module("agreements.migrations.0010_normalise_stored_text")
    with connection.schema_editor(atomic=False) as editor:
        migration.normalise_stored_text(apps, editor)


def _fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def test_unsigned_text_is_normalised_and_reads_and_hashes_as_before(demo, deviating, capsys):
    template = DSATemplate.objects.get(slug="standard-dsa")
    published = template.versions.get(number=2)
    draft = template_version_copy(source=published)
    # A draft clause with Markdown (a lettered list) and one without (the plain path).
    listed = draft.clauses.get(key="termination")
    listed_body = listed.body
    plain = draft.clauses.get(key="counterparts")
    Clause.objects.filter(pk=listed.pk).update(
        body=_messy(listed.body), heading="Te\u0301rmination  "
    )
    plain_body = "Signed in counterparts,  \nall one agreement.\r\n\r\nElectronic ones too."
    Clause.objects.filter(pk=plain.pk).update(body=plain_body)
    # Indented code in a Markdown body: its normal form would read differently; kept.
    code = draft.clauses.get(key="notices")
    code_body = "Notices **in writing**.\n\n    by hand  \n    or by post"
    Clause.objects.filter(pk=code.pk).update(body=code_body)
    # The negotiating agreement's accepted proposal, and a comment and an answer on it.
    override = deviating.overrides.get(status=OverrideStatus.ACCEPTED)
    assert " and ends on" in override.body
    override_body = override.body.replace(" and ends on", "\nand ends on")
    ClauseOverride.objects.filter(pk=override.pk).update(
        body=override.body.replace(" and ends on", "  \r\nand ends on"),
        rationale="Simpler.  \r\nShorter.\r\n",
        heading="  ",
    )
    comment = ClauseComment.objects.create(
        agreement=deviating,
        clause_key="term",
        organisation=override.organisation,
        author=override.proposed_by,
        body="Fine by us.  \r\nCafe\u0301 later.",
    )
    OverrideResponse.objects.filter(override=override).update(comment="Agreed.  \r\n")
    before = consolidated_text(_fresh(deviating)).sha256
    blocks = {c.pk: c.blocks for c in Clause.objects.filter(version=draft)}

    _migrate()

    listed.refresh_from_db()
    assert listed.body == listed_body  # its paragraphs and items end where they did
    assert listed.heading == "Términation"
    assert parse_body(listed.body)[0] == parse_body(_messy(listed.body))[0]
    plain.refresh_from_db()
    # Read without Markdown, the trailing spaces never made a line break: none is added.
    assert plain.body == "Signed in counterparts,\nall one agreement.\n\nElectronic ones too."
    assert "\\" not in plain.body
    code.refresh_from_db()
    assert code.body == code_body
    assert f"clause {code.pk} (body)" in capsys.readouterr().out
    assert {c.pk: c.blocks for c in Clause.objects.filter(version=draft)} == blocks
    override.refresh_from_db()
    assert override.body == override_body
    assert override.rationale == "Simpler.\nShorter."
    assert override.heading == ""
    comment.refresh_from_db()
    assert comment.body == "Fine by us.\nCafé later."
    assert set(
        OverrideResponse.objects.filter(override=override).values_list("comment", flat=True)
    ) == {"Agreed."}
    assert consolidated_text(_fresh(deviating)).sha256 == before


def test_signed_texts_and_published_versions_stay_as_they_are(demo):
    signed = demo["agreements"][SIGNED]
    assert signed.status == Status.ACTIVE
    override = signed.overrides.filter(status=OverrideStatus.ACCEPTED).exclude(body="").first()
    assert override is not None
    messy = _messy(override.body)
    _set_aside(
        "agreements_clauseoverride",
        lambda: ClauseOverride.objects.filter(pk=override.pk).update(body=messy),
    )
    published = signed.template_version.clauses.get(key="insurance")
    published_body = _messy(published.body)
    _set_aside(
        "agreements_clause",
        lambda: Clause.objects.filter(pk=published.pk).update(body=published_body),
    )

    _migrate()

    override.refresh_from_db()
    assert override.body == messy
    published.refresh_from_db()
    assert published.body == published_body
    fresh = _fresh(signed)
    assert consolidated_text(fresh).sha256 == fresh.text_hash
    call_command("check_signed_texts")
