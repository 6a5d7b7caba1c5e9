"""Querysets whose SQL is built and compiled once per key, then only run.

Building a queryset (filters, subqueries, ``select_related``, JSON prefetches) and compiling
it to SQL costs the ORM milliseconds of Python on every request; for the dashboard's panels
that is several times what PostgreSQL takes to run the statement. When the statement depends
only on a few values (who asks, today's date), ``prepared_rows(name, build, *args)`` builds
``build(*args)`` once per ``(name, args)`` in this process, keeps its compiled SQL, and
afterwards runs that SQL through the same iterable the queryset would use, so the rows come
back as the same model instances (``select_related`` objects, annotations, JSON prefetches).

The rule that keeps this correct: **the SQL may depend on ``args`` only.** ``build`` must
express everything else as SQL the statement evaluates (a subquery, never the result of a
query evaluated in Python), since the data it reads changes between calls while the key does
not. Values the statement compares against go in ``args`` (and so in the key).

Only whole results are offered (a list): a prepared queryset filtered further would silently
run its old SQL, so none is ever handed out.

**Server-side prepared statements.** PostgreSQL plans every statement it is sent; for the
agreement page's query (a dozen collections travelling as JSON) planning took ~7 ms against
~1 ms of execution, and ~5 ms across the dashboard's statements. Rows from ``prepared_rows``,
and any queryset passed through ``server_prepared``, are run as ``EXECUTE`` of a statement
``PREPARE``d once per database connection and named by the hash of its SQL text: PostgreSQL
then keeps the plan (after five executions it settles on a generic plan when that is no
worse, its plan cache's own rule), and every user's request shares it, since who asks travels
as a parameter. A connection holds at most ``SERVER_LIMIT`` of them (then ``DEALLOCATE ALL``);
a new connection starts with none. A statement prepared in a transaction that rolls back
stays prepared: PREPARE is not transactional. ``DATABASE_SERVER_PREPARED=false`` turns this
off (behind a pooler that hands one client's statements to several server connections).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import re
import threading
import uuid
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.sql.compiler import SQLCompiler
from django.db.models.sql.query import Query

#: Compiled statements kept in this process; past it the oldest half is dropped.
LIMIT = 4096
#: Server-side prepared statements one database connection holds at most.
SERVER_LIMIT = 200


@dataclass(frozen=True)
class _Compiled:
    queryset: QuerySet  # built, never evaluated: it names the iterable and the database
    compiler: SQLCompiler  # after compiling: its select, klass_info and converters are set
    sql: str
    params: tuple[Any, ...]


_cache: dict[tuple[str, tuple[Hashable, ...]], _Compiled] = {}
_lock = threading.Lock()


class _RunCompiled:
    """A compiler for one run: the compiled one's state, this thread's connection, and its
    SQL (with ``params``, or those it was compiled with) instead of compiling again."""

    def __init__(
        self, compiled: _Compiled, params: tuple[Any, ...] | None = None, on_server: bool = True
    ) -> None:
        self.compiled = compiled
        self.params = compiled.params if params is None else params
        self.on_server = on_server

    def __call__(self, using: str | None = None, connection: Any = None, elide_empty: bool = True):
        compiler = copy.copy(self.compiled.compiler)
        if self.on_server:
            compiler = _prepared_on_server(compiler)
        compiler.connection = connection or connections[using or self.compiled.queryset.db]
        sql, params = self.compiled.sql, self.params
        compiler.as_sql = lambda *args, **kwargs: (sql, params)  # type: ignore[method-assign]
        return compiler


def _compile(queryset: QuerySet) -> _Compiled:
    compiler = queryset.query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # a condition that can match nothing: runs as no rows
        sql, params = "", ()
    return _Compiled(queryset, compiler, sql, tuple(params))


def _keep[V](kept: dict[Any, V], key: Any, value: V) -> None:
    """Keep ``value`` under ``key``; past ``LIMIT`` entries the oldest half is dropped."""
    with _lock:
        if len(kept) >= LIMIT:
            for old in list(kept)[: LIMIT // 2]:
                del kept[old]
        kept[key] = value


def prepared_rows[M: Model](
    name: str, build: Callable[..., QuerySet[M]], *args: Hashable
) -> list[M]:
    """The rows of ``build(*args)``, whose SQL is compiled once per ``(name, args)``
    (module docstring: the SQL may depend on ``args`` only)."""
    key = (name, args)
    compiled = _cache.get(key)
    if compiled is None:
        compiled = _compile(build(*args))
        _keep(_cache, key, compiled)
    run = compiled.queryset._chain()  # type: ignore[attr-defined]
    run.query.get_compiler = _RunCompiled(compiled)
    return list(run)


# --- statements compiled once per shape, run with each call's values ------------------------

#: Stand-ins ``shaped_rows`` builds with: text no one types (private-use characters) and
#: characters that any escaping, quoting, case or hyphen rule would change; ids no row has.
_STAND_IN_TEXT = "\ue000 {}_%\\-Aa'\" \ue001"
_STAND_IN_MARK = "\ue000"
#: Negative, yet within a 32-bit integer: Django compiles a lookup on a 32-bit column (auth's
#: user ids) with a value out of its range to "matches nothing", which a stand-in must not.
_STAND_IN_BASE = -2_000_000_000
_STAND_IN_UUID = uuid.UUID("0000c0de-57a4-d100-0000-000000000000")  # no uuid4 has version 13


@dataclass(frozen=True)
class _Shaped:
    compiled: _Compiled
    slots: tuple[str | None, ...]  # per parameter, the value it takes (None: as compiled)


def _stand_in(index: int, name: str, value: Any) -> Any:
    if isinstance(value, str):
        return _STAND_IN_TEXT.format(name)
    if isinstance(value, bool):
        raise TypeError(f"{name}: a yes or no changes the statement: put it in the shape")
    if isinstance(value, int):
        return _STAND_IN_BASE - index
    if isinstance(value, list):
        return [_STAND_IN_BASE - 1000 * (index + 1), _STAND_IN_BASE - 1000 * (index + 1) - 1]
    if isinstance(value, uuid.UUID):
        return uuid.UUID(int=_STAND_IN_UUID.int + index)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # the ORM would make it aware: a change of the value
            raise TypeError(f"{name}: a naive datetime; give it a time zone")
        return dt.datetime(1, 1, 1, 0, 0, 0, index, tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.date(1, 1, 1 + index)
    raise TypeError(f"{name}: {type(value).__name__} values cannot stand in a shaped statement")


def _holds_stand_in(param: Any) -> bool:
    if isinstance(param, str):
        return _STAND_IN_MARK in param
    if isinstance(param, list | tuple):
        return any(_holds_stand_in(item) for item in param)
    if isinstance(param, int) and not isinstance(param, bool):
        return param <= _STAND_IN_BASE
    if isinstance(param, uuid.UUID):
        return param.int >> 64 == _STAND_IN_UUID.int >> 64
    if isinstance(param, dt.date):
        return param.year == 1
    return _STAND_IN_MARK in str(param)


def _slots(params: tuple[Any, ...], stand_ins: dict[str, Any]) -> tuple[str | None, ...]:
    """Which value each of ``params`` takes: the one whose stand-in it is. A parameter made
    *from* a stand-in (escaped, cut, joined) would take the value unchanged where the ORM
    would have changed it: refused."""
    slots: list[str | None] = []
    for param in params:
        name = next(
            (n for n, s in stand_ins.items() if type(s) is type(param) and s == param), None
        )
        if name is None and _holds_stand_in(param):
            raise ValueError(f"a parameter is made from a value, not the value itself: {param!r}")
        slots.append(name)
    return tuple(slots)


_shapes: dict[tuple[str, tuple[Hashable, ...]], _Shaped] = {}


def shaped_rows[M: Model](
    name: str,
    build: Callable[..., QuerySet[M]],
    shape: tuple[Hashable, ...],
    values: dict[str, Any],
    *,
    on_server: bool = True,
) -> list[M]:
    """The rows of ``build(*shape, **values)``, compiled once per ``(name, shape)``: built
    with stand-ins for ``values``, whose places among the statement's parameters are noted,
    and afterwards run with each call's ``values`` in those places.

    The rule of ``prepared_rows`` holds for ``shape`` (the SQL may depend on it only), and
    ``build`` must hand each value to the statement as it is: strings, integers, UUIDs,
    dates, aware datetimes and lists of integers, never something made from them (a
    stand-in that comes back changed is refused). Whatever a value changes in the SQL
    itself (present or empty, say) belongs in ``shape``. ``on_server``: run as a
    server-side prepared statement."""
    shaped = _shaped((name, shape), values, lambda stand_ins: _compile(build(*shape, **stand_ins)))
    if shaped is None:
        return list(build(*shape, **values))
    run = shaped.compiled.queryset._chain()  # type: ignore[attr-defined]
    run.query.get_compiler = _RunCompiled(
        shaped.compiled, _params(shaped, values), on_server=on_server
    )
    return list(run)


def shaped_count(
    name: str,
    build: Callable[..., QuerySet],
    shape: tuple[Hashable, ...],
    values: dict[str, Any],
) -> int:
    """The number of rows of ``build(*shape, **values)`` (a slice caps it), as its
    ``.count()`` gives, with the statement built and compiled once per ``(name, shape)`` and
    run prepared on the server: ``shaped_rows``'s rules hold for ``build`` and ``values``."""

    def compile_count(stand_ins: dict[str, Any]) -> _Compiled:
        counted = build(*shape, **stand_ins)
        if not counted.query.is_sliced:  # a slice keeps its order: it decides what is cut
            counted = counted.order_by()
        compiled = _compile(counted.values("pk"))
        if not compiled.sql:
            return compiled
        # The ORM's own compiled SQL, values kept as parameters: no input in the statement.
        sql = f"SELECT COUNT(*) FROM ({compiled.sql}) AS counted"  # noqa: S608
        return dataclasses.replace(compiled, sql=sql)

    shaped = _shaped((f"count:{name}", shape), values, compile_count)
    if shaped is None:
        return build(*shape, **values).count()
    sql, db = shaped.compiled.sql, shaped.compiled.queryset.db
    ((count,),) = fetch_rows(sql, _params(shaped, values), using=db)
    return int(count)


