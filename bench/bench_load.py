"""Load test: mixed browser and API traffic against gunicorn + PostgreSQL at 10,000 agreements.

gunicorn is started as docker-compose.yml starts it (3 sync workers, --timeout=60, production
settings: DEBUG off, secure cookies, requests arriving as HTTPS from a proxy) on a free
loopback port, over the throwaway PostgreSQL of `make bench`. A small asyncio client
(bench/loadclient.py) keeps 1, 2, 4, ... virtual users busy for STEP_SECONDS each:

- browser pages with a logged-in session: dashboard, agreement list (a district director who
  sees ~1/30 of the agreements, and a facilitator who sees all 10,000), agreement detail,
  search, consent dashboard;
- partner API calls with a bearer token: agreement list, detail, ODRL terms.

Per step: throughput, p50/p95/p99 latency, error rate, 5xx count (the whole curve is printed).
The knee is the last step whose throughput still rose by more than KNEE_GAIN over the step
before: beyond it, more clients only queue. Baseline: /healthz (one database and one Redis
round trip, no template) at the knee's concurrency in the same run. The benchmark fails if
any request failed with 5xx at or below the knee.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection, transaction
from django.utils import timezone

from bench.harness import Result, scaled
from bench.loadclient import Call, Step, request, run_step

ROOT = Path(__file__).resolve().parent.parent
ORGANISATIONS = scaled(200, 9)
AGREEMENTS = scaled(10_000, 120)
TRIOS = scaled(400, 12)
WORKERS = scaled(3, 1)  # as docker-compose.yml's web service
CONCURRENCY = scaled((1, 2, 4, 8, 16, 32, 64), (1, 2))
STEP_SECONDS = scaled(float(os.environ.get("BENCH_LOAD_STEP_SECONDS", "10")), 1.0)
BASELINE_SECONDS = scaled(6.0, 1.0)
API_PAGE_SIZE = 50
KNEE_GAIN = 0.10
STOP_P95_SECONDS = 10.0  # latency has exploded: no point loading further
STOP_ERROR_RATE = 0.05
KNEE_P95_GOAL_MS = 1000.0
PASSWORD = secrets.token_urlsafe(16)  # the two bench users log in through the form
LOCKED = ("signing", "active", "expired")
SEARCH_WORDS = ["data", "breach", "security", "student", "consent", "publication", "bench"]


@dataclass
class World:
    director: str
    facilitator: str
    token: str
    own_ids: list[str]  # agreements the district (director, token) is a party to
    all_ids: list[str]
    own_pages: int
    all_pages: int
    api_pages: int  # pages of API_PAGE_SIZE the API list requests are spread over


def _build_world() -> World:
    """10,000 agreements on the demo's standard template across 400 trios, bulk-inserted."""
    from agreements.demo import PLACEHOLDERS, seed_templates
    from agreements.models import (
        Agreement,
        Approval,
        ClauseOverride,
        DataElement,
        Identifiability,
        Signature,
    )
    from agreements.web.views import AGREEMENTS_PER_PAGE
    from partners.api_auth import api_token_issue
    from partners.models import Collaboratory, Organisation, Trio, TrioMember
    from partners.services import membership_grant

    rng = random.Random(12)
    password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    users = get_user_model().objects
    director = users.create(username="load-director", password=password)
    facilitator = users.create(username="load-facilitator", password=password)
    with transaction.atomic():
        collaboratory = Collaboratory.objects.create(
            name="Bench load", slug="bench-load", code="BLOAD"
        )
        collaboratory.staff.add(facilitator)
        version = seed_templates(collaboratory)[2]
        clause_keys = list(version.clauses.values_list("key", flat=True))
        kinds = ["research", "district", "developer"]
        organisations = Organisation.objects.bulk_create(
            [
                Organisation(name=f"Load org {n:03d}", slug=f"load-org-{n:03d}", kind=kinds[n % 3])
                for n in range(ORGANISATIONS)
            ]
        )
        by_kind = {k: [o for o in organisations if o.kind == k] for k in kinds}
        trios = Trio.objects.bulk_create(
            [
                Trio(collaboratory=collaboratory, name=f"Load trio {n:04d}", slug=f"load-{n:04d}")
                for n in range(TRIOS)
            ]
        )
        members = [
            TrioMember(trio=trio, organisation=rng.choice(by_kind[kind]), role=kind)
            for trio in trios
            for kind in kinds
        ]
        TrioMember.objects.bulk_create(members)  # the 3-member trigger checks at commit
        parties: dict[int, dict[str, int]] = {}
        for m in members:
            parties.setdefault(m.trio_id, {})[m.role] = m.organisation_id
        now = timezone.now()
        today = timezone.localdate()
        statuses = ["draft", "negotiating", "in_review", "signing", "active", "expired"]
        final = [rng.choice(statuses) for _ in range(AGREEMENTS)]
        # PostgreSQL refuses new data elements of a signed text: locked statuses come last.
        agreements = Agreement.objects.bulk_create(
            [
                Agreement(
                    id=uuid.UUID(int=rng.getrandbits(128)),
                    reference=f"BLOAD-{n:05d}",
                    trio=trios[n % TRIOS],
                    template_version=version,
                    title=f"Load study {n:05d} of classroom data",
                    purpose="Measure how students use the curriculum and what it does for "
                    "their learning, with data shared under the standard agreement.",
                    sharing_mode=rng.choice(["analysis", "operations"]),
                    start_date=today - dt.timedelta(days=n % 400),
                    expires_on=today + dt.timedelta(days=30 + n % 700),
                    breach_notice_hours=72,
                    retention_days=365,
                    placeholder_values=PLACEHOLDERS,
                    status=final[n] if final[n] not in LOCKED else "in_review",
                    status_changed_at=now - dt.timedelta(minutes=n),
                )
                for n in range(AGREEMENTS)
            ],
            batch_size=2000,
        )
        # The district in the most trios: its director and its API token load the system.
        counts: dict[int, int] = {}
        for m in members:
            if m.role == "district":
                counts[m.organisation_id] = counts.get(m.organisation_id, 0) + 1
        target_id = max(counts, key=counts.__getitem__)
        target = next(o for o in organisations if o.pk == target_id)
        membership_grant(user=director, organisation=target, role="director")
        own_trios = {m.trio_id for m in members if m.organisation_id == target_id}
        own = [a for a in agreements if a.trio_id in own_trios]
        elements, overrides, approvals, signatures = [], [], [], []
        final_of = {a.pk: f for a, f in zip(agreements, final, strict=True)}
        for agreement in own:
            status = final_of[agreement.pk]
            trio_parties = parties[agreement.trio_id]
            for position, (name, source) in enumerate(
                [("Assessment scale scores", "district"), ("Platform usage logs", "developer")]
            ):
                elements.append(
                    DataElement(
                        agreement=agreement,
                        name=name,
                        source_id=trio_parties[source],
                        recipient_id=trio_parties["research"],
                        identifiability=Identifiability.DEIDENTIFIED,
                        position=position,
                    )
                )
            if status == "negotiating":
                overrides.append(
                    ClauseOverride(
                        agreement=agreement,
                        organisation_id=trio_parties["research"],
                        kind="replace",
                        clause_key=rng.choice(clause_keys),
                        body="The parties shall review any publication 30 days before "
                        "submission; reviewers may not require changes to findings.",
                        rationale="Our IRB requires that partners cannot veto findings.",
                    )
                )
            if status in LOCKED:
                for role, organisation_id in trio_parties.items():
                    approvals.append(
                        Approval(
                            agreement=agreement,
                            organisation_id=organisation_id,
                            user=director,
                            text_hash="0" * 64,
                        )
                    )
                    if status != "signing" or role == "research":
                        signatures.append(
                            Signature(
                                agreement=agreement,
                                organisation_id=organisation_id,
                                user=director,
                                typed_name="Load Bench",
                                intent_statement="I sign.",
                                text_hash="0" * 64,
                            )
                        )
        DataElement.objects.bulk_create(elements, batch_size=2000)
        ClauseOverride.objects.bulk_create(overrides, batch_size=2000)
        for status in LOCKED:
            ids = [pk for pk, f in final_of.items() if f == status]
            Agreement.objects.filter(pk__in=ids).update(status=status)
        Approval.objects.bulk_create(approvals, batch_size=2000)
        Signature.objects.bulk_create(signatures, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    _, token = api_token_issue(organisation=target, name="load bench")
    return World(
        director=director.username,
        facilitator=facilitator.username,
        token=token,
        own_ids=[str(a.pk) for a in own],
        all_ids=[str(a.pk) for a in agreements],
        own_pages=max(1, -(-len(own) // AGREEMENTS_PER_PAGE)),
        all_pages=max(1, -(-AGREEMENTS // AGREEMENTS_PER_PAGE)),
        api_pages=max(1, min(4, -(-len(own) // API_PAGE_SIZE))),
    )


# --- gunicorn ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _start_gunicorn(port: int, log) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings_load",
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_PROXY_SSL_HEADER": "true",  # as behind the production proxy
        "SECURE_SSL_REDIRECT": "true",
        "SESSION_COOKIE_SECURE": "true",
        "CSRF_COOKIE_SECURE": "true",
        "DATABASE_URL": _database_url(),
        # One token carries all API traffic here; the limit is still counted in Redis.
        "API_RATE_LIMIT": "100000000/minute",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "collaboratory.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={WORKERS}",
        "--timeout=60",
        f"--access-logfile={log.name}",
    ]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


PROXY = {"X-Forwarded-Proto": "https"}


async def _wait_ready(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while True:
        response = await request(port, "/healthz", headers=PROXY, timeout=10)
        if response.status == 200:
            return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not become healthy ({response.status})")
        await asyncio.sleep(0.3)


def _cookies(response) -> dict[str, str]:
    jar = {}
    for value in response.header_values("Set-Cookie"):
        name, _, rest = value.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return jar


async def _login(port: int, username: str) -> str:
    """Log in through the real form; return the Cookie header of the session."""
    page = await request(port, "/login/", headers=PROXY)
    assert page.status == 200, f"GET /login/ answered {page.status}"
    jar = _cookies(page)
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    assert found and "csrftoken" in jar, "no CSRF token on the login page"
    origin = f"https://127.0.0.1:{port}"
    body = urllib.parse.urlencode(
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": found[1].decode()}
    ).encode()
    answer = await request(
        port,
        "/login/",
        method="POST",
        body=body,
        headers={
            **PROXY,
            "Cookie": f"csrftoken={jar['csrftoken']}",
            "Origin": origin,
            "Referer": f"{origin}/login/",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    jar |= _cookies(answer)
    assert answer.status == 302 and "sessionid" in jar, f"login as {username}: {answer.status}"
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _mix(world: World, director_cookie: str, facilitator_cookie: str) -> list[Call]:
    def page(cookie: str, path_of):
        return lambda rng: (path_of(rng), {**PROXY, "Cookie": cookie})

    def api(path_of):
        return lambda rng: (
            path_of(rng),
            {**PROXY, "Authorization": f"Bearer {world.token}", "Accept": "application/json"},
        )

    def own(rng):
        return rng.choice(world.own_ids)

    d, f = director_cookie, facilitator_cookie
    return [
        Call("page: dashboard", 8, page(d, lambda r: "/")),
        Call(
            "page: agreement list",
            10,
            page(d, lambda r: f"/agreements/?page={r.randint(1, world.own_pages)}"),
        ),
        Call("page: agreement detail", 12, page(d, lambda r: f"/agreements/{own(r)}/")),
        Call("page: search", 6, page(d, lambda r: f"/search/?q={r.choice(SEARCH_WORDS)}")),
        Call("page: consent", 6, page(d, lambda r: f"/agreements/{own(r)}/consent/")),
        Call(
            "page: agreement list, facilitator (all)",
            4,
            page(f, lambda r: f"/agreements/?page={r.randint(1, world.all_pages)}"),
        ),
        Call(
            "page: agreement detail, facilitator",
            2,
            page(f, lambda r: f"/agreements/{r.choice(world.all_ids)}/"),
        ),
        Call(
            "page: search, facilitator (all)",
            2,
            page(f, lambda r: f"/search/?q={r.choice(SEARCH_WORDS)}"),
        ),
        Call(
            "api: agreement list",
            15,
            api(
                lambda r: (
                    f"/api/v1/agreements/?page_size={API_PAGE_SIZE}"
                    f"&page={r.randint(1, world.api_pages)}"
                )
            ),
        ),
        Call("api: agreement detail", 15, api(lambda r: f"/api/v1/agreements/{own(r)}/")),
        Call("api: terms", 10, api(lambda r: f"/api/v1/agreements/{own(r)}/terms")),
    ]


def _knee(steps: list[Step]) -> Step:
    knee = steps[0]
    for previous, step in zip(steps, steps[1:], strict=False):
        if step.throughput > previous.throughput * (1 + KNEE_GAIN):
            knee = step
        else:
            break
    return knee


def _print_curve(steps: list[Step], knee: Step, baseline: Step) -> None:
    print(
        f"\nLoad curve: gunicorn {WORKERS} sync workers, {AGREEMENTS:,} agreements, "
        f"{STEP_SECONDS:.0f} s per step, {os.cpu_count()} cores"
    )
    header = f"{'clients':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
    header += f"{'requests':>8} {'errors':>7} {'5xx':>4}"
    print(header)
    for s in steps:
        mark = "  <- knee" if s is knee else ""
        print(
            f"{s.concurrency:>7} {s.throughput:>7.1f} {s.p(0.50):>8.0f} {s.p(0.95):>8.0f} "
            f"{s.p(0.99):>8.0f} {s.count:>8} {s.error_rate:>6.1%} {s.server_errors:>4}{mark}"
        )
    print(
        f"baseline /healthz at {baseline.concurrency} clients: {baseline.throughput:.1f} req/s, "
        f"p50 {baseline.p(0.5):.0f} ms, p95 {baseline.p(0.95):.0f} ms"
    )
    for step in {steps[0].concurrency: steps[0], knee.concurrency: knee}.values():
        print(f"\nAt {step.concurrency} client(s), per request kind:")
        for name, (n, median, p95) in step.per_call().items():
            print(f"  {name:<42} {n:>5}  median {median:>6.0f} ms  p95 {p95:>6.0f} ms")
    for s in steps:
        for line in s.unexpected:
            print(f"  unexpected at {s.concurrency} clients: {line}")
    print(flush=True)


async def _drive(port: int, world: World) -> tuple[list[Step], Step, Step]:
    director = await _login(port, world.director)
    facilitator = await _login(port, world.facilitator)
    mix = _mix(world, director, facilitator)
    rng = random.Random(1)
    for call in mix:  # every kind answers before any load
        path, headers = call.make(rng)
        response = await request(port, path, headers=headers)
        assert response.status in call.ok, f"{call.name} {path}: {response.status}"
    steps: list[Step] = []
    for concurrency in CONCURRENCY:
        step = await run_step(port, mix, concurrency=concurrency, seconds=STEP_SECONDS)
        steps.append(step)
        print(
            f"  {concurrency:>3} clients: {step.throughput:6.1f} req/s, "
            f"p95 {step.p(0.95):6.0f} ms, errors {step.error_rate:.1%}",
            file=sys.stderr,
            flush=True,
        )
        if step.p(0.95) > STOP_P95_SECONDS * 1000 or step.error_rate > STOP_ERROR_RATE:
            break
    knee = _knee(steps)
    health = [Call("healthz", 1, lambda r: ("/healthz", PROXY))]
    baseline = await run_step(port, health, concurrency=knee.concurrency, seconds=BASELINE_SECONDS)
    return steps, knee, baseline


def run() -> list[Result]:
    started = time.perf_counter()
    world = _build_world()
    print(
        f"  built in {time.perf_counter() - started:.1f} s "
        f"({len(world.own_ids)} agreements visible to the district)",
        file=sys.stderr,
    )
    port = _free_port()
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-load-", suffix=".log")
    process = _start_gunicorn(port, log)
    try:
        asyncio.run(_wait_ready(port, process))
        steps, knee, baseline = asyncio.run(_drive(port, world))
    except Exception:
        log.seek(0)
        tail = log.read().decode(errors="replace")[-3000:]
        print(f"  gunicorn log (tail):\n{tail}", file=sys.stderr)
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    _print_curve(steps, knee, baseline)
    below = [s for s in steps if s.concurrency <= knee.concurrency]
    fivexx_below = sum(s.server_errors for s in below)
    last = steps[-1]
    return [
        Result(
            "load: knee of the curve (mixed pages + API)",
            float(knee.concurrency),
            None,
            "clients",
            f"reported (throughput +<{KNEE_GAIN:.0%} beyond)",
        ),
        Result(
            f"load: throughput at the knee ({knee.concurrency} clients) vs /healthz",
            knee.throughput,
            baseline.throughput,
            "req/s",
            "reported",
        ),
        Result(
            "load: p50 latency at the knee vs /healthz",
            knee.p(0.50),
            baseline.p(0.50),
            "ms",
            "reported",
        ),
        Result(
            "load: p95 latency at the knee vs /healthz",
            knee.p(0.95),
            baseline.p(0.95),
            "ms",
            # Advisory: on a shared 2-core machine latency is mostly other people's load.
            f"< {KNEE_P95_GOAL_MS:,.0f} ms ("
            + ("met" if knee.p(0.95) < KNEE_P95_GOAL_MS else "missed")
            + ", advisory)",
        ),
        Result(
            "load: p99 latency at the knee vs /healthz",
            knee.p(0.99),
            baseline.p(0.99),
            "ms",
            "reported",
        ),
        Result(
            f"load: 5xx at or below the knee ({sum(s.count for s in below):,} requests)",
            float(fivexx_below),
            None,
            "",
            "0",
            passed=fivexx_below == 0,
        ),
        Result(
            f"load: error rate at {last.concurrency} clients (highest step)",
            last.error_rate * 100,
            None,
            "%",
            "reported",
        ),
    ]
