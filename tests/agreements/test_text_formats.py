"""The text hash after structured text: signed agreements keep the hash they were signed on.

Agreements approved or signed on the first text format (Markdown bodies, numbered 1..N:
``agreements.text.legacy_text``) must verify after the structured-text migration; anything
changed since reads in the second format (structured, ``agreements.text.consolidation``).
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from agreements.models import Agreement, Clause, Signature, Status
from agreements.selectors import consolidated_text, placeholder_values, with_agreement_detail
from agreements.text import legacy_text
from agreements.text.consolidation import FORMAT_HEADER, consolidate
from agreements.text.document import canonical
from agreements.text.document.model import OrderedList, Table

BODIES = [
    ("purpose", "Purpose", "The **Research Partner** studies [[purpose_summary]]."),
    (
        "duties",
        "Duties",
        "The Parties shall:\n\n(a) protect the data;\n\n(b) destroy it within "
        "[[retention_days]] days.",
    ),
    ("staff", "Staff", "| Name | Role |\n|---|---|\n| A. Lee | Analyst |\n"),
]


def _clauses():
    return [
        SimpleNamespace(key=key, number=str(n), heading=heading, body=body, blocks=None)
        for n, (key, heading, body) in enumerate(BODIES, start=1)
    ]


VALUES = {"purpose_summary": "fractions", "retention_days": 30}


def test_the_structured_text_reads_lists_and_tables_and_hashes_its_canonical_json():
    text = consolidate(clauses=_clauses(), accepted_overrides=(), values=VALUES)
    assert text.format == "v2"
    assert text.canonical.startswith(FORMAT_HEADER + "\n")
    assert text.canonical.splitlines()[-1] == canonical.to_json(text.document)
    duties = next(p for p in text.document.parts if p.key == "duties")
    assert isinstance(duties.blocks[1], OrderedList)
    staff = next(p for p in text.document.parts if p.key == "staff")
    assert isinstance(staff.blocks[0], Table) and staff.blocks[0].header_rows == 1
    assert "**" not in text.clause("purpose").body
    assert "(b) destroy it within 30 days." in text.clause("duties").body
    # The schedule of data elements is a part of its own, at the end of the attachments.
    assert text.clauses[-1].key == "data-element-schedule"
    assert text.clauses[-1].number == "Attachment A"


def test_an_attested_first_format_hash_is_kept_while_the_text_is_unchanged():
    legacy = legacy_text.consolidate(clauses=_clauses(), accepted_overrides=(), values=VALUES)
    kept = consolidate(
        clauses=_clauses(), accepted_overrides=(), values=VALUES, attested_hash=legacy.sha256
    )
    assert kept.format == "v1"
    assert kept.sha256 == legacy.sha256
    assert kept.canonical == legacy.canonical
    # The pages still get the structured document.
    assert isinstance(kept.document.parts[1].blocks[1], OrderedList)

    changed = consolidate(
        clauses=_clauses(),
        accepted_overrides=[
            SimpleNamespace(
                id=1,
                kind="replace",
                clause_key="purpose",
                new_key="",
                heading="",
                body="Another purpose.",
                blocks=None,
            )
        ],
        values=VALUES,
        attested_hash=legacy.sha256,
    )
    assert changed.format == "v2"
    assert changed.sha256 != legacy.sha256


def _set_aside(table: str):
    return (
        f"ALTER TABLE {table} DISABLE TRIGGER USER",
        f"ALTER TABLE {table} ENABLE TRIGGER USER",
    )


def test_the_migration_gives_blocks_and_every_signed_agreement_keeps_its_hash(demo):
    """An agreement signed before structured text (its clauses without blocks, its signatures
    on the first format's hash) still verifies after the data migration fills the blocks."""
    agreement = with_agreement_detail(Agreement.objects.filter(status=Status.ACTIVE)).first()
    assert agreement is not None
    version = agreement.template_version
    signed = with_agreement_detail(
        Agreement.objects.filter(template_version=version, signatures__isnull=False).distinct()
    )
    legacy_hashes = {}
    for each in signed:
        text = consolidated_text(each)
        legacy_hashes[each.pk] = legacy_text.consolidate(
            clauses=list(version.clauses.all()),
            accepted_overrides=[o for o in each.overrides.all() if o.status == "accepted"],
            values=placeholder_values(each),
            header=text.header,
            schedule=[legacy_text.ScheduleRow(**row.__dict__) for row in text.schedule],
        ).sha256
    # Back to the state before the migration: no blocks, every agreement on this version
    # signed on the first format.
    tables = ("agreements_clause", "agreements_agreement", "agreements_signature")
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(_set_aside(table)[0])
        Clause.objects.filter(version=version).update(blocks=None)
        for pk, legacy_hash in legacy_hashes.items():
            Agreement.objects.filter(pk=pk).update(text_hash=legacy_hash)
            Signature.objects.filter(agreement_id=pk).update(text_hash=legacy_hash)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in tables:
            cursor.execute(_set_aside(table)[1])

    migration = importlib.import_module("agreements.migrations.0007_structured_text_data")
    with connection.schema_editor(atomic=False) as editor:
        migration.fill_blocks(apps, editor)

    assert not Clause.objects.filter(version=version, blocks__isnull=True).exists()
    fresh = with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)
    text = consolidated_text(fresh)
    assert text.format == "v1"
    assert text.sha256 == legacy_hashes[agreement.pk] == fresh.text_hash
    assert {s.text_hash for s in fresh.signatures.all()} == {legacy_hashes[agreement.pk]}
    # The pages get the structured text: Schedule A is a table, lists are lists.
    assert any(isinstance(b, Table) for b in text.document.parts[-1].blocks)
    call_command("check_signed_texts")


def test_check_signed_texts_names_an_agreement_that_no_longer_verifies(demo):
    agreement = Agreement.objects.filter(status=Status.ACTIVE).first()
    with connection.cursor() as cursor:
        cursor.execute(_set_aside("agreements_signature")[0])
        Signature.objects.filter(agreement=agreement).update(text_hash="0" * 64)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(_set_aside("agreements_signature")[1])
    with pytest.raises(CommandError, match="no longer read as signed"):
        call_command("check_signed_texts")
