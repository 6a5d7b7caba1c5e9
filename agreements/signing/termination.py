"""When a termination takes effect, as the agreement's Termination clause says.

The standard text (agreements/demo/standard_dsa_v*.md, Termination):

(a) any Party may terminate for convenience by giving at least [[termination_notice_days]]
    days' written notice: the agreement ends that many days after the notice;
(b) the District may terminate with immediate effect if a Recipient materially breached the
    agreement or continued disclosure would violate the law: it ends the day notice is given;
(c) any Party may terminate if another Party materially breaches it and does not cure the
    breach within [[cure_days]] days after written notice describing it: it ends when the
    cure period has run, unless the breach is cured and the notice withdrawn.

``ends_on`` is the agreement's last day in force, as ``expires_on`` is; until it has passed
the agreement stays active and the daily job (``agreements_terminate_due``) then terminates
it. A notice whose period would run past the expiry changes nothing: the agreement expires as
usual. The destruction deadline runs from the actual end (``agreements.terms``).

Plain functions over an agreement and a day, no request: the service, the terminate page and
the tests ask the same questions here.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.utils import formats

from agreements.choices import Status, TerminationGround
from agreements.models import Agreement
from agreements.terms import destruction_deadline, end_date
from agreements.text.consolidation import ConsolidatedText
from audit.models import AuditAction
from audit.selectors import audit_trail_of
from partners.models import Organisation, Role

#: Who may give notice of termination for a party.
TERMINATORS = (Role.SIGNATORY, Role.DIRECTOR)
#: The grounds only the District may use (clause (b)).
DISTRICT_ONLY = (TerminationGround.IMMEDIATE,)


#: The parameters that state the periods, by ground.
PERIOD_PARAMETERS: dict[str, str] = {
    TerminationGround.CONVENIENCE: "termination_notice_days",
    TerminationGround.BREACH: "cure_days",
}


def stated_periods(text: ConsolidatedText) -> frozenset[str]:
    """Which of the periods (``PERIOD_PARAMETERS``) the agreement's text states: a clause
    that refers to the parameter."""
    wanted = set(PERIOD_PARAMETERS.values())
    return frozenset(
        name for clause in text.clauses for name in clause.parameters if name in wanted
    )


def period_days(agreement: Agreement, ground: str, *, stated: Collection[str]) -> int | None:
    """Days from notice to the end: the text's notice period for convenience, its cure
    period for a breach, none for immediate termination. ``stated``: the periods the text
    states (``stated_periods``). A text with no cure period lets notice of a breach end the
    agreement at once (0); one with no notice period gives no date for convenience (None)."""
    if ground == TerminationGround.IMMEDIATE:
        return 0
    if ground == TerminationGround.CONVENIENCE:
        return agreement.termination_notice_days if PERIOD_PARAMETERS[ground] in stated else None
    if ground == TerminationGround.BREACH:
        return agreement.cure_days if PERIOD_PARAMETERS[ground] in stated else 0
    raise ValueError(f"unknown termination ground {ground!r}")


@dataclass(frozen=True)
class TerminationTiming:
    """What notice on ``ground`` given on ``noticed_on`` would do."""

    ground: str
    noticed_on: dt.date
    period_days: int
    ends_on: dt.date
    expires_on: dt.date
    destruction_deadline: dt.date

    @property
    def after_expiry(self) -> bool:
        """The period runs past the expiry: the agreement just expires as usual."""
        return self.ends_on > self.expires_on

    @property
    def immediate(self) -> bool:
        return self.ends_on <= self.noticed_on


def termination_timing(
    agreement: Agreement, ground: str, *, noticed_on: dt.date, stated: Collection[str]
) -> TerminationTiming | None:
    """The end and the destruction deadline that notice on ``ground`` given on
    ``noticed_on`` would set (the deadline by ``agreements.terms``' one rule); None when the
    text states no period for the ground (``period_days``)."""
    days = period_days(agreement, ground, stated=stated)
    if days is None:
        return None
    ends_on = noticed_on + dt.timedelta(days=days)
    preview = copy.copy(agreement)
    preview.ends_on = ends_on
    return TerminationTiming(
        ground=ground,
        noticed_on=noticed_on,
        period_days=days,
        ends_on=ends_on,
        expires_on=agreement.expires_on,
        destruction_deadline=destruction_deadline(preview),
    )


def notice_pending(agreement: Agreement) -> bool:
    """Notice of termination was given and the agreement, still active, has not ended yet."""
    return (
        agreement.status == Status.ACTIVE
        and agreement.ends_on is not None
        and bool(agreement.termination_ground)
        and end_date(agreement) == agreement.ends_on
    )


def day_text(value: dt.date) -> str:
    """A day as the pages and messages write it: 1 February 2027."""
    return formats.date_format(value, "j F Y")


#: How the status line names each ground.
GROUND_PHRASES: dict[str, str] = {
    TerminationGround.CONVENIENCE: "terminated for convenience",
    TerminationGround.BREACH: "terminated for an uncured breach",
    TerminationGround.IMMEDIATE: "terminated with immediate effect",
}


def ground_phrase(ground: str) -> str:
    """How the status line names the ground: "terminated for convenience"."""
    return GROUND_PHRASES.get(ground, "terminated")


def ending_summary(agreement: Agreement, *, by: str = "") -> str:
    """The status line of an agreement under notice: "Ends on 1 February 2027 (terminated
    for convenience by Riverbend USD on 3 December 2026)"; empty when no notice is pending."""
    if not notice_pending(agreement):
        return ""
    assert agreement.ends_on is not None  # noqa: S101 - notice_pending says so
    who = f" by {by}" if by else ""
    noticed = (
        f" on {day_text(agreement.termination_noticed_on)}"
        if agreement.termination_noticed_on
        else ""
    )
    return (
        f"Ends on {day_text(agreement.ends_on)} "
        f"({ground_phrase(agreement.termination_ground)}{who}{noticed})"
    )


