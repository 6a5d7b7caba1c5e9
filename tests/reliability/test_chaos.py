"""The fault drill (scripts/chaos.py) as part of `make test`: it starts its own PostgreSQL,
Redis, gunicorn and Celery workers (never the suite's servers), kills and restarts them
under load, and exits non-zero when anything was lost, done twice, half-written, or did not
recover by itself. Its report is printed with the test's output (pytest -s, or on failure).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.chaos
# Alone (scripts/test-all's serial phase): the drill runs its servers flat out and times how
# they recover; tests on the other core would slow that down.
@pytest.mark.serial
def test_killing_the_worker_and_restarting_redis_and_postgresql_loses_nothing():
    drill = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "chaos.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,  # a slow machine's failing drill still prints its report
    )
    print(drill.stdout)
    report = drill.stdout[drill.stdout.find("Chaos drill report") :]
    assert drill.returncode == 0, report + "\n" + drill.stderr[-5000:]
    assert "[FAIL]" not in report and report.count("[ok]") >= 10
