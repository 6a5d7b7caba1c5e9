"""Per-clause legal review: each party's legal team marks a deviating clause reviewed or
accepted, with a comment, and sees which deviations still wait for whom.

One notion of review, whichever way it is given:

* **Reviewed**: the party's legal team read the clause as it stands (marked on the review page).
* **Accepted**: the party agrees to the clause as it stands: marked on the review page, or by
  taking part in the accepted proposal that produced it. When a proposal is accepted, the
  proposer (who wrote it) and every party that accepted it have accepted the clause's new
  text, so ``clause_reviews_by_acceptance`` records that for each of them.
* **Not reviewed**: no mark of the party holds for the clause's text now.

A review belongs to one text of the clause (``ClauseReview.clause_hash``): when the clause
changes again (another accepted proposal, a withdrawn one, or a new value of a term it states),
earlier reviews are kept but no longer count ("reviewed an earlier text") and the clause needs
review anew; a change accepted by every party is, by the rule above, reviewed by every party.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from agreements.access import User, acting_party
from agreements.lifecycle import REVIEWABLE
from agreements.models import (
    Agreement,
    ClauseOverride,
    ClauseReview,
    OverrideResponse,
    OverrideStatus,
    ReviewState,
)
from agreements.review.selectors import agreement_comparison
from agreements.selectors import parties, with_agreement_detail
from agreements.text.comparisons import ClauseComparison, Comparison
from agreements.text.titles import numbered_heading

# One permission rule for "acts as this party's legal team", shared with every other
# agreement service rather than copied here.
from collaboratory.errors import DomainError
from partners.models import Organisation, Role


@transaction.atomic
def clause_review_mark(
    *,
    agreement: Agreement,
    by: User,
    clause_key: str,
    state: str,
    comment: str = "",
    clause_hash: str = "",
    organisation_id: int | None = None,
) -> ClauseReview:
    """A party's legal team marks one deviating clause reviewed or accepted, for the clause's
    current text. ``clause_hash`` (when given) is the text the user saw: if the clause changed
    since, nothing is recorded. Marking again replaces the party's earlier mark."""
    Agreement.objects.select_for_update().filter(pk=agreement.pk).first()
    agreement = with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)
    if agreement.status not in REVIEWABLE:
        raise DomainError(
            "Clauses can be marked reviewed until signing starts; this agreement is "
            f"{agreement.get_status_display().lower()}.",
            code="wrong_status",
        )
    organisation_id = acting_party(by, agreement, Role.LEGAL, organisation_id=organisation_id)
    if state not in ReviewState.values:
        raise DomainError({"state": "Choose reviewed or accepted."})
    row = next(
        (r for r in agreement_comparison(agreement).rows if r.key == clause_key and r.changed),
        None,
    )
    if row is None:
        raise DomainError(
            {"clause_key": "This clause does not deviate from the standard: nothing to review."}
        )
    if clause_hash and clause_hash != row.review_hash:
        raise DomainError(
            "This clause changed since you opened the page. Reload it and review the current text.",
            code="stale_text",
        )
    review = ClauseReview.objects.filter(
        agreement=agreement, clause_key=clause_key, organisation_id=organisation_id
    ).first() or ClauseReview(
        agreement=agreement, clause_key=clause_key, organisation_id=organisation_id
    )
    review.user = by
    review.state = state
    review.comment = comment.strip()
    review.clause_hash = row.review_hash
    review.full_clean()
    review.save()
    return review


@transaction.atomic
def clause_reviews_by_acceptance(
    *, agreement: Agreement, override: ClauseOverride
) -> list[ClauseReview]:
    """Accepting a proposal counts as reviewing the clause it changes: once ``override`` is
    accepted, its proposer and every party that accepted it get an "accepted" review of the
    clause's text now (replacing their earlier marks, which were of another text). A clause that
    reads as the standard again has nothing to review. Called by ``override_respond`` when
    the last answer makes the proposal accepted."""
    if override.status != OverrideStatus.ACCEPTED:
        return []
    agreement = with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)
    row = next(
        (r for r in agreement_comparison(agreement).changed_rows if r.key == override.target_key),
        None,
    )
    if row is None:
        return []
    by_party: dict[int, tuple[User | None, str]] = {
        override.organisation_id: (override.proposed_by, "")
    }
    for answer in OverrideResponse.objects.filter(override=override, decision="accept"):
        by_party[answer.organisation_id] = (answer.user, answer.comment)
    existing = {
        r.organisation_id: r
        for r in ClauseReview.objects.filter(agreement=agreement, clause_key=row.key)
    }
    reviews = []
    for organisation_id, (user, comment) in by_party.items():
        review = existing.get(organisation_id) or ClauseReview(
            agreement=agreement, clause_key=row.key, organisation_id=organisation_id
        )
        review.user = user
        review.state = ReviewState.ACCEPTED
        review.comment = comment
        review.clause_hash = row.review_hash
        review.full_clean()
        review.save()
        reviews.append(review)
    return reviews


