#!/usr/bin/env python3
"""Back up and restore Collaboratory: the database and the stored documents.

    backup.py backup                 pg_dump -Fc of DATABASE_URL + a tar of the documents into
                                     var/backups/<UTC timestamp>/ (or BACKUP_ROOT/<timestamp>),
                                     with manifest.json holding each part's SHA-256
    backup.py restore PATH [--force] verify the manifest, then pg_restore into the database
                                     named by DATABASE_URL and put the documents back; a
                                     database that already has tables is refused unless
                                     --force (FORCE=1 in make)

The documents are where the settings keep them: in the S3-compatible store when
STORAGE_S3_BUCKET is set (with STORAGE_S3_ENDPOINT_URL, _REGION, _ACCESS_KEY_ID,
_SECRET_ACCESS_KEY, _PREFIX, each also as NAME_FILE), else in MEDIA_ROOT. The tar holds the
same names either way, so a backup of one restores into the other. The object store needs
boto3: run with the virtualenv's Python (make backup / make restore do).

Without DATABASE_URL both use the `make run` stack under var/ (PostgreSQL in var/postgres on
STACK_PG_PORT, default 54329), starting that PostgreSQL for the duration when it is not
running. MEDIA_ROOT defaults to var/media, as in the settings. Standard library only, but
for boto3 when the documents are in an object store.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack  # noqa: E402 - scripts/stack.py, the one place that knows the local stack

ROOT = stack.ROOT
DATABASE_PART = "database.dump"
MEDIA_PART = "media.tar.gz"
MANIFEST = "manifest.json"


class BackupError(Exception):
    """Something the operator must fix; the message says what."""


# --- where things are ----------------------------------------------------------------------


def connection_env(url: str) -> tuple[list[str], dict[str, str], str]:
    """libpq arguments and environment for ``url``; the password goes in PGPASSWORD, never
    on a command line. Returns (args, env, database name)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise BackupError(f"DATABASE_URL must be a postgres:// URL, not {parts.scheme}://.")
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise BackupError("DATABASE_URL names no database.")
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    if parts.username:
        args += ["-U", unquote(parts.username)]
    env = {**os.environ}
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    return args, env, name


def media_root() -> Path:
    return Path(os.environ.get("MEDIA_ROOT") or ROOT / "var" / "media")


def setting(name: str) -> str:
    """``name`` from the environment, or from the file ``name_FILE`` names (as the settings
    read it)."""
    value = os.environ.get(name)
    if value is None and os.environ.get(f"{name}_FILE"):
        value = Path(os.environ[f"{name}_FILE"]).read_text().strip()
    return value or ""


class ObjectStore:
    """The documents bucket of collaboratory/settings.py (STORAGE_S3_*), under its prefix."""

    def __init__(self) -> None:
        self.bucket = setting("STORAGE_S3_BUCKET")
        self.prefix = setting("STORAGE_S3_PREFIX").strip("/")
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise BackupError(
                "STORAGE_S3_BUCKET is set but boto3 is missing: run this with the "
                "virtualenv's Python (.venv/bin/python, as make backup does)."
            ) from None
        endpoint = setting("STORAGE_S3_ENDPOINT_URL")
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint or None,
            region_name=setting("STORAGE_S3_REGION") or "us-east-1",
            aws_access_key_id=setting("STORAGE_S3_ACCESS_KEY_ID") or None,
            aws_secret_access_key=setting("STORAGE_S3_SECRET_ACCESS_KEY") or None,
            config=Config(s3={"addressing_style": "path" if endpoint else "auto"}),
        )

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def names(self) -> Iterator[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(start) :]

    def read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self.key(name))["Body"].read()

    def write(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.key(name), Body=data)


def object_store() -> ObjectStore | None:
    return ObjectStore() if setting("STORAGE_S3_BUCKET") else None


def pg_tool(name: str) -> str:
    folder = stack.pg_bin()
    if folder is None:
        raise BackupError("PostgreSQL client tools not found; run `scripts/stack.py ensure`.")
    return str(folder / name)


