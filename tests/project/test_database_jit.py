"""The production settings connect to PostgreSQL with JIT compilation off.

The load test (bench/bench_load.py) found PostgreSQL compiling the dashboard's "what needs me"
query for ~1 s, because its correlated subqueries have a high *estimated* cost, while running
it took 25 ms.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOW_JIT = (
    "import django; django.setup(); from django.db import connection; "
    "cursor = connection.cursor(); cursor.execute('SHOW jit'); print(cursor.fetchone()[0])"
)


def test_production_connections_run_without_jit():
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "SESSION_"))},
        "DJANGO_SETTINGS_MODULE": "collaboratory.settings",
        "DEBUG": "false",
        "SECRET_KEY": "s" * 64,
        "ALLOWED_HOSTS": "collaboratory.example.org",
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, "-c", SHOW_JIT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "off"
