"""History is never lost: PostgreSQL refuses edits of consent records and of consent form
versions, whatever code path tries. Records may be deleted only by the retention purge,
which sets ``consent.purging`` for its own transaction.

A record's (agreement, form) must name a form version of that same agreement (which in turn
references a real agreement): a statement-level check, one join per INSERT, replaces the
per-row foreign keys of the agreement and form columns."""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION consent_record_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('consent.purging', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'consent records are append-only: record a new decision instead (%)',
        TG_OP USING ERRCODE = 'check_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER consent_record_append_only
    BEFORE UPDATE OR DELETE ON consent_consentrecord
    FOR EACH ROW EXECUTE FUNCTION consent_record_append_only();

CREATE FUNCTION consent_form_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'consent form versions never change: add a new version instead'
        USING ERRCODE = 'check_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER consent_form_immutable
    BEFORE UPDATE ON consent_consentform
    FOR EACH ROW EXECUTE FUNCTION consent_form_immutable();

-- Set-based: one join per INSERT statement, not one lookup per row (a 100,000-row import
-- spent a second in per-row foreign key checks).
CREATE FUNCTION consent_record_form_of_agreement() RETURNS trigger AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM new_records r
        LEFT JOIN consent_consentform f ON f.id = r.form_id AND f.agreement_id = r.agreement_id
        WHERE f.id IS NULL
    ) THEN
        RAISE EXCEPTION 'consent_record_form_of_agreement: a consent record must point to a '
            'consent form version of its own agreement' USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER consent_record_form_of_agreement
    AFTER INSERT ON consent_consentrecord
    REFERENCING NEW TABLE AS new_records
    FOR EACH STATEMENT EXECUTE FUNCTION consent_record_form_of_agreement();

-- The other half of the reference: a form version that records point to stays.
CREATE FUNCTION consent_form_in_use() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM consent_consentrecord
               WHERE agreement_id = OLD.agreement_id AND form_id = OLD.id) THEN
        RAISE EXCEPTION 'consent form version % is referenced by consent records', OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER consent_form_in_use
    BEFORE DELETE ON consent_consentform
    FOR EACH ROW EXECUTE FUNCTION consent_form_in_use();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS consent_form_in_use ON consent_consentform;
DROP FUNCTION IF EXISTS consent_form_in_use();
DROP TRIGGER IF EXISTS consent_record_form_of_agreement ON consent_consentrecord;
DROP FUNCTION IF EXISTS consent_record_form_of_agreement();
DROP TRIGGER IF EXISTS consent_form_immutable ON consent_consentform;
DROP FUNCTION IF EXISTS consent_form_immutable();
DROP TRIGGER IF EXISTS consent_record_append_only ON consent_consentrecord;
DROP FUNCTION IF EXISTS consent_record_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
