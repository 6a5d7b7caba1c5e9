"""Sessions read from Redis and written through to PostgreSQL.

Every signed-in request reads its session; Django's ``cached_db`` store answers that from the
cache (one Redis GET) instead of a query, and keeps PostgreSQL the record: every write and
delete goes to both, a cache miss reads the database and fills the cache, and an entry lives in
the cache no longer than the session itself (its expiry age).

The one difference from ``cached_db``: when Redis is unreachable a session still loads (from
PostgreSQL, with the failure logged) instead of failing the page, as writes already do. A
delete (logging out) still fails loudly: a session must not outlive its logout in the cache.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.core.cache.backends.base import BaseCache

logger = logging.getLogger(__name__)


class SessionStore(CachedDBStore):
    _cache: BaseCache  # set by cached_db's __init__ (not in django-stubs)

    def load(self) -> dict[str, Any]:
        try:
            data = self._cache.get(self.cache_key)
        except Exception:  # noqa: BLE001 - a cache that is down must not take the page with it
            logger.warning("session cache unavailable (get)", exc_info=True)
            data = None
        if data is not None:
            return data
        session = self._get_session_from_db()  # type: ignore[attr-defined]  # not in the stubs
        if not session:
            return {}
        data = self.decode(session.session_data)
        try:
            self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=session.expire_date))
        except Exception:  # noqa: BLE001 - as above: the database still has the session
            logger.warning("session cache unavailable (set)", exc_info=True)
        return data
