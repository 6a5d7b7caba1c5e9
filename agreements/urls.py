from django.urls import path

from agreements.web import approvals as views_approvals
from agreements.web import audit_trail as views_audit_trail
from agreements.web import calendar as views_calendar
from agreements.web import dashboard as views_dashboard
from agreements.web import destruction as views_destruction
from agreements.web import discussions as views_discussions
from agreements.web import documents as views_documents
from agreements.web import fillins as views_fillins
from agreements.web import ownership as views_ownership
from agreements.web import partnerships as views_partnerships
from agreements.web import review as views_review
from agreements.web import search as views_search
from agreements.web import template_upgrade as views_template_upgrade
from agreements.web import template_workspace as views_templates
from agreements.web import termination as views_termination
from agreements.web import views
from agreements.web import wizard as views_wizard

urlpatterns = [
    # The home page and the calendar feed of the agreements' dates.
    path("", views_dashboard.dashboard, name="dashboard"),
    path("calendar/", views_calendar.calendar_settings, name="calendar-settings"),
    path("calendar/new/", views_calendar.calendar_feed_create, name="calendar-feed-create"),
    path("calendar/revoke/", views_calendar.calendar_feed_revoke, name="calendar-feed-revoke"),
    path("calendar/<str:token>.ics", views_calendar.calendar_feed, name="calendar-feed"),
    path("agreements/", views.agreement_list, name="agreement-list"),
    # Destruction duties (agreements/destruction/): the list, one agreement's, certify.
    path("destruction/", views_destruction.destruction_list, name="destruction-list"),
    path(
        "agreements/<uuid:pk>/destruction/",
        views_destruction.destruction_agreement,
        name="destruction-agreement",
    ),
    path(
        "agreements/<uuid:pk>/destruction/<int:duty_id>/certify/",
        views_destruction.destruction_certify,
        name="destruction-certify",
    ),
    path(
        "agreements/<uuid:pk>/destruction/<int:duty_id>/certificate.pdf",
        views_destruction.destruction_certificate,
        name="destruction-certificate",
    ),
    path(
        "agreements/<uuid:pk>/destruction/<int:duty_id>/evidence",
        views_destruction.destruction_evidence,
        name="destruction-evidence",
    ),
    path("agreements/<uuid:pk>/", views.agreement_detail, name="agreement-detail"),
    path("agreements/<uuid:pk>/history/", views.agreement_history_view, name="agreement-history"),
    path(
        "agreements/<uuid:pk>/audit/",
        views_audit_trail.agreement_audit_trail,
        name="agreement-audit-trail",
    ),
    path("agreements/<uuid:pk>/sign/", views.agreement_sign, name="agreement-sign"),
    # Research approvals (agreements/web/approvals.py): IRB and district research office.
    path(
        "agreements/<uuid:pk>/research-approvals/",
        views_approvals.research_approvals,
        name="agreement-research-approvals",
    ),
    path(
        "agreements/<uuid:pk>/research-approvals/<int:approval_id>/document",
        views_approvals.research_approval_document,
        name="research-approval-document",
    ),
    path(
        "agreements/<uuid:pk>/research-approvals/<int:approval_id>/withdraw/",
        views_approvals.research_approval_withdraw,
        name="research-approval-withdraw",
    ),
    path("agreements/<uuid:pk>/elements/new/", views.data_element_add, name="data-element-add"),
    path(
        "agreements/<uuid:pk>/fillins/", views_fillins.agreement_fillins, name="agreement-fillins"
    ),
    path(
        "agreements/<uuid:pk>/ownership/",
        views_ownership.agreement_ownership_page,
        name="agreement-ownership",
    ),
    path(
        "agreements/<uuid:pk>/open/",
        views.agreement_open_negotiation,
        name="agreement-open-negotiation",
    ),
    path("agreements/<uuid:pk>/propose/", views.override_propose, name="override-propose"),
    path(
        "agreements/<uuid:pk>/proposals/<int:override_id>/respond/",
        views.override_respond,
        name="override-respond",
    ),
    path(
        "agreements/<uuid:pk>/proposals/<int:override_id>/withdraw/",
        views.override_withdraw,
        name="override-withdraw",
    ),
    path(
        "agreements/<uuid:pk>/conflicts/<slug:clause_key>/resolve/",
        views.conflict_resolve,
        name="conflict-resolve",
    ),
    path("agreements/<uuid:pk>/comments/", views.clause_comment, name="clause-comment"),
    # Clause discussions (agreements/web/discussions.py) and the negotiation record.
    path(
        "agreements/<uuid:pk>/discussions/",
        views_discussions.discussion_start,
        name="discussion-start",
    ),
    path(
        "agreements/<uuid:pk>/discussions/<int:comment_id>/reply/",
        views_discussions.discussion_reply,
        name="discussion-reply",
    ),
    path(
        "agreements/<uuid:pk>/discussions/<int:comment_id>/resolve/",
        views_discussions.discussion_resolve,
        name="discussion-resolve",
    ),
    path(
        "agreements/<uuid:pk>/discussions/<int:comment_id>/reopen/",
        views_discussions.discussion_reopen,
        name="discussion-reopen",
    ),
    path(
        "agreements/<uuid:pk>/negotiation-record.pdf",
        views_discussions.negotiation_record_pdf,
        name="negotiation-record",
    ),
    path("notifications/", views_discussions.notification_list, name="notification-list"),
    path(
        "agreements/<uuid:pk>/submit/",
        views.agreement_submit_for_review,
        name="agreement-submit",
    ),
    path("agreements/<uuid:pk>/reopen/", views.agreement_reopen, name="agreement-reopen"),
    path("agreements/<uuid:pk>/approve/", views.agreement_approve, name="agreement-approve"),
    path(
        "agreements/<uuid:pk>/terminate/",
        views_termination.agreement_terminate,
        name="agreement-terminate",
    ),
    path(
        "agreements/<uuid:pk>/terminate/withdraw/",
        views_termination.agreement_termination_withdraw,
        name="agreement-termination-withdraw",
    ),
    # The guided flow (agreements/web/wizard.py); "agreement-create" starts it.
    path(
        "trios/<slug:collaboratory>/<slug:slug>/agreements/new/",
        views_wizard.wizard_start,
        name="agreement-create",
    ),
    path(
        "trios/<slug:collaboratory>/<slug:slug>/agreements/new/reset/",
        views_wizard.wizard_reset,
        name="agreement-wizard-reset",
    ),
    path(
        "trios/<slug:collaboratory>/<slug:slug>/agreements/new/<slug:step>/",
        views_wizard.wizard_step,
        name="agreement-wizard",
    ),
    path("search/", views_search.search_view, name="search"),
    # A partnership's and an organisation's page: members, people and their agreements.
    path(
        "trios/<slug:collaboratory>/<slug:slug>/",
        views_partnerships.trio_detail,
        name="trio-detail",
    ),
    path(
        "organisations/<slug:slug>/",
        views_partnerships.organisation_detail,
        name="organisation-detail",
    ),
]

