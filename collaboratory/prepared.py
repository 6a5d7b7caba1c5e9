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
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.sql.compiler import SQLCompiler

#: Compiled statements kept in this process; past it the oldest half is dropped.
LIMIT = 4096


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
    SQL instead of compiling again."""

    def __init__(self, compiled: _Compiled) -> None:
        self.compiled = compiled

    def __call__(self, using: str | None = None, connection: Any = None, elide_empty: bool = True):
        compiler = copy.copy(self.compiled.compiler)
        compiler.connection = connection or connections[using or self.compiled.queryset.db]
        sql, params = self.compiled.sql, self.compiled.params
        compiler.as_sql = lambda *args, **kwargs: (sql, params)  # type: ignore[method-assign]
        return compiler


def _compile(queryset: QuerySet) -> _Compiled:
    compiler = queryset.query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # a condition that can match nothing: runs as no rows
        sql, params = "", ()
    return _Compiled(queryset, compiler, sql, tuple(params))


def prepared_rows[M: Model](
    name: str, build: Callable[..., QuerySet[M]], *args: Hashable
) -> list[M]:
    """The rows of ``build(*args)``, whose SQL is compiled once per ``(name, args)``
    (module docstring: the SQL may depend on ``args`` only)."""
    key = (name, args)
    compiled = _cache.get(key)
    if compiled is None:
        compiled = _compile(build(*args))
        with _lock:
            if len(_cache) >= LIMIT:
                for old in list(_cache)[: LIMIT // 2]:
                    del _cache[old]
            _cache[key] = compiled
    run = compiled.queryset._chain()  # type: ignore[attr-defined]
    run.query.get_compiler = _RunCompiled(compiled)
    return list(run)


def clear() -> None:
    """Forget every compiled statement (tests that change what a build would produce)."""
    with _lock:
        _cache.clear()
