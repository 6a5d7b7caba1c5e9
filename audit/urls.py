from django.urls import path

from audit import views

urlpatterns = [
    path(
        "agreements/<uuid:pk>/audit/",
        views.agreement_audit_trail,
        name="agreement-audit-trail",
    ),
]
