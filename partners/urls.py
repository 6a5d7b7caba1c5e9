from django.urls import path

# Partner API access for organisation admins (tokens, webhooks) — partners/views_api.py.
# The partnership and organisation pages list agreements: they are agreements' pages.
from partners import views_api, views_partnerships, views_people, views_student_keys

urlpatterns = [
    path("api-access/", views_api.api_access, name="api-access"),
    path("organisations/<slug:slug>/api/", views_api.organisation_api, name="organisation-api"),
    path(
        "organisations/<slug:slug>/api/tokens/",
        views_api.api_token_create,
        name="organisation-api-token-create",
    ),
    path(
        "organisations/<slug:slug>/api/tokens/<int:pk>/revoke/",
        views_api.api_token_revoke_view,
        name="organisation-api-token-revoke",
    ),
    path(
        "organisations/<slug:slug>/api/webhooks/",
        views_api.webhook_create,
        name="organisation-webhook-create",
    ),
    path(
        "organisations/<slug:slug>/api/webhooks/<int:pk>/",
        views_api.webhook_detail,
        name="organisation-webhook",
    ),
    path(
        "organisations/<slug:slug>/api/webhooks/<int:pk>/disable/",
        views_api.webhook_disable,
        name="organisation-webhook-disable",
    ),
    path(
        "organisations/<slug:slug>/api/webhooks/<int:pk>/enable/",
        views_api.webhook_enable,
        name="organisation-webhook-enable",
    ),
    path(
        "organisations/<slug:slug>/api/webhooks/<int:pk>/deliveries/<int:delivery_id>/redeliver/",
        views_api.webhook_redeliver,
        name="organisation-webhook-redeliver",
    ),
    # People of an organisation, for its admins; accepting an invitation — views_people.py.
    path("people/", views_people.people_index, name="people"),
    path(
        "organisations/<slug:slug>/people/",
        views_people.organisation_people,
        name="organisation-people",
    ),
    path(
        "organisations/<slug:slug>/people/invite/",
        views_people.invitation_create,
        name="organisation-invite",
    ),
    path(
        "organisations/<slug:slug>/people/invitations/<int:pk>/resend/",
        views_people.invitation_resend,
        name="organisation-invitation-resend",
    ),
    path(
        "organisations/<slug:slug>/people/invitations/<int:pk>/revoke/",
        views_people.invitation_revoke,
        name="organisation-invitation-revoke",
    ),
    path(
        "organisations/<slug:slug>/people/<int:user_id>/roles/",
        views_people.member_roles,
        name="organisation-member-roles",
    ),
    path(
        "organisations/<slug:slug>/people/<int:user_id>/deactivate/",
        views_people.member_deactivate,
        name="organisation-member-deactivate",
    ),
    path(
        "organisations/<slug:slug>/people/<int:user_id>/reactivate/",
        views_people.member_reactivate,
        name="organisation-member-reactivate",
    ),
    path(
        "organisations/<slug:slug>/people/<int:user_id>/reset-two-factor/",
        views_people.member_two_factor_reset,
        name="organisation-member-two-factor-reset",
    ),
    path("invitation/<str:token>/", views_people.invitation_accept, name="invitation-accept"),
    # A district's student key format, for its admins — views_student_keys.py (issue 20).
    path(
        "organisations/<slug:slug>/student-keys/",
        views_student_keys.student_key_settings,
        name="organisation-student-keys",
    ),
    # Organisations and trios of a collaboratory, for its facilitators — views_partnerships.py.
    path("partnerships/", views_partnerships.partnership_list, name="partnership-list"),
    path(
        "partnerships/organisations/new/",
        views_partnerships.organisation_new,
        name="partnership-organisation-new",
    ),
    path(
        "partnerships/organisations/<slug:slug>/edit/",
        views_partnerships.organisation_edit,
        name="partnership-organisation-edit",
    ),
    path("partnerships/trios/new/", views_partnerships.trio_new, name="partnership-trio-new"),
    path(
        "partnerships/trios/<int:pk>/edit/",
        views_partnerships.trio_edit,
        name="partnership-trio-edit",
    ),
]
