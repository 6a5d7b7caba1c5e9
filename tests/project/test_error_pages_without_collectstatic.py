"""The error pages render when ``collectstatic`` has not run (issue 18's probe: the 500
handler itself crashed, because the manifest static storage refused every asset name).

Production settings (DEBUG off, the manifest storage of ``collaboratory/settings.py``) with an
empty STATIC_ROOT: 400, 403, 404, 500 and 503 each render their own page, and so does a plain
unknown address.
"""

import pytest
from django.test import Client

from collaboratory import settings as production


@pytest.fixture
def no_collectstatic(settings, tmp_path):
    backend = production.STORAGES["staticfiles"]["BACKEND"]
    assert "Manifest" in backend, backend  # what production serves static files with
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path  # empty: collectstatic never ran
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": backend}}
    settings.ROOT_URLCONF = "tests.project.error_urls"
    return Client(raise_request_exception=False)


@pytest.mark.parametrize(
    ("status", "heading"),
    [
        ("400", "Bad Request"),
        ("403", "You cannot do that here"),
        ("404", "We cannot find that page"),
        ("500", "Something went wrong on our side"),
        ("503", "Collaboratory is briefly unavailable"),
    ],
)
def test_each_error_page_renders_without_collectstatic(db, no_collectstatic, status, heading):
    response = no_collectstatic.get(f"/failing/{status}/")
    assert response.status_code == int(status)
    assert heading in response.content.decode()


def test_an_unknown_address_is_the_404_page_without_collectstatic(db, no_collectstatic):
    response = no_collectstatic.get("/no/such/page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "We cannot find that page" in page
    # The stylesheet is still linked (by its plain name: there is no manifest to hash it by).
    assert 'href="/static/css/app.css"' in page
