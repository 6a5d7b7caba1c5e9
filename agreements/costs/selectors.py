"""Reads of cost and effort entries, through one privacy rule.

The rule (issue 20: "entries are private to their party unless it shares them"):

- An entry belongs to the party (organisation) that recorded it. That party's people (anyone
  who acts for it in the agreement's trio, ``agreements.access``) see all its entries,
  private and shared, and its totals over all of them.
- The other parties of the agreement see an entry only once its party has shared it.
- The collaboratory's facilitators act for no party: they see shared entries and totals over
  shared entries, never a private one.
- Partner systems (the API) see what their organisation's people see.
- **Any total that someone other than the recording party can see counts only shared
  entries**: a private entry's hours or amount never reach another party, neither as a row
  nor hidden in a sum (the trio's totals, per-trio totals, the facilitator's report).

Everyone else does not see the agreement at all (its pages answer 404 before this module is
asked). ``visible_entries`` is the rule in one filter; every list and total here starts
from it or from ``shared_entries``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum

from agreements.costs.models import CompensationState, CostEntry, CostKind, CostPeriod

ZERO = Decimal("0")


def visible_entries(agreement_ids: Any, own_parties: Collection[int]) -> QuerySet[CostEntry]:
    """Entries of the agreement(s) a viewer acting for ``own_parties`` may see: their own
    parties' entries and every shared one. ``agreement_ids``: one id, a list or a subquery.
    Facilitators and partner-less viewers pass no parties and see shared entries only."""
    if isinstance(agreement_ids, list | tuple | QuerySet):
        scope = Q(agreement_id__in=agreement_ids)
    else:
        scope = Q(agreement_id=agreement_ids)
    rule = Q(shared=True)
    if own_parties:
        rule |= Q(organisation_id__in=list(own_parties))
    return CostEntry.objects.filter(scope & rule)


def shared_entries(agreement_ids: Any) -> QuerySet[CostEntry]:
    """Only shared entries: what any total seen beyond the recording party adds up."""
    return visible_entries(agreement_ids, ())


def entry_rows(queryset: QuerySet[CostEntry]) -> QuerySet[CostEntry]:
    """What a list of entries shows, newest first (one query)."""
    return queryset.select_related("organisation").order_by("-occurred_on", "-id")


def _money_text(amounts: dict[str, Decimal]) -> str:
    return ", ".join(f"{currency} {amount:,.2f}" for currency, amount in sorted(amounts.items()))


@dataclass
class Totals:
    """Sums over a set of entries; money per currency (entries may use different ones)."""

    entries: int = 0
    legal_hours: Decimal = ZERO
    preparation_hours: Decimal = ZERO
    #: Hours times the hourly rate, for entries with a rate.
    legal_fees: dict[str, Decimal] = field(default_factory=dict)
    stipends: dict[str, Decimal] = field(default_factory=dict)
    #: The part of ``stipends`` promised and not yet paid.
    stipends_unpaid: dict[str, Decimal] = field(default_factory=dict)
    one_off: dict[str, Decimal] = field(default_factory=dict)
    #: Recurring costs for a year: monthly ones times twelve plus yearly ones.
    per_year: dict[str, Decimal] = field(default_factory=dict)

    @property
    def hours(self) -> Decimal:
        return self.legal_hours + self.preparation_hours

    @property
    def legal_fees_text(self) -> str:
        return _money_text(self.legal_fees)

    @property
    def stipends_text(self) -> str:
        return _money_text(self.stipends)

    @property
    def stipends_unpaid_text(self) -> str:
        return _money_text(self.stipends_unpaid)

    @property
    def one_off_text(self) -> str:
        return _money_text(self.one_off)

    @property
    def per_year_text(self) -> str:
        return _money_text(self.per_year)

    @property
    def money(self) -> dict[str, Decimal]:
        """Fees, stipends and one-off costs plus one year of recurring costs."""
        total: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for part in (self.legal_fees, self.stipends, self.one_off, self.per_year):
            for currency, amount in part.items():
                total[currency] += amount
        return dict(total)

    @property
    def money_text(self) -> str:
        return _money_text(self.money)

    def add(self, row: dict[str, Any]) -> None:
        """Fold one aggregated row of ``_aggregate`` in."""
        currency = row["currency"]
        self.entries += row["n"]
        hours = row["sum_hours"] or ZERO
        if row["kind"] == CostKind.LEGAL_REVIEW:
            self.legal_hours += hours
            if row["sum_fees"] is not None:
                self._add(self.legal_fees, currency, row["sum_fees"])
        elif row["kind"] == CostKind.DATA_PREPARATION:
            self.preparation_hours += hours
            if row["sum_stipends"] is not None:
                self._add(self.stipends, currency, row["sum_stipends"])
                if row["compensation_state"] == CompensationState.PROMISED:
                    self._add(self.stipends_unpaid, currency, row["sum_stipends"])
        elif row["sum_amount"] is not None:
            amount = row["sum_amount"]
            if row["period"] == CostPeriod.ONE_OFF:
                self._add(self.one_off, currency, amount)
            elif row["period"] == CostPeriod.MONTHLY:
                self._add(self.per_year, currency, amount * 12)
            else:
                self._add(self.per_year, currency, amount)

    def merge(self, other: Totals) -> None:
        """Add ``other``'s sums into these."""
        self.entries += other.entries
        self.legal_hours += other.legal_hours
        self.preparation_hours += other.preparation_hours
        for mine, theirs in (
            (self.legal_fees, other.legal_fees),
            (self.stipends, other.stipends),
            (self.stipends_unpaid, other.stipends_unpaid),
            (self.one_off, other.one_off),
            (self.per_year, other.per_year),
        ):
            for currency, amount in theirs.items():
                self._add(mine, currency, amount)

    @staticmethod
    def _add(target: dict[str, Decimal], currency: str, amount: Decimal) -> None:
        target[currency] = target.get(currency, ZERO) + amount


