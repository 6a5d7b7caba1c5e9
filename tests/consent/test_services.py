"""Consent services against PostgreSQL: the review gate, forms, records, imports, the
roster, withdrawal flags, the daily refresh, the purge and the trend."""

import datetime as dt
import hashlib

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from agreements.models import Identifiability, Notification
from agreements.negotiation.services import agreement_open_negotiation
from agreements.review.services import agreement_submit_for_review
from agreements.signing.services import agreement_terminate
from collaboratory.errors import DomainError
from consent import selectors, services
from consent.models import (
    ConsentExport,
    ConsentImport,
    ConsentPurgeLog,
    ConsentRecord,
    CoverageCount,
    CoverageSnapshot,
    ImportStatus,
    StudentConsent,
)
from consent.rules import ConsentKind, State

from .conftest import TODAY, activate, make_agreement

HEADER = "student_key,decision,given_by,method,date,school,grade,birth_year,witness\n"


def csv(*lines: str) -> bytes:
    return (HEADER + "\n".join(lines) + "\n").encode()


def import_file(study, content: bytes, *, method="copy", user="director"):
    by = study["users"][user]
    preview = services.consent_import_preview(
        agreement=study["agreement"],
        by=by,
        filename="consent.csv",
        content=content,
        default_form=study["form"],
        today=TODAY,
    )
    assert preview.error_count == 0, preview.errors
    return services.consent_import_confirm(
        consent_import=preview, by=by, method=method, today=TODAY
    )


