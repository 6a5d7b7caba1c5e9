"""Pending proposals as tracked changes: on the agreement page, the compare pages and the
redline downloads.

Rules:

- **Who.** Each party of the trio has its own colour (by its role: research, district,
  developer) and its organisation's name on every mark; the Word file's revisions are authored
  by that name. A clause no proposal rewrote but whose term a proposal changed (a parameter
  the clause states) is that proposal's party's change.
- **Against what.** On the agreement page a proposal is marked against the clause as it reads
  now (``against="current"``), or against the standard (``against="standard"``: the
  template's clause read with the terms from before any accepted change).
- **Accepted only / including pending.** A comparison or download "including pending" reads
  the text as if every pending proposal (status proposed, whoever has accepted it so far) were
  accepted too, in the order they were made, their term changes included. Two proposals
  cannot both rewrite one clause in one text: where a pending proposal would rewrite or delete
  a clause an earlier pending one already changes (a conflict), the later one is left out and
  named (``PendingText.left_out``) so the page and the file say so. The default is
  "including pending" while the agreement is in negotiation, "accepted only" otherwise.

Reads only rows the caller found through ``agreement_for_comparison`` or
``agreement_detail_for_user`` (their prefetches): no further queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace

from agreements import parameters
from agreements.models import Agreement, ClauseOverride, OverrideStatus, Status
from agreements.review.selectors import accepted_overrides, standard_text
from agreements.selectors import (
    TEXT_CODE,
    conflicts,
    override_inputs,
    parties,
    placeholder_values,
    version_inputs,
)
from agreements.text import comparisons
from agreements.text.comparisons import ClauseComparison, Comparison
from agreements.text.consolidation import ConsolidatedText, consolidate, read_frame, stored_blocks
from agreements.text.placeholders import PLACEHOLDERS
from agreements.text.tracked import Author, TrackedProposal, proposal_changes
from collaboratory.derived import derived

AGAINST = ("current", "standard")
CHANGES = ("pending", "accepted")
PENDING_NOTE = "Pending: proposed by {name}, not yet accepted by every party."
SYSTEM_AUTHOR = "Collaboratory"


def against_choice(value: str | None) -> str:
    """What the agreement page marks proposals against: the current text unless asked."""
    return value if value in AGAINST else "current"


def changes_choice(agreement: Agreement, value: str | None) -> str:
    """Which changes a comparison shows: as asked, else pending ones too while negotiating."""
    if value in CHANGES:
        return value
    return "pending" if agreement.status == Status.NEGOTIATING else "accepted"


def authors(agreement: Agreement) -> dict[int, Author]:
    """Each party's author: its organisation's name and its colour (by role), by org id."""
    return {
        member.organisation_id: Author(
            name=member.organisation.name,
            party=member.role,
            role=member.get_role_display(),
        )
        for member in parties(agreement)
    }


def _author(agreement_authors: Mapping[int, Author], override: ClauseOverride) -> Author:
    return agreement_authors.get(override.organisation_id) or Author(
        name=override.organisation.name, party="other"
    )


def pending_overrides(agreement: Agreement) -> list[ClauseOverride]:
    return [o for o in agreement.overrides.all() if o.status == OverrideStatus.PROPOSED]


# --- The agreement page: each proposal marked against a base --------------------------------


def proposals_tracked(
    agreement: Agreement, text: ConsolidatedText, *, against: str = "current"
) -> dict[int, TrackedProposal]:
    """Every proposal of ``agreement`` (any status) as tracked changes by its party, against
    the clause as it reads now or as the standard has it, by override id."""
    if not agreement.overrides.all():
        return {}
    values = placeholder_values(agreement)
    accepted = accepted_overrides(agreement)
    if against == "standard":
        base_values = parameters.before_changes(values, accepted)
    else:
        base_values = values
    base_text = _unfilled_text(agreement, accepted if against != "standard" else [])
    parts = {part.key: part for part in base_text.document.parts}
    deleted = {c.key: c.part for c in base_text.deleted if c.part is not None}
    party_authors = authors(agreement)
    labels = {name: parameters.label(name) for name in PLACEHOLDERS}
    tracked: dict[int, TrackedProposal] = {}
    for override in agreement.overrides.all():
        base_part = parts.get(override.clause_key) or deleted.get(override.clause_key)
        proposed = stored_blocks(override.blocks, override.body)
        if override.kind == "insert":
            base_blocks, new_blocks = None, proposed
            base_heading = ""
        elif override.kind == "delete":
            base_blocks, new_blocks = (base_part.blocks if base_part else ()), None
            base_heading = ""
        else:
            base_blocks, new_blocks = (base_part.blocks if base_part else ()), proposed
            now = text.clause(override.clause_key)
            base_heading = now.heading if now is not None else ""
        tracked[override.pk] = proposal_changes(
            base=base_blocks,
            proposed=new_blocks,
            base_values=base_values,
            proposed_values=parameters.overlay(values, override.parameters, "to"),
            document=base_text.document,
            key=override.target_key,
            author=_author(party_authors, override),
            id_prefix=f"proposal-{override.pk}-",
            base_heading=base_heading,
            proposed_heading=(override.heading or "").strip() if override.kind == "replace" else "",
            labels=labels,
        )
    return tracked


def _unfilled_text(agreement: Agreement, accepted: list[ClauseOverride]) -> ConsolidatedText:
    """The template's text with ``accepted`` applied and its parameters left unfilled (atoms,
    filled per proposal by proposal_changes), derived once per distinct input: with no
    accepted change it is the same for every agreement of a version (collaboratory.derived)."""
    version = agreement.template_version
    inputs = {
        "version": version_inputs(version),
        "accepted": [override_inputs(o) for o in accepted],
        "fillins": agreement.fillins,
    }
    return derived(
        "unfilled-text",
        inputs,
        lambda: consolidate(
            clauses=list(version.clauses.all()),
            accepted_overrides=accepted,
            values={},  # unfilled: parameters stay atoms, filled by proposal_changes
            frame=read_frame(version.frame),
            fillins=agreement.fillins,
        ),
        code=TEXT_CODE,
    )


# --- Comparisons and downloads including pending proposals ----------------------------------


@dataclass(frozen=True)
class PendingText:
    """The text as it would read with the pending proposals accepted too."""

    text: ConsolidatedText
    applied: tuple[ClauseOverride, ...]
    left_out: tuple[ClauseOverride, ...]  # conflicting with an earlier pending proposal


def text_with_pending(agreement: Agreement, text: ConsolidatedText) -> PendingText:
    """``text`` (the consolidated text) with every pending proposal applied that does not
    conflict with an earlier one (module docstring)."""
    accepted = accepted_overrides(agreement)
    applied: list[ClauseOverride] = []
    left_out: list[ClauseOverride] = []
    touched: set[str] = set()
    for override in pending_overrides(agreement):
        if override.kind != "insert" and override.clause_key in touched:
            left_out.append(override)
            continue
        if override.kind != "insert":
            touched.add(override.clause_key)
        applied.append(override)
    values = placeholder_values(agreement)
    for override in applied:
        values = parameters.overlay(values, override.parameters, "to")
    version = agreement.template_version
    with_pending = consolidate(
        clauses=list(version.clauses.all()),
        accepted_overrides=[*accepted, *applied],
        values=values,
        header=text.header,
        schedule=text.schedule,
        frame=read_frame(version.frame),
        fillins=agreement.fillins,
    )
    return PendingText(with_pending, tuple(applied), tuple(left_out))


@dataclass(frozen=True)
class TrackedComparison:
    """A comparison with the standard whose changed clauses name their party."""

    comparison: Comparison
    text: ConsolidatedText  # the new side: the text, with pending proposals when included
    changes: str  # "pending" or "accepted"
    pending: PendingText | None
    authors: tuple[Author, ...]  # the parties whose changes show, for the legend
    by_key: dict[str, tuple[Author, dt.datetime | None]]  # clause key -> who changed it, when

    @property
    def left_out(self) -> tuple[ClauseOverride, ...]:
        return self.pending.left_out if self.pending else ()

    @property
    def left_out_named(self) -> list[tuple[ClauseOverride, str]]:
        """Each proposal left out, with the clause it is on as the document names it."""
        named = []
        for override in self.left_out:
            clause = self.text.clause(override.clause_key)
            label = f"{clause.number} {clause.heading}".strip() if clause else ""
            named.append((override, label or override.clause_key))
        return named

    @property
    def pending_count(self) -> int:
        return len(self.pending.applied) if self.pending else 0


def _who_changed(
    agreement: Agreement, text: ConsolidatedText, overrides: list[ClauseOverride]
) -> dict[str, tuple[Author, dt.datetime | None]]:
    """Clause key -> the party whose proposal changed it and when: the proposal that wrote
    the clause, else the latest one changing a term the clause states."""
    party_authors = authors(agreement)
    by_id = {o.pk: o for o in overrides}
    found: dict[str, tuple[Author, dt.datetime | None]] = {}
    for clause in (*text.clauses, *text.deleted):
        override = by_id.get(clause.override_id or 0)
        if override is None:
            stated = set(clause.parameters)
            override = next(
                (o for o in reversed(overrides) if stated & set(o.parameters or {})), None
            )
        if override is not None:
            when = override.decided_at if override.status == OverrideStatus.ACCEPTED else None
            found[clause.key] = (_author(party_authors, override), when or override.created_at)
    return found


def tracked_comparison(
    agreement: Agreement, text: ConsolidatedText, *, changes: str
) -> TrackedComparison:
    """The agreement against its standard, accepted changes only or pending ones too, each
    changed clause naming the party that changed it (pending ones noted as pending)."""
    version = agreement.template_version
    standard = standard_text(agreement, text)
    pending = text_with_pending(agreement, text) if changes == "pending" else None
    new = pending.text if pending is not None else text
    comparison = comparisons.agreement_vs_template(
        new,
        standard,
        conflict_keys=set(conflicts(agreement)),
        template_label=f"{version.template.name} v{version.number}",
        agreement_label=(
            f"{agreement.reference} with pending proposals"
            if pending is not None and pending.applied
            else agreement.reference
        ),
    )
    overrides = [*accepted_overrides(agreement), *(pending.applied if pending else ())]
    by_key = _who_changed(agreement, new, overrides)
    pending_ids = {o.pk for o in pending.applied} if pending else set()
    left_out = {o.clause_key: o for o in pending.left_out} if pending else {}
    rows: list[ClauseComparison] = []
    shown: dict[str, Author] = {}
    for row in comparison.rows:
        who = by_key.get(row.key)
        if not row.changed or who is None:
            rows.append(row)
            continue
        author = who[0]
        shown.setdefault(author.name, author)
        note = row.note
        if row.override_id in pending_ids:
            note = PENDING_NOTE.format(name=author.name)
        if row.key in left_out:
            other = left_out[row.key]
            note = (
                f"{note} {other.organisation.name}'s competing proposal on this clause is not "
                "in this text; compare the positions on the conflict page."
            ).strip()
        rows.append(replace(row, author=author.name, party=author.party, note=note))
    comparison = replace(comparison, rows=tuple(rows))
    order = {a.name: i for i, a in enumerate(authors(agreement).values())}
    return TrackedComparison(
        comparison=comparison,
        text=new,
        changes=changes,
        pending=pending,
        authors=tuple(sorted(shown.values(), key=lambda a: order.get(a.name, 99))),
        by_key=by_key,
    )