# Legal review: comparisons, redline downloads, per-clause review, deviation analytics.

urlpatterns += [
    path("agreements/<uuid:pk>/compare/", views_review.agreement_compare, name="agreement-compare"),
    path(
        "agreements/<uuid:pk>/compare/conflicts/<slug:clause_key>/",
        views_review.agreement_conflict,
        name="agreement-conflict",
    ),
    path(
        "agreements/<uuid:pk>/compare/earlier/",
        views_review.agreement_compare_earlier,
        name="agreement-compare-earlier",
    ),
    path(
        "agreements/<uuid:pk>/compare/newer-version/",
        views_review.agreement_compare_upgrade,
        name="agreement-compare-upgrade",
    ),
    path(
        "agreements/<uuid:pk>/compare/newer-version/move/",
        views_template_upgrade.agreement_template_upgrade,
        name="agreement-template-upgrade",
    ),
    path(
        "agreements/<uuid:pk>/redline.docx",
        views_review.agreement_redline_docx,
        name="agreement-redline-docx",
    ),
    path(
        "agreements/<uuid:pk>/redline.pdf",
        views_review.agreement_redline_pdf,
        name="agreement-redline-pdf",
    ),
    path("agreements/<uuid:pk>/reviews/", views_review.agreement_reviews, name="agreement-reviews"),
    path(
        "agreements/<uuid:pk>/reviews/mark/",
        views_review.clause_review_mark,
        name="clause-review-mark",
    ),
    path(
        "template-versions/<int:old>/compare/<int:new>/",
        views_review.template_compare,
        name="template-compare",
    ),
    # The template workspace (facilitators): templates, versions, drafts, publication.
    path("templates/", views_templates.template_list, name="template-list"),
    path("templates/new/", views_templates.template_new, name="template-new"),
    path("templates/<int:pk>/usage/", views_templates.template_usage, name="template-usage"),
    path(
        "templates/<int:pk>/research-approvals/",
        views_approvals.template_research_approvals,
        name="template-research-approvals",
    ),
    path(
        "templates/<int:pk>/versions/new/",
        views_templates.template_version_new,
        name="template-version-new",
    ),
    path("templates/<int:pk>/import/", views_templates.template_import, name="template-import"),
    path(
        "templates/<int:pk>/compare/",
        views_templates.template_compare_pick,
        name="template-compare-pick",
    ),
    path("templates/versions/<int:pk>/", views_templates.template_version, name="template-version"),
    path(
        "templates/versions/<int:pk>/clauses/new/",
        views_templates.clause_add,
        name="template-clause-add",
    ),
    path(
        "templates/versions/<int:pk>/clauses/<int:clause>/",
        views_templates.clause_edit,
        name="template-clause-edit",
    ),
    path(
        "templates/versions/<int:pk>/clauses/<int:clause>/remove/",
        views_templates.clause_remove,
        name="template-clause-remove",
    ),
    path(
        "templates/versions/<int:pk>/clauses/<int:clause>/move/",
        views_templates.clause_move,
        name="template-clause-move",
    ),
    path(
        "templates/versions/<int:pk>/publish/",
        views_templates.version_publish,
        name="template-version-publish",
    ),
    path(
        "templates/versions/<int:pk>/export.<str:fmt>",
        views_templates.version_export,
        name="template-version-export",
    ),
    path(
        "templates/versions/<int:pk>/retire/",
        views_templates.version_retire,
        name="template-version-retire",
    ),
    path("deviations/", views_review.deviation_index, name="deviation-index"),
    path(
        "deviations/<slug:collaboratory>/<slug:template>/",
        views_review.deviation_analytics,
        name="deviation-analytics",
    ),
    path(
        "deviations/<slug:collaboratory>/<slug:template>/deviations.csv",
        views_review.deviation_csv,
        name="deviation-csv",
    ),
    # Documents: sealed executed PDFs, review copies, render progress, seal checks.
    path(
        "agreements/<uuid:pk>/documents/",
        views_documents.documents_status,
        name="agreement-documents",
    ),
    path(
        "agreements/<uuid:pk>/documents/request/",
        views_documents.document_request,
        name="document-request",
    ),
    path(
        "agreements/<uuid:pk>/documents/jobs/<int:job_id>/retry/",
        views_documents.render_job_retry,
        name="render-job-retry",
    ),
    path(
        "agreements/<uuid:pk>/documents/<int:document_id>/download/",
        views_documents.document_download,
        name="document-download",
    ),
    path(
        "agreements/<uuid:pk>/documents/<int:document_id>/verify/",
        views_documents.document_check,
        name="document-check",
    ),
    path(
        "agreements/verification/",
        views_documents.document_verification,
        name="document-verification",
    ),
    path("agreements/verify", views_documents.document_verify_api, name="document-verify-api"),
]

# Costs and effort (agreements/web/costs.py): an agreement's entries, a trio's totals and the
# facilitator's report.
from agreements.web import costs as views_costs  # noqa: E402

urlpatterns += [
    path("agreements/<uuid:pk>/costs/", views_costs.agreement_costs, name="agreement-costs"),
    path(
        "agreements/<uuid:pk>/costs/<int:entry_id>/",
        views_costs.cost_entry_edit,
        name="cost-entry-edit",
    ),
    path(
        "agreements/<uuid:pk>/costs/<int:entry_id>/share/",
        views_costs.cost_entry_share_view,
        name="cost-entry-share",
    ),
    path(
        "agreements/<uuid:pk>/costs/<int:entry_id>/delete/",
        views_costs.cost_entry_delete_view,
        name="cost-entry-delete",
    ),
    path(
        "trios/<slug:collaboratory>/<slug:slug>/costs/",
        views_costs.trio_costs,
        name="trio-costs",
    ),
    path("costs/report/", views_costs.cost_report_view, name="cost-report"),
    path("costs/report.csv", views_costs.cost_report_csv, name="cost-report-csv"),
]
