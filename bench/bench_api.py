"""The partner API's agreement list at 10,000 agreements across 200 organisations.

- Latency (median, p95) of ``GET /api/v1/agreements/?page_size=100`` for one organisation
  through the Django test client (the whole stack: middleware, token, rate limit, ETag),
  against a baseline of hand-written SQL + ``json.dumps`` producing the same JSON (checked
  equal), measured in the same run. Goal: within 3x.
- Requests per second under gunicorn (2 workers) on a free loopback port, from a pool of
  concurrent loopback clients making a bounded number of requests.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from bench.harness import Result, database_url, free_port, p95, scaled, stop, timings

ROOT = Path(__file__).resolve().parent.parent
ORGANISATIONS = scaled(200, 9)
AGREEMENTS = scaled(10_000, 120)
TRIOS = scaled(400, 12)
PAGE_SIZE = scaled(100, 10)
SAMPLES = 40
GUNICORN_REQUESTS = scaled(800, 8)
GUNICORN_SECONDS = scaled(20, 5)
GUNICORN_CLIENTS = scaled(8, 2)
GUNICORN_WORKERS = scaled(2, 1)


def _build_world():
    """Organisations, trios and agreements with bulk inserts; returns (organisation, token)."""
    from agreements.models import Agreement, Approval, DSATemplate, Signature, TemplateVersion
    from partners.api_auth import api_token_issue
    from partners.models import Collaboratory, Organisation, Trio, TrioMember

    rng = random.Random(6)
    user = get_user_model().objects.create_user(username="bench-api", password="x" * 16)
    with transaction.atomic():
        collaboratory = Collaboratory.objects.create(
            name="Bench API", slug="bench-api", code="BAPI"
        )
        kinds = ["research", "district", "developer"]
        organisations = Organisation.objects.bulk_create(
            [
                Organisation(
                    name=f"Bench org {n:03d}", slug=f"bench-org-{n:03d}", kind=kinds[n % 3]
                )
                for n in range(ORGANISATIONS)
            ]
        )
        by_kind = {k: [o for o in organisations if o.kind == k] for k in kinds}
        template = DSATemplate.objects.create(
            collaboratory=collaboratory, name="Bench standard DSA", slug="bench-dsa"
        )
        version = TemplateVersion.objects.create(
            template=template,
            number=1,
            title="Bench standard DSA v1",
            status="published",
            published_at=timezone.now(),
        )
        trios = Trio.objects.bulk_create(
            [
                Trio(
                    collaboratory=collaboratory,
                    name=f"Bench trio {n:04d}",
                    slug=f"bench-trio-{n:04d}",
                )
                for n in range(TRIOS)
            ]
        )
        members = []
        for trio in trios:
            for kind in kinds:
                members.append(
                    TrioMember(trio=trio, organisation=rng.choice(by_kind[kind]), role=kind)
                )
        TrioMember.objects.bulk_create(members)  # the 3-member trigger checks at commit
        now = timezone.now()
        today = timezone.localdate()
        agreements = Agreement.objects.bulk_create(
            [
                Agreement(
                    id=uuid.UUID(int=rng.getrandbits(128)),
                    reference=f"BAPI-{n:05d}",
                    trio=trios[n % TRIOS],
                    template_version=version,
                    title=f"Bench agreement {n:05d}",
                    purpose="Benchmark purpose.",
                    sharing_mode="analysis",
                    start_date=today,
                    expires_on=today + dt.timedelta(days=365 + n % 300),
                    breach_notice_hours=72,
                    retention_days=90,
                    status=rng.choice(["draft", "negotiating", "in_review", "signing", "active"]),
                    status_changed_at=now - dt.timedelta(minutes=n),
                )
                for n in range(AGREEMENTS)
            ],
            batch_size=2000,
        )
        # The organisation in the most trios; its agreements get approvals and signatures.
        counts: dict[int, int] = {}
        for member in members:
            counts[member.organisation_id] = counts.get(member.organisation_id, 0) + 1
        target_id = max(counts, key=counts.__getitem__)
        target = next(o for o in organisations if o.pk == target_id)
        party_trios = {m.trio_id for m in members if m.organisation_id == target_id}
        parties = {}
        for member in members:
            parties.setdefault(member.trio_id, []).append(member.organisation_id)
        approvals, signatures = [], []
        for agreement in agreements:
            if agreement.trio_id in party_trios and agreement.status in ("signing", "active"):
                for organisation_id in parties[agreement.trio_id]:
                    approvals.append(
                        Approval(
                            agreement=agreement,
                            organisation_id=organisation_id,
                            user=user,
                            text_hash="0" * 64,
                        )
                    )
                    if agreement.status == "active":
                        signatures.append(
                            Signature(
                                agreement=agreement,
                                organisation_id=organisation_id,
                                user=user,
                                typed_name="Bench",
                                intent_statement="I sign.",
                                text_hash="0" * 64,
                            )
                        )
        Approval.objects.bulk_create(approvals, batch_size=2000)
        Signature.objects.bulk_create(signatures, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    _, token = api_token_issue(organisation=target, name="bench")
    return target, token


# --- The baseline: the same JSON from hand-written SQL ------------------------------------

PAGE_SQL = """
SELECT a.id, a.reference, a.title, a.status, a.status_changed_at, t.id, t.name,
       v.id, tpl.name, v.number, a.start_date, a.expires_on, a.updated_at, a.trio_id,
       EXISTS (SELECT 1 FROM agreements_document d WHERE d.agreement_id = a.id
               AND d.kind = 'executed' AND d.sealed),
       -- data_flow_permitted: active, today in its term, required approvals current
       a.status = 'active' AND a.start_date <= %s
       AND LEAST(COALESCE(a.ends_on, a.expires_on), a.expires_on) >= %s
       AND NOT EXISTS (
           SELECT 1 FROM unnest(tpl.required_research_approvals) AS required(kind)
           WHERE NOT EXISTS (
               SELECT 1 FROM agreements_researchapproval r
               WHERE r.agreement_id = a.id AND r.kind = required.kind
               AND r.withdrawn_at IS NULL AND r.approved_on <= %s AND r.expires_on >= %s))