def assert_counts_match(agreement):
    """The maintained coverage counts equal a count over the per-student state rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT school, grade, state, count(*) FROM consent_studentconsent "
            "WHERE agreement_id = %s GROUP BY school, grade, state",
            [agreement.pk],
        )
        expected = {(school, grade, state): n for school, grade, state, n in cursor.fetchall()}
    actual = {
        (c.school, c.grade, c.state): c.students
        for c in CoverageCount.objects.filter(agreement=agreement)
    }
    assert actual == expected


def states(agreement):
    return dict(
        StudentConsent.objects.filter(agreement=agreement).values_list("student_key", "state")
    )


COHORT = csv(
    "A1,granted,parent,paper,2026-09-01,Cedar Hill,7,2013,",
    "A1,granted,student,paper,2026-09-03,Cedar Hill,7,2013,",
    "A2,granted,parent,electronic,2026-09-01,Cedar Hill,7,2013,",
    "A3,refused,parent,verbal,2026-09-02,Riverside,8,2012,Ms. Alvarez",
    "A4,granted,student,paper,2026-09-02,Riverside,8,2012,",
    "A5,granted,parent,paper,2026-09-01,Riverside,8,2012,",
    "A5,granted,student,paper,2026-09-02,Riverside,8,2012,",
    "A5,withdrawn,parent,paper,2026-09-20,Riverside,8,2012,",
    "A6,,,,,Riverside,9,2011,",
)
COHORT_STATES = {
    "A1": State.GRANTED,
    "A2": State.AWAITING_ASSENT,
    "A3": State.REFUSED,
    "A4": State.AWAITING_PARENT,
    "A5": State.WITHDRAWN,
    "A6": State.NO_RESPONSE,
}


# --- the review gate ----------------------------------------------------------------------


def test_operations_with_identifiable_data_cannot_go_to_review_without_a_requirement(world):
    users = world["users"]
    agreement = make_agreement(world, mode="operations", kind=None)
    agreement_open_negotiation(agreement=agreement, by=users["director"])
    with pytest.raises(DomainError) as error:
        agreement_submit_for_review(agreement=agreement, by=users["director"])
    assert any("Consent:" in m and "“Practice accounts”" in m for m in error.value.messages)
    services.consent_requirement_set(
        agreement=agreement,
        by=users["vendor"],
        kind=ConsentKind.NONE,
        legal_basis="School official exception; the district controls the data.",
    )
    agreement_submit_for_review(agreement=agreement, by=users["director"])
    agreement.refresh_from_db()
    assert agreement.status == "in_review"


def test_a_requirement_for_the_identifiable_element_alone_clears_the_gate(world):
    users = world["users"]
    agreement = make_agreement(world, mode="operations", kind=None)
    element = agreement.data_elements.get(identifiability=Identifiability.IDENTIFIABLE)
    services.consent_requirement_set(
        agreement=agreement,
        by=users["director"],
        kind=ConsentKind.PARENTAL,
        data_element=element,
    )
    agreement_open_negotiation(agreement=agreement, by=users["director"])
    agreement_submit_for_review(agreement=agreement, by=users["director"])


def test_analysis_mode_needs_no_requirement_for_review(world):
    users = world["users"]
    agreement = make_agreement(
        world,
        mode="analysis",
        elements=(
            ("Unit scores", "district", "research", Identifiability.DEIDENTIFIED),
            ("Enrolment counts", "district", "developer", Identifiability.AGGREGATE),
        ),
        kind=None,
    )
    agreement_open_negotiation(agreement=agreement, by=users["director"])
    agreement_submit_for_review(agreement=agreement, by=users["director"])
    agreement.refresh_from_db()
    assert agreement.status == "in_review"


def test_no_consent_needs_a_legal_basis(world):
    agreement = make_agreement(world, kind=None)
    with pytest.raises(DomainError, match="legal basis"):
        services.consent_requirement_set(
            agreement=agreement, by=world["users"]["director"], kind=ConsentKind.NONE
        )


def test_the_requirement_is_frozen_after_negotiation(study):
    with pytest.raises(DomainError, match="part of the terms"):
        services.consent_requirement_set(
            agreement=study["agreement"], by=study["users"]["director"], kind=ConsentKind.OPT_OUT
        )


def test_an_outsider_cannot_set_a_requirement(world, outsider):
    agreement = make_agreement(world, kind=None)
    with pytest.raises(DomainError, match="parties' people"):
        services.consent_requirement_set(agreement=agreement, by=outsider, kind="parental")


def test_changing_the_requirement_rederives_every_state(world):
    users = world["users"]
    agreement = make_agreement(world, kind=ConsentKind.PARENTAL_ASSENT)
    form = services.consent_form_add(
        agreement=agreement,
        by=users["director"],
        language="en",
        title="Form",
        body="Text",
        effective_date=dt.date(2026, 8, 1),
    )
    services.consent_record(
        agreement=agreement,
        by=users["director"],
        student_key="K1",
        action="granted",
        given_by="parent",
        method="paper",
        decided_on=dt.date(2026, 9, 1),
        form=form,
        today=TODAY,
    )
    assert states(agreement) == {"K1": State.AWAITING_ASSENT}
    services.consent_requirement_set(
        agreement=agreement, by=users["director"], kind=ConsentKind.PARENTAL
    )
    assert states(agreement) == {"K1": State.GRANTED}
    assert_counts_match(agreement)


# --- forms and records --------------------------------------------------------------------


def test_form_versions_count_up_per_language_and_never_change(study):
    director = study["users"]["director"]
    again = services.consent_form_add(
        agreement=study["agreement"],
        by=director,
        language="en",
        title="Parent permission",
        body="Revised text.",
        effective_date=dt.date(2026, 9, 1),
    )
    spanish = services.consent_form_add(
        agreement=study["agreement"],
        by=director,
        language="es",
        title="Permiso",
        body="Texto.",
        effective_date=dt.date(2026, 9, 1),
    )
    assert (again.version, spanish.version) == (2, 1)
    assert again.body_sha256 == hashlib.sha256(b"Revised text.").hexdigest()
    with pytest.raises(IntegrityError, match="never change"), transaction.atomic():
        type(again).objects.filter(pk=again.pk).update(body="Edited in place")


def test_records_are_append_only_in_the_database(study):
    record = services.consent_record(
        agreement=study["agreement"],
        by=study["users"]["director"],
        student_key="Z1",
        action="granted",
        given_by="parent",
        method="paper",
        decided_on=dt.date(2026, 9, 1),
        form=study["form"],
        today=TODAY,
    )
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        ConsentRecord.objects.filter(pk=record.pk).update(action="refused")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        ConsentRecord.objects.filter(pk=record.pk).delete()


def test_withdrawal_is_a_new_record_and_the_history_stays(study):
    director, agreement, form = study["users"]["director"], study["agreement"], study["form"]
    for given_by, day in (("parent", 1), ("student", 2)):
        services.consent_record(
            agreement=agreement,
            by=director,
            student_key="W1",
            action="granted",
            given_by=given_by,
            method="paper",
            decided_on=dt.date(2026, 9, day),
            form=form,
            today=TODAY,
        )
    services.consent_withdraw(
        agreement=agreement,
        by=director,
        student_key="W1",
        given_by="parent",
        method="electronic",
        decided_on=dt.date(2026, 10, 1),
        form=form,
        today=TODAY,
    )
    history = selectors.student_history(agreement, StudentConsent.objects.get(student_key="W1"))
    assert [r.action for r in history] == ["granted", "granted", "withdrawn"]
    assert states(agreement) == {"W1": State.WITHDRAWN}
    assert_counts_match(agreement)


def test_withdrawing_without_a_grant_is_refused(study):
    with pytest.raises(DomainError, match="Nothing to withdraw"):
        services.consent_withdraw(
            agreement=study["agreement"],
            by=study["users"]["director"],
            student_key="W2",
            given_by="parent",
            method="paper",
            decided_on=dt.date(2026, 9, 1),
            form=study["form"],
            today=TODAY,
        )
    assert not ConsentRecord.objects.exists()


def test_only_the_districts_people_record_consent(study):
    for username in ("researcher", "vendor", "counsel", "facilitator"):
        with pytest.raises(DomainError, match="Only the district's people"):
            services.consent_record(
                agreement=study["agreement"],
                by=study["users"][username],
                student_key="X",
                action="granted",
                given_by="parent",
                method="paper",
                decided_on=dt.date(2026, 9, 1),
                form=study["form"],
                today=TODAY,
            )


def test_a_single_record_gets_the_same_checks_as_an_import_row(study):
    with pytest.raises(DomainError) as error:
        services.consent_record(
            agreement=study["agreement"],
            by=study["users"]["director"],
            student_key="Ann Lee",
            action="granted",
            given_by="parent",
            method="verbal",
            decided_on=TODAY,
            form=study["form"],
            today=TODAY,
        )
    assert set(error.value.message_dict) == {"student_key", "witness"}


# --- import -------------------------------------------------------------------------------


def test_an_import_writes_records_and_derives_every_state(study):
    done = import_file(study, COHORT)
    assert (done.status, done.records_created, done.students_created) == ("imported", 8, 6)
    assert done.content == b""  # the file is not kept once imported
    assert states(study["agreement"]) == COHORT_STATES
    assert ConsentRecord.objects.filter(source_import=done).count() == 8
    assert_counts_match(study["agreement"])
    # The maintained states agree with a re-derivation from the full history.
    assert services.consent_states_rebuild(agreement=study["agreement"], today=TODAY) == 0


def test_copy_and_orm_imports_give_the_same_result(study, world):
    import_file(study, COHORT, method="copy")
    by_copy = states(study["agreement"])
    other = activate(world, make_agreement(world, title="Second study"))
    form = services.consent_form_add(
        agreement=other,
        by=world["users"]["director"],
        language="en",
        title="F",
        body="B",
        effective_date=dt.date(2026, 8, 1),
    )
    import_file({**study, "agreement": other, "form": form}, COHORT, method="orm")
    assert states(other) == by_copy == COHORT_STATES
    assert_counts_match(other)


def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row_and_column(study):
    bad = COHORT.replace(
        b"A3,refused,parent,verbal,2026-09-02", b"A3,refused,parent,verbal,2026-13-02"
    )
    preview = services.consent_import_preview(
        agreement=study["agreement"],
        by=study["users"]["director"],
        filename="bad.csv",
        content=bad,
        default_form=study["form"],
        today=TODAY,
    )
    assert preview.status == ImportStatus.REJECTED
    assert preview.errors == [{"row": 5, "column": "date", "message": preview.errors[0]["message"]}]
    assert "2026-13-02" in preview.errors[0]["message"]
    with pytest.raises(DomainError, match="upload it again"):
        services.consent_import_confirm(consent_import=preview, by=study["users"]["director"])
    assert not ConsentRecord.objects.exists() and not StudentConsent.objects.exists()


def test_confirmation_rechecks_and_imports_nothing_when_the_data_changed(study):
    director = study["users"]["director"]
    content = csv("B1,withdrawn,parent,paper,2026-10-01,,,,")
    services.consent_record(
        agreement=study["agreement"],
        by=director,
        student_key="B1",
        action="granted",
        given_by="parent",
        method="paper",
        decided_on=dt.date(2026, 9, 1),
        form=study["form"],
        today=TODAY,
    )
    preview = services.consent_import_preview(
        agreement=study["agreement"],
        by=director,
        filename="w.csv",
        content=content,
        default_form=study["form"],
        today=TODAY,
    )
    assert preview.status == ImportStatus.PREVIEWED
    # Meanwhile someone records the withdrawal by hand: the file's row is now a duplicate
    # withdrawal with nothing to withdraw.
    services.consent_withdraw(
        agreement=study["agreement"],
        by=director,
        student_key="B1",
        given_by="parent",
        method="paper",
        decided_on=dt.date(2026, 9, 20),
        form=study["form"],
        today=TODAY,
    )
    with pytest.raises(DomainError, match="Nothing was imported"):
        services.consent_import_confirm(consent_import=preview, by=director, today=TODAY)
    preview.refresh_from_db()
    assert preview.status == ImportStatus.REJECTED
    assert preview.errors[0]["row"] == 2
    assert ConsentRecord.objects.count() == 2


def test_confirmation_imports_exactly_the_previewed_file(study):
    director = study["users"]["director"]
    preview = services.consent_import_preview(
        agreement=study["agreement"],
        by=director,
        filename="c.csv",
        content=COHORT,
        default_form=study["form"],
        today=TODAY,
    )
    ConsentImport.objects.filter(pk=preview.pk).update(
        content=COHORT + b"Z9,granted,parent,paper,2026-09-01,,,,\n"
    )
    with pytest.raises(DomainError, match="does not match"):
        services.consent_import_confirm(consent_import=preview, by=director, today=TODAY)
    assert not ConsentRecord.objects.exists()


def test_a_confirmed_import_cannot_be_confirmed_twice(study):
    done = import_file(study, COHORT)
    with pytest.raises(DomainError, match="imported"):
        services.consent_import_confirm(consent_import=done, by=study["users"]["director"])
    assert ConsentRecord.objects.count() == 8


def test_unreadable_files_are_refused_before_any_row_is_kept(study, settings):
    settings.CONSENT_IMPORT_MAX_BYTES = 50
    with pytest.raises(DomainError, match="the limit is"):
        services.consent_import_preview(
            agreement=study["agreement"],
            by=study["users"]["director"],
            filename="big.csv",
            content=COHORT,
            default_form=study["form"],
            today=TODAY,
        )
    assert not ConsentImport.objects.exists()


def test_only_the_district_imports(study):
    with pytest.raises(DomainError, match="Only the district's people"):
        services.consent_import_preview(
            agreement=study["agreement"],
            by=study["users"]["researcher"],
            filename="c.csv",
            content=COHORT,
            default_form=study["form"],
            today=TODAY,
        )


# --- roster -------------------------------------------------------------------------------


def test_the_roster_lists_only_permitted_students_with_only_allowed_columns(study):
    import_file(study, COHORT)
    research = study["orgs"]["northfield-university"]
    roster = services.roster_export(
        agreement=study["agreement"],
        by=study["users"]["director"],
        recipient=research,
        as_of=TODAY,
        today=TODAY,
    )
    assert roster.content.decode() == "student_key,school,grade\nA1,Cedar Hill,7\n"
    export = roster.export
    assert (export.row_count, export.columns) == (1, ["student_key", "school", "grade"])
    assert export.sha256 == hashlib.sha256(roster.content).hexdigest()
    assert export.exported_by == study["users"]["director"]


def test_an_identifiable_element_allows_the_birth_year_column(study):
    import_file(study, COHORT)
    developer = study["orgs"]["brightpath-learning"]
    roster = services.roster_export(
        agreement=study["agreement"],
        by=study["users"]["director"],
        recipient=developer,
        as_of=TODAY,
        today=TODAY,
    )
    assert roster.content.decode().splitlines() == [
        "student_key,school,grade,birth_year",
        "A1,Cedar Hill,7,2013",
    ]


def test_roster_cells_cannot_run_as_spreadsheet_formulas(study):
    # A school name is free text from the district's file; a spreadsheet would run these.
    schools = ["=1+2", "+SUM(1)", "-2+3", "@SUM(A1)"]
    rows = [
        f"B{i},granted,{who},paper,2026-09-0{1 + j},{school},7,2013,"
        for i, school in enumerate(schools)
        for j, who in enumerate(("parent", "student"))
    ]
    import_file(study, csv(*rows))
    roster = services.roster_export(
        agreement=study["agreement"],
        by=study["users"]["director"],
        recipient=study["orgs"]["northfield-university"],
        as_of=TODAY,
        today=TODAY,
    )
    assert roster.content.decode().splitlines() == [
        "student_key,school,grade",
        *[f"B{i},'{school},7" for i, school in enumerate(schools)],
    ]


def test_a_roster_for_a_past_day_shows_who_was_permitted_then(study):
    import_file(study, COHORT)
    research = study["orgs"]["northfield-university"]
    roster = services.roster_export(
        agreement=study["agreement"],
        by=study["users"]["director"],
        recipient=research,
        as_of=dt.date(2026, 9, 10),
        today=TODAY,
    )
    # A5 was permitted until the withdrawal of 20 September.
    assert [line.split(",")[0] for line in roster.content.decode().splitlines()[1:]] == ["A1", "A5"]


def test_no_roster_goes_to_a_recipient_of_deidentified_data_only(world):
    agreement = activate(
        world,
        make_agreement(
            world,
            mode="analysis",
            elements=(("Scores", "district", "research", Identifiability.DEIDENTIFIED),),
        ),
    )
    with pytest.raises(DomainError, match="no roster of students"):
        services.roster_export(
            agreement=agreement,
            by=world["users"]["director"],
            recipient=world["orgs"]["northfield-university"],
            as_of=TODAY,
            today=TODAY,
        )
    assert not ConsentExport.objects.exists()


def test_rosters_need_an_active_agreement_and_the_district(world, study):
    draft = make_agreement(world, title="Draft study")
    research = world["orgs"]["northfield-university"]
    with pytest.raises(DomainError, match="only while the agreement is active"):
        services.roster_export(
            agreement=draft,
            by=world["users"]["director"],
            recipient=research,
            as_of=TODAY,
            today=TODAY,
        )
    with pytest.raises(DomainError, match="Only the district's people"):
        services.roster_export(
            agreement=study["agreement"],
            by=world["users"]["researcher"],
            recipient=research,
            as_of=TODAY,
            today=TODAY,
        )


def test_a_withdrawal_after_an_export_is_flagged_to_the_recipient_with_counts_only(study):
    import_file(study, COHORT)
    agreement, director = study["agreement"], study["users"]["director"]
    research = study["orgs"]["northfield-university"]
    services.roster_export(
        agreement=agreement, by=director, recipient=research, as_of=TODAY, today=TODAY
    )
    services.consent_withdraw(
        agreement=agreement,
        by=director,
        student_key="A1",
        given_by="student",
        method="paper",
        decided_on=TODAY,
        form=study["form"],
        today=TODAY,
    )
    flagged = Notification.objects.filter(event="consent_withdrawn")
    assert {n.recipient.username for n in flagged} == {"researcher"}
    note = flagged.get()
    assert "1 student on a consented roster" in note.subject
    assert "A1" not in note.subject + note.body
    summary = selectors.consent_summary(agreement, recipient_id=research.pk, today=TODAY)
    assert summary["withdrawals_since_last_export"] == 1
    assert summary["no_longer_permitted_since_last_export"] == 1
    assert summary["buckets"]["withdrawn"] == 2
    assert "A1" not in repr(summary)


def test_the_summary_has_aggregates_only(study):
    import_file(study, COHORT)
    summary = selectors.consent_summary(study["agreement"], today=TODAY)
    assert summary["students"] == 6 and summary["permitted"] == 1
    assert summary["last_export"] is None
    assert not any(key in repr(summary) for key in COHORT_STATES)


# --- scheduled jobs -----------------------------------------------------------------------


def test_the_daily_refresh_moves_students_who_turned_18_and_flags_the_roster(study):
    agreement, director = study["agreement"], study["users"]["director"]
    import_file(
        study,
        csv(
            "O1,granted,parent,paper,2026-09-01,High,12,2008,",
            "O1,granted,student,paper,2026-09-02,High,12,2008,",
        ),
    )
    research = study["orgs"]["northfield-university"]
    services.roster_export(
        agreement=agreement, by=director, recipient=research, as_of=TODAY, today=TODAY
    )
    new_year = dt.date(2027, 1, 1)
    # Before the refresh, coverage already reads the aged-out state correctly.
    assert selectors.coverage(agreement, kind="parental_assent", today=new_year).states == {
        State.NEEDS_OWN_CONSENT: 1
    }
    assert services.consent_states_refresh(today=new_year) == 1
    assert states(agreement) == {"O1": State.NEEDS_OWN_CONSENT}
    assert_counts_match(agreement)
    assert services.consent_states_refresh(today=new_year) == 0  # safe to rerun
    assert Notification.objects.filter(event="consent_withdrawn").exists()


def test_the_purge_removes_consent_after_the_retention_period_and_logs_counts(study):
    import_file(study, COHORT)
    agreement = study["agreement"]
    agreement_terminate(
        agreement=agreement,
        by=study["users"]["director"],
        ground="immediate",  # the District, with immediate effect: it ends today
        reason="Study cancelled",
    )
    agreement.refresh_from_db()
    ended = timezone.localdate(agreement.status_changed_at)
    assert services.consent_purge_expired(today=ended + dt.timedelta(days=29), days=30) == []
    logs = services.consent_purge_expired(today=ended + dt.timedelta(days=30), days=30)
    assert [(log.records_deleted, log.students_deleted) for log in logs] == [(8, 6)]
    assert not ConsentRecord.objects.exists() and not StudentConsent.objects.exists()
    assert not CoverageCount.objects.filter(agreement=agreement).exists()
    assert ConsentPurgeLog.objects.get().agreement_reference == agreement.reference
    assert services.consent_purge_expired(today=ended + dt.timedelta(days=31), days=30) == []


def test_the_purge_leaves_running_agreements_alone(study):
    import_file(study, COHORT)
    assert services.consent_purge_expired(today=TODAY + dt.timedelta(days=4000), days=0) == []
    assert ConsentRecord.objects.count() == 8


def test_the_trend_replays_history_into_snapshots(study):
    import_file(study, COHORT)
    days = services.coverage_trend_rebuild(agreement_id=study["agreement"].pk, today=TODAY)
    snapshots = list(CoverageSnapshot.objects.filter(agreement=study["agreement"]))
    assert len(snapshots) == days >= 3
    assert snapshots[-1].day == TODAY
    # (The student without any decision counts from the day they were registered.)
    decided = {k: v for k, v in snapshots[-1].counts.items() if k != State.NO_RESPONSE}
    assert decided == {s: 1 for s in COHORT_STATES.values() if s != State.NO_RESPONSE}
    # Before the first decision nobody had decided anything.
    assert snapshots[0].counts.get(State.GRANTED, 0) == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM consent_coveragesnapshot")
        assert cursor.fetchone()[0] == days


def test_a_record_cannot_point_at_another_agreements_form(study, world):
    other = make_agreement(world, title="Other study")
    with pytest.raises(IntegrityError, match="consent_record_form_of_agreement"):
        with transaction.atomic():
            ConsentRecord.objects.create(
                agreement=other,
                student_key="Q1",
                action="granted",
                given_by="parent",
                method="paper",
                decided_on=dt.date(2026, 9, 1),
                form=study["form"],
            )
    import_file(study, COHORT)
    with pytest.raises(IntegrityError, match="referenced by consent records"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM consent_consentform WHERE id = %s", [study["form"].pk])


def test_the_rebuild_command_reports_nothing_to_correct(study):
    from io import StringIO

    from django.core.management import call_command

    import_file(study, COHORT)
    StudentConsent.objects.filter(student_key="A1").update(state="refused", permitted=False)
    out = StringIO()
    call_command("consent_rebuild_states", study["agreement"].reference, stdout=out)
    assert out.getvalue().strip() == f"{study['agreement'].reference}: 1 state(s) corrected"
    assert states(study["agreement"]) == COHORT_STATES
    assert_counts_match(study["agreement"])


def test_the_summary_shows_the_district_every_roster_and_a_recipient_its_own(study):
    import_file(study, COHORT)
    agreement, director = study["agreement"], study["users"]["director"]
    services.roster_export(
        agreement=agreement,
        by=director,
        recipient=study["orgs"]["northfield-university"],
        as_of=TODAY,
        today=TODAY,
    )
    district = selectors.consent_summary(
        agreement, recipient_id=study["orgs"]["riverbend-usd"].pk, today=TODAY
    )
    developer = selectors.consent_summary(
        agreement, recipient_id=study["orgs"]["brightpath-learning"].pk, today=TODAY
    )
    assert district["last_export"]["row_count"] == 1
    assert developer["last_export"] is None
