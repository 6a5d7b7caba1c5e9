"""Clause discussions on the agreement page: start one (on a clause or a quoted passage), reply,
resolve, reopen; and the negotiation record download. Every lookup goes through the access rule
(strangers get 404) and, for a comment, through ``visible_comments`` (another organisation's
internal note is as absent as a stranger's agreement). A refused form comes back on the
agreement page with everything typed and the error next to it."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from agreements import notifications
from agreements.models import Agreement, CommentVisibility
from agreements.negotiation import discussions, record
from agreements.selectors import agreement_detail_for_user, consolidated_text
from agreements.web.fields import NormalisedCharField
from agreements.web.views import _detail_context
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.errors import DomainError
from collaboratory.json_prefetch import with_json_prefetch
from collaboratory.web import add_to_form
from partners.http import AuthenticatedHttpRequest


class DiscussionStartForm(forms.Form):
    """Shape only; ``discussions.discussion_start`` applies the rules."""

    clause_key = forms.CharField(widget=forms.HiddenInput, max_length=80)
    quote = NormalisedCharField(required=False, label="Passage you are asking about (optional)")
    body = NormalisedCharField(widget=forms.Textarea, label="Comment", max_length=5000)
    visibility = forms.ChoiceField(choices=CommentVisibility.choices, label="Who sees it")
    mention = forms.IntegerField(required=False, label="Notify someone (optional)")


class DiscussionReplyForm(forms.Form):
    body = NormalisedCharField(widget=forms.Textarea, label="Reply", max_length=5000)
    mention = forms.IntegerField(required=False, label="Notify someone (optional)")


def _agreement(request: AuthenticatedHttpRequest, pk) -> Agreement:
    return get_object_or_404(
        with_json_prefetch(agreement_detail_for_user(request.user), discussions.DISCUSSIONS),
        pk=pk,
    )


def _comment(request: AuthenticatedHttpRequest, agreement: Agreement, comment_id: int):
    return get_object_or_404(
        discussions.visible_comments(agreement, request.user).select_related("agreement"),
        pk=comment_id,
    )


def _back(agreement: Agreement, anchor: str):
    return redirect(reverse("agreement-detail", args=[agreement.pk]) + anchor)


def _page_with_form(
    request: AuthenticatedHttpRequest, agreement: Agreement, clause_key: str, **forms_shown
) -> HttpResponse:
    """The agreement page again, with the refused form (as typed, with its errors) in its
    clause's discussion."""
    context = _detail_context(request, agreement)
    for item in context["clauses"]:
        if item["clause"].key == clause_key:
            item.update(forms_shown)
    return render(request, "agreements/agreement_detail.html", context, status=400)


def _mention_ids(form: forms.Form) -> list[int]:
    mention = form.cleaned_data.get("mention")
    return [mention] if mention else []


@login_required
@require_POST
def discussion_start(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    agreement = _agreement(request, pk)
    form = DiscussionStartForm(request.POST)
    clause_key = request.POST.get("clause_key", "")
    if form.is_valid():
        data = form.cleaned_data
        try:
            comment = discussions.discussion_start(
                agreement=agreement,
                by=request.user,
                clause_key=data["clause_key"],
                body=data["body"],
                quote=data["quote"],
                visibility=data["visibility"],
                mention_ids=_mention_ids(form),
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            if comment.visibility == CommentVisibility.INTERNAL:
                messages.success(
                    request, f"Internal note added: only {comment.organisation.name} sees it."
                )
            else:
                messages.success(request, "Comment added: every party sees it.")
            return _back(agreement, f"#comment-{comment.pk}")
    if consolidated_text(agreement).clause(clause_key) is None:
        # No clause to show the form in: say so at the top of the page.
        messages.error(request, f"There is no clause “{clause_key}” in this agreement.")
        return _back(agreement, "")
    return _page_with_form(request, agreement, clause_key, start_form=form)


@login_required
@require_POST
def discussion_reply(request: AuthenticatedHttpRequest, pk, comment_id: int) -> HttpResponse:
    agreement = _agreement(request, pk)
    comment = _comment(request, agreement, comment_id)
    form = DiscussionReplyForm(request.POST)
    if form.is_valid():
        try:
            reply = discussions.discussion_reply(
                comment=comment,
                by=request.user,
                body=form.cleaned_data["body"],
                mention_ids=_mention_ids(form),
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(request, "Your reply is added.")
            return _back(agreement, f"#comment-{reply.pk}")
    return _page_with_form(
        request, agreement, comment.clause_key, reply_form=form, reply_to=comment.pk
    )


def _resolution(request: AuthenticatedHttpRequest, pk, comment_id: int, act, success: str):
    agreement = _agreement(request, pk)
    comment = _comment(request, agreement, comment_id)
    try:
        act(comment=comment, by=request.user)
    except DomainError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)
    return _back(agreement, f"#comment-{comment.pk}")


@login_required
@require_POST
def discussion_resolve(request: AuthenticatedHttpRequest, pk, comment_id: int) -> HttpResponse:
    return _resolution(
        request, pk, comment_id, discussions.discussion_resolve, "The discussion is resolved."
    )


@login_required
@require_POST
def discussion_reopen(request: AuthenticatedHttpRequest, pk, comment_id: int) -> HttpResponse:
    return _resolution(
        request, pk, comment_id, discussions.discussion_reopen, "The discussion is open again."
    )


@login_required
@require_GET
def negotiation_record_pdf(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    """The negotiation record as PDF, for someone who may see the agreement: what they may
    read of it (their own organisation's internal notes, never another's)."""
    agreement = get_object_or_404(agreement_detail_for_user(request.user), pk=pk)
    content = record.render_record_pdf(
        agreement, request.user, generated_at=timezone.now(), zone=timezone.get_current_timezone()
    )
    audit_record(
        action=AuditAction.EXPORT,
        target=agreement,
        actor=request.user,
        payload={"export": "negotiation-record", "format": "pdf"},
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{agreement.reference}-negotiation-record.pdf"'
    )
    return response


@login_required
@require_GET
def notification_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The signed-in person's own notifications, newest first ("Maya Okafor mentioned you on
    7. Audits"); opening the page marks them read. Queries: session, user, the notifications
    with their agreements, the update."""
    rows = notifications.notifications_for(request.user)
    unread = {n.pk for n in rows if n.read_at is None}
    notifications.notifications_mark_read(user=request.user, notifications=rows)
    return render(request, "agreements/notification_list.html", {"rows": rows, "unread": unread})
