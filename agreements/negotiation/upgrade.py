"""Moving an agreement in negotiation to a newer published version of its template.

How the agreement stays legally coherent: it **keeps its base version** (``template_version``
does not change, so nothing the parties accepted or approved is rewritten under them). Each
difference between its version and the newer one becomes one pending proposal
(``ClauseOverride``) from the facilitator's organisation, proposed by the facilitator:

- a clause the newer version changes (heading or text) -> ``replace`` with the newer heading
  and text;
- a clause it removes -> ``delete``;
- a clause it adds -> ``insert`` after the nearest preceding clause both versions share
  (several new clauses in a row are inserted after the same clause, in the newer version's
  order, which is the order the text applies them in).

The parties accept or reject them through the existing proposal flow (every party answers,
since the facilitator's organisation is none of them); accepting all of them gives exactly the
newer version's text. Terms are the agreement's own values (``Agreement`` fields and
``placeholder_values``): a version states them by parameter (``[[retention_days]]``), so a
newer version carries no term values to propose.

An accepted change of a party on a clause the newer version also changes is not lost: both are
open on the same clause, so the existing conflict flow shows them side by side and the party
keeps its position or agrees a merged text (``proposals.conflict_resolve``).

Refused with a message saying why, changing nothing: an agreement not in negotiation; a version
that is not a newer published version of the same template; an agreement already moved (one
move per agreement: ``TemplateUpgrade``); versions whose differences proposals cannot express
(clauses moved to another place, a new clause before every shared clause, a clause's kind or
fixed number changed, a new clause key the agreement already uses).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from agreements.access import User
from agreements.lifecycle import lock, reload
from agreements.models import (
    Agreement,
    Clause,
    ClauseOverride,
    OverrideKind,
    PartKind,
    Status,
    TemplateUpgrade,
    TemplateVersion,
)
from agreements.negotiation.proposals import keys_in_use
from agreements.notifications import notify
from agreements.review.selectors import newer_versions
from agreements.selectors import conflicts
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.errors import DomainError
from partners.models import Membership, OrganisationKind
from partners.selectors import staffed_collaboratories


@dataclass(frozen=True)
class VersionChange:
    """One difference between two versions of a template, as the proposal it becomes."""

    kind: str  # OverrideKind: replace, delete, insert
    clause_key: str  # the clause changed or deleted, or (insert) the clause it follows
    new_key: str  # the added clause's key (insert)
    heading: str
    body: str
    blocks: Any
    old_heading: str  # the clause as the agreement's version has it ("" for an insert)
    new_heading: str  # as the newer version has it ("" for a delete)
    heading_changed: bool
    body_changed: bool

    @property
    def target_key(self) -> str:
        return self.new_key if self.kind == OverrideKind.INSERT else self.clause_key

    @property
    def summary(self) -> str:
        """What the proposal does, in a line: "Changes the heading and text of “Breach”"."""
        return self.describe()

    def describe(self, title: str = "") -> str:
        """``summary`` naming the clause as the agreement's text does (``title``, e.g.
        "9. Data Minimisation") when given."""
        if self.kind == OverrideKind.INSERT:
            return f"Adds “{self.new_heading or self.new_key}”"
        if self.kind == OverrideKind.DELETE:
            return f"Removes “{title or self.old_heading or self.clause_key}”"
        what = " and ".join(
            part
            for part, changed in (("heading", self.heading_changed), ("text", self.body_changed))
            if changed
        )
        return f"Changes the {what} of “{title or self.old_heading or self.clause_key}”"


def _label(clause: Any) -> str:
    return (getattr(clause, "label", "") or "").strip()


def _kind(clause: Any) -> str:
    return getattr(clause, "kind", "") or PartKind.SECTION


def version_changes(
    old_clauses: Sequence[Any], new_clauses: Sequence[Any]
) -> tuple[list[VersionChange], list[str]]:
    """The differences from ``old_clauses`` to ``new_clauses`` (each in document order) as
    proposals, and the differences proposals cannot express (empty when there are none)."""
    old_by_key = {c.key: c for c in old_clauses}
    new_by_key = {c.key: c for c in new_clauses}
    problems: list[str] = []
    shared_old = [c.key for c in old_clauses if c.key in new_by_key]
    shared_new = [c.key for c in new_clauses if c.key in old_by_key]
    if shared_old != shared_new:
        moved = [a for a, b in zip(shared_old, shared_new, strict=True) if a != b]
        names = ", ".join(f"“{new_by_key[k].heading or k}”" for k in moved[:3])
        problems.append(
            f"The newer version moves clauses to another place ({names}); a proposal can "
            "change, add or remove a clause but not move one."
        )
    changes: list[VersionChange] = []
    for old in old_clauses:
        new = new_by_key.get(old.key)
        if new is None:
            changes.append(
                VersionChange(
                    kind=OverrideKind.DELETE,
                    clause_key=old.key,
                    new_key="",
                    heading="",
                    body="",
                    blocks=None,
                    old_heading=old.heading,
                    new_heading="",
                    heading_changed=False,
                    body_changed=False,
                )
            )
            continue
        if (_kind(old), _label(old)) != (_kind(new), _label(new)):
            problems.append(
                f"The newer version changes what kind of part “{new.heading or new.key}” is or "
                "its fixed number; a proposal can change only a clause's heading and text."
            )
        heading_changed = (old.heading or "").strip() != (new.heading or "").strip()
        body_changed = old.body != new.body or old.blocks != new.blocks
        if heading_changed and not (new.heading or "").strip():
            problems.append(
                f"The newer version removes the heading of “{old.heading}”; a proposal "
                "cannot leave a clause without the heading it has."
            )
        if heading_changed or body_changed:
            changes.append(
                VersionChange(
                    kind=OverrideKind.REPLACE,
                    clause_key=old.key,
                    new_key="",
                    heading=(new.heading or "").strip(),
                    body=new.body,
                    blocks=new.blocks,
                    old_heading=old.heading,
                    new_heading=new.heading,
                    heading_changed=heading_changed,
                    body_changed=body_changed,
                )
            )
    anchor = ""
    for new in new_clauses:
        if new.key in old_by_key:
            anchor = new.key
            continue
        if not anchor:
            problems.append(
                f"The newer version adds “{new.heading or new.key}” before every clause the "
                "versions share; a proposal can add a clause only after another."
            )
            continue
        anchor_kind = _kind(old_by_key[anchor])
        inserted_kind = (
            anchor_kind
            if anchor_kind in (PartKind.SECTION, PartKind.ATTACHMENT)
            else PartKind.SECTION
        )
        if _kind(new) != inserted_kind or _label(new):
            problems.append(
                f"The newer version adds “{new.heading or new.key}” as a kind of part or with "
                "a fixed number a proposal cannot give it."
            )
        changes.append(
            VersionChange(
                kind=OverrideKind.INSERT,
                clause_key=anchor,
                new_key=new.key,
                heading=(new.heading or "").strip(),
                body=new.body,
                blocks=new.blocks,
                old_heading="",
                new_heading=new.heading,
                heading_changed=False,
                body_changed=False,
            )
        )
    return changes, problems


# --- Who may move it, and to what ---------------------------------------------------------


def is_facilitator(user: Any, agreement: Agreement) -> bool:
    """Whether ``user`` staffs the collaboratory of ``agreement``'s partnership."""
    return staffed_collaboratories(user).filter(pk=agreement.trio.collaboratory_id).exists()


