"""collaboratory.prepared: a queryset compiled once per key gives the rows the queryset gives,
reads the data as it is at each call, and is not built or compiled again."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.db.models import BooleanField, CharField, Count, F, QuerySet
from django.db.models.expressions import RawSQL
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
    assert queries[0]["sql"].startswith("EXECUTE collab_")  # prepared on the first call
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
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_prepared_statements")
                if cursor.fetchone()[0] >= 1:
                    seen["prepared"] = True
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
    assert seen["queries"] == 1  # its own connection prepared the statement (unlogged), ran it
    assert "prepared" in seen
    assert [a.pk for a in seen["rows"]] == [a.pk for a in main]  # type: ignore[attr-defined]


def _server_statements() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'collab_%%'")
        return {name for (name,) in cursor.fetchall()}


def test_a_server_prepared_queryset_can_be_filtered_and_got_like_any_other(demo):
    agreement = Agreement.objects.filter(status=Status.ACTIVE).order_by("reference").first()
    assert agreement is not None
    queryset = prepared.server_prepared(_agreements(Status.ACTIVE))

    with CaptureQueriesContext(connection) as queries:
        got = queryset.get(pk=agreement.pk)
        again = queryset.get(pk=agreement.pk)
    assert (
        _shape([got])
        == _shape([again])
        == _shape([_agreements(Status.ACTIVE).get(pk=agreement.pk)])
    )
    sql = [q["sql"] for q in queries]
    assert len(sql) == 2 and all(s.startswith("EXECUTE collab_") for s in sql)
    assert len(_server_statements()) == 1  # prepared once on this connection, run twice

    # A different statement (another filter) is prepared under another name.
    assert _shape(list(queryset.filter(reference=agreement.reference))) == _shape([got])
    assert len(_server_statements()) == 2
    # Used inside another query it is only SQL: nothing is prepared for a subquery.
    inner = prepared.server_prepared(Agreement.objects.filter(status=Status.ACTIVE)).values("pk")
    assert Agreement.objects.filter(pk__in=inner).count() == len(list(queryset))
    # Writes run as they are.
    nothing = prepared.server_prepared(Agreement.objects.filter(reference="none"))
    assert nothing.update(title="x") == 0


def test_literal_percent_signs_and_missing_parameters_survive_preparing(demo):
    queryset = prepared.server_prepared(
        Agreement.objects.filter(status=Status.ACTIVE)
        .annotate(
            share=RawSQL("'100%%'", (), output_field=CharField()),
            always=RawSQL("true", (), output_field=BooleanField()),
        )
        .order_by("reference")
    )
    rows = list(queryset)
    assert rows and all(r.share == "100%" and r.always for r in rows)


def test_a_connection_holds_at_most_server_limit_statements(demo, monkeypatch):
    monkeypatch.setattr(prepared, "SERVER_LIMIT", 2)
    for status in (Status.ACTIVE, Status.NEGOTIATING, Status.SIGNING, Status.EXPIRED):
        expected = _shape(list(_agreements(status)))
        assert _shape(prepared.prepared_rows("test-limit", _agreements, status)) == expected
        assert len(_server_statements()) <= 2


def test_a_statement_prepared_in_a_rolled_back_transaction_still_runs(demo):
    from django.db import transaction

    class Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            prepared.prepared_rows("test-rollback", _agreements, Status.ACTIVE)
            raise Rollback
    except Rollback:
        pass
    with CaptureQueriesContext(connection) as queries:
        rows = prepared.prepared_rows("test-rollback", _agreements, Status.ACTIVE)
    assert rows
    assert [q["sql"][:15] for q in queries] == ["EXECUTE collab_"]


def test_server_side_preparing_can_be_turned_off_for_a_pooler(demo, settings):
    settings.DATABASE_SERVER_PREPARED = False
    expected = _shape(list(_agreements(Status.ACTIVE)))
    with CaptureQueriesContext(connection) as queries:
        rows = prepared.prepared_rows("test-off", _agreements, Status.ACTIVE)
        got = prepared.server_prepared(_agreements(Status.ACTIVE)).get(pk=rows[0].pk)
    assert _shape(rows) == expected
    assert got.pk == rows[0].pk
    assert all(q["sql"].startswith("SELECT") for q in queries)
    assert _server_statements() == set()


def test_a_statement_prepared_through_the_connection_proxy_is_known_to_the_querysets(demo):
    # django.db.connection is a proxy with a __dict__ of its own: a statement prepared
    # through it and then by a queryset (on the thread's wrapper) is prepared once.
    queryset = Agreement.objects.filter(status=Status.ACTIVE).order_by("reference")
    sql, params = queryset.query.sql_with_params()
    execute, values = prepared.execute_form(connection, sql, params)
    with connection.cursor() as cursor:
        cursor.execute(execute, values)
        first = cursor.fetchall()
    assert [row[0] for row in first] == list(queryset.values_list("pk", flat=True))
    again = list(prepared.server_prepared(queryset))  # would raise "already exists"
    assert [a.pk for a in again] == [row[0] for row in first]
    assert prepared.execute_form(connections["default"], sql, params)[0] == execute


# --- shaped_rows: compiled once per shape, run with each call's values ------------------------


def _by_title_and_trios(prefix_status: bool, *, title: str, trios: list[int], status: str):
    agreements = Agreement.objects.filter(
        RawSQL("agreements_agreement.trio_id = ANY(%s)", (trios,), output_field=BooleanField())
    ).filter(title=title)
    if prefix_status:
        agreements = agreements.filter(status=status)
    return agreements.select_related("trio").order_by("reference")


class _CountedBuild:
    """``_by_title_and_trios``, counting its calls (a shaped statement is built once per
    shape, however many values)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *shape, **values):
        self.calls += 1
        return _by_title_and_trios(*shape, **values)


