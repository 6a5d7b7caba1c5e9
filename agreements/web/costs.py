"""Costs and effort pages: an agreement's costs (record, edit, share, delete entries; the
party's own totals, the trio's shared totals, cycle time per stage), a trio's totals, and the
facilitator's report with its CSV. Who sees what is ``agreements.costs.selectors``' rule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agreements.access import parties_in_role, roles_by_party
from agreements.costs import cycle
from agreements.costs.models import (
    MAX_HOURS,
    Compensation,
    CompensationState,
    CostCategory,
    CostEntry,
    CostKind,
    CostPeriod,
    LegalRole,
    PreparedBy,
)
from agreements.costs.report import clause_chart, cost_report, report_csv
from agreements.costs.selectors import (
    Totals,
    agreement_totals,
    entry_rows,
    totals_by,
    visible_entries,
)
from agreements.costs.services import (
    cost_entry_delete,
    cost_entry_record,
    cost_entry_share,
    cost_entry_update,
)
from agreements.models import Agreement, Clause
from agreements.selectors import agreements_visible_to
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.errors import DomainError
from collaboratory.web import add_to_form
from partners.http import AuthenticatedHttpRequest
from partners.models import Collaboratory
from partners.selectors import staffed_collaboratories, trio_detail_for_user

# --- forms (shape only: the service checks the rules) ---------------------------------------


def _hours_field() -> forms.DecimalField:
    return forms.DecimalField(
        label="Hours",
        min_value=0.01,
        max_value=MAX_HOURS,
        max_digits=6,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.25", "inputmode": "decimal"}),
    )


def _money_field(label: str, *, required: bool = False) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )


def _choice(choices: Any, label: str, *, required: bool = True) -> forms.ChoiceField:
    options = list(choices) if required else [("", "—"), *choices]
    return forms.ChoiceField(label=label, choices=options, required=required)


class _EntryForm(forms.Form):
    kind: str = ""
    occurred_on = forms.DateField(
        label="Date",
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        initial=timezone.localdate,
    )
    currency = forms.CharField(
        label="Currency",
        max_length=3,
        initial="USD",
        widget=forms.TextInput(attrs={"size": 4, "autocomplete": "off"}),
    )
    note = forms.CharField(
        label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    shared = forms.BooleanField(
        label="Share with the trio (the other parties and the facilitator see it)",
        required=False,
    )

    def values(self) -> dict[str, Any]:
        """The kind's fields for the service (not the date and the sharing flag)."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in ("occurred_on", "shared", "organisation")
        }


