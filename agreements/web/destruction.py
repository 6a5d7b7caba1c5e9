"""Destruction duties on the web: every duty the user's organisations are party to (the district
sees each duty's state), one agreement's duties, the receiving party's certification form, and
the sealed certificate and evidence downloads. Reads go through
``agreements.destruction.selectors`` (strangers get 404); the write is
``destruction_certify``."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from agreements.access import acting_parties
from agreements.destruction import selectors, services
from agreements.destruction.rules import DutyState
from agreements.models import DestructionDuty, DestructionMethod
from agreements.selectors import agreements_visible_to
from collaboratory import file_kinds
from collaboratory.downloads import audited_file_response
from collaboratory.errors import DomainError
from collaboratory.web import add_to_form
from partners.http import AuthenticatedHttpRequest

STATE_FILTERS = [("", "All")] + [(s.value, s.label) for s in DutyState]


class CertifyForm(forms.Form):
    method = forms.ChoiceField(
        label="How was the data destroyed?",
        choices=DestructionMethod.choices,
        widget=forms.RadioSelect,
    )
    destroyed_on = forms.DateField(
        label="Date of destruction", widget=forms.DateInput(attrs={"type": "date"})
    )
    certifier_title = forms.CharField(
        label="Your title", max_length=200, help_text="As it should appear on the certificate."
    )
    attested = forms.BooleanField(
        label="I attest that the statement above is true.", required=False
    )
    evidence = forms.FileField(
        label="Evidence (optional)",
        required=False,
        help_text="A wiping log, a vendor's certificate or a photo: PDF, PNG, JPEG or text, "
        f"at most {file_kinds.describe_bytes(services.EVIDENCE_MAX_BYTES)}.",
    )


@login_required
@require_GET
def destruction_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every destruction duty of the agreements the user sees, the most urgent first."""
    # Queries: session, user, the duties (with agreement, element, organisations and the
    # deadline subquery), the organisations the user acts for.
    today = timezone.localdate()
    state = request.GET.get("state", "")
    duties = selectors.duties_visible_to(request.user)
    if state in DutyState._value2member_map_:
        duties = selectors.in_state(duties, state, today=today)
    else:
        state = ""
    duties = duties.order_by("deadline", "agreement__reference", "data_element__position", "pk")
    rows = selectors.by_urgency(
        selectors.duty_rows(
            list(duties[: selectors.LIST_LIMIT]),
            acting_for=selectors.acting_for(request.user),
            today=today,
        )
    )
    return render(
        request,
        "agreements/destruction/duty_list.html",
        {
            "rows": rows,
            "state": state,
            "filters": STATE_FILTERS,
            "limit": selectors.LIST_LIMIT,
        },
    )


@login_required
@require_GET
def destruction_agreement(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    """One agreement's duties, with certify buttons for the receiving party."""
    # Queries: session, user, the agreement, its duties (with the deadline subquery), the
    # organisations the user acts for.
    agreement = get_object_or_404(agreements_visible_to(request.user), pk=pk)
    rows = selectors.duty_rows(
        selectors.agreement_duties(request.user, agreement),
        acting_for=selectors.acting_for(request.user),
    )
    return render(
        request,
        "agreements/destruction/agreement_duties.html",
        {
            "agreement": agreement,
            "rows": rows,
            "in_force": agreement.status in services.HAS_BEEN_IN_FORCE,
        },
    )


def _duty(request: AuthenticatedHttpRequest, pk, duty_id: int) -> DestructionDuty:
    return get_object_or_404(selectors.duties_visible_to(request.user), pk=duty_id, agreement_id=pk)


@login_required
def destruction_certify(request: AuthenticatedHttpRequest, pk, duty_id: int) -> HttpResponse:
    """The receiving party certifies one duty; the other parties are sent back with why."""
    duty = _duty(request, pk, duty_id)
    back = redirect("destruction-agreement", pk=duty.agreement_id)
    if duty.recipient_id not in selectors.acting_for(request.user):
        messages.error(
            request,
            f"Only {duty.recipient.name}'s people can certify the destruction of data it received.",
        )
        return back
    if duty.certified_at is not None:
        messages.info(request, f"The destruction of {duty.data_element.name} is certified.")
        return back
    form = CertifyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.destruction_certify(
                duty_id=duty.pk,
                by=request.user,
                method=data["method"],
                destroyed_on=data["destroyed_on"],
                certifier_title=data["certifier_title"],
                attested=data["attested"],
                evidence=data.get("evidence"),
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(
                request,
                f"The destruction of {duty.data_element.name} is certified. The sealed "
                "certificate of destruction is being prepared; it appears here in a moment.",
            )
            return back
    name = request.user.get_full_name().strip() or request.user.get_username()
    row = selectors.duty_rows([duty], acting_for={duty.recipient_id})[0]
    return render(
        request,
        "agreements/destruction/certify.html",
        {
            "duty": duty,
            "row": row,
            "form": form,
            "certifier_name": name,
            "attestation": services.attestation_text(
                duty=duty,
                name=name,
                title=form["certifier_title"].value() or "",
                method=form["method"].value() or "",
                destroyed_on=getattr(form, "cleaned_data", {}).get("destroyed_on"),
            ),
            "earliest": services.earliest_destruction(duty.agreement),
            "today": timezone.localdate(),
        },
    )


def _download(
    request: AuthenticatedHttpRequest, duty: DestructionDuty, *, field: str, filename: str
) -> FileResponse:
    return audited_file_response(
        getattr(duty, field),
        filename=filename,
        actor=request.user,
        target=duty,
        payload={
            "what": field,
            "agreement": duty.agreement.reference,
            "sha256": getattr(duty, f"{field}_sha256"),
        },
    )


@login_required
@require_GET
def destruction_certificate(
    request: AuthenticatedHttpRequest, pk, duty_id: int
) -> HttpResponseBase:
    """The sealed certificate of destruction (anyone who sees the agreement)."""
    duty = _duty(request, pk, duty_id)
    if not duty.certificate:
        if duty.certified_at is not None:
            messages.info(request, "The certificate is still being prepared; try again shortly.")
            return redirect("destruction-agreement", pk=duty.agreement_id)
        raise Http404
    return _download(
        request,
        duty,
        field="certificate",
        filename=f"{duty.agreement.reference}-destruction-{duty.pk}.pdf",
    )


@login_required
@require_GET
def destruction_evidence(request: AuthenticatedHttpRequest, pk, duty_id: int) -> HttpResponseBase:
    """The evidence file: only for the agreement's parties (it may show their systems), after
    the access check; never served from a public URL."""
    duty = _duty(request, pk, duty_id)
    if not duty.evidence or not acting_parties(request.user, duty.agreement):
        raise Http404
    return _download(request, duty, field="evidence", filename=duty.evidence_name or "evidence")
