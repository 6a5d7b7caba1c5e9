"""Consent pages. Every lookup goes through ``consent.selectors`` (people outside the
agreement's three organisations get 404; student-level pages answer 404 to everyone but the
district's people); every write through a service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from agreements import lifecycle
from agreements.approvals.selectors import approval_problems
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.answers import kept_page
from collaboratory.errors import DomainError
from collaboratory.web import add_to_form, flash_error
from consent import charts, forms, selectors, services, student_keys
from consent.models import ConsentForm, ConsentImport, ConsentRecord, StudentConsent
from consent.receipts import consent_receipt, receipt_json
from consent.rules import ConsentKind, State
from consent.selectors import ConsentAccess
from partners.http import AuthenticatedHttpRequest

STUDENTS_PER_PAGE = 50
IMPORTS_SHOWN = 20


def _consent(request: HttpRequest, pk, *, student_level: bool = False):
    """The agreement and the user's consent access, or 404."""
    found = selectors.consent_agreement_for_user(request.user, pk)
    if found is None or (student_level and not found[1].student_level):
        raise Http404("No consent pages here.")
    return found


def _latest_form(forms_of_agreement) -> int | None:
    """The form version most recently in effect: the usual choice for a new record."""
    return (
        forms_of_agreement.order_by("-effective_date", "-version")
        .values_list("pk", flat=True)
        .first()
    )


def _base(agreement, access: ConsentAccess, **extra) -> dict:
    return {"agreement": agreement, "access": access, **extra}


