"""A published template version never changes: PostgreSQL refuses edits of its clauses and
of the version row itself, whatever code path (admin, shell, bulk update) tries."""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION agreements_clause_version_is_draft() RETURNS trigger AS $$
DECLARE version_status text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT status INTO version_status FROM agreements_templateversion WHERE id = OLD.version_id;
        IF version_status = 'published' THEN
            RAISE EXCEPTION 'template version % is published; its clauses cannot change',
                OLD.version_id USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT status INTO version_status FROM agreements_templateversion WHERE id = NEW.version_id;
        IF version_status = 'published' THEN
            RAISE EXCEPTION 'template version % is published; its clauses cannot change',
                NEW.version_id USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER clause_version_is_draft
    BEFORE INSERT OR UPDATE OR DELETE ON agreements_clause
    FOR EACH ROW EXECUTE FUNCTION agreements_clause_version_is_draft();

CREATE FUNCTION agreements_published_version_frozen() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'published' THEN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'template version % is published and cannot be deleted', OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.status IS DISTINCT FROM OLD.status OR NEW.title IS DISTINCT FROM OLD.title
           OR NEW.number IS DISTINCT FROM OLD.number
           OR NEW.template_id IS DISTINCT FROM OLD.template_id
           OR NEW.published_at IS DISTINCT FROM OLD.published_at THEN
            RAISE EXCEPTION 'template version % is published and cannot change', OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER published_version_frozen
    BEFORE UPDATE OR DELETE ON agreements_templateversion
    FOR EACH ROW EXECUTE FUNCTION agreements_published_version_frozen();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS published_version_frozen ON agreements_templateversion;
DROP FUNCTION IF EXISTS agreements_published_version_frozen();
DROP TRIGGER IF EXISTS clause_version_is_draft ON agreements_clause;
DROP FUNCTION IF EXISTS agreements_clause_version_is_draft();
"""


class Migration(migrations.Migration):
    dependencies = [("agreements", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
