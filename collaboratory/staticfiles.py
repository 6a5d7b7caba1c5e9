"""The production static-files storage: WhiteNoise's compressed manifest storage, except that
a name missing from the manifest gets its plain URL instead of an exception.

With Django's manifest storage, ``{% static 'css/app.css' %}`` raises ``ValueError`` when
``collectstatic`` has not run (or ran before the file existed). Every page links the
stylesheet, the error pages (400, 403, 404, 500, 503) included, so one missed deployment step
turned each page into a 500, and the 500 page itself crashed while rendering. Here the page
renders with ``/static/css/app.css`` (served when the file is there, a 404 for the browser
otherwise) and the missing manifest entry is logged as an error, once per name, so the
deployment gets fixed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.staticfiles.storage import StaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger(__name__)


class ManifestStaticStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed static files; the plain URL for a name not in the manifest."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reported: set[str] = set()

    def url(self, name: str | None, force: bool = False) -> str:
        try:
            return super().url(name, force)
        except ValueError:
            if name not in self._reported:
                self._reported.add(str(name))
                logger.error(
                    "Static file %r is not in the manifest (has collectstatic run?); "
                    "linking it by its plain name.",
                    name,
                )
            return StaticFilesStorage.url(self, name)