def _every_shape_and_value(agreements):
    """(agreement, shape, status, values): each agreement's title and trio, unfiltered by
    status, filtered by its own status, and by "draft"."""
    for agreement in agreements:
        for shape, status in (((False,), ""), ((True,), agreement.status), ((True,), "draft")):
            values = {"title": agreement.title, "trios": [agreement.trio_id], "status": status}
            yield agreement, shape, status, values


def test_shaped_rows_are_the_querysets_rows_for_every_call_s_values(demo):
    agreements = list(Agreement.objects.select_related("trio").order_by("reference"))
    build = _CountedBuild()
    for agreement, shape, status, values in _every_shape_and_value(agreements):
        rows = prepared.shaped_rows("test-shaped", build, shape, values)
        expected = list(_by_title_and_trios(*shape, **values))
        assert [(a.pk, a.trio.name) for a in rows] == [(a.pk, a.trio.name) for a in expected]
        assert (agreement in rows) == (not shape[0] or status == agreement.status)
    # Once per shape, however many values.
    assert build.calls == 2
    # No trio, no rows: the empty list is a value like any other.
    values = {"title": agreements[0].title, "trios": [], "status": ""}
    assert prepared.shaped_rows("test-shaped", build, (False,), values) == []


def test_shaped_rows_filter_a_32_bit_column_by_its_values(demo):
    # auth's user ids are 32-bit: a stand-in outside that range made Django compile the
    # statement to "matches nothing", and every call then found no user.
    from django.contrib.auth import get_user_model

    users = list(get_user_model().objects.order_by("pk"))

    def build(*, pk):
        return get_user_model().objects.filter(pk=pk)

    for user in users:
        assert prepared.shaped_rows("test-user", build, (), {"pk": user.pk}) == [user]
    assert prepared.shaped_rows("test-user", build, (), {"pk": users[-1].pk + 1000}) == []


def test_a_statement_that_matches_nothing_with_the_stand_ins_is_built_for_each_call(demo):
    # A stand-in a column cannot hold (a negative number for a positive integer column):
    # Django compiles the stand-in's statement to "matches nothing". It is not kept as that:
    # each call builds the statement with its own values.
    calls = []

    def build(*, months):
        calls.append(months)
        return Agreement.objects.filter(term_months=months).order_by("reference")

    for months in sorted(set(Agreement.objects.values_list("term_months", flat=True))):
        expected = list(Agreement.objects.filter(term_months=months).order_by("reference"))
        assert expected
        assert prepared.shaped_rows("test-nothing", build, (), {"months": months}) == expected
    assert prepared.shaped_rows("test-nothing", build, (), {"months": 7777}) == []
    assert all(months < 0 for months in calls[::2])  # each call: the stand-in, then its own
    assert [m for m in calls[1::2]][-1] == 7777


