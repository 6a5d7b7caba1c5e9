# Search reads stored full-text documents instead of computing them per row (issue 18).
#
# The expression indexes of 0013 let PostgreSQL find matches, but ranking a match, or checking
# one the index scan did not answer exactly, parsed and stemmed the row's text again: about
# 50 microseconds an agreement, so a common word over 100,000 agreements took seconds. Each
# searched table now keeps its document in a generated column (PostgreSQL recomputes it on
# every write, so it cannot go stale) with a GIN index on it; agreements/search.py matches
# and ranks with the column. The expression indexes it replaces are dropped.
#
# The columns are not model fields on purpose: no other query selects them (the ORM names
# its columns), the history tables (pghistory) do not copy them, and only search reads them
# (agreements.search.StoredDocument). Adding them rewrites the three tables once.

from django.db import migrations, models

AGREEMENT = (
    "setweight(to_tsvector('english'::regconfig, COALESCE(title, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, COALESCE(replace(reference, '-', ' '), '')), 'A')"
    " || setweight(to_tsvector('english'::regconfig, COALESCE(purpose, '')), 'B')"
)
OVERRIDE = (
    "setweight(to_tsvector('english'::regconfig, COALESCE(heading, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(body, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(rationale, '')), 'C')"
)
CLAUSE = (
    "setweight(to_tsvector('english'::regconfig, COALESCE(heading, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(body, '')), 'B')"
)


def _column(table: str, expression: str, index: str) -> migrations.RunSQL:
    return migrations.RunSQL(
        sql=[
            f"ALTER TABLE {table} ADD COLUMN search_document tsvector "
            f"GENERATED ALWAYS AS ({expression}) STORED",
            f"CREATE INDEX {index} ON {table} USING gin (search_document)",
        ],
        reverse_sql=[
            f"DROP INDEX {index}",
            f"ALTER TABLE {table} DROP COLUMN search_document",
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0013_search_reference_words"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="agreement", name="agreement_search_document"),
        migrations.RemoveIndex(model_name="clauseoverride", name="override_search_document"),
        _column("agreements_agreement", AGREEMENT, "agreement_search_document"),
        _column("agreements_clauseoverride", OVERRIDE, "override_search_document"),
        _column("agreements_clause", CLAUSE, "clause_search_document"),
        # Which template versions the user's visible agreements use (the standard clauses
        # search offers): one probe per version, even for a version no agreement uses.
        migrations.AddIndex(
            model_name="agreement",
            index=models.Index(fields=["template_version", "trio"], name="agreement_version_trio"),
        ),
    ]