_FEES = ExpressionWrapper(
    F("hours") * F("hourly_rate"), output_field=DecimalField(max_digits=18, decimal_places=4)
)


def _aggregate(queryset: QuerySet[CostEntry], *group: str) -> Iterable[dict[str, Any]]:
    """One row per ``group`` x kind x currency x period x compensation state with the sums
    ``Totals`` needs: PostgreSQL adds up, Python folds a handful of rows."""
    return (
        queryset.order_by()
        .values(*group, "kind", "currency", "period", "compensation_state")
        .annotate(
            n=Count("id"),
            sum_hours=Sum("hours"),
            sum_fees=Sum(_FEES),
            sum_stipends=Sum("stipend_amount"),
            sum_amount=Sum("amount"),
        )
    )


def totals_by(queryset: QuerySet[CostEntry], *group: str) -> dict[Hashable, Totals]:
    """``Totals`` of ``queryset`` per value of ``group`` (a tuple key for several fields,
    ``None`` for no grouping): one query."""
    result: dict[Hashable, Totals] = defaultdict(Totals)
    for row in _aggregate(queryset, *group):
        if not group:
            key: Hashable = None
        elif len(group) == 1:
            key = row[group[0]]
        else:
            key = tuple(row[name] for name in group)
        result[key].add(row)
    return dict(result)


@dataclass(frozen=True)
class AgreementTotals:
    """What one viewer sees summed up on an agreement: per own party all its entries; for
    the trio only the shared entries of every party."""

    own: dict[int, Totals]
    shared: Totals


def agreement_totals(agreement_id: Any, own_parties: Collection[int]) -> AgreementTotals:
    """The viewer's own parties' totals and the trio's shared totals, in one query over the
    entries the viewer may see (``visible_entries``)."""
    own: dict[int, Totals] = {party: Totals() for party in own_parties}
    shared = Totals()
    for row in _aggregate(visible_entries(agreement_id, own_parties), "organisation_id", "shared"):
        if row["organisation_id"] in own:
            own[row["organisation_id"]].add(row)
        if row["shared"]:
            shared.add(row)
    return AgreementTotals(own=own, shared=shared)
