"""The template workspace: facilitators manage their collaboratory's templates in the product
(issue 19, item 1) instead of the Django admin.

Templates and their versions; a new draft version (empty, or a copy of the latest); an
imported ``.md`` / ``.docx`` with its validation report; a draft edited clause by clause; any
two versions compared (``template-compare``); publication after a confirmation listing the
changes; retiring a version; marking a template as a draft or a test so the wizard does not
offer it. Only the facilitators of the template's collaboratory reach these pages: everyone
else gets 404. Every write goes through ``agreements.standards.services``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from agreements.approvals.models import ApprovalKind
from agreements.choices import TemplateUsage, VersionStatus
from agreements.models import Clause, DSATemplate, TemplateVersion
from agreements.standards import services
from agreements.standards.export import template_version_download
from agreements.standards.limits import max_upload_bytes
from agreements.standards.workspace import (
    last_published_before,
    version_changes,
    version_document_of,
    workspace_templates,
    workspace_templates_with_versions,
    workspace_versions,
)
from agreements.text.consolidation import template_part
from agreements.text.document.fragments import body_markdown
from agreements.text.document.html import render_html
from agreements.web.fields import MarkdownField, NormalisedCharField
from collaboratory.errors import DomainError
from collaboratory.web import add_to_form, flash_error
from partners.http import AuthenticatedHttpRequest
from partners.models import Collaboratory
from partners.selectors import staffed_collaboratories

# --- forms -----------------------------------------------------------------------------------


class TemplateCreateForm(forms.Form):
    collaboratory: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=Collaboratory.objects.none(), empty_label=None
    )
    name = NormalisedCharField(max_length=200, label="Name")
    slug = forms.SlugField(
        max_length=80,
        label="Short name",
        help_text="Lower-case letters, digits and hyphens; used in addresses.",
    )
    description = NormalisedCharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Description"
    )
    usage = forms.ChoiceField(
        choices=TemplateUsage.choices, initial=TemplateUsage.DRAFT, label="Offered in the wizard?"
    )

    def __init__(self, *args, collaboratories, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["collaboratory"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = collaboratories


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Template file (.md or .docx)",
        help_text="Markdown or Word; it becomes a new draft version you can check and edit.",
    )


class ClauseForm(forms.Form):
    heading = NormalisedCharField(
        max_length=300,
        label="Heading",
        error_messages={"required": "Give the clause a heading."},
    )
    body = MarkdownField(
        widget=forms.Textarea(attrs={"rows": 14}),
        label="Text",
        error_messages={"required": "Write the clause's text: a template clause needs its text."},
        help_text="Markdown: a blank line between paragraphs, “- ” for a list item, "
        "[[placeholder]] for a value filled per agreement.",
    )


class ClauseAddForm(ClauseForm):
    key = forms.CharField(
        max_length=80,
        label="Key",
        help_text="Names the clause in proposals and comparisons: lower-case letters, digits "
        "and hyphens, unique in this version (e.g. data-security).",
    )
    field_order = ["key", "heading", "body"]


# --- lookups ---------------------------------------------------------------------------------


def _template(request: AuthenticatedHttpRequest, pk: int) -> DSATemplate:
    return get_object_or_404(workspace_templates(request.user), pk=pk)


def _version(request: AuthenticatedHttpRequest, pk: int) -> TemplateVersion:
    return get_object_or_404(workspace_versions(request.user), pk=pk)


def _draft_clause(
    request: AuthenticatedHttpRequest, pk: int, clause: int
) -> tuple[TemplateVersion, Clause]:
    version = _version(request, pk)
    return version, get_object_or_404(Clause, pk=clause, version=version)


def _version_url(version: TemplateVersion) -> str:
    return reverse("template-version", args=[version.pk])


# --- templates -------------------------------------------------------------------------------


@login_required
def template_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Queries: session, user, the staffed collaboratories (exists), the templates with their
    # collaboratory, their versions with publisher, retirer and agreement count.
    collaboratories = staffed_collaboratories(request.user)
    if not collaboratories.exists():
        raise Http404("The template workspace is for the collaboratory's facilitators.")
    templates = list(workspace_templates_with_versions(request.user))
    return render(
        request,
        "agreements/standards/template_list.html",
        {
            "templates": templates,
            "usage_choices": TemplateUsage.choices,
            # Research approvals a template requires (agreements/web/approvals.py saves it).
            "approval_kinds": ApprovalKind.choices,
        },
    )


@login_required
def template_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    collaboratories = staffed_collaboratories(request.user).order_by("name")
    if not collaboratories.exists():
        raise Http404("The template workspace is for the collaboratory's facilitators.")
    form = TemplateCreateForm(request.POST or None, collaboratories=collaboratories)
    if request.method == "POST" and form.is_valid():
        try:
            template = services.template_create(
                collaboratory=form.cleaned_data["collaboratory"],
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"],
                description=form.cleaned_data["description"],
                usage=form.cleaned_data["usage"],
                by=request.user,
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(
                request, f"Template “{template.name}” created. Add its first version below."
            )
            return redirect(reverse("template-list") + f"#template-{template.pk}")
    return render(request, "agreements/standards/template_new.html", {"form": form})


@login_required
@require_POST
def template_usage(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    template = _template(request, pk)
    try:
        template = services.template_usage_set(
            template=template, usage=request.POST.get("usage", ""), by=request.user
        )
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(
            request, f"“{template.name}” is now: {template.get_usage_display().lower()}."
        )
    return redirect(reverse("template-list") + f"#template-{template.pk}")


@login_required
@require_POST
def template_version_new(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A new draft version: a copy of the latest version, or empty."""
    template = _template(request, pk)
    latest = template.versions.order_by("-number").first()
    try:
        if request.POST.get("start") == "copy" and latest is not None:
            version = services.template_version_copy(source=latest, by=request.user)
        else:
            version = services.template_version_create(
                template=template,
                title=latest.title if latest else template.name,
                clauses=[],
                notes="",
                by=request.user,
            )
    except DomainError as error:
        flash_error(request, error)
        return redirect(reverse("template-list") + f"#template-{template.pk}")
    messages.success(request, f"Draft version {version.number} created.")
    return redirect(_version_url(version))


