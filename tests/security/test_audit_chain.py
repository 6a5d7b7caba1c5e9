"""The audit chain (issue 9, item 8): what is recorded, that it is append-only in PostgreSQL
(triggers, and privileges of a separate application role), that ``verify_audit`` finds a row
changed or removed by hand, that concurrent writers cannot fork it, and the trail page."""

from __future__ import annotations

import threading

import psycopg2
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, connections, transaction

from agreements.models import Agreement, Document, DocumentKind, Status
from agreements.review.services import agreement_approve
from agreements.selectors import consolidated_text, with_agreement_detail
from agreements.signing.services import agreement_sign
from audit.models import AuditAction, AuditEntry
from audit.services import GENESIS_HASH, compute_hash, record, verify_chain

APP_ROLE = "collaboratory_app"


def _agreement(status: str) -> Agreement:
    return with_agreement_detail(Agreement.objects.filter(status=status)).order_by("reference")[0]


def _trail(agreement: Agreement, action: str | None = None):
    entries = AuditEntry.objects.filter(
        object_type="agreements.agreement", object_id=str(agreement.pk)
    )
    return entries.filter(action=action) if action else entries


def _new_entries(since: int):
    return AuditEntry.objects.filter(seq__gt=since).order_by("seq")


def _head() -> int:
    return AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


# --- what is recorded -----------------------------------------------------------------------


@pytest.mark.django_db
def test_seeding_the_demo_leaves_an_intact_chain_of_transitions_approvals_and_signatures(demo):
    active = _agreement(Status.ACTIVE)
    assert _trail(active, AuditAction.APPROVAL).count() == 3
    assert _trail(active, AuditAction.SIGNATURE).count() == 3
    steps = [(e.payload["from"], e.payload["to"]) for e in _trail(active, AuditAction.TRANSITION)]
    assert steps == [
        ("draft", "negotiating"),
        ("negotiating", "in_review"),
        ("in_review", "signing"),
        ("signing", "active"),
    ]
    assert verify_chain().ok


@pytest.mark.django_db
def test_the_last_approval_and_signature_are_recorded_with_who_and_the_text_hash(demo):
    director = demo["users"]["director"]
    review = _agreement(Status.IN_REVIEW)
    head = _head()
    text_hash = consolidated_text(review).sha256
    agreement_approve(agreement=review, by=director, text_hash=text_hash)
    entries = list(_new_entries(head))
    assert [e.action for e in entries] == [AuditAction.APPROVAL, AuditAction.TRANSITION]
    approval, transition = entries
    assert approval.actor_id == director.pk
    assert approval.actor_label == f"{director.get_full_name()} ({director.username})"
    assert approval.payload["text_hash"] == text_hash
    assert approval.organisation_id == demo["orgs"]["riverbend-usd"].pk
    assert transition.payload["to"] == "signing"

    signing = _agreement(Status.SIGNING)
    head = _head()
    agreement_sign(
        agreement=signing,
        by=director,
        typed_name=director.get_full_name(),
        intent_confirmed=True,
        text_hash=signing.text_hash,
        ip_address="127.0.0.1",
    )
    actions = [e.action for e in _new_entries(head)]
    assert actions == [AuditAction.SIGNATURE, AuditAction.TRANSITION]
    signature = _new_entries(head).first()
    assert signature.payload["typed_name"] == director.get_full_name()
    assert signature.payload["ip_address"] == "127.0.0.1"


@pytest.mark.django_db
def test_a_refused_act_records_nothing(demo):
    head = _head()
    with pytest.raises(Exception, match="approve"):
        agreement_approve(
            agreement=_agreement(Status.ACTIVE), by=demo["users"]["director"], text_hash="x"
        )
    assert _head() == head


