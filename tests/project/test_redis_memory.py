"""Redis is the Celery broker and holds caches. docker-compose gives it a memory limit with
``volatile-lru``: at the limit it evicts only keys that expire. That is safe only if every
cache key expires and no broker key does, which these tests check on the real Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.cache import caches

from collaboratory.derived import derived

ROOT = Path(__file__).resolve().parents[2]


def test_compose_limits_redis_and_evicts_only_expiring_keys():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = [str(part) for part in compose["services"]["redis"]["command"]]
    assert command[command.index("--maxmemory-policy") + 1] == "volatile-lru"
    assert command[command.index("--maxmemory") + 1].startswith("${REDIS_MAXMEMORY:-")


@pytest.mark.django_db
def test_every_cache_key_expires(client, demo):
    client.force_login(demo["users"]["director"])  # a session in the sessions cache
    derived("redis-memory-test", {"n": 1}, lambda: "value", code="test")
    redis = caches["derived"]._cache.get_client()  # the redis-py client Django's backend holds
    for alias in ("derived", "sessions"):
        prefix = settings.CACHES[alias]["KEY_PREFIX"]
        keys = list(redis.scan_iter(match=f"{prefix}:*"))
        assert keys, f"nothing written under {prefix}:"
        assert all(redis.ttl(key) > 0 for key in keys), f"a {alias} key that never expires"
