from django.contrib import admin

from audit.admin_site import AuditEntryAdmin
from audit.models import AuditEntry

admin.site.register(AuditEntry, AuditEntryAdmin)