@transaction.atomic
def acceptance_reviews_backfill(agreement: Agreement) -> int:
    """Record the acceptance reviews that proposals accepted before the rule above would have
    recorded: for each accepted proposal of an agreement still under review, its proposer and
    every party that accepted it get an "accepted" review of the clause's text now, unless the
    party already holds a mark on that clause (its own mark is never replaced). Returns how many
    reviews were recorded; running it again records none. See ``manage.py backfill_reviews``."""
    if agreement.status not in REVIEWABLE:
        return 0
    agreement = with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)
    rows = {row.key: row for row in agreement_comparison(agreement).changed_rows}
    held = set(
        ClauseReview.objects.filter(agreement=agreement).values_list(
            "organisation_id", "clause_key"
        )
    )
    added = 0
    accepted = ClauseOverride.objects.filter(
        agreement=agreement, status=OverrideStatus.ACCEPTED
    ).order_by("decided_at", "pk")
    for override in accepted:
        row = rows.get(override.target_key)
        if row is None:
            continue
        by_party: dict[int, User | None] = {override.organisation_id: override.proposed_by}
        for answer in OverrideResponse.objects.filter(override=override, decision="accept"):
            by_party[answer.organisation_id] = answer.user
        for organisation_id, user in by_party.items():
            if (organisation_id, row.key) in held:
                continue
            review = ClauseReview(
                agreement=agreement,
                clause_key=row.key,
                organisation_id=organisation_id,
                user=user,
                state=ReviewState.ACCEPTED,
                clause_hash=row.review_hash,
            )
            review.full_clean()
            review.save()
            held.add((organisation_id, row.key))
            added += 1
    return added


def deviation_title(row: ClauseComparison) -> str:
    """A deviating clause as the document names it ("7. Data security"), also when deleted."""
    return numbered_heading(row.number or row.old_number, row.heading)


# --- Which deviations still wait for whom -------------------------------------------------


@dataclass(frozen=True)
class PartyReview:
    organisation: Organisation
    review: ClauseReview | None
    current: bool  # the review is of the clause's current text

    @property
    def state(self) -> str:
        """reviewed, accepted, outdated (the clause changed since) or unreviewed."""
        if self.review is None:
            return "unreviewed"
        return self.review.state if self.current else "outdated"

    @property
    def done(self) -> bool:
        return self.review is not None and self.current


@dataclass(frozen=True)
class DeviationReview:
    row: ClauseComparison
    parties: tuple[PartyReview, ...]

    @property
    def title(self) -> str:
        return deviation_title(self.row)

    @property
    def waiting_for(self) -> list[Organisation]:
        return [p.organisation for p in self.parties if not p.done]


def deviation_reviews(
    agreement: Agreement,
    comparison: Comparison | None = None,
    *,
    reviews: Iterable[ClauseReview] | None = None,
) -> list[DeviationReview]:
    """Every deviating clause with each party's review of its current text (one query for
    the reviews on a row from ``agreement_detail_for_user``, none when the caller passes the
    agreement's ``reviews``, as the dashboard does for many agreements at once)."""
    comparison = comparison or agreement_comparison(agreement)
    if reviews is None:
        reviews = ClauseReview.objects.filter(agreement=agreement).select_related("user")
    by_clause = {(r.clause_key, r.organisation_id): r for r in reviews}
    members = parties(agreement)
    result = []
    for row in comparison.changed_rows:
        states = []
        for member in members:
            review = by_clause.get((row.key, member.organisation_id))
            states.append(
                PartyReview(
                    organisation=member.organisation,
                    review=review,
                    current=review is not None and review.clause_hash == row.review_hash,
                )
            )
        result.append(DeviationReview(row=row, parties=tuple(states)))
    return result


def unreviewed_by_party(reviews: list[DeviationReview]) -> list[tuple[Organisation, list[str]]]:
    """Each party with the keys of the deviations it has not reviewed in their current text
    (the page names them by ``deviation_title``)."""
    waiting: dict[int, tuple[Organisation, list[str]]] = {}
    for deviation in reviews:
        for party in deviation.parties:
            entry = waiting.setdefault(party.organisation.pk, (party.organisation, []))
            if not party.done:
                entry[1].append(deviation.row.key)
    return list(waiting.values())
