"""A one-word edit is one change, whatever line endings the browser submits (issue 16, item 3).

Browsers submit a textarea with CRLF line endings. The text is normalised where it enters
(``agreements.text.entry``), so the comparison and the Word redline show only the word that
changed: no paragraph "deleted and re-inserted", no empty paragraph revisions.
"""

from __future__ import annotations

import io
import re
import zipfile
from html import unescape

import pytest
from django.urls import reverse
from lxml import etree

from agreements.models import Agreement, ClauseOverride, OverrideStatus
from agreements.review.selectors import agreement_comparison
from agreements.selectors import with_agreement_detail

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
CLAUSE = "termination"  # a lead-in and lettered items: read as Markdown, not plain text
OLD_WORD, NEW_WORD = "convenience", "any reason"


@pytest.fixture
def agreement(demo) -> Agreement:
    return demo["agreements"][NEGOTIATING]


def _fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def _textarea(page: str, clause_key: str) -> str:
    """What the "propose a change" textarea of ``clause_key`` holds, as a browser reads it."""
    match = re.search(rf'<textarea id="body-{clause_key}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, f"no propose form for {clause_key}"
    return unescape(match.group(1))


def _as_browser_submits(text: str) -> str:
    """A textarea's value as a browser submits it: every line break CRLF."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _one_word_edit(client, demo, agreement: Agreement) -> str:
    """The clause's Markdown from the page, with one word changed, as the browser sends it."""
    client.force_login(demo["users"]["counsel"])
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    source = _textarea(page, CLAUSE)
    assert "\n\n" in source and source.count(OLD_WORD) == 1
    return _as_browser_submits(source.replace(OLD_WORD, NEW_WORD))


def _accept_by_the_other_parties(client, demo, agreement: Agreement, override: ClauseOverride):
    for username in ("vendor", "director"):
        client.force_login(demo["users"][username])
        client.post(
            reverse("override-respond", args=[agreement.pk, override.pk]),
            {"decision": "accept", "comment": ""},
        )
    override.refresh_from_db()
    assert override.status == OverrideStatus.ACCEPTED


def _docx_revisions(content: bytes) -> tuple[list[str], list[str]]:
    """The text of every ``w:ins`` and ``w:del`` in the document body of a .docx."""
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        root = etree.fromstring(package.read("word/document.xml"))  # noqa: S320 - our own output
    inserted = ["".join(e.itertext()) for e in root.iter(f"{W}ins")]
    deleted = ["".join(e.itertext()) for e in root.iter(f"{W}del")]
    return inserted, deleted


def _assert_exactly_one_change(client, demo, agreement: Agreement) -> None:
    fresh = _fresh(agreement)
    changed = [row for row in agreement_comparison(fresh).rows if row.changed]
    assert [row.key for row in changed] == [CLAUSE]
    assert changed[0].stats["changes"] == 1
    assert not changed[0].heading_changed

    client.force_login(demo["users"]["counsel"])
    # The accepted text (the demo's other proposals are still pending: "including pending",
    # the default while negotiating, would show them too).
    accepted = {"changes": "accepted"}
    page = client.get(reverse("agreement-compare", args=[agreement.pk]), accepted)
    page = page.content.decode()
    states = re.findall(r'class="muted small">(\d+) changes?:', page)
    assert states == ["1"], states

    response = client.get(reverse("agreement-redline-docx", args=[agreement.pk]), accepted)
    assert response.status_code == 200
    inserted, deleted = _docx_revisions(response.content)
    assert len(inserted) == 1 and len(deleted) == 1, (inserted, deleted)
    assert NEW_WORD in inserted[0] and OLD_WORD in deleted[0]


def test_a_one_word_edit_sent_with_crlf_through_the_form_is_exactly_one_change(
    client, demo, agreement
):
    body = _one_word_edit(client, demo, agreement)
    assert "\r\n" in body
    response = client.post(
        reverse("override-propose", args=[agreement.pk]),
        {
            "kind": "replace",
            "clause_key": CLAUSE,
            "body": body,
            "rationale": "Any party may leave.  \r\nNo reason needed.\r\n",
        },
        follow=True,
    )
    assert "Your proposal is recorded" in response.content.decode()
    override = ClauseOverride.objects.get(
        agreement=agreement, clause_key=CLAUSE, status=OverrideStatus.PROPOSED
    )
    assert "\r" not in override.body and "\r" not in override.rationale
    assert override.body == body.replace("\r\n", "\n").strip()
    assert override.rationale == "Any party may leave.\nNo reason needed."  # shown as written

    _accept_by_the_other_parties(client, demo, agreement, override)
    _assert_exactly_one_change(client, demo, agreement)


def test_the_clause_sent_back_with_crlf_and_trailing_spaces_is_no_change(client, demo, agreement):
    client.force_login(demo["users"]["counsel"])
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    noisy = "  \r\n".join(_textarea(page, CLAUSE).split("\n"))
    response = client.post(
        reverse("override-propose", args=[agreement.pk]),
        {"kind": "replace", "clause_key": CLAUSE, "body": noisy, "rationale": "None."},
        follow=True,
    )
    assert "same as the current text" in response.content.decode()
    assert not ClauseOverride.objects.filter(agreement=agreement, clause_key=CLAUSE).exists()
