"""Each process keeps derived values (collaboratory.derived) in a least-recently-used map
bounded by memory, not by a count of entries: a district reading a few hundred agreements
keeps all of their texts in each worker instead of unpickling two in three from Redis."""

from __future__ import annotations

import pickle

import pytest
from django.core.cache import caches

from collaboratory import derived as derived_module
from collaboratory.derived import IN_MEMORY_FACTOR, MemoryMap, derived, derived_key


def test_the_least_recently_used_go_first_when_the_budget_is_full():
    local = MemoryMap(100)
    local.put("a", "A", 40)
    local.put("b", "B", 40)
    assert local.get("a") == "A"  # "b" is now the least recently used
    local.put("c", "C", 40)
    assert local.get("b") is MemoryMap.MISSING
    assert (local.get("a"), local.get("c")) == ("A", "C")
    assert local.used == 80


def test_many_light_values_stay_where_a_count_would_have_dropped_them():
    local = MemoryMap(1_000_000)
    for n in range(2_000):
        local.put(str(n), n, 100)
    assert all(local.get(str(n)) == n for n in range(2_000))
    assert local.used == 200_000


def test_a_value_heavier_than_the_budget_is_not_kept_and_a_new_weight_replaces_the_old():
    local = MemoryMap(100)
    local.put("a", "A", 60)
    local.put("a", "A2", 30)
    assert (local.get("a"), local.used) == ("A2", 30)
    local.put("huge", "H", 101)
    assert local.get("huge") is MemoryMap.MISSING
    assert (local.get("a"), local.used) == ("A2", 30)
    local.put("a", "A3", 500)  # too heavy now: not kept, and its old weight is released
    assert (local.get("a"), local.used) == (MemoryMap.MISSING, 0)


@pytest.fixture
def fresh_local(monkeypatch):
    def install(budget: int) -> MemoryMap:
        local = MemoryMap(budget)
        monkeypatch.setattr(derived_module, "_local", local)
        return local

    return install


def _fails():
    raise AssertionError("derived again although a copy was kept")


def test_derived_weighs_a_value_by_its_pickled_size(fresh_local):
    local = fresh_local(10_000_000)
    value = tuple(f"clause {n}" for n in range(500))
    inputs = {"test": "weighs"}
    assert derived("test-local", inputs, lambda: value, code="1") is value
    key = derived_key("test-local", inputs, code="1")
    weight = int(len(pickle.dumps(value, pickle.HIGHEST_PROTOCOL)) * IN_MEMORY_FACTOR)
    assert local.used == weight
    caches[derived_module.ALIAS].delete(key)
    assert derived("test-local", inputs, _fails, code="1") is value  # this process's copy


def test_a_value_over_the_budget_comes_from_the_shared_cache_each_time(fresh_local):
    fresh_local(1_000)
    value = tuple(f"clause {n}" for n in range(500))
    inputs = {"test": "over budget"}
    assert derived("test-local", inputs, lambda: value, code="1") is value
    again = derived("test-local", inputs, _fails, code="1")
    assert again == value and again is not value  # unpickled from Redis, not kept here
