#!/usr/bin/env python3
"""Start the services Collaboratory needs, run something against them, stop them.

    stack.py ensure              install missing system packages (as root) or explain
    stack.py run                 `make run`: PostgreSQL + Redis under var/ (kept between runs)
                                 unless DATABASE_URL / REDIS_URL are set; migrate, seed,
                                 serve on 127.0.0.1:8000 with a Celery worker and beat.
    stack.py test -- CMD ...     throwaway PostgreSQL + Redis on free loopback ports, run CMD
                                 with DATABASE_URL / REDIS_URL exported, stop everything
                                 whatever the outcome, exit with CMD's status. Also a local
                                 S3 (moto_server, a dev dependency) with a bucket, exported
                                 as STACK_S3_ENDPOINT_URL / STACK_S3_BUCKET for the tests of
                                 the S3 document storage.
    stack.py manage -- ARGS ...  `make manage ARGS="..."`: `manage.py ARGS` in the environment
                                 `make run` gives its processes, against its servers: those
                                 of a running `make run`, else var/'s started for the
                                 duration (or DATABASE_URL / REDIS_URL when set); exits
                                 with the command's status.

`run` and `manage` keep their servers' data and the development SECRET_KEY under var/
(STACK_VAR_DIR elsewhere, as the tests do), PostgreSQL on STACK_PG_PORT (54329) and Redis on
STACK_REDIS_PORT (63799).

Standard library only, so it runs before and outside the virtualenv as well.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEBIAN_PACKAGES = [
    "postgresql",
    "redis-server",
    "libpango-1.0-0",
    "libpangoft2-1.0-0",
    "libharfbuzz-subset0",
    "fonts-dejavu-core",
    "fonts-liberation",
    "chromium",
    "poppler-utils",
]
APP_ROLE = "collaboratory"
# A login role with no privileges of its own: tests grant it what production's application
# role gets (audit entries: SELECT and INSERT only) and prove PostgreSQL refuses the rest.
RESTRICTED_ROLE = "collaboratory_app"
CREATE_RESTRICTED_ROLE = (
    "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'collaboratory_app') "
    "THEN CREATE ROLE collaboratory_app LOGIN; END IF; END $$"
)


def log(message: str) -> None:
    print(f"[stack] {message}", file=sys.stderr, flush=True)


def is_root() -> bool:
    return os.geteuid() == 0


def pg_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def missing_packages() -> list[str]:
    missing = []
    if pg_bin() is None:
        missing.append("postgresql")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if shutil.which("chromium") is None:
        missing.append("chromium")
    if shutil.which("pdftotext") is None:
        missing.append("poppler-utils")
    if not Path("/usr/share/fonts/truetype/dejavu").exists():
        missing.append("fonts-dejavu-core")
    if not list(Path("/usr/lib").glob("*/libpangoft2-1.0.so.0")):
        missing.extend(["libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0"])
    if not Path("/usr/share/fonts/truetype/liberation").exists():
        missing.append("fonts-liberation")
    return missing


def ensure_packages() -> None:
    missing = missing_packages()
    if not missing:
        return
    if not is_root():
        sys.exit(
            "Missing system packages: "
            + " ".join(missing)
            + ". Install them (sudo apt-get install -y "
            + " ".join(DEBIAN_PACKAGES)
            + ") or point DATABASE_URL / REDIS_URL at running servers."
        )
    log(f"installing Debian packages: {' '.join(DEBIAN_PACKAGES)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *DEBIAN_PACKAGES],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise SystemExit(f"{what} did not come up within {timeout:.0f} s")


def as_postgres(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root: run PostgreSQL's tools as the postgres user.
    return ["runuser", "-u", "postgres", "--", *cmd] if is_root() else cmd


class Postgres:
    def __init__(self, data_dir: Path, port: int, *, durable: bool) -> None:
        self.data_dir = data_dir
        self.port = port
        self.durable = durable
        self.bin = pg_bin()
        if self.bin is None:
            raise SystemExit("PostgreSQL binaries not found; run `scripts/stack.py ensure`.")

    @property
    def url(self) -> str:
        return f"postgres://{APP_ROLE}@127.0.0.1:{self.port}/{APP_ROLE}"

    @property
    def exists(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def running(self) -> bool:
        """This data directory's server is up on our port (postmaster.pid's 4th line is
        the port), not some other server that happens to listen there."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) > 3 and lines[3].strip() == str(self.port) and port_open(self.port)

    def _prepare_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if is_root():
            self.data_dir.chmod(0o700)
            shutil.chown(self.data_dir, "postgres", "postgres")
            # postgres must be able to reach the folder through its parents.
            for parent in self.data_dir.parents:
                if parent == Path("/"):
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    parent.chmod(mode | 0o011)

    def start(self) -> None:
        fresh = not self.exists
        if fresh:
            self._prepare_dir()
            subprocess.run(
                as_postgres(
                    [
                        str(self.bin / "initdb"),
                        "-D",
                        str(self.data_dir),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                    ]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories=''"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            as_postgres(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-o",
                    options,
                    "-l",
                    str(self.data_dir / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if fresh:
            self.psql(f"CREATE ROLE {APP_ROLE} LOGIN CREATEDB")
            self.psql(f"CREATE DATABASE {APP_ROLE} OWNER {APP_ROLE}")
        self.psql(CREATE_RESTRICTED_ROLE)

    def psql(self, sql: str, database: str = "postgres") -> None:
        subprocess.run(
            [
                str(self.bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-qc",
                sql,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        subprocess.run(
            as_postgres(
                [str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


class Redis:
    """``durable``: snapshots kept between runs (`make run`). ``appendonly``: every write
    logged as production does (docker-compose.yml), so queued messages survive a restart
    (the fault drill)."""

    def __init__(
        self, data_dir: Path, port: int, *, durable: bool, appendonly: bool = False
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.durable = durable
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        save = ["--save", "60", "1"] if self.durable and not self.appendonly else ["--save", ""]
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data_dir),
                "--appendonly",
                "yes" if self.appendonly else "no",
                *save,
                "--logfile",
                str(self.data_dir / "redis.log"),
            ],
            start_new_session=True,
        )
        wait_until(lambda: port_open(self.port), "Redis")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class ObjectStore:
    """A local S3-compatible server (moto, a dev dependency) with one bucket: the tests of
    the S3 document storage, the two-host test and the fault drill use it."""

    BUCKET = "collaboratory-test"

    def __init__(self, port: int, *, log_path: Path | None = None) -> None:
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def available() -> bool:
        return (ROOT / ".venv" / "bin" / "moto_server").exists()

    def start(self, *, create_bucket: bool = True) -> None:
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: port_open(self.port), "The object store (moto_server)")
        if create_bucket:
            # moto checks no signatures: an unsigned PUT creates the bucket.
            bucket = urllib.request.Request(f"{self.url}/{self.BUCKET}", method="PUT")  # noqa: S310
            urllib.request.urlopen(bucket, timeout=10).close()  # noqa: S310 (our loopback server)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@contextlib.contextmanager
def services(
    base: Path, *, durable: bool, pg_port: int, redis_port: int, share: bool = False
) -> Iterator[dict]:
    """Start what DATABASE_URL / REDIS_URL do not already provide; yield the environment.

    ``share`` (`stack.py manage`): use base's servers where they are already up (a running
    `make run`) and leave them running; start the others for the duration only. Refuses a
    database `make run` has not created and migrated yet."""
    env: dict[str, str] = {}
    started: list[Postgres | Redis] = []
    try:
        if os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = os.environ["DATABASE_URL"]
        else:
            postgres = Postgres(base / "postgres", pg_port, durable=durable)
            if share and not postgres.exists:
                raise SystemExit(
                    f"There is no local database in {postgres.data_dir} yet: run `make run` "
                    "once (it creates, migrates and seeds it; Ctrl-C when it is up), or set "
                    "DATABASE_URL."
                )
            if share and postgres.running():
                log(f"using the running PostgreSQL on 127.0.0.1:{pg_port}")
            else:
                if durable and port_open(pg_port):
                    raise SystemExit(
                        f"Port {pg_port} is taken: stop what listens there or set DATABASE_URL."
                    )
                postgres.start()
                started.append(postgres)
                log(f"PostgreSQL on 127.0.0.1:{pg_port} ({postgres.data_dir})")
            env["DATABASE_URL"] = postgres.url
            env["STACK_PG_DATA"] = str(postgres.data_dir)
            env["STACK_PG_BIN"] = str(postgres.bin)
        if os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = os.environ["REDIS_URL"]
        else:
            redis = Redis(base / "redis", redis_port, durable=durable)
            if share and port_open(redis_port):
                log(f"using the running Redis on 127.0.0.1:{redis_port}")
            else:
                redis.start()
                started.append(redis)
                log(f"Redis on 127.0.0.1:{redis_port}")
            env["REDIS_URL"] = redis.url
        yield env
    finally:
        for service in reversed(started):
            service.stop()


def venv_python() -> str:
    python = ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"No virtualenv at {python.parent.parent}: run `make install` first.")
    return str(python)


def run_child(argv: list[str], env: dict[str, str]) -> int:
    """Run argv to the end and return its status; on Ctrl-C / SIGTERM pass it SIGINT and wait,
    so the caller's clean-up runs after the child has stopped."""
    process = subprocess.Popen(argv, env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        return process.wait()


def run_var() -> Path:
    return Path(os.environ.get("STACK_VAR_DIR") or ROOT / "var")


def run_ports() -> tuple[int, int]:
    """PostgreSQL's and Redis's ports for `make run`'s servers under var/."""
    return (
        int(os.environ.get("STACK_PG_PORT", "54329")),
        int(os.environ.get("STACK_REDIS_PORT", "63799")),
    )


def run_environment(var: Path, servers: dict[str, str]) -> dict[str, str]:
    """The environment of every process `make run` starts, and of `stack.py manage`: the
    servers' URLs, DEBUG on (unless DEBUG is set), the development SECRET_KEY kept in
    var/secret_key (created once) and the one settings module. The settings read none of
    this from a file: production gives its own values, and nothing of var/ reaches it."""
    var.mkdir(parents=True, exist_ok=True)
    secret_file = var / "secret_key"
    if not secret_file.exists():
        descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    return {
        **os.environ,
        **servers,
        "DEBUG": os.environ.get("DEBUG", "true"),
        "SECRET_KEY_FILE": str(secret_file),
        "DJANGO_SETTINGS_MODULE": "collaboratory.settings",
    }


def cmd_test(argv: list[str]) -> int:
    if not argv:
        sys.exit("usage: stack.py test -- CMD ...")
    needs_services = not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))
    if needs_services:
        ensure_packages()
    base = Path(tempfile.mkdtemp(prefix="collaboratory-test-"))
    base.chmod(0o755)
    try:
        with services(base, durable=False, pg_port=free_port(), redis_port=free_port()) as env:
            child_env = {**os.environ, **env, "STACK_TMP": str(base)}
            store = None
            if not os.environ.get("STACK_S3_ENDPOINT_URL") and ObjectStore.available():
                store = ObjectStore(free_port(), log_path=base / "moto.log")
                store.start()
                child_env["STACK_S3_ENDPOINT_URL"] = store.url
                child_env["STACK_S3_BUCKET"] = ObjectStore.BUCKET
                log(f"S3-compatible store (moto) on {store.url}, bucket {ObjectStore.BUCKET}")
            process = subprocess.Popen(argv, env=child_env)
            try:
                return process.wait()
            except KeyboardInterrupt:
                process.send_signal(signal.SIGINT)
                return process.wait()
            finally:
                if store is not None:
                    store.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def cmd_manage(argv: list[str]) -> int:
    if not argv:
        sys.exit(
            'usage: make manage ARGS="COMMAND [OPTIONS]" (or stack.py manage -- COMMAND ...), '
            'e.g. make manage ARGS="verify_audit"'
        )
    python = venv_python()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        ensure_packages()
    var = run_var()
    pg_port, redis_port = run_ports()
    with services(var, durable=True, pg_port=pg_port, redis_port=redis_port, share=True) as env:
        return run_child([python, str(ROOT / "manage.py"), *argv], run_environment(var, env))


def cmd_run() -> int:
    needs_services = not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))
    if needs_services:
        ensure_packages()
    var = run_var()
    pg_port, redis_port = run_ports()
    with services(var, durable=True, pg_port=pg_port, redis_port=redis_port) as env:
        child_env = run_environment(var, env)
        python = venv_python()
        manage = [python, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput"], env=child_env, check=True)
        # Executed agreements are sealed with the platform certificate; in development a
        # self-signed one under var/sealing/ (created once, kept).
        subprocess.run([*manage, "ensure_dev_certificate"], env=child_env, check=True)
        subprocess.run([*manage, "seed_demo"], env=child_env, check=True)
        celery = [python, "-m", "celery", "-A", "collaboratory"]
        processes = [
            subprocess.Popen([*manage, "runserver", "127.0.0.1:8000", "--noreload"], env=child_env),
            subprocess.Popen(
                [
                    *celery,
                    "worker",
                    "-l",
                    "info",
                    "--concurrency",
                    "2",
                    "--without-gossip",
                    "--without-mingle",
                    # A child that grew past 1 GiB (e.g. a huge PDF render) is replaced.
                    "--max-memory-per-child",
                    "1048576",
                ],
                env=child_env,
            ),
            subprocess.Popen(
                [*celery, "beat", "-l", "info", "-s", str(var / "celerybeat-schedule")],
                env=child_env,
            ),
        ]
        try:
            # No deadline for the web server: on a busy machine its checks take minutes, and
            # giving up here used to leave the worker and beat running. It either listens or
            # exits, and an exit stops the rest.
            announced = False
            while all(p.poll() is None for p in processes):
                if not announced and port_open(8000):
                    announced = True
                    print(
                        "\n  Collaboratory is running at http://127.0.0.1:8000\n"
                        "  Demo logins (password collaboratory-demo): director, counsel, vendor,\n"
                        "  researcher, facilitator.  Ctrl-C stops everything.\n",
                        flush=True,
                    )
                time.sleep(0.5)
            log("a process exited; stopping the rest")
        except KeyboardInterrupt:
            log("stopping")
        finally:
            for p in processes:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in processes:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
    return 0


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Stopped by a process manager (SIGTERM), a closed terminal (SIGHUP) or Ctrl-C, even when
    # started in the background (where SIGINT arrives ignored): the same clean-up every time,
    # so no server, worker or database is left running.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    command, rest = args[0], args[1:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if command == "ensure":
        ensure_packages()
        return 0
    if command == "run":
        return cmd_run()
    if command == "test":
        return cmd_test(rest)
    if command == "manage":
        return cmd_manage(rest)
    sys.exit(f"unknown command {command!r}\n{__doc__}")


if __name__ == "__main__":
    sys.exit(main())
