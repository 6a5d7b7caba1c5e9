"""Once an agreement is being signed (signing, active, expired, terminated) its consolidated
text cannot change, whatever code path (admin, shell, bulk update, a forgotten service) tries.

The text is computed from: the agreement's parameters and free placeholder values, its
template version (published versions are already frozen by 0002), its accepted clause
overrides, its data elements and their research questions, and its parties (the trio's
members and their names). PostgreSQL refuses any change to those while an agreement that uses
them is locked, refuses any change to signatures at all, to approvals of locked agreements,
and to sealed documents (no UPDATE of the stored file or its hashes, no DELETE).
"""

from django.db import migrations

# The locked statuses, spelled out in each function: ('signing', 'active', 'expired',
# 'terminated').
FORWARD = r"""
CREATE FUNCTION agreements_text_locked(agreement uuid) RETURNS boolean AS $$
    SELECT EXISTS (SELECT 1 FROM agreements_agreement WHERE id = agreement AND status IN ('signing', 'active', 'expired', 'terminated'));
$$ LANGUAGE sql STABLE;

CREATE FUNCTION agreements_refuse_locked(what text, agreement uuid) RETURNS void AS $$
BEGIN
    RAISE EXCEPTION '% of agreement % refused: its text is signed or being signed and cannot change',
        what, agreement USING ERRCODE = 'check_violation';
END $$ LANGUAGE plpgsql;

-- The agreement row: no change to what its text is made of, no way back, no delete.
CREATE FUNCTION agreements_agreement_text_frozen() RETURNS trigger AS $$
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
       OR NEW.template_version_id IS DISTINCT FROM OLD.template_version_id
       OR NEW.trio_id IS DISTINCT FROM OLD.trio_id
       OR NEW.text_hash IS DISTINCT FROM OLD.text_hash THEN
        PERFORM agreements_refuse_locked('a change', OLD.id);
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER agreement_text_frozen
    BEFORE UPDATE OR DELETE ON agreements_agreement
    FOR EACH ROW EXECUTE FUNCTION agreements_agreement_text_frozen();

-- Rows that hang off one agreement: clause overrides and data elements.
CREATE FUNCTION agreements_child_text_frozen() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND agreements_text_locked(OLD.agreement_id) THEN
        PERFORM agreements_refuse_locked(lower(TG_OP) || ' of a ' || TG_ARGV[0], OLD.agreement_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND agreements_text_locked(NEW.agreement_id) THEN
        PERFORM agreements_refuse_locked(lower(TG_OP) || ' of a ' || TG_ARGV[0], NEW.agreement_id);
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER clauseoverride_text_frozen
    BEFORE INSERT OR UPDATE OR DELETE ON agreements_clauseoverride
    FOR EACH ROW EXECUTE FUNCTION agreements_child_text_frozen('clause override');

CREATE TRIGGER dataelement_text_frozen
    BEFORE INSERT OR UPDATE OR DELETE ON agreements_dataelement
    FOR EACH ROW EXECUTE FUNCTION agreements_child_text_frozen('data element');

-- Which research questions a data element answers (Schedule A lists them).
CREATE FUNCTION agreements_element_questions_frozen() RETURNS trigger AS $$
DECLARE agreement uuid;
BEGIN
    SELECT agreement_id INTO agreement FROM agreements_dataelement
     WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.dataelement_id ELSE NEW.dataelement_id END;
    IF agreements_text_locked(agreement) THEN
        PERFORM agreements_refuse_locked('a change of a data element''s research questions', agreement);
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER dataelement_questions_text_frozen
    BEFORE INSERT OR UPDATE OR DELETE ON agreements_dataelement_research_questions
    FOR EACH ROW EXECUTE FUNCTION agreements_element_questions_frozen();

-- The wording of a research question a locked agreement's schedule quotes.
CREATE FUNCTION agreements_question_text_frozen() RETURNS trigger AS $$
DECLARE agreement uuid;
BEGIN
    SELECT e.agreement_id INTO agreement
      FROM agreements_dataelement_research_questions q
      JOIN agreements_dataelement e ON e.id = q.dataelement_id
      JOIN agreements_agreement a ON a.id = e.agreement_id
     WHERE q.researchquestion_id = OLD.id AND a.status IN ('signing', 'active', 'expired', 'terminated')
     LIMIT 1;
    IF agreement IS NOT NULL THEN
        PERFORM agreements_refuse_locked('a change of research question ' || OLD.id, agreement);
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER researchquestion_text_frozen
    BEFORE UPDATE OF text ON partners_researchquestion
    FOR EACH ROW WHEN (NEW.text IS DISTINCT FROM OLD.text)
    EXECUTE FUNCTION agreements_question_text_frozen();

-- The parties: a trio's members, and the names the text prints.
CREATE FUNCTION agreements_trio_members_frozen() RETURNS trigger AS $$
DECLARE agreement uuid;
BEGIN
    SELECT id INTO agreement FROM agreements_agreement
     WHERE status IN ('signing', 'active', 'expired', 'terminated')
       AND trio_id IN (CASE WHEN TG_OP = 'INSERT' THEN NEW.trio_id ELSE OLD.trio_id END,
                       CASE WHEN TG_OP = 'DELETE' THEN OLD.trio_id ELSE NEW.trio_id END)
     LIMIT 1;
    IF agreement IS NOT NULL THEN
        PERFORM agreements_refuse_locked('a change of the parties', agreement);
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER triomember_text_frozen
    BEFORE INSERT OR UPDATE OR DELETE ON partners_triomember
    FOR EACH ROW EXECUTE FUNCTION agreements_trio_members_frozen();

CREATE FUNCTION agreements_party_name_frozen() RETURNS trigger AS $$
DECLARE agreement uuid;
BEGIN
    SELECT a.id INTO agreement
      FROM partners_triomember m JOIN agreements_agreement a ON a.trio_id = m.trio_id
     WHERE m.organisation_id = OLD.id AND a.status IN ('signing', 'active', 'expired', 'terminated')
     LIMIT 1;
    IF agreement IS NOT NULL THEN
        PERFORM agreements_refuse_locked('renaming party ' || OLD.name, agreement);
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER organisation_name_frozen
    BEFORE UPDATE OF name ON partners_organisation
    FOR EACH ROW WHEN (NEW.name IS DISTINCT FROM OLD.name)
    EXECUTE FUNCTION agreements_party_name_frozen();

-- Signatures never change; approvals of a locked agreement never change.
CREATE FUNCTION agreements_signature_frozen() RETURNS trigger AS $$
BEGIN
    PERFORM agreements_refuse_locked(lower(TG_OP) || ' of a signature', OLD.agreement_id);
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER signature_frozen
    BEFORE UPDATE OR DELETE ON agreements_signature
    FOR EACH ROW EXECUTE FUNCTION agreements_signature_frozen();

CREATE TRIGGER approval_text_frozen
    BEFORE UPDATE OR DELETE ON agreements_approval
    FOR EACH ROW WHEN (agreements_text_locked(OLD.agreement_id))
    EXECUTE FUNCTION agreements_signature_frozen();

-- Sealed documents: the stored file and its hashes never change, the row is never deleted.
CREATE FUNCTION agreements_sealed_document_frozen() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'sealed document % cannot be deleted', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.file IS DISTINCT FROM OLD.file OR NEW.sha256 IS DISTINCT FROM OLD.sha256
       OR NEW.text_hash IS DISTINCT FROM OLD.text_hash OR NEW.size IS DISTINCT FROM OLD.size
       OR NEW.pages IS DISTINCT FROM OLD.pages OR NEW.kind IS DISTINCT FROM OLD.kind
       OR NEW.sealed IS DISTINCT FROM OLD.sealed
       OR NEW.agreement_id IS DISTINCT FROM OLD.agreement_id THEN
        RAISE EXCEPTION 'sealed document % cannot change', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER sealed_document_frozen
    BEFORE UPDATE OR DELETE ON agreements_document
    FOR EACH ROW WHEN (OLD.sealed OR OLD.kind = 'executed')
    EXECUTE FUNCTION agreements_sealed_document_frozen();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS sealed_document_frozen ON agreements_document;
DROP FUNCTION IF EXISTS agreements_sealed_document_frozen();
DROP TRIGGER IF EXISTS approval_text_frozen ON agreements_approval;
DROP TRIGGER IF EXISTS signature_frozen ON agreements_signature;
DROP FUNCTION IF EXISTS agreements_signature_frozen();
DROP TRIGGER IF EXISTS organisation_name_frozen ON partners_organisation;
DROP FUNCTION IF EXISTS agreements_party_name_frozen();
DROP TRIGGER IF EXISTS triomember_text_frozen ON partners_triomember;
DROP FUNCTION IF EXISTS agreements_trio_members_frozen();
DROP TRIGGER IF EXISTS researchquestion_text_frozen ON partners_researchquestion;
DROP FUNCTION IF EXISTS agreements_question_text_frozen();
DROP TRIGGER IF EXISTS dataelement_questions_text_frozen ON agreements_dataelement_research_questions;
DROP FUNCTION IF EXISTS agreements_element_questions_frozen();
DROP TRIGGER IF EXISTS dataelement_text_frozen ON agreements_dataelement;
DROP TRIGGER IF EXISTS clauseoverride_text_frozen ON agreements_clauseoverride;
DROP FUNCTION IF EXISTS agreements_child_text_frozen();
DROP TRIGGER IF EXISTS agreement_text_frozen ON agreements_agreement;
DROP FUNCTION IF EXISTS agreements_agreement_text_frozen();
DROP FUNCTION IF EXISTS agreements_refuse_locked(text, uuid);
DROP FUNCTION IF EXISTS agreements_text_locked(uuid);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0003_documents_and_reviews"),
        ("partners", "0004_calendar_feed"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
