"""Admin: requirements, forms and the audit logs only.

Consent records and per-student states are deliberately not registered: student-level data
is for the district's people, through the consent pages, and never for platform staff.
Import rows are shown without their file or row errors.
"""

from __future__ import annotations

from django.contrib import admin

from consent.models import (
    ConsentExport,
    ConsentForm,
    ConsentImport,
    ConsentPurgeLog,
    ConsentRequirement,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ConsentRequirement)
class ConsentRequirementAdmin(ReadOnlyAdmin):
    list_display = ("agreement", "data_element", "kind", "updated_at")
    list_filter = ("kind",)
    search_fields = ("agreement__reference", "agreement__title")
    list_select_related = ("agreement", "data_element")


@admin.register(ConsentForm)
class ConsentFormAdmin(ReadOnlyAdmin):
    list_display = ("agreement", "title", "language", "version", "effective_date")
    search_fields = ("agreement__reference", "title")
    list_select_related = ("agreement",)
    exclude = ("body_sha256",)


@admin.register(ConsentImport)
class ConsentImportAdmin(ReadOnlyAdmin):
    list_display = (
        "agreement",
        "filename",
        "status",
        "row_count",
        "error_count",
        "records_created",
        "uploaded_by",
        "uploaded_at",
    )
    list_filter = ("status",)
    list_select_related = ("agreement", "uploaded_by")
    fields = (
        "agreement",
        "filename",
        "status",
        "size",
        "sha256",
        "row_count",
        "error_count",
        "records_created",
        "students_created",
        "students_updated",
        "uploaded_by",
        "uploaded_at",
        "finished_by",
        "finished_at",
        "duration_ms",
    )
    readonly_fields = fields


@admin.register(ConsentExport)
class ConsentExportAdmin(ReadOnlyAdmin):
    list_display = ("agreement", "recipient", "as_of", "row_count", "exported_by", "exported_at")
    list_select_related = ("agreement", "recipient", "exported_by")


@admin.register(ConsentPurgeLog)
class ConsentPurgeLogAdmin(ReadOnlyAdmin):
    list_display = (
        "agreement_reference",
        "agreement_status",
        "ended_on",
        "records_deleted",
        "students_deleted",
        "purged_at",
    )
