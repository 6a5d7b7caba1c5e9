"""Two hosts, one object store (issue 18): two gunicorn web processes and two Celery
workers, each pair with a local disk of its own (MEDIA_ROOT and TMPDIR) and nothing shared
but PostgreSQL, Redis and the S3-compatible store of `scripts/stack.py test`. A PDF that a
worker of one host renders downloads through the web process of the other, and no host
keeps a document on its own disk."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse

from agreements.documents import jobs as documents
from agreements.models import DocumentKind, RenderJob, RenderStatus
from tests import object_store
from tests.agreements.pdf_support import ACTIVE, SIGNING, wait_for

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import stack  # noqa: E402


def _database_url() -> str:
    db = django_settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Host:
    """One machine's processes: a web server and a worker on a disk of their own."""

    def __init__(self, name: str, base: Path, *, prefix: str, queue: str) -> None:
        self.name = name
        self.disk = base / name
        (self.disk / "media").mkdir(parents=True)
        (self.disk / "tmp").mkdir()
        self.queue = queue
        self.port = stack.free_port()
        self.env = {
            **os.environ,
            **object_store.environment(prefix),
            "DATABASE_URL": _database_url(),
            "DJANGO_SETTINGS_MODULE": "collaboratory.settings_test",
            "MEDIA_ROOT": str(self.disk / "media"),
            "TMPDIR": str(self.disk / "tmp"),
            "RENDER_QUEUE": queue,
        }
        self.env.pop("TEST_DATABASE_NAME", None)
        self.processes: list[subprocess.Popen] = []

    def spawn(self, what: str, command: list[str]) -> Path:
        log = self.disk / f"{what}.log"
        with log.open("wb") as out:
            self.processes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        return log

    def start(self) -> None:
        self.web_log = self.spawn(
            "web",
            [
                sys.executable, "-m", "gunicorn", "collaboratory.wsgi:application",
                "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--threads", "2",
                "--timeout", "120",
            ],
        )  # fmt: skip
        self.worker_log = self.spawn(
            "worker",
            [
                sys.executable, "-m", "celery", "-A", "collaboratory", "worker",
                "--loglevel", "info", "--pool", "prefork", "--concurrency", "1",
                "--queues", self.queue, "--without-gossip", "--without-mingle",
                "--without-heartbeat", "--hostname", f"{self.name}-{os.getpid()}@%h",
            ],
        )  # fmt: skip

    def wait_ready(self) -> None:
        wait_for(
            lambda: (
                any(p.poll() is not None for p in self.processes)
                or (b" ready." in self.worker_log.read_bytes() and self.get("/healthz")[0] == 200)
            ),
            timeout=120,
            what=f"{self.name}'s web process and worker",
        )
        for process in self.processes:
            assert process.poll() is None, self.logs()

    def get(self, path: str, *, session: str | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}")
        if session:
            request.add_header("Cookie", f"{django_settings.SESSION_COOKIE_NAME}={session}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except OSError:
            return 0, b""

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
            for log in self.disk.glob("*.log")
        )

    def documents_on_disk(self) -> list[Path]:
        return [p for p in (self.disk / "media").rglob("*") if p.is_file()]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def session_of(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = django_settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


@pytest.mark.django_db(transaction=True)
def test_a_pdf_rendered_on_one_host_downloads_through_the_other(demo, outsider, settings, tmp_path):
    prefix = object_store.new_prefix()
    settings.STORAGES = {**settings.STORAGES, "default": object_store.default_storage(prefix)}
    run = uuid.uuid4().hex[:8]
    hosts = [
        Host(name, tmp_path, prefix=prefix, queue=f"two-hosts-{name}-{run}")
        for name in ("host-a", "host-b")
    ]
    try:
        for host in hosts:
            host.start()
        for host in hosts:
            host.wait_ready()
        # Each host's worker renders one document: the job goes to that worker's queue.
        wanted = [(hosts[0], ACTIVE, DocumentKind.EXECUTED), (hosts[1], SIGNING, "review")]
        jobs = []
        for host, title, kind in wanted:
            settings.RENDER_QUEUE = host.queue
            agreement = demo["agreements"][title]
            jobs.append(documents.render_request(agreement=agreement, kind=kind, by=None))

        def finished() -> bool:
            statuses = RenderJob.objects.filter(pk__in=[j.pk for j in jobs])
            return all(j.status in (RenderStatus.DONE, RenderStatus.FAILED) for j in statuses)

        try:
            wait_for(finished, timeout=240, what="both renders")
        except AssertionError:
            raise AssertionError("\n".join(h.logs() for h in hosts)) from None
        session = session_of(demo["users"]["director"])
        for (renderer, _, _), job in zip(wanted, jobs, strict=True):
            job.refresh_from_db()
            assert job.status == RenderStatus.DONE, job.error
            # Rendered by this host's worker (its own queue), not the other's.
            assert ": 'done'" in renderer.worker_log.read_text()
            other = hosts[1] if renderer is hosts[0] else hosts[0]
            url = reverse("document-download", args=[job.agreement_id, job.document_id])
            status, body = other.get(url, session=session)
            assert status == 200, other.logs()
            assert hashlib.sha256(body).hexdigest() == job.document.sha256
            assert body.startswith(b"%PDF-")
        assert object_store.keys(prefix) == sorted(
            f"{prefix}/{job.document.file.name}" for job in jobs
        )
        # Nothing landed on either host's disk: the store is all they share.
        assert [h.documents_on_disk() for h in hosts] == [[], []]
        # The access rule still holds on every host: an outsider gets a 404.
        assert hosts[1].get(url, session=session_of(outsider))[0] == 404
    finally:
        for host in hosts:
            host.stop()
