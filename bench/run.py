"""`make bench`: run every bench/bench_*.py against a throwaway PostgreSQL; print one table.

Usage: python bench/run.py [NAME ...]   (names without the bench_ prefix select modules)
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "collaboratory.settings_test")


def main(selected: list[str]) -> int:
    import django
    from django.test.utils import setup_databases, teardown_databases

    django.setup()
    from bench.harness import Result

    modules = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    if selected:
        modules = [m for m in modules if m.removeprefix("bench_") in selected or m in selected]
    old_config = setup_databases(verbosity=0, interactive=False)
    results: list[Result] = []
    failed = False
    try:
        for name in modules:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            try:
                module = importlib.import_module(f"bench.{name}")
                produced = module.run()
                results.extend(produced)
                if any(r.passed is False for r in produced):
                    failed = True
                    print(f"  {name} missed a required goal", file=sys.stderr)
            except Exception as exc:  # one broken benchmark must not hide the others
                failed = True
                print(f"  {name} failed: {exc!r}", file=sys.stderr)
    finally:
        teardown_databases(old_config, verbosity=0)
    print_table(results)
    return 1 if failed else 0


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{text} {unit}".strip()


def print_table(results) -> None:
    headers = ["measure", "ours", "baseline", "ratio", "goal"]
    rows = [
        [
            r.measure,
            _fmt(r.ours, r.unit),
            _fmt(r.baseline, r.unit),
            "—" if r.ratio is None else f"{r.ratio:.2f}x",
            r.goal + ("  FAILED" if r.passed is False else ""),
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
    sys.exit(main(sys.argv[1:]))
