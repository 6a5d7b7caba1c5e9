from django.urls import path

# Partner API access for organisation admins (tokens, webhooks) — partners/views_api.py.
# The partnership and organisation pages list agreements: they are agreements' pages.
from partners import views_api

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
]
