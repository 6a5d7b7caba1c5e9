"""A document of our own, end to end: decimal sections, lettered sub-items and references like
"Section 7.2(c)" import, render and redline as written, including an inserted sub-item that
renumbers the ones after it (issue 15, "Done when")."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess

from django.urls import reverse

from agreements.models import Agreement
from agreements.negotiation.proposals import override_propose, override_respond
from agreements.negotiation.services import agreement_create, agreement_open_negotiation
from agreements.review.selectors import agreement_comparison
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.standards.services import (
    template_create,
    template_import,
    template_version_publish,
)
from agreements.text.document.plain import outline

SOURCE = """\
# MASTER RESEARCH SERVICES AGREEMENT

This Agreement is made between the District and the University.

## 1. Definitions {#definitions}

"Data" means the records listed in Attachment A.

## 7. Security {#security}

7.1 The University shall protect the Data.

7.2 The University shall:

(a) encrypt the Data at rest;

(b) encrypt the Data in transit;

(c) keep an access log; and

(d) report incidents under Section 9.

## 9. Incidents {#incidents}

Any breach of Section 7.2(c) or Section 7.2(d) is an incident.

## ATTACHMENT A: DATA {#attachment-a}

| Field | Source |
|---|---|
| Score | District |
"""

# The University's counsel inserts a sub-item before (c): (c) and (d) become (d) and (e).
PROPOSED = """\
7.1 The University shall protect the Data.

7.2 The University shall:

(a) encrypt the Data at rest;

(b) encrypt the Data in transit;

(c) use multi-factor authentication;

(d) keep an access log; and

(e) report incidents under Section 9.
"""


def _fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def _agreement(demo) -> Agreement:
    template = template_create(
        collaboratory=demo["collaboratory"], name="Master research services", slug="msa"
    )
    version, report = template_import(template=template, filename="msa.md", data=SOURCE.encode())
    assert version is not None, report.errors
    published = template_version_publish(version=version, by=demo["users"]["facilitator"])
    trio = demo["trios"]["adaptive-practice"]
    agreement = agreement_create(
        trio=trio,
        template_version=published,
        by=demo["users"]["director"],
        title="Security study",
        purpose="Study security.",
        sharing_mode="analysis",
        start_date=dt.date(2027, 1, 1),
        term_months=12,
        breach_notice_hours=48,
        retention_days=60,
    )
    agreement_open_negotiation(agreement=_fresh(agreement), by=demo["users"]["director"])
    return _fresh(agreement)


def _insert_sub_item(demo, agreement: Agreement) -> Agreement:
    users = demo["users"]
    override = override_propose(
        agreement=agreement,
        by=users["counsel"],
        kind="replace",
        clause_key="security",
        body=PROPOSED,
        rationale="Multi-factor authentication is the state's baseline.",
    )
    override_respond(override=override, by=users["vendor"], decision="accept")
    override_respond(override=override, by=users["director"], decision="accept")
    return _fresh(agreement)


def test_decimal_sections_sub_items_and_references_import_as_written(demo):
    agreement = _agreement(demo)
    text = consolidated_text(agreement)
    parts = {p["key"]: p for p in outline(text.document)}
    assert [p["label"] for p in parts.values()][:5] == ["", "1.", "7.", "9.", "ATTACHMENT A:"]
    assert [i["label"] for i in parts["security"]["items"]] == ["7.1", "7.2"]
    assert [i["label"] for i in parts["security"]["items"][1]["items"]] == [
        "(a)",
        "(b)",
        "(c)",
        "(d)",
    ]
    assert text.clause("incidents").body == (
        "Any breach of Section 7.2(c) or Section 7.2(d) is an incident."
    )
    assert "(d) report incidents under Section 9." in text.clause("security").body


def test_an_inserted_sub_item_renumbers_the_rest_and_the_redline_shows_only_the_insertion(
    client, demo
):
    agreement = _insert_sub_item(demo, _agreement(demo))
    text = consolidated_text(agreement)
    # The references follow the items they cite: (c) is now (d), (d) is now (e).
    assert text.clause("incidents").body == (
        "Any breach of Section 7.2(d) or Section 7.2(e) is an incident."
    )
    comparison = agreement_comparison(agreement)
    rows = {row.key: row for row in comparison.rows}
    # The clause whose references were renumbered says the same: it is not a deviation.
    assert rows["incidents"].state == "unchanged"
    security = rows["security"]
    assert security.state == "modified" and security.structured
    assert security.structure is not None and security.structure.changes == 1
    html = str(security.inline)
    inserted = re.findall(r'<li[^>]*class="[^"]*inserted[^"]*"[^>]*>(.*?)</li>', html, re.S)
    assert len(inserted) == 1 and "multi-factor authentication" in inserted[0]
    assert "(c)" in inserted[0]
    assert html.count("<ins") == 1 and "<del" not in html  # relabelled items are not changes

    client.force_login(demo["users"]["director"])
    page = client.get(reverse("agreement-compare", args=[agreement.pk])).content.decode()
    assert "multi-factor authentication" in page
    assert 'class="inserted' in page or "inserted" in page

    pdf = client.get(reverse("agreement-redline-pdf", args=[agreement.pk]))
    assert pdf.status_code == 200
    words = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    assert "multi-factor authentication" in words
    assert "7.2(d) or Section 7.2(e)" in words
    for markup in ("**", "{.ul}", "^th^", "+---", "|---", "\\."):
        assert markup not in words
    assert io.BytesIO(pdf.content).read(4) == b"%PDF"


def test_propose_a_change_starts_from_the_clause_as_written_so_its_lists_survive(client, demo):
    agreement = _agreement(demo)
    client.force_login(demo["users"]["counsel"])
    page = client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    start = page.index('id="body-security"')
    textarea = page[page.index(">", start) + 1 : page.index("</textarea>", start)]
    assert "7.2 The University shall:" in textarea
    assert "(c) keep an access log; and" in textarea
    # Proposing it back unchanged is refused as no change at all: it reads the same.
    from html import unescape

    from agreements.models import ClauseOverride
    from collaboratory.errors import DomainError

    try:
        override_propose(
            agreement=agreement,
            by=demo["users"]["counsel"],
            kind="replace",
            clause_key="security",
            body=unescape(textarea),
            rationale="Same.",
        )
    except DomainError as error:
        assert "same as the current text" in " ".join(error.messages)
    else:
        raise AssertionError(ClauseOverride.objects.filter(agreement=agreement).count())
