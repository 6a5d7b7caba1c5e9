"""Whole answers kept for the state of the database they were read from (issue 18).

A read-only page or API answer is a function of the code, the request (host, path and
query, who asks: user, session, CSRF secret, 2FA state, time zone, language), today's date,
and the rows it reads. PostgreSQL names the state of the rows exactly: the snapshot
(``pg_current_snapshot()``: which transactions have committed). Statements with equal
snapshots see equal rows, so an answer kept under its snapshot is served again only while no
transaction has committed since, anywhere in the database. Nothing needs invalidating and no
event can be forgotten: a signature, a new membership, a revoked token or a session written
through to PostgreSQL is a new snapshot, and every answer is derived anew.

The price is that any write ends every kept answer, related or not. These answers pay off
where reads come in bursts between writes (a partner system polling the API, a director
going through the day's agreements); a busy database simply keeps fewer.

Rules that keep an answer exact:

- **Outside a transaction only.** Inside one, the connection also sees its own uncommitted
  writes, which no snapshot names (tests' ``TestCase`` transactions therefore never use it).
- **The snapshot is read before the view reads anything.** Under READ COMMITTED every later
  statement sees that state or a newer one, so a kept answer is never older than its key.
- **The database is part of the key** (host, port, name): transaction ids, and so snapshots,
  are shared by every database of a PostgreSQL server.
- **The clock:** the date (in the viewer's time zone) is part of the key, and an answer is
  kept at most ``RESPONSE_CACHE_SECONDS`` (60 by default; 0 turns this off), which bounds
  anything that depends on the time of day.
- **Pages:** only a 200 that sets no cookie, with no flash message shown or added, no change
  to the session, and a CSRF secret that came with the request (the page's forms carry a
  token of it, which only that browser can use).
- **The code:** a hash of the project's sources and templates, so a deployment never serves
  what the old code made.

Two layers, as ``collaboratory.derived``: this process's map (``RESPONSE_CACHE_LOCAL_MB``),
then the "answers" cache alias in Redis shared by every worker. When Redis is down the
answer is computed (and the failure logged): a cache never makes a page fail.
"""

from __future__ import annotations

import logging
import pickle
import time
import zlib
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import caches
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from collaboratory.derived import MemoryMap, digest, files_version
from collaboratory.prepared import fetch_rows

logger = logging.getLogger(__name__)

ALIAS = "answers"
_MISSING = object()
_SNAPSHOT_SQL = "SELECT pg_current_snapshot()::text"
#: What the project's answers are made from: a change here is a new deployment.
_SOURCES = ("collaboratory", "partners", "agreements", "consent", "audit", "templates")

_local = MemoryMap(settings.RESPONSE_CACHE_LOCAL_MB * 1024 * 1024)
#: The views whose answers are kept ("page:module.view", "api:module.View.get"): each must
#: only read (tests/project/test_answers.py reads them all and checks).
KEPT: list[str] = []


@cache
def code_version() -> str:
    """A hash of the project's Python sources and templates (read once per process)."""
    base = Path(settings.BASE_DIR)
    return files_version(
        file
        for folder in _SOURCES
        for file in sorted((base / folder).rglob("*"))
        if file.suffix in (".py", ".html", ".txt") and file.is_file()
    )


def database_state(using: str = "default") -> str | None:
    """The database and its snapshot, or None inside a transaction (see the module)."""
    if settings.RESPONSE_CACHE_SECONDS <= 0:
        return None
    connection = connections[using]
    if connection.in_atomic_block or not connection.get_autocommit():
        return None
    ((snapshot,),) = fetch_rows(_SNAPSHOT_SQL, (), using=using)
    database = connection.settings_dict
    return f"{database['HOST']}:{database['PORT']}/{database['NAME']}@{snapshot}"


def _request_parts(request: HttpRequest) -> list[Any]:
    return [
        code_version(),
        request.get_host(),
        request.is_secure(),
        request.get_full_path(),
        timezone.get_current_timezone_name(),
        translation.get_language(),
        timezone.localdate().isoformat(),
    ]


