"""Coverage-guided fuzzing (atheris / libFuzzer) of the pure text functions: placeholder
filling, the redline and the consent CSV parser. The same properties as
tests/security/test_fuzz.py: only the domain's own refusals, the redline gives back both
texts, HTML carries no markup from the input, deterministic results.

    .venv/bin/python scripts/fuzz/fuzz_text.py -runs=20000 -seed=1     # bounded
    .venv/bin/python scripts/fuzz/fuzz_text.py corpus/                 # until stopped

A crash prints the input and writes it as crash-<sha1> in the working directory.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(USE_TZ=True)  # these functions need no database or project settings

# Third-party modules first, uninstrumented: instrumenting Django would take half a minute.
import diff_match_patch  # noqa: E402, F401
import django.db.models  # noqa: E402, F401
import django.utils.html  # noqa: E402, F401
from django.core.exceptions import ValidationError  # noqa: E402

with atheris.instrument_imports():
    from agreements.text import placeholders, redline, redline_html
    from consent import csv_import

FORM = csv_import.FormRef(id=1, language="en", version=1, effective_date=dt.date(2025, 1, 1))
NAMES = sorted(placeholders.PLACEHOLDERS)
ALLOWED_TAGS = ("<p>", "</p>", "<br>", "<del ", "</del>", "<ins ", "</ins>", "<span ", "</span>")


def _fill(data: atheris.FuzzedDataProvider) -> None:
    body = data.ConsumeUnicodeNoSurrogates(200)
    values = {
        NAMES[data.ConsumeIntInRange(0, len(NAMES) - 1)]: data.ConsumeUnicodeNoSurrogates(40)
        for _ in range(data.ConsumeIntInRange(0, 4))
    }
    try:
        first = placeholders.fill(body, values)
    except ValidationError as error:
        assert error.messages and all(error.messages)
        return
    assert placeholders.fill(body, values) == first


def _redline(data: atheris.FuzzedDataProvider) -> None:
    old = data.ConsumeUnicodeNoSurrogates(200)
    new = data.ConsumeUnicodeNoSurrogates(200)
    ops = redline.diff_tokens(old, new)
    assert "".join(o.text for o in ops if o.kind in ("equal", "insert")) == new
    assert "".join(o.text for o in ops if o.kind in ("equal", "delete")) == old
    html = str(redline_html.redline_html(old, new))
    assert html == str(redline_html.redline_html(old, new))
    position = html.find("<")
    while position != -1:  # every "<" opens one of the renderer's own tags
        assert html.startswith(ALLOWED_TAGS, position), html[position : position + 30]
        position = html.find("<", position + 1)


def _csv(data: atheris.FuzzedDataProvider) -> None:
    content = data.ConsumeBytes(400)
    try:
        text = csv_import.decode(content, max_bytes=10_000)
        result = csv_import.check_file(
            text, max_rows=20, today=dt.date(2026, 10, 15), default_form=FORM, forms=[FORM]
        )
    except csv_import.FileRejected as error:
        assert str(error)
        return
    assert all(e.message for e in result.errors)


TARGETS = (_fill, _redline, _csv)


def test_one_input(raw: bytes) -> None:
    data = atheris.FuzzedDataProvider(raw)
    TARGETS[data.ConsumeIntInRange(0, len(TARGETS) - 1)](data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
