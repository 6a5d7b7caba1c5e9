"""A method a URL does not take answers 405 with ``Allow`` (issue 18), pages and API alike.

Every URL of the permission matrix is asked with TRACE (and pages with PUT and DELETE too,
through a client that enforces CSRF as a browser session would meet it), by a signed-in
person or an organisation's token: never 400, 403 or the page, always 405 naming what the
URL takes. Methods a URL does take keep their answers (the matrix itself checks those).
"""

from __future__ import annotations

import http.client
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.urls import reverse

from tests.security import test_url_matrix as matrix
from tests.security.test_url_matrix import MATRIX, OWN, Case, _client, _url

#: The matrix's world (its demo objects, sessions and tokens), built once for this module.
world = matrix.world

PAGE_METHODS = {"GET", "HEAD", "POST", "OPTIONS"}
API_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def _case(key: str, role: str) -> Case:
    entry = MATRIX[key]
    sides = {side for by_side in entry.methods.values() for side in by_side}
    return Case(key, "TRACE", OWN if sides - {"-"} else "-", role)


def _allow(response) -> set[str]:
    return {m.strip() for m in response.get("Allow", "").split(",") if m.strip()}


@pytest.mark.parametrize("key", list(MATRIX))
def test_an_unsupported_method_answers_405_with_allow(world, db, key):
    entry = MATRIX[key]
    role = "facilitator" if key.startswith("admin") else "director"
    client = _client(world, entry, role)
    url = _url(world, _case(key, role), entry)
    methods = ["TRACE", "PROPFIND"]
    if not entry.api:
        client.handler.enforce_csrf_checks = True
        methods += [m for m in ("PUT", "PATCH", "DELETE") if m not in entry.methods]
    for method in methods:
        response = client.generic(method, url)
        allow = _allow(response)
        assert (response.status_code, method not in allow) == (405, True), (
            f"{method} {key}: {response.status_code}, Allow: {response.get('Allow')}"
        )
        assert allow and allow <= (API_METHODS if entry.api else PAGE_METHODS), (key, allow)


@pytest.mark.parametrize(
    ("name", "allow"),
    [
        ("dashboard", "GET, HEAD, POST, OPTIONS"),  # a function view
        ("login", "GET, HEAD, POST, OPTIONS"),  # LoginView (which also has put())
        ("logout", "POST, OPTIONS"),  # LogoutView
        ("healthz", "GET"),  # require_GET
    ],
)
def test_allow_names_what_the_page_takes(client, demo, name, allow):
    client.force_login(demo["users"]["director"])
    response = client.generic("TRACE", reverse(name))
    assert (response.status_code, response["Allow"]) == (405, allow)


def test_options_on_a_page_lists_its_methods(client, demo):
    client.force_login(demo["users"]["director"])
    response = client.options(reverse("dashboard"))
    assert (response.status_code, response["Allow"], response.content) == (
        200,
        "GET, HEAD, POST, OPTIONS",
        b"",
    )


def test_the_api_checks_the_method_before_the_query_string(world, db):
    """The probe's 400: the query was parsed (and refused) before DRF's method check."""
    entry = MATRIX["api-consent-summary"]
    client = _client(world, entry, "director")
    url = _url(world, _case("api-consent-summary", "director"), entry)
    for method in ("TRACE", "PUT", "DELETE", "POST"):
        response = client.generic(method, url)
        assert (response.status_code, response["Allow"]) == (405, "GET, HEAD, OPTIONS"), method
        assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.fixture(scope="module")
def real_server():
    """The project's WSGI application behind a real HTTP server on loopback (no live_server:
    that flushes the database, and none of these requests reads it)."""
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path", ["/login/", "/", "/healthz"])
@pytest.mark.parametrize("method", ["TRACE", "PUT", "DELETE"])
def test_a_real_server_answers_405_too(real_server, method, path):
    """Over a socket (a WSGI server, every middleware, CSRF included)."""
    connection = http.client.HTTPConnection("127.0.0.1", real_server, timeout=10)
    try:
        connection.request(method, path, headers={"Host": "localhost"})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status == 405
    assert method not in response.getheader("Allow", method)
