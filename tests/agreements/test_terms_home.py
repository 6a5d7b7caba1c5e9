"""Every structured term has one home (issue 16): the text refers to a parameter, a proposal
changes the parameter, and the text and every output state the same value."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreements.models import Agreement, ClauseOverride, OverrideStatus, Status
from agreements.negotiation.proposals import (
    LiteralOverParameterError,
    override_propose,
    override_respond,
    override_withdraw,
)
from agreements.parameters import literals_over_parameters, restore
from agreements.review.services import agreement_reopen, agreement_submit_for_review
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.terms_check import term_problems
from collaboratory.errors import DomainError

IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"
ACTIVE = "Productive Struggle Classroom Study"
BREACH = "breach-notification"


def fresh(agreement: Agreement) -> Agreement:
    return with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk)


def template_body(agreement: Agreement, key: str) -> str:
    return agreement.template_version.clauses.get(key=key).body


@pytest.fixture
def negotiating(demo) -> Agreement:
    """The in-review demo agreement reopened: the standard text, 72 hours, 90 days."""
    agreement = fresh(demo["agreements"][IN_REVIEW])
    agreement_reopen(agreement=agreement, by=demo["users"]["director"], reason="Terms.")
    agreement = fresh(agreement)
    assert (agreement.breach_notice_hours, agreement.retention_days) == (72, 90)
    return agreement


# --- literals typed over a parameter (pure) -------------------------------------------------


@pytest.mark.parametrize(
    ("after", "typed", "value"),
    [
        ("Notify within 48 hours after discovery.", "48", 48),
        ("Notify within forty-eight (48) hours after discovery.", "48", 48),
        ("Notify us in 24 hours.", "24", 24),  # a rewrite: found by the unit that follows
    ],
)
def test_a_number_typed_over_a_parameter_is_found_with_its_value(after, typed, value):
    before = "Notify within [[breach_notice_hours]] hours after discovery."
    [found] = literals_over_parameters(before, after)
    assert (found.name, found.typed, found.value) == ("breach_notice_hours", typed, value)
    assert "[[breach_notice_hours]]" in found.restored
    assert found.restored.count("[[") == 1


def test_a_date_typed_over_a_parameter_is_read_in_any_usual_form():
    before = "It ends on [[expires_on]], unless terminated."
    for written in ("1 May 2028", "May 1, 2028", "2028-05-01"):
        [found] = literals_over_parameters(before, f"It ends on {written}, unless terminated.")
        assert found.value == dt.date(2028, 5, 1)
        assert found.restored == before


def test_moving_or_keeping_a_parameter_is_not_a_literal():
    before = "Within [[retention_days]] days after the Term."
    assert literals_over_parameters(before, before) == []
    assert literals_over_parameters(before, "After the Term, within [[retention_days]] days.") == []


def test_restore_puts_every_parameter_back_or_offers_nothing():
    before = "Notify within [[breach_notice_hours]] hours; destroy within [[retention_days]] days."
    after = "Notify within 48 hours; destroy within 60 days."
    found = literals_over_parameters(before, after)
    assert {f.name: f.value for f in found} == {"breach_notice_hours": 48, "retention_days": 60}
    assert restore(after, found) == before
    assert restore("Notify promptly.", literals_over_parameters(before, "Notify promptly.")) is None


# --- proposals change the parameter ---------------------------------------------------------


def test_typing_a_literal_over_a_term_is_refused_with_an_offer(demo, negotiating):
    body = template_body(negotiating, BREACH).replace("[[breach_notice_hours]]", "48")
    with pytest.raises(LiteralOverParameterError) as error:
        override_propose(
            agreement=negotiating,
            by=demo["users"]["counsel"],
            kind="replace",
            clause_key=BREACH,
            body=body,
            rationale="Sooner.",
        )
    message = " ".join(error.value.messages)
    assert "You wrote “48” where the clause states the breach notice window" in message
    assert "now 72 hours" in message and "change the term to 48 hours instead" in message
    [offer] = error.value.offers
    assert offer.value == 48
    assert offer.restored == template_body(negotiating, BREACH)
    assert not ClauseOverride.objects.filter(agreement=negotiating, clause_key=BREACH).exists()


def test_an_accepted_term_change_changes_the_term_and_every_output(demo, negotiating):
    users = demo["users"]
    override = override_propose(
        agreement=negotiating,
        by=users["counsel"],
        kind="replace",
        clause_key=BREACH,
        body=template_body(negotiating, BREACH),
        rationale="Sooner.",
        terms={"breach_notice_hours": "48"},
    )
    assert override.parameters == {"breach_notice_hours": {"from": 72, "to": 48}}
    # Pending: nothing changes yet.
    assert fresh(negotiating).breach_notice_hours == 72
    override_respond(override=override, by=users["vendor"], decision="accept")
    override_respond(override=override, by=users["director"], decision="accept")
    agreement = fresh(negotiating)
    assert agreement.breach_notice_hours == 48
    clause = consolidated_text(agreement).clause(BREACH)
    assert "no event later than 48 hours after discovery" in clause.body
    assert clause.origin == "replaced"
    assert term_problems(agreement) == []
    # Withdrawn after acceptance: the term goes back.
    override_withdraw(override=override, by=users["counsel"])
    assert fresh(negotiating).breach_notice_hours == 72


def test_a_term_change_is_shown_against_the_standard(demo, negotiating, client):
    users = demo["users"]
    override = override_propose(
        agreement=negotiating,
        by=users["counsel"],
        kind="replace",
        clause_key=BREACH,
        body=template_body(negotiating, BREACH),
        rationale="Sooner.",
        terms={"breach_notice_hours": "48"},
    )
    client.force_login(users["director"])
    page = client.get(reverse("agreement-detail", args=[negotiating.pk])).content.decode()
    # The proposal is marked as a tracked change of the term's value (72 -> 48, issue 17),
    # never [[...]], and says which term it changes.
    term = r'<span class="param" data-name="breach_notice_hours={0}"[^>]*>{0}</span>'
    assert re.search(r'<del class="redline-del"(?:(?!</del>).)*' + term.format(72), page, re.S)
    assert re.search(r'<ins class="redline-ins"(?:(?!</ins>).)*' + term.format(48), page, re.S)
    shown = re.sub(r"<textarea.*?</textarea>", "", page, flags=re.S)  # not the Markdown source
    assert "[[breach_notice_hours]]" not in shown
    assert "Changes the term <strong>Breach notice window</strong>" in page
    assert '<del>72 hours</del> → <ins class="term-value">48 hours</ins>' in page
    override_respond(override=override, by=users["vendor"], decision="accept")
    override_respond(override=override, by=users["director"], decision="accept")
    compare = client.get(reverse("agreement-compare", args=[negotiating.pk])).content.decode()
    # The negotiated term is a deviation from the standard, marked word by word.
    hidden = r"(?:<span[^>]*>[^<]*</span>)?"
    assert re.search(rf"<del[^>]*>{hidden}72{hidden}</del>", compare), "72 not marked deleted"
    assert re.search(rf"<ins[^>]*>{hidden}48{hidden}</ins>", compare), "48 not marked inserted"
    assert "1 change: +1 / −1 words" in compare


def test_a_term_must_be_changed_on_a_clause_that_states_it(demo, negotiating):
    with pytest.raises(DomainError) as error:
        override_propose(
            agreement=negotiating,
            by=demo["users"]["counsel"],
            kind="replace",
            clause_key="audits",
            body=template_body(negotiating, "audits"),
            rationale="x",
            terms={"breach_notice_hours": "48"},
        )
    assert "This clause does not state [[breach_notice_hours]]" in " ".join(error.value.messages)


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        ({"breach_notice_hours": "0"}, "breach_notice_hours must be at least 1 hour"),
        ({"breach_notice_hours": "soon"}, "must be a whole number of hours"),
        ({"district_name": "Other"}, "cannot be changed by a proposal"),
    ],
)
def test_bad_term_values_say_what_to_fix(demo, negotiating, terms, expected):
    with pytest.raises(DomainError) as error:
        override_propose(
            agreement=negotiating,
            by=demo["users"]["counsel"],
            kind="replace",
            clause_key=BREACH,
            body=template_body(negotiating, BREACH),
            rationale="x",
            terms=terms,
        )
    assert expected in " ".join(error.value.messages)


# --- the web form offers to change the term -------------------------------------------------


def test_the_form_offers_to_change_the_term_and_keeps_what_was_typed(demo, negotiating, client):
    users = demo["users"]
    client.force_login(users["counsel"])
    url = reverse("override-propose", args=[negotiating.pk])
    typed = template_body(negotiating, BREACH).replace("[[breach_notice_hours]]", "48")
    response = client.post(
        url,
        {
            "kind": "replace",
            "clause_key": BREACH,
            "body": typed.replace("\n", "\r\n"),
            "rationale": "The district wants notice sooner.",
        },
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "Change the term instead?" in page
    assert "72 hours → <strong>48 hours</strong>" in page
    assert "The district wants notice sooner." in page  # nothing typed is lost
    offer = response.context["restored"]
    assert offer == template_body(negotiating, BREACH)
    # Taking the offer: a proposal that changes the parameter.
    response = client.post(
        url,
        {
            "kind": "replace",
            "clause_key": BREACH,
            "body": offer,
            "rationale": "The district wants notice sooner.",
            "term.breach_notice_hours": "48",
        },
    )
    assert response.status_code == 302
    override = ClauseOverride.objects.get(agreement=negotiating, clause_key=BREACH)
    assert override.parameters == {"breach_notice_hours": {"from": 72, "to": 48}}
    assert override.status == OverrideStatus.PROPOSED


def test_the_propose_form_lists_the_clause_terms(demo, negotiating, client):
    client.force_login(demo["users"]["counsel"])
    page = client.get(reverse("agreement-detail", args=[negotiating.pk])).content.decode()
    assert 'name="term.breach_notice_hours" value="72"' in page
    assert 'name="term.retention_days" value="90"' in page
    assert 'name="term.district_name"' not in page  # names come from the parties


# --- the invariant --------------------------------------------------------------------------


def _seed_contradiction(agreement: Agreement, org) -> None:
    """What the first round allowed: an accepted proposal with the value typed into the text."""
    body = template_body(agreement, BREACH).replace("[[breach_notice_hours]]", "48")
    ClauseOverride.objects.create(
        agreement=agreement,
        organisation=org,
        kind="replace",
        clause_key=BREACH,
        body=body,
        rationale="Legacy.",
        status=OverrideStatus.ACCEPTED,
    )


def test_a_contradiction_is_reported_and_blocks_review(demo, negotiating):
    _seed_contradiction(negotiating, demo["orgs"]["northfield-university"])
    agreement = fresh(negotiating)
    problems = term_problems(agreement)
    assert [p.term for p in problems] == ["breach_notice_hours"]
    assert "no longer refers to the breach notice window" in str(problems[0])
    assert "it says “48 hours”" in str(problems[0]) and "say 72 hours" in str(problems[0])
    with pytest.raises(DomainError) as error:
        agreement_submit_for_review(agreement=agreement, by=demo["users"]["director"])
    assert "no longer refers to the breach notice window" in " ".join(error.value.messages)
    assert fresh(agreement).status == Status.NEGOTIATING


def test_verify_terms_exits_0_on_the_demo_and_1_on_a_contradiction(demo, negotiating):
    out = io.StringIO()
    call_command("verify_terms", stdout=out)
    assert "state the terms their outputs publish" in out.getvalue()
    _seed_contradiction(negotiating, demo["orgs"]["northfield-university"])
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 of .* agreements state terms"):
        call_command("verify_terms", stdout=io.StringIO(), stderr=err)
    assert negotiating.reference in err.getvalue()
    assert "it says “48 hours”" in err.getvalue()


def test_the_demo_signs_negotiated_terms(demo):
    """Item 6: the active demo agreement was signed with 48 hours and 60 days."""
    agreement = fresh(demo["agreements"][ACTIVE])
    assert agreement.status == Status.ACTIVE
    assert (agreement.breach_notice_hours, agreement.retention_days) == (48, 60)
    text = consolidated_text(agreement)
    assert "within 48 hours after it becomes aware" in text.clause(BREACH).body
    assert "within 60 days after the end of the Term" in text.clause("data-retention").body
    assert term_problems(agreement, text) == []


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    hours=st.integers(min_value=1, max_value=720),
    days=st.integers(min_value=1, max_value=3650),
    notice=st.integers(min_value=0, max_value=365),
)
def test_generated_term_changes_keep_text_and_outputs_in_agreement(demo, hours, days, notice):
    """Whatever values are negotiated, the text and every output state the same."""
    users = demo["users"]
    agreement = fresh(demo["agreements"][IN_REVIEW])
    if agreement.status == Status.IN_REVIEW:
        agreement_reopen(agreement=agreement, by=users["director"], reason="Terms.")
    for key, terms in (
        (BREACH, {"breach_notice_hours": str(hours)}),
        ("data-retention", {"retention_days": str(days)}),
        ("termination", {"termination_notice_days": str(notice)}),
    ):
        agreement = fresh(agreement)
        try:
            override = override_propose(
                agreement=agreement,
                by=users["counsel"],
                kind="replace",
                clause_key=key,
                body=template_body(agreement, key),
                rationale="Generated.",
                terms=terms,
            )
        except DomainError as error:  # the same value as now: nothing to propose
            assert "same as the current text" in " ".join(error.messages)
            continue
        override_respond(override=override, by=users["vendor"], decision="accept")
        override_respond(override=override, by=users["director"], decision="accept")
    agreement = fresh(agreement)
    assert (agreement.breach_notice_hours, agreement.retention_days) == (hours, days)
    assert agreement.termination_notice_days == notice
    text = consolidated_text(agreement)
    assert f"{hours} hours" in text.clause(BREACH).body
    assert f"{notice} days' written notice" in text.clause("termination").body
    assert term_problems(agreement, text) == []


def test_unchanged_term_inputs_change_no_term(demo, negotiating, client):
    """The form posts every term input back as it was (a textarea with CRLF): no change."""
    client.force_login(demo["users"]["counsel"])
    body = template_body(negotiating, "purpose").replace("The purpose", "The sole purpose", 1)
    assert body != template_body(negotiating, "purpose")
    response = client.post(
        reverse("override-propose", args=[negotiating.pk]),
        {
            "kind": "replace",
            "clause_key": "purpose",
            "body": body,
            "rationale": "Narrower.",
            "term.purpose_summary": negotiating.purpose + " \r\n",
        },
    )
    assert response.status_code == 302
    override = ClauseOverride.objects.get(agreement=negotiating, clause_key="purpose")
    assert override.parameters == {}


def test_a_clause_that_drops_a_term_without_a_literal_is_no_contradiction(demo, deviating):
    """The deviating fixture's Term clause keeps [[expires_on]] and drops the effective date
    and the term length in words: the expiry date it states is its own parameter's."""
    assert "[[effective_date]]" not in deviating.overrides.get(clause_key="term").body
    assert term_problems(deviating) == []
