"""Fixtures shared by the whole suite: demo personas, an outsider, the real Celery worker,
and Chromium for Playwright tests.

`make test` exports DATABASE_URL / REDIS_URL of throwaway servers; pytest-django creates the
test database on that PostgreSQL.
"""

from __future__ import annotations

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
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _seed_demo() -> None:
    from agreements.demo import seed_agreements
    from partners.demo import seed_partners

    seed_agreements(seed_partners())


def _demo_is_seeded() -> bool:
    from agreements.models import Agreement
    from partners.models import Trio

    return Trio.objects.filter(slug="adaptive-practice").exists() and Agreement.objects.exists()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Seed the demo once per session: ordinary tests roll back, so they all share it.
    Transactional tests flush the database; the ``demo`` fixture seeds again after that."""
    with django_db_blocker.unblock():
        _seed_demo()


@pytest.fixture
def demo(db):
    """The demo collaboratory, organisations, trios, people and agreements (as seed_demo)."""
    from agreements.models import Agreement
    from partners.models import Collaboratory, Organisation, Trio

    if not _demo_is_seeded():
        _seed_demo()
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
