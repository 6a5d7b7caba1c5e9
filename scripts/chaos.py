#!/usr/bin/env python3
"""Fault drill: break the running system the way production breaks and check what survives.

Starts its OWN PostgreSQL and Redis (scripts/stack.py; Redis with an append-only file, as in
docker-compose.yml), migrates, seeds the demo, and runs gunicorn, a Celery worker and a
loopback webhook receiver against them. Then:

  A. kill -9 the whole Celery worker while it renders the sealed PDF of an agreement that
     just became active AND while it waits on the webhook receiver for that event; start a
     new worker (with beat): the PDF is sealed exactly once and every event reaches the
     receiver, recorded as delivered exactly once per endpoint and event id.
  B. restart Redis while requests (health, API, pages, override proposals) are in flight and
     tasks are queued, running, and enqueued during the outage: /healthz answers 503 while it
     is down and 200 by itself afterwards; no job is lost.
  C. restart PostgreSQL under the same load: /healthz 503 while down, 200 by itself after;
     no half-written agreement or proposal; no 5xx once it is back.
  D. stop the object store (documents live in a local S3, moto_server) while a sealed PDF
     renders: the render waits in the queue and completes when the store is back; the PDF
     is in the store and downloads through gunicorn.

Prints a short report; exits 0 when every check holds. `make test` runs it through
tests/reliability/test_chaos.py; `make chaos` runs it alone. Needs the virtualenv's Python.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
import stack  # noqa: E402

SETTINGS = "tests.reliability.chaos_settings"
SIGNING = "Open Curriculum Implementation Data Agreement"  # waits for the director's signature
ACTIVE = "Productive Struggle Classroom Study"
IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"
NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
EXPIRED = "Adaptive Practice Pilot 2024"
T0 = time.monotonic()


def now() -> float:
    return time.monotonic() - T0


def say(message: str) -> None:
    print(f"[chaos {now():5.1f}s] {message}", flush=True)


def wait_for(
    predicate: Callable[[], Any],
    what: str,
    timeout: float,
    *,
    pending: Callable[[], object] | None = None,
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail naming ``what`` (and what
    ``pending`` says is still outstanding, when given)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            still = f"; still pending: {pending()}" if pending is not None else ""
            raise Failed(f"{what}: not within {timeout:.0f} s{still}")
        time.sleep(0.1)


class Failed(Exception):
    pass


# --- services ------------------------------------------------------------------------------


class Receiver:
    """A partner's webhook endpoint on loopback. It deduplicates on the event id, as the
    README tells partners to, and can hold the first request of one event type open (so the
    sender can be killed while it waits for the answer)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[str, str]] = []  # (event id, event type) per request
        self.processed: Counter[str] = Counter()  # event id -> times acted upon (after dedup)
        self.hold_type: str | None = None
        self.holding = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                event_id = self.headers.get("Collaboratory-Event-Id", "")
                event_type = self.headers.get("Collaboratory-Event", "")
                with receiver.lock:
                    receiver.received.append((event_id, event_type))
                    hold = event_type == receiver.hold_type and not receiver.holding.is_set()
                    if hold:
                        receiver.holding.set()
                if hold:
                    receiver.release.wait(30)
                    return  # the sender is gone: never answered, never processed
                with receiver.lock:
                    if event_id not in receiver.processed:
                        receiver.processed[event_id] += 1  # acted upon once per event id
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class Load:
    """Requests in flight: /healthz, the partner API, an agreement page, and override
    proposals (a multi-row write) through gunicorn, each loop in its own thread."""

    def __init__(
        self, port: int, *, token: str, session: str, csrf: str, agreement_id: str, clause_key: str
    ) -> None:
        self.port = port
        self.token = token
        self.cookie = f"sessionid={session}; csrftoken={csrf}"
        self.csrf = csrf
        self.agreement_id = agreement_id
        self.clause_key = clause_key
        # (start, kind, status, tag, end) of every request, in seconds since the drill began
        self.results: list[tuple[float, str, object, str, float]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def request(self, method: str, path: str, *, headers=None, body=None) -> object:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException) as exc:
            return type(exc).__name__
        finally:
            connection.close()

    def record(self, kind: str, started: float, status: object, tag: str = "") -> None:
        with self.lock:
            self.results.append((started, kind, status, tag, now()))

    def _loop(self, kind: str, pause: float, act: Callable[[int], tuple[object, str]]) -> None:
        number = 0
        while not self.stopping.is_set():
            number += 1
            started = now()
            status, tag = act(number)
            self.record(kind, started, status, tag)
            self.stopping.wait(pause)

    def healthz(self, _: int):
        return self.request("GET", "/healthz"), ""

    def api(self, _: int):
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        return self.request("GET", "/api/v1/agreements/", headers=headers), ""

    def page(self, _: int):
        return self.request(
            "GET", f"/agreements/{self.agreement_id}/", headers={"Cookie": self.cookie}
        ), ""

    def propose(self, number: int):
        tag = f"chaos-proposal-{number:04d}"
        body = urlencode(
            {
                "csrfmiddlewaretoken": self.csrf,
                "kind": "replace",
                "clause_key": self.clause_key,
                "body": f"Revised text {number} of this clause, proposed during the drill.",
                "rationale": tag,
                "heading": "",
                "new_key": "",
            }
        )
        headers = {"Cookie": self.cookie, "Content-Type": "application/x-www-form-urlencoded"}
        status = self.request(
            "POST", f"/agreements/{self.agreement_id}/propose/", headers=headers, body=body
        )
        return status, tag

    def start(self) -> None:
        for kind, pause, act in (
            ("healthz", 0.1, self.healthz),
            ("api", 0.15, self.api),
            ("page", 0.25, self.page),
            ("propose", 0.3, self.propose),
        ):
            thread = threading.Thread(target=self._loop, args=(kind, pause, act), daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=15)

    def health_since(self, start: float) -> list[object]:
        with self.lock:
            return [s for t, k, s, _, _ in self.results if k == "healthz" and t >= start]


