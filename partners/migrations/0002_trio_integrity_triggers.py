"""PostgreSQL guards for the trio shape, beyond what unique/check constraints can say.

- A member's role must equal its organisation's kind (checked on every member write, and an
  organisation cannot change kind while it sits in a trio in another role).
- A committed trio has exactly three members: a DEFERRABLE constraint trigger checks at
  commit, so a trio and its members can be written in any order inside one transaction.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION partners_triomember_kind_matches() RETURNS trigger AS $$
DECLARE org_kind text;
BEGIN
    SELECT kind INTO org_kind FROM partners_organisation WHERE id = NEW.organisation_id;
    IF org_kind IS DISTINCT FROM NEW.role THEN
        RAISE EXCEPTION 'organisation % is a % and cannot be a trio''s %',
            NEW.organisation_id, org_kind, NEW.role
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER triomember_kind_matches
    BEFORE INSERT OR UPDATE ON partners_triomember
    FOR EACH ROW EXECUTE FUNCTION partners_triomember_kind_matches();

CREATE FUNCTION partners_organisation_kind_locked() RETURNS trigger AS $$
BEGIN
    IF NEW.kind <> OLD.kind AND EXISTS (
        SELECT 1 FROM partners_triomember WHERE organisation_id = NEW.id AND role <> NEW.kind
    ) THEN
        RAISE EXCEPTION 'organisation % takes part in trios; its kind cannot change', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER organisation_kind_locked
    BEFORE UPDATE OF kind ON partners_organisation
    FOR EACH ROW EXECUTE FUNCTION partners_organisation_kind_locked();

CREATE FUNCTION partners_trio_has_three_members() RETURNS trigger AS $$
DECLARE checked_trio bigint; member_count int;
BEGIN
    IF TG_TABLE_NAME = 'partners_trio' THEN
        checked_trio := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        checked_trio := OLD.trio_id;
    ELSE
        checked_trio := NEW.trio_id;
    END IF;
    -- A trio deleted in the same transaction needs no members.
    IF NOT EXISTS (SELECT 1 FROM partners_trio WHERE id = checked_trio) THEN
        RETURN NULL;
    END IF;
    SELECT count(*) INTO member_count FROM partners_triomember WHERE trio_id = checked_trio;
    IF member_count <> 3 THEN
        RAISE EXCEPTION 'trio % has % members; a trio has exactly three', checked_trio, member_count
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER trio_has_three_members
    AFTER INSERT ON partners_trio DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION partners_trio_has_three_members();

CREATE CONSTRAINT TRIGGER triomember_keeps_three
    AFTER INSERT OR UPDATE OR DELETE ON partners_triomember DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION partners_trio_has_three_members();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS triomember_keeps_three ON partners_triomember;
DROP TRIGGER IF EXISTS trio_has_three_members ON partners_trio;
DROP FUNCTION IF EXISTS partners_trio_has_three_members();
DROP TRIGGER IF EXISTS organisation_kind_locked ON partners_organisation;
DROP FUNCTION IF EXISTS partners_organisation_kind_locked();
DROP TRIGGER IF EXISTS triomember_kind_matches ON partners_triomember;
DROP FUNCTION IF EXISTS partners_triomember_kind_matches();
"""


class Migration(migrations.Migration):
    dependencies = [("partners", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