def test_shaped_rows_refuse_a_parameter_made_from_a_value():
    # icontains makes "%value%" of the value: run with the value alone, it would match
    # only the exact title, silently.
    def build(*, title):
        return Agreement.objects.filter(title__icontains=title)

    with pytest.raises(ValueError, match="made from a value"):
        prepared.shaped_rows("test-icontains", build, (), {"title": "Data"})

    # A yes or no changes the statement: it is the shape, not a value.
    with pytest.raises(TypeError, match="shape"):
        prepared.shaped_rows(
            "test-bool", lambda *, flag: Agreement.objects.all(), (), {"flag": True}
        )


def test_shaped_rows_take_dates_and_aware_datetimes_as_values(demo):
    import datetime as dt

    from django.utils import timezone

    def build(*, after, before):
        return Agreement.objects.filter(updated_at__gt=after, expires_on__lt=before).order_by("pk")

    agreements = list(Agreement.objects.order_by("updated_at"))
    for agreement in agreements:
        for before in (agreement.expires_on, agreement.expires_on + dt.timedelta(days=1)):
            values = {
                "after": agreement.updated_at - dt.timedelta(microseconds=1),
                "before": before,
            }
            rows = prepared.shaped_rows("test-dates", build, (), values)
            assert [a.pk for a in rows] == [a.pk for a in build(**values)]
            assert (agreement in rows) == (before > agreement.expires_on)
    # A naive datetime would be made aware by the ORM (a change of the value): refused.
    naive = {"after": timezone.now().replace(tzinfo=None), "before": timezone.localdate()}
    prepared.clear()
    with pytest.raises(TypeError, match="naive"):
        prepared.shaped_rows("test-dates", build, (), naive)


def test_raw_rows_run_prepared_with_their_values_as_parameters(demo):
    sql = (
        "SELECT reference, title LIKE '%%' FROM agreements_agreement"
        " WHERE status = %s ORDER BY reference"
    )
    statuses = dict(Agreement.objects.values_list("reference", "status"))
    first, second = sorted(set(statuses.values()))[:2]  # the demo has several statuses
    with CaptureQueriesContext(connection) as queries:
        got = [prepared.fetch_rows(sql, [status]) for status in (first, second)]
    assert got == [
        [(ref, True) for ref in sorted(statuses) if statuses[ref] == status]
        for status in (first, second)
    ]
    assert got[0] and got[1] and got[0] != got[1]
    # One statement, prepared once, run twice with each call's value.
    assert [q["sql"][:15] for q in queries] == ["EXECUTE collab_"] * 2
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%title LIKE '\\%'%"],
        )
        assert cursor.fetchone() == (1,)


def test_raw_rows_run_as_they_are_with_preparing_off(demo, settings):
    settings.DATABASE_SERVER_PREPARED = False
    with CaptureQueriesContext(connection) as queries:
        rows = prepared.fetch_rows(
            "SELECT count(*) FROM agreements_agreement WHERE status = %s", [Status.ACTIVE]
        )
    assert rows == [(Agreement.objects.filter(status=Status.ACTIVE).count(),)]
    assert [q["sql"][:6] for q in queries] == ["SELECT"]
    assert _server_statements() == set()


def test_shaped_count_is_the_querysets_count_for_every_call_s_values(demo):
    agreements = list(Agreement.objects.select_related("trio").order_by("reference"))
    build = _CountedBuild()
    for _, shape, _, values in _every_shape_and_value(agreements):
        expected = _by_title_and_trios(*shape, **values).count()
        assert prepared.shaped_count("test-count", build, shape, values) == expected
    assert build.calls == 2  # once per shape
    trios = sorted({a.trio_id for a in agreements})
    with CaptureQueriesContext(connection) as queries:
        none = prepared.shaped_count("test-count", build, (False,), {**values, "trios": []})
    assert none == 0
    assert [q["sql"][:15] for q in queries] == ["EXECUTE collab_"]
    assert trios


def test_shaped_count_of_a_slice_is_capped_like_the_querysets(demo):
    every = Agreement.objects.count()
    assert every > 2

    def build(cap, *, status):
        return Agreement.objects.exclude(status=status).order_by("reference")[:cap]

    for cap in (1, 2, every + 5):
        got = prepared.shaped_count("test-capped", build, (cap,), {"status": "no such status"})
        assert got == min(cap, every) == build(cap, status="no such status").count()
