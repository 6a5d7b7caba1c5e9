"""Proposing without inventing keys, forms that keep what was typed, and who may settle a
conflict (issue 17 items 3 and 4)."""

import pytest
from django.urls import reverse

from agreements.models import Agreement, ClauseOverride, OverrideKind, OverrideStatus
from agreements.negotiation.proposals import (
    clause_key_for,
    conflict_resolve,
    override_propose,
)
from agreements.selectors import conflicts, consolidated_text, with_agreement_detail
from collaboratory.errors import DomainError

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
CONFLICT = "breach-notification"  # the university and the vendor both rewrite it in the demo


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


@pytest.fixture
def agreement(demo) -> Agreement:
    return fresh(demo["agreements"][NEGOTIATING])


@pytest.fixture
def users(demo):
    return demo["users"]


def detail(agreement: Agreement) -> str:
    return reverse("agreement-detail", args=[agreement.pk])


# --- The key of a new clause comes from its heading ------------------------------------------


@pytest.mark.parametrize(
    ("heading", "taken", "key"),
    [
        ("Data escrow", set(), "data-escrow"),
        ("Data escrow", {"data-escrow"}, "data-escrow-2"),
        ("Data escrow", {"data-escrow", "data-escrow-2"}, "data-escrow-3"),
        ("Données personnelles & accès", set(), "donnees-personnelles-acces"),
        ("  Insurance (revised) ", set(), "insurance-revised"),
        # No Latin letter or digit to make a key from: the clause is numbered instead.
        ("Защита данных", set(), "clause-15"),
        ("データ保護", {"clause-15"}, "clause-16"),
        ("", set(), "clause-15"),
        ("— ** —", set(), "clause-15"),
    ],
)
def test_a_new_clause_key_is_made_from_its_heading(heading, taken, key):
    assert clause_key_for(heading, taken, clause_count=14) == key


def test_a_long_heading_gives_a_key_that_fits():
    key = clause_key_for("Obligations " * 20, set())
    assert len(key) <= 60
    assert not key.endswith("-")


def insert(agreement, by, heading, body="The Developer shall deposit the code.", **extra):
    return override_propose(
        agreement=fresh(agreement),
        by=by,
        kind=OverrideKind.INSERT,
        clause_key="insurance",
        heading=heading,
        body=body,
        rationale="We need it.",
        **extra,
    )


def test_inserting_without_a_key_derives_one_unique_in_the_agreement(agreement, users):
    first = insert(agreement, users["counsel"], "Data escrow")
    assert first.new_key == "data-escrow"
    # Another party's proposal with the same heading does not take the same key.
    second = insert(agreement, users["vendor"], "Data escrow")
    assert second.new_key == "data-escrow-2"
    # A heading that names a clause of the standard does not take that clause's key.
    assert "insurance" in {c.key for c in consolidated_text(agreement).clauses}
    third = insert(agreement, users["director"], "Insurance")
    assert third.new_key == "insurance-2"
    # Headings without Latin letters: the clause is numbered.
    count = len(consolidated_text(agreement).clauses)
    other = insert(agreement, users["counsel"], "Защита данных")
    assert other.new_key == f"clause-{count + 1}"
    assert other.heading == "Защита данных"


def test_a_withdrawn_insert_keeps_its_key_out_of_use(agreement, users):
    first = insert(agreement, users["counsel"], "Data escrow")
    first.status = OverrideStatus.WITHDRAWN
    first.save(update_fields=["status"])
    assert insert(agreement, users["counsel"], "Data escrow").new_key == "data-escrow-2"


def test_an_explicit_key_is_checked_with_a_clear_message(agreement, users):
    with pytest.raises(DomainError) as bad:
        insert(agreement, users["counsel"], "Data escrow", new_key="Data Escrow!")
    message = bad.value.message_dict["new_key"][0]
    assert "“Data Escrow!” cannot be a clause key" in message
    assert "lower-case letters, digits and single hyphens (e.g. data-escrow)" in message
    with pytest.raises(DomainError) as taken:
        insert(agreement, users["counsel"], "Audits again", new_key="audits")
    assert "The key “audits” is already used in this agreement" in str(taken.value)
    assert insert(agreement, users["counsel"], "Escrow", new_key="escrow").new_key == "escrow"


def test_an_insert_missing_its_heading_text_and_rationale_is_told_all_at_once(agreement, users):
    with pytest.raises(DomainError) as refused:
        override_propose(
            agreement=agreement,
            by=users["counsel"],
            kind=OverrideKind.INSERT,
            clause_key="insurance",
            heading=" ",
            body="",
            rationale="",
        )
    assert refused.value.message_dict == {
        "heading": ["Give the new clause a heading, e.g. “Data escrow”."],
        "body": ["Write the text of the new clause."],
        "rationale": [
            "Explain why you propose this change: the other parties read your rationale."
        ],
    }
    assert not ClauseOverride.objects.filter(agreement=agreement, kind="insert").exists()


