"""`make backup` / `make restore` (scripts/backup.py): a backup of the seeded demo with a
sealed PDF, restored into a fresh database on the same server and a fresh media folder, is
the same data: every table's rows and sequences, every agreement's consolidated text, and
the sealed PDF's bytes. A damaged backup and a non-empty target are refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.db import connection
from django.db.utils import ProgrammingError

from agreements.documents import jobs as documents
from agreements.models import Agreement, Document, DocumentKind
from agreements.selectors import consolidated_text, with_agreement_detail
from tests.agreements.pdf_support import ACTIVE

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)

# Prints {agreement id: consolidated text SHA-256} of the database DATABASE_URL names.
TEXT_HASHES = """
import json
from agreements.models import Agreement
from agreements.selectors import consolidated_text, with_agreement_detail
print(json.dumps({str(a.pk): consolidated_text(a).sha256
                  for a in with_agreement_detail(Agreement.objects.all())}))
"""


def url_of(name: str) -> str:
    db = django_settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{name}"


def run_script(*args: str, database: str, media: Path, force: bool = False):
    env = {
        **os.environ,
        "DATABASE_URL": url_of(database),
        "MEDIA_ROOT": str(media),
        "FORCE": "1" if force else "",
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "backup.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def fingerprint(database: str) -> dict[str, tuple[int, str]]:
    """Row count and MD5 of the ordered rows of every table, and every sequence's value."""
    db = django_settings.DATABASES["default"]
    with (
        psycopg2.connect(
            host=db["HOST"],
            port=db["PORT"],
            user=db["USER"],
            password=db.get("PASSWORD") or None,
            dbname=database,
        ) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = sorted(row[0] for row in cursor.fetchall())
        found = {}
        for table in tables:
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"  # noqa: S608 - names from the catalogue
                f' FROM public."{table}" t'
            )
            found[table] = cursor.fetchone()
        cursor.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
        )
        for name, value in cursor.fetchall():
            found[f"sequence {name}"] = (value or 0, "")
    conn.close()
    return found


def drop_database(name: str) -> None:
    """DROP DATABASE ... WITH (FORCE), polling until a deadline while PostgreSQL's own
    autovacuum worker is on it: a freshly restored database gets analysed at once, and our
    role (not a superuser) may end client sessions but not that worker, so the DROP is
    refused until the worker finishes (seconds)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except ProgrammingError as error:
            if "pg_signal_backend" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def fresh_database():
    name = f"restore_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield name
    drop_database(name)


@pytest.fixture
def sealed_document(demo, settings) -> Document:
    """The active demo agreement's executed copy, rendered and sealed in this process (on a
    queue no worker listens to)."""
    settings.RENDER_QUEUE = f"backup-test-{os.getpid()}-{time.monotonic_ns()}"
    job = documents.render_request(
        agreement=demo["agreements"][ACTIVE], kind=DocumentKind.EXECUTED, by=None
    )
    assert documents.render_run(job_id=job.pk) == "done"
    return Document.objects.get(agreement=demo["agreements"][ACTIVE], sealed=True)


def test_a_backup_restored_into_a_fresh_database_is_the_same_data(
    sealed_document, fresh_database, tmp_path
):
    source = connection.settings_dict["NAME"]
    made = run_script(
        "backup",
        "--into",
        str(tmp_path / "backups"),
        database=source,
        media=Path(django_settings.MEDIA_ROOT),
    )
    assert made.returncode == 0, made.stderr
    (folder,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["parts"]) == {"database.dump", "media.tar.gz"}
    assert manifest["media_files"] >= 1

    restored_media = tmp_path / "restored-media"
    restored = run_script("restore", str(folder), database=fresh_database, media=restored_media)
    assert restored.returncode == 0, restored.stderr

    before, after = fingerprint(source), fingerprint(fresh_database)
    assert before["agreements_agreement"][0] > 0 and before["agreements_document"][0] == 1
    assert after == before

    texts = {
        str(a.pk): consolidated_text(a).sha256
        for a in with_agreement_detail(Agreement.objects.all())
    }
    shell = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", TEXT_HASHES],
        env={
            **os.environ,
            "DATABASE_URL": url_of(fresh_database),
            "DJANGO_SETTINGS_MODULE": "collaboratory.settings_test",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shell.returncode == 0, shell.stderr
    assert json.loads(shell.stdout.strip().splitlines()[-1]) == texts

    original = default_storage.open(sealed_document.file.name).read()
    copy = (restored_media / sealed_document.file.name).read_bytes()
    assert copy == original
    assert documents.document_verify(copy).ok


def test_restore_refuses_a_damaged_backup_and_a_database_that_is_not_empty(
    sealed_document, fresh_database, tmp_path
):
    source = connection.settings_dict["NAME"]
    made = run_script(
        "backup",
        "--into",
        str(tmp_path / "backups"),
        database=source,
        media=Path(django_settings.MEDIA_ROOT),
    )
    assert made.returncode == 0, made.stderr
    (folder,) = (tmp_path / "backups").iterdir()
    target_media = tmp_path / "target-media"

    refused = run_script("restore", str(folder), database=source, media=target_media)
    assert refused.returncode == 1
    assert f"Database '{source}' is not empty" in refused.stderr
    assert "FORCE=1" in refused.stderr
    assert not target_media.exists()

    damaged = tmp_path / "damaged"
    shutil.copytree(folder, damaged)
    dump = damaged / "database.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    refused = run_script("restore", str(damaged), database=fresh_database, media=target_media)
    assert refused.returncode == 1
    assert "does not match the manifest" in refused.stderr
    assert fingerprint(fresh_database) == {}  # nothing was restored
    assert not target_media.exists()
