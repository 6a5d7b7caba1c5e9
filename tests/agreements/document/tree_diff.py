"""The first difference between two trees, as a readable message for a failing assertion."""

from __future__ import annotations

import difflib
import json

from agreements.text.document.canonical import to_json
from agreements.text.document.model import Document


def tree_diff(got: Document, expected: Document, context: int = 2) -> str:
    """A unified diff of the canonical JSON, one node per line ("" when equal)."""

    def lines(document: Document) -> list[str]:
        text = json.dumps(json.loads(to_json(document)), indent=1, ensure_ascii=False)
        return text.splitlines()

    diff = difflib.unified_diff(lines(expected), lines(got), "expected", "got", n=context)
    return "\n".join(list(diff)[:80])
