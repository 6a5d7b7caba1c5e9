"""The project's admin site: every change is audited (audit.admin_site) and only a session that
passed a TOTP check gets in (partners.two_factor).

Project wiring, like the URL confs: it joins two apps, so it lives here rather than in
audit, which imports none of the apps. ``audit.admin_config.AuditedAdminConfig`` makes it
the default site.
"""

from __future__ import annotations

from django.urls import reverse

from audit.admin_site import AuditedAdminSite
from partners.two_factor import challenge, is_verified, safe_next_url


class AdminSite(AuditedAdminSite):
    """The admin can change anything a signed text does not protect, so staff need a second
    factor too."""

    WHY = "The admin can change every partnership, so it needs two-factor authentication."

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and is_verified(request)

    def login(self, request, extra_context=None):
        """Staff whose session is not verified go to verify (or set up) their app first,
        then on to where they were going; everyone else gets the ordinary admin login."""
        user = request.user
        if user.is_active and user.is_staff and not is_verified(request):
            wanted = safe_next_url(request) or reverse("admin:index", current_app=self.name)
            return challenge(request, why=self.WHY, next_url=wanted)
        return super().login(request, extra_context)