# --- the drill -----------------------------------------------------------------------------


class Drill:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.processes: dict[str, subprocess.Popen] = {}
        self.failures: list[str] = []
        self.report: list[str] = []
        self.postgres = stack.Postgres(base / "postgres", stack.free_port(), durable=False)
        # Append-only, as in production: queued messages survive the restart.
        self.redis = stack.Redis(base / "redis", stack.free_port(), durable=True, appendonly=True)
        self.web_port = stack.free_port()
        self.store = stack.ObjectStore(stack.free_port(), log_path=base / "objectstore.log")
        self.receiver = Receiver()
        self.env: dict[str, str] = {}

    # -- helpers --

    def check(self, ok: bool, what: str) -> None:
        self.report.append(f"  [{'ok' if ok else 'FAIL'}] {what}")
        if not ok:
            self.failures.append(what)

    def spawn(self, name: str, command: list[str], **env: str) -> subprocess.Popen:
        log = self.base / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**self.env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill -9 takes its children
            )
        self.processes[name] = process
        return process

    def wait_ready(self, name: str, ready: bytes) -> None:
        process = self.processes[name]
        log = self.base / f"{name}.log"
        wait_for(
            lambda: process.poll() is not None or ready in log.read_bytes(), f"{name} start", 120
        )
        if process.poll() is not None:
            raise Failed(f"{name} exited at start:\n{log.read_text()[-3000:]}")

    def start_worker(self, name: str, *, delay: int, beat: bool) -> subprocess.Popen:
        command = [
            sys.executable, "-m", "celery", "-A", "collaboratory", "worker",
            "--loglevel", "info", "--pool", "prefork", "--concurrency", "2",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--hostname", f"{name}@%h",
        ]  # fmt: skip
        if beat:
            command += ["--beat", "--schedule", str(self.base / "beat-schedule")]
        return self.spawn(name, command, RENDER_TEST_DELAY_SECONDS=str(delay))

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def healthz(self) -> object:
        connection = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status
        except (OSError, http.client.HTTPException) as exc:
            return type(exc).__name__
        finally:
            connection.close()

    # -- set-up --

    def set_up(self) -> None:
        self.postgres.start()
        self.redis.start()
        self.store.start()
        sealing = self.base / "sealing"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            # Production error handling (a developer's DEBUG=1 would show technical 500s).
            "DEBUG": "false",
            "MEDIA_ROOT": str(self.base / "media"),
            "SEALING_CERT_FILE": str(sealing / "cert.pem"),
            "SEALING_KEY_FILE": str(sealing / "key.pem"),
            "SEALING_KEY_PASSWORD": "chaos-" + secrets.token_hex(8),
            "RENDER_ON_ACTIVATION": "true",
            "PYTHONPATH": str(ROOT),
            # Documents in the object store, as with more than one host (D stops it).
            "STORAGE_S3_BUCKET": stack.ObjectStore.BUCKET,
            "STORAGE_S3_ENDPOINT_URL": self.store.url,
            "STORAGE_S3_ACCESS_KEY_ID": "chaos",
            "STORAGE_S3_SECRET_ACCESS_KEY": "chaos-secret",  # moto checks no signatures
            "STORAGE_S3_TIMEOUT_SECONDS": "1",
        }
        for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "TEST_DATABASE_NAME"):
            self.env.pop(name, None)
        os.environ.clear()
        os.environ.update(self.env)
        say(
            f"PostgreSQL :{self.postgres.port}, Redis :{self.redis.port}, object store "
            f":{self.store.port} (own, throwaway)"
        )

        # The web server and the first worker boot while the database is migrated and
        # seeded (neither touches it before its first request or task).
        self.spawn(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "collaboratory.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
            ],  # fmt: skip
        )
        self.start_worker("worker-1", delay=60, beat=False)

        import django

        django.setup()
        from django.core.management import call_command
        from django.test.utils import override_settings

        from agreements.documents.sealing import generate_dev_certificate

        call_command("migrate", verbosity=0)
        say("migrated")
        generate_dev_certificate(
            cert_file=sealing / "cert.pem",
            key_file=sealing / "key.pem",
            password=self.env["SEALING_KEY_PASSWORD"],
        )
        with override_settings(RENDER_ON_ACTIVATION=False):  # no PDFs for the seeded actives
            call_command("seed_demo", verbosity=0)
        say("seeded the demo")
        self.wait_ready("web", b"Booting worker")
        self.wait_ready("worker-1", b" ready.")
        wait_for(lambda: self.healthz() == 200, "gunicorn answering /healthz", 60)
        say("gunicorn and worker-1 ready")

    def load(self) -> Load:
        from django.conf import settings
        from django.contrib.auth import (
            BACKEND_SESSION_KEY,
            HASH_SESSION_KEY,
            SESSION_KEY,
            get_user_model,
        )
        from django.contrib.sessions.backends.db import SessionStore

        from agreements.models import Agreement
        from agreements.selectors import consolidated_text, with_agreement_detail
        from partners.api_auth import api_token_issue
        from partners.models import ApiScope, Organisation

        counsel = get_user_model().objects.get(username="counsel")
        session = SessionStore()
        session[SESSION_KEY] = str(counsel.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = counsel.get_session_auth_hash()
        session.create()
        assert settings.SESSION_COOKIE_NAME == "sessionid"
        _, token = api_token_issue(
            organisation=Organisation.objects.get(slug="riverbend-usd"),
            name="chaos drill",
            scopes=[ApiScope.AGREEMENTS_READ],
        )
        negotiating = with_agreement_detail(Agreement.objects.all()).get(title=NEGOTIATING)
        clause = next(
            c.key
            for c in consolidated_text(negotiating).clauses
            if c.key not in ("breach-notification", "audits")
        )
        self.proposal_clause = clause
        return Load(
            self.web_port,
            token=token,
            session=session.session_key,
            csrf=secrets.token_hex(16),  # 32 characters, the cookie and the form field agree
            agreement_id=str(negotiating.pk),
            clause_key=clause,
        )

    # -- A: kill the worker mid-render and mid-delivery --

    def kill_mid_job(self) -> None:
        from django.contrib.auth import get_user_model

        from agreements.models import Agreement, Document, RenderJob, RenderStatus
        from agreements.selectors import consolidated_text, with_agreement_detail
        from agreements.signing.services import agreement_sign
        from partners import webhooks
        from partners.models import DeliveryStatus, Organisation, WebhookDelivery, WebhookEvent

        self.endpoint, _ = webhooks.webhook_endpoint_create(
            organisation=Organisation.objects.get(slug="riverbend-usd"),
            url=self.receiver.url,
            events=list(WebhookEvent.values),
        )
        self.receiver.hold_type = "agreement.status_changed"
        worker = self.processes["worker-1"]
        signing = with_agreement_detail(Agreement.objects.all()).get(title=SIGNING)
        self.signing_id = signing.pk
        agreement_sign(
            agreement=signing,
            by=get_user_model().objects.get(username="director"),
            typed_name="Maya Okafor",
            intent_confirmed=True,
            text_hash=consolidated_text(signing).sha256,
            ip_address="203.0.113.7",
            user_agent="chaos-drill",
        )
        say("last signature in: the agreement is active; its PDF and webhook are queued")
        # The worker gives up on an answer after WEBHOOK_TIMEOUT_SECONDS (3 s here): kill it
        # as soon as both the delivery is waiting on the receiver and the render runs.
        if not self.receiver.holding.wait(90):
            raise Failed("worker-1 never sent the activation webhook")
        wait_for(
            lambda: RenderJob.objects.filter(
                agreement_id=signing.pk, status=RenderStatus.RUNNING
            ).exists(),
            "worker-1 rendering the PDF",
            60,
        )
        self.kill(worker)
        self.receiver.release.set()
        self.killed_at = now()
        job = RenderJob.objects.get(agreement_id=signing.pk)
        self.render_job_id = job.pk
        sending = WebhookDelivery.objects.filter(status=DeliveryStatus.SENDING).count()
        say(
            f"kill -9 worker-1 mid-render (job {job.pk} {job.status}, attempt {job.attempts}) "
            f"and mid-delivery ({sending} delivery sending)"
        )
        self.check(
            job.status == RenderStatus.RUNNING
            and not Document.objects.filter(agreement_id=signing.pk).exists()
            and sending == 1,
            "A: worker killed with a render running and a webhook delivery in flight",
        )
        # Not waited for: it boots while Redis is restarted, and must cope with that too.
        self.start_worker("worker-2", delay=0, beat=True)
        say("worker-2 (with beat) starting")

    # -- B: restart Redis --

    def restart_redis(self, load: Load) -> None:
        from django.contrib.auth import get_user_model

        from agreements.choices import TerminationGround
        from agreements.documents import jobs as documents
        from agreements.models import Agreement, DocumentKind
        from agreements.signing.services import agreement_terminate

        director = get_user_model().objects.get(username="director")
        before = documents.render_request(
            agreement=Agreement.objects.get(title=IN_REVIEW), kind=DocumentKind.REVIEW, by=None
        )
        time.sleep(1)
        down = now()
        self.redis.stop()
        say("Redis stopped")
        wait_for(lambda: 503 in load.health_since(down), "/healthz 503 while Redis is down", 15)
        # Writes that queue work while the broker is down: a termination (webhook event and
        # notifications) and a review-copy render. They must commit, and their work must
        # come through once Redis is back.
        during_errors = []
        for label, write in (
            (
                "terminate an active agreement",
                # The District ends it with immediate effect, so the status changes now.
                lambda: agreement_terminate(
                    agreement=Agreement.objects.get(title=ACTIVE),
                    by=director,
                    ground=TerminationGround.IMMEDIATE,
                    reason="Ended during the fault drill.",
                ),
            ),
            (
                "request a review copy",
                lambda: documents.render_request(
                    agreement=Agreement.objects.get(title=NEGOTIATING),
                    kind=DocumentKind.REVIEW,
                    by=None,
                ),
            ),
        ):
            try:
                write()
            except Exception as exc:  # noqa: BLE001 - reported as a failed check
                during_errors.append(f"{label}: {type(exc).__name__}: {exc}")
        self.check(
            not during_errors,
            "B: writes during the Redis outage commit without an error"
            + (f" ({'; '.join(during_errors)})" if during_errors else ""),
        )
        time.sleep(max(0.0, 3 - (now() - down)))
        self.redis.start()
        back = now()
        wait_for(lambda: load.health_since(back)[-1:] == [200], "/healthz 200 after Redis", 30)
        recovered = min(
            t for t, k, s, _, _ in load.results if k == "healthz" and t >= back and s == 200
        )
        say(f"Redis back after {back - down:.1f} s; /healthz 200 {recovered - back:.1f} s later")
        self.redis_window = (down, back, recovered)
        self.render_jobs = [before.pk]
        self.check(
            True,
            f"B: /healthz 503 while Redis was down, 200 by itself {recovered - back:.1f} s after",
        )

    # -- C: restart PostgreSQL --

    def restart_postgres(self, load: Load) -> None:
        from django.db import connections

        time.sleep(1)
        connections.close_all()
        down = now()
        self.postgres.stop()
        say("PostgreSQL stopped (fast shutdown: open transactions are cut)")
        wait_for(
            lambda: 503 in load.health_since(down), "/healthz 503 while PostgreSQL is down", 15
        )
        time.sleep(max(0.0, 3 - (now() - down)))
        self.postgres.start()
        back = now()
        wait_for(lambda: load.health_since(back)[-1:] == [200], "/healthz 200 after PostgreSQL", 30)
        recovered = min(
            t for t, k, s, _, _ in load.results if k == "healthz" and t >= back and s == 200
        )
        say(
            f"PostgreSQL back after {back - down:.1f} s; "
            f"/healthz 200 {recovered - back:.1f} s later"
        )
        self.pg_window = (down, back, recovered)
        self.check(
            True,
            f"C: /healthz 503 while PostgreSQL was down, 200 by itself "
            f"{recovered - back:.1f} s after",
        )
        time.sleep(3)  # load after recovery

    # -- D: stop the object store --

    def stop_object_store(self) -> None:
        from django.conf import settings
        from django.db import connections

        from agreements.documents import jobs as documents
        from agreements.models import Agreement, DocumentKind, RenderJob, RenderStatus

        connections.close_all()  # the drill's own connection died with PostgreSQL in C
        # A-C's renders finish first: their checks count attempts, and D is about its own.
        wait_for(
            lambda: not RenderJob.objects.exclude(status=RenderStatus.DONE).exists(),
            "the renders of A-C done before the object store stops",
            2 * settings.RENDER_TIME_LIMIT,
        )
        self.store.stop()
        down = now()
        say("object store stopped")
        job = documents.render_request(
            agreement=Agreement.objects.get(title=EXPIRED), kind=DocumentKind.EXECUTED, by=None
        )
        self.outage_job_id = job.pk
        # Refused twice (the task's retry too): the render waits in the queue.
        wait_for(
            lambda: RenderJob.objects.filter(
                pk=job.pk,
                status=RenderStatus.QUEUED,
                error__startswith="Retrying after",
                attempts__gte=2,
            ).exists(),
            "D: the render refused by the stopped store and retried",
            120,
        )
        # A store that stores nothing meanwhile: moto keeps objects in memory, so the
        # restarted store is empty (a real S3 or MinIO keeps them; D checks only its PDF).
        self.store.start()
        say(f"object store back after {now() - down:.1f} s")

    def check_object_store_outage(self) -> None:
        import urllib.request

        from django.conf import settings
        from django.contrib.auth import (
            BACKEND_SESSION_KEY,
            HASH_SESSION_KEY,
            SESSION_KEY,
            get_user_model,
        )
        from django.contrib.sessions.backends.db import SessionStore
        from django.core.files.storage import default_storage
        from django.urls import reverse

        from agreements.models import RenderJob, RenderStatus

        job = RenderJob.objects.select_related("document").get(pk=self.outage_job_id)
        stored = job.document is not None and default_storage.exists(job.document.file.name)
        status, digest = 0, ""
        if stored:
            director = get_user_model().objects.get(username="director")
            session = SessionStore()
            session[SESSION_KEY] = str(director.pk)
            session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
            session[HASH_SESSION_KEY] = director.get_session_auth_hash()
            session.create()
            url = reverse("document-download", args=[job.agreement_id, job.document_id])
            request = urllib.request.Request(f"http://127.0.0.1:{self.web_port}{url}")
            request.add_header("Cookie", f"sessionid={session.session_key}")
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status = response.status
                digest = hashlib.sha256(response.read()).hexdigest()
        self.check(
            job.status == RenderStatus.DONE
            and stored
            and status == 200
            and digest == job.document.sha256,
            f"D: the render during the object-store outage waited and completed when the store "
            f"came back (attempt {job.attempts}); its sealed PDF is in the store and downloads "
            f"through gunicorn (HTTP {status})",
        )

    # -- verdicts --

    def webhooks_outstanding(self) -> list[str]:
        """The webhook deliveries the drill still waits for: an event it caused whose
        delivery row is not written yet, or a delivery not settled (pending, retrying,
        sending). "No delivery left undelivered" alone is not enough: a render's
        document_ready row is written by the worker after the render's commit, so for a
        moment the render is done and its delivery does not exist yet."""
        from agreements.models import Agreement, RenderJob, RenderStatus, Status
        from partners.models import DeliveryStatus, WebhookDelivery

        terminated_id = Agreement.objects.values_list("pk", flat=True).get(title=ACTIVE)
        expected = {
            ("agreement.status_changed", f"{self.signing_id} {Status.ACTIVE}"),
            ("agreement.status_changed", f"{terminated_id} {Status.TERMINATED}"),
        } | {
            ("agreement.document_ready", f"document {document_id}")
            for document_id in RenderJob.objects.filter(status=RenderStatus.DONE).values_list(
                "document_id", flat=True
            )
        }
        written = set()
        unsettled = []
        deliveries = WebhookDelivery.objects.order_by("pk").values_list(
            "pk", "endpoint_id", "event", "payload", "status", "attempts", "next_attempt_at"
        )
        for pk, endpoint_id, event, payload, status, attempts, next_at in deliveries:
            data = payload["data"]
            if endpoint_id == self.endpoint.pk and event == "agreement.document_ready":
                written.add((event, f"document {data['document_id']}"))
            elif endpoint_id == self.endpoint.pk:
                written.add((event, f"{data['agreement']['id']} {data.get('to')}"))
            if status not in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
                unsettled.append(
                    f"delivery {pk} {event} {status} after {attempts} attempt(s)"
                    + (f", next at {next_at:%H:%M:%S}" if next_at is not None else "")
                )
        missing = [f"no {event} delivery yet ({key})" for event, key in sorted(expected - written)]
        return missing + unsettled

    def verify(self, load: Load) -> None:
        from django.conf import settings
        from django.db import connections
        from django.db.models import Count

        from agreements.models import (
            Agreement,
            ClauseOverride,
            Document,
            DocumentKind,
            Notification,
            RenderJob,
            RenderStatus,
            Transition,
        )
        from partners.models import DeliveryStatus, WebhookDelivery

        connections.close_all()

        # No job lost, none done twice. Wait until nothing is outstanding, in this order (the
        # webhook events to expect depend on the finished renders), each with a deadline the
        # work needs on a slow machine: the worker's two processes render three jobs, so the
        # last may wait for one render and then render, each up to the hard time limit.
        waits: tuple[tuple[Callable[[], list[str]], str, float], ...] = (
            (
                lambda: [
                    f"render job {pk} {kind} {status} (attempt {attempts})"
                    for pk, kind, status, attempts in RenderJob.objects.exclude(
                        status=RenderStatus.DONE
                    ).values_list("pk", "kind", "status", "attempts")
                ],
                "every render job done",
                2 * settings.RENDER_TIME_LIMIT,
            ),
            (
                self.webhooks_outstanding,
                "every webhook event written and its delivery settled",
                75,
            ),
            (
                lambda: [
                    f"notification {pk} {event}"
                    for pk, event in Notification.objects.filter(sent_at__isnull=True).values_list(
                        "pk", "event"
                    )
                ],
                "every notification e-mailed",
                75,
            ),
        )
        for outstanding, what, timeout in waits:
            try:
                wait_for(lambda o=outstanding: not o(), what, timeout, pending=outstanding)
                say(what)
            except Failed as exc:
                self.failures.append(str(exc))
                self.report.append(f"  [FAIL] {exc}")
        jobs = list(
            RenderJob.objects.order_by("pk").values_list("pk", "kind", "status", "attempts")
        )
        say(f"render jobs (id, kind, status, attempts): {jobs}")
        executed = Document.objects.filter(agreement_id=self.signing_id, kind=DocumentKind.EXECUTED)
        signing_job = RenderJob.objects.get(pk=self.render_job_id)
        # The job must have been taken over (attempt 2 at least). On a slow machine the
        # taken-over render is still running when PostgreSQL restarts, which cuts it and
        # retries it once more (attempt 3): still exactly one document.
        self.check(
            executed.count() == 1
            and executed.get().sealed
            and 2 <= signing_job.attempts <= settings.RENDER_MAX_ATTEMPTS,
            f"A: exactly one sealed PDF for the agreement killed mid-render "
            f"({executed.count()} document(s); job taken over, done on attempt "
            f"{signing_job.attempts} of at most {settings.RENDER_MAX_ATTEMPTS})",
        )
        self.check(
            all(status == RenderStatus.DONE for _, _, status, _ in jobs),
            f"B: render jobs queued before and during the Redis outage done ({len(jobs)} jobs)",
        )

        deliveries = list(WebhookDelivery.objects.values_list("event_id", "event", "status"))
        per_event = Counter(str(e) for e, _, _ in deliveries)
        events = Counter(kind for _, kind, _ in deliveries)
        received = Counter(event_id for event_id, _ in self.receiver.received)
        self.check(
            events["agreement.status_changed"] == 2
            and events["agreement.document_ready"] == len(jobs),
            "A+B: webhook events: activation and termination (status_changed), one "
            f"document_ready per finished render: {dict(events)}",
        )
        self.check(
            all(n == 1 for n in per_event.values())
            and all(s == DeliveryStatus.DELIVERED for _, _, s in deliveries),
            "A+B: exactly one delivered delivery per event id and endpoint",
        )
        self.check(
            set(received) == set(per_event)
            and all(self.receiver.processed[e] == 1 for e in per_event),
            f"A+B: the receiver got every event and acted on each once "
            f"({sum(received.values())} requests for {len(received)} events; "
            f"{sum(received.values()) - len(received)} resent after the crash, deduplicated "
            "by event id)",
        )
        self.check(
            not Notification.objects.filter(sent_at__isnull=True).exists(),
            f"B: every notification e-mailed ({Notification.objects.count()} in all)",
        )

        # No half-written agreement: each commit is all or nothing.
        broken_states = [
            a.title
            for a in Agreement.objects.all()
            if (latest := Transition.objects.filter(agreement=a).order_by("-at", "-pk").first())
            is not None
            and latest.to_status != a.status
        ]
        self.check(
            not broken_states,
            "C: every agreement's status matches its last recorded transition"
            + (f" (not: {broken_states})" if broken_states else ""),
        )
        open_twice = list(
            ClauseOverride.objects.filter(status="proposed")
            .values("agreement_id", "organisation_id", "clause_key")
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
        )
        with load.lock:
            posts = [(t, s, tag) for t, k, s, tag, _ in load.results if k == "propose"]
        tags = Counter(
            ClauseOverride.objects.filter(rationale__startswith="chaos-proposal-").values_list(
                "rationale", flat=True
            )
        )
        accepted = [tag for _, s, tag in posts if s == 302]
        self.check(
            not open_twice
            and all(tags[tag] == 1 for tag in accepted)
            and all(n == 1 for n in tags.values()),
            f"C: proposals all-or-nothing: {len(posts)} posted, {len(tags)} stored, each once; "
            "one open proposal per party and clause",
        )
        pg_recovered = self.pg_window[2]
        redis_recovered = self.redis_window[2]
        with load.lock:
            results = list(load.results)
        # After recovery: started once /healthz said 200 again, and (between the two
        # outages) finished before PostgreSQL began to stop.
        late = [
            (round(t, 1), k, s)
            for t, k, s, _, end in results
            if (t >= pg_recovered or (redis_recovered <= t and end < self.pg_window[0]))
            and not (isinstance(s, int) and s < 500)
        ]
        self.check(
            not late,
            f"B+C: no 5xx or dropped request after recovery ({len(results)} requests in all)"
            + (f"; got {late[:5]}" if late else ""),
        )
        for label, (down, _, recovered) in (
            ("Redis", self.redis_window),
            ("PostgreSQL", self.pg_window),
        ):
            during = Counter(
                f"{k} {s}" for t, k, s, _, _ in results if k != "healthz" and down <= t < recovered
            )
            self.report.append(
                f"  requests during the {label} outage: {dict(sorted(during.items()))}"
            )
        down, _, recovered = self.pg_window
        errors = Counter(
            f"{k} {s}"
            for t, k, s, _, _ in results
            if down <= t < recovered
            and k != "healthz"
            and isinstance(s, int)
            and s >= 500
            and s != 503
        )
        self.check(
            not errors,
            "C: while PostgreSQL is down, pages and the API answer 503 (try again), not 500"
            + (f"; got {dict(errors)}" if errors else ""),
        )
        down, _, recovered = self.redis_window
        # Requests of the Redis outage that were still running when PostgreSQL began to
        # stop are PostgreSQL's to fail.
        failed = Counter(
            k
            for t, k, s, _, end in results
            if down <= t < recovered and end < self.pg_window[0] and s == 500 and k != "healthz"
        )
        self.check(
            not failed,
            "B: no 500 while only Redis is down (writes commit; their work is queued later)"
            + (f"; got {dict(failed)}" if failed else ""),
        )

    # -- the whole drill --

    def run(self) -> int:
        started = time.monotonic()
        load = None
        try:
            self.set_up()
            ready = now()
            self.kill_mid_job()
            load = self.load()
            load.start()
            self.restart_redis(load)
            self.restart_postgres(load)
            load.stop()
            self.stop_object_store()
            faulted = now()
            self.verify(load)
            self.check_object_store_outage()
            self.report.append(
                f"  time: set-up {ready:.0f} s (servers, migrate, seed), faults "
                f"{faulted - ready:.0f} s, recovery checks {now() - faulted:.0f} s"
            )
        except Failed as exc:
            self.failures.append(str(exc))
            self.report.append(f"  [FAIL] {exc}")
        finally:
            if load is not None:
                load.stop()
        print("\nChaos drill report", flush=True)
        print("\n".join(self.report))
        print(f"  total {time.monotonic() - started:.0f} s", flush=True)
        if self.failures:
            kept = ROOT / "var" / "chaos" / time.strftime("%Y%m%dT%H%M%S")
            kept.mkdir(parents=True, exist_ok=True)
            for log in self.base.glob("*.log"):
                shutil.copy(log, kept / log.name)
            print(f"  logs of web and workers kept in {kept}", flush=True)
            return 1
        return 0

    def tear_down(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill(process)
        self.receiver.close()
        self.redis.stop()
        self.postgres.stop()
        self.store.stop()


def main() -> int:
    stack.ensure_packages()
    base = Path(tempfile.mkdtemp(prefix="collaboratory-chaos-"))
    base.chmod(0o755)
    drill = Drill(base)
    try:
        return drill.run()
    finally:
        drill.tear_down()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
