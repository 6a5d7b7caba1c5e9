"""Account pages: the login page (behind login throttling), two-factor authentication (prove
the e-mail address, set up, verify once per session, remove) and the page shown when logging
in must wait after too many wrong passwords.

The rule of who must use a second factor and when lives in partners/two_factor.py; the
login delays in partners/login_throttle.py."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from collaboratory.errors import DomainError
from collaboratory.web import add_to_form, flash_error
from partners import login_throttle, two_factor
from partners.forms_account import CodeForm, EmailCodeForm, VerifyForm
from partners.http import AuthenticatedHttpRequest


def _with_next(name: str, next_url: str) -> str:
    url = reverse(name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


@never_cache
@login_required
def two_factor_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Status and removal when an app is set up; otherwise the set-up: a QR code of the
    otpauth:// URI and the secret as text, confirmed with a code from the app."""
    # Queries: session, user, device (+ the verified device when the session has one).
    device = two_factor.confirmed_device(request.user)
    next_url = two_factor.safe_next_url(request)
    if device is not None:
        return render(request, "account/two_factor.html", _status_context(request, device))
    if not two_factor.enrolment_allowed(request):
        # First the e-mail step; a set-up posted without it is refused and writes nothing.
        if request.method == "POST":
            messages.error(
                request,
                "First confirm it is you with a code we e-mail you (or the link in your "
                "invitation); then set up your authenticator app.",
            )
        return _email_step(request, status=403 if request.method == "POST" else 200)
    key = two_factor.setup_key(request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor.two_factor_device_confirm(
                user=request.user, key=key, code=form.cleaned_data["code"]
            )
        except DomainError as error:
            add_to_form(form, error)
        else:
            request.session.pop(two_factor.SETUP_KEY_SESSION_KEY, None)
            two_factor.session_verify(request, device)
            codes = two_factor.backup_codes_issue(user=request.user)
            request.session[two_factor.NEW_BACKUP_CODES_SESSION_KEY] = codes
            messages.success(
                request,
                "Two-factor authentication is on. We ask for a code once per session before "
                "you sign or manage API access. Save your backup codes now.",
            )
            # The backup codes first (shown once), then on to where the person was going.
            return redirect(_with_next("two-factor", next_url))
    return render(
        request,
        "account/two_factor.html",
        {
            "device": None,
            "setup": two_factor.provisioning(request.user, key),
            "required": two_factor.two_factor_required_for(request.user),
            "form": form,
            "next": next_url,
        },
        status=400 if form.errors else 200,
    )


def _email_step(request: AuthenticatedHttpRequest, *, form=None, status: int = 200) -> HttpResponse:
    """The set-up page before the e-mail address is proven: send a code, then type it."""
    pending = two_factor.enrolment_code_pending(request.user)
    return render(
        request,
        "account/two_factor.html",
        {
            "device": None,
            "email_step": True,
            "email": two_factor.masked_email(request.user.email) if request.user.email else "",
            "code_sent": pending,
            "code_form": form or EmailCodeForm(),
            "required": two_factor.two_factor_required_for(request.user),
            "next": two_factor.safe_next_url(request),
        },
        status=status,
    )


@login_required
@require_POST
def two_factor_email_code(request: AuthenticatedHttpRequest) -> HttpResponse:
    """E-mail a one-time code that proves the address, before a first set-up."""
    next_url = two_factor.safe_next_url(request)
    if two_factor.confirmed_device(request.user) is None:
        try:
            two_factor.enrolment_code_send(user=request.user)
        except DomainError as error:
            flash_error(request, error)
        else:
            messages.success(
                request,
                f"We e-mailed a 6-digit code to {two_factor.masked_email(request.user.email)}. "
                "Enter it below; it works once, for 10 minutes.",
            )
    return redirect(_with_next("two-factor", next_url))


@login_required
@require_POST
def two_factor_email_code_confirm(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Accept the e-mailed code: this session may now set up an authenticator app."""
    next_url = two_factor.safe_next_url(request)
    if two_factor.confirmed_device(request.user) is not None:
        return redirect(_with_next("two-factor", next_url))
    form = EmailCodeForm(request.POST)
    if form.is_valid():
        try:
            two_factor.enrolment_code_check(request=request, code=form.cleaned_data["code"])
        except DomainError as error:
            add_to_form(form, error)
        else:
            messages.success(
                request, "Thank you: your e-mail address is confirmed. Now set up your app."
            )
            return redirect(_with_next("two-factor", next_url))
    return _email_step(request, form=form, status=400)


@never_cache
@login_required
def two_factor_verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Ask for the current code once per session; then back to ``next``."""
    next_url = two_factor.safe_next_url(request)
    if two_factor.is_verified(request):
        return redirect(next_url or "two-factor")
    if two_factor.confirmed_device(request.user) is None:
        return redirect(_with_next("two-factor", next_url))
    form = VerifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor.two_factor_check(user=request.user, code=form.cleaned_data["code"])
        except DomainError as error:
            add_to_form(form, error)
        else:
            two_factor.session_verify(request, device)
            messages.success(request, "Code accepted. You will not be asked again this session.")
            return redirect(next_url or "two-factor")
    return render(
        request,
        "account/two_factor_verify.html",
        {"form": form, "next": next_url},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def two_factor_remove(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Remove (or, followed by a new set-up, replace) the authenticator app: needs a current
    code from it (or a backup code, when the phone is lost)."""
    form = VerifyForm(request.POST)
    if form.is_valid():
        try:
            two_factor.two_factor_device_remove(user=request.user, code=form.cleaned_data["code"])
        except DomainError as error:
            add_to_form(form, error)
        else:
            # The code from the old app proves it is them: the new phone needs no e-mail.
            two_factor.enrolment_authorise(request, how="authenticator")
            messages.success(
                request,
                "Your authenticator app is removed. Set up a new one below"
                + (" before you next sign or manage API access." if _required(request) else "."),
            )
            return redirect("two-factor")
    device = two_factor.confirmed_device(request.user)
    if device is None:
        return redirect("two-factor")
    return render(
        request, "account/two_factor.html", _status_context(request, device, form=form), status=400
    )


@login_required
@require_POST
def two_factor_backup_codes(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Ten new backup codes in place of the old ones; only in a verified session (whoever
    holds only the password must not be able to mint codes)."""
    if two_factor.confirmed_device(request.user) is None:
        return redirect("two-factor")
    if not two_factor.is_verified(request):
        return two_factor.challenge(
            request,
            why="Making new backup codes needs your authenticator app.",
            next_url=reverse("two-factor"),
        )
    codes = two_factor.backup_codes_issue(user=request.user)
    request.session[two_factor.NEW_BACKUP_CODES_SESSION_KEY] = codes
    messages.success(request, "New backup codes made; the old ones no longer work.")
    return redirect("two-factor")


def _status_context(request: HttpRequest, device, *, form: VerifyForm | None = None) -> dict:
    """The settings page of someone with an app; new backup codes are shown this once."""
    return {
        "device": device,
        "verified": two_factor.is_verified(request),
        "required": _required(request),
        "form": form or VerifyForm(),
        "next": two_factor.safe_next_url(request),
        "new_backup_codes": request.session.pop(two_factor.NEW_BACKUP_CODES_SESSION_KEY, None),
        "backup_codes_left": two_factor.backup_codes_left(request.user),
    }


def _required(request: HttpRequest) -> bool:
    return two_factor.two_factor_required_for(request.user)


class LoginView(auth_views.LoginView):
    """Django's login page behind the login throttle: an attempt refused during a delay
    gets a page saying when to try again (429, Retry-After); a successful login marks the
    browser as known for that username, so wrong passwords sent by others never hold it
    back (partners/login_throttle.py)."""

    redirect_authenticated_user = True

    def form_invalid(self, form) -> HttpResponse:
        refusal = getattr(self.request, login_throttle.REFUSAL_ATTRIBUTE, None)
        if isinstance(refusal, login_throttle.Refusal):
            return login_delayed(self.request, refusal)
        return super().form_invalid(form)

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        login_throttle.remember_device(response, form.get_user().get_username())
        return response


def login_delayed(request: HttpRequest, refusal: login_throttle.Refusal) -> HttpResponse:
    """Logging in as this username from here must wait: say until when, in our layout."""
    response = render(
        request,
        "registration/locked_out.html",
        {
            "username": refusal.username,
            "until": refusal.until,
            "wait": refusal.wait,
            "failure_limit": settings.LOGIN_FAILURE_LIMIT,
            "max_minutes": int(settings.LOGIN_DELAY_MAX.total_seconds() // 60),
        },
        status=429,
    )
    response["Retry-After"] = str(refusal.seconds)
    return response
