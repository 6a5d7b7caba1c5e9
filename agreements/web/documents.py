"""Agreement documents on the web: render progress (HTML and a JSON status the page polls),
requesting and retrying renders, downloads, and checking a PDF's seal.

Lookups go through the access rule (``agreements_visible_to``), so strangers get 404; writes
go through ``agreements.documents`` services.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agreements.destruction import selectors as destruction_selectors
from agreements.documents import jobs as documents
from agreements.models import Agreement, Document, DocumentKind, RenderJob, RenderStatus
from agreements.selectors import agreements_visible_to
from collaboratory.downloads import audited_file_response
from collaboratory.errors import DomainError
from collaboratory.web import flash_error
from partners.http import AuthenticatedHttpRequest
from partners.selectors import AnyUser, memberships_of

#: Largest PDF the verification page accepts.
MAX_VERIFY_BYTES = 25 * 1024 * 1024
#: Render jobs the documents section lists.
JOBS_SHOWN = 10

_STATUS_MESSAGES: dict[str, str] = {
    RenderStatus.QUEUED: "Waiting for a worker to start.",
    RenderStatus.RUNNING: "Rendering the PDF now.",
}


def _size(size: int) -> str:
    return f"{size / 1024:,.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:,.1f} MB"


def job_row(agreement: Agreement, job: RenderJob, *, now: dt.datetime) -> dict:
    """What the page and the JSON status say about one render job."""
    stalled = documents.stalled(job, now=now)
    status = RenderStatus.FAILED.value if stalled else job.status
    document = job.document if job.status == RenderStatus.DONE else None
    if document is not None:
        message = f"{document.pages} pages · {_size(document.size)}" + (
            " · sealed" if document.sealed else ""
        )
    elif status == RenderStatus.FAILED:
        message = (
            "The render stopped without finishing." if stalled else job.error
        ) or "The render failed."
    else:
        message = _STATUS_MESSAGES.get(job.status, "")
        if job.status == RenderStatus.RUNNING and job.attempts > 1:
            message += f" (attempt {job.attempts})"
    return {
        "id": job.pk,
        "kind": job.kind,
        "kind_label": job.get_kind_display(),
        "status": status,
        "status_label": RenderStatus(status).label,
        "message": message,
        "current_text": job.text_hash == agreement.text_hash,
        "requested_at": job.created_at.isoformat(),
        "download_url": reverse("document-download", args=[agreement.pk, document.pk])
        if document
        else None,
        "verify_url": reverse("document-check", args=[agreement.pk, document.pk])
        if document and document.sealed
        else None,
        "retry_url": reverse("render-job-retry", args=[agreement.pk, job.pk])
        if status == RenderStatus.FAILED
        else None,
        "sha256": document.sha256 if document else None,
    }


def documents_panel(agreement: Agreement) -> dict:
    """The agreement's documents section: job rows and which requests make sense now."""
    now = timezone.now()
    jobs = documents.render_jobs_for(agreement)[:JOBS_SHOWN]
    rows = [job_row(agreement, job, now=now) for job in jobs]
    current = {(job.kind, job.text_hash) for job in jobs}
    can_request = [
        kind
        for kind, statuses in documents.KIND_STATUSES.items()
        if agreement.status in statuses and (kind, agreement.text_hash) not in current
    ]
    return {
        "rows": rows,
        "pending": any(r["status"] in (RenderStatus.QUEUED, RenderStatus.RUNNING) for r in rows),
        "can_request_review": DocumentKind.REVIEW in can_request,
        "can_request_executed": DocumentKind.EXECUTED in can_request,
    }


def _agreement(request: HttpRequest, pk) -> Agreement:
    return get_object_or_404(agreements_visible_to(request.user), pk=pk)


def _back(agreement: Agreement) -> HttpResponse:
    return redirect(reverse("agreement-detail", args=[agreement.pk]) + "#documents")


@login_required
@require_GET
def documents_status(request: AuthenticatedHttpRequest, pk) -> JsonResponse:
    # Queries: session, user, agreement (through the access rule), jobs with documents.
    agreement = _agreement(request, pk)
    panel = documents_panel(agreement)
    return JsonResponse({"jobs": panel["rows"], "pending": panel["pending"]})


