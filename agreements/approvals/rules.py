"""When an agreement's research approvals let data flow: the one definition.

The rule. A template may require research approvals (``DSATemplate.
required_research_approvals``: the IRB's, the district research office's). An approval
*covers* day d when it is not withdrawn and ``approved_on <= d <= expires_on`` (its expiry
date is the last day it holds, as the letter states it, like an agreement's ``expires_on``).
An agreement's approvals are *current* on d when every required kind has an approval that
covers d; an agreement whose template requires none is always current. Where they are not
current no student data may flow: the consented roster export refuses (naming the approval
to renew), and the partner API says the agreement permits no data flow.

``approvals_current`` (Python, over the approvals already loaded) and
``approvals_current_sql`` (a ``Q`` over ``Agreement`` rows) state the same rule; tests/
agreements/test_research_approvals.py checks that they agree. Everything else here (each
approval's state, what is missing, the refusal's wording) derives from ``covers``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.lookups import GreaterThanOrEqual

from agreements.approvals.models import ApprovalKind, ResearchApproval
from agreements.models import Agreement, Status
from agreements.terms import end_date, end_date_sql
from partners.models import TrioRole

#: Which party holds (and records) each kind of approval.
HOLDER: dict[str, str] = {
    ApprovalKind.IRB: TrioRole.RESEARCH,
    ApprovalKind.DISTRICT_RESEARCH_OFFICE: TrioRole.DISTRICT,
}
#: Days before an approval's expiry at which its holder and the district are reminded; the
#: dashboard flags approvals from the first of them on.
REMINDER_DAYS = (60, 30, 7)
EXPIRING_WITHIN_DAYS = max(REMINDER_DAYS)

#: Each approval's state on a day (the API's ``state``).
CURRENT, EXPIRED, SUPERSEDED, WITHDRAWN, NOT_YET = (
    "current",
    "expired",
    "superseded",
    "withdrawn",
    "not_yet_valid",
)
STATES = (CURRENT, NOT_YET, EXPIRED, SUPERSEDED, WITHDRAWN)
STATE_LABELS = {
    CURRENT: "Current",
    NOT_YET: "Not yet valid",
    EXPIRED: "Expired",
    SUPERSEDED: "Superseded (renewed)",
    WITHDRAWN: "Withdrawn",
}


def kind_label(kind: str) -> str:
    """ "IRB approval" / "district research office approval", for sentences."""
    label = str(ApprovalKind(kind).label)
    return label if kind == ApprovalKind.IRB else label[0].lower() + label[1:]


def required_kinds(agreement: Agreement) -> list[str]:
    """The kinds the agreement's template requires, in ``ApprovalKind``'s order."""
    wanted = set(agreement.template_version.template.required_research_approvals or ())
    return [kind for kind in ApprovalKind.values if kind in wanted]


def covers(approval: ResearchApproval, day: dt.date) -> bool:
    """The approval holds on ``day``: not withdrawn, approved by then, not past its expiry."""
    return approval.withdrawn_at is None and approval.approved_on <= day <= approval.expires_on


def covers_sql(day: dt.date) -> Q:
    """``covers`` as a filter over ``ResearchApproval`` rows."""
    return Q(withdrawn_at__isnull=True, approved_on__lte=day, expires_on__gte=day)


def approvals_current(
    agreement: Agreement, approvals: Iterable[ResearchApproval], day: dt.date
) -> bool:
    """THE RULE: every kind the template requires has an approval covering ``day``.
    ``approvals`` are the agreement's (``agreement.research_approvals.all()``)."""
    covered = {a.kind for a in approvals if covers(a, day)}
    return all(kind in covered for kind in required_kinds(agreement))


def approvals_current_sql(day: dt.date) -> Q:
    """``approvals_current`` as a filter over ``Agreement`` rows: for each kind, the
    template does not require it or an approval of that kind covers ``day``."""
    condition = Q()
    for kind in ApprovalKind.values:
        covering = ResearchApproval.objects.filter(
            covers_sql(day), agreement_id=OuterRef("pk"), kind=kind
        )
        condition &= ~Q(
            template_version__template__required_research_approvals__contains=[kind]
        ) | Q(Exists(covering))
    return condition


def approval_state(
    approval: ResearchApproval, approvals: Sequence[ResearchApproval], day: dt.date
) -> str:
    """One approval's state on ``day``: withdrawn; superseded (a later-recorded approval of
    the same kind, not withdrawn, renews it); else current, not yet valid or expired by its
    dates (``covers``)."""
    if approval.withdrawn_at is not None:
        return WITHDRAWN
    later = any(
        other.kind == approval.kind
        and other.withdrawn_at is None
        and (other.recorded_at, other.pk) > (approval.recorded_at, approval.pk)
        for other in approvals
    )
    if later:
        return SUPERSEDED
    if covers(approval, day):
        return CURRENT
    return NOT_YET if day < approval.approved_on else EXPIRED


