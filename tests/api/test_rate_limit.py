"""The API rate limit is a sliding window per token (issue 18: it was a fixed one-minute
window, so a burst on each side of a minute boundary got twice the limit through).

The clock of ``partners.api_auth`` is replaced by one the test moves; Redis is real.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from partners import api_auth

LIMIT, PERIOD = 3, 60
PATH = "/api/v1/organisations/me"


@pytest.fixture
def clock(monkeypatch):
    """The rate limiter's clock, in seconds; starts 0.5 s before a minute boundary."""
    now = SimpleNamespace(value=1_800_000_000 - 0.5)
    monkeypatch.setattr(api_auth, "time", SimpleNamespace(time=lambda: now.value))
    return now


@pytest.fixture
def client(api_world, issue_token, api, settings):
    settings.API_RATE_LIMIT = f"{LIMIT}/minute"
    return api(issue_token(api_world["riverbend"]))


def test_a_burst_on_each_side_of_a_minute_boundary_gets_the_limit_not_twice(client, clock):
    statuses = []
    for at in (-0.5, -0.4, -0.3, 0.1, 0.2, 0.3):  # seconds around 1_800_000_000 (a minute)
        clock.value = 1_800_000_000 + at
        statuses.append(client.get(PATH).status_code)
    assert statuses == [200, 200, 200, 429, 429, 429]


def test_retry_after_is_the_time_until_a_request_is_allowed(client, clock):
    start = clock.value
    for offset in (0, 10, 20):
        clock.value = start + offset
        assert client.get(PATH).status_code == 200
    clock.value = start + 25.3
    response = client.get(PATH)
    assert response.status_code == 429
    # The first request leaves the window at start + 60: 34.7 s from now, rounded up.
    assert response["Retry-After"] == "35"
    assert response.json()["error"]["details"] == {"retry_after": 35}
    clock.value = start + 59.9
    assert client.get(PATH).status_code == 429
    clock.value = start + 60.01
    assert client.get(PATH).status_code == 200
    # Now the second request (start + 10) is the oldest in the window.
    clock.value = start + 61
    response = client.get(PATH)
    assert (response.status_code, response["Retry-After"]) == (429, "9")


def test_no_sixty_second_window_ever_holds_more_than_the_limit(client, clock):
    start = clock.value
    allowed = []
    for step in range(60):  # a request every 3.7 s for 222 s, across three minute boundaries
        clock.value = start + step * 3.7
        response = client.get(PATH)
        if response.status_code == 200:
            allowed.append(clock.value)
            assert int(response["RateLimit-Remaining"]) == LIMIT - sum(
                1 for t in allowed if clock.value - t < PERIOD
            )
        else:
            assert response.status_code == 429
            wait = int(response["Retry-After"])
            oldest = min(t for t in allowed if clock.value - t < PERIOD)
            # Whole milliseconds, as the limiter counts them.
            assert wait == math.ceil(round((oldest + PERIOD - clock.value) * 1000) / 1000)
    for t in allowed:
        assert sum(1 for u in allowed if t <= u < t + PERIOD) <= LIMIT
    # And the limit is used, not just respected: 3 per minute over 222 s.
    assert len(allowed) >= 3 * 3


def test_requests_go_through_while_the_counter_is_unreachable(client, settings):
    settings.CACHES = {
        **settings.CACHES,
        "api": {**settings.CACHES["api"], "LOCATION": "redis://127.0.0.1:9/0"},
    }
    for _ in range(LIMIT + 1):
        response = client.get(PATH)
        assert response.status_code == 200
        assert "RateLimit-Remaining" not in response
