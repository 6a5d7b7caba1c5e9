"""Helpers of the tests of kept answers (collaboratory/answers.py): tests/project/test_answers.py
and tests/api/test_kept_reads.py. They commit (``transactional_db``) and use the
``fresh_answers`` fixture (tests/conftest.py): plain statements, so the SQL a request ran
names the tables it read, and no answer left in this process by a test before."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from collaboratory import answers


def read(client, url: str):
    """(the response to GET ``url``, the SQL it ran)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return response, [q["sql"] for q in queries.captured_queries]


def reads_agreements(sql: list[str]) -> bool:
    return any('"agreements_agreement"' in statement for statement in sql)


def writes(sql: str) -> bool:
    return sql.lstrip().split(" ", 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"} or (
        "FOR UPDATE" in sql.upper()
    )


def _new_snapshot() -> None:
    """Commit a transaction that only takes an id: a database state of its own."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()")


def without_commits[T](reads: Callable[[], T]) -> T:
    """``reads()``, run again until no transaction committed anywhere on the PostgreSQL
    server while it ran: the other test workers' databases share the server, and their
    commits are new snapshots too. What it found is then this test's own doing."""
    for _ in range(50):
        _new_snapshot()  # nothing is kept under it yet
        before = answers.database_state()
        found = reads()
        if answers.database_state() == before:
            return found
    pytest.fail("the server never went two reads without a commit")
