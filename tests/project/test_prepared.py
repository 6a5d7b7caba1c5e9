"""collaboratory.prepared: a queryset compiled once per key gives the rows the queryset gives,
reads the data as it is at each call, and is not built or compiled again."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.db.models import Count, F, QuerySet
from django.test.utils import CaptureQueriesContext

from agreements.models import Agreement, Status
from agreements.selectors import PARTIES_PREFETCH
from collaboratory import prepared
from collaboratory.json_prefetch import with_json_prefetch

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    prepared.clear()
    yield
    prepared.clear()


def _agreements(status: str) -> QuerySet[Agreement]:
    return with_json_prefetch(
        Agreement.objects.filter(status=status)
        .select_related("trio__collaboratory")
        .annotate(title_length=Count("id") + F("term_months") * 0)
        .order_by("reference"),
        PARTIES_PREFETCH,
    )


def _shape(rows: list[Agreement]) -> list[tuple]:
    return [
        (
            a.pk,
            a.reference,
            a.trio.name,
            a.trio.collaboratory.slug,
            a.title_length,
            [(m.role, m.organisation.name) for m in a.trio.members.all()],
        )
        for a in rows
    ]


def test_rows_are_the_querysets_rows_with_related_objects_annotations_and_prefetches(demo):
    expected = list(_agreements(Status.ACTIVE))
    assert expected, "the demo has active agreements"

    rows = prepared.prepared_rows("test-active", _agreements, Status.ACTIVE)

    assert _shape(rows) == _shape(expected)
    # select_related and the JSON prefetch are in place: reading them costs no query.
    with CaptureQueriesContext(connection) as queries:
        _shape(rows)
    assert len(queries) == 0


def test_the_statement_is_built_once_per_key_and_run_each_call(demo):
    builds: list[str] = []

    def build(status: str) -> QuerySet[Agreement]:
        builds.append(status)
        return _agreements(status)

    first = prepared.prepared_rows("test-count", build, Status.ACTIVE)
    with CaptureQueriesContext(connection) as queries:
        second = prepared.prepared_rows("test-count", build, Status.ACTIVE)
    assert builds == [Status.ACTIVE]
    assert len(queries) == 1  # run again, not served from a cache of rows
    assert _shape(second) == _shape(first)

    prepared.prepared_rows("test-count", build, Status.DRAFT)
    assert builds == [Status.ACTIVE, Status.DRAFT]  # another key is another statement


def test_each_call_reads_the_data_as_it_is_then(demo):
    before = prepared.prepared_rows("test-fresh", _agreements, Status.NEGOTIATING)
    assert before, "the demo has agreements in negotiation"
    changed = before[0]
    Agreement.objects.filter(pk=changed.pk).update(title="Renamed while cached")

    after = prepared.prepared_rows("test-fresh", _agreements, Status.NEGOTIATING)

    assert {a.pk: a.title for a in after}[changed.pk] == "Renamed while cached"


def test_a_statement_that_can_match_nothing_gives_no_rows(demo):
    def nothing() -> QuerySet[Agreement]:
        return Agreement.objects.filter(pk__in=[])

    assert prepared.prepared_rows("test-empty", nothing) == []
    assert prepared.prepared_rows("test-empty", nothing) == []


def test_another_thread_runs_the_statement_on_its_own_connection(demo):
    main = prepared.prepared_rows("test-thread", _agreements, Status.ACTIVE)
    seen: dict[str, object] = {}

    def other() -> None:
        try:
            with CaptureQueriesContext(connections["default"]) as queries:
                seen["rows"] = prepared.prepared_rows("test-thread", _agreements, Status.ACTIVE)
            seen["queries"] = len(queries)
            seen["connection"] = connections["default"]
        except Exception as error:  # reported below, not lost in the thread
            seen["error"] = error
        finally:
            connections.close_all()

    # The thread's connection does not see this test's open transaction: it reads the
    # committed demo, which holds the same active agreements.
    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert "error" not in seen, seen.get("error")
    assert seen["connection"] is not connection
    assert seen["queries"] == 1
    assert [a.pk for a in seen["rows"]] == [a.pk for a in main]  # type: ignore[attr-defined]