@contextlib.contextmanager
def database_url() -> Iterator[str]:
    """DATABASE_URL, or the `make run` PostgreSQL under var/ (started for the duration when
    it is not running)."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    data_dir = ROOT / "var" / "postgres"
    if not (data_dir / "PG_VERSION").exists():
        raise BackupError(
            "DATABASE_URL is not set and there is no local stack under var/postgres: run "
            "`make run` once, or set DATABASE_URL."
        )
    port = int(os.environ.get("STACK_PG_PORT", "54329"))
    postgres = stack.Postgres(data_dir, port, durable=True)
    started = not stack.port_open(port)
    if started:
        stack.log(f"starting the local PostgreSQL in {data_dir} for the duration")
        postgres.start()
    try:
        yield postgres.url
    finally:
        if started:
            postgres.stop()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_count(url: str) -> int:
    args, env, name = connection_env(url)
    result = subprocess.run(
        [
            pg_tool("psql"),
            *args,
            "-d",
            name,
            "-XAtc",
            "SELECT count(*) FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"Cannot reach database {name!r}: {result.stderr.strip()}")
    return int(result.stdout.strip())


# --- backup --------------------------------------------------------------------------------


def backup(destination_root: Path) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = destination_root / stamp
    media = media_root()
    with database_url() as url:
        args, env, name = connection_env(url)
        folder.mkdir(parents=True, exist_ok=False)
        folder.chmod(0o700)  # student data: readable by the operator only
        dump = folder / DATABASE_PART
        result = subprocess.run(
            [pg_tool("pg_dump"), *args, "-d", name, "-Fc", "-f", str(dump)],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)  # no half backup that looks like one
            raise BackupError(f"pg_dump of {name!r} failed: {result.stderr.strip()}")
    files = 0
    store = object_store()
    with tarfile.open(folder / MEDIA_PART, "w:gz") as archive:
        if store is not None:
            for stored in sorted(store.names()):
                data = store.read(stored)
                info = tarfile.TarInfo(stored)
                info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
                archive.addfile(info, io.BytesIO(data))
                files += 1
        elif media.is_dir():
            for path in sorted(media.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    archive.add(path, arcname=str(path.relative_to(media)), recursive=False)
                    files += 1
    manifest = {
        "format": 1,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "database": name,
        "media_root": store.where if store is not None else str(media),
        "media_files": files,
        "parts": {
            part: {"sha256": sha256_of(folder / part), "bytes": (folder / part).stat().st_size}
            for part in (DATABASE_PART, MEDIA_PART)
        },
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return folder


# --- restore -------------------------------------------------------------------------------


def verify(folder: Path) -> dict:
    """The manifest, once every part it names has the SHA-256 it records."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{folder} has no {MANIFEST}; is it a backup folder?") from None
    except json.JSONDecodeError as exc:
        raise BackupError(f"{folder / MANIFEST} is not valid JSON ({exc}).") from None
    parts = manifest.get("parts", {})
    for part in (DATABASE_PART, MEDIA_PART):
        if part not in parts:
            raise BackupError(f"The manifest lists no {part}.")
        path = folder / part
        if not path.is_file():
            raise BackupError(f"{path} is missing.")
        actual = sha256_of(path)
        if actual != parts[part]["sha256"]:
            raise BackupError(
                f"{path} does not match the manifest (SHA-256 {actual}, expected "
                f"{parts[part]['sha256']}): the backup is damaged or was altered; not restoring."
            )
    return manifest


def restore(folder: Path, *, force: bool) -> dict:
    manifest = verify(folder)
    media = media_root()
    with database_url() as url:
        args, env, name = connection_env(url)
        tables = table_count(url)
        if tables and not force:
            raise BackupError(
                f"Database {name!r} is not empty ({tables} tables). Restore into a fresh "
                "database (createdb, then point DATABASE_URL at it), or replace its contents "
                "with FORCE=1 (make restore) / --force."
            )
        command = [pg_tool("pg_restore"), *args, "-d", name, "--no-owner", "--exit-on-error"]
        if force:
            command += ["--clean", "--if-exists"]
        result = subprocess.run(
            [*command, str(folder / DATABASE_PART)], env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise BackupError(f"pg_restore into {name!r} failed: {result.stderr.strip()}")
    store = object_store()
    with tarfile.open(folder / MEDIA_PART, "r:gz") as archive:
        if store is not None:
            for member in archive.getmembers():
                # The "data" filter refuses absolute paths, "..", links and devices.
                safe = tarfile.data_filter(member, "/documents")
                handle = archive.extractfile(safe) if safe.isfile() else None
                if handle is not None:
                    store.write(safe.name, handle.read())
            return {**manifest, "database": name, "media_root": store.where}
        media.mkdir(parents=True, exist_ok=True)
        # The "data" filter refuses absolute paths, "..", links out of the folder and devices.
        archive.extractall(media, filter="data")
    return {**manifest, "database": name, "media_root": str(media)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("backup", help="write a new backup folder")
    make.add_argument(
        "--into",
        type=Path,
        default=Path(os.environ.get("BACKUP_ROOT") or ROOT / "var" / "backups"),
        help="parent folder of the backup (default var/backups, or BACKUP_ROOT)",
    )
    back = commands.add_parser("restore", help="restore a backup folder")
    back.add_argument("path", type=Path, help="the backup folder (holding manifest.json)")
    back.add_argument(
        "--force",
        action="store_true",
        default=os.environ.get("FORCE", "") in ("1", "true", "yes"),
        help="replace the contents of a non-empty database",
    )
    options = parser.parse_args(argv)
    try:
        if options.command == "backup":
            folder = backup(options.into)
            print(f"Backup written to {folder}")
        else:
            done = restore(options.path, force=options.force)
            print(
                f"Restored {options.path} into database {done['database']!r} and "
                f"{done['media_files']} document file(s) into {done['media_root']}"
            )
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