def _shaped(
    key: tuple[str, tuple[Hashable, ...]],
    values: dict[str, Any],
    compile_with: Callable[[dict[str, Any]], _Compiled],
) -> _Shaped | None:
    """The statement kept under ``key``, compiled now by ``compile_with`` from stand-ins for
    ``values`` if it is not kept yet; None when it compiles to nothing with the stand-ins (it
    may not with the values: a stand-in outside what a column holds), so that the caller
    builds it for each call."""
    shaped = _shapes.get(key)
    if shaped is None:
        stand_ins = {n: _stand_in(i, n, v) for i, (n, v) in enumerate(values.items())}
        compiled = compile_with(stand_ins)
        if not compiled.sql:
            return None
        shaped = _Shaped(compiled, _slots(compiled.params, stand_ins))
        _keep(_shapes, key, shaped)
    return shaped


def _params(shaped: _Shaped, values: dict[str, Any]) -> tuple[Any, ...]:
    """The statement's parameters with this call's ``values`` in their slots."""
    return tuple(
        param if slot is None else values[slot]
        for slot, param in zip(shaped.slots, shaped.compiled.params, strict=True)
    )


def clear() -> None:
    """Forget every compiled statement, and the server-side statements of this thread's open
    connections (tests that count statements start from nothing)."""
    with _lock:
        _cache.clear()
        _shapes.clear()
    for wrapper in connections.all(initialized_only=True):
        if wrapper.connection is not None and wrapper.vendor == "postgresql":
            with wrapper.cursor() as cursor:
                cursor.execute("DEALLOCATE ALL")
            _prepared_names(wrapper).clear()


