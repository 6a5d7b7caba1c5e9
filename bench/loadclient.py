"""A small asyncio load generator for bench/bench_load.py (standard library only).

HTTP/1.1 over raw asyncio streams, one connection per request (gunicorn's sync workers close
the connection after every response anyway, as they do in production). ``run_step`` keeps
``concurrency`` virtual users busy for a fixed time, each picking requests from a weighted
mix; ``Step`` summarises what came back.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Response:
    status: int  # 0 when no HTTP answer came (refused, reset, timed out)
    headers: list[tuple[str, str]]
    body: bytes
    error: str = ""

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


async def request(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 30.0,
) -> Response:
    """One request to 127.0.0.1:``port``; never raises for network errors or timeouts."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(raw)
            await writer.drain()
            data = await reader.read()
    except TimeoutError:
        return Response(0, [], b"", "timeout")
    except OSError as exc:
        return Response(0, [], b"", type(exc).__name__)
    finally:
        if writer is not None:
            writer.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    head_lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(head_lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        return Response(0, [], data, "malformed response")
    parsed = []
    for line in head_lines[1:]:
        name, _, value = line.partition(":")
        parsed.append((name.strip(), value.strip()))
    if any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in parsed):
        payload = _dechunk(payload)
    return Response(status, parsed, payload)


def _dechunk(data: bytes) -> bytes:
    out, rest = [], data
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2 :]
    return b"".join(out)


@dataclass(frozen=True)
class Call:
    """One kind of request in the mix: ``make(rng)`` gives the path and headers to send."""

    name: str
    weight: int
    make: Callable[[random.Random], tuple[str, dict[str, str]]]
    ok: frozenset[int] = frozenset({200})


@dataclass
class Sample:
    name: str
    status: int
    seconds: float
    error: str


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (0 when empty)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]


@dataclass
class Step:
    concurrency: int
    seconds: float
    samples: list[Sample] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def throughput(self) -> float:
        ok = sum(1 for s in self.samples if not s.error)
        return ok / self.seconds if self.seconds else 0.0

    def latencies(self, name: str | None = None) -> list[float]:
        return sorted(s.seconds for s in self.samples if name is None or s.name == name)

    def p(self, q: float, name: str | None = None) -> float:
        return percentile(self.latencies(name), q) * 1000

    @property
    def errors(self) -> int:
        return sum(1 for s in self.samples if s.error)

    @property
    def error_rate(self) -> float:
        return self.errors / self.count if self.count else 0.0

    @property
    def server_errors(self) -> int:
        return sum(1 for s in self.samples if s.status >= 500)

    def per_call(self) -> dict[str, tuple[int, float, float]]:
        """name -> (requests, median ms, p95 ms)."""
        out = {}
        for name in sorted({s.name for s in self.samples}):
            lat = self.latencies(name)
            out[name] = (len(lat), statistics.median(lat) * 1000, percentile(lat, 0.95) * 1000)
        return out


async def _user(
    port: int,
    mix: Sequence[Call],
    rng: random.Random,
    stop_at: float,
    step: Step,
    timeout: float,
) -> None:
    weights = [c.weight for c in mix]
    while time.perf_counter() < stop_at:
        call = rng.choices(mix, weights)[0]
        path, headers = call.make(rng)
        started = time.perf_counter()
        response = await request(port, path, headers=headers, timeout=timeout)
        finished = time.perf_counter()
        if finished > stop_at:
            break  # only requests completed inside the window count
        error = response.error
        if not error and response.status not in call.ok:
            error = f"HTTP {response.status}"
            if len(step.unexpected) < 5:
                step.unexpected.append(f"{call.name} {path} -> {response.status}")
        step.samples.append(Sample(call.name, response.status, finished - started, error))


async def run_step(
    port: int,
    mix: Sequence[Call],
    *,
    concurrency: int,
    seconds: float,
    seed: int = 0,
    timeout: float = 30.0,
) -> Step:
    """``concurrency`` virtual users for ``seconds``; requests still running at the end are
    awaited (so the next step starts on an idle server) but not counted."""
    step = Step(concurrency, seconds)
    stop_at = time.perf_counter() + seconds
    await asyncio.gather(
        *(
            _user(port, mix, random.Random(seed * 1000 + n), stop_at, step, timeout)
            for n in range(concurrency)
        )
    )
    return step
