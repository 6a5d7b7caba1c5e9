"""scripts/stack.py leaves nothing running however it is stopped: Ctrl-C, or SIGTERM from a
process manager, even when it was started in the background."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_the_stack_stops_its_servers_and_removes_its_files(how):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    script = 'echo "$STACK_TMP"; echo "$STACK_PG_DATA"; exec sleep 120'
    stack = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "stack.py"), "test", "--", "bash", "-c", script],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        # As `make run &` does: in the background, where SIGINT starts out ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        base = Path(stack.stdout.readline().strip())
        pg_data = Path(stack.stdout.readline().strip())
        postmaster = int((pg_data / "postmaster.pid").read_text().split()[0])
        assert base.is_dir() and _alive(postmaster)
        stack.send_signal(how)
        stack.wait(timeout=60)
    finally:
        if stack.poll() is None:
            stack.kill()
    deadline = time.monotonic() + 20
    while _alive(postmaster) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(postmaster), "PostgreSQL was left running"
    assert not base.exists(), "the throwaway data directory was left behind"
