"""The effective-state rules as a plain function: no database, every rule named."""

import datetime as dt

import pytest

from consent.rules import (
    Action,
    ConsentKind,
    Decision,
    GivenBy,
    State,
    adult_from,
    age_on,
    bucket_of,
    effective_state,
    is_adult,
    roster_columns,
    strictest,
)

P, S = GivenBy.PARENT, GivenBy.STUDENT
G, R, W = Action.GRANTED, Action.REFUSED, Action.WITHDRAWN
DAY = dt.date(2026, 10, 1)
MINOR = 2013  # 12 in 2026


def d(action, given_by, day, sequence=0):
    return Decision(action, given_by, dt.date.fromisoformat(day), sequence)


def state(decisions, kind=ConsentKind.PARENTAL_ASSENT, birth_year=MINOR, as_of=DAY):
    return effective_state(decisions, kind=kind, birth_year=birth_year, as_of=as_of)


def test_no_records_is_no_response_and_not_permitted():
    result = state([])
    assert (result.state, result.permitted) == (State.NO_RESPONSE, False)


def test_parental_grant_and_assent_permit_a_minor():
    result = state([d(G, P, "2026-09-01"), d(G, S, "2026-09-03")])
    assert (result.state, result.permitted) == (State.GRANTED, True)


def test_parental_grant_without_assent_waits_for_assent():
    result = state([d(G, P, "2026-09-01")])
    assert (result.state, result.permitted) == (State.AWAITING_ASSENT, False)


def test_assent_without_parental_consent_is_not_enough():
    result = state([d(G, S, "2026-09-01")])
    assert (result.state, result.permitted) == (State.AWAITING_PARENT, False)


def test_parental_consent_alone_suffices_when_no_assent_is_required():
    result = state([d(G, P, "2026-09-01")], kind=ConsentKind.PARENTAL)
    assert (result.state, result.permitted) == (State.GRANTED, True)


def test_a_refusal_blocks():
    result = state([d(R, P, "2026-09-01")])
    assert (result.state, result.permitted) == (State.REFUSED, False)


def test_the_students_refusal_blocks_despite_parental_consent():
    result = state([d(G, P, "2026-09-01"), d(R, S, "2026-09-02")])
    assert (result.state, result.permitted) == (State.REFUSED, False)


def test_withdrawal_ends_permission_and_is_named_withdrawn():
    result = state([d(G, P, "2026-09-01"), d(G, S, "2026-09-02"), d(W, P, "2026-09-20")])
    assert (result.state, result.permitted) == (State.WITHDRAWN, False)


def test_a_regrant_after_withdrawal_permits_again():
    result = state(
        [
            d(G, P, "2026-09-01"),
            d(G, S, "2026-09-02"),
            d(W, P, "2026-09-20"),
            d(G, P, "2026-09-25"),
        ]
    )
    assert (result.state, result.permitted) == (State.GRANTED, True)


def test_records_are_read_in_date_order_not_arrival_order():
    # The withdrawal arrives first but is dated later: it is the latest decision.
    result = state([d(W, P, "2026-09-20", 1), d(G, S, "2026-09-02", 2), d(G, P, "2026-09-01", 3)])
    assert result.state == State.WITHDRAWN


def test_same_day_decisions_follow_the_order_recorded():
    granted_last = state(
        [d(W, P, "2026-09-20", 1), d(G, P, "2026-09-20", 2), d(G, S, "2026-09-01")]
    )
    withdrawn_last = state(
        [d(G, P, "2026-09-20", 1), d(W, P, "2026-09-20", 2), d(G, S, "2026-09-01")]
    )
    assert granted_last.permitted and not withdrawn_last.permitted


def test_decisions_after_the_as_of_date_are_ignored():
    decisions = [d(G, P, "2026-09-01"), d(G, S, "2026-09-02"), d(W, P, "2026-09-20")]
    assert state(decisions, as_of=dt.date(2026, 9, 10)).permitted
    assert not state(decisions, as_of=dt.date(2026, 9, 20)).permitted