def _get(key: str) -> Any:
    entry = _local.get(key)
    if entry is not MemoryMap.MISSING and entry[0] > time.time():
        return entry[1]
    try:
        stored = caches[ALIAS].get(key)
    except Exception:  # noqa: BLE001 - a cache that is down must not take the page with it
        logger.warning("answers cache unavailable (get)", exc_info=True)
        return _MISSING
    if stored is None:
        return _MISSING
    deadline, packed = stored
    if deadline <= time.time():
        return _MISSING
    pickled = zlib.decompress(packed)
    value = pickle.loads(pickled)  # noqa: S301 - our own cache's bytes
    _local.put(key, (deadline, value), len(pickled))
    return value


def _put(key: str, value: Any) -> None:
    seconds = settings.RESPONSE_CACHE_SECONDS
    deadline = time.time() + seconds
    pickled = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    _local.put(key, (deadline, value), len(pickled))
    try:
        caches[ALIAS].set(key, (deadline, zlib.compress(pickled, 1)), timeout=seconds)
    except Exception:  # noqa: BLE001
        logger.warning("answers cache unavailable (set)", exc_info=True)


def kept_answer[R, V](
    kind: str,
    request: HttpRequest,
    parts: list[Any],
    respond: Callable[[], R],
    *,
    keep: Callable[[R], V | None],
    rebuild: Callable[[V], R],
) -> R:
    """The answer to ``request``: ``rebuild(value)`` of the value kept for the same ``kind``,
    request, ``parts`` (who asks) and database state, or ``respond()``, whose ``keep(...)``
    is kept unless it is None (an answer that must not be kept). Responds every time where
    no state can be named (inside a transaction, or turned off)."""
    state = database_state()
    if state is None:
        return respond()
    key = f"{kind}:{digest([*_request_parts(request), *parts, state])}"
    value = _get(key)
    if value is not _MISSING:
        return rebuild(value)
    answer = respond()
    kept = keep(answer)
    if kept is not None:
        _put(key, kept)
    return answer


type _Page = tuple[bytes, list[tuple[str, str]]]


def kept_page[**P](view: Callable[P, HttpResponse]) -> Callable[P, HttpResponse]:
    """``view`` (a signed-in, read-only page) answered from ``kept_answer`` on GET and HEAD.
    Goes inside the view's access decorators: they run on every request."""
    name = f"page:{view.__module__}.{view.__qualname__}"
    KEPT.append(name)

    @wraps(view)
    def page(*args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        request = args[0]
        assert isinstance(request, HttpRequest)
        secret = request.META.get("CSRF_COOKIE")
        if (
            request.method not in ("GET", "HEAD")
            or not secret
            or len(messages.get_messages(request))  # shown once: never kept
        ):
            return view(*args, **kwargs)
        user = request.user
        is_verified = getattr(user, "is_verified", None)
        parts = [
            user.pk,
            request.session.session_key,
            secret,
            bool(is_verified()) if callable(is_verified) else False,
        ]

        def keep(response: HttpResponse) -> _Page | None:
            keepable = (
                type(response) is HttpResponse
                and response.status_code == 200
                and not response.cookies
                and not request.session.modified
                and not getattr(messages.get_messages(request), "added_new", False)
                and request.META.get("CSRF_COOKIE") == secret
            )
            return (response.content, list(response.items())) if keepable else None

        def rebuild(kept: _Page) -> HttpResponse:
            content, headers = kept
            response = HttpResponse(content)
            for header, value in headers:
                response[header] = value
            # As rendering its forms' CSRF token would: the cookie's age is renewed.
            request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
            return response

        return kept_answer(
            name, request, parts, lambda: view(*args, **kwargs), keep=keep, rebuild=rebuild
        )

    return page


def clear_local() -> None:
    """Forget this process's copies (tests that stand for another worker)."""
    _local.clear()
