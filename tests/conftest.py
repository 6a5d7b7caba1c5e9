"""Fixtures shared by the whole suite: demo personas, an outsider, the real Celery worker,
and Chromium for Playwright tests.

`make test` exports DATABASE_URL / REDIS_URL of throwaway servers; pytest-django creates the
test database on that PostgreSQL.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls there
# unless told it is safe (it is: the test thread is the only one touching its connection).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
# A real SMTP server for tests that read the app's mail (``mailbox``).
from tests.mailbox import _smtp_server, mailbox  # noqa: E402, F401

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    """scripts/test-all runs the suite in two phases (TEST_PHASE): ``parallel`` (pytest-xdist
    workers) takes every test not marked ``serial``, ``serial`` (one process, afterwards)
    takes those. Unset, every test runs."""
    phase = os.environ.get("TEST_PHASE", "")
    if not phase:
        return
    if phase not in {"parallel", "serial"}:
        raise pytest.UsageError(f"TEST_PHASE={phase!r}: it is 'parallel', 'serial' or unset")
    keep, deselected = [], []
    for item in items:
        serial = item.get_closest_marker("serial") is not None
        (keep if serial == (phase == "serial") else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep


def _seed_demo() -> None:
    from agreements.demo import seed_agreements
    from partners.demo import seed_partners

    seed_agreements(seed_partners())


def _demo_is_seeded() -> bool:
    from agreements.models import Agreement
    from partners.models import Trio

    return Trio.objects.filter(slug="adaptive-practice").exists() and Agreement.objects.exists()


class _DemoSnapshot:
    """The seeded demo's rows, table by table (PostgreSQL's COPY text), kept in memory.

    Ordinary tests run in a transaction that rolls back, so they share the demo the session
    seeded. Transactional tests (the browser tests, the worker's) end with a flush that empties
    every table; ``pytest_runtest_teardown`` below then puts back the very rows the session's
    seed made, committed, before the next test starts: same ids, same values, with the tables'
    own triggers (history, frozen texts) held off while the rows return, since they fired when
    the rows were first made. Seeding again through the services would take seconds each time,
    and seeding inside the next test's transaction would do it again for every test after
    that (it rolls back) and leave the seed's deferred checks pending in that test."""

    def __init__(self) -> None:
        from django.db import connection

        self.tables = sorted(
            connection.introspection.django_table_names(only_existing=True, include_views=False)
        )
        self.rows: dict[str, bytes] = {}
        with connection.cursor() as cursor:
            self.sequences = [
                (sequence["name"], table, sequence["column"])
                for table in self.tables
                for sequence in connection.introspection.get_sequences(cursor, table)
            ]
            for table in self.tables:
                buffer = io.BytesIO()
                cursor.cursor.copy_expert(f"COPY {_quoted(table)} TO STDOUT", buffer)
                self.rows[table] = buffer.getvalue()

    def restore(self) -> None:
        """Put the rows back in a transaction of its own (autocommit outside any test's)."""
        from django.contrib.contenttypes.models import ContentType
        from django.db import connection, transaction

        assert connection.get_autocommit(), "the demo is restored between tests, committed"
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger"
                " WHERE NOT tgisinternal AND tgenabled <> 'D'"
                " AND tgrelid = ANY(%s::regclass[])",
                [self.tables],
            )
            triggers = cursor.fetchall()
            for table, name, _ in triggers:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {_quoted(name)}")
            cursor.execute("TRUNCATE " + ", ".join(_quoted(t) for t in self.tables))
            for table, rows in self.rows.items():
                if rows:
                    cursor.cursor.copy_expert(f"COPY {_quoted(table)} FROM STDIN", io.BytesIO(rows))
            # The foreign keys are checked now (they are deferred), so the triggers can return.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table, name, enabled in triggers:
                how = {"A": "ENABLE ALWAYS", "R": "ENABLE REPLICA"}.get(enabled, "ENABLE")
                cursor.execute(f"ALTER TABLE {table} {how} TRIGGER {_quoted(name)}")
            # Sequences only move forward, as they would have had the rows been made anew, so
            # an id is never given twice in a session (caches keyed by ids stay truthful).
            # (The names come from PostgreSQL's catalogue, quoted.)
            for sequence, table, column in self.sequences:
                cursor.execute(
                    f"SELECT setval(%s, GREATEST((SELECT last_value FROM {_quoted(sequence)}),"  # noqa: S608
                    f" (SELECT COALESCE(MAX({_quoted(column)}), 1) FROM {_quoted(table)})))",
                    [sequence],
                )
        # The flush made content types anew (post_migrate) with other ids, which this process
        # remembers; the restored ones are the seed's.
        ContentType.objects.clear_cache()


def _quoted(name: str) -> str:
    from django.db import connection

    return connection.ops.quote_name(name)


