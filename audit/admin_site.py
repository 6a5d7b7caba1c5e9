"""The admin site: every add, change and delete made in the admin is also an audit entry.

Django writes its own ``LogEntry`` through ``ModelAdmin.log_addition`` / ``log_change`` /
``log_deletions``; ``AuditedAdminSite.register`` gives every registered ModelAdmin a mixin
that records the same act in the audit chain, in the admin view's transaction. The default
site (``audit.admin_config.AuditedAdminConfig``) is the project's subclass of it,
``collaboratory.admin_site.AdminSite``, so apps keep using ``@admin.register``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db import transaction

from audit.models import AuditAction, AuditEntry


def _message(message: Any) -> Any:
    if isinstance(message, str) and message.startswith("["):
        try:
            return json.loads(message)
        except ValueError:
            return message
    return message


if TYPE_CHECKING:  # the mixin always precedes a ModelAdmin (see register)
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = object


class AuditedModelAdminMixin(_ModelAdmin):
    """Records admin additions, changes and deletions in the audit chain."""

    def _audit(self, request, obj, action: str, message: Any = "") -> None:
        from audit.services import record

        record(
            action=action,
            target=obj,
            actor=request.user,
            payload={"object": str(obj)[:200], "via": "admin", "message": _message(message)},
        )

    def log_addition(self, request, obj, message):
        with transaction.atomic():
            entry = super().log_addition(request, obj, message)
            self._audit(request, obj, AuditAction.ADMIN_ADDITION, message)
        return entry

    def log_change(self, request, obj, message):
        with transaction.atomic():
            entry = super().log_change(request, obj, message)
            self._audit(request, obj, AuditAction.ADMIN_CHANGE, message)
        return entry

    def log_deletions(self, request, queryset):
        with transaction.atomic():
            entries = super().log_deletions(request, queryset)
            for obj in queryset:
                self._audit(request, obj, AuditAction.ADMIN_DELETION)
        return entries


class AuditEntryAdmin(admin.ModelAdmin):
    """The chain, read-only (the database refuses changes anyway)."""

    list_display = ["seq", "occurred_at", "action", "actor_label", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "object_id"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AuditedAdminSite(admin.AdminSite):
    """Every change made through the admin is audited. The project's site adds the two-factor
    gate (collaboratory/admin_site.py): audit imports none of the apps."""

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AuditedModelAdminMixin):
            admin_class = type(admin_class.__name__, (AuditedModelAdminMixin, admin_class), {})
        return super().register(model_or_iterable, admin_class, **options)
