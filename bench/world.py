"""The loaded world the page and load benchmarks measure: agreements on the demo's standard
template across trios of bulk-inserted organisations, in every lifecycle status, with a district
director who sees the agreements of the district in the most trios, a facilitator who sees
them all, and that district's API token.

``World.build(agreements=10_000)`` creates it; ``world.grow(100_000)`` adds agreements to the
same trios (the same people, tokens and visible trios), so one run can measure the same pages
at two sizes. Everything is bulk-inserted: 10,000 agreements take ~10 s.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection, transaction
from django.utils import timezone

#: The two people log in through the form in the load test.
PASSWORD = secrets.token_urlsafe(16)
API_PAGE_SIZE = 50
#: PostgreSQL refuses new data elements of a signed text: these statuses are set last.
LOCKED = ("signing", "active", "expired")
STATUSES = ["draft", "negotiating", "in_review", "signing", "active", "expired"]
KINDS = ["research", "district", "developer"]


@dataclass
class World:
    director: str
    facilitator: str
    token: str
    own_ids: list[str]  # agreements the district (director, token) is a party to
    all_ids: list[str]
    # What growing needs: the template, trios and their parties, the district.
    _state: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def api_pages(self) -> int:
        """Pages of API_PAGE_SIZE the API list requests are spread over (the first four)."""
        return max(1, min(4, -(-len(self.own_ids) // API_PAGE_SIZE)))

    def list_positions(self, *, own: bool, count: int = 200) -> list[str]:
        """``after`` positions of the agreement list (its keyset pages) at ``count`` agreements
        spread over the district's (``own``) or all agreements: following one is a page deep
        in the list, as "Older" links give."""
        from agreements.models import Agreement
        from agreements.web.agreement_list import Position

        ids = self.own_ids if own else self.all_ids
        sample = random.Random(7).sample(ids, min(count, len(ids)))
        rows = Agreement.objects.filter(pk__in=sample).only("id", "updated_at")
        return [str(Position.of(row)) for row in rows]

    @classmethod
    def build(cls, *, agreements: int, trios: int, organisations: int) -> World:
        from agreements.demo import seed_templates
        from partners.api_auth import api_token_issue
        from partners.models import Collaboratory, Organisation, Trio, TrioMember
        from partners.services import membership_grant

        rng = random.Random(12)
        password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
        users = get_user_model().objects
        director = users.create(username="load-director", password=password)
        facilitator = users.create(username="load-facilitator", password=password)
        with transaction.atomic():
            collaboratory = Collaboratory.objects.create(
                name="Bench load", slug="bench-load", code="BLOAD"
            )
            collaboratory.staff.add(facilitator)
            version = seed_templates(collaboratory)[2]
            created = Organisation.objects.bulk_create(
                [
                    Organisation(
                        name=f"Load org {n:03d}", slug=f"load-org-{n:03d}", kind=KINDS[n % 3]
                    )
                    for n in range(organisations)
                ]
            )
            by_kind = {k: [o for o in created if o.kind == k] for k in KINDS}
            trio_rows = Trio.objects.bulk_create(
                [
                    Trio(
                        collaboratory=collaboratory, name=f"Load trio {n:04d}", slug=f"load-{n:04d}"
                    )
                    for n in range(trios)
                ]
            )
            members = [
                TrioMember(trio=trio, organisation=rng.choice(by_kind[kind]), role=kind)
                for trio in trio_rows
                for kind in KINDS
            ]
            TrioMember.objects.bulk_create(members)  # the 3-member trigger checks at commit
        parties: dict[int, dict[str, int]] = {}
        for m in members:
            parties.setdefault(m.trio_id, {})[m.role] = m.organisation_id
        # The district in the most trios: its director and its API token load the system.
        counts: dict[int, int] = {}
        for m in members:
            if m.role == "district":
                counts[m.organisation_id] = counts.get(m.organisation_id, 0) + 1
        target_id = max(counts, key=counts.__getitem__)
        target = next(o for o in created if o.pk == target_id)
        membership_grant(user=director, organisation=target, role="director")
        _, token = api_token_issue(organisation=target, name="load bench")
        world = cls(
            director=director.username,
            facilitator=facilitator.username,
            token=token,
            own_ids=[],
            all_ids=[],
            _state={
                "rng": rng,
                "version": version,
                "clause_keys": list(version.clauses.values_list("key", flat=True)),
                "trios": trio_rows,
                "parties": parties,
                "own_trios": {m.trio_id for m in members if m.organisation_id == target_id},
                "director": director,
            },
        )
        world.grow(agreements)
        return world

    def grow(self, total: int) -> None:
        """Add agreements until there are ``total``, then VACUUM ANALYZE."""
        from agreements.demo import PLACEHOLDERS
        from agreements.models import (
            Agreement,
            Approval,
            ClauseOverride,
            DataElement,
            Identifiability,
            Signature,
        )

        s = self._state
        rng, trios, parties, director = s["rng"], s["trios"], s["parties"], s["director"]
        first = len(self.all_ids)
        now = timezone.now()
        today = timezone.localdate()
        final = [rng.choice(STATUSES) for _ in range(first, total)]
        with transaction.atomic():
            agreements = Agreement.objects.bulk_create(
                [
                    Agreement(
                        id=uuid.UUID(int=rng.getrandbits(128)),
                        reference=f"BLOAD-{n:06d}",
                        trio=trios[n % len(trios)],
                        template_version=s["version"],
                        title=f"Load study {n:06d} of classroom data",
                        purpose="Measure how students use the curriculum and what it does for "
                        "their learning, with data shared under the standard agreement.",
                        sharing_mode=rng.choice(["analysis", "operations"]),
                        start_date=today - dt.timedelta(days=n % 400),
                        expires_on=today + dt.timedelta(days=30 + n % 700),
                        breach_notice_hours=72,
                        retention_days=365,
                        placeholder_values=PLACEHOLDERS,
                        status=f if f not in LOCKED else "in_review",
                        status_changed_at=now - dt.timedelta(minutes=n),
                    )
                    for n, f in zip(range(first, total), final, strict=True)
                ],
                batch_size=2000,
            )
            final_of = {a.pk: f for a, f in zip(agreements, final, strict=True)}
            own = [a for a in agreements if a.trio_id in s["own_trios"]]
            elements, overrides, approvals, signatures = [], [], [], []
            for agreement in own:
                status = final_of[agreement.pk]
                trio_parties = parties[agreement.trio_id]
                for position, (name, source) in enumerate(
                    [("Assessment scale scores", "district"), ("Platform usage logs", "developer")]
                ):
                    elements.append(
                        DataElement(
                            agreement=agreement,
                            name=name,
                            source_id=trio_parties[source],
                            recipient_id=trio_parties["research"],
                            identifiability=Identifiability.DEIDENTIFIED,
                            position=position,
                        )
                    )
                if status == "negotiating":
                    overrides.append(
                        ClauseOverride(
                            agreement=agreement,
                            organisation_id=trio_parties["research"],
                            kind="replace",
                            clause_key=rng.choice(s["clause_keys"]),
                            body="The parties shall review any publication 30 days before "
                            "submission; reviewers may not require changes to findings.",
                            rationale="Our IRB requires that partners cannot veto findings.",
                        )
                    )
                if status in LOCKED:
                    for role, organisation_id in trio_parties.items():
                        approvals.append(
                            Approval(
                                agreement=agreement,
                                organisation_id=organisation_id,
                                user=director,
                                text_hash="0" * 64,
                            )
                        )
                        if status != "signing" or role == "research":
                            signatures.append(
                                Signature(
                                    agreement=agreement,
                                    organisation_id=organisation_id,
                                    user=director,
                                    typed_name="Load Bench",
                                    intent_statement="I sign.",
                                    text_hash="0" * 64,
                                )
                            )
            DataElement.objects.bulk_create(elements, batch_size=2000)
            ClauseOverride.objects.bulk_create(overrides, batch_size=2000)
            for status in LOCKED:
                ids = [pk for pk, f in final_of.items() if f == status]
                Agreement.objects.filter(pk__in=ids).update(status=status)
            Approval.objects.bulk_create(approvals, batch_size=2000)
            Signature.objects.bulk_create(signatures, batch_size=2000)
        with connection.cursor() as cursor:
            # What autovacuum does soon after a bulk load in production: statistics, and the
            # visibility map that lets counts read only an index.
            cursor.execute("VACUUM ANALYZE")
        self.own_ids += [str(a.pk) for a in own]
        self.all_ids += [str(a.pk) for a in agreements]
