"""Every structured term has one home (issue 16).

- ``Agreement.termination_notice_days`` and ``cure_days``: the termination clause's periods as
  parameters the text refers to; frozen with the rest of the text once signing starts, so
  ``agreements_agreement_text_frozen`` is replaced by 0008's function with both added.
- ``Agreement.ends_on``, ``termination_ground``, ``termination_noticed_on``: an ending that
  takes effect after notice; these change while an agreement is active, so they stay out of
  the frozen set.
- ``Agreement.project_summary``: the wizard's non-binding notes, never part of the text.
- ``ClauseOverride.parameters``: the terms a proposal changes.
"""

import importlib

import django.core.validators
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

# 0008's function (a migration's module name starts with a digit, hence importlib).
FROZEN_BEFORE = importlib.import_module("agreements.migrations.0008_agreement_fillins").FROZEN
_FILLINS = "\n       OR NEW.fillins IS DISTINCT FROM OLD.fillins"
FROZEN = FROZEN_BEFORE.replace(
    _FILLINS,
    _FILLINS
    + "\n       OR NEW.termination_notice_days IS DISTINCT FROM OLD.termination_notice_days"
    + "\n       OR NEW.cure_days IS DISTINCT FROM OLD.cure_days",
)
assert FROZEN != FROZEN_BEFORE


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0008_agreement_fillins"),
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
        pgtrigger.migrations.RemoveTrigger(
            model_name="clauseoverride",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="clauseoverride",
            name="update_update",
        ),
        migrations.AddField(
            model_name="agreement",
            name="cure_days",
            field=models.PositiveIntegerField(
                default=30,
                help_text="Days a party in breach has to cure it after notice before termination.",
                validators=[django.core.validators.MaxValueValidator(365)],
            ),
        ),
        migrations.AddField(
            model_name="agreement",
            name="ends_on",
            field=models.DateField(
                blank=True,
                help_text="The last day of an agreement that ends before its expiry (termination); set when notice is given, the agreement stays in force until then.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="agreement",
            name="project_summary",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="Non-binding notes from the wizard (goals, how success is measured, what each partner gains); never part of the agreement's text.",
            ),
        ),
        migrations.AddField(
            model_name="agreement",
            name="termination_ground",
            field=models.CharField(
                blank=True,
                choices=[
                    ("convenience", "For convenience (after the notice period)"),
                    ("breach", "For an uncured breach (after the cure period)"),
                    ("immediate", "With immediate effect (as the text allows)"),
                ],
                max_length=12,
            ),
        ),
        migrations.AddField(
            model_name="agreement",
            name="termination_notice_days",
            field=models.PositiveIntegerField(
                default=60,
                help_text="Days of written notice a party must give to terminate for convenience.",
                validators=[django.core.validators.MaxValueValidator(365)],
            ),
        ),
        migrations.AddField(
            model_name="agreement",
            name="termination_noticed_on",
            field=models.DateField(
                blank=True, help_text="The day notice of termination was given.", null=True
            ),
        ),
        migrations.AddField(
            model_name="agreementevent",
            name="cure_days",
            field=models.PositiveIntegerField(
                default=30,
                help_text="Days a party in breach has to cure it after notice before termination.",
                validators=[django.core.validators.MaxValueValidator(365)],
            ),
        ),
        migrations.AddField(
            model_name="agreementevent",
            name="ends_on",
            field=models.DateField(
                blank=True,
                help_text="The last day of an agreement that ends before its expiry (termination); set when notice is given, the agreement stays in force until then.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="agreementevent",
            name="project_summary",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="Non-binding notes from the wizard (goals, how success is measured, what each partner gains); never part of the agreement's text.",
            ),
        ),
        migrations.AddField(
            model_name="agreementevent",
            name="termination_ground",
            field=models.CharField(
                blank=True,
                choices=[
                    ("convenience", "For convenience (after the notice period)"),
                    ("breach", "For an uncured breach (after the cure period)"),
                    ("immediate", "With immediate effect (as the text allows)"),
                ],
                max_length=12,
            ),
        ),
        migrations.AddField(
            model_name="agreementevent",
            name="termination_notice_days",
            field=models.PositiveIntegerField(
                default=60,
                help_text="Days of written notice a party must give to terminate for convenience.",
                validators=[django.core.validators.MaxValueValidator(365)],
            ),
        ),
        migrations.AddField(
            model_name="agreementevent",
            name="termination_noticed_on",
            field=models.DateField(
                blank=True, help_text="The day notice of termination was given.", null=True
            ),
        ),
        migrations.AddField(
            model_name="clauseoverride",
            name="parameters",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="Terms this proposal changes, by parameter name: {name: {from, to}} (agreements.terms); the text keeps referring to the parameter.",
            ),
        ),
        migrations.AddField(
            model_name="clauseoverrideevent",
            name="parameters",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="Terms this proposal changes, by parameter name: {name: {from, to}} (agreements.terms); the text keeps referring to the parameter.",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="agreement",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "agreements_agreementevent" ("breach_notice_hours", "created_at", "created_by_id", "cure_days", "destruction_date", "ends_on", "expires_on", "fillins", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "placeholder_values", "project_summary", "purpose", "reference", "retention_days", "sharing_mode", "start_date", "status", "status_changed_at", "template_version_id", "term_months", "termination_ground", "termination_notice_days", "termination_noticed_on", "text_hash", "title", "trio_id", "updated_at") VALUES (NEW."breach_notice_hours", NEW."created_at", NEW."created_by_id", NEW."cure_days", NEW."destruction_date", NEW."ends_on", NEW."expires_on", NEW."fillins", NEW."id", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."placeholder_values", NEW."project_summary", NEW."purpose", NEW."reference", NEW."retention_days", NEW."sharing_mode", NEW."start_date", NEW."status", NEW."status_changed_at", NEW."template_version_id", NEW."term_months", NEW."termination_ground", NEW."termination_notice_days", NEW."termination_noticed_on", NEW."text_hash", NEW."title", NEW."trio_id", NEW."updated_at"); RETURN NULL;',
                    hash="1f2ef30736a5eccdaef3aabf383d78dab1aca147",
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
                    func='INSERT INTO "agreements_agreementevent" ("breach_notice_hours", "created_at", "created_by_id", "cure_days", "destruction_date", "ends_on", "expires_on", "fillins", "id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "placeholder_values", "project_summary", "purpose", "reference", "retention_days", "sharing_mode", "start_date", "status", "status_changed_at", "template_version_id", "term_months", "termination_ground", "termination_notice_days", "termination_noticed_on", "text_hash", "title", "trio_id", "updated_at") VALUES (NEW."breach_notice_hours", NEW."created_at", NEW."created_by_id", NEW."cure_days", NEW."destruction_date", NEW."ends_on", NEW."expires_on", NEW."fillins", NEW."id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."placeholder_values", NEW."project_summary", NEW."purpose", NEW."reference", NEW."retention_days", NEW."sharing_mode", NEW."start_date", NEW."status", NEW."status_changed_at", NEW."template_version_id", NEW."term_months", NEW."termination_ground", NEW."termination_notice_days", NEW."termination_noticed_on", NEW."text_hash", NEW."title", NEW."trio_id", NEW."updated_at"); RETURN NULL;',
                    hash="28e3978878dbe41d3af9f46ba0903d26d881dd93",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_36fdd",
                    table="agreements_agreement",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="clauseoverride",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "agreements_clauseoverrideevent" ("agreement_id", "blocks", "body", "clause_key", "created_at", "decided_at", "heading", "id", "kind", "new_key", "organisation_id", "parameters", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "proposed_by_id", "rationale", "status") VALUES (NEW."agreement_id", NEW."blocks", NEW."body", NEW."clause_key", NEW."created_at", NEW."decided_at", NEW."heading", NEW."id", NEW."kind", NEW."new_key", NEW."organisation_id", NEW."parameters", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."proposed_by_id", NEW."rationale", NEW."status"); RETURN NULL;',
                    hash="b57dd2fe1d84e2846da1ebd479f4527fd35ec382",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_fc16a",
                    table="agreements_clauseoverride",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="clauseoverride",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "agreements_clauseoverrideevent" ("agreement_id", "blocks", "body", "clause_key", "created_at", "decided_at", "heading", "id", "kind", "new_key", "organisation_id", "parameters", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "proposed_by_id", "rationale", "status") VALUES (NEW."agreement_id", NEW."blocks", NEW."body", NEW."clause_key", NEW."created_at", NEW."decided_at", NEW."heading", NEW."id", NEW."kind", NEW."new_key", NEW."organisation_id", NEW."parameters", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."proposed_by_id", NEW."rationale", NEW."status"); RETURN NULL;',
                    hash="dded4242073613430c14360d36268063720d2094",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_ec4ea",
                    table="agreements_clauseoverride",
                    when="AFTER",
                ),
            ),
        ),
        migrations.RunSQL(FROZEN, FROZEN_BEFORE),
    ]
