"""The partner API, mounted at /api/v1/ (see README, "Partner API")."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from agreements.api import views as agreement_apis
from agreements.costs import api as cost_apis
from consent import apis as consent_apis
from partners import apis as partner_apis
from partners.views_api import api_docs

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", api_docs, name="api-docs"),
    path("agreements/", agreement_apis.AgreementListApi.as_view(), name="api-agreement-list"),
    path(
        "agreements/<uuid:pk>/",
        agreement_apis.AgreementDetailApi.as_view(),
        name="api-agreement-detail",
    ),
    path(
        "agreements/<uuid:pk>/document",
        agreement_apis.AgreementDocumentApi.as_view(),
        name="api-agreement-document",
    ),
    path(
        "agreements/<uuid:pk>/terms",
        agreement_apis.AgreementTermsApi.as_view(),
        name="api-agreement-terms",
    ),
    path(
        "agreements/<uuid:pk>/costs",
        cost_apis.AgreementCostsApi.as_view(),
        name="api-agreement-costs",
    ),
    path("organisations/me", partner_apis.OrganisationMeApi.as_view(), name="api-organisation-me"),
    path("consent/summary", consent_apis.ConsentSummaryApi.as_view(), name="api-consent-summary"),
    path("webhooks/", partner_apis.WebhookListApi.as_view(), name="api-webhook-list"),
    path("webhooks/<int:pk>/", partner_apis.WebhookDetailApi.as_view(), name="api-webhook-detail"),
    path(
        "webhooks/<int:pk>/deliveries/",
        partner_apis.WebhookDeliveryListApi.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_id>/redeliver",
        partner_apis.WebhookRedeliverApi.as_view(),
        name="api-webhook-redeliver",
    ),
    # Anything else under /api/v1/ answers the API's JSON 404, not an HTML page.
    re_path(r"^.*$", partner_apis.ApiNotFound.as_view()),
]