# --- Who gave notice ----------------------------------------------------------------------
# The audit chain's record of the notice names the party (``organisation``). Until the
# agreement row holds it, the newest notice entry answers: one indexed query.

NOTICE_KEY = "termination_notice"
WITHDRAWAL_KEY = "termination_notice_withdrawn"


def notice_given_by(agreement: Agreement) -> Organisation | None:
    """The party that gave the pending notice of termination, or None (no notice pending,
    or its record names no party). ``agreement`` carries its trio's members."""
    if not notice_pending(agreement):
        return None
    entry = (
        audit_trail_of(agreement)
        .filter(action=AuditAction.TRANSITION, payload__has_any_keys=[NOTICE_KEY, WITHDRAWAL_KEY])
        .values_list("organisation_id", "payload")
        .first()
    )
    if entry is None or NOTICE_KEY not in entry[1]:
        return None
    return next(
        (m.organisation for m in agreement.trio.members.all() if m.organisation_id == entry[0]),
        None,
    )


# --- What the terminate page offers and the agreement page says -------------------------


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


@dataclass(frozen=True)
class TerminationChoice:
    """One ground as the terminate page offers it, with the dates it would set (``timing``;
    None when the text states no period for it)."""

    ground: str
    timing: TerminationTiming | None
    title: str  # "For convenience"
    when: str  # "ends 60 days after notice, on 1 February 2027"
    detail: str  # who may use it and how, in the text's words
    deadline_basis: str  # "90 days' retention after the end", "the agreed destruction date"
    available: bool
    why_not: str = ""


