"""A web worker tunes the garbage collector once the app is loaded (collaboratory.gc_tuning):
what startup loaded is frozen out of the collector's reach, and the young generation is
large enough for a request's temporaries to die before a collection looks at them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from collaboratory import gc_tuning

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import gc, json; import collaboratory.wsgi; "
    "print(json.dumps([gc.get_threshold(), gc.get_freeze_count()]))"
)


def _worker_gc(**env: str) -> tuple[list[int], int]:
    """The collector's state in a fresh process that loaded the WSGI app, as gunicorn's
    workers do."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "collaboratory.settings_test", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    threshold, frozen = json.loads(result.stdout.strip().splitlines()[-1])
    return threshold, frozen


def test_loading_the_wsgi_app_freezes_startup_and_sizes_the_young_generation():
    threshold, frozen = _worker_gc()
    assert threshold[0] == gc_tuning.YOUNG
    # Django, the apps and their modules: tens of thousands of objects never scanned again.
    assert frozen > 20_000


def test_the_environment_can_restore_the_default_young_generation():
    threshold, _ = _worker_gc(GC_YOUNG_THRESHOLD="700")
    assert threshold[0] == 700


def test_a_malformed_threshold_says_what_to_write(monkeypatch):
    import gc

    import pytest
    from django.core.exceptions import ImproperlyConfigured

    before = gc.get_threshold()
    for bad in ("abc", "0", "-5", "1e4"):
        monkeypatch.setenv("GC_YOUNG_THRESHOLD", bad)
        with pytest.raises(ImproperlyConfigured, match="GC_YOUNG_THRESHOLD must be a whole number"):
            gc_tuning.after_startup()
    assert gc.get_threshold() == before  # refused before anything changed
