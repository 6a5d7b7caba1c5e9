"""Research approvals (issue 20, item 4): recording and renewing them (who may, what is
refused and how the refusal names the field), the one definition of "current on day d" in
Python and SQL, reminders once per threshold, the pages' access and query counts, the
template workspace's setting, the dashboard panel and the demo."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agreements.approvals import rules
from agreements.approvals.demo import approval_letter_pdf, seed_research_approvals
from agreements.approvals.models import ApprovalKind, ApprovalReminderSent, ResearchApproval
from agreements.approvals.services import (
    MAX_DOCUMENT_BYTES,
    research_approval_record,
    research_approval_withdraw,
    research_approvals_send_reminders,
    template_research_approvals_set,
)
from agreements.models import Agreement, DSATemplate, Notification, Status
from audit.models import AuditAction, AuditEntry
from collaboratory.errors import DomainError
from tests.consent.conftest import activate, make_agreement

TODAY = dt.date(2026, 10, 15)
IRB, DISTRICT = ApprovalKind.IRB.value, ApprovalKind.DISTRICT_RESEARCH_OFFICE.value
LETTER = approval_letter_pdf("University of X IRB", "Approval 2025-123")


@pytest.fixture
def study(demo):
    """An active agreement (Northfield, Riverbend, Brightpath) whose template requires the
    IRB's and the district research office's approvals."""
    from agreements.demo import seed_templates

    demo["versions"] = seed_templates(demo["collaboratory"])
    agreement = activate(demo, make_agreement(demo))
    template_research_approvals_set(
        template=agreement.template_version.template,
        kinds=[IRB, DISTRICT],
        by=demo["users"]["facilitator"],
    )
    demo["agreement"] = Agreement.objects.get(pk=agreement.pk)
    return demo


def record(world, *, kind=IRB, by="researcher", today=TODAY, **changes):
    values = {
        "approving_body": (
            "University of X IRB" if kind == IRB else "Riverbend USD Office of Research"
        ),
        "number": "2025-123" if kind == IRB else "RUSD-7",
        "approved_on": dt.date(2025, 12, 1),
        "expires_on": dt.date(2026, 11, 30),
        "document_name": "irb-letter.pdf",
        "document": LETTER,
    }
    values.update(changes)
    return research_approval_record(
        agreement=world["agreement"], by=world["users"][by], kind=kind, today=today, **values
    )


def approvals(agreement):
    return list(ResearchApproval.objects.filter(agreement=agreement))


def fresh(agreement):
    return Agreement.objects.select_related("template_version__template").get(pk=agreement.pk)


# --- recording -------------------------------------------------------------------------------


def test_the_research_partner_records_its_irb_approval_with_its_letter(study):
    approval = record(study)
    assert approval.organisation == study["orgs"]["northfield-university"]
    assert approval.document_type == "application/pdf"
    assert approval.document_size == len(LETTER)
    assert approval.document.read() == LETTER
    assert approval.document.name.endswith(f"{approval.document_sha256}.pdf")
    entry = AuditEntry.objects.filter(action=AuditAction.RESEARCH_APPROVAL).latest("seq")
    assert entry.object_id == str(study["agreement"].pk)
    assert entry.payload["number"] == "2025-123" and entry.payload["kind"] == IRB


def test_the_district_records_its_research_office_approval(study):
    approval = record(study, kind=DISTRICT, by="director")
    assert approval.organisation == study["orgs"]["riverbend-usd"]


@pytest.mark.parametrize(
    ("kind", "username"),
    [(IRB, "director"), (IRB, "vendor"), (DISTRICT, "researcher"), (DISTRICT, "counsel")],
)
def test_only_the_holder_party_records_each_kind(study, kind, username):
    with pytest.raises(DomainError) as refused:
        record(study, kind=kind, by=username)
    holder = "research partner" if kind == IRB else "district"
    assert f"Only the {holder}'s people" in refused.value.messages[0]
    assert not approvals(study["agreement"])


def test_an_outsider_records_nothing(study, outsider):
    study["users"]["outsider"] = outsider
    with pytest.raises(DomainError):
        record(study, by="outsider")
    assert not approvals(study["agreement"])


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"approving_body": "  "}, "approving_body", "Name the approving body"),
        ({"number": ""}, "number", "approval number or protocol id"),
        ({"approved_on": None}, "approved_on", "Give the approval date"),
        ({"approved_on": TODAY + dt.timedelta(days=1)}, "approved_on", "in the future"),
        ({"expires_on": dt.date(2025, 12, 1)}, "expires_on", "after the approval date"),
        ({"expires_on": None}, "expires_on", "Give the expiry date"),
        ({"document": None}, "document", "Attach the approval letter"),
        ({"document": b"MZ\x90\x00 not a letter"}, "document", "is not a PDF"),
        ({"document": b"%PDF-" + b"0" * MAX_DOCUMENT_BYTES}, "document", "the limit is 10 MiB"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(study, changes, field, words):
    entries = AuditEntry.objects.count()
    with pytest.raises(DomainError) as refused:
        record(study, **changes)
    assert words in " ".join(refused.value.message_dict[field])
    assert not approvals(study["agreement"])
    assert AuditEntry.objects.count() == entries


def test_an_ended_agreement_takes_no_new_approval(study):
    Agreement.objects.filter(pk=study["agreement"].pk).update(status=Status.EXPIRED)
    with pytest.raises(DomainError, match="expired: no data may flow"):
        record(study)


def test_a_renewal_is_a_new_approval_and_the_history_stays(study):
    first = record(study)
    renewal = record(
        study,
        number="2025-123-R1",
        approved_on=dt.date(2026, 10, 1),
        expires_on=dt.date(2027, 9, 30),
    )
    assert renewal.renews == first
    rows = approvals(study["agreement"])
    assert {a.pk for a in rows} == {first.pk, renewal.pk}
    assert rules.approval_state(first, rows, TODAY) == rules.SUPERSEDED
    assert rules.approval_state(renewal, rows, TODAY) == rules.CURRENT


def test_a_withdrawn_approval_covers_nothing_and_needs_a_reason(study):
    approval = record(study)
    with pytest.raises(DomainError) as refused:
        research_approval_withdraw(approval=approval, by=study["users"]["researcher"], reason=" ")
    assert "reason" in refused.value.message_dict
    with pytest.raises(DomainError):
        research_approval_withdraw(approval=approval, by=study["users"]["director"], reason="x")
    research_approval_withdraw(
        approval=approval, by=study["users"]["researcher"], reason="Recorded in error."
    )
    approval.refresh_from_db()
    assert not rules.covers(approval, TODAY)
    assert AuditEntry.objects.filter(action=AuditAction.RESEARCH_APPROVAL_VOID).exists()


# --- the one definition ----------------------------------------------------------------------


def test_current_means_every_required_kind_covers_the_day_in_python_and_sql(study):
    agreement = study["agreement"]
    irb = record(study)
    record(
        study,
        kind=DISTRICT,
        by="director",
        approved_on=dt.date(2026, 2, 1),
        expires_on=dt.date(2027, 1, 31),
    )
    days = [
        dt.date(2025, 11, 30),  # before either
        dt.date(2026, 1, 15),  # IRB only
        dt.date(2026, 2, 1),  # both, first day of the district's
        dt.date(2026, 11, 30),  # the IRB's last day
        dt.date(2026, 12, 1),  # the IRB has expired
    ]
    expected = [False, False, True, True, False]

    def both_forms() -> tuple[list[bool], list[bool]]:
        row = fresh(agreement)
        rows = approvals(agreement)
        python = [rules.approvals_current(row, rows, day) for day in days]
        sql = [
            Agreement.objects.filter(pk=agreement.pk)
            .filter(rules.approvals_current_sql(d))
            .exists()
            for d in days
        ]
        return python, sql

    python, sql = both_forms()
    assert python == sql == expected
    # Only the IRB required: the district's approval no longer matters.
    template_research_approvals_set(
        template=agreement.template_version.template, kinds=[IRB], by=None
    )
    python, sql = both_forms()
    assert python == sql == [False, True, True, True, False]
    # A withdrawn IRB approval covers no day.
    research_approval_withdraw(approval=irb, by=study["users"]["researcher"], reason="Wrong.")
    python, sql = both_forms()
    assert python == sql == [False] * 5
    # Nothing required: always current.
    template_research_approvals_set(template=agreement.template_version.template, kinds=[], by=None)
    python, sql = both_forms()
    assert python == sql == [True] * 5


def test_the_refusal_names_the_approval_to_renew(study):
    record(study)
    record(study, kind=DISTRICT, by="director")
    agreement = fresh(study["agreement"])
    day = dt.date(2026, 12, 2)
    assert rules.problems(agreement, approvals(agreement), day, action="exporting the roster") == [
        "The IRB approval 2025-123 from University of X IRB expired on 2026-11-30: renew it "
        "before exporting the roster.",
        "The district research office approval RUSD-7 from Riverbend USD Office of Research "
        "expired on 2026-11-30: renew it before exporting the roster.",
    ]


def test_a_missing_approval_says_who_records_it(study):
    agreement = fresh(study["agreement"])
    problems = rules.problems(agreement, [], TODAY, action="exporting the roster")
    assert problems[0].startswith("The agreement needs a current IRB approval and none is")
    assert "the research partner records it" in problems[0]
    assert "the district records it" in problems[1]


# --- reminders -------------------------------------------------------------------------------


def test_reminders_go_60_30_and_7_days_before_once_per_threshold(study):
    approval = record(study)
    record(
        study,
        kind=DISTRICT,
        by="director",
        approved_on=dt.date(2026, 2, 1),
        expires_on=dt.date(2027, 9, 30),
    )
    expires = approval.expires_on
    assert research_approvals_send_reminders(today=expires - dt.timedelta(days=61)) == 0
    assert research_approvals_send_reminders(today=expires - dt.timedelta(days=60)) == 1
    assert research_approvals_send_reminders(today=expires - dt.timedelta(days=59)) == 0
    # The daily job missed days: the 30-day reminder still goes, once.
    assert research_approvals_send_reminders(today=expires - dt.timedelta(days=20)) == 1
    assert research_approvals_send_reminders(today=expires - dt.timedelta(days=20)) == 0
    assert research_approvals_send_reminders(today=expires - dt.timedelta(days=7)) == 1
    assert research_approvals_send_reminders(today=expires - dt.timedelta(days=3)) == 0
    assert set(
        ApprovalReminderSent.objects.filter(approval=approval).values_list("days_before", flat=True)
    ) == {60, 30, 7}
    notes = Notification.objects.filter(event="research_approval_expiring")
    recipients = {n.recipient.username for n in notes}
    # The holder (Northfield's staff and signatory) and the district's director; not the
    # developer, not Northfield's lawyer.
    assert {"researcher", "director"} <= recipients
    assert not recipients & {"vendor", "counsel"}
    subject = notes.first().subject
    assert "the IRB approval 2025-123 expires in" in subject


def test_a_renewed_approval_is_not_reminded(study):
    approval = record(study)
    record(study, approved_on=dt.date(2026, 10, 1), expires_on=dt.date(2027, 9, 30))
    assert research_approvals_send_reminders(today=approval.expires_on - dt.timedelta(days=7)) == 0


# --- pages -----------------------------------------------------------------------------------


def page(agreement):
    return reverse("agreement-research-approvals", args=[agreement.pk])


def test_the_researcher_records_a_renewal_on_the_page(client, study):
    record(study, expires_on=dt.date(2026, 11, 30))
    client.force_login(study["users"]["researcher"])
    form = client.get(page(study["agreement"]) + "?renew=irb").content.decode()
    assert 'value="University of X IRB"' in form and "the renewal of 2025-123" in form
    response = client.post(
        page(study["agreement"]),
        {
            "kind": IRB,
            "approving_body": "University of X IRB",
            "number": "2025-123-R1",
            "approved_on": "2026-11-20",
            "expires_on": "2027-11-19",
            "document": SimpleUploadedFile("renewal.pdf", LETTER, "application/pdf"),
        },
    )
    assert response.status_code == 302
    latest = ResearchApproval.objects.latest("recorded_at")
    assert latest.number == "2025-123-R1" and latest.renews is not None


def test_a_refused_record_shows_the_form_with_the_error_beside_the_field(client, study):
    client.force_login(study["users"]["researcher"])
    response = client.post(
        page(study["agreement"]),
        {"kind": IRB, "approving_body": "University of X IRB", "number": "1"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_document_error"' in body and "Attach the approval letter" in body
    assert 'id="id_approved_on_error"' in body


def test_the_page_lists_what_is_missing_and_offers_each_party_only_its_kind(client, study):
    client.force_login(study["users"]["director"])
    body = client.get(page(study["agreement"])).content.decode()
    assert "No data may flow" in body and "none is recorded" in body
    assert f'name="kind" value="{DISTRICT}"' in body  # hidden: the district's only kind
    client.force_login(study["users"]["vendor"])
    body = client.get(page(study["agreement"])).content.decode()
    assert "Record the approval" not in body


def test_the_page_query_count_is_fixed(client, study, django_assert_max_num_queries):
    for n in range(4):
        record(study, number=f"2025-12{n}")
    client.force_login(study["users"]["researcher"])
    # session, user, the agreement (access rule, trio, template), its trio's members, the
    # user's roles in its parties, the approvals with who recorded them.
    with django_assert_max_num_queries(6):
        assert client.get(page(study["agreement"])).status_code == 200


def test_the_letter_downloads_after_the_access_check_and_is_logged(client, study, outsider):
    approval = record(study)
    url = reverse("research-approval-document", args=[study["agreement"].pk, approval.pk])
    client.force_login(study["users"]["vendor"])
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == LETTER
    assert response["Content-Type"] == "application/pdf"
    assert AuditEntry.objects.filter(
        action=AuditAction.DOWNLOAD, payload__research_approval_id=approval.pk
    ).exists()
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(page(study["agreement"])).status_code == 404
    client.force_login(study["users"]["lakeshore"])
    assert client.get(url).status_code == 404


def test_strangers_and_the_anonymous_get_nothing(client, study, outsider):
    approval = record(study)
    agreement = study["agreement"]
    withdraw = reverse("research-approval-withdraw", args=[agreement.pk, approval.pk])
    assert client.get(page(agreement)).status_code == 302  # to the login page
    client.force_login(outsider)
    assert client.post(page(agreement), {"kind": IRB}).status_code == 404
    assert client.post(withdraw, {"reason": "mine now"}).status_code == 404
    approval.refresh_from_db()
    assert approval.withdrawn_at is None


def test_the_agreement_page_shows_the_approvals_without_extra_queries(client, study):
    record(study)
    client.force_login(study["users"]["director"])
    body = client.get(reverse("agreement-detail", args=[study["agreement"].pk])).content.decode()
    assert 'id="research-approvals"' in body
    assert "University of X IRB 2025-123" in body
    assert "none recorded" in body  # the district's


# --- the template workspace ----------------------------------------------------------------


def test_facilitators_set_which_approvals_a_template_requires(client, study):
    template = study["agreement"].template_version.template
    url = reverse("template-research-approvals", args=[template.pk])
    client.force_login(study["users"]["director"])
    assert client.post(url, {"required_research_approvals": [IRB]}).status_code == 404
    client.force_login(study["users"]["facilitator"])
    listing = client.get(reverse("template-list")).content.decode()
    assert 'name="required_research_approvals"' in listing
    assert client.post(url, {"required_research_approvals": [IRB]}).status_code == 302
    template.refresh_from_db()
    assert template.required_research_approvals == [IRB]
    assert AuditEntry.objects.filter(action=AuditAction.APPROVAL_REQUIREMENTS).exists()
    with pytest.raises(DomainError) as refused:
        template_research_approvals_set(template=template, kinds=["ethics"], by=None)
    assert "required_research_approvals" in refused.value.message_dict


# --- dashboard and demo --------------------------------------------------------------------


def test_the_dashboard_flags_missing_and_expiring_approvals(client, study):
    client.force_login(study["users"]["director"])
    body = client.get(reverse("dashboard")).content.decode()
    assert "Research approvals" in body and "No IRB approval recorded" in body


def test_the_demo_has_an_irb_approval_about_to_expire_on_an_active_agreement(demo):
    from consent.demo import seed_consent

    # As seed_demo does: the consent demo (its roster export) first, then the approvals.
    seed_consent(demo["collaboratory"])
    seed_research_approvals(demo["collaboratory"])
    template = DSATemplate.objects.get(slug="standard-dsa")
    assert template.required_research_approvals == [IRB, DISTRICT]
    from django.utils import timezone

    today = timezone.localdate()
    expiring = ResearchApproval.objects.filter(
        kind=IRB,
        agreement__status=Status.ACTIVE,
        expires_on__gt=today,
        expires_on__lte=today + dt.timedelta(days=20),
    )
    assert expiring.get().agreement.trio.slug == "adaptive-practice"
    # Every active agreement of the template can still let data flow today.
    active = Agreement.objects.filter(status=Status.ACTIVE, template_version__template=template)
    assert active.exists()
    assert active.filter(rules.approvals_current_sql(today)).count() == active.count()
    seed_research_approvals(demo["collaboratory"])  # idempotent
    assert ResearchApproval.objects.count() == 2 * active.count()


def test_the_holder_withdraws_an_approval_on_the_page_with_a_reason(client, study):
    approval = record(study)
    url = reverse("research-approval-withdraw", args=[study["agreement"].pk, approval.pk])
    client.force_login(study["users"]["director"])  # the district does not hold the IRB's
    client.post(url, {"reason": "Not ours."})
    approval.refresh_from_db()
    assert approval.withdrawn_at is None
    client.force_login(study["users"]["researcher"])
    response = client.post(url, {"reason": "Recorded against the wrong agreement."}, follow=True)
    assert "is withdrawn" in response.content.decode()
    approval.refresh_from_db()
    assert approval.withdrawn_reason == "Recorded against the wrong agreement."
    assert "Withdrawn" in client.get(page(study["agreement"])).content.decode()


def test_the_daily_job_sends_the_approval_reminders(study):
    from agreements.tasks import daily_lifecycle

    assert "approvals_reminded" in daily_lifecycle.run()


def test_the_dashboard_panel_shows_no_approval_of_an_agreement_the_user_cannot_see(client, study):
    # Lakeshore's own active agreement (same template) lacks approvals too and is listed;
    # the study of another district's partnership is not.
    client.force_login(study["users"]["lakeshore"])
    body = client.get(reverse("dashboard")).content.decode()
    assert "No IRB approval recorded" in body
    assert study["agreement"].reference not in body
    client.force_login(study["users"]["director"])
    assert study["agreement"].reference in client.get(reverse("dashboard")).content.decode()