_snapshot: _DemoSnapshot | None = None


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Seed the demo once per session and keep its rows (``_DemoSnapshot``): ordinary tests
    roll back, so they all share it; after a transactional test's flush the rows go back."""
    global _snapshot
    with django_db_blocker.unblock():
        _seed_demo()
        _snapshot = _DemoSnapshot()
    yield
    # The test database goes after this; nothing is restored into it any more.
    _snapshot = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a test's fixtures are torn down (a transactional test's flush among them), put
    the demo back, committed, if the test left the database without it."""
    yield
    if _snapshot is None:
        return
    from django.db import connection
    from pytest_django.plugin import blocking_manager_key

    with item.config.stash[blocking_manager_key].unblock():
        if connection.get_autocommit() and not _demo_is_seeded():
            _snapshot.restore()


@pytest.fixture
def demo(db):
    """The demo collaboratory, organisations, trios, people and agreements (as seed_demo)."""
    from agreements.models import Agreement
    from partners.models import Collaboratory, Organisation, Trio

    assert _demo_is_seeded(), (
        "the demo is missing at the start of a test: a test before it emptied the database"
        " without the flush that tells pytest_runtest_teardown to put the demo back"
    )
    return {
        "collaboratory": Collaboratory.objects.get(slug="aims"),
        "users": {u.username: u for u in get_user_model().objects.all()},
        "orgs": {o.slug: o for o in Organisation.objects.all()},
        "trios": {t.slug: t for t in Trio.objects.all()},
        "agreements": {a.title: a for a in Agreement.objects.all()},
    }


@pytest.fixture
def outsider(db):
    """A logged-in-able user with no organisation: must be denied everything."""
    return get_user_model().objects.create_user(
        username="outsider", password="outsider-password-123"
    )


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real Celery worker process on the test database and the throwaway Redis."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    database_url = (
        f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        if not db.get("PASSWORD")
        else f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    )
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "collaboratory.settings_test",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "collaboratory",
                "worker",
                "--loglevel",
                "info",
                "--concurrency",
                "1",
                "--pool",
                "prefork",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--hostname",
                f"test-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while b" ready." not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("Celery worker did not start:\n" + log_path.read_text())
        time.sleep(0.1)
    yield {"process": process, "log": log_path}
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


def login(client, user) -> None:
    client.force_login(user)


@pytest.fixture(scope="session", autouse=True)
def sealing_and_media(tmp_path_factory):
    """Documents (issue 5): a self-signed sealing certificate and a media folder of the
    session's own, for this process and for the worker processes tests start (they inherit
    the environment). Rendering on activation is off, so seeding the demo enqueues no PDF
    renders; the tests about it switch it on."""
    from django.test.utils import override_settings

    from agreements.documents.sealing import generate_dev_certificate

    folder = tmp_path_factory.mktemp("sealing")
    media = tmp_path_factory.mktemp("media")
    values = {
        "SEALING_CERT_FILE": str(folder / "cert.pem"),
        "SEALING_KEY_FILE": str(folder / "key.pem"),
        "SEALING_KEY_PASSWORD": "test-sealing-password",
        "MEDIA_ROOT": str(media),
    }
    generate_dev_certificate(
        cert_file=folder / "cert.pem",
        key_file=folder / "key.pem",
        password=values["SEALING_KEY_PASSWORD"],
    )
    os.environ.update(values)
    override = override_settings(**{**values, "MEDIA_ROOT": media}, RENDER_ON_ACTIVATION=False)
    override.enable()
    yield values
    override.disable()


# --- Two-factor authentication (issue 9) ---------------------------------------------------
# Signatories and organisation admins need a session verified with a TOTP code before they
# sign or manage API access (partners/two_factor.py). Tests that do either use these.


def otp_device(user):
    """``user``'s confirmed authenticator app (a django-otp TOTPDevice), created if needed."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Test app", confirmed=True)


def otp_code(device) -> str:
    """The code ``device``'s authenticator app shows now (what a person would type)."""
    from django_otp.oath import totp

    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def otp_verified(client, user):
    """Log ``client`` in as ``user`` with a session verified the way django-otp does it
    (the device's persistent id in the session, as ``django_otp.login`` stores it)."""
    from django_otp import DEVICE_ID_SESSION_KEY

    device = otp_device(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's ``admin_client``, with the verified session the admin requires
    (collaboratory/admin_site.py)."""
    return otp_verified(client, admin_user)


def otp_verify_in_browser(page, live_server, user, next_url: str = "/") -> None:
    """Go through the real verify page in Chromium: open it, type the current code of
    ``user``'s authenticator app (created if needed) and submit. Lands on ``next_url``."""
    from urllib.parse import urlencode

    from django.urls import reverse

    device = otp_device(user)
    device.refresh_from_db()
    page.goto(f"{live_server.url}{reverse('two-factor-verify')}?{urlencode({'next': next_url})}")
    page.get_by_label("6-digit code").fill(otp_code(device))
    page.get_by_role("button", name="Verify").click()


# --- Statements built once per shape (collaboratory.prepared.shaped_rows) ------------------


class Builds:
    """Each time a watched statement builder runs, as (its name, the shape it was built
    for): a statement built once per shape must run its builder once per shape, however many
    values it is run with."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.all: list[tuple[str, tuple]] = []

    def watch(self, target, name: str) -> None:
        """Record the builds of ``name`` on ``target`` (a module, or a dict of builders)."""
        build = target[name] if isinstance(target, dict) else getattr(target, name)

        def counting(*shape, **values):
            self.all.append((name, shape))
            return build(*shape, **values)

        if isinstance(target, dict):
            self.monkeypatch.setitem(target, name, counting)
        else:
            self.monkeypatch.setattr(target, name, counting)

    def of(self, name: str) -> list[tuple]:
        """The shapes ``name`` was built for."""
        return [shape for built, shape in self.all if built == name]


@pytest.fixture
def fresh_answers(settings):
    """For the tests of kept answers (tests/kept_answers.py): plain statements, so the SQL a
    request ran names the tables it read, and no answer left in this process before."""
    from collaboratory import answers

    settings.DATABASE_SERVER_PREPARED = False
    answers.clear_local()
    yield
    answers.clear_local()


@pytest.fixture
def builds(monkeypatch):
    """``Builds``, with every statement compiled so far forgotten first."""
    from collaboratory import prepared

    prepared.clear()
    return Builds(monkeypatch)
