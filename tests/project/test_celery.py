"""A real round trip: the task goes through the throwaway Redis to the real worker process."""

import pytest

from collaboratory.celery import app, ping


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_task_round_trips_through_redis_and_the_worker(celery_worker):
    result = ping.delay()
    assert result.get(timeout=30) == "pong"
    # It really ran in the worker process, not eagerly in this one.
    assert not app.conf.task_always_eager
    assert "collaboratory.ping" in celery_worker["log"].read_text()


def test_broker_is_redis():
    assert app.conf.broker_url.startswith("redis://")
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.broker_transport_options["visibility_timeout"] > app.conf.task_time_limit