def facilitator_organisation_id(user: Any) -> int | None:
    """The facilitator organisation ``user`` belongs to (the proposals' organisation)."""
    return (
        Membership.objects.filter(user=user, organisation__kind=OrganisationKind.FACILITATOR)
        .order_by("organisation_id")
        .values_list("organisation_id", flat=True)
        .first()
    )


def earlier_upgrade(agreement: Agreement) -> TemplateUpgrade | None:
    return (
        TemplateUpgrade.objects.filter(agreement=agreement)
        .select_related("to_version__template", "by")
        .order_by("-created_at")
        .first()
    )


def refusal(agreement: Agreement, target: TemplateVersion | None) -> str:
    """Why ``agreement`` cannot move to ``target`` now ("" when it can), in words the page and
    the service both use. Reads the earlier move (one query)."""
    if agreement.status != Status.NEGOTIATING:
        return (
            f"This agreement is {agreement.get_status_display().lower()}: only an agreement "
            "in negotiation can move to a newer template version, because the move proposes "
            "changes the parties must answer."
        )
    previous = earlier_upgrade(agreement)
    if previous is not None:
        when = previous.created_at.strftime("%d %b %Y")
        return (
            f"This agreement was already moved to {previous.to_version} on {when}: its "
            "proposals are answered in the negotiation, and an agreement moves once."
        )
    if target is None:
        return f"{agreement.template_version} is the newest published version of its template."
    return ""