# --- The propose form -------------------------------------------------------------------------


def test_the_propose_form_asks_for_no_key(client, agreement, users):
    client.force_login(users["counsel"])
    page = client.get(detail(agreement)).content.decode()
    assert "Heading of the new clause" in page
    assert "Text of the new clause" in page
    assert 'name="new_key"' not in page
    assert "Key of the new clause" not in page


def test_inserting_in_the_browser_derives_the_key(client, agreement, users):
    client.force_login(users["counsel"])
    response = client.post(
        reverse("override-propose", args=[agreement.pk]),
        {
            "kind": "insert",
            "clause_key": "insurance",
            "heading": "Data escrow",
            "new_body": "The Developer shall deposit the source code with an escrow agent.",
            # The replace input still holds the current text: an insert ignores it.
            "body": "Each party maintains insurance.",
            "rationale": "Continuity if the vendor fails.",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#clause-insurance")
    created = ClauseOverride.objects.get(agreement=agreement, kind="insert")
    assert created.new_key == "data-escrow"
    assert created.heading == "Data escrow"
    assert created.body == "The Developer shall deposit the source code with an escrow agent."


def test_a_refused_proposal_keeps_everything_typed_and_says_what_to_fix(client, agreement, users):
    client.force_login(users["counsel"])
    response = client.post(
        reverse("override-propose", args=[agreement.pk]),
        {
            "kind": "insert",
            "clause_key": "insurance",
            "heading": "Data escrow",
            "new_body": "",
            "body": "Each party maintains insurance.",
            "rationale": "Continuity if the <vendor> fails.",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    # The form is open, the insert still chosen, what was typed still there (escaped).
    assert 'id="propose-insurance" open' in page
    assert 'value="insert" id="kind-insert-insurance" checked' in page
    assert 'value="Data escrow"' in page
    assert "Continuity if the &lt;vendor&gt; fails.</textarea>" in page
    # The error in plain words, at the top (linked to the input) and beside the input.
    assert '<a href="#newbody-insurance">Write the text of the new clause.</a>' in page
    assert 'aria-describedby="markdown-help-insurance newbody-error-insurance"' in page
    assert 'aria-invalid="true">' in page
    assert '<p class="errorlist" id="newbody-error-insurance">Write the text' in page
    assert "This field is required" not in page
    assert not ClauseOverride.objects.filter(agreement=agreement, kind="insert").exists()


def test_a_refused_replacement_keeps_the_typed_text_and_terms(client, agreement, users):
    client.force_login(users["director"])
    response = client.post(
        reverse("override-propose", args=[agreement.pk]),
        {
            "kind": "replace",
            "clause_key": CONFLICT,
            "body": "Notify within [[breach_notice_hours]] hours of [[unknown_thing]].",
            "rationale": "",
            "term.breach_notice_hours": "12",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="propose-{CONFLICT}" open' in page
    assert "hours of [[unknown_thing]].</textarea>" in page
    assert "Explain why you propose this change: the other parties read your rationale." in page
    assert 'name="term.breach_notice_hours" value="12"' in page


def test_an_explicit_bad_key_is_refused_with_its_message(client, agreement, users):
    # The page has no key input; a script posting one is told what is wrong with it.
    client.force_login(users["counsel"])
    response = client.post(
        reverse("override-propose", args=[agreement.pk]),
        {
            "kind": "insert",
            "clause_key": "insurance",
            "heading": "Data escrow",
            "new_key": "data_escrow",
            "new_body": "Deposit the code.",
            "rationale": "Continuity.",
        },
    )
    assert response.status_code == 400
    assert "“data_escrow” cannot be a clause key" in response.content.decode()


def test_a_value_typed_over_a_term_keeps_the_text_on_the_offer_page(client, agreement, users):
    standard = agreement.template_version.clauses.get(key=CONFLICT).body
    assert "[[breach_notice_hours]]" in standard
    client.force_login(users["counsel"])
    response = client.post(
        reverse("override-propose", args=[agreement.pk]),
        {
            "kind": "replace",
            "clause_key": CONFLICT,
            "body": standard.replace("[[breach_notice_hours]]", "12"),
            "rationale": "Shorter <window>.",
        },
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "Shorter &lt;window&gt;.</textarea>" in page
    assert 'name="new_key"' not in page


# --- Who may settle a conflict -----------------------------------------------------------------


def test_only_the_conflicting_parties_may_settle(agreement, users):
    competing = conflicts(agreement)[CONFLICT]
    with pytest.raises(DomainError) as refused:
        conflict_resolve(
            agreement=agreement,
            clause_key=CONFLICT,
            by=users["director"],
            merged_body="Notify within [[breach_notice_hours]] hours.",
        )
    assert refused.value.code == "not_conflicting_party"
    names = [o.organisation.name for o in sorted(competing, key=lambda o: o.created_at)]
    assert str(refused.value.messages[0]).startswith(
        f"Only {names[0]} and {names[1]} can settle this conflict"
    )
    assert "You can propose your own text for this clause instead." in refused.value.messages[0]
    with pytest.raises(DomainError, match="can settle this conflict"):
        conflict_resolve(
            agreement=fresh(agreement),
            clause_key=CONFLICT,
            by=users["director"],
            keep=competing[0],
        )
    assert all(
        o.status == OverrideStatus.PROPOSED
        for o in ClauseOverride.objects.filter(pk__in=[o.pk for o in competing])
    )
    # The third party puts forward its own text instead: it joins the conflict.
    own = override_propose(
        agreement=fresh(agreement),
        by=users["director"],
        kind=OverrideKind.REPLACE,
        clause_key=CONFLICT,
        body="Notify within [[breach_notice_hours]] hours of any suspected incident.",
        rationale="Our families must hear quickly.",
    )
    assert own in conflicts(fresh(agreement))[CONFLICT]
    # Now a party to the conflict, the district may settle it.
    merged = conflict_resolve(
        agreement=fresh(agreement),
        clause_key=CONFLICT,
        by=users["director"],
        keep=own,
    )
    assert merged == own
    assert CONFLICT not in conflicts(fresh(agreement))


def test_a_conflicting_party_may_settle_by_merging_or_keeping(agreement, users):
    competing = conflicts(agreement)[CONFLICT]
    vendors = next(o for o in competing if o.proposed_by == users["vendor"])
    kept = conflict_resolve(
        agreement=agreement, clause_key=CONFLICT, by=users["counsel"], keep=vendors
    )
    assert kept.pk == vendors.pk
    assert CONFLICT not in conflicts(fresh(agreement))


def test_the_resolve_form_shows_only_to_the_conflicting_parties(client, agreement, users):
    names = [
        o.organisation.name
        for o in sorted(conflicts(agreement)[CONFLICT], key=lambda o: o.created_at)
    ]
    client.force_login(users["counsel"])
    page = client.get(detail(agreement)).content.decode()
    assert "Resolve the conflict…" in page
    client.force_login(users["director"])
    page = client.get(detail(agreement)).content.decode()
    assert "Resolve the conflict…" not in page
    assert (
        f"Only {names[0]} and {names[1]} can settle this conflict; you can propose your own "
        "text." in page.replace("&#x27;", "'").replace("&amp;", "&")
    )


def test_a_third_party_posting_a_resolution_is_refused_on_the_page(client, agreement, users):
    client.force_login(users["director"])
    response = client.post(
        reverse("conflict-resolve", args=[agreement.pk, CONFLICT]),
        {"merged_body": "Notify within [[breach_notice_hours]] hours.", "rationale": "Fair."},
    )
    assert response.status_code == 400
    assert "can settle this conflict" in response.content.decode()
    assert CONFLICT in conflicts(fresh(agreement))


def test_a_refused_resolution_keeps_what_was_typed(client, agreement, users):
    client.force_login(users["counsel"])
    response = client.post(
        reverse("conflict-resolve", args=[agreement.pk, CONFLICT]),
        {"merged_body": "", "rationale": "Meet in the middle."},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="resolve-{CONFLICT}" open' in page
    assert "Meet in the middle.</textarea>" in page
    assert "Choose the position to keep, or write a merged text." in page
    assert f'aria-describedby="merged-error-{CONFLICT}"' in page


# --- Other forms say in plain words what to fix --------------------------------------------------


def test_the_data_element_form_says_what_is_missing(client, agreement, users):
    client.force_login(users["counsel"])
    response = client.post(
        reverse("data-element-add", args=[agreement.pk]), {"description": "Weekly scores."}
    )
    page = response.content.decode()
    assert "Name the data element, e.g. “Weekly mastery scores”." in page
    assert "Choose the party the data comes from." in page
    assert "Weekly scores.</textarea>" in page
    assert "This field is required" not in page


def test_a_rejection_without_a_reason_comes_back_to_the_comment_box(client, agreement, users):
    proposal = next(o for o in conflicts(agreement)[CONFLICT] if o.proposed_by == users["counsel"])
    client.force_login(users["director"])
    response = client.post(
        reverse("override-respond", args=[agreement.pk, proposal.pk]),
        {"decision": "reject", "comment": "  "},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert (
        f'<p class="errorlist" id="comment-error-{proposal.pk}" role="alert">Say why you '
        "reject it, so the proposer can respond.</p>" in page
    )
    assert f'aria-describedby="comment-error-{proposal.pk}" autofocus' in page
    proposal.refresh_from_db()
    assert proposal.status == OverrideStatus.PROPOSED
    assert not proposal.responses.exists()