@dataclass(frozen=True)
class KindStanding:
    """Where one kind of approval stands on a day: whether the template requires it, the
    approval that covers the day (the one holding longest), and else the latest recorded."""

    kind: str
    required: bool
    covering: ResearchApproval | None
    latest: ResearchApproval | None
    day: dt.date

    @property
    def label(self) -> str:
        return str(ApprovalKind(self.kind).label)

    @property
    def in_sentence(self) -> str:
        """ "IRB approval" / "district research office approval" (``kind_label``)."""
        return kind_label(self.kind)

    @property
    def holder_role(self) -> str:
        return HOLDER[self.kind]

    @property
    def current(self) -> bool:
        return self.covering is not None

    @property
    def days_left(self) -> int | None:
        if self.covering is None:
            return None
        return (self.covering.expires_on - self.day).days

    @property
    def expiring(self) -> bool:
        """Current, but ends within the reminder window."""
        return self.days_left is not None and self.days_left <= EXPIRING_WITHIN_DAYS

    @property
    def state(self) -> str:
        """``current``, ``expiring``, ``expired`` (only lapsed approvals), ``missing``."""
        if self.covering is not None:
            return "expiring" if self.expiring else CURRENT
        return EXPIRED if self.latest is not None else "missing"

    def problem(self, action: str) -> str:
        """Why data may not flow for this kind ("" when it may), naming what to renew."""
        if self.covering is not None or not self.required:
            return ""
        latest = self.latest
        if latest is None:
            who = "research partner" if self.holder_role == TrioRole.RESEARCH else "district"
            return (
                f"The agreement needs a current {kind_label(self.kind)} and none is recorded: "
                f"the {who} records it under Research approvals before {action}."
            )
        if latest.approved_on > self.day:
            return (
                f"The {kind_label(self.kind)} {latest.number} from {latest.approving_body} "
                f"holds only from {latest.approved_on.isoformat()}: wait for it before {action}."
            )
        return (
            f"The {kind_label(self.kind)} {latest.number} from {latest.approving_body} "
            f"expired on {latest.expires_on.isoformat()}: renew it before {action}."
        )


def standings(
    agreement: Agreement, approvals: Sequence[ResearchApproval], day: dt.date
) -> list[KindStanding]:
    """Every kind, required ones first, with what covers ``day`` (from ``covers``)."""
    required = required_kinds(agreement)
    live = [a for a in approvals if a.withdrawn_at is None]
    result = []
    order = list(ApprovalKind.values)
    for kind in sorted(order, key=lambda k: (k not in required, order.index(k))):
        of_kind = [a for a in live if a.kind == kind]
        covering = [a for a in of_kind if covers(a, day)]
        result.append(
            KindStanding(
                kind=kind,
                required=kind in required,
                covering=max(covering, key=lambda a: (a.expires_on, a.recorded_at))
                if covering
                else None,
                latest=max(of_kind, key=lambda a: (a.recorded_at, a.pk)) if of_kind else None,
                day=day,
            )
        )
    return result


def problems(
    agreement: Agreement, approvals: Sequence[ResearchApproval], day: dt.date, *, action: str
) -> list[str]:
    """Why data may not flow on ``day`` for lack of approvals, one sentence per required
    kind that is not current (empty exactly when ``approvals_current``)."""
    return [p for s in standings(agreement, approvals, day) if (p := s.problem(action))]


def valid_until(
    agreement: Agreement, approvals: Sequence[ResearchApproval], day: dt.date
) -> dt.date | None:
    """While current on ``day``: the last day the required approvals covering it hold (the
    earliest of their expiries); None when none is required or they are not current."""
    ends = [
        s.covering.expires_on
        for s in standings(agreement, approvals, day)
        if s.required and s.covering is not None
    ]
    if not ends or not approvals_current(agreement, approvals, day):
        return None
    return min(ends)


def data_flow_permitted(
    agreement: Agreement, approvals: Sequence[ResearchApproval], day: dt.date
) -> bool:
    """The partner API's "may data flow today": the agreement is active, ``day`` lies in
    its term (from its start to its actual end, ``agreements.terms.end_date``) and its
    research approvals are current (``approvals_current``)."""
    return (
        agreement.status == Status.ACTIVE
        and agreement.start_date <= day <= end_date(agreement)
        and approvals_current(agreement, approvals, day)
    )


def data_flow_permitted_sql(day: dt.date) -> Q:
    """``data_flow_permitted`` as a filter over ``Agreement`` rows (the API list's field),
    with ``end_date_sql`` for the actual end and ``approvals_current_sql``."""
    return (
        Q(status=Status.ACTIVE, start_date__lte=day)
        & Q(GreaterThanOrEqual(end_date_sql(), Value(day)))
        & approvals_current_sql(day)
    )
