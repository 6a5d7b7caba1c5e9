"""Proposals while an agreement is negotiated: propose a change to a clause (an override),
answer it, withdraw it, settle a conflict with a merged text, comment on a clause.

Each write is ``@transaction.atomic``: a refused request raises ``DomainError`` and changes
nothing; a change to the consolidated text voids approvals (``review.services.text_changed``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from agreements import parameters
from agreements.access import User, acting_parties, acting_party
from agreements.choices import key_validator
from agreements.lifecycle import lock, reload, require_status
from agreements.models import (
    OPEN_OVERRIDE_STATUSES,
    Agreement,
    ClauseComment,
    ClauseOverride,
    Decision,
    OverrideKind,
    OverrideResponse,
    OverrideStatus,
    Status,
)
from agreements.notifications import notify
from agreements.review.clause_reviews import clause_reviews_by_acceptance
from agreements.review.services import text_changed
from agreements.selectors import (
    conflicts,
    consolidated_text,
    placeholder_values,
)
from agreements.standards.services import _check_clause_text
from agreements.text.consolidation import parameters_in, part_text, read_body, storable
from agreements.text.entry import normalise_plain_text, normalise_text
from agreements.text.titles import clause_titles, proposal_title
from collaboratory.errors import DomainError
from partners.models import Organisation, Role

# The longest key a clause may have (``ClauseOverride.new_key``); derived keys stay shorter,
# leaving room for a "-2" when two new clauses share a heading.
KEY_MAX_LENGTH = 80
_DERIVED_KEY_LENGTH = 60


class LiteralOverParameterError(DomainError):
    """A proposed text typed a value where the clause states a term by its parameter.

    ``offers`` says, for each, what was typed and the value read from it; the web form
    offers to change the parameter instead (``LiteralOverParameter.restored`` is the proposed text
    with the parameter back in place)."""

    def __init__(self, message: str, offers: list[parameters.LiteralOverParameter]) -> None:
        super().__init__({"body": [message]}, code="literal_over_parameter")
        self.offers = offers


def _clause_source(agreement: Agreement, clause_key: str) -> str:
    for override in agreement.overrides.all():
        if (
            override.status == OverrideStatus.ACCEPTED
            and override.target_key == clause_key
            and override.kind != OverrideKind.DELETE
        ):
            return override.body
    template = next(
        (c for c in agreement.template_version.clauses.all() if c.key == clause_key), None
    )
    return template.body if template is not None else ""


def _literal_message(found: list[parameters.LiteralOverParameter], values: Mapping) -> str:
    parts = [
        f"you wrote “{item.typed}” where the clause states the {item.label.lower()} "
        f"([[{item.name}]], now {parameters.stated(item.name, values.get(item.name))}). A term "
        f"has one home: keep [[{item.name}]] in the text and change the term to "
        f"{parameters.stated(item.name, item.value)} instead"
        for item in found
    ]
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def keys_in_use(agreement: Agreement) -> set[str]:
    """Every key a clause of ``agreement`` has or had: the standard's, the inserted ones in the
    text, and those of every proposal to insert (open or not, since comments and history name
    clauses by key)."""
    text = consolidated_text(agreement)
    return (
        {c.key for c in agreement.template_version.clauses.all()}
        | {c.key for c in text.clauses}
        | {c.key for c in text.deleted}
        | {o.new_key for o in agreement.overrides.all() if o.new_key}
    )


def clause_key_for(heading: str, taken: set[str], *, clause_count: int = 0) -> str:
    """The key of a new clause, made from its heading ("Data escrow" -> ``data-escrow``) and
    unique among ``taken`` (``data-escrow-2``). A heading with no Latin letters or digits
    (e.g. "Защита данных") gives ``clause-N``, N counting on from the ``clause_count`` clauses
    the text has, so nobody has to invent a key."""
    base = slugify(heading)[:_DERIVED_KEY_LENGTH].strip("-")
    if not base:
        number = clause_count + 1
        while f"clause-{number}" in taken:
            number += 1
        return f"clause-{number}"
    key, suffix = base, 2
    while key in taken:
        key, suffix = f"{base}-{suffix}", suffix + 1
    return key


def _new_clause_key(agreement: Agreement, heading: str, new_key: str) -> str:
    """The key an inserted clause gets: ``new_key`` when a caller gives one (the API, the
    demo), checked; otherwise derived from the heading."""
    taken = keys_in_use(agreement)
    if not new_key:
        count = len(consolidated_text(agreement).clauses)
        return clause_key_for(heading, taken, clause_count=count)
    if len(new_key) > KEY_MAX_LENGTH or not re.fullmatch(key_validator.regex, new_key):
        raise DomainError(
            {
                "new_key": f"“{new_key}” cannot be a clause key: use lower-case letters, digits "
                "and single hyphens (e.g. data-escrow), at most "
                f"{KEY_MAX_LENGTH} characters, or leave the key out and one is made from the "
                "heading."
            },
            code="invalid_key",
        )
    if new_key in taken:
        raise DomainError(
            {
                "new_key": f"The key “{new_key}” is already used in this agreement: choose "
                "another, or leave the key out and one is made from the heading."
            },
            code="key_taken",
        )
    return new_key


@transaction.atomic
def override_propose(
    *,
    agreement: Agreement,
    by: User,
    kind: str,
    clause_key: str,
    rationale: str,
    body: str = "",
    heading: str = "",
    new_key: str = "",
    organisation_id: int | None = None,
    terms: Mapping[str, str] | None = None,
) -> ClauseOverride:
    """A party's legal team proposes to replace, insert after, or delete one clause.

    A party has one open proposal per clause: a new one supersedes its earlier one.
    Mandatory clauses cannot be deleted. Two parties changing one clause is a conflict.
    A new clause needs a heading; its key is made from the heading unless ``new_key`` gives
    one (checked: the key format, unused in this agreement).

    ``terms`` changes parameters the clause states (name -> the new value as typed); they
    take effect when the proposal is accepted (``agreements.parameters``). A text that types a
    value over a parameter is refused with :class:`LiteralOverParameterError`, so a literal
    contradicting the structured term never reaches review.
    """
    agreement = lock(agreement)
    require_status(agreement, (Status.NEGOTIATING,), "propose changes")
    organisation_id = acting_party(by, agreement, Role.LEGAL, organisation_id=organisation_id)
    if kind not in OverrideKind.values:
        raise DomainError({"kind": "Choose replace, insert or delete."})
    # The body is Markdown; the heading and rationale are shown as written.
    rationale = normalise_plain_text(rationale).strip()
    body, heading = normalise_text(body).strip(), normalise_plain_text(heading).strip()
    text = consolidated_text(agreement)
    template_clauses = {c.key: c for c in agreement.template_version.clauses.all()}
    target = text.clause(clause_key)
    if target is None:
        raise DomainError({"clause_key": f"There is no clause “{clause_key}” in this agreement."})
    # What is missing is said all at once, so one round trip fixes the form.
    missing: dict[str, str] = {}
    if kind == OverrideKind.INSERT and not heading:
        missing["heading"] = "Give the new clause a heading, e.g. “Data escrow”."
    if kind != OverrideKind.DELETE and not body:
        missing["body"] = (
            "Write the text of the new clause."
            if kind == OverrideKind.INSERT
            else "Write the text you propose for this clause."
        )
    if not rationale:
        missing["rationale"] = (
            "Explain why you propose this change: the other parties read your rationale."
        )
    if missing:
        raise DomainError(missing, code="required")
    if kind == OverrideKind.INSERT:
        new_key = _new_clause_key(agreement, heading, new_key)
    blocks: tuple = ()
    if kind == OverrideKind.DELETE:
        template_clause = template_clauses.get(clause_key)
        if template_clause and template_clause.is_mandatory(agreement.sharing_mode):
            raise DomainError(
                {
                    "clause_key": f"“{target.heading}” is mandatory for {agreement.sharing_mode}"
                    "-mode agreements and cannot be deleted. Propose a replacement text instead."
                },
                code="mandatory_clause",
            )
    else:
        # Problems are reported under the clause's heading, as the parties know it.
        problems = _check_clause_text([(heading or target.heading, heading, body)])
        blocks, unreadable = read_body(body, key=new_key or clause_key, context=text.document)
        if problems or unreadable:
            raise DomainError({"body": problems + unreadable})
    values = placeholder_values(agreement)
    if kind == OverrideKind.REPLACE:
        source = _clause_source(agreement, clause_key)
        found = [
            item
            for item in parameters.literals_over_parameters(source, body)
            if item.value is not None
        ]
        if found:
            raise LiteralOverParameterError(_literal_message(found, values), found)
    try:
        changes = parameters.parse_changes(agreement, terms or {})
    except ValidationError as error:
        raise DomainError({"terms": error.messages}, code="term_invalid") from None
    if changes:
        if kind == OverrideKind.DELETE:
            raise DomainError({"terms": "A deleted clause cannot change a term."})
        stated = set(parameters_in(blocks))
        absent = [n for n in changes if n not in stated]
        if absent:
            raise DomainError(
                {
                    "terms": "This clause does not state "
                    + ", ".join(f"[[{n}]]" for n in absent)
                    + ": propose the change on the clause that does."
                },
                code="term_not_in_clause",
            )
    if (
        kind == OverrideKind.REPLACE
        and not changes
        and part_text(text, clause_key, blocks, values) == target.body
        and (not heading or heading == target.heading)
    ):
        raise DomainError({"body": "The proposed text is the same as the current text."})
    earlier = [
        o
        for o in agreement.overrides.all()
        if o.organisation_id == organisation_id
        and o.status in OPEN_OVERRIDE_STATUSES
        and o.kind != OverrideKind.INSERT
        and kind != OverrideKind.INSERT
        and o.clause_key == clause_key
    ]
    override = ClauseOverride(
        agreement=agreement,
        organisation_id=organisation_id,
        proposed_by=by,
        kind=kind,
        clause_key=clause_key,
        new_key=new_key if kind == OverrideKind.INSERT else "",
        heading=heading,
        body=body if kind != OverrideKind.DELETE else "",
        blocks=storable(blocks) if kind != OverrideKind.DELETE else None,
        parameters=parameters.stored_changes(changes),
        rationale=rationale,
    )
    override.full_clean()
    override.save()
    had_accepted = any(o.status == OverrideStatus.ACCEPTED for o in earlier)
    if earlier:
        ClauseOverride.objects.filter(pk__in=[o.pk for o in earlier]).update(
            status=OverrideStatus.SUPERSEDED, decided_at=timezone.now()
        )
        for superseded in earlier:
            if superseded.status == OverrideStatus.ACCEPTED:
                _apply_terms(agreement, superseded, "from")
    fresh = reload(agreement)
    # Named as the document names it ("7. Data security"), never by its key.
    clause_heading = proposal_title(override, clause_titles(text))
    notify(
        "override_proposed",
        fresh,
        actor=by,
        organisation_ids=[
            m.organisation_id
            for m in fresh.trio.members.all()
            if m.organisation_id != organisation_id
        ],
        fragment=f"clause-{override.clause_key}",
        org=override.organisation.name,
        clause=clause_heading,
        kind=kind,
        rationale=rationale,
    )
    if clause_key in conflicts(fresh) and kind != OverrideKind.INSERT:
        notify("conflict", fresh, actor=by, clause=clause_heading, fragment=f"clause-{clause_key}")
    if had_accepted:
        text_changed(agreement, by=by, reason=f"proposal on “{clause_heading}” revised")
    return override


def _override_for_update(override: ClauseOverride) -> tuple[ClauseOverride, Agreement]:
    agreement = lock(override.agreement)
    fresh = next(o for o in agreement.overrides.all() if o.pk == override.pk)
    return fresh, agreement


@transaction.atomic
def override_respond(
    *,
    override: ClauseOverride,
    by: User,
    decision: str,
    comment: str = "",
    organisation_id: int | None = None,
) -> ClauseOverride:
    """Another party accepts or rejects a proposal. Accepted by every other party, it becomes
    part of the text; rejected by any, it is out. Conflicted clauses must be resolved first."""
    override, agreement = _override_for_update(override)
    require_status(agreement, (Status.NEGOTIATING,), "answer proposals")
    organisation_id = acting_party(by, agreement, Role.LEGAL, organisation_id=organisation_id)
    if organisation_id == override.organisation_id:
        raise DomainError("You cannot answer your own organisation's proposal.")
    if override.status != OverrideStatus.PROPOSED:
        raise DomainError(f"This proposal is already {override.get_status_display().lower()}.")
    if decision not in Decision.values:
        raise DomainError({"decision": "Choose accept or reject."})
    if any(r.organisation_id == organisation_id for r in override.responses.all()):
        raise DomainError("Your organisation has already answered this proposal.")
    if (
        decision == Decision.ACCEPT
        and override.clause_key in conflicts(agreement)
        and (override.kind != OverrideKind.INSERT)
    ):
        raise DomainError(
            "Other parties propose different changes to this clause. Resolve the conflict first: "
            "keep one position or agree a merged text.",
            code="conflict_open",
        )
    if decision == Decision.REJECT and not comment.strip():
        raise DomainError({"comment": "Say why you reject it, so the proposer can respond."})
    OverrideResponse.objects.create(
        override=override,
        organisation_id=organisation_id,
        user=by,
        decision=decision,
        comment=comment.strip(),
    )
    others = {m.organisation_id for m in agreement.trio.members.all()} - {override.organisation_id}
    answered = {r.organisation_id for r in override.responses.all()} | {organisation_id}
    if decision == Decision.REJECT:
        override.status = OverrideStatus.REJECTED
    elif others <= answered:
        override.status = OverrideStatus.ACCEPTED
    if override.status != OverrideStatus.PROPOSED:
        override.decided_at = timezone.now()
        override.save(update_fields=["status", "decided_at"])
    if override.status == OverrideStatus.ACCEPTED:
        _apply_terms(agreement, override, "to")
        text_changed(agreement, by=by, reason="a proposed change was accepted")
        # Proposing or accepting the change counts as each party's review of the new text.
        clause_reviews_by_acceptance(agreement=agreement, override=override)
    return override


def _apply_terms(agreement: Agreement, override: ClauseOverride, end: str) -> None:
    """Write the terms an accepted proposal changes onto the agreement (``end="to"``), or
    put them back when it is withdrawn or superseded (``"from"``)."""
    try:
        parameters.apply(agreement, override.parameters, end)
    except ValidationError as error:
        raise DomainError(
            "The terms this proposal changes no longer fit the agreement: "
            + " ".join(error.messages),
            code="term_invalid",
        ) from None


@transaction.atomic
def override_withdraw(*, override: ClauseOverride, by: User) -> ClauseOverride:
    override, agreement = _override_for_update(override)
    require_status(agreement, (Status.NEGOTIATING,), "withdraw proposals")
    acting_party(by, agreement, Role.LEGAL, organisation_id=override.organisation_id)
    if override.status not in OPEN_OVERRIDE_STATUSES:
        raise DomainError(f"This proposal is already {override.get_status_display().lower()}.")
    was_accepted = override.status == OverrideStatus.ACCEPTED
    override.status = OverrideStatus.WITHDRAWN
    override.decided_at = timezone.now()
    override.save(update_fields=["status", "decided_at"])
    if was_accepted:
        _apply_terms(agreement, override, "from")
        text_changed(agreement, by=by, reason="an accepted change was withdrawn")
    return override


def conflicting_parties(competing: list[ClauseOverride]) -> list[Organisation]:
    """The parties whose open proposals on one clause conflict, in the order they proposed."""
    found: dict[int, Organisation] = {}
    for override in sorted(competing, key=lambda o: o.created_at):
        found.setdefault(override.organisation_id, override.organisation)
    return list(found.values())


def may_settle(competing: list[ClauseOverride], organisation_ids: set[int]) -> bool:
    """Whether someone acting for ``organisation_ids`` may settle the conflict of
    ``competing``: only a party whose proposal is one of them (``conflict_resolve``)."""
    return any(o.organisation_id in organisation_ids for o in competing)


def _names(organisations: list[Organisation]) -> str:
    names = [o.name for o in organisations]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@transaction.atomic
def conflict_resolve(
    *,
    agreement: Agreement,
    clause_key: str,
    by: User,
    keep: ClauseOverride | None = None,
    merged_body: str = "",
    merged_heading: str = "",
    rationale: str = "",
    terms: Mapping[str, str] | None = None,
) -> ClauseOverride:
    """End a conflict: keep one party's position, or propose a merged text that replaces
    all of them (with ``terms``, the parameter values it settles on, as ``override_propose``
    takes them). What is kept still needs the other parties' acceptance as usual.

    Only the parties whose proposals conflict may settle it (``may_settle``): a third party
    may put forward its own proposal on the clause, never supersede theirs."""
    agreement = lock(agreement)
    require_status(agreement, (Status.NEGOTIATING,), "resolve conflicts")
    acting_party(by, agreement, Role.LEGAL)  # refuses anyone who is no party's legal team
    competing = conflicts(agreement).get(clause_key)
    if not competing:
        raise DomainError("There is no open conflict on this clause.")
    settling = [o for o in acting_parties(by, agreement, Role.LEGAL) if may_settle(competing, {o})]
    if not settling:
        raise DomainError(
            f"Only {_names(conflicting_parties(competing))} can settle this conflict: the "
            "proposals that conflict are theirs. You can propose your own text for this "
            "clause instead.",
            code="not_conflicting_party",
        )
    organisation_id = settling[0]
    if keep is not None:
        if keep.pk not in {o.pk for o in competing}:
            raise DomainError("Choose one of the competing proposals.")
        losers = [o for o in competing if o.pk != keep.pk]
        ClauseOverride.objects.filter(pk__in=[o.pk for o in losers]).update(
            status=OverrideStatus.SUPERSEDED, decided_at=timezone.now()
        )
        for loser in losers:
            if loser.status == OverrideStatus.ACCEPTED:
                _apply_terms(agreement, loser, "from")
        ClauseComment.objects.create(
            agreement=agreement,
            clause_key=clause_key,
            organisation_id=organisation_id,
            author=by,
            body=f"Conflict resolved: kept the position of {keep.organisation.name}. "
            + rationale.strip(),
        )
        result = next(o for o in competing if o.pk == keep.pk)
    else:
        if not merged_body.strip():
            raise DomainError(
                {"merged_body": "Choose the position to keep, or write a merged text."}
            )
        merged_blocks, unreadable = read_body(
            merged_body, key=clause_key, context=consolidated_text(agreement).document
        )
        if unreadable:
            raise DomainError({"merged_body": unreadable})
        merged_body = normalise_text(merged_body)
        found = [
            item
            for item in parameters.literals_over_parameters(
                _clause_source(agreement, clause_key), merged_body
            )
            if item.value is not None
        ]
        if found:
            message = _literal_message(found, placeholder_values(agreement))
            raise DomainError({"merged_body": message}, code="literal_over_parameter")
        try:
            changes = parameters.parse_changes(agreement, terms or {})
        except ValidationError as error:
            raise DomainError({"terms": error.messages}, code="term_invalid") from None
        absent = [n for n in changes if n not in parameters_in(merged_blocks)]
        if absent:
            raise DomainError(
                {
                    "terms": "The merged text does not state "
                    + ", ".join(f"[[{n}]]" for n in absent)
                    + ": keep the parameter in the text to change its value."
                },
                code="term_not_in_clause",
            )
        ClauseOverride.objects.filter(pk__in=[o.pk for o in competing]).update(
            status=OverrideStatus.SUPERSEDED, decided_at=timezone.now()
        )
        for loser in competing:
            if loser.status == OverrideStatus.ACCEPTED:
                _apply_terms(agreement, loser, "from")
        result = ClauseOverride(
            agreement=agreement,
            organisation_id=organisation_id,
            proposed_by=by,
            kind=OverrideKind.REPLACE,
            clause_key=clause_key,
            heading=normalise_plain_text(merged_heading).strip(),
            body=merged_body.strip(),
            blocks=storable(merged_blocks),
            parameters=parameters.stored_changes(changes),
            rationale=normalise_plain_text(rationale).strip()
            or "Merged text resolving conflicting proposals.",
        )
        result.full_clean()
        result.save()
        result.resolves.set(competing)
    if any(o.status == OverrideStatus.ACCEPTED for o in competing):
        text_changed(agreement, by=by, reason="a conflict was resolved")
    return result
