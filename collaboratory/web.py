"""The one place a DomainError becomes a form error or a flash message."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest

from collaboratory.errors import DomainError
from collaboratory.proxies import client_address


def error_messages(error: DomainError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [m for messages_ in error.message_dict.values() for m in messages_]
    return list(error.messages)


def flash_error(request: HttpRequest, error: DomainError) -> None:
    for message in error_messages(error):
        messages.error(request, message)


def add_to_form(form: forms.Form, error: DomainError) -> None:
    if hasattr(error, "error_dict"):
        for field, field_messages in error.message_dict.items():
            target = field if field in form.fields else None
            for message in field_messages:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the socket's, or behind TRUSTED_PROXIES the right-most
    untrusted address of X-Forwarded-For (collaboratory/proxies.py). Signatures record it
    and login throttling counts by it."""
    return client_address(
        request.META.get("REMOTE_ADDR"),
        request.META.get("HTTP_X_FORWARDED_FOR"),
        settings.TRUSTED_PROXIES,
    )


def user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:500]
