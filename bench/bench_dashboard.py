"""The dashboard's trio list at 10 / 100 / 1,000 trios: server time and query count.

Baseline: one hand-written SQL query for the same page of rows, rendered by joining strings —
the least work that can produce the list. Time and query count must not grow with the trio
count (the list is paginated).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from agreements.web.dashboard import TRIOS_PER_PAGE
from bench.harness import Result, median_ms, scaled
from partners.models import Collaboratory, Organisation
from partners.services import membership_grant, trio_create

BASELINE_SQL = """
SELECT t.id, t.name, t.slug, c.name, c.slug, o.name, m.role
FROM partners_trio t
JOIN partners_collaboratory c ON c.id = t.collaboratory_id
JOIN partners_triomember m ON m.trio_id = t.id
JOIN partners_organisation o ON o.id = m.organisation_id
WHERE t.id IN (
    SELECT tm.trio_id FROM partners_triomember tm
    WHERE tm.organisation_id IN (SELECT organisation_id FROM partners_membership WHERE user_id = %s)
)
ORDER BY c.name, t.name, m.role
LIMIT %s
"""


def _baseline(user_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(BASELINE_SQL, [user_id, TRIOS_PER_PAGE * 3])
        rows = cursor.fetchall()
    parts = []
    for _tid, name, slug, cname, cslug, org, role in rows:
        parts.append(f'<li><a href="/trios/{cslug}/{slug}/">{name}</a> {cname} {role}: {org}</li>')
    return "<ul>" + "".join(parts) + "</ul>"


def run() -> list[Result]:
    collaboratory = Collaboratory.objects.create(name="Bench", slug="bench", code="BENCH")
    research = Organisation.objects.create(name="Bench Lab", slug="bench-lab", kind="research")
    district = Organisation.objects.create(name="Bench USD", slug="bench-usd", kind="district")
    developer = Organisation.objects.create(name="Bench Dev", slug="bench-dev", kind="developer")
    user = get_user_model().objects.create_user(username="bench-director", password="x" * 16)
    membership_grant(user=user, organisation=district, role="director")
    client = Client()
    client.force_login(user)

    results: list[Result] = []
    created = 0
    for size in scaled((10, 100, 1000), (2, 5)):
        while created < size:
            created += 1
            trio_create(
                collaboratory=collaboratory,
                name=f"Bench trio {created:04d}",
                research=research,
                district=district,
                developer=developer,
            )
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/")
        query_count = len(queries)
        assert response.status_code == 200
        assert response.content.count(b'class="card"') == min(size, TRIOS_PER_PAGE)
        ours = median_ms(lambda: client.get("/"), repeat=7)
        baseline = median_ms(lambda: _baseline(user.pk), repeat=7)
        results.append(
            Result(f"dashboard trio list, {size} trios", ours, baseline, "ms", "flat in trio count")
        )
        results.append(
            Result(
                f"dashboard queries, {size} trios",
                float(query_count),
                1.0,
                "queries",
                "constant (same at every size)",
            )
        )
    return results
