"""Server time of the full-document comparison page at the size legal teams work with.

A 40-clause, ~15,000-word template version (the prose generator of bench_redline.py) and an
agreement made from it with 6 clauses edited in a few words, 2 inserted and 1 deleted, all
through the real services and accepted by the other parties. Measured with Django's test
client (the whole request: middleware, selectors, consolidation, redlines, template), median
of several runs, with the process's diff cache warm (a page shows each clause's diff several
ways and people reload it) and cleared before every run (a first view). Baseline, in the same
run: the agreement's own detail page, which shows the same consolidated text without any
redline.
"""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agreements.models import Agreement
from agreements.negotiation.proposals import override_propose, override_respond
from agreements.negotiation.services import (
    agreement_create,
    agreement_open_negotiation,
    data_element_add,
)
from agreements.selectors import with_agreement_detail
from agreements.standards.services import (
    template_create,
    template_version_create,
    template_version_publish,
)
from agreements.text import redline
from bench.bench_redline import CLAUSES, EDITED, SEED, WORDS, _clause, _edit
from bench.harness import Result, median_ms
from partners.models import Collaboratory, Organisation, ResearchQuestion
from partners.services import membership_grant, trio_create

GOAL = "< 100 ms"


class _Clause:
    def __init__(self, key: str, number: str, heading: str, body: str) -> None:
        self.key, self.number, self.heading, self.body = key, number, heading, body


def _setup() -> tuple[Agreement, object]:
    rng = random.Random(SEED)
    collaboratory = Collaboratory.objects.create(
        name="Bench review", slug="bench-review", code="BREV"
    )
    kinds = ("research", "district", "developer")
    orgs = {
        kind: Organisation.objects.create(
            name=f"Review bench {kind}", slug=f"review-bench-{kind}", kind=kind
        )
        for kind in kinds
    }
    users = {}
    for kind in kinds:
        users[kind] = get_user_model().objects.create_user(
            username=f"review-bench-{kind}", password="x" * 16
        )
        for role in ("legal", "director"):
            membership_grant(user=users[kind], organisation=orgs[kind], role=role)
    trio = trio_create(
        collaboratory=collaboratory,
        name="Review bench trio",
        research=orgs["research"],
        district=orgs["district"],
        developer=orgs["developer"],
    )
    question = ResearchQuestion.objects.create(trio=trio, text="Does it work?", position=1)
    template = template_create(collaboratory=collaboratory, name="Bench DSA", slug="bench-dsa")
    bodies = [_clause(rng, WORDS // CLAUSES) for _ in range(CLAUSES)]
    version = template_version_create(
        template=template,
        title="Bench DSA",
        clauses=[
            _Clause(f"clause-{i:02d}", str(i), f"Clause {i} heading", body)
            for i, body in enumerate(bodies, start=1)
        ],
    )
    version = template_version_publish(version=version, by=users["district"])
    agreement = agreement_create(
        trio=trio,
        template_version=version,
        by=users["district"],
        title="Bench agreement",
        purpose="Benchmark.",
        sharing_mode="analysis",
        start_date=dt.date(2026, 9, 1),
        term_months=12,
        breach_notice_hours=72,
        retention_days=90,
        research_questions=[question],
    )
    data_element_add(
        agreement=agreement,
        by=users["district"],
        name="Scores",
        source=orgs["district"],
        recipient=orgs["research"],
        identifiability="pseudonymous",
        research_questions=[question],
    )
    agreement_open_negotiation(agreement=agreement, by=users["district"])

    def agree(party: str, **proposal) -> None:
        fresh = with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)
        override = override_propose(
            agreement=fresh, by=users[party], rationale="Benchmark change.", **proposal
        )
        for other in kinds:
            if other != party:
                override_respond(override=override, by=users[other], decision="accept")

    edited = rng.sample(range(CLAUSES), EDITED)
    for n, index in enumerate(edited):
        agree(
            kinds[n % 3],
            kind="replace",
            clause_key=f"clause-{index + 1:02d}",
            body=_edit(rng, bodies[index]),
        )
    spare = [i for i in range(CLAUSES) if i not in edited]
    agree("developer", kind="delete", clause_key=f"clause-{spare[0] + 1:02d}")
    for n, index in enumerate(spare[1:3]):
        agree(
            "research",
            kind="insert",
            clause_key=f"clause-{index + 1:02d}",
            new_key=f"inserted-{n}",
            heading=f"Inserted clause {n}",
            body=_clause(rng, 300),
        )
    client = Client()
    client.force_login(users["research"])
    return agreement, client


def run() -> list[Result]:
    agreement, client = _setup()
    compare = reverse("agreement-compare", args=[agreement.pk])
    side = compare + "?view=side"
    detail = reverse("agreement-detail", args=[agreement.pk])
    docx = reverse("agreement-redline-docx", args=[agreement.pk])
    reset_queries()  # a full query log (DEBUG, after the set-up) would capture nothing
    with CaptureQueriesContext(connection) as queries:
        response = client.get(compare)
    assert response.status_code == 200, response.status_code
    query_count = len(queries)  # now: later requests reset the log it reads from
    page = response.content.decode()
    summary = (  # the clauses and the generated data-element schedule, a part of the text
        f"{EDITED + 1} of {CLAUSES + 1} clauses deviate from the standard "
        f"({EDITED} modified, 1 deleted); 0 conflicts"
    )
    assert summary in page and page.count('class="state state--inserted"') == 2
    words = sum(len(c.body.split()) for c in agreement.template_version.clauses.all())
    baseline = median_ms(lambda: client.get(detail), repeat=9)
    label = f"{CLAUSES} clauses, {words:,} words"

    def cold() -> None:
        redline._cached_ops.cache_clear()  # every clause diffed again, as on a first view
        client.get(compare)

    return [
        Result(
            f"comparison page vs template, inline ({label})",
            median_ms(lambda: client.get(compare), repeat=9),
            baseline,
            "ms",
            f"{GOAL} server time; baseline: the plain agreement page",
        ),
        Result(
            f"comparison page vs template, inline, diffs not cached ({label})",
            median_ms(cold, repeat=9),
            baseline,
            "ms",
            f"{GOAL} server time",
        ),
        Result(
            f"comparison page vs template, side by side ({label})",
            median_ms(lambda: client.get(side), repeat=9),
            baseline,
            "ms",
            f"{GOAL} server time",
        ),
        Result("comparison page queries", float(query_count), None, "queries", "fixed (8)"),
        Result(
            f"redline .docx with tracked changes ({label})",
            median_ms(lambda: client.get(docx), repeat=5),
            baseline,
            "ms",
            "download; no goal",
        ),
    ]
