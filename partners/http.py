"""The request a signed-in page receives, for type annotations.

Behind ``login_required`` (or a check that answers first for anonymous visitors)
``request.user`` is a real user, but ``HttpRequest`` types it as "a user or anonymous".
Views annotate ``request: AuthenticatedHttpRequest`` instead (django-stubs' documented
pattern), so the user they pass to services needs no check of its own. Django still passes a
plain ``HttpRequest``: the class only narrows the annotation.
"""

from __future__ import annotations

from django.http import HttpRequest

from partners.selectors import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User
