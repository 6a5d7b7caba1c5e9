"""Derived values cached by what they are derived from (issue 18's caching rule).

``derived(namespace, inputs, compute, code=...)`` returns ``compute()``, cached under a key
that is the SHA-256 of ``inputs`` (everything the value is derived from, as plain JSON-able
data: ids of immutable rows, the bodies and statuses of mutable ones) and of ``code`` (a
version of the code that derives it, e.g. :func:`source_version` of its modules). A changed
input or a changed deployment is a different key, so an entry is never stale and nothing needs
invalidating; unused entries simply expire.

Two layers:

- **this process**: a least-recently-used map of the values themselves (no unpickling: a
  consolidated text is a tree of thousands of frozen dataclasses, ~1 ms to unpickle), bounded
  by memory (``DERIVED_LOCAL_MB``, each value weighed by its pickled size), which serves an
  agreement viewed again by the same worker;
- **the "derived" cache alias** (Redis, shared by every worker and host): the pickled value,
  compressed (an agreement's text pickles to ~300 kB, ~55 kB compressed), so the first worker
  that derives a value saves the others the work. When Redis is down the value is computed
  (and the failure logged): a cache never makes a page fail.

Values must be immutable (frozen dataclasses, tuples, strings): every caller in this process
shares the same object.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import pickle
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import caches

logger = logging.getLogger(__name__)

ALIAS = "derived"
#: A value in memory takes about this many times its pickled size (measured on the demo's and
#: the corpus's texts and page HTML: 2.0-2.4x); the local map weighs values by it.
IN_MEMORY_FACTOR = 2.5


class MemoryMap:
    """A thread-safe least-recently-used map of keys to values, holding at most ``budget``
    bytes by the weights given with them (the oldest go first; a value heavier than the
    whole budget is not kept).

    A count of entries would not do: the load test's district reads ~330 agreements, each a
    text and a page (~650 kB together), and a map of 256 entries then missed two reads in
    three, each paying a Redis round trip and ~1 ms of unpickling."""

    #: What ``get`` answers for a key it does not hold.
    MISSING: Any = object()

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return self.MISSING
            self.entries.move_to_end(key)
            return entry[0]

    def put(self, key: str, value: Any, weight: int) -> None:
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.used -= old[1]
            if weight > self.budget:
                return
            self.entries[key] = (value, weight)
            self.used += weight
            while self.used > self.budget:
                _, (_, dropped) = self.entries.popitem(last=False)
                self.used -= dropped

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.used = 0


_local = MemoryMap(settings.DERIVED_LOCAL_MB * 1024 * 1024)


def _default(value: Any) -> Any:
    """Dates, decimals and the like as their type and text, so 180 and "180" differ."""
    return [type(value).__name__, str(value)]


def digest(inputs: Any) -> str:
    """The SHA-256 of ``inputs`` as canonical JSON (sorted keys)."""
    data = json.dumps(
        inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def source_version(*modules: str) -> str:
    """A version of the code in ``modules`` (dotted names of modules or packages): the hash
    of their Python sources, so a deployment that changes how a value is derived derives it
    anew instead of serving what the old code made."""
    files: list[Path] = []
    for name in modules:
        module = importlib.import_module(name)
        path = Path(module.__file__ or "")
        files += sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
    return files_version(files)


def files_version(files: Iterable[Path]) -> str:
    """A hash of ``files`` (each by its path under BASE_DIR and its bytes)."""
    hasher = hashlib.sha256()
    for file in files:
        hasher.update(str(file.relative_to(settings.BASE_DIR)).encode())
        hasher.update(file.read_bytes())
    return hasher.hexdigest()[:16]


def derived_key(namespace: str, inputs: Any, *, code: str) -> str:
    """The key ``derived`` keeps a value under, in this process and in the shared cache."""
    return f"{namespace}:{code}:{digest(inputs)}"


def derived[T](namespace: str, inputs: Any, compute: Callable[[], T], *, code: str) -> T:
    """``compute()``, or the value it returned before for the same ``inputs`` and ``code``
    (module docstring). ``inputs`` must name everything ``compute`` reads."""
    key = derived_key(namespace, inputs, code=code)
    value = _local.get(key)
    if value is not MemoryMap.MISSING:
        return value
    shared = caches[ALIAS]
    try:
        stored = shared.get(key)
    except Exception:  # noqa: BLE001 - a cache that is down must not take the page with it
        logger.warning("derived cache unavailable (get %s)", namespace, exc_info=True)
        stored = None
    if stored is not None:
        pickled = zlib.decompress(stored)
        value = pickle.loads(pickled)  # noqa: S301 - our own cache's bytes
    else:
        value = compute()
        pickled = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        try:
            shared.set(key, zlib.compress(pickled, 1))
        except Exception:  # noqa: BLE001
            logger.warning("derived cache unavailable (set %s)", namespace, exc_info=True)
    _local.put(key, value, int(len(pickled) * IN_MEMORY_FACTOR))
    return value


def clear_local() -> None:
    """Forget this process's copies (tests that count computations start from nothing)."""
    _local.clear()
