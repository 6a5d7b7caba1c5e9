"""Admin for facilitators: templates (copy, publish, import, export) and a read-mostly view
of agreements. Every write calls the same services the pages use."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse

from agreements.models import (
    Agreement,
    Approval,
    Clause,
    ClauseOverride,
    DataElement,
    DSATemplate,
    Notification,
    Signature,
    TemplateVersion,
    Transition,
)
from agreements.standards.export import version_export
from agreements.standards.limits import max_upload_bytes, mib, size_problem
from agreements.standards.services import (
    template_import,
    template_version_copy,
    template_version_publish,
)
from agreements.web.fields import MarkdownField, NormalisedCharField
from audit.models import AuditAction
from audit.services import record as audit_record
from collaboratory.errors import DomainError
from collaboratory.web import error_messages


class ImportForm(forms.Form):
    """The file only: how it is read (names, size, UTF-8, Word checks) is decided by
    ``parse_upload``, which ``template_import`` calls, with the same messages as elsewhere."""

    file = forms.FileField(help_text="Markdown (.md) or Word (.docx).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = mib(max_upload_bytes())
        self.fields["file"].help_text = f"Markdown (.md) or Word (.docx), at most {limit}."

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # The reader's own size rule, applied before the file is read into memory.
        if problem := size_problem(upload.size, max_upload_bytes()):
            raise forms.ValidationError(problem)
        return upload


class NormalisedText(admin.options.BaseModelAdmin):
    """Every text field of the model enters in the normal form of ``agreements.text.entry``,
    as it does on the pages; ``markdown_fields`` are read as Markdown (hard breaks kept)."""

    markdown_fields: tuple[str, ...] = ()

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # Exactly these two classes: slugs, e-mails and other CharField subclasses have
        # form fields of their own.
        if type(db_field) in (models.CharField, models.TextField) and not db_field.choices:
            markdown = db_field.name in self.markdown_fields
            kwargs.setdefault("form_class", MarkdownField if markdown else NormalisedCharField)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class TemplateVersionInline(admin.TabularInline):
    model = TemplateVersion
    extra = 0
    # Shown, never edited here (a version has its own page).
    fields = readonly_fields = ("number", "title", "status", "published_at")
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DSATemplate)
class DSATemplateAdmin(NormalisedText, admin.ModelAdmin):
    list_display = ["name", "collaboratory", "created_at"]
    list_filter = ["collaboratory"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TemplateVersionInline]

    def get_urls(self):
        return [
            path(
                "<int:template_id>/import/",
                self.admin_site.admin_view(self.import_view),
                name="agreements_dsatemplate_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request, template_id: int):
        template = get_object_or_404(DSATemplate, pk=template_id)
        if not self.has_change_permission(request, template):
            return HttpResponse(status=403)
        form = ImportForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                version, report = template_import(
                    template=template, filename=upload.name, data=upload.read(), by=request.user
                )
            except DomainError as error:
                form.add_error("file", error_messages(error))
            else:
                if version is not None:
                    self.message_user(
                        request,
                        f"Imported {len(report.clauses)} clauses as draft version "
                        f"{version.number}. Review it, then publish.",
                        messages.SUCCESS,
                    )
                    for warning in report.warnings:
                        self.message_user(request, str(warning), messages.WARNING)
                    return redirect(
                        reverse("admin:agreements_templateversion_change", args=[version.pk])
                    )
        return render(
            request,
            "admin/agreements/template_import.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Import a new version of {template}",
                "template_obj": template,
                "form": form,
                "report": report,
                "opts": self.model._meta,
            },
        )


class ClauseInline(NormalisedText, admin.StackedInline):
    model = Clause
    extra = 0
    fields = ["order", "number", "key", "heading", "body", "mandatory_for"]
    markdown_fields = ("body",)
    ordering = ["order"]

    def _editable(self, obj) -> bool:
        return obj is None or not obj.is_published

    def has_add_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(TemplateVersion)
class TemplateVersionAdmin(NormalisedText, admin.ModelAdmin):
    list_display = ["__str__", "status", "published_at", "clause_count"]
    list_filter = ["status", "template"]
    search_fields = ["title", "template__name", "clauses__heading", "clauses__body"]
    inlines = [ClauseInline]
    actions = ["copy_versions", "publish_versions"]
    readonly_fields = ["status", "published_at", "published_by", "copied_from"]

    def get_queryset(self, request):
        from django.db.models import Count

        return (
            super()
            .get_queryset(request)
            .select_related("template")
            .annotate(n_clauses=Count("clauses"))
        )

    @admin.display(description="Clauses", ordering="n_clauses")
    def clause_count(self, obj) -> int:
        return obj.n_clauses

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_published:
            return ["template", "number", "title", "notes", *self.readonly_fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return (obj is None or not obj.is_published) and super().has_delete_permission(request, obj)

    def get_urls(self):
        return [
            path(
                "<int:version_id>/export/<str:fmt>/",
                self.admin_site.admin_view(self.export_view),
                name="agreements_templateversion_export",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request, version_id: int, fmt: str):
        version = get_object_or_404(
            TemplateVersion.objects.select_related("template"), pk=version_id
        )
        if not self.has_view_permission(request, version):
            return HttpResponse(status=403)
        if fmt not in ("md", "docx"):
            return HttpResponse("Unknown format: use md or docx.", status=404)
        try:
            export = version_export(version, fmt)
        except ValueError as error:
            self.message_user(request, f"Cannot export {version}: {error}", messages.ERROR)
            return redirect(reverse("admin:agreements_templateversion_change", args=[version.pk]))
        audit_record(
            action=AuditAction.EXPORT,
            target=version,
            actor=request.user,
            payload={"export": "template", "format": fmt, "via": "admin"},
        )
        response = HttpResponse(export.data, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response

    @admin.action(description="Create a new draft version from the selected version")
    def copy_versions(self, request, queryset):
        for version in queryset:
            copy = template_version_copy(source=version, by=request.user)
            self.message_user(
                request,
                f"Created draft version {copy.number} of {copy.template}.",
                messages.SUCCESS,
            )

    @admin.action(description="Publish the selected draft versions")
    def publish_versions(self, request, queryset):
        for version in queryset:
            try:
                template_version_publish(version=version, by=request.user)
            except DomainError as error:
                for message in error_messages(error):
                    self.message_user(request, f"{version}: {message}", messages.ERROR)
            else:
                self.message_user(request, f"{version} is published.", messages.SUCCESS)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        # Shown, never edited: without this, non-editable fields (Approval.created_at)
        # make the agreement's admin page fail with a FieldError.
        return self.fields


class OverrideInline(ReadOnlyInline):
    model = ClauseOverride
    fields = ["organisation", "kind", "clause_key", "new_key", "status", "rationale"]


class ApprovalInline(ReadOnlyInline):
    model = Approval
    fields = ["organisation", "user", "text_hash", "created_at", "voided_at"]


class SignatureInline(ReadOnlyInline):
    model = Signature
    fields = [
        "organisation",
        "user",
        "typed_name",
        "signer_title",
        "signed_at",
        "auth_method",
        "authenticated_at",
        "ip_address",
    ]


class TransitionInline(ReadOnlyInline):
    model = Transition
    fields = ["from_status", "to_status", "by", "reason", "at"]


class DataElementInline(ReadOnlyInline):
    model = DataElement
    fields = ["name", "source", "recipient", "identifiability"]


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    """Read-only: agreements change only through their lifecycle, in the application."""

    list_display = ["reference", "title", "trio", "status", "expires_on", "updated_at"]
    list_filter = ["status", "sharing_mode", "trio__collaboratory", "trio"]
    search_fields = ["reference", "title", "purpose", "trio__name"]
    date_hierarchy = "expires_on"
    inlines = [DataElementInline, OverrideInline, ApprovalInline, SignatureInline, TransitionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("trio", "template_version__template")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["subject", "recipient", "event", "created_at", "sent_at"]
    list_filter = ["event"]
    search_fields = ["subject", "recipient__username"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
