"""Turn PostgreSQL's refusal to change a signed text into a page that says so.

The services refuse such changes with a ``DomainError`` before they reach the database, so
this only answers for paths without a service in front: the Django admin (editing the
wording of a research question a signed agreement quotes, a party organisation's name, an
approval of a locked agreement). The triggers of ``agreements/migrations/0004_…`` raise
``check_violation`` with the text below; the request's transaction is already rolled back.
"""

from __future__ import annotations

from django.db import IntegrityError
from django.shortcuts import render

#: The words every refusal of agreements_refuse_locked() carries.
REFUSAL_MARK = "its text is signed or being signed and cannot change"


def is_signed_text_refusal(exc: BaseException) -> bool:
    return isinstance(exc, IntegrityError) and REFUSAL_MARK in str(exc)


class SignedTextRefusedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_signed_text_refusal(exception):
            return None
        return render(
            request,
            "409_signed_text.html",
            {"back": request.get_full_path()},
            status=409,
        )
