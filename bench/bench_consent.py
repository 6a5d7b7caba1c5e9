"""Consent at district scale: a 100,000-row CSV import and coverage over 1,000,000 records.

Import: the same file through the real services (preview = every check; confirm = checks
again, then writes records and per-student states in one transaction), once with PostgreSQL
COPY into a temporary table + INSERT ... SELECT (ours) and once with the ORM's bulk_create
(baseline), each into a fresh agreement.

Coverage: 1,000,000 records of 250,000 students in one agreement (generated in SQL, states
and counts derived by the real rebuild service). Ours reads the coverage counts maintained
with every write (a few hundred rows) plus the aged-out correction; the baseline gives the
same answer without any maintained table: a DISTINCT ON (student_key, given_by)
latest-record query over the records, then the effective-state function per student. Both
answers are checked to be equal. A GROUP BY over the per-student state rows is shown too.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import time
from collections import Counter

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from agreements.demo import PLACEHOLDERS, seed_templates
from agreements.models import Agreement, Identifiability
from agreements.negotiation.services import agreement_create, data_element_add
from bench.harness import Result, median_ms, scaled
from consent import selectors, services
from consent import tasks as consent_tasks
from consent.models import ConsentForm, StudentConsent
from consent.rules import ConsentKind, bucket_of, effective_state
from partners.demo import seed_partners

TODAY = dt.date(2026, 10, 15)
IMPORT_ROWS = scaled(100_000, 300)
STUDENTS = scaled(250_000, 500)  # x 4 records = 1,000,000
RECORDS = STUDENTS * 4
SCHOOLS = 40


def _agreement(collaboratory, title: str) -> tuple[Agreement, ConsentForm]:
    users = {u.username: u for u in get_user_model().objects.all()}
    trio = collaboratory.trios.get(slug="adaptive-practice")
    version = seed_templates(collaboratory)[2]
    director = users["director"]
    agreement = agreement_create(
        trio=trio,
        template_version=version,
        by=director,
        title=title,
        purpose="Benchmark.",
        sharing_mode="analysis",
        start_date=dt.date(2025, 8, 1),
        term_months=36,
        breach_notice_hours=72,
        retention_days=90,
        research_questions=list(trio.research_questions.all()),
        placeholder_values=PLACEHOLDERS,
    )
    members = {m.role: m.organisation for m in trio.members.select_related("organisation")}
    data_element_add(
        agreement=agreement,
        by=director,
        name="Unit scores",
        source=members["district"],
        recipient=members["research"],
        identifiability=Identifiability.PSEUDONYMOUS,
        research_questions=[trio.research_questions.first()],
    )
    services.consent_requirement_set(
        agreement=agreement, by=director, kind=ConsentKind.PARENTAL_ASSENT
    )
    form = services.consent_form_add(
        agreement=agreement,
        by=director,
        language="en",
        title="Permission",
        body="May we?",
        effective_date=dt.date(2025, 8, 1),
    )
    return agreement, form


def _csv(rows: int) -> bytes:
    """A district's file: parent decisions, assents, some withdrawals and re-grants."""
    rng = random.Random(7)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "student_key",
            "decision",
            "given_by",
            "method",
            "date",
            "school",
            "grade",
            "birth_year",
            "witness",
        ]
    )
    written = student = 0
    while written < rows:
        student += 1
        key, grade = f"D{student:07d}", 6 + student % 7
        attributes = [f"School {student % SCHOOLS:02d}", grade, 2026 - grade - 6]
        day = dt.date(2025, 9, 1) + dt.timedelta(days=rng.randint(0, 300))
        refused = rng.random() < 0.1
        lines = [
            [key, "refused" if refused else "granted", "parent", "paper", day, *attributes, ""]
        ]
        if not refused:
            lines.append(
                [
                    key,
                    "granted",
                    "student",
                    "electronic",
                    day + dt.timedelta(days=2),
                    *attributes,
                    "",
                ]
            )
            if rng.random() < 0.15:
                lines.append(
                    [
                        key,
                        "withdrawn",
                        "parent",
                        "paper",
                        day + dt.timedelta(days=20),
                        *attributes,
                        "",
                    ]
                )
        for line in lines[: rows - written]:
            writer.writerow(line)
            written += 1
    return buffer.getvalue().encode()


