"""`make bench`: run every bench/bench_*.py against a throwaway PostgreSQL; print one table.

Usage: python bench/run.py [--smoke] [NAME ...]   (names without the bench_ prefix select
modules; --smoke, as `make test` runs it: tiny sizes, one sample, any exception fails, no goal
is enforced; see bench/harness.py)
"""

from __future__ import annotations

import importlib
import os
import resource
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "collaboratory.settings_test")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # a benchmark's output is its table
# The in-process benchmarks time what it costs to derive each page and API answer, so none is
# kept (collaboratory/answers.py); the load test's gunicorn keeps them as production does,
# and also measures a server that keeps none.
os.environ.setdefault("RESPONSE_CACHE_SECONDS", "0")


def main(selected: list[str]) -> int:
    import django
    from django.core.management import call_command
    from django.test.utils import setup_databases, teardown_databases

    django.setup()
    from bench.harness import SMOKE, Result

    modules = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    if selected:
        unknown = set(selected) - {*modules, *(m.removeprefix("bench_") for m in modules)}
        if unknown:
            print(f"no such benchmark: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        modules = [m for m in modules if m.removeprefix("bench_") in selected or m in selected]
    # No serialized copy of the database: nothing here restores one.
    old_config = setup_databases(verbosity=0, interactive=False, serialized_aliases=set())
    results: list[Result] = []
    failed = False
    try:
        for index, name in enumerate(modules):
            print(f"running {name} ...", file=sys.stderr, flush=True)
            started, cpu = time.perf_counter(), _cpu_seconds()
            try:
                if index:  # each benchmark starts from the empty database, whatever ran before
                    call_command("flush", interactive=False, verbosity=0)
                module = importlib.import_module(f"bench.{name}")
                produced = module.run()
                results.extend(produced)
                if not SMOKE and any(r.passed is False for r in produced):
                    failed = True
                    print(f"  {name} missed a required goal", file=sys.stderr)
            except Exception:  # one broken benchmark must not hide the others
                failed = True
                print(f"  {name} failed:\n{traceback.format_exc()}", file=sys.stderr)
            wall = time.perf_counter() - started
            own, children = (now - then for now, then in zip(_cpu_seconds(), cpu, strict=True))
            print(
                f"  {name}: {wall:.1f} s (CPU: {own:.1f} s here, {children:.1f} s in subprocesses)",
                file=sys.stderr,
                flush=True,
            )
    finally:
        teardown_databases(old_config, verbosity=0)
    if SMOKE:
        print("smoke mode: tiny sizes, one sample each; figures are not measurements")
    print_table(results, enforced=not SMOKE)
    return 1 if failed else 0


def _cpu_seconds() -> tuple[float, float]:
    """CPU time of this process, and of the subprocesses it has waited for (gunicorn,
    Chromium, memory probes): a loaded machine inflates these far less than wall time."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{text} {unit}".strip()


def print_table(results, *, enforced: bool = True) -> None:
    headers = ["measure", "ours", "baseline", "ratio", "goal"]
    rows = [
        [
            r.measure,
            _fmt(r.ours, r.unit),
            _fmt(r.baseline, r.unit),
            "—" if r.ratio is None else f"{r.ratio:.2f}x",
            r.goal + ("" if r.passed is not False else "  FAILED" if enforced else "  (missed)"),
        ]
        for r in results
    ]
    widths = [
        max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
        for i, h in enumerate(headers)
    ]
    line = " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if "--smoke" in arguments:
        arguments.remove("--smoke")
        os.environ["BENCH_SMOKE"] = "1"  # before bench.harness is imported
    sys.exit(main(arguments))