@login_required
def template_import(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    template = _template(request, pk)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        # One byte over the limit is enough for the reader to refuse the file by its size.
        version, report = services.template_import(
            template=template,
            filename=upload.name,
            data=upload.read(max_upload_bytes() + 1),
            by=request.user,
        )
        if version is not None:
            messages.success(
                request,
                f"Imported {upload.name} as draft version {version.number}: check the "
                "findings below, then edit and publish it.",
            )
            request.session[f"import-report-{version.pk}"] = {
                "warnings": [str(i) for i in report.warnings],
                "filename": upload.name,
            }
            return redirect(_version_url(version))
    return render(
        request,
        "agreements/standards/template_import.html",
        {"template": template, "form": form, "report": report},
    )


@login_required
def template_compare_pick(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The picker of two versions: sends on to the comparison (``template-compare``)."""
    template = _template(request, pk)
    versions = {str(v.pk): v for v in template.versions.all()}
    old, new = versions.get(request.GET.get("old", "")), versions.get(request.GET.get("new", ""))
    if old is None or new is None or old == new:
        messages.error(request, "Choose two different versions of the template to compare.")
        return redirect(reverse("template-list") + f"#template-{template.pk}")
    if old.number > new.number:
        old, new = new, old
    return redirect("template-compare", old=old.pk, new=new.pk)


# --- a version -------------------------------------------------------------------------------


@login_required
def template_version(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    # Queries: session, user, the version with its template, collaboratory and people, its
    # clauses, the last published version before it, its agreement count.
    version = _version(request, pk)
    clauses = list(version.clauses.order_by("order"))
    document = version_document_of(version, clauses)
    parts = {part.key: part for part in document.parts}
    rows = [(clause, render_html(parts[clause.key], document)) for clause in clauses]
    previous = last_published_before(version) if not version.is_published else None
    report = request.session.pop(f"import-report-{version.pk}", None)
    return render(
        request,
        "agreements/standards/version_detail.html",
        {
            "version": version,
            "template": version.template,
            "rows": rows,
            "previous": previous,
            "report": report,
            "agreement_count": version.agreements.count(),
            "siblings": list(version.template.versions.order_by("number")),
        },
    )


@login_required
def clause_edit(request: AuthenticatedHttpRequest, pk: int, clause: int) -> HttpResponse:
    version, found = _draft_clause(request, pk, clause)
    if version.is_published:
        messages.error(request, f"{version} is published and can no longer change.")
        return redirect(_version_url(version))
    if request.method == "POST":
        form = ClauseForm(request.POST)
        if form.is_valid():
            try:
                services.clause_edit(
                    clause=found,
                    heading=form.cleaned_data["heading"],
                    body=form.cleaned_data["body"],
                    by=request.user,
                )
            except DomainError as error:
                add_to_form(form, error)
            else:
                messages.success(request, f"Clause “{found.heading}” saved.")
                return redirect(_version_url(version) + f"#clause-{found.pk}")
    else:
        document = services.version_document(version)
        form = ClauseForm(
            initial={
                "heading": found.heading,
                "body": body_markdown(template_part(found).blocks, key=found.key, context=document),
            }
        )
    return render(
        request,
        "agreements/standards/clause_form.html",
        {"version": version, "clause": found, "form": form},
    )


@login_required
def clause_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    version = _version(request, pk)
    if version.is_published:
        messages.error(request, f"{version} is published and can no longer change.")
        return redirect(_version_url(version))
    form = ClauseAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = services.clause_add(
                version=version,
                key=form.cleaned_data["key"],
                heading=form.cleaned_data["heading"],
                body=form.cleaned_data["body"],
                by=request.user,
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(request, f"Clause “{added.heading}” added at the end.")
            return redirect(_version_url(version) + f"#clause-{added.pk}")
    return render(
        request,
        "agreements/standards/clause_form.html",
        {"version": version, "clause": None, "form": form},
    )


@login_required
@require_POST
def clause_remove(request: AuthenticatedHttpRequest, pk: int, clause: int) -> HttpResponse:
    version, found = _draft_clause(request, pk, clause)
    try:
        services.clause_remove(clause=found, by=request.user)
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(request, f"Clause “{found.heading}” removed.")
    return redirect(_version_url(version))


@login_required
@require_POST
def clause_move(request: AuthenticatedHttpRequest, pk: int, clause: int) -> HttpResponse:
    version, found = _draft_clause(request, pk, clause)
    try:
        services.clause_move(
            clause=found, direction=request.POST.get("direction", ""), by=request.user
        )
    except DomainError as error:
        flash_error(request, error)
    return redirect(_version_url(version) + f"#clause-{found.pk}")


@login_required
def version_publish(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The confirmation (what changes against the last published version), then publish."""
    version = _version(request, pk)
    if version.status != VersionStatus.DRAFT:
        messages.error(request, f"{version} is already published.")
        return redirect(_version_url(version))
    previous = last_published_before(version)
    if request.method == "POST":
        try:
            services.template_version_publish(
                version=version,
                by=request.user,
                retire_earlier=bool(request.POST.get("retire_earlier")),
            )
        except DomainError as error:
            flash_error(request, error)
        else:
            messages.success(request, f"Version {version.number} is published.")
            return redirect(_version_url(version))
    return render(
        request,
        "agreements/standards/version_publish.html",
        {
            "version": version,
            "previous": previous,
            "changes": version_changes(previous, version),
            "clause_count": version.clauses.count(),
        },
    )


@login_required
def version_export(request: AuthenticatedHttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The version as Markdown or Word, to edit outside and import again as a new draft."""
    version = _version(request, pk)
    if fmt not in ("md", "docx"):
        raise Http404("Download a version as md or docx.")
    try:
        export = template_version_download(version=version, fmt=fmt, by=request.user)
    except ValueError as error:
        messages.error(request, f"Cannot export {version}: {error}")
        return redirect(_version_url(version))
    response = HttpResponse(export.data, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


@login_required
@require_POST
def version_retire(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    version = _version(request, pk)
    try:
        services.template_version_retire(version=version, by=request.user)
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(
            request,
            f"Version {version.number} is retired: the wizard no longer offers it; agreements "
            "on it keep it.",
        )
    if request.POST.get("next") == "list":
        return redirect(reverse("template-list") + f"#template-{version.template_id}")
    return redirect(_version_url(version))
