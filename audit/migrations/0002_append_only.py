"""The audit table is append-only, enforced by PostgreSQL whatever code path tries.

- BEFORE UPDATE OR DELETE (per row): always refused.
- BEFORE TRUNCATE: refused unless the session setting ``collaboratory.allow_audit_truncate``
  is ``on``; only the test settings set it (pytest-django empties tables with TRUNCATE).
- No UPDATE, DELETE or TRUNCATE privilege for PUBLIC. In production the application connects
  as its own role with only SELECT and INSERT on this table (``manage.py audit_grant_app_role``,
  see README); the table's owner runs migrations.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only: % of audit_auditentry refused', TG_OP
        USING ERRCODE = 'check_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER audit_entry_append_only
    BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();

CREATE FUNCTION audit_entry_no_truncate() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('collaboratory.allow_audit_truncate', true), '') <> 'on' THEN
        RAISE EXCEPTION 'audit entries are append-only: TRUNCATE of audit_auditentry refused'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER audit_entry_no_truncate
    BEFORE TRUNCATE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_no_truncate();

REVOKE UPDATE, DELETE, TRUNCATE ON audit_auditentry FROM PUBLIC;
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_entry_no_truncate();
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_entry_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
