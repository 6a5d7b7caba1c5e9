"""Load test: mixed browser and API traffic against gunicorn + PostgreSQL at 10,000 agreements,
then the same world grown to 100,000 (goal: within 1.3x of the 10,000 figures).

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
round trip, no template) at the knee's concurrency in the same run.

The curve's server keeps answers as production does (collaboratory/answers.py). What that
saves and costs is measured beside it: at 10,000 agreements, one step at the knee's
concurrency while a sign-in is written every second (each commit ends every kept answer);
at both sizes, steps at 4 and 8 clients against a second gunicorn that keeps none
(RESPONSE_CACHE_SECONDS=0). The sizes are compared on that server: kept answers pay off
where requests repeat, and the district sees ten times the agreements at 100,000, so the
curve's own peaks compare how often the mix repeats itself as much as how the code scales.

The benchmark fails if any request failed with 5xx at or below the knee (or in the steps
beside it), or if the peak throughput with every answer derived anew at 100,000 agreements
falls below 1/1.3 of that at 10,000.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from bench.harness import SMOKE, Result, database_url, free_port, scaled, stop
from bench.loadclient import Call, Step, request, run_step
from bench.world import API_PAGE_SIZE, PASSWORD, World

ROOT = Path(__file__).resolve().parent.parent
ORGANISATIONS = scaled(200, 9)
SIZES = scaled((10_000, 100_000), (120, 240))
TRIOS = scaled(400, 12)
WORKERS = scaled(3, 1)  # as docker-compose.yml's web service
CONCURRENCY = scaled((1, 2, 4, 8, 16, 32, 64), (1, 2))
STEP_SECONDS = scaled(float(os.environ.get("BENCH_LOAD_STEP_SECONDS", "10")), 1.0)
BASELINE_SECONDS = scaled(6.0, 1.0)
KNEE_GAIN = 0.10
NEVER_KEPT_CONCURRENCY = scaled((4, 8), (2,))
WRITE_EVERY = 1.0  # seconds between the committed writes of the "with writes" step
STOP_P95_SECONDS = 10.0  # latency has exploded: no point loading further
STOP_ERROR_RATE = 0.05
KNEE_P95_GOAL_MS = 100.0
THROUGHPUT_GOAL = 0.4  # of /healthz at the same concurrency
GROWTH_GOAL = 1.3  # 100,000 agreements against 10,000
SEARCH_WORDS = ["data", "breach", "security", "student", "consent", "publication", "bench"]


# --- gunicorn ------------------------------------------------------------------------------


def _start_gunicorn(port: int, log, **extra_env: str) -> subprocess.Popen:
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
        "DATABASE_URL": database_url(),
        # One token carries all API traffic here; the limit is still counted in Redis.
        "API_RATE_LIMIT": "100000000/minute",
        "LOG_LEVEL": "WARNING",
    }
    # Answers kept as production keeps them, by default (bench/run.py turns them off for the
    # in-process benchmarks).
    env.pop("RESPONSE_CACHE_SECONDS", None)
    env.update(extra_env)
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


def _mix(
    world: World,
    director_cookie: str,
    facilitator_cookie: str,
    positions: tuple[list[str], list[str]],
) -> list[Call]:
    # List pages anywhere in the list, as its "Older" links give (keyset positions).
    own_positions, all_positions = positions

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
            page(d, lambda r: f"/agreements/?after={r.choice(own_positions)}"),
        ),
        Call("page: agreement detail", 12, page(d, lambda r: f"/agreements/{own(r)}/")),
        Call("page: search", 6, page(d, lambda r: f"/search/?q={r.choice(SEARCH_WORDS)}")),
        Call("page: consent", 6, page(d, lambda r: f"/agreements/{own(r)}/consent/")),
        Call(
            "page: agreement list, facilitator (all)",
            4,
            page(f, lambda r: f"/agreements/?after={r.choice(all_positions)}"),
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


def _print_curve(curve: Curve) -> None:
    steps, knee, baseline = curve.steps, curve.knee, curve.baseline
    print(
        f"\nLoad curve: gunicorn {WORKERS} sync workers, {curve.agreements:,} agreements, "
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
    variants = [
        (f"a committed write every {WRITE_EVERY:.0f} s", curve.with_writes),
        *(("no answer kept (RESPONSE_CACHE_SECONDS=0)", step) for step in curve.never_kept),
    ]
    for label, step in variants:
        if step is not None:
            print(
                f"at {step.concurrency} clients, {label}: {step.throughput:.1f} req/s, "
                f"p50 {step.p(0.5):.0f} ms, p95 {step.p(0.95):.0f} ms, 5xx {step.server_errors}"
            )
    for s in [*steps, *(step for _, step in variants if step is not None)]:
        for line in s.unexpected:
            print(f"  unexpected at {s.concurrency} clients: {line}")
    print(flush=True)


async def _drive(
    port: int, world: World, positions: tuple[list[str], list[str]]
) -> tuple[list[Step], Step, Step]:
    director = await _login(port, world.director)
    facilitator = await _login(port, world.facilitator)
    mix = _mix(world, director, facilitator, positions)
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


@dataclass
class Curve:
    agreements: int
    steps: list[Step]
    knee: Step
    baseline: Step
    # At the knee's concurrency (10,000 agreements only): a committed write every WRITE_EVERY
    # seconds during the step.
    with_writes: Step | None = None
    # At NEVER_KEPT_CONCURRENCY, against a server that keeps no answer: every request
    # derived anew. Its peak is what the two sizes compare.
    never_kept: list[Step] = field(default_factory=list)

    @property
    def never_kept_peak(self) -> Step:
        return max(self.never_kept, key=lambda s: s.throughput)

    @property
    def peak(self) -> Step:
        """The step with the most requests per second: the capacity the two sizes compare.
        Where the knee lands (2 clients or 4) moves with load that comes and goes on a shared
        machine; the height of the curve much less so."""
        return max(self.steps, key=lambda s: s.throughput)

    @property
    def fivexx_below_knee(self) -> tuple[int, int]:
        below = [s for s in self.steps if s.concurrency <= self.knee.concurrency]
        return sum(s.server_errors for s in below), sum(s.count for s in below)


async def _with_writes(port: int, world: World, positions, concurrency: int) -> Step:
    """The mix at ``concurrency`` while another client commits a change every WRITE_EVERY
    seconds (someone's last sign-in written): each write is a new database snapshot,
    so every answer kept before it is derived anew (collaboratory/answers.py)."""
    director = await _login(port, world.director)
    facilitator = await _login(port, world.facilitator)
    mix = _mix(world, director, facilitator, positions)
    done = asyncio.Event()

    def write() -> None:
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.utils import timezone

        try:  # as a sign-in writes it
            users = get_user_model().objects.filter(username=world.facilitator)
            users.update(last_login=timezone.now())
        finally:
            connection.close()

    async def writer() -> None:
        while not done.is_set():
            await asyncio.to_thread(write)
            try:
                await asyncio.wait_for(done.wait(), WRITE_EVERY)
            except TimeoutError:
                pass

    task = asyncio.create_task(writer())
    try:
        return await run_step(port, mix, concurrency=concurrency, seconds=STEP_SECONDS, seed=3)
    finally:
        done.set()
        await task


@contextlib.contextmanager
def _gunicorn(**extra_env: str) -> Iterator[int]:
    """A gunicorn started as _start_gunicorn starts it, healthy, on the port yielded; its
    log's tail is printed if the block fails, and it is stopped after."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-load-", suffix=".log")
    process = _start_gunicorn(port, log, **extra_env)
    try:
        asyncio.run(_wait_ready(port, process))
        yield port
    except Exception:
        log.seek(0)
        tail = log.read().decode(errors="replace")[-3000:]
        print(f"  gunicorn log (tail):\n{tail}", file=sys.stderr)
        raise
    finally:
        stop(process)


def _never_kept(world: World, positions) -> list[Step]:
    """The mix at each of NEVER_KEPT_CONCURRENCY against a gunicorn that keeps no answer
    (RESPONSE_CACHE_SECONDS=0): what every request costs when it is derived anew."""

    async def drive(port: int) -> list[Step]:
        director = await _login(port, world.director)
        facilitator = await _login(port, world.facilitator)
        mix = _mix(world, director, facilitator, positions)
        # As the curve's first steps warmed the other server's workers.
        first = NEVER_KEPT_CONCURRENCY[0]
        await run_step(port, mix, concurrency=first, seconds=STEP_SECONDS, seed=5)
        return [
            await run_step(port, mix, concurrency=n, seconds=STEP_SECONDS)
            for n in NEVER_KEPT_CONCURRENCY
        ]

    with _gunicorn(RESPONSE_CACHE_SECONDS="0") as port:
        return asyncio.run(drive(port))


def _curves(world: World) -> list[Curve]:
    """The load curve at each size in SIZES, growing the same world in between, against one
    gunicorn (its workers keep their connections and caches, as in production)."""
    curves: list[Curve] = []
    with _gunicorn() as port:
        for size in SIZES:
            if size > len(world.all_ids):
                started = time.perf_counter()
                world.grow(size)
                print(
                    f"  grown to {size:,} in {time.perf_counter() - started:.1f} s "
                    f"({len(world.own_ids)} agreements visible to the district)",
                    file=sys.stderr,
                )
            positions = (world.list_positions(own=True), world.list_positions(own=False))
            steps, knee, baseline = asyncio.run(_drive(port, world, positions))
            curve = Curve(size, steps, knee, baseline)
            if not curves:  # at the first size only
                curve.with_writes = asyncio.run(
                    _with_writes(port, world, positions, knee.concurrency)
                )
            curve.never_kept = _never_kept(world, positions)
            _print_curve(curve)
            curves.append(curve)
    return curves


def run() -> list[Result]:
    started = time.perf_counter()
    world = World.build(agreements=SIZES[0], trios=TRIOS, organisations=ORGANISATIONS)
    print(
        f"  built in {time.perf_counter() - started:.1f} s "
        f"({len(world.own_ids)} agreements visible to the district)",
        file=sys.stderr,
    )
    small, large = _curves(world)
    knee, baseline = small.knee, small.baseline
    ratio = knee.throughput / baseline.throughput if baseline.throughput else 0.0
    results = [
        Result(
            f"load at {small.agreements:,}: knee of the curve (mixed pages + API)",
            float(knee.concurrency),
            None,
            "clients",
            f"reported (throughput +<{KNEE_GAIN:.0%} beyond)",
        ),
        Result(
            f"load at {small.agreements:,}: throughput at the knee ({knee.concurrency} clients) "
            "vs /healthz",
            knee.throughput,
            baseline.throughput,
            "req/s",
            f">= {THROUGHPUT_GOAL}x ({'met' if ratio >= THROUGHPUT_GOAL else 'missed'}, "
            "advisory: shared machine)",
        ),
        Result(
            f"load at {small.agreements:,}: p50 latency at the knee vs /healthz",
            knee.p(0.50),
            baseline.p(0.50),
            "ms",
            "reported",
        ),
        Result(
            f"load at {small.agreements:,}: p95 latency at the knee vs /healthz",
            knee.p(0.95),
            baseline.p(0.95),
            "ms",
            f"<= {KNEE_P95_GOAL_MS:,.0f} ms ("
            + ("met" if knee.p(0.95) <= KNEE_P95_GOAL_MS else "missed")
            + ", advisory: shared machine)",
        ),
        Result(
            f"load at {small.agreements:,}: p99 latency at the knee vs /healthz",
            knee.p(0.99),
            baseline.p(0.99),
            "ms",
            "reported",
        ),
        Result(
            f"load at {large.agreements:,}, every answer derived anew: peak throughput "
            f"({large.never_kept_peak.concurrency} clients) vs at {small.agreements:,} "
            f"({small.never_kept_peak.concurrency} clients)",
            large.never_kept_peak.throughput,
            small.never_kept_peak.throughput,
            "req/s",
            f">= {1 / GROWTH_GOAL:.2f}x (within {GROWTH_GOAL}x)",
            passed=None
            if SMOKE
            else large.never_kept_peak.throughput * GROWTH_GOAL >= small.never_kept_peak.throughput,
        ),
        Result(
            f"load at {large.agreements:,}, answers kept: peak throughput "
            f"({large.peak.concurrency} clients) vs at {small.agreements:,} "
            f"({small.peak.concurrency} clients)",
            large.peak.throughput,
            small.peak.throughput,
            "req/s",
            "reported (10x the district's agreements: fewer repeats)",
        ),
        Result(
            f"load at {large.agreements:,}: throughput at its knee "
            f"({large.knee.concurrency} clients) vs at {small.agreements:,}",
            large.knee.throughput,
            knee.throughput,
            "req/s",
            f">= {1 / GROWTH_GOAL:.2f}x (advisory: where the knee lands is noisy)",
        ),
        Result(
            f"load at {large.agreements:,}: p95 latency at its knee vs at {small.agreements:,}",
            large.knee.p(0.95),
            knee.p(0.95),
            "ms",
            f"<= {GROWTH_GOAL}x (advisory: shared machine)",
        ),
    ]
    assert small.with_writes is not None
    beside = [(small, f"a committed write every {WRITE_EVERY:.0f} s", small.with_writes)]
    beside += [
        (curve, "no answer kept (every request derived anew)", step)
        for curve in (small, large)
        for step in curve.never_kept
    ]
    for curve, label, step in beside:
        results.append(
            Result(
                f"load at {curve.agreements:,}, {label}: throughput at {step.concurrency} "
                "clients vs /healthz",
                step.throughput,
                curve.baseline.throughput,
                "req/s",
                "reported (what kept answers save, collaboratory/answers.py)",
            )
        )
        results.append(
            Result(
                f"load at {curve.agreements:,}, {label}: 5xx at {step.concurrency} clients "
                f"({step.count:,} requests)",
                float(step.server_errors),
                None,
                "",
                "0",
                passed=step.server_errors == 0,
            )
        )
    for curve in (small, large):
        errors, requests = curve.fivexx_below_knee
        results.append(
            Result(
                f"load at {curve.agreements:,}: 5xx at or below the knee ({requests:,} requests)",
                float(errors),
                None,
                "",
                "0",
                passed=errors == 0,
            )
        )
    return results