@pytest.mark.django_db
def test_downloads_and_exports_are_recorded(demo, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    director = demo["users"]["director"]
    active = _agreement(Status.ACTIVE)
    name = default_storage.save("documents/sealed.pdf", ContentFile(b"%PDF-1.7 test"))
    document = Document.objects.create(
        agreement=active,
        kind=DocumentKind.EXECUTED,
        text_hash=active.text_hash,
        sha256="e" * 64,
        file=name,
        size=13,
        sealed=True,
    )
    client.force_login(director)
    head = _head()
    assert (
        client.get(f"/agreements/{active.pk}/documents/{document.pk}/download/").status_code == 200
    )
    assert client.get(f"/agreements/{active.pk}/redline.docx").status_code == 200
    entries = list(_new_entries(head))
    assert [(e.action, e.actor_id) for e in entries] == [
        (AuditAction.DOWNLOAD, director.pk),
        (AuditAction.EXPORT, director.pk),
    ]
    assert entries[0].payload["sha256"] == "e" * 64
    assert entries[1].payload == {
        "export": "redline",
        "format": "docx",
        "text_hash": active.text_hash,
        # An active agreement's redline shows accepted changes only, and says so.
        "changes": "accepted",
    }


@pytest.mark.django_db
def test_api_tokens_are_recorded_when_issued_revoked_and_used_at_most_once_a_minute(demo, client):
    from partners.api_auth import api_token_issue, api_token_revoke

    riverbend = demo["orgs"]["riverbend-usd"]
    head = _head()
    row, token = api_token_issue(
        organisation=riverbend, name="SIS", scopes=["agreements:read"], by=demo["users"]["director"]
    )
    for _ in range(3):
        response = client.get("/api/v1/organisations/me", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200
    api_token_revoke(token=row, by=demo["users"]["director"])
    entries = list(_new_entries(head))
    assert [e.action for e in entries] == [
        AuditAction.API_TOKEN_ISSUED,
        AuditAction.API_TOKEN_USED,
        AuditAction.API_TOKEN_REVOKED,
    ]
    used = entries[1]
    assert used.object_type == "partners.apitoken"
    assert used.object_id == str(row.pk)
    assert used.actor_label == f"API token {row.prefix} of riverbend-usd"
    assert used.organisation_id == riverbend.pk
    assert used.payload["path"] == "/api/v1/organisations/me"
    assert token not in str([e.payload for e in entries])


@pytest.mark.django_db
def test_admin_additions_changes_and_deletions_are_recorded(admin_client, admin_user, demo):
    from django.contrib import admin
    from django.contrib.admin.models import LogEntry
    from django.test import RequestFactory

    from partners.models import Collaboratory

    head = _head()
    created = admin_client.post(
        "/admin/partners/collaboratory/add/",
        {"name": "Geometry Collaboratory", "code": "GEOM", "slug": "geometry", "staff": []},
    )
    assert created.status_code == 302, created.content[:2000]
    collaboratory = Collaboratory.objects.get(slug="geometry")
    request = RequestFactory().post("/")
    request.user = admin_user
    admin.site._registry[Collaboratory].log_change(request, collaboratory, "renamed")
    deleted = admin_client.post(
        f"/admin/partners/collaboratory/{collaboratory.pk}/delete/", {"post": "yes"}
    )
    assert deleted.status_code == 302
    entries = list(_new_entries(head))
    assert [e.action for e in entries] == [
        AuditAction.ADMIN_ADDITION,
        AuditAction.ADMIN_CHANGE,
        AuditAction.ADMIN_DELETION,
    ]
    assert {e.object_id for e in entries} == {str(collaboratory.pk)}
    assert {e.actor_id for e in entries} == {admin_user.pk}
    assert entries[0].payload["via"] == "admin"
    assert LogEntry.objects.filter(object_id=str(collaboratory.pk)).count() == 3


# --- the chain ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_entry_carries_the_hash_of_the_one_before(demo):
    head = _head()
    for n in range(3):
        record(action=AuditAction.EXPORT, object_type="tests.thing", object_id=str(n))
    entries = list(AuditEntry.objects.filter(seq__gte=max(head, 1)).order_by("seq"))
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.seq == before.seq + 1
        assert after.prev_hash == before.entry_hash
        assert after.entry_hash == compute_hash(before.entry_hash, after)
    first = AuditEntry.objects.get(seq=1)
    assert first.prev_hash == GENESIS_HASH


@pytest.mark.django_db
def test_the_database_refuses_to_update_delete_or_truncate_audit_entries(demo):
    entries = AuditEntry.objects.all()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        entries.update(payload={"forged": True})
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        entries._raw_delete("default")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        _sql("SET LOCAL collaboratory.allow_audit_truncate = 'off'")
        _sql("TRUNCATE audit_auditentry")
    assert verify_chain().ok


def _tamper(statement: str, params=()) -> None:
    """What an attacker with the owner's (or a superuser's) rights could do by hand."""
    _sql("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
    _sql(statement, params)
    _sql("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")


@pytest.mark.django_db
def test_verify_audit_passes_on_an_untouched_chain(demo, capsys):
    call_command("verify_audit")
    assert "Audit chain intact" in capsys.readouterr().out


@pytest.mark.django_db
def test_verify_audit_names_the_first_row_altered_by_hand(demo):
    middle = AuditEntry.objects.order_by("seq")[AuditEntry.objects.count() // 2]
    _tamper(
        'UPDATE audit_auditentry SET payload = payload || \'{"to": "terminated"}\' WHERE seq = %s',
        [middle.seq],
    )
    with pytest.raises(
        CommandError, match=rf"seq {middle.seq}: its contents do not match"
    ) as broken:
        call_command("verify_audit")
    assert broken.value.returncode == 1


@pytest.mark.django_db
def test_verify_audit_finds_a_row_deleted_from_the_middle(demo):
    middle = AuditEntry.objects.order_by("seq")[AuditEntry.objects.count() // 2]
    _tamper("DELETE FROM audit_auditentry WHERE seq = %s", [middle.seq])
    with pytest.raises(CommandError, match=rf"seq {middle.seq + 1}: expected entry #{middle.seq}"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_verify_audit_finds_a_deleted_row_even_when_the_numbers_are_closed_up(demo):
    middle = AuditEntry.objects.order_by("seq")[AuditEntry.objects.count() // 2]
    _tamper("DELETE FROM audit_auditentry WHERE seq = %s", [middle.seq])
    _tamper("UPDATE audit_auditentry SET seq = seq - 1 WHERE seq > %s", [middle.seq])
    with pytest.raises(CommandError, match=rf"seq {middle.seq}: its prev_hash does not match"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_verify_audit_finds_removed_newest_entries_against_a_recorded_head(demo, capsys):
    record(action=AuditAction.EXPORT, object_type="tests.thing", object_id="1")
    newest = AuditEntry.objects.order_by("-seq").first()
    _tamper("DELETE FROM audit_auditentry WHERE seq = %s", [newest.seq])
    call_command("verify_audit")  # a shorter chain is still a valid chain ...
    with pytest.raises(CommandError, match=rf"seq {newest.seq}: the recorded head is missing"):
        call_command("verify_audit", expect_head=f"{newest.seq}:{newest.entry_hash}")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_cannot_fork_the_chain():
    """Two connections append at once; the advisory lock makes them queue, so every entry
    links to the one truly before it and no number is used twice."""
    head = _head()
    per_thread, errors = 25, []
    start = threading.Barrier(2)

    def writer(name: str) -> None:
        try:
            start.wait()
            for n in range(per_thread):
                with transaction.atomic():
                    record(
                        action=AuditAction.EXPORT,
                        object_type="tests.writer",
                        object_id=f"{name}-{n}",
                    )
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    new = list(_new_entries(head))
    assert [e.seq for e in new] == list(range(head + 1, head + 1 + 2 * per_thread))
    assert {e.object_id.split("-")[0] for e in new} == {"a", "b"}
    assert verify_chain().ok


# --- a separate application role ---------------------------------------------------------------


def _role_exists(role: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        return cursor.fetchone() is not None


@pytest.mark.django_db(transaction=True)
def test_the_application_role_may_only_read_and_append_audit_entries():
    """Production runs the app as a role without UPDATE, DELETE or TRUNCATE on the audit
    table (README, "Audit trail"): PostgreSQL refuses them by permission, triggers or not.
    scripts/stack.py creates the login role ``collaboratory_app`` for this test."""
    if not _role_exists(APP_ROLE):
        pytest.skip(f"no database role {APP_ROLE} (scripts/stack.py creates it)")
    record(action=AuditAction.EXPORT, object_type="tests.thing", object_id="role")
    call_command("audit_grant_app_role", APP_ROLE)
    db = settings.DATABASES["default"]
    app = psycopg2.connect(
        host=db["HOST"], port=db["PORT"], dbname=connection.settings_dict["NAME"], user=APP_ROLE
    )
    try:
        with app.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM audit_auditentry")
            assert cursor.fetchone()[0] >= 1
        app.rollback()
        for statement in (
            "UPDATE audit_auditentry SET payload = '{}'",
            "DELETE FROM audit_auditentry",
            "TRUNCATE audit_auditentry",
        ):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege), app.cursor() as cursor:
                cursor.execute(statement)
            app.rollback()
        with app.cursor() as cursor:
            cursor.execute(
                "INSERT INTO audit_auditentry (seq, occurred_at, actor_label, action, object_type,"
                " object_id, payload, prev_hash, entry_hash) SELECT max(seq) + 1, now(), 'app',"
                " 'export', 'tests.thing', 'x', '{}', 'p', 'h' FROM audit_auditentry"
            )
        app.rollback()  # appending is allowed (and rolled back: the hash here is fake)
    finally:
        app.close()


# --- the trail page ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_audit_trail_page_lists_an_agreements_entries(
    client, demo, django_assert_max_num_queries
):
    active = _agreement(Status.ACTIVE)
    client.force_login(demo["users"]["director"])
    # session, user, agreement (access rule), entry count, one page of entries
    with django_assert_max_num_queries(5):
        response = client.get(f"/agreements/{active.pk}/audit/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Signature" in body and "Lifecycle transition" in body
    assert active.signatures.first().typed_name in body


@pytest.mark.django_db
def test_the_audit_trail_page_is_paginated(client, demo):
    active = _agreement(Status.ACTIVE)
    for n in range(55):
        record(action=AuditAction.DOWNLOAD, target=active, payload={"n": n})
    client.force_login(demo["users"]["director"])
    first = client.get(f"/agreements/{active.pk}/audit/")
    second = client.get(f"/agreements/{active.pk}/audit/?page=2")
    assert len(first.context["entries"]) == 50
    assert first.context["page"].paginator.count == _trail(active).count()
    assert second.context["page"].number == 2
    assert "n</span>: 54" in first.content.decode()


@pytest.mark.django_db
def test_an_outsider_gets_404_for_the_audit_trail(client, demo, outsider):
    active = _agreement(Status.ACTIVE)
    client.force_login(outsider)
    assert client.get(f"/agreements/{active.pk}/audit/").status_code == 404


@pytest.mark.django_db
def test_another_districts_people_get_404_for_the_audit_trail(client, demo):
    lakeshore = demo["agreements"]["Lakeshore Fluency Pathways Data Agreement"]
    client.force_login(demo["users"]["director"])
    assert client.get(f"/agreements/{lakeshore.pk}/audit/").status_code == 404
