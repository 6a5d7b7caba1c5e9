from __future__ import annotations

import os
from pathlib import Path

import pytest

from agreements.text.document.markdown_import import import_markdown

MASTER = "sfusd-stanford-master-agreement.md"
DUA = "sfusd-stanford-data-use-agreement-template.md"


def _corpus(name: str) -> str:
    """A real agreement from shared/corpus beside the checkout (or $COLLABORATORY_CORPUS)."""
    candidates = [Path(__file__).resolve().parents[3].parent / "shared" / "corpus"]
    if os.environ.get("COLLABORATORY_CORPUS"):
        candidates.append(Path(os.environ["COLLABORATORY_CORPUS"]))
    for candidate in candidates:
        if (candidate / name).is_file():
            return (candidate / name).read_text(encoding="utf-8")
    pytest.skip("the corpus of real agreements is not present (set COLLABORATORY_CORPUS)")


@pytest.fixture(scope="session")
def master_source() -> str:
    return _corpus(MASTER)


@pytest.fixture(scope="session")
def dua_source() -> str:
    return _corpus(DUA)


@pytest.fixture(scope="session")
def master(master_source):
    report = import_markdown(master_source)
    assert report.ok, report.messages()
    return report


@pytest.fixture(scope="session")
def dua(dua_source):
    report = import_markdown(dua_source)
    assert report.ok, report.messages()
    return report