FROM agreements_agreement a
JOIN partners_trio t ON t.id = a.trio_id
JOIN agreements_templateversion v ON v.id = a.template_version_id
JOIN agreements_dsatemplate tpl ON tpl.id = v.template_id
WHERE a.trio_id IN (SELECT trio_id FROM partners_triomember WHERE organisation_id = %s)
ORDER BY a.updated_at DESC, a.id
LIMIT %s OFFSET %s
"""
COUNT_SQL = """
SELECT count(*) FROM agreements_agreement a
WHERE a.trio_id IN (SELECT trio_id FROM partners_triomember WHERE organisation_id = %s)
"""
PARTIES_SQL = """
SELECT m.trio_id, m.role, o.id, o.slug, o.name, o.kind
FROM partners_triomember m JOIN partners_organisation o ON o.id = m.organisation_id
WHERE m.trio_id = ANY(%s)
"""
APPROVALS_SQL = """
SELECT agreement_id, organisation_id, created_at FROM agreements_approval
WHERE agreement_id = ANY(%s::uuid[]) AND voided_at IS NULL ORDER BY created_at
"""
SIGNATURES_SQL = """
SELECT agreement_id, organisation_id, signed_at FROM agreements_signature
WHERE agreement_id = ANY(%s::uuid[])
"""
ROLE_ORDER = {"research": 0, "district": 1, "developer": 2}


def _iso(value):
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def baseline_json(organisation_id: int, page: int, page_size: int, base: str) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(COUNT_SQL, [organisation_id])
        (count,) = cursor.fetchone()
        today = timezone.localdate()
        cursor.execute(
            PAGE_SQL,
            [today, today, today, today, organisation_id, page_size, (page - 1) * page_size],
        )
        rows = cursor.fetchall()
        trio_ids = list({row[13] for row in rows})
        ids = [str(row[0]) for row in rows]
        cursor.execute(PARTIES_SQL, [trio_ids])
        parties: dict[int, list] = {}
        for trio_id, role, oid, slug, name, kind in cursor.fetchall():
            parties.setdefault(trio_id, []).append((role, oid, slug, name, kind))
        cursor.execute(APPROVALS_SQL, [ids])
        approved = {(str(a), o): at for a, o, at in cursor.fetchall()}
        cursor.execute(SIGNATURES_SQL, [ids])
        signed = {(str(a), o): at for a, o, at in cursor.fetchall()}
    results = []
    for row in rows:
        agreement_id = str(row[0])
        members = sorted(parties[row[13]], key=lambda p: ROLE_ORDER[p[0]])
        results.append(
            {
                "id": agreement_id,
                "reference": row[1],
                "title": row[2],
                "status": row[3],
                "status_changed_at": _iso(row[4]),
                "trio": {"id": row[5], "name": row[6]},
                "template": {"id": row[7], "name": row[8], "version": row[9]},
                "parties": [
                    {
                        "organisation": {"id": oid, "slug": slug, "name": name, "kind": kind},
                        "role": role,
                        "approved_at": _iso(approved.get((agreement_id, oid))),
                        "signed_at": _iso(signed.get((agreement_id, oid))),
                    }
                    for role, oid, slug, name, kind in members
                ],
                "effective_date": row[10].isoformat(),
                "expires_on": row[11].isoformat(),
                "updated_at": _iso(row[12]),
                "document_url": f"{base}{agreement_id}/document" if row[14] else None,
                "data_flow_permitted": row[15],
            }
        )
    last = max(1, -(-count // page_size))
    link = f"http://testserver/api/v1/agreements/?page_size={page_size}&page="
    body = {
        "count": count,
        "page": page,
        "page_size": page_size,
        "next": f"{link}{page + 1}" if page < last else None,
        "previous": f"{link}{page - 1}" if page > 1 else None,
        "results": results,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- gunicorn -----------------------------------------------------------------------------


def gunicorn_rps(token: str) -> float:
    port = free_port()
    log = tempfile.TemporaryFile()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "collaboratory.settings_test",
        "DATABASE_URL": database_url(),
        "API_RATE_LIMIT": "100000000/minute",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "collaboratory.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(GUNICORN_WORKERS),
            # Load the app once before forking: the port opens only when it can answer.
            "--preload",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api/v1/agreements/?page_size={PAGE_SIZE}"
    headers = {"Authorization": f"Bearer {token}", "Host": "127.0.0.1"}

    def fetch(_: int) -> int:
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            response.read()
            return response.status

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                fetch(0)
                break
            except urllib.error.HTTPError as exc:
                raise RuntimeError(f"gunicorn answered {exc.code}: {exc.read()[:300]!r}") from None
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError("gunicorn did not start:\n" + log.read().decode()) from None
                time.sleep(0.2)
        for _ in range(scaled(10, 2)):  # warm the workers
            fetch(0)
        # A bounded run: at most GUNICORN_REQUESTS requests or GUNICORN_SECONDS, whichever
        # comes first (a loaded machine must not stretch the benchmark without end).
        start = time.perf_counter()
        stop_at = start + GUNICORN_SECONDS

        def client(_: int) -> list[int]:
            statuses = []
            while time.perf_counter() < stop_at and len(statuses) < per_client:
                statuses.append(fetch(0))
            return statuses

        per_client = GUNICORN_REQUESTS // GUNICORN_CLIENTS
        with ThreadPoolExecutor(GUNICORN_CLIENTS) as pool:
            statuses = [s for chunk in pool.map(client, range(GUNICORN_CLIENTS)) for s in chunk]
        elapsed = time.perf_counter() - start
        assert statuses and set(statuses) == {200}, set(statuses)
        return len(statuses) / elapsed
    finally:
        stop(process)


def run() -> list[Result]:
    started = time.perf_counter()
    organisation, token = _build_world()
    print(f"  built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    url = f"/api/v1/agreements/?page_size={PAGE_SIZE}"
    base = "http://testserver/api/v1/agreements/"

    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    ours_body = response.json()
    assert len(ours_body["results"]) == PAGE_SIZE
    baseline_body = json.loads(baseline_json(organisation.pk, 1, PAGE_SIZE, base))
    assert ours_body == baseline_body, "the baseline must produce the same JSON"

    ours = timings(lambda: client.get(url), repeat=SAMPLES, warmup=3)
    baseline = timings(
        lambda: baseline_json(organisation.pk, 1, PAGE_SIZE, base), repeat=SAMPLES, warmup=3
    )
    print(f"  latency measured at {time.perf_counter() - started:.1f} s", file=sys.stderr)
    rps = gunicorn_rps(token)
    count = ours_body["count"]
    return [
        Result(
            f"API list, page of {PAGE_SIZE} ({count} visible of {AGREEMENTS:,}), median",
            statistics.median(ours) * 1000,
            statistics.median(baseline) * 1000,
            "ms",
            "within 3x of raw SQL + json.dumps",
        ),
        Result(
            f"API list, page of {PAGE_SIZE}, p95",
            p95(ours) * 1000,
            p95(baseline) * 1000,
            "ms",
            "within 3x of raw SQL + json.dumps",
        ),
        Result(
            f"API list under gunicorn ({GUNICORN_WORKERS} workers, {GUNICORN_CLIENTS} clients)",
            rps,
            None,
            "req/s",
            "reported",
        ),
    ]