def test_opt_out_permits_unless_someone_opted_out():
    assert state([], kind=ConsentKind.OPT_OUT).state == State.NOT_OPTED_OUT
    assert state([], kind=ConsentKind.OPT_OUT).permitted
    opted_out = state([d(R, P, "2026-09-01")], kind=ConsentKind.OPT_OUT)
    assert (opted_out.state, opted_out.permitted) == (State.REFUSED, False)


def test_no_requirement_needs_nothing():
    result = state([], kind=ConsentKind.NONE)
    assert (result.state, result.permitted) == (State.NOT_REQUIRED, True)


# --- age --------------------------------------------------------------------------------


def test_age_is_the_youngest_the_student_can_be():
    assert age_on(2008, dt.date(2026, 12, 31)) == 17
    assert age_on(2008, dt.date(2027, 1, 1)) == 18
    assert not is_adult(2008, dt.date(2026, 12, 31))
    assert is_adult(2008, dt.date(2027, 1, 1))
    assert adult_from(2008) == dt.date(2027, 1, 1)
    assert not is_adult(None, dt.date(2040, 1, 1))  # unknown birth year: always a minor


class TestStudentTurns18DuringTheStudy:
    """Born 2008: a minor throughout 2026, an adult from 1 January 2027."""

    decisions = [d(G, P, "2026-09-01"), d(G, S, "2026-09-02")]

    def test_before_18_parental_consent_and_assent_permit(self):
        result = state(self.decisions, birth_year=2008, as_of=dt.date(2026, 12, 31))
        assert result.permitted
        assert result.valid_until == dt.date(2027, 1, 1)

    def test_at_18_parental_consent_and_earlier_assent_no_longer_count(self):
        result = state(self.decisions, birth_year=2008, as_of=dt.date(2027, 1, 1))
        assert (result.state, result.permitted) == (State.NEEDS_OWN_CONSENT, False)
        assert result.adult and result.valid_until is None

    def test_the_adult_students_own_consent_permits(self):
        decisions = [*self.decisions, d(G, S, "2027-01-10")]
        result = state(decisions, birth_year=2008, as_of=dt.date(2027, 2, 1))
        assert (result.state, result.permitted) == (State.GRANTED, True)

    def test_the_adult_students_own_consent_overrides_a_parents_refusal(self):
        decisions = [d(R, P, "2026-09-01"), d(G, S, "2027-01-10")]
        assert state(decisions, birth_year=2008, as_of=dt.date(2027, 2, 1)).permitted

    def test_a_refusal_given_as_a_minor_still_stands_at_18(self):
        decisions = [d(G, P, "2026-09-01"), d(R, S, "2026-09-02")]
        result = state(decisions, birth_year=2008, as_of=dt.date(2027, 2, 1))
        assert (result.state, result.permitted) == (State.REFUSED, False)

    def test_opt_out_keeps_an_adult_permitted_unless_someone_opted_out(self):
        result = state([], kind=ConsentKind.OPT_OUT, birth_year=2008, as_of=dt.date(2027, 2, 1))
        assert result.permitted


# --- roster columns and helpers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("levels", "columns"),
    [
        (["identifiable"], ("student_key", "school", "grade", "birth_year")),
        (["pseudonymous", "aggregate"], ("student_key", "school", "grade")),
        (["deidentified", "aggregate"], ()),
        ([], ()),
    ],
)
def test_roster_columns_follow_the_most_identifying_element(levels, columns):
    assert roster_columns(levels) == columns


def test_the_strictest_requirement_governs():
    assert strictest([ConsentKind.OPT_OUT, ConsentKind.PARENTAL_ASSENT]) == "parental_assent"
    assert strictest([ConsentKind.NONE, ConsentKind.OPT_OUT]) == "opt_out"
    assert strictest([]) is None


def test_states_fall_into_the_dashboards_buckets():
    assert bucket_of(State.NOT_OPTED_OUT) == "permitted"
    assert bucket_of(State.NEEDS_OWN_CONSENT) == "incomplete"
    assert bucket_of(State.WITHDRAWN) == "withdrawn"