def _import(collaboratory, content: bytes, *, method: str, title: str) -> tuple[float, float]:
    agreement, form = _agreement(collaboratory, title)
    director = get_user_model().objects.get(username="director")
    start = time.perf_counter()
    preview = services.consent_import_preview(
        agreement=agreement,
        by=director,
        filename="bench.csv",
        content=content,
        default_form=form,
        today=TODAY,
    )
    checked = time.perf_counter()
    assert preview.error_count == 0, preview.errors[:3]
    done = services.consent_import_confirm(
        consent_import=preview, by=director, method=method, today=TODAY
    )
    finished = time.perf_counter()
    assert done.records_created == IMPORT_ROWS
    return checked - start, finished - checked


GENERATE_RECORDS = """
INSERT INTO consent_consentrecord (agreement_id, student_key, action, given_by, method, witness,
    decided_on, form_id, receipt_id, recorded_at)
SELECT %(agreement)s, 'S' || lpad(s::text, 7, '0'),
    CASE k WHEN 0 THEN CASE WHEN h %% 10 = 0 THEN 'refused' ELSE 'granted' END
           WHEN 1 THEN CASE WHEN h %% 20 = 1 THEN 'refused' ELSE 'granted' END
           WHEN 2 THEN CASE WHEN h %% 10 IN (2, 3) THEN 'withdrawn' ELSE 'granted' END
           ELSE 'granted' END,
    CASE WHEN k = 1 OR (k = 3 AND h %% 10 <> 3) THEN 'student' ELSE 'parent' END,
    'paper', '', DATE '2025-09-01' + (h %% 200) + k * 7, %(form)s, gen_random_uuid(), now()
FROM generate_series(1, %(students)s) AS s,
     generate_series(0, 3) AS k,
     LATERAL (SELECT abs(hashtext(s::text)) AS h) AS hashed
"""
GENERATE_STUDENTS = """
INSERT INTO consent_studentconsent (agreement_id, student_key, school, grade, birth_year,
    parent_action, student_action, state, permitted, state_as_of, created_at, updated_at)
SELECT %(agreement)s, 'S' || lpad(s::text, 7, '0'), 'School ' || lpad((s %% 40)::text, 2, '0'),
    6 + s %% 7, 2026 - (6 + s %% 7) - 6 - (s %% 2), '', '', 'no_response', false,
    DATE '2025-09-01', now(), now()
FROM generate_series(1, %(students)s) AS s
"""


def _baseline_coverage(agreement, kind: str) -> Counter:
    """Students per (school, grade, state), from the records alone."""
    latest = selectors.latest_decisions_as_of(agreement.pk, TODAY)
    counts: Counter = Counter()
    for key, school, grade, birth_year in (
        StudentConsent.objects.filter(agreement_id=agreement.pk)
        .values_list("student_key", "school", "grade", "birth_year")
        .iterator(chunk_size=20_000)
    ):
        state = effective_state(
            latest.get(key, ()), kind=kind, birth_year=birth_year, as_of=TODAY
        ).state
        counts[(school, grade, state)] += 1
    return counts


def _same_answer(coverage: selectors.Coverage, expected: Counter) -> bool:
    """Whether ``coverage`` (states overall, buckets per school and grade) says what the
    baseline's per-(school, grade, state) counts say."""
    states: Counter = Counter()
    cells: Counter = Counter()
    for (school, grade, state), count in expected.items():
        states[state] += count
        cells[(school, grade, bucket_of(state))] += count
    ours = Counter(
        {
            (row.school, row.grade, bucket): count
            for row in coverage.rows
            for bucket, count in row.buckets.items()
            if count
        }
    )
    return +coverage.states == +states and ours == cells


