"""Stored text people can still change gets the entry normal form (``agreements.text.entry``):
LF line endings, Unicode NFC, no trailing spaces (issue 16).

- Clause headings and bodies of draft template versions. Published versions are frozen
  (0002): they are part of what agreements were signed on.
- Proposals' headings, bodies and rationales, of agreements whose text is not locked yet
  (draft, negotiating, in review; 0004's ``agreements_text_locked`` refuses any change to a
  proposal of a signing, active, expired or terminated agreement): signed texts stay exactly
  as signed.
- Comments on clauses, answers to proposals and review marks: never part of a text.

Only the Markdown changes, never its reading: the stored blocks (what the text hash is made
of) stay as they are, so no agreement's hash moves and no approval goes stale. A body is read
the way it was when its blocks were made: text with no Markdown in it (the reader's plain path)
never had hard breaks, so its trailing spaces are only dropped; a Markdown body keeps its hard
breaks as backslashes, and is rewritten only if pandoc reads the new text exactly as the old.
Any body that would read differently is kept as it was, and named.
"""

import json
import unicodedata

from django.db import migrations

LOCKED = ("signing", "active", "expired", "terminated")


def _reads_the_same(before: str, after: str) -> bool:
    from agreements.text.document.markdown_import import READER, run_pandoc

    def reading(text: str) -> object:
        return json.loads(run_pandoc(text, reader=f"{READER}-raw_html", writer="json"))["blocks"]

    return reading(unicodedata.normalize("NFC", before)) == reading(after)


def _body(body: str) -> str | None:
    """The normal form of a stored Markdown body, or None when it would read differently."""
    from agreements.text.document.fragments import _plain_enough
    from agreements.text.entry import normalise_plain_text, normalise_text

    text = body.replace("\r\n", "\n").replace("\r", "\n")
    if _plain_enough(text):  # read without Markdown: a line break was never a hard break
        return normalise_plain_text(text)
    normal = normalise_text(text)
    return normal if normal == text or _reads_the_same(text, normal) else None


def _normalise(rows, *, plain=(), markdown=(), strip=(), kept):
    """Write the normal form of the named text fields of ``rows`` where it differs."""
    from agreements.text.entry import normalise_plain_text

    for row in rows:
        changes = {}
        for name in (*plain, *markdown):
            value = getattr(row, name)
            if not value:
                continue
            if name in markdown:
                normal = _body(value)
                if normal is None:
                    kept.append(f"{row._meta.model_name} {row.pk} ({name})")
                    continue
            else:
                normal = normalise_plain_text(value)
            if name in strip:
                normal = normal.strip()
            if normal != value:
                changes[name] = normal
        if changes:
            # A queryset update: the rows' own timestamps (when a proposal took effect, what
            # the history pages go by) stay as they were.
            type(row)._default_manager.filter(pk=row.pk).update(**changes)


def normalise_stored_text(apps, schema_editor):
    kept: list[str] = []
    Clause = apps.get_model("agreements", "Clause")
    ClauseOverride = apps.get_model("agreements", "ClauseOverride")
    _normalise(
        Clause.objects.filter(version__status="draft").order_by("pk"),
        plain=("heading",),
        markdown=("body",),
        strip=("heading",),
        kept=kept,
    )
    _normalise(
        ClauseOverride.objects.exclude(agreement__status__in=LOCKED).order_by("pk"),
        plain=("heading", "rationale"),
        markdown=("body",),
        strip=("heading", "rationale"),
        kept=kept,
    )
    for model, field in (
        ("ClauseComment", "body"),
        ("OverrideResponse", "comment"),
        ("ClauseReview", "comment"),
    ):
        rows = apps.get_model("agreements", model).objects.exclude(**{field: ""}).order_by("pk")
        _normalise(rows, plain=(field,), strip=(field,), kept=kept)
    if kept:
        print(f"\n  Kept as they were (their normal form would read differently): {kept}")


class Migration(migrations.Migration):
    dependencies = [("agreements", "0009_terms_home")]

    operations = [
        migrations.RunPython(normalise_stored_text, migrations.RunPython.noop, elidable=False),
    ]
