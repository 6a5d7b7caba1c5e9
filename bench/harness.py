"""What every benchmark under bench/ returns, and small timing helpers.

A benchmark is a module ``bench/bench_<topic>.py`` with ``run() -> list[Result]``. It runs
inside a configured Django with a throwaway PostgreSQL test database (see bench/run.py),
emptied before each benchmark so none depends on what ran before it, and measures our
figure and a baseline *in the same run*, so the ratio means something on a noisy machine.

Smoke mode (``bench/run.py --smoke`` or ``BENCH_SMOKE=1``; `make test` runs it) runs every
benchmark at tiny sizes with one sample per figure: it proves each one still runs end to end
(any exception fails the run) and enforces no goal, since such figures measure nothing.
Benchmarks pick their sizes with ``scaled(full, smoke)``.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

SMOKE = os.environ.get("BENCH_SMOKE", "") not in ("", "0")


def scaled[T](full: T, smoke: T) -> T:
    """``full`` in a real run, ``smoke`` in smoke mode."""
    return smoke if SMOKE else full


@dataclass(frozen=True)
class Result:
    measure: str
    ours: float
    baseline: float | None
    unit: str
    goal: str
    # False when the goal is a hard requirement that was missed: `make bench` then fails.
    passed: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.ours / self.baseline


def timings(fn: Callable[[], object], *, repeat: int = 9, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn`` after ``warmup`` unmeasured calls
    (one call and no warm-up in smoke mode)."""
    if SMOKE:
        repeat, warmup = 1, 0
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def paired_medians_ms(
    ours: Callable[[], object], baseline: Callable[[], object], *, repeat: int = 15
) -> tuple[float, float]:
    """Medians in milliseconds of ``ours`` and ``baseline``, timed in turn (ours, baseline,
    ours, ...) so both see the same machine: for an enforced ratio on a shared machine, where
    load that comes and goes between two separate series would decide the ratio."""
    if SMOKE:
        repeat = 1
    ours(), baseline()  # warm-up
    pairs = []
    for _ in range(repeat):
        start = time.perf_counter()
        ours()
        middle = time.perf_counter()
        baseline()
        pairs.append((middle - start, time.perf_counter() - middle))
    return (
        statistics.median(a for a, _ in pairs) * 1000,
        statistics.median(b for _, b in pairs) * 1000,
    )


def median_ms(fn: Callable[[], object], *, repeat: int = 9, warmup: int = 1) -> float:
    return statistics.median(timings(fn, repeat=repeat, warmup=warmup)) * 1000


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


# --- servers the benchmarks start (gunicorn) -------------------------------------------------


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The URL of the benchmark's test database, for the servers it starts."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def stop(process: subprocess.Popen) -> None:
    """Terminate ``process`` (killed if it is still there after 15 s)."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