@login_required
@kept_page
def consent_dashboard(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    # Queries: session, user, agreement, trio members, organisations, data elements,
    # recipients, memberships, requirements, coverage, aged-out states, snapshots, forms,
    # last export (+ its two counts when there is one).
    agreement, access = _consent(request, pk)
    requirements = selectors.requirements_of(agreement)
    kind = selectors.governing_kind(requirements)
    current = selectors.coverage(agreement, kind=kind)
    trend = selectors.coverage_trend(agreement, current)
    recipient_id = None
    if not access.student_level:
        # A recipient sees what changed since the roster it received.
        recipient_id = min(access.organisation_ids)
    summary = selectors.consent_summary(
        agreement, recipient_id=recipient_id, current=current, kind=kind
    )
    # Recipients see small counts masked.
    rows = current.rows if access.student_level else selectors.suppress_small_cells(current.rows)
    return render(
        request,
        "consent/dashboard.html",
        _base(
            agreement,
            access,
            requirements=requirements,
            kind=kind,
            coverage=current,
            rows=rows,
            schools=charts.stacked_bars(current.by_school()),
            trend=charts.trend_lines(trend),
            summary=summary,
            forms=selectors.forms_of(agreement),
            editable=agreement.status in lifecycle.EDITABLE,
            state_rows=[
                (State(s).label, current.states.get(s, 0), s)
                for s in State.values
                if current.states.get(s, 0)
            ],
            min_cell=selectors.MIN_CELL,
            hide_small=not access.student_level,
        ),
    )


@login_required
def requirement_edit(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    agreement, access = _consent(request, pk)
    form = forms.RequirementForm(request.POST or None, agreement=agreement)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.consent_requirement_set(
                agreement=agreement,
                by=request.user,
                kind=data["kind"],
                legal_basis=data["legal_basis"],
                data_element=data["data_element"],
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(request, "The consent requirement is saved.")
            return redirect("consent-dashboard", agreement.pk)
    return render(
        request,
        "consent/requirement_form.html",
        _base(
            agreement,
            access,
            form=form,
            requirements=selectors.requirements_of(agreement),
            editable=agreement.status in lifecycle.EDITABLE,
        ),
    )


@login_required
def form_add(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    agreement, access = _consent(request, pk)
    form = forms.ConsentFormTextForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.consent_form_add(agreement=agreement, by=request.user, **data)
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(
                request, f"Version {created.version} of the {created.language} form is saved."
            )
            return redirect("consent-form-detail", agreement.pk, created.pk)
    return render(request, "consent/form_add.html", _base(agreement, access, form=form))


@login_required
def form_detail(request: AuthenticatedHttpRequest, pk, form_id: int) -> HttpResponse:
    agreement, access = _consent(request, pk)
    consent_form = get_object_or_404(
        ConsentForm.objects.filter(agreement_id=agreement.pk).select_related("created_by"),
        pk=form_id,
    )
    return render(
        request, "consent/form_detail.html", _base(agreement, access, consent_form=consent_form)
    )


# --- student level (district only) --------------------------------------------------------


@login_required
def student_list(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    # Queries: session, user, agreement, members, organisations, elements, recipients,
    # memberships, schools, count, page.
    agreement, access = _consent(request, pk, student_level=True)
    filters = forms.StudentFilterForm(request.GET or None, schools=selectors.schools_of(agreement))
    data = filters.cleaned_data if filters.is_valid() else {}
    students = selectors.student_list(
        agreement,
        state=data.get("state") or None,
        school=data.get("school") or None,
        grade=data.get("grade"),
        key_prefix=data.get("key") or None,
    )
    page = Paginator(students, STUDENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "consent/student_list.html",
        _base(
            agreement,
            access,
            filters=filters,
            page=page,
            students=page.object_list,
            query=query.urlencode(),
        ),
    )


@login_required
def student_detail(request: AuthenticatedHttpRequest, pk, student_id: int) -> HttpResponse:
    agreement, access = _consent(request, pk, student_level=True)
    student = get_object_or_404(
        StudentConsent.objects.filter(agreement_id=agreement.pk), pk=student_id
    )
    forms_of_agreement = ConsentForm.objects.filter(agreement_id=agreement.pk)
    record_form = forms.RecordForm(
        initial={
            "student_key": student.student_key,
            "action": "withdrawn",
            "decided_on": timezone.localdate(),
            "form": _latest_form(forms_of_agreement),
        },
        forms_of_agreement=forms_of_agreement,
    )
    return render(
        request,
        "consent/student_detail.html",
        _base(
            agreement,
            access,
            student=student,
            records=selectors.student_history(agreement, student),
            record_form=record_form,
            can_record=agreement.status not in lifecycle.FINAL,
        ),
    )


@login_required
def record_add(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    agreement, access = _consent(request, pk, student_level=True)
    forms_of_agreement = ConsentForm.objects.filter(agreement_id=agreement.pk)
    form = forms.RecordForm(
        request.POST or None,
        initial={"form": _latest_form(forms_of_agreement)},
        forms_of_agreement=forms_of_agreement,
    )
    form.fields["student_key"].help_text = student_keys.key_hint(agreement)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            record = services.consent_record(
                agreement=agreement,
                by=request.user,
                student_key=data["student_key"],
                action=data["action"],
                given_by=data["given_by"],
                method=data["method"],
                witness=data["witness"],
                decided_on=data["decided_on"],
                form=data["form"],
                school=data["school"] or None,
                grade=data["grade"],
                birth_year=data["birth_year"],
            )
        except DomainError as error:
            add_to_form(form, error)
            student_keys.forget_refused_key(form)
        else:
            student = StudentConsent.objects.get(
                agreement_id=agreement.pk, student_key=record.student_key
            )
            messages.success(
                request, f"{record.get_action_display()} recorded for {record.student_key}."
            )
            return redirect("consent-student", agreement.pk, student.pk)
    return render(request, "consent/record_form.html", _base(agreement, access, form=form))


@login_required
def receipt(request: AuthenticatedHttpRequest, pk, record_id: int) -> HttpResponse:
    agreement, access = _consent(request, pk, student_level=True)
    record = get_object_or_404(
        ConsentRecord.objects.filter(agreement_id=agreement.pk).select_related("form"),
        pk=record_id,
    )
    kind = selectors.governing_kind(selectors.requirements_of(agreement))
    audit_record(
        action=AuditAction.EXPORT,
        target=agreement,
        actor=request.user,
        payload={
            "export": "consent_receipt",
            "format": "json",
            "receipt_id": str(record.receipt_id),
        },
    )
    response = HttpResponse(
        receipt_json(consent_receipt(record, agreement=agreement, kind=kind)),
        content_type="application/json",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="consent-receipt-{record.receipt_id}.json"'
    )
    return response


@login_required
def import_upload(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    agreement, access = _consent(request, pk, student_level=True)
    forms_of_agreement = ConsentForm.objects.filter(agreement_id=agreement.pk)
    form = forms.ImportUploadForm(
        request.POST or None, request.FILES or None, forms_of_agreement=forms_of_agreement
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        limit = services.max_import_bytes()
        if upload.size > limit:
            form.add_error(
                "file",
                f"The file is {upload.size / 1_000_000:.1f} MB; the limit is "
                f"{limit / 1_000_000:.1f} MB. Split it into smaller files.",
            )
        else:
            try:
                consent_import = services.consent_import_preview(
                    agreement=agreement,
                    by=request.user,
                    filename=upload.name,
                    content=upload.read(),
                    default_form=form.cleaned_data["default_form"],
                )
            except DomainError as error:
                add_to_form(form, error)
            else:
                return redirect("consent-import-detail", agreement.pk, consent_import.pk)
    return render(
        request,
        "consent/import_upload.html",
        _base(
            agreement,
            access,
            form=form,
            imports=selectors.imports_of(agreement)[:IMPORTS_SHOWN],
            max_mb=services.max_import_bytes() / 1_000_000,
            max_rows=services.max_import_rows(),
            key_hint=student_keys.key_hint(agreement),
        ),
    )


@login_required
def import_detail(request: AuthenticatedHttpRequest, pk, import_id: int) -> HttpResponse:
    agreement, access = _consent(request, pk, student_level=True)
    consent_import = get_object_or_404(selectors.imports_of(agreement), pk=import_id)
    return render(
        request, "consent/import_detail.html", _base(agreement, access, item=consent_import)
    )


@login_required
@require_POST
def import_confirm(request: AuthenticatedHttpRequest, pk, import_id: int) -> HttpResponse:
    agreement, access = _consent(request, pk, student_level=True)
    consent_import = get_object_or_404(
        ConsentImport.objects.filter(agreement_id=agreement.pk).only("id", "status"), pk=import_id
    )
    try:
        done = services.consent_import_confirm(consent_import=consent_import, by=request.user)
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(
            request,
            f"Imported {done.records_created:,} records: "
            f"{done.students_created:,} new students, "
            f"{done.students_updated:,} updated.",
        )
    return redirect("consent-import-detail", agreement.pk, consent_import.pk)


@login_required
@require_POST
def import_discard(request: AuthenticatedHttpRequest, pk, import_id: int) -> HttpResponse:
    agreement, access = _consent(request, pk, student_level=True)
    consent_import = get_object_or_404(
        ConsentImport.objects.filter(agreement_id=agreement.pk).only("id", "status"), pk=import_id
    )
    try:
        services.consent_import_discard(consent_import=consent_import, by=request.user)
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(request, "The file is discarded; nothing was imported.")
    return redirect("consent-import", agreement.pk)


@login_required
def roster(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    agreement, access = _consent(request, pk, student_level=True)
    recipients = selectors.roster_recipients(agreement)
    form = forms.RosterForm(request.POST or None, recipients=recipients)
    if request.method == "POST" and form.is_valid():
        try:
            roster_file = services.roster_export(
                agreement=agreement,
                by=request.user,
                recipient=form.cleaned_data["recipient"],
                as_of=form.cleaned_data["as_of"],
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            response = HttpResponse(roster_file.content, content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{roster_file.filename}"'
            response["X-Content-SHA256"] = roster_file.export.sha256
            return response
    return render(
        request,
        "consent/roster.html",
        _base(
            agreement,
            access,
            form=form,
            recipients=recipients,
            exports=selectors.exports_of(agreement)[:IMPORTS_SHOWN],
            active=agreement.status == "active",
            # The research approvals the template requires, when not current today: the
            # export is refused (consent.services.roster_export), so the page says it first.
            approval_problems=approval_problems(
                agreement, day=timezone.localdate(), action="exporting the roster"
            )
            if agreement.status == "active"
            else [],
            consent_needed=selectors.governing_kind(selectors.requirements_of(agreement))
            not in (None, ConsentKind.NONE),
        ),
    )
