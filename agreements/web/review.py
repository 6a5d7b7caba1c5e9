"""Legal-review pages: comparisons, conflicts side by side, redline downloads, per-clause
review state, and the facilitators' deviation analytics.

Agreements are looked up through ``agreement_detail_for_user`` and templates through the
review selectors (strangers get 404); the one write, marking a clause reviewed, goes
through ``review_services.clause_review_mark``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from agreements.access import acting_parties
from agreements.lifecycle import REVIEWABLE
from agreements.models import Agreement, ClauseOverride, DSATemplate, ReviewState
from agreements.review import analytics, exports, redline_word, tracked_changes
from agreements.review import clause_reviews as review_services
from agreements.review.selectors import (
    accepted_overrides,
    agreement_comparison,
    agreement_for_comparison,
    earlier_points,
    newer_versions,
    standard_text,
    template_for_facilitator,
    template_versions_visible_to,
    templates_for_facilitator,
    text_as_of,
)
from agreements.selectors import (
    agreement_detail_for_user,
    conflicts,
    consolidated_text,
    placeholder_values,
)
from agreements.text import comparisons, proposals
from agreements.text.comparisons import ClauseComparison, Comparison
from agreements.text.consolidation import read_frame
from agreements.text.document.html import HtmlRenderer
from agreements.text.document.model import Document
from agreements.web.fields import NormalisedCharField
from agreements.web.template_upgrade import may_move, move_refusal
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.errors import DomainError
from collaboratory.web import flash_error
from partners.http import AuthenticatedHttpRequest
from partners.models import Role
from partners.selectors import staffed_collaboratories

VIEWS = ("inline", "side")


def _agreement(request: HttpRequest, pk) -> Agreement:
    return get_object_or_404(agreement_for_comparison(request.user), pk=pk)


def _view_mode(request: HttpRequest) -> str:
    mode = request.GET.get("view", "inline")
    return mode if mode in VIEWS else "inline"


# --- Layout of a comparison page ------------------------------------------------------------


def anchor(row: ClauseComparison, mode: str) -> str:
    """The id of a row's first change in ``mode``; its article's id when nothing changed."""
    if not row.changed:
        return f"clause-{row.key}"
    if row.heading_changed or mode == "inline":
        return row.first_change_anchor
    first = next(op for op in row.body_ops if op.kind != "equal")
    return f"{row.anchor_prefix}1-{'old' if first.kind == 'delete' else 'new'}"


@dataclass(frozen=True)
class Block:
    """A changed clause, or a run of unchanged clauses shown collapsed."""

    rows: tuple[ClauseComparison, ...]
    index: int
    previous: str = ""
    next: str = ""
    texts: tuple[SafeString | None, ...] = ()  # structured text of unchanged rows, when known

    @property
    def entries(self) -> list[tuple[ClauseComparison, SafeString | None]]:
        """Each row with its structured text (None: show the redline's plain text)."""
        return list(zip(self.rows, self.texts or (None,) * len(self.rows), strict=True))

    @property
    def collapsed(self) -> bool:
        return not (self.rows[0].changed or self.rows[0].conflict)

    @property
    def row(self) -> ClauseComparison:
        return self.rows[0]

    @property
    def numbers(self) -> str:
        """The run's labels as a range ("1–19", "21–Schedule A"), without their punctuation."""
        first, last = (row.number.rstrip(".:") for row in (self.rows[0], self.rows[-1]))
        return first if first == last else f"{first}–{last}"


def blocks(comparison: Comparison, mode: str, document: Document | None = None) -> list[Block]:
    """Changed (or conflicted) clauses one by one with links to the previous and next change;
    unchanged clauses grouped into collapsed runs, shown as structured text when ``document``
    (the new side) is given."""
    renderer = HtmlRenderer(document, id_prefix="clause-") if document is not None else None
    parts = {part.key: part for part in document.parts} if document is not None else {}

    def texts(rows: list[ClauseComparison]) -> tuple[SafeString | None, ...]:
        if renderer is None:
            return ()
        return tuple(
            renderer.body(parts[row.key]) if not row.changed and row.key in parts else None
            for row in rows
        )

    groups: list[list[ClauseComparison]] = []
    for row in comparison.rows:
        quiet = not (row.changed or row.conflict)
        if quiet and groups and not (groups[-1][0].changed or groups[-1][0].conflict):
            groups[-1].append(row)
        else:
            groups.append([row])
    loud = [g[0] for g in groups if g[0].changed or g[0].conflict]
    anchors = [anchor(row, mode) for row in loud]
    result = []
    position = 0
    for index, group in enumerate(groups):
        if group[0].changed or group[0].conflict:
            result.append(
                Block(
                    rows=tuple(group),
                    index=index,
                    previous=anchors[position - 1] if position else "",
                    next=anchors[position + 1] if position + 1 < len(anchors) else "",
                )
            )
            position += 1
        else:
            result.append(Block(rows=tuple(group), index=index, texts=texts(group)))
    return result


def _comparison_context(
    comparison: Comparison, mode: str, document: Document | None = None
) -> dict:
    layout = blocks(comparison, mode, document)
    first = next((b for b in layout if not b.collapsed), None)
    return {
        "comparison": comparison,
        "blocks": layout,
        "mode": mode,
        "first_change": anchor(first.row, mode) if first else "",
    }


# --- Agreement against its template ---------------------------------------------------------


def _tracked(request: HttpRequest, agreement: Agreement) -> tracked_changes.TrackedComparison:
    """The agreement against its standard with the changes asked for (``?changes=accepted``
    or ``pending``; pending ones too by default while it is negotiated), each changed clause
    naming its party."""
    changes = tracked_changes.changes_choice(agreement, request.GET.get("changes"))
    return tracked_changes.tracked_comparison(
        agreement, consolidated_text(agreement), changes=changes
    )


@login_required
def agreement_compare(request: HttpRequest, pk) -> HttpResponse:
    # Queries: session, user, the agreement (+trio, collaboratory, template), its members,
    # template clauses, overrides, data elements and their questions.
    agreement = _agreement(request, pk)
    tracked = _tracked(request, agreement)
    context = _comparison_context(tracked.comparison, _view_mode(request), tracked.text.document)
    context.update({"agreement": agreement, "conflicts": conflicts(agreement), "tracked": tracked})
    return render(request, "agreements/review/compare.html", context)


@login_required
def agreement_conflict(request: HttpRequest, pk, clause_key: str) -> HttpResponse:
    """The competing positions on one clause, side by side with the standard text."""
    agreement = _agreement(request, pk)
    standard = standard_text(agreement)
    clause = next((c for c in standard.clauses if c.key == clause_key), None)
    if clause is None:
        raise Http404("No such clause in this agreement's template.")
    competing = conflicts(agreement).get(clause_key, [])
    conflict = proposals.conflict_positions(
        key=clause_key,
        standard=clause,
        proposals=[(o.organisation.name, o.get_status_display(), o) for o in competing],
        values=placeholder_values(agreement),
    )
    return render(
        request,
        "agreements/review/conflict.html",
        {"agreement": agreement, "conflict": conflict, "open": bool(competing)},
    )


# --- Text now against an earlier point ------------------------------------------------------


@login_required
def agreement_compare_earlier(request: HttpRequest, pk) -> HttpResponse:
    # Queries: session, user, the agreement and its detail prefetches (approvals and
    # transitions are the points), plus the agreement's, its overrides' and its data
    # elements' history (and the hash's moments when the first try does not match).
    agreement = get_object_or_404(agreement_detail_for_user(request.user), pk=pk)
    points = earlier_points(agreement)
    chosen = request.GET.get("point", "")
    point = next((p for p in points if p.ident == chosen), None)
    if point is None:
        point = next((p for p in points if not p.same_as_now), points[0] if points else None)
    context: dict = {"agreement": agreement, "points": points, "point": point}
    if point is not None:
        earlier = text_as_of(agreement, point)
        if earlier is not None:
            now = consolidated_text(agreement)
            comparison = comparisons.text_vs_earlier(
                earlier.text,
                now,
                earlier_label=f"{point.label}, {timezone.localtime(point.at):%d %b %Y %H:%M}",
                now_label="Now",
            )
            context.update(_comparison_context(comparison, _view_mode(request), now.document))
            context["verified"] = earlier.verified
    return render(request, "agreements/review/compare_earlier.html", context)


# --- Template versions ----------------------------------------------------------------------


@login_required
def template_compare(request: HttpRequest, old: int, new: int) -> HttpResponse:
    """What changed in the standard between two versions of one template."""
    versions = template_versions_visible_to(request.user)
    old_version = get_object_or_404(versions, pk=old)
    new_version = get_object_or_404(versions, pk=new, template_id=old_version.template_id)
    comparison = comparisons.template_vs_template(
        list(old_version.clauses.order_by("order")),
        list(new_version.clauses.order_by("order")),
        old_label=str(old_version),
        new_label=str(new_version),
    )
    siblings = versions.filter(template_id=old_version.template_id).order_by("number")
    context = _comparison_context(comparison, _view_mode(request))
    context.update({"old_version": old_version, "new_version": new_version, "versions": siblings})
    return render(request, "agreements/review/template_compare.html", context)


@login_required
def agreement_compare_upgrade(request: HttpRequest, pk) -> HttpResponse:
    """What would change if the agreement moved to a newer version of its template."""
    agreement = _agreement(request, pk)
    candidates = list(newer_versions(agreement.template_version))
    wanted = request.GET.get("version", "")
    target = next((v for v in candidates if str(v.pk) == wanted), None) or (
        candidates[0] if candidates else None
    )
    context: dict = {"agreement": agreement, "candidates": candidates, "target": target}
    if target is not None:
        text = consolidated_text(agreement)
        preview = proposals.upgrade_preview(
            current=text,
            old_clauses=list(agreement.template_version.clauses.all()),
            new_clauses=list(target.clauses.order_by("order")),
            accepted_overrides=accepted_overrides(agreement),
            values=placeholder_values(agreement),
            header=text.header,
            frame=read_frame(target.frame),
            fillins=agreement.fillins,
            current_label=f"Now ({agreement.template_version})",
            new_label=f"On {target}",
        )
        overrides = {o.pk: o for o in agreement.overrides.all()}
        context.update(_comparison_context(preview.comparison, _view_mode(request)))
        context["carried"] = [(c, overrides.get(c.override_id)) for c in preview.carried]
    # The facilitator's way to move (agreements.web.template_upgrade).
    context["may_move"] = may_move(request.user, agreement, target)
    context["move_refused"] = move_refusal(request.user, agreement, target)
    return render(request, "agreements/review/upgrade.html", context)


# --- Downloads ------------------------------------------------------------------------------


def _party(agreement: Agreement):
    """Who made the change an override id stands for, and when it was accepted."""
    overrides: dict[int, ClauseOverride] = {o.pk: o for o in agreement.overrides.all()}

    def party(override_id: int | None) -> tuple[str, dt.datetime]:
        override = overrides.get(override_id or 0)
        if override is None:
            return "Collaboratory", agreement.updated_at
        return override.organisation.name, override.decided_at or override.created_at

    return party


def _download_name(agreement: Agreement, extension: str) -> str:
    return f"{agreement.reference}-redline.{extension}"


def _left_out_notes(tracked: tracked_changes.TrackedComparison) -> list[str]:
    """What a redline including pending proposals does not show, in words."""
    if tracked.changes != "pending":
        return []
    notes = [
        f"Includes {tracked.pending_count} pending proposal"
        f"{'' if tracked.pending_count == 1 else 's'} (not yet accepted by every party), "
        "marked as their parties' changes."
    ]
    for override, clause in tracked.left_out_named:
        notes.append(
            f"Not shown: {override.organisation.name}'s proposal on “{clause}”, which competes "
            "with an earlier pending proposal on the same clause; see the agreement's "
            "conflict page."
        )
    return notes


@login_required
def agreement_redline_docx(request: HttpRequest, pk) -> HttpResponse:
    agreement = _agreement(request, pk)
    tracked = _tracked(request, agreement)
    comparison = tracked.comparison
    content = redline_word.redline_docx(
        standard=standard_text(agreement),
        text=tracked.text,
        title=f"{agreement.reference} {agreement.title}",
        summary=f"{comparison.new_label} against {comparison.old_label}. {comparison.summary}.",
        party=_party(agreement),
        authors={key: (author.name, when) for key, (author, when) in tracked.by_key.items()},
        notes=_left_out_notes(tracked),
    )
    audit_record(
        action=AuditAction.EXPORT,
        target=agreement,
        actor=request.user,
        payload={
            "export": "redline",
            "format": "docx",
            "text_hash": agreement.text_hash,
            "changes": tracked.changes,
        },
    )
    response = HttpResponse(content, content_type=redline_word.DOCX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{_download_name(agreement, "docx")}"'
    return response


@login_required
def agreement_redline_pdf(request: HttpRequest, pk) -> HttpResponse:
    agreement = _agreement(request, pk)
    tracked = _tracked(request, agreement)
    comparison = tracked.comparison
    html = exports.redline_html(
        comparison,
        title=f"{agreement.reference} {agreement.title}",
        subtitle=f"Redline against {comparison.old_label}",
        document=tracked.text.document,
        authors=tracked.authors,
        notes=_left_out_notes(tracked),
    )
    content = exports.render_redline_pdf(html)
    audit_record(
        action=AuditAction.EXPORT,
        target=agreement,
        actor=request.user,
        payload={
            "export": "redline",
            "format": "pdf",
            "text_hash": agreement.text_hash,
            "changes": tracked.changes,
        },
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_download_name(agreement, "pdf")}"'
    return response


# --- Per-clause review state ----------------------------------------------------------------


class ReviewMarkForm(forms.Form):
    """Shape only; the service applies the rules."""

    clause_key = forms.SlugField(max_length=80)
    state = forms.ChoiceField(choices=ReviewState.choices)
    comment = NormalisedCharField(required=False, max_length=5000)
    clause_hash = forms.CharField(required=False, max_length=64)
    organisation = forms.IntegerField(required=False, min_value=1)


@login_required
def agreement_reviews(request: HttpRequest, pk) -> HttpResponse:
    # Queries: as agreement_compare, plus the reviews and the user's party roles.
    agreement = _agreement(request, pk)
    comparison = agreement_comparison(agreement)
    reviews = review_services.deviation_reviews(agreement, comparison)
    legal_of = set(acting_parties(request.user, agreement, Role.LEGAL))
    return render(
        request,
        "agreements/review/reviews.html",
        {
            "agreement": agreement,
            "comparison": comparison,
            "reviews": reviews,
            "waiting": review_services.unreviewed_by_party(reviews),
            "legal_of": legal_of,
            "can_mark": bool(legal_of) and agreement.status in REVIEWABLE,
            "states": ReviewState.choices,
        },
    )


@login_required
@require_POST
def clause_review_mark(request: AuthenticatedHttpRequest, pk) -> HttpResponse:
    agreement = _agreement(request, pk)
    form = ReviewMarkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose reviewed or accepted for a deviating clause.")
        return redirect("agreement-reviews", agreement.pk)
    data = form.cleaned_data
    try:
        review = review_services.clause_review_mark(
            agreement=agreement,
            by=request.user,
            clause_key=data["clause_key"],
            state=data["state"],
            comment=data["comment"],
            clause_hash=data["clause_hash"],
            organisation_id=data["organisation"],
        )
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(
            request,
            f"Your organisation's review is saved: {review.get_state_display().lower()}, "
            "for the clause as it stands now.",
        )
    return redirect(
        reverse("agreement-reviews", args=[agreement.pk]) + f"#review-{data['clause_key']}"
    )


# --- Deviation analytics (facilitators) -----------------------------------------------------


@login_required
def deviation_index(request: HttpRequest) -> HttpResponse:
    # Queries: session, user, templates of the staffed collaboratories with their versions.
    templates = list(
        templates_for_facilitator(request.user)
        .prefetch_related("versions")
        .order_by("collaboratory__name", "name")
    )
    if not templates and not staffed_collaboratories(request.user).exists():
        raise Http404("Deviation analytics are for the collaboratory's facilitators.")
    return render(request, "agreements/review/deviation_index.html", {"templates": templates})


def _deviation_report(request: HttpRequest, collaboratory: str, template: str):
    try:
        found = template_for_facilitator(request.user, collaboratory, template)
    except DSATemplate.DoesNotExist:
        raise Http404("No such template in the collaboratories you facilitate.") from None
    versions = list(found.versions.order_by("number"))
    wanted = request.GET.get("version", "")
    version = next((v for v in versions if str(v.number) == wanted), None)
    return found, versions, analytics.deviation_report(found, version=version)


@login_required
def deviation_analytics(request: HttpRequest, collaboratory: str, template: str) -> HttpResponse:
    # Queries: session, user, the template, its versions, its clauses, the overrides, the
    # agreement count.
    found, versions, report = _deviation_report(request, collaboratory, template)
    return render(
        request,
        "agreements/review/deviations.html",
        {
            "template": found,
            "versions": versions,
            "version_pairs": list(zip(versions, versions[1:], strict=False)),
            "report": report,
            "chart": analytics.deviation_chart(report.clauses),
            "legend": analytics.chart_legend(),
        },
    )


@login_required
def deviation_csv(request: HttpRequest, collaboratory: str, template: str) -> HttpResponse:
    found, _versions, report = _deviation_report(request, collaboratory, template)
    suffix = f"-v{report.version.number}" if report.version else ""
    audit_record(
        action=AuditAction.EXPORT,
        target=found,
        actor=request.user,
        payload={
            "export": "deviations",
            "format": "csv",
            "version": report.version.number if report.version else None,
        },
    )
    response = HttpResponse(analytics.deviation_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{found.collaboratory.slug}-{found.slug}{suffix}-deviations.csv"'
    )
    return response
