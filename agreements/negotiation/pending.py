"""Whose answer a proposal waits for, and what each party may still do with it.

A proposal (``ClauseOverride``) is accepted once every party other than the proposer has
accepted it, and rejected as soon as one rejects (``proposals.override_respond``). So while it
is open it waits for exactly the other parties that have not answered yet; an organisation
answers once and cannot change its answer (the product records no second answer).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agreements.models import Agreement, ClauseOverride, OverrideResponse, OverrideStatus
from agreements.selectors import consolidated_text, parties
from agreements.text.titles import clause_titles, proposal_title
from partners.models import Organisation


def names_in_words(names: Iterable[str]) -> str:
    """ "Riverbend School District and Brightpath Learning, Inc." (a list as a sentence)."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def end_sentence(text: str) -> str:
    """``text`` with a full stop, unless it already ends with one: a sentence that ends with
    "Brightpath Learning, Inc." gets no second stop."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def party_names(organisations: Iterable[Organisation]) -> str:
    return names_in_words(o.name for o in organisations)


def waits_for(
    override: ClauseOverride, organisations: Iterable[Organisation]
) -> list[Organisation]:
    """The parties (of ``organisations``, the agreement's, in their order) whose answer an
    open proposal still needs: everyone but the proposer who has not answered. A decided
    proposal waits for nobody."""
    if override.status != OverrideStatus.PROPOSED:
        return []
    answered = {r.organisation_id for r in override.responses.all()}
    return [o for o in organisations if o.pk != override.organisation_id and o.pk not in answered]


def answer_of(override: ClauseOverride, organisation_ids: Iterable[int]) -> OverrideResponse | None:
    """The answer one of ``organisation_ids`` (the viewer's parties) gave, if any."""
    mine = set(organisation_ids)
    return next((r for r in override.responses.all() if r.organisation_id in mine), None)


@dataclass(frozen=True)
class Standing:
    """Where an open or decided proposal stands for one viewer: whom it waits for, what the
    viewer's party answered, and whether it is the viewer's own party's proposal."""

    waiting: tuple[Organisation, ...]
    answer: OverrideResponse | None  # the viewer's party's answer, given once
    own: bool  # proposed by one of the viewer's parties
    for_me: bool  # it waits for one of the viewer's parties

    @property
    def waits_for_names(self) -> str:
        return party_names(self.waiting)


def standing(
    override: ClauseOverride, organisations: Iterable[Organisation], mine: Iterable[int]
) -> Standing:
    """``override`` as seen by someone acting for the parties ``mine``."""
    mine = set(mine)
    waiting = tuple(waits_for(override, organisations))
    return Standing(
        waiting=waiting,
        answer=answer_of(override, mine),
        own=override.organisation_id in mine,
        for_me=any(o.pk in mine for o in waiting),
    )


@dataclass(frozen=True)
class PendingProposal:
    """An open proposal as the agreement page and "What happens next" name it."""

    override: ClauseOverride
    title: str  # "7. Data security", or "new clause “Data escrow” after 7. Data security"
    standing: Standing

    @property
    def waits_for_names(self) -> str:
        return self.standing.waits_for_names


def pending_proposals(
    agreement: Agreement, titles: dict[str, str] | None = None, mine: Iterable[int] = ()
) -> list[PendingProposal]:
    """The agreement's open proposals, oldest first, each with the clause's title and the
    parties it waits for, as seen by someone acting for ``mine`` (no query on an agreement
    from ``agreement_detail_for_user``)."""
    if titles is None:
        titles = clause_titles(consolidated_text(agreement))
    organisations = [m.organisation for m in parties(agreement)]
    mine = set(mine)
    return [
        PendingProposal(
            override=override,
            title=proposal_title(override, titles),
            standing=standing(override, organisations, mine),
        )
        for override in agreement.overrides.all()
        if override.status == OverrideStatus.PROPOSED
    ]
