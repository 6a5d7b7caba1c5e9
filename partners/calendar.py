"""A user's calendar feed address: the secret that lets a calendar program fetch their
agreement dates (the feed itself is ``agreements.calendar``).

The feed lives at a secret address (``/calendar/<token>.ics``): calendar programs cannot log
in, so the token is the credential. Only its SHA-256 digest is stored (random 256-bit secrets
need no slow hash); it is shown once when made, and a new one or a revocation stops the old
address at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from partners.models import CalendarFeed
from partners.selectors import User

TOKEN_PREFIX = "cal_"  # noqa: S105 - a public marker, not a secret
DISPLAY_PREFIX_LENGTH = 10
#: How stale ``last_used_at`` may get before a fetch writes it again.
LAST_USED_RESOLUTION = dt.timedelta(hours=1)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- Services -------------------------------------------------------------------------------


@transaction.atomic
def calendar_feed_issue(*, user: User) -> tuple[CalendarFeed, str]:
    """Make (or remake) ``user``'s feed; returns the row and the token, which is never stored
    and cannot be shown again. Any earlier address stops working."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.select_for_update().filter(user=user).first() or CalendarFeed(
        user=user
    )
    feed.digest = token_digest(token)
    feed.prefix = token[:DISPLAY_PREFIX_LENGTH]
    feed.last_used_at = None
    feed.created_at = timezone.now()
    feed.full_clean(exclude=["user"])
    feed.save()
    return feed, token


@transaction.atomic
def calendar_feed_revoke(*, user: User) -> bool:
    """Stop ``user``'s feed address; True when there was one."""
    deleted, _ = CalendarFeed.objects.filter(user=user).delete()
    return bool(deleted)


def calendar_feed_for_token(token: str) -> CalendarFeed | None:
    """The live feed of an active user whose token this is, or None (the view answers 404)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(digest=token_digest(token), user__is_active=True)
        .first()
    )
    if feed is not None:
        now = timezone.now()
        if feed.last_used_at is None or now - feed.last_used_at > LAST_USED_RESOLUTION:
            CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    return feed
