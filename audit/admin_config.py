from django.contrib.admin.apps import AdminConfig


class AuditedAdminConfig(AdminConfig):
    """``django.contrib.admin`` whose default site records every admin change in the audit
    chain (Django's documented way to replace the default admin site)."""

    default_site = "audit.admin_site.AuditedAdminSite"