@transaction.atomic
def agreement_template_upgrade(
    *, agreement: Agreement, by: User, version: TemplateVersion
) -> TemplateUpgrade:
    """Move ``agreement`` to ``version``: each version difference becomes a pending proposal
    from the facilitator (module docstring); the parties are told, the move is audited."""
    agreement = lock(agreement)
    if not is_facilitator(by, agreement):
        raise DomainError(
            "Only a facilitator of this collaboratory can move an agreement to a newer "
            "template version.",
            code="not_facilitator",
        )
    newer = {v.pk: v for v in newer_versions(agreement.template_version)}
    if version.pk not in newer:
        raise DomainError(
            {
                "version": f"{version} is not a newer published version of "
                f"{agreement.template_version.template.name}: choose one of "
                + (", ".join(str(v) for v in newer.values()) or "none (there is none)")
                + "."
            },
            code="not_newer",
        )
    version = newer[version.pk]
    reason = refusal(agreement, version)
    if reason:
        raise DomainError(reason, code="upgrade_refused")
    organisation_id = facilitator_organisation_id(by)
    if organisation_id is None:
        raise DomainError(
            "Your account belongs to no facilitator organisation, so the proposals would have "
            "no organisation to come from: ask an administrator to add you to the hub's "
            "organisation.",
            code="no_facilitator_organisation",
        )
    old_clauses = list(agreement.template_version.clauses.all())
    new_clauses = list(Clause.objects.filter(version=version).order_by("order"))
    changes, problems = version_changes(old_clauses, new_clauses)
    taken = keys_in_use(agreement)
    for change in changes:
        if change.kind == OverrideKind.INSERT and change.new_key in taken:
            problems.append(
                f"{version} adds a clause with the key “{change.new_key}”, which this "
                "agreement already uses for a clause a party proposed."
            )
    if problems:
        raise DomainError(
            f"This agreement cannot move to {version}: " + " ".join(problems),
            code="upgrade_not_expressible",
        )
    if not changes:
        raise DomainError(
            f"{version} has the same clauses as {agreement.template_version}: there is nothing "
            "to propose.",
            code="nothing_to_propose",
        )
    rationale = (
        f"Moves the agreement from {agreement.template_version} to {version} of the "
        "collaboratory's standard."
    )
    if version.notes.strip():
        rationale += f" What changed: {version.notes.strip()}"
    created = []
    for change in changes:
        override = ClauseOverride(
            agreement=agreement,
            organisation_id=organisation_id,
            proposed_by=by,
            kind=change.kind,
            clause_key=change.clause_key,
            new_key=change.new_key,
            heading=change.heading,
            body=change.body if change.kind != OverrideKind.DELETE else "",
            blocks=change.blocks if change.kind != OverrideKind.DELETE else None,
            rationale=rationale,
        )
        override.full_clean()
        override.save()
        created.append(override)
    upgrade = TemplateUpgrade(
        agreement=agreement, from_version=agreement.template_version, to_version=version, by=by
    )
    upgrade.full_clean()
    upgrade.save()
    upgrade.proposals.set(created)
    fresh = reload(agreement)
    clashing = sorted(key for key in conflicts(fresh) if any(o.clause_key == key for o in created))
    audit_record(
        action=AuditAction.TEMPLATE_UPGRADE,
        target=agreement,
        actor=by,
        organisation_id=organisation_id,
        payload={
            "from_version": agreement.template_version.pk,
            "to_version": version.pk,
            "proposals": [o.pk for o in created],
            "conflicts": clashing,
        },
    )
    organisation = created[0].organisation
    notify(
        "template_upgrade",
        fresh,
        actor=by,
        organisation_ids=[m.organisation_id for m in fresh.trio.members.all()],
        org=organisation.name,
        version=str(version),
        count=len(created),
        conflicts=len(clashing),
    )
    return upgrade
