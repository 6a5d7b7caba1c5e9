"""What the parties write in the text's fill-in blanks (``Agreement.fillins``), frozen with the
rest of the text once signing starts.

The entries are part of the consolidated text (agreements.text.document.blanks), so the
trigger of 0004 that refuses any change to what a locked agreement's text is made of also
refuses a change to them: ``agreements_agreement_text_frozen`` is replaced by the same
function with ``fillins`` added (and put back as it was when this migration is reversed).
"""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

FROZEN = r"""
CREATE OR REPLACE FUNCTION agreements_agreement_text_frozen() RETURNS trigger AS $$
BEGIN
    IF OLD.status NOT IN ('signing', 'active', 'expired', 'terminated') THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        PERFORM agreements_refuse_locked('deletion', OLD.id);
    END IF;
    IF NEW.status NOT IN ('signing', 'active', 'expired', 'terminated')
       OR NEW.title IS DISTINCT FROM OLD.title
       OR NEW.reference IS DISTINCT FROM OLD.reference
       OR NEW.purpose IS DISTINCT FROM OLD.purpose
       OR NEW.sharing_mode IS DISTINCT FROM OLD.sharing_mode
       OR NEW.start_date IS DISTINCT FROM OLD.start_date
       OR NEW.term_months IS DISTINCT FROM OLD.term_months
       OR NEW.expires_on IS DISTINCT FROM OLD.expires_on
       OR NEW.breach_notice_hours IS DISTINCT FROM OLD.breach_notice_hours
       OR NEW.retention_days IS DISTINCT FROM OLD.retention_days
       OR NEW.destruction_date IS DISTINCT FROM OLD.destruction_date
       OR NEW.placeholder_values IS DISTINCT FROM OLD.placeholder_values
       OR NEW.fillins IS DISTINCT FROM OLD.fillins
       OR NEW.template_version_id IS DISTINCT FROM OLD.template_version_id
       OR NEW.trio_id IS DISTINCT FROM OLD.trio_id
       OR NEW.text_hash IS DISTINCT FROM OLD.text_hash THEN
        PERFORM agreements_refuse_locked('a change', OLD.id);
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
"""

#: The function as 0004 created it.
FROZEN_BEFORE = FROZEN.replace("\n       OR NEW.fillins IS DISTINCT FROM OLD.fillins", "")


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0007_structured_text_data"),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name="agreement",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="agreement",
            name="update_update",
        ),
        migrations.AddField(
            model_name="agreement",
            name="fillins",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="What the parties wrote in the text's fill-in blanks, by blank id (agreements.text.document.blanks); written by agreement_fillins_update only.",
            ),
        ),
        migrations.AddField(
            model_name="agreementevent",
            name="fillins",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="What the parties wrote in the text's fill-in blanks, by blank id (agreements.text.document.blanks); written by agreement_fillins_update only.",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="agreement",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "agreements_agreementevent" ("breach_notice_hours", "created_at", "created_by_id", "destruction_date", "expires_on", "fillins", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "placeholder_values", "purpose", "reference", "retention_days", "sharing_mode", "start_date", "status", "status_changed_at", "template_version_id", "term_months", "text_hash", "title", "trio_id", "updated_at") VALUES (NEW."breach_notice_hours", NEW."created_at", NEW."created_by_id", NEW."destruction_date", NEW."expires_on", NEW."fillins", NEW."id", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."placeholder_values", NEW."purpose", NEW."reference", NEW."retention_days", NEW."sharing_mode", NEW."start_date", NEW."status", NEW."status_changed_at", NEW."template_version_id", NEW."term_months", NEW."text_hash", NEW."title", NEW."trio_id", NEW."updated_at"); RETURN NULL;',
                    hash="a00b61278a424720ebe228032991e51fd221277d",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_13a93",
                    table="agreements_agreement",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="agreement",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "agreements_agreementevent" ("breach_notice_hours", "created_at", "created_by_id", "destruction_date", "expires_on", "fillins", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "placeholder_values", "purpose", "reference", "retention_days", "sharing_mode", "start_date", "status", "status_changed_at", "template_version_id", "term_months", "text_hash", "title", "trio_id", "updated_at") VALUES (NEW."breach_notice_hours", NEW."created_at", NEW."created_by_id", NEW."destruction_date", NEW."expires_on", NEW."fillins", NEW."id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."placeholder_values", NEW."purpose", NEW."reference", NEW."retention_days", NEW."sharing_mode", NEW."start_date", NEW."status", NEW."status_changed_at", NEW."template_version_id", NEW."term_months", NEW."text_hash", NEW."title", NEW."trio_id", NEW."updated_at"); RETURN NULL;',
                    hash="e5aaf4438201c986ab3a29aa136f9fbeb2f1c999",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_36fdd",
                    table="agreements_agreement",
                    when="AFTER",
                ),
            ),
        ),
        migrations.RunSQL(FROZEN, FROZEN_BEFORE),
    ]
