"""Which actions a user may take on an agreement now, and why not when they may not.

Used by the pages to show enabled buttons or disabled ones that say why. The services
enforce the same rules on their own; this module only explains them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from agreements.access import parties_in_role, refusal
from agreements.models import Agreement, OverrideStatus, Status
from agreements.selectors import conflicts, live_approvals
from partners.models import Role


@dataclass(frozen=True)
class Action:
    allowed: bool
    reason: str = ""


def available_actions(
    agreement: Agreement, held: Mapping[int, Collection[str]], blockers: list[str]
) -> dict[str, Action]:
    """``held`` is ``access.roles_by_party(user, agreement)``: who acts for which party is
    decided by ``access.parties_in_role``, as the services decide it."""
    status = agreement.status
    legal_orgs = parties_in_role(held, Role.LEGAL)
    signatory_orgs = parties_in_role(held, Role.SIGNATORY)
    is_party = bool(parties_in_role(held))
    approved = {a.organisation_id for a in live_approvals(agreement)}
    signed = {s.organisation_id for s in agreement.signatures.all()}

    def need(condition: bool, reason: str) -> Action:
        return Action(True) if condition else Action(False, reason)

    actions: dict[str, Action] = {}
    actions["open_negotiation"] = (
        need(is_party, refusal(None, action="open negotiation"))
        if status == Status.DRAFT
        else Action(False, "Negotiation is already open.")
    )
    if status != Status.NEGOTIATING:
        propose = Action(False, "Changes can be proposed only while negotiating.")
    else:
        propose = need(bool(legal_orgs), refusal(Role.LEGAL, action="propose changes"))
    actions["propose"] = propose
    actions["respond"] = propose if not propose.allowed else Action(True)
    if status != Status.NEGOTIATING:
        submit = Action(False, "Only a negotiating agreement can go to review.")
    elif not is_party:
        submit = Action(False, refusal(None, action="submit for review"))
    elif blockers:
        submit = Action(False, " ".join(blockers))
    else:
        submit = Action(True)
    actions["submit_for_review"] = submit
    if status != Status.IN_REVIEW:
        approve = Action(False, "Approval happens while the agreement is in review.")
    elif not legal_orgs:
        approve = Action(False, refusal(Role.LEGAL, action="approve"))
    elif set(legal_orgs) <= approved:
        approve = Action(False, "Your organisation has approved this text.")
    else:
        approve = Action(True)
    actions["approve"] = approve
    actions["reopen"] = (
        need(bool(legal_orgs), refusal(Role.LEGAL, action="reopen negotiation"))
        if status == Status.IN_REVIEW
        else Action(False, "Only an agreement in review can be reopened.")
    )
    if status != Status.SIGNING:
        sign = Action(False, "Signing starts when every party's legal team has approved.")
    elif not signatory_orgs:
        sign = Action(False, refusal(Role.SIGNATORY, action="sign"))
    elif set(signatory_orgs) <= signed:
        sign = Action(False, "Your organisation has signed.")
    else:
        sign = Action(True)
    actions["sign"] = sign
    terminators = (Role.SIGNATORY, Role.DIRECTOR)
    actions["terminate"] = (
        need(
            bool(parties_in_role(held, terminators)),
            refusal(terminators, action="terminate"),
        )
        if status == Status.ACTIVE
        else Action(False, "Only an active agreement can be terminated.")
    )
    actions["has_conflicts"] = Action(bool(conflicts(agreement)))
    actions["pending"] = Action(
        any(o.status == OverrideStatus.PROPOSED for o in agreement.overrides.all())
    )
    return actions
