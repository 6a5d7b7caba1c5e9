"""`make backup` / `make restore` with the documents in the S3-compatible store (issue 18):
the backup holds the bucket's documents, a restore puts them back into a bucket (here under
another prefix) or, from the same backup, into a local MEDIA_ROOT."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from agreements.models import Document
from tests import object_store
from tests.reliability.test_backup_restore import (  # fixtures and helpers, no tests
    drop_database,
    fresh_database,
    sealed_document,
    url_of,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["fresh_database", "sealed_document"]


@pytest.fixture
def s3(settings):
    prefix = object_store.new_prefix()
    settings.STORAGES = {**settings.STORAGES, "default": object_store.default_storage(prefix)}
    return prefix


def run_script(*args: str, database: str, **env: str):
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "backup.py"), *args],
        env={**os.environ, "DATABASE_URL": url_of(database), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_backup_of_the_bucket_restores_into_a_bucket_or_a_local_folder(
    s3, sealed_document: Document, fresh_database, tmp_path
):
    stored = f"{s3}/{sealed_document.file.name}"
    assert stored in object_store.keys(s3)
    original = object_store.client().get_object(Bucket=object_store.endpoint()[1], Key=stored)
    data = original["Body"].read()
    source = connection.settings_dict["NAME"]
    made = run_script(
        "backup",
        "--into",
        str(tmp_path / "backups"),
        database=source,
        MEDIA_ROOT=str(tmp_path / "unused-media"),
        **object_store.environment(s3),
    )
    assert made.returncode == 0, made.stderr
    folder = next((tmp_path / "backups").iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["media_files"] == len(object_store.keys(s3)) >= 1
    assert manifest["media_root"] == f"s3://{object_store.endpoint()[1]}/{s3}"

    target = object_store.new_prefix()
    restored = run_script(
        "restore", str(folder), database=fresh_database, **object_store.environment(target)
    )
    assert restored.returncode == 0, restored.stderr
    assert object_store.keys(target) == [
        key.replace(s3, target, 1) for key in object_store.keys(s3)
    ]
    copy = object_store.client().get_object(
        Bucket=object_store.endpoint()[1], Key=f"{target}/{sealed_document.file.name}"
    )
    assert copy["Body"].read() == data

    # The same backup restores into a local folder (moving off the object store).
    drop_database(fresh_database)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{fresh_database}"')
    local = tmp_path / "local-media"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORAGE_S3_")}
    into_folder = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "backup.py"), "restore", str(folder)],
        env={**env, "DATABASE_URL": url_of(fresh_database), "MEDIA_ROOT": str(local)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert into_folder.returncode == 0, into_folder.stderr
    assert (local / sealed_document.file.name).read_bytes() == data