def run() -> list[Result]:
    # The trend is rebuilt by a background task after each change; measured on its own.
    queued: list[str] = []
    consent_tasks.rebuild_trend.delay = lambda agreement_id: queued.append(agreement_id)
    collaboratory = seed_partners()
    results: list[Result] = []

    content = _csv(IMPORT_ROWS)
    copy_check, copy_write = _import(collaboratory, content, method="copy", title="Bench COPY")
    orm_check, orm_write = _import(collaboratory, content, method="orm", title="Bench ORM")
    size = f"{IMPORT_ROWS:,}-row CSV ({len(content) / 1e6:.1f} MB)"
    results.append(
        Result(
            f"consent import of a {size}: confirm (re-check + write, one transaction), "
            "COPY vs ORM bulk_create",
            copy_write,
            orm_write,
            "s",
            "< 10 s",
        )
    )
    results.append(
        Result(
            "  preview of the same file (every check, nothing written)",
            copy_check,
            orm_check,
            "s",
            "",
        )
    )
    results.append(
        Result(
            "  upload to imported: preview + confirm",
            copy_check + copy_write,
            orm_check + orm_write,
            "s",
            "",
        )
    )
    imported = Agreement.objects.get(title="Bench COPY")
    start = time.perf_counter()
    services.coverage_trend_rebuild(agreement_id=imported.pk, today=TODAY)
    results.append(
        Result(
            f"trend rebuild from {IMPORT_ROWS:,} records (background task)",
            time.perf_counter() - start,
            None,
            "s",
            "off the request path",
        )
    )

    big, form = _agreement(collaboratory, "Bench million")
    params = {"agreement": big.pk, "form": form.pk, "students": STUDENTS}
    with connection.cursor() as cursor:
        cursor.execute(GENERATE_RECORDS, params)
        cursor.execute(GENERATE_STUDENTS, params)
    start = time.perf_counter()
    corrected = services.consent_states_rebuild(agreement=big, today=TODAY)
    rebuild = time.perf_counter() - start
    assert corrected == STUDENTS
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE consent_consentrecord")
        cursor.execute("VACUUM ANALYZE consent_studentconsent")
        cursor.execute(
            "SELECT count(*) FROM consent_consentrecord WHERE agreement_id = %s", [big.pk]
        )
        assert cursor.fetchone()[0] == RECORDS
    results.append(
        Result(
            f"state rebuild from {RECORDS:,} records ({STUDENTS:,} students; repair tool)",
            rebuild,
            None,
            "s",
            "",
        )
    )

    kind = ConsentKind.PARENTAL_ASSENT
    start = time.perf_counter()
    expected = _baseline_coverage(big, kind)  # slow: measured once, and used as the answer
    baseline = (time.perf_counter() - start) * 1000
    assert _same_answer(selectors.coverage(big, kind=kind, today=TODAY), expected)
    ours = median_ms(lambda: selectors.coverage(big, kind=kind, today=TODAY), repeat=15)
    results.append(
        Result(
            f"coverage by school x grade x state, {RECORDS:,} records (median)",
            ours,
            baseline,
            "ms",
            "< 100 ms median",
        )
    )

    def group_by_states() -> list:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT school, grade, state, count(*) FROM consent_studentconsent "
                "WHERE agreement_id = %s GROUP BY school, grade, state",
                [big.pk],
            )
            return cursor.fetchall()

    results.append(
        Result(
            f"  (for comparison: GROUP BY over the {STUDENTS:,} per-student state rows)",
            median_ms(group_by_states, repeat=7),
            None,
            "ms",
            "",
        )
    )

    client = Client()
    client.force_login(get_user_model().objects.get(username="director"))
    url = f"/agreements/{big.pk}/consent/"
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        assert client.get(url).status_code == 200
    page = median_ms(lambda: client.get(url), repeat=7)
    results.append(
        Result(
            f"consent dashboard page, {RECORDS:,} records ({len(queries)} queries)",
            page,
            None,
            "ms",
            "",
        )
    )
    return results
