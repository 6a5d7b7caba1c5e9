"""Existing clause texts and proposals get their structured form (blocks), once.

Every clause body and every proposed text is read by the same reader people's edits go
through (:func:`agreements.text.document.fragments.parse_body`) and stored as canonical JSON
blocks. Nothing else changes: bodies, numbers, headings and kinds stay as they were, so every
agreement approved or signed before this still reads and hashes as it did (its hash is the
first format's while its text is unchanged: ``agreements.text.legacy_text``;
``manage.py check_signed_texts`` verifies every signed agreement against its signatures).

Published versions and signed agreements refuse any change to their rows (0002, 0004): their
triggers are set aside for this one fill, in this transaction only, then the published
version's trigger is replaced by one that also freezes its new ``frame`` column.
"""

import json

from django.db import migrations

TRIGGERS = (
    ("agreements_clause", "clause_version_is_draft"),
    ("agreements_clauseoverride", "clauseoverride_text_frozen"),
)

VERSION_FROZEN = r"""
CREATE OR REPLACE FUNCTION agreements_published_version_frozen() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'published' THEN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'template version % is published and cannot be deleted', OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.status IS DISTINCT FROM OLD.status OR NEW.title IS DISTINCT FROM OLD.title
           OR NEW.number IS DISTINCT FROM OLD.number
           OR NEW.template_id IS DISTINCT FROM OLD.template_id
           OR NEW.published_at IS DISTINCT FROM OLD.published_at
           OR NEW.frame IS DISTINCT FROM OLD.frame THEN
            RAISE EXCEPTION 'template version % is published and cannot change', OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
"""

VERSION_FROZEN_BEFORE = VERSION_FROZEN.replace(
    "\n           OR NEW.frame IS DISTINCT FROM OLD.frame", ""
)


def fill_blocks(apps, schema_editor):
    from agreements.text.document import canonical
    from agreements.text.document.fragments import parse_body
    from agreements.text.document.model import Document, Part, PartKind

    def blocks_of(body: str, key: str, context=None):
        blocks, _report = parse_body(body or "", key=key, context=context)
        return json.loads(canonical.to_json(blocks))

    def version_context(clauses) -> Document:
        """The version's clauses as a document, so references between them are recognised."""
        parts = [
            Part(c.key, PartKind.SECTION, (), parse_body(c.body or "", key=c.key)[0])
            for c in clauses
        ]
        return Document(parts=tuple(parts))

    with schema_editor.connection.cursor() as cursor:
        for table, trigger in TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    Clause = apps.get_model("agreements", "Clause")
    Version = apps.get_model("agreements", "TemplateVersion")
    contexts = {}
    for version in Version.objects.filter(clauses__blocks__isnull=True).distinct():
        clauses = list(Clause.objects.filter(version=version).order_by("order"))
        contexts[version.pk] = context = version_context(clauses)
        for clause in clauses:
            if clause.blocks is None:
                clause.blocks = blocks_of(clause.body, clause.key, context)
                clause.save(update_fields=["blocks"])
    Override = apps.get_model("agreements", "ClauseOverride")
    pending = Override.objects.filter(blocks__isnull=True).exclude(kind="delete")
    for override in pending.select_related("agreement"):
        context = contexts.get(override.agreement.template_version_id)
        key = override.new_key or override.clause_key
        override.blocks = blocks_of(override.body, key, context)
        override.save(update_fields=["blocks"])
    with schema_editor.connection.cursor() as cursor:
        # The history triggers' deferred events must run before the tables can be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, trigger in TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


class Migration(migrations.Migration):
    dependencies = [("agreements", "0006_structured_text")]

    operations = [
        migrations.RunPython(fill_blocks, migrations.RunPython.noop, elidable=False),
        migrations.RunSQL(VERSION_FROZEN, VERSION_FROZEN_BEFORE),
    ]
