"""`make manage ARGS="..."` (scripts/stack.py manage): the README's manage.py commands run
with the environment `make run` gives its processes, not "SECRET_KEY is required"; against
var/'s servers when they are up, else started for the duration and stopped again; and with
no local database yet it says what to do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
STACK = ROOT / "scripts" / "stack.py"
sys.path.insert(0, str(STACK.parent))
import stack  # noqa: E402 - scripts/stack.py

# What a newcomer's shell has: none of the settings' required variables.
UNSET = {"SECRET_KEY", "SECRET_KEY_FILE", "DEBUG", "DJANGO_SETTINGS_MODULE", "ALLOWED_HOSTS"}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in UNSET}
    return subprocess.run(
        [sys.executable, str(STACK), "manage", "--", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


def assert_configured(result: subprocess.CompletedProcess[str]) -> None:
    output = result.stdout + result.stderr
    assert "is required here but is not set" not in output, output
    assert result.returncode == 0, output


def test_it_runs_a_command_against_the_servers_of_database_url_and_redis_url(tmp_path):
    # The throwaway servers of `stack.py test`; showmigrations connects to the database.
    result = manage("showmigrations", "audit", STACK_VAR_DIR=str(tmp_path))
    assert_configured(result)
    assert "0001_initial" in result.stdout
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0, "the key is the owner's only"


@pytest.fixture
def var_stack():
    """A `make run` data directory as `make run` leaves it: PostgreSQL created, then stopped.
    Not under tmp_path: as root PostgreSQL runs as the postgres user, who must reach the
    folder, and pytest keeps its own base folder private."""
    var = Path(tempfile.mkdtemp(prefix="collaboratory-manage-"))
    var.chmod(0o755)
    pg_port, redis_port = stack.free_port(), stack.free_port()
    postgres = stack.Postgres(var / "postgres", pg_port, durable=False)
    postgres.start()
    postgres.stop()
    env = {
        "STACK_VAR_DIR": str(var),
        "STACK_PG_PORT": str(pg_port),
        "STACK_REDIS_PORT": str(redis_port),
        "DATABASE_URL": "",
        "REDIS_URL": "",
    }
    yield postgres, env
    postgres.stop()
    shutil.rmtree(var, ignore_errors=True)


def test_it_starts_vars_servers_for_the_duration_when_make_run_is_not_running(var_stack):
    postgres, env = var_stack
    result = manage("showmigrations", "audit", **env)
    assert_configured(result)
    assert "[ ] 0001_initial" in result.stdout  # var's own database: nothing migrated here
    assert not stack.port_open(postgres.port), "PostgreSQL was left running"
    assert not stack.port_open(int(env["STACK_REDIS_PORT"])), "Redis was left running"


def test_it_uses_the_servers_of_a_running_make_run_and_leaves_them_up(var_stack):
    postgres, env = var_stack
    postgres.start()
    redis = stack.Redis(
        Path(env["STACK_VAR_DIR"]) / "redis", int(env["STACK_REDIS_PORT"]), durable=False
    )
    redis.start()
    try:
        result = manage("showmigrations", "audit", **env)
        assert_configured(result)
        assert "using the running PostgreSQL" in result.stderr
        assert "using the running Redis" in result.stderr
        assert postgres.running() and stack.port_open(redis.port)
    finally:
        redis.stop()


def test_without_a_local_database_it_says_to_run_make_run_once(tmp_path):
    env = {"STACK_VAR_DIR": str(tmp_path), "DATABASE_URL": "", "REDIS_URL": ""}
    result = manage("verify_audit", **env)
    assert result.returncode != 0
    assert "run `make run` once" in result.stderr
    assert not (tmp_path / "postgres").exists()
