"""Browser pages for an organisation's admins: API tokens, webhooks and their delivery log,
and the interactive API documentation.

Only people holding the admin role of an organisation see its pages; everyone else gets 404.
A new token or webhook secret is shown once, in the response to the form that created it,
and never stored in a readable form (tokens) or shown again (secrets).
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from collaboratory.errors import DomainError
from collaboratory.web import add_to_form, flash_error
from partners import webhooks
from partners.api_auth import api_token_issue, api_token_revoke
from partners.forms_api import ApiTokenForm, WebhookEndpointForm
from partners.http import AuthenticatedHttpRequest
from partners.models import ApiToken, Organisation, WebhookAttempt, WebhookDelivery
from partners.selectors import organisations_administered_by
from partners.two_factor import WHY_API, needs_two_factor

DELIVERIES_PER_PAGE = 25


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI from the vendored sidecar files; no inline script (CSP)."""
    return render(request, "partners/api/docs.html", {"schema_url": reverse("api-schema")})


def _organisation(request: HttpRequest, slug: str) -> Organisation:
    return get_object_or_404(organisations_administered_by(request.user), slug=slug)


# Every page and action of an organisation's API access needs a session verified with
# two-factor authentication (partners/two_factor.py); non-admins keep their 404.
two_factor_verified = needs_two_factor(
    why=WHY_API,
    applies=lambda request, slug, **_: (
        organisations_administered_by(request.user).filter(slug=slug).exists()
    ),
    return_to=lambda request, slug, **_: reverse("organisation-api", args=[slug]),
)


@login_required
def api_access(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Entry point: the organisations whose API access the user manages."""
    organisations = list(organisations_administered_by(request.user).order_by("name"))
    if len(organisations) == 1:
        return redirect("organisation-api", slug=organisations[0].slug)
    return render(request, "partners/api/index.html", {"organisations": organisations})


def _settings_page(
    request: HttpRequest,
    organisation: Organisation,
    *,
    token_form: ApiTokenForm | None = None,
    webhook_form: WebhookEndpointForm | None = None,
    new_token: tuple[ApiToken, str] | None = None,
    new_secret: str | None = None,
    status: int = 200,
) -> HttpResponse:
    # Queries: session, user, organisation, tokens, endpoints.
    tokens = list(
        ApiToken.objects.filter(organisation=organisation)
        .select_related("created_by")
        .order_by("revoked_at", "-created_at")
    )
    now = timezone.now()
    response = render(
        request,
        "partners/api/organisation.html",
        {
            "organisation": organisation,
            "tokens": tokens,
            "now": now,
            "endpoints": list(webhooks.endpoints_of_organisation(organisation.pk)),
            "token_form": token_form or ApiTokenForm(),
            "webhook_form": webhook_form or WebhookEndpointForm(),
            "new_token": new_token,
            "new_secret": new_secret,
        },
        status=status,
    )
    if new_token or new_secret:
        response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
@two_factor_verified
def organisation_api(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    return _settings_page(request, _organisation(request, slug))


@login_required
@require_POST
@two_factor_verified
def api_token_create(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    organisation = _organisation(request, slug)
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, organisation, token_form=form, status=400)
    days = form.cleaned_data.get("expires_in_days")
    try:
        new_token = api_token_issue(
            organisation=organisation,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
            by=request.user,
        )
    except DomainError as error:
        add_to_form(form, error)
        return _settings_page(request, organisation, token_form=form, status=400)
    return _settings_page(request, organisation, new_token=new_token)


@login_required
@require_POST
@two_factor_verified
def api_token_revoke_view(request: AuthenticatedHttpRequest, slug: str, pk: int) -> HttpResponse:
    organisation = _organisation(request, slug)
    token = get_object_or_404(ApiToken, organisation=organisation, pk=pk)
    api_token_revoke(token=token, by=request.user)
    messages.success(request, f"Token “{token.name}” ({token.prefix}…) is revoked.")
    return redirect("organisation-api", slug=organisation.slug)


@login_required
@require_POST
@two_factor_verified
def webhook_create(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    organisation = _organisation(request, slug)
    form = WebhookEndpointForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, organisation, webhook_form=form, status=400)
    try:
        endpoint, secret = webhooks.webhook_endpoint_create(
            organisation=organisation,
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            description=form.cleaned_data["description"],
            by=request.user,
        )
    except DomainError as error:
        add_to_form(form, error)
        return _settings_page(request, organisation, webhook_form=form, status=400)
    return _settings_page(request, organisation, new_secret=secret)


@never_cache
@login_required
@two_factor_verified
def webhook_detail(request: AuthenticatedHttpRequest, slug: str, pk: int) -> HttpResponse:
    # Queries: session, user, organisation, endpoint, count, page of deliveries, attempts.
    organisation = _organisation(request, slug)
    endpoint = get_object_or_404(webhooks.endpoints_of_organisation(organisation.pk), pk=pk)
    deliveries = (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .prefetch_related(
            Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("-number"))
        )
        .order_by("-created_at", "-id")
    )
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "partners/api/webhook_detail.html",
        {
            "organisation": organisation,
            "endpoint": endpoint,
            "page": page,
            "deliveries": page.object_list,
            "query": "",
        },
    )


@login_required
@require_POST
@two_factor_verified
def webhook_disable(request: AuthenticatedHttpRequest, slug: str, pk: int) -> HttpResponse:
    organisation = _organisation(request, slug)
    endpoint = get_object_or_404(webhooks.endpoints_of_organisation(organisation.pk), pk=pk)
    webhooks.webhook_endpoint_disable(endpoint=endpoint, by=request.user)
    messages.success(request, f"{endpoint.url} receives no more events.")
    return redirect("organisation-api", slug=organisation.slug)


@login_required
@require_POST
@two_factor_verified
def webhook_enable(request: AuthenticatedHttpRequest, slug: str, pk: int) -> HttpResponse:
    organisation = _organisation(request, slug)
    endpoint = get_object_or_404(webhooks.endpoints_of_organisation(organisation.pk), pk=pk)
    try:
        webhooks.webhook_endpoint_enable(endpoint=endpoint, by=request.user)
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(request, f"{endpoint.url} receives new events again.")
    return redirect("organisation-webhook", slug=organisation.slug, pk=pk)


@login_required
@require_POST
@two_factor_verified
def webhook_redeliver(
    request: AuthenticatedHttpRequest, slug: str, pk: int, delivery_id: int
) -> HttpResponse:
    organisation = _organisation(request, slug)
    delivery = get_object_or_404(
        webhooks.deliveries_of_organisation(organisation.pk), endpoint_id=pk, pk=delivery_id
    )
    try:
        webhooks.webhook_redeliver(delivery=delivery)
    except DomainError as error:
        flash_error(request, error)
    else:
        messages.success(request, f"Event {delivery.event_id} is being sent again.")
    return redirect("organisation-webhook", slug=organisation.slug, pk=pk)
