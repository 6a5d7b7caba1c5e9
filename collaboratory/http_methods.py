"""405 Method Not Allowed, with an ``Allow`` header, for a method a page does not take.

The one rule for the web pages (RFC 9110 §15.5.6): a request whose method the view does not
handle answers 405 and names the methods it does in ``Allow``; never a 400 or 403, and never
the page itself (a function view would otherwise answer ``TRACE`` or ``PUT`` as if it were a
``GET``). :class:`MethodNotAllowedMiddleware` applies it before CSRF checks, sign-in and the
view, for every method except GET, HEAD and POST.

What a page takes:

- a class-based view: the methods it has a handler for;
- a function view restricted by Django's ``require_http_methods`` (``require_GET``,
  ``require_POST``, ``require_safe``): that list;
- any other function view: GET, HEAD, POST and OPTIONS;

and never more than GET, HEAD, POST and OPTIONS: PUT, PATCH and DELETE are the API's.
OPTIONS, where taken, answers 200 with ``Allow`` and no body, as Django's class-based views do.

GET, HEAD and POST pass through: a view that does not take one of them refuses it itself
(Django's decorators and class-based views answer 405) after its sign-in check, so a stranger
is sent to the login page first, as ``tests/security/test_url_matrix.py`` pins. The partner
API (Django REST framework views) passes through too: DRF authenticates first (401), then
answers 405 with ``Allow`` (``partners.apis.PartnerApiView`` checks the method before it reads
the query string).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils.log import log_response
from rest_framework.views import APIView

#: The most a web page takes.
PAGE_METHODS = ("GET", "HEAD", "POST", "OPTIONS")
#: Left to the view (see the module docstring).
VIEW_DECIDES = frozenset({"GET", "HEAD", "POST"})


def _declared_by_decorator(view: Callable[..., Any]) -> list[str] | None:
    """The list given to ``require_http_methods`` anywhere in ``view``'s wrappers, if any.

    Django's decorator keeps the list only in its closure (``request_method_list``); every
    decorator on the way down uses ``functools.wraps``, so ``__wrapped__`` leads to it.
    """
    seen: set[int] = set()
    current: Any = view
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:
            cell = current.__closure__[code.co_freevars.index("request_method_list")]
            return [str(method).upper() for method in cell.cell_contents]
        current = getattr(current, "__wrapped__", None)
    return None


def allowed_methods(view: Callable[..., Any]) -> list[str]:
    """The methods the page ``view`` takes, in the order of :data:`PAGE_METHODS`."""
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        instance = view_class(**getattr(view, "view_initkwargs", {}))
        taken = set(instance._allowed_methods())
        if "GET" in taken:
            taken.add("HEAD")  # View.setup() answers HEAD with get()
    else:
        declared = _declared_by_decorator(view)
        taken = set(PAGE_METHODS if declared is None else declared)
    return [method for method in PAGE_METHODS if method in taken]


class MethodNotAllowedMiddleware:
    """Answers a method the page does not take with 405 and ``Allow`` (module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if request.method in VIEW_DECIDES:
            return None
        view_class = getattr(view_func, "view_class", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            return None
        allowed = allowed_methods(view_func)
        if request.method == "OPTIONS" and "OPTIONS" in allowed:
            response = HttpResponse()
            response["Allow"] = ", ".join(allowed)
            response["Content-Length"] = "0"
            return response
        response = HttpResponseNotAllowed(allowed)
        log_response(
            "Method Not Allowed (%s): %s",
            request.method,
            request.path,
            response=response,
            request=request,
        )
        return response
