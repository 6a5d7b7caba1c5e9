"""Research approvals on the web: an agreement's approvals page (where each required kind
stands, the history of every approval, the form to record one or its renewal), the approval
letter's download after the access check, withdrawing an approval recorded in error, and the
template workspace's setting of which approvals a template requires.

Lookups go through the access rule (``agreements_visible_to``, the template workspace's
``workspace_templates``): everyone else gets 404. Writes go through
``agreements.approvals.services``; the rules are ``agreements.approvals.rules``'.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agreements.approvals import rules, services
from agreements.approvals.models import ApprovalKind, ResearchApproval
from agreements.approvals.selectors import approval_for_user, approval_history
from agreements.models import Agreement
from agreements.selectors import agreements_visible_to
from agreements.standards.workspace import workspace_templates
from collaboratory import file_kinds
from collaboratory.downloads import audited_file_response
from collaboratory.errors import DomainError
from collaboratory.web import add_to_form, flash_error
from partners.http import AuthenticatedHttpRequest

# --- forms -----------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"


class ResearchApprovalForm(forms.Form):
    """The shape of an approval; the service checks the rules and words the errors."""

    kind = forms.ChoiceField(label="Approval", choices=ApprovalKind.choices)
    approving_body = forms.CharField(
        label="Approving body",
        max_length=200,
        required=False,
        help_text="As the letter names it, e.g. University of X IRB or Springfield USD Office "
        "of Research.",
    )
    number = forms.CharField(label="Approval number or protocol id", max_length=100, required=False)
    approved_on = forms.DateField(label="Approval date", required=False, widget=DateInput)
    expires_on = forms.DateField(
        label="Expiry date",
        required=False,
        widget=DateInput,
        help_text="The last day the approval holds, as the letter states it.",
    )
    document = forms.FileField(
        label="Approval letter",
        required=False,
        help_text=f"{services.ALLOWED_DOCUMENTS[0].upper()}{services.ALLOWED_DOCUMENTS[1:]}, "
        f"at most {file_kinds.describe_bytes(services.MAX_DOCUMENT_BYTES)}. Only the people "
        "who see this agreement can open it.",
    )

    def __init__(self, *args, kinds: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["kind"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(k, ApprovalKind(k).label) for k in kinds]
        if len(kinds) == 1:
            field.widget = forms.HiddenInput()


class WithdrawForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)


# --- the agreement's approvals -----------------------------------------------------------------


def _agreement(request: AuthenticatedHttpRequest, pk) -> Agreement:
    return get_object_or_404(
        agreements_visible_to(request.user)
        .select_related("trio__collaboratory", "template_version__template")
        .prefetch_related("trio__members"),
        pk=pk,
    )


def _renewal_initial(history: list[ResearchApproval], kinds: list[str], wanted: str) -> dict:
    """What the form starts from: on "Renew", the kind's latest approval's body and number."""
    kind = wanted if wanted in kinds else (kinds[0] if kinds else "")
    latest = next((a for a in history if a.kind == kind and a.withdrawn_at is None), None)
    initial: dict[str, object] = {"kind": kind}
    if latest is not None and wanted == kind:
        initial.update(approving_body=latest.approving_body, number=latest.number)
    return initial


@login_required
def research_approvals(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    # Queries: session, user, the agreement (access rule, with its trio and template), the
    # user's roles in its parties (with the members), the approvals with who recorded them.
    agreement = _agreement(request, pk)
    kinds = services.kinds_recordable_by(request.user, agreement)
    form = None
    if kinds:
        form = ResearchApprovalForm(
            request.POST or None,
            request.FILES or None,
            kinds=kinds,
            initial=None,
        )
    if request.method == "POST":
        if form is None:
            messages.error(
                request,
                "Only the research partner's people record its IRB approval, and the "
                "district's people its research office's approval.",
            )
            return redirect("agreement-research-approvals", agreement.pk)
        if form.is_valid():
            upload = form.cleaned_data["document"]
            try:
                approval = services.research_approval_record(
                    agreement=agreement,
                    by=request.user,
                    kind=form.cleaned_data["kind"],
                    approving_body=form.cleaned_data["approving_body"],
                    number=form.cleaned_data["number"],
                    approved_on=form.cleaned_data["approved_on"],
                    expires_on=form.cleaned_data["expires_on"],
                    document_name=upload.name if upload else "",
                    document=upload.read(services.MAX_DOCUMENT_BYTES + 1) if upload else None,
                )
            except DomainError as error:
                add_to_form(form, error)
            else:
                messages.success(
                    request,
                    f"{approval.get_kind_display()} {approval.number} recorded: it holds until "
                    f"{approval.expires_on:%-d %b %Y}.",
                )
                return redirect("agreement-research-approvals", agreement.pk)
    history = list(approval_history(agreement))
    if form is not None and not form.is_bound:
        form = ResearchApprovalForm(
            kinds=kinds, initial=_renewal_initial(history, kinds, request.GET.get("renew", ""))
        )
    today = timezone.localdate()
    standing = rules.standings(agreement, history, today)
    rows = []
    for approval in history:
        state = rules.approval_state(approval, history, today)
        rows.append(
            {
                "approval": approval,
                "state": state,
                "state_label": rules.STATE_LABELS[state],
                "may_withdraw": approval.withdrawn_at is None and approval.kind in kinds,
            }
        )
    problems = [p for s in standing if (p := s.problem("any data flows"))]
    return render(
        request,
        "agreements/approvals/approvals.html",
        {
            "agreement": agreement,
            "standings": standing,
            "required": [s for s in standing if s.required],
            "rows": rows,
            "form": form,
            "kinds": kinds,
            "problems": problems,
            "today": today,
            "withdraw_form": WithdrawForm(),
        },
        status=400 if form is not None and form.is_bound and form.errors else 200,
    )


def _approval(request: AuthenticatedHttpRequest, pk, approval_id: int) -> ResearchApproval:
    """The approval, on an agreement the user may see (``approval_for_user``), or 404."""
    try:
        return approval_for_user(request.user, pk, approval_id)
    except ResearchApproval.DoesNotExist:
        raise Http404("No such approval here.") from None


@login_required
@require_GET
def research_approval_document(
    request: AuthenticatedHttpRequest, pk, approval_id: int
) -> FileResponse:
    # Queries: session, user, the approval of an agreement the user may see.
    approval = _approval(request, pk, approval_id)
    return audited_file_response(
        approval.document,
        filename=approval.document_name,
        content_type=approval.document_type,
        actor=request.user,
        target=approval.agreement,
        payload={
            "research_approval_id": approval.pk,
            "kind": approval.kind,
            "sha256": approval.document_sha256,
        },
    )


@login_required
@require_POST
def research_approval_withdraw(
    request: AuthenticatedHttpRequest, pk, approval_id: int
) -> HttpResponse:
    approval = _approval(request, pk, approval_id)
    form = WithdrawForm(request.POST)
    try:
        services.research_approval_withdraw(
            approval=approval,
            by=request.user,
            reason=form.cleaned_data["reason"] if form.is_valid() else "",
        )
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(request, f"{approval.get_kind_display()} {approval.number} is withdrawn.")
    return redirect("agreement-research-approvals", pk)


# --- the template's requirement (template workspace) -------------------------------------------


@login_required
@require_POST
def template_research_approvals(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(workspace_templates(request.user), pk=pk)
    try:
        template = services.template_research_approvals_set(
            template=template,
            kinds=request.POST.getlist("required_research_approvals"),
            by=request.user,
        )
    except DomainError as error:
        flash_error(request, error)
    else:
        required = [str(ApprovalKind(k).label) for k in template.required_research_approvals]
        messages.success(
            request,
            f"Agreements from “{template.name}” now need "
            + (" and ".join(required) if required else "no research approval")
            + " before data flows.",
        )
    return redirect(reverse("template-list") + f"#template-{template.pk}")