def _describe(ground: str, timing: TerminationTiming | None) -> tuple[str, str, str]:
    """(title, when, detail) of a ground as the terminate page words it."""
    ends = day_text(timing.ends_on) if timing else ""
    days = _days(timing.period_days) if timing else ""
    if ground == TerminationGround.CONVENIENCE:
        if timing is None:
            return (
                "For convenience",
                "the text states no notice period",
                "The agreement's text gives no notice period for ending it for convenience "
                "([[termination_notice_days]]), so no end date follows from notice.",
            )
        return (
            "For convenience",
            f"ends {days} after notice, on {ends}",
            f"Any party may end the agreement by giving {days}' written notice to the other "
            "parties. It stays in force until then.",
        )
    if ground == TerminationGround.BREACH:
        if timing is not None and timing.period_days == 0:
            return (
                "For a material breach",
                f"ends on notice, today, {ends}",
                "Any party, if another party materially breaches the agreement. The text gives "
                "no cure period ([[cure_days]]), so notice ends it at once.",
            )
        return (
            "For a breach that is not cured",
            f"ends {days} after notice (the cure period), on {ends}",
            "Any party, if another party materially breaches the agreement and does not cure "
            f"the breach within {days} of notice describing it. Describe the breach below; if "
            "it is cured in time, withdraw the notice and the agreement runs on.",
        )
    return (
        "With immediate effect",
        f"ends today, {ends}",
        "The District only, if a recipient materially breached the agreement (for example a "
        "security incident) or continued disclosure would violate the law.",
    )


def termination_choices(
    agreement: Agreement, *, today: dt.date, acts_for_district: bool, stated: Collection[str]
) -> list[TerminationChoice]:
    """The grounds of the Termination clause with the end and destruction deadline notice
    given today would set, and whether the user may use each (``acts_for_district``: they
    act for the District as signatory or director; ``stated``: the periods the text states,
    ``stated_periods``)."""
    pending_end = end_date(agreement) if notice_pending(agreement) else None
    choices = []
    for ground in (
        TerminationGround.CONVENIENCE,
        TerminationGround.BREACH,
        TerminationGround.IMMEDIATE,
    ):
        timing = termination_timing(agreement, ground, noticed_on=today, stated=stated)
        title, when, detail = _describe(ground, timing)
        deadline_basis = ""
        if timing is not None:
            by_retention = timing.ends_on + dt.timedelta(days=agreement.retention_days)
            deadline_basis = (
                f"{_days(agreement.retention_days)}' retention after the end"
                if timing.destruction_deadline == by_retention
                else "the agreed destruction date, which comes first"
            )
        why_not = ""
        if timing is None:
            why_not = "Without a notice period in the text, this ground gives no end date."
        elif ground in DISTRICT_ONLY and not acts_for_district:
            why_not = "Only the District's signatory or research director can use this ground."
        elif timing.after_expiry:
            why_not = (
                f"The agreement expires on {day_text(agreement.expires_on)}, before this notice "
                f"would take effect: it simply expires then, as usual."
            )
        elif pending_end is not None and timing.ends_on >= pending_end:
            why_not = f"Notice was already given: the agreement ends on {day_text(pending_end)}."
        choices.append(
            TerminationChoice(
                ground=ground,
                timing=timing,
                title=title,
                when=when,
                detail=detail,
                deadline_basis=deadline_basis,
                available=not why_not,
                why_not=why_not,
            )
        )
    return choices


@dataclass(frozen=True)
class NoticeStatus:
    """A pending notice of termination as the agreement page shows it."""

    summary: str  # "Ends on ... (terminated for convenience by ... on ...)"
    ground: str
    noticed_on: dt.date | None
    ends_on: dt.date
    destruction_deadline: dt.date
    noticed_by: Organisation | None
    can_withdraw: bool


def notice_status(agreement: Agreement, withdrawing_parties: Iterable[int]) -> NoticeStatus | None:
    """The pending notice, or None; ``withdrawing_parties``: the parties the user acts for
    as signatory or director (``access.parties_in_role(held, TERMINATORS)``). The party that
    gave notice may withdraw it before it takes effect."""
    if not notice_pending(agreement):
        return None
    assert agreement.ends_on is not None  # noqa: S101 - notice_pending says so
    noticed_by = notice_given_by(agreement)
    return NoticeStatus(
        summary=ending_summary(agreement, by=noticed_by.name if noticed_by else ""),
        ground=agreement.termination_ground,
        noticed_on=agreement.termination_noticed_on,
        ends_on=agreement.ends_on,
        destruction_deadline=destruction_deadline(agreement),
        noticed_by=noticed_by,
        can_withdraw=noticed_by is not None
        and noticed_by.pk in set(withdrawing_parties)
        and agreement.termination_ground not in DISTRICT_ONLY,
    )