# --- server-side prepared statements ----------------------------------------------------------

_PLACEHOLDER = re.compile(r"%%|%s")


def _numbered(sql: str) -> str:
    """Django's SQL for psycopg2 (``%s`` parameters, ``%%`` for a literal percent sign) as
    PREPARE wants it: ``$1``, ``$2``, ... and ``%``."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        if match[0] == "%%":
            return "%"
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(replace, sql)


def _prepared_names(wrapper: BaseDatabaseWrapper) -> set[str]:
    """The statements prepared on ``wrapper``'s current connection (a new connection, after a
    reconnect, has none)."""
    # ``django.db.connection`` is a proxy with a __dict__ of its own: keep the names on the
    # thread's wrapper itself, which every caller reaches.
    wrapper = connections[wrapper.alias]
    raw = wrapper.connection
    state = wrapper.__dict__.get("_collaboratory_prepared")
    if state is None or state[0] is not raw:
        state = (raw, set())
        wrapper.__dict__["_collaboratory_prepared"] = state
    return state[1]


def execute_form(wrapper: BaseDatabaseWrapper, sql: str, params: Any) -> tuple[str, tuple]:
    """``EXECUTE`` of ``sql`` as a statement prepared on ``wrapper``'s connection (prepared
    now if it is not yet), and its parameters."""
    # As Django's own cursor() does: a connection found dead by the request's health check
    # (CONN_HEALTH_CHECKS; PostgreSQL restarted) is replaced before anything is prepared on it.
    wrapper.close_if_health_check_failed()
    wrapper.ensure_connection()
    names = _prepared_names(wrapper)
    name = "collab_" + hashlib.blake2b(sql.encode(), digest_size=10).hexdigest()
    if name not in names:
        # Plumbing, not a query of the page's: on the driver's own cursor, so query counts,
        # logs and pghistory's context see the EXECUTE that follows and not this.
        with wrapper.wrap_database_errors, wrapper.connection.cursor() as cursor:
            if len(names) >= SERVER_LIMIT:
                cursor.execute("DEALLOCATE ALL")
                names.clear()
            # Our own compiled SQL under a name made of hex digits: no input in the statement.
            cursor.execute(f"PREPARE {name} AS {_numbered(sql)}")
        names.add(name)
    params = tuple(params or ())
    if not params:
        return f"EXECUTE {name}", ()
    return f"EXECUTE {name}({', '.join(['%s'] * len(params))})", params


class _ServerPreparedCompiler(SQLCompiler):
    """Runs its query as a server-side prepared statement; compiling it, as a subquery of
    another statement too, is unchanged."""

    def execute_sql(self, *args: Any, **kwargs: Any) -> Any:
        if not settings.DATABASE_SERVER_PREPARED:
            return super().execute_sql(*args, **kwargs)
        compile_sql = self.as_sql

        def as_sql(*a: Any, **k: Any) -> tuple[str, Any]:
            sql, params = compile_sql(*a, **k)
            if not sql:
                return sql, params
            return execute_form(self.connection, sql, params)

        self.as_sql = as_sql  # type: ignore[method-assign]
        try:
            return super().execute_sql(*args, **kwargs)
        finally:
            del self.as_sql


def _prepared_on_server(compiler: SQLCompiler) -> SQLCompiler:
    """``compiler``, made to run its statement prepared when it is a plain read (updates and
    deletes have compilers of their own and run as they are)."""
    if type(compiler) is SQLCompiler:
        compiler.__class__ = _ServerPreparedCompiler
    return compiler


class _ServerPreparedQuery(Query):
    """A query whose top-level statement runs prepared; its clones (``.filter()``,
    ``.get()``) stay so."""

    def get_compiler(self, using: Any = None, connection: Any = None, elide_empty: bool = True):
        return _prepared_on_server(super().get_compiler(using, connection, elide_empty))


def server_prepared[M: Model](queryset: QuerySet[M]) -> QuerySet[M]:
    """``queryset``, run as a server-side prepared statement (module docstring). For the
    statements pages run on every request, whose planning costs more than their execution."""
    run = queryset._chain()  # type: ignore[attr-defined]
    run.query.__class__ = _ServerPreparedQuery
    return run


def fetch_rows(sql: str, params: Sequence[Any] = (), *, using: str = "default") -> list[tuple]:
    """The rows of raw ``sql`` (Django's ``%s`` placeholders, ``%%`` for a literal percent
    sign), run as a server-side prepared statement as ``server_prepared`` runs a queryset's,
    unless ``DATABASE_SERVER_PREPARED`` is off. For the raw statements pages run on every
    request: their SQL text must not vary with the values (those go in ``params``)."""
    wrapper = connections[using]
    if settings.DATABASE_SERVER_PREPARED:
        sql, params = execute_form(wrapper, sql, params)
    with wrapper.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