@login_required
@require_POST
def document_request(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    agreement = _agreement(request, pk)
    kind = request.POST.get("kind", DocumentKind.REVIEW)
    try:
        job = documents.render_request(agreement=agreement, kind=kind, by=request.user)
    except DomainError as error:
        flash_error(request, error)
    else:
        if job.status == RenderStatus.DONE:
            messages.success(request, "This text is already rendered: download it below.")
        else:
            messages.success(request, "The PDF is being prepared; this page updates when ready.")
    return _back(agreement)


@login_required
@require_POST
def render_job_retry(request: AuthenticatedHttpRequest, pk, job_id: int) -> HttpResponse:
    agreement = _agreement(request, pk)
    job = get_object_or_404(RenderJob.objects.filter(agreement=agreement), pk=job_id)
    try:
        documents.render_retry(job=job, by=request.user)
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(request, "The render is queued again.")
    return _back(agreement)


def _document(request: HttpRequest, pk, document_id: int) -> Document:
    return get_object_or_404(
        documents.documents_visible_to(request.user).select_related("agreement"),
        pk=document_id,
        agreement_id=pk,
    )


@login_required
@require_GET
def document_download(request: AuthenticatedHttpRequest, pk, document_id: int) -> FileResponse:
    # Queries: session, user, document joined to its (visible) agreement.
    document = _document(request, pk, document_id)
    return audited_file_response(
        document.file,
        filename=f"{document.agreement.reference}-{document.kind}.pdf",
        content_type="application/pdf",
        actor=request.user,
        target=document.agreement,
        payload={
            "document_id": document.pk,
            "kind": document.kind,
            "sha256": document.sha256,
            "sealed": document.sealed,
        },
    )


@login_required
@require_GET
def document_check(request: AuthenticatedHttpRequest, pk, document_id: int) -> HttpResponse:
    """The verification page, for a stored document."""
    document = _document(request, pk, document_id)
    with document.file.open("rb") as handle:
        result = documents.document_verify(handle.read())
    return render(
        request,
        "agreements/document_verification.html",
        {"result": result, "match": document, "stored": document},
    )


def may_verify(user: AnyUser) -> bool:
    """Anyone who belongs to an organisation, or staffs the platform, may check a PDF."""
    return bool(user.is_authenticated and (user.is_staff or memberships_of(user).exists()))


def _uploaded_pdf(request: HttpRequest) -> tuple[bytes | None, str]:
    upload = request.FILES.get("pdf")
    if upload is None:
        return None, "Choose a PDF file to check."
    if upload.size is None or upload.size > MAX_VERIFY_BYTES:  # an upload always has a size
        return None, f"The file is larger than {MAX_VERIFY_BYTES // 1024 // 1024} MB."
    return upload.read(), ""


@login_required
def document_verification(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Upload a PDF: is it intact and sealed by this platform?"""
    if not may_verify(request.user):
        raise Http404
    context: dict = {"max_mb": MAX_VERIFY_BYTES // 1024 // 1024}
    if request.method == "POST":
        data, problem = _uploaded_pdf(request)
        if data is None:
            context["error"] = problem
        else:
            result = documents.document_verify(data)
            context["result"] = result
            context["match"] = (
                documents.documents_visible_to(request.user)
                .select_related("agreement")
                .filter(sha256=result.sha256)
                .first()
            )
            # A certificate of destruction is sealed alike (agreements/destruction/).
            context["certificate"] = destruction_selectors.certificate_match(
                request.user, result.sha256
            )
    return render(request, "agreements/document_verification.html", context)


@login_required
@require_POST
def document_verify_api(request: AuthenticatedHttpRequest) -> JsonResponse:
    """POST a PDF as ``pdf`` (multipart): the seal check as JSON."""
    if not may_verify(request.user):
        raise Http404
    data, problem = _uploaded_pdf(request)
    if data is None:
        return JsonResponse({"error": problem}, status=400)
    result = documents.document_verify(data)
    match = (
        documents.documents_visible_to(request.user)
        .select_related("agreement")
        .filter(sha256=result.sha256)
        .first()
    )
    body = result.as_dict()
    body["document"] = (
        {
            "agreement": match.agreement.reference,
            "kind": match.kind,
            "url": reverse("agreement-detail", args=[match.agreement_id]) + "#documents",
        }
        if match
        else None
    )
    return JsonResponse(body)