class LegalReviewForm(_EntryForm):
    kind = CostKind.LEGAL_REVIEW
    hours = _hours_field()
    legal_role = _choice(LegalRole.choices, "Who reviewed")
    hourly_rate = _money_field("Hourly rate (optional)")
    clause_key = forms.ChoiceField(label="Clause (optional)", required=False)

    def __init__(self, *args: Any, clauses: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        clause_field = self.fields["clause_key"]
        assert isinstance(clause_field, forms.ChoiceField)
        clause_field.choices = [("", "The agreement as a whole"), *clauses]


class DataPreparationForm(_EntryForm):
    kind = CostKind.DATA_PREPARATION
    hours = _hours_field()
    prepared_by = _choice(PreparedBy.choices, "Who prepares the data")
    compensation = _choice(Compensation.choices, "Compensation")
    stipend_amount = _money_field("Stipend amount")
    funding_source = forms.CharField(label="Funding source", required=False, max_length=200)
    compensation_state = _choice(CompensationState.choices, "Promised or paid", required=False)


class OngoingCostForm(_EntryForm):
    kind = CostKind.ONGOING
    category = _choice(CostCategory.choices, "What for")
    amount = _money_field("Amount", required=True)
    period = _choice(CostPeriod.choices, "How often")


FORMS: dict[str, type[_EntryForm]] = {
    CostKind.LEGAL_REVIEW: LegalReviewForm,
    CostKind.DATA_PREPARATION: DataPreparationForm,
    CostKind.ONGOING: OngoingCostForm,
}


def _form(kind: str, clauses: list[tuple[str, str]], data: Any = None, **kwargs: Any) -> _EntryForm:
    if kind == CostKind.LEGAL_REVIEW:
        return LegalReviewForm(data, clauses=clauses, prefix=kind, **kwargs)
    return FORMS[kind](data, prefix=kind, **kwargs)


# --- the agreement's costs ------------------------------------------------------------------


def _agreement(request: HttpRequest, pk: UUID) -> Agreement:
    return get_object_or_404(
        agreements_visible_to(request.user)
        .select_related("trio__collaboratory", "template_version__template")
        .prefetch_related("trio__members__organisation"),
        pk=pk,
    )


def _clauses(agreement: Agreement) -> list[tuple[str, str]]:
    return [
        (key, f"{number} {heading}".strip() or key)
        for key, number, heading in Clause.objects.filter(
            version_id=agreement.template_version_id
        ).values_list("key", "number", "heading")
    ]


@login_required
def agreement_costs(request: AuthenticatedHttpRequest, pk: UUID) -> HttpResponse:
    # Queries (GET, 10 at most): session, user, the agreement (+trio, template), its members
    # (+organisations), the viewer's memberships of its parties, the clauses (form), the
    # visible entries (+organisation, recorder), their totals, the agreement's stages, the
    # template's medians. A POST adds the service's checks and writes.
    agreement = _agreement(request, pk)
    own_parties = parties_in_role(roles_by_party(request.user, agreement))
    clauses = _clauses(agreement) if own_parties else []
    kind = request.POST.get("kind", "") if request.method == "POST" else ""
    bound: dict[str, _EntryForm] = {}
    if request.method == "POST":
        if kind not in FORMS:
            messages.error(
                request,
                "Choose what to record: legal review time, data preparation or an ongoing cost.",
            )
            return redirect("agreement-costs", agreement.pk)
        form = _form(kind, clauses, request.POST)
        bound[kind] = form
        if form.is_valid():
            try:
                entry = cost_entry_record(
                    agreement=agreement,
                    by=request.user,
                    kind=kind,
                    occurred_on=form.cleaned_data["occurred_on"],
                    values=form.values(),
                    shared=form.cleaned_data["shared"],
                )
            except DomainError as error:
                add_to_form(form, error)
            else:
                messages.success(
                    request,
                    f"{entry.get_kind_display()} recorded"
                    + (", shared with the trio." if entry.shared else ", private to your party."),
                )
                return redirect("agreement-costs", agreement.pk)
    forms_by_kind = {k: bound.get(k) or _form(k, clauses) for k in FORMS}
    entries = list(entry_rows(visible_entries(agreement.pk, own_parties)))
    totals = agreement_totals(agreement.pk, own_parties)
    organisations = {m.organisation_id: m.organisation for m in agreement.trio.members.all()}
    stages = cycle.agreement_cycle(agreement.pk)
    medians = cycle.cycle_stats(
        Agreement.objects.filter(
            trio__collaboratory_id=agreement.trio.collaboratory_id,
            template_version__template_id=agreement.template_version.template_id,
        )
    ).overall
    return render(
        request,
        "agreements/costs/agreement_costs.html",
        {
            "agreement": agreement,
            "entries": [(entry, entry.organisation_id in own_parties) for entry in entries],
            "own_totals": [
                (organisations[o], t) for o, t in totals.own.items() if o in organisations
            ],
            "shared_totals": totals.shared,
            "stages": [(stage, medians.get(stage.stage)) for stage in stages],
            "can_record": bool(own_parties),
            "forms": [(k, CostKind(k).label, forms_by_kind[k]) for k in FORMS],
            "open_kind": kind,
        },
        status=400 if bound else 200,
    )


def _entry(request: HttpRequest, pk: UUID, entry_id: int) -> tuple[Agreement, CostEntry]:
    """The agreement and one entry of a party the viewer acts for: only its own party's
    people change, share or delete an entry, so for everyone else it is 404 (another party's
    private entry does not exist for them; a shared one is read on the costs page)."""
    agreement = _agreement(request, pk)
    own_parties = parties_in_role(roles_by_party(request.user, agreement))
    entry = get_object_or_404(
        visible_entries(agreement.pk, own_parties)
        .filter(organisation_id__in=own_parties)
        .select_related("organisation"),
        pk=entry_id,
    )
    entry.agreement = agreement
    return agreement, entry


@login_required
def cost_entry_edit(request: AuthenticatedHttpRequest, pk: UUID, entry_id: int) -> HttpResponse:
    # Queries: session, user, the agreement (+trio), members, memberships, the entry, the
    # clauses; a save adds the service's lock and writes.
    agreement, entry = _entry(request, pk, entry_id)
    fields = [f for f in FORMS[entry.kind].base_fields if f not in ("shared",)]
    initial = {name: getattr(entry, name) for name in fields}
    data = request.POST if request.method == "POST" else None
    form = _form(entry.kind, _clauses(agreement), data, initial=initial)
    form.fields.pop("shared")
    if form.is_bound and form.is_valid():
        try:
            cost_entry_update(
                entry=entry,
                by=request.user,
                values={**form.values(), "occurred_on": form.cleaned_data["occurred_on"]},
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(request, "Entry saved.")
            return redirect("agreement-costs", agreement.pk)
    return render(
        request,
        "agreements/costs/entry_edit.html",
        {"agreement": agreement, "entry": entry, "form": form},
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
def cost_entry_share_view(
    request: AuthenticatedHttpRequest, pk: UUID, entry_id: int
) -> HttpResponse:
    agreement, entry = _entry(request, pk, entry_id)
    shared = request.POST.get("shared") == "1"
    try:
        cost_entry_share(entry=entry, by=request.user, shared=shared)
    except DomainError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            "Entry shared with the trio." if shared else "Entry private to your party again.",
        )
    return redirect("agreement-costs", agreement.pk)


@login_required
@require_POST
def cost_entry_delete_view(
    request: AuthenticatedHttpRequest, pk: UUID, entry_id: int
) -> HttpResponse:
    agreement, entry = _entry(request, pk, entry_id)
    try:
        cost_entry_delete(entry=entry, by=request.user)
    except DomainError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Entry deleted.")
    return redirect("agreement-costs", agreement.pk)


# --- a trio's totals ------------------------------------------------------------------------


@login_required
@require_GET
def trio_costs(request: AuthenticatedHttpRequest, collaboratory: str, slug: str) -> HttpResponse:
    # Queries (8): session, user, the trio (+collaboratory), its members (+organisations),
    # research questions, the viewer's memberships, its agreements, the shared totals per
    # agreement, the viewer's own totals per agreement, cycle statistics.
    trio = get_object_or_404(
        trio_detail_for_user(request.user), collaboratory__slug=collaboratory, slug=slug
    )
    members = list(trio.members.all())
    own_parties = sorted(
        set(
            request.user.memberships.filter(
                organisation_id__in=[m.organisation_id for m in members]
            ).values_list("organisation_id", flat=True)
        )
    )
    agreements = Agreement.objects.filter(trio=trio)
    agreement_list = list(
        agreements.only("id", "reference", "title", "status").order_by("-created_at")
    )
    ids = agreements.values("id")
    shared = totals_by(visible_entries(ids, ()), "agreement_id")
    own = (
        totals_by(
            visible_entries(ids, own_parties).filter(organisation_id__in=own_parties),
            "agreement_id",
        )
        if own_parties
        else {}
    )
    stats = cycle.cycle_stats(agreements)
    rows = [(a, shared.get(a.pk, Totals()), own.get(a.pk)) for a in agreement_list]
    all_shared = Totals()
    for totals in shared.values():
        all_shared.merge(totals)
    return render(
        request,
        "agreements/costs/trio_costs.html",
        {
            "trio": trio,
            "rows": rows,
            "shared_total": all_shared,
            "has_own": bool(own_parties),
            "cycle": [
                (cycle.STAGE_LABELS[s], stats.by_trio.get(trio.pk, {}).get(s))
                for s in (*cycle.STAGES, cycle.TOTAL)
            ],
        },
    )


# --- the facilitator's report ---------------------------------------------------------------


def _report_collaboratory(request: HttpRequest) -> tuple[Collaboratory, list[Collaboratory]]:
    staffed = list(staffed_collaboratories(request.user).order_by("name"))
    if not staffed:
        raise Http404("The cost report is for the collaboratory's facilitators.")
    wanted = request.GET.get("collaboratory", "")
    chosen = next((c for c in staffed if c.slug == wanted), None)
    if wanted and chosen is None:
        raise Http404("No such collaboratory among those you facilitate.")
    return chosen or staffed[0], staffed


@login_required
@require_GET
def cost_report_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Queries (11): session, user, the staffed collaboratories, then the report's: trios,
    # templates, agreement counts, shared totals, cycle statistics, clause durations, clause
    # hours, clause headings.
    collaboratory, staffed = _report_collaboratory(request)
    report = cost_report(collaboratory)
    return render(
        request,
        "agreements/costs/report.html",
        {
            "report": report,
            "staffed": staffed,
            "chart": clause_chart(report.clauses),
            "stages": [cycle.STAGE_LABELS[s] for s in (*cycle.STAGES, cycle.TOTAL)],
        },
    )


@login_required
@require_GET
def cost_report_csv(request: AuthenticatedHttpRequest) -> HttpResponse:
    collaboratory, _ = _report_collaboratory(request)
    report = cost_report(collaboratory)
    audit_record(
        action=AuditAction.EXPORT,
        target=collaboratory,
        actor=request.user,
        payload={"export": "cost-report", "format": "csv"},
    )
    response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{collaboratory.slug}-costs.csv"'
    return response
