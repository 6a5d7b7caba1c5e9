from django.contrib.admin.apps import AdminConfig


class AuditedAdminConfig(AdminConfig):
    """``django.contrib.admin`` whose default site records every admin change in the audit
    chain (Django's documented way to replace the default admin site)."""

    # The project's site: audited (audit.admin_site) and behind two-factor (partners).
    default_site = "collaboratory.admin_site.AdminSite"
