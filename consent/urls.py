from django.urls import path

from consent import views

urlpatterns = [
    path("agreements/<uuid:pk>/consent/", views.consent_dashboard, name="consent-dashboard"),
    path(
        "agreements/<uuid:pk>/consent/requirement/",
        views.requirement_edit,
        name="consent-requirement",
    ),
    path("agreements/<uuid:pk>/consent/forms/new/", views.form_add, name="consent-form-add"),
    path(
        "agreements/<uuid:pk>/consent/forms/<int:form_id>/",
        views.form_detail,
        name="consent-form-detail",
    ),
    path("agreements/<uuid:pk>/consent/students/", views.student_list, name="consent-students"),
    path(
        "agreements/<uuid:pk>/consent/students/<int:student_id>/",
        views.student_detail,
        name="consent-student",
    ),
    path("agreements/<uuid:pk>/consent/record/", views.record_add, name="consent-record"),
    path(
        "agreements/<uuid:pk>/consent/records/<int:record_id>/receipt.json",
        views.receipt,
        name="consent-receipt",
    ),
    path("agreements/<uuid:pk>/consent/import/", views.import_upload, name="consent-import"),
    path(
        "agreements/<uuid:pk>/consent/import/<int:import_id>/",
        views.import_detail,
        name="consent-import-detail",
    ),
    path(
        "agreements/<uuid:pk>/consent/import/<int:import_id>/confirm/",
        views.import_confirm,
        name="consent-import-confirm",
    ),
    path(
        "agreements/<uuid:pk>/consent/import/<int:import_id>/discard/",
        views.import_discard,
        name="consent-import-discard",
    ),
    path("agreements/<uuid:pk>/consent/roster/", views.roster, name="consent-roster"),
]
