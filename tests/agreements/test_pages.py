"""Agreement pages: what each role sees and can do, query counts, escaping, 404s."""

import pytest
from django.urls import reverse

from agreements.models import Agreement, Notification, Status
from agreements.negotiation.proposals import override_propose
from agreements.selectors import consolidated_text, with_agreement_detail
from tests.conftest import otp_verified

NEGOTIATING = "Adaptive Practice Real-Time Dashboard Pilot"
SIGNING = "Open Curriculum Implementation Data Agreement"
IN_REVIEW = "Adaptive Practice Outcomes Study 2026-2028"
LAKESHORE = "Lakeshore Fluency Pathways Data Agreement"


@pytest.fixture
def agreements(demo):
    return demo["agreements"]


def detail(agreement):
    return reverse("agreement-detail", args=[agreement.pk])


def test_seed_leaves_agreements_in_every_state(agreements):
    statuses = {a.status for a in agreements.values()}
    assert statuses >= {"negotiating", "in_review", "signing", "active", "expired"}
    negotiating = with_agreement_detail(Agreement.objects.all()).get(pk=agreements[NEGOTIATING].pk)
    from agreements.selectors import conflicts

    assert "breach-notification" in conflicts(negotiating)


def test_list_shows_visible_agreements_only(client, demo, agreements):
    client.force_login(demo["users"]["director"])
    page = client.get(reverse("agreement-list")).content.decode()
    assert agreements[SIGNING].reference in page
    assert agreements[LAKESHORE].reference not in page


def test_list_filters_by_status_and_expiry(client, demo, agreements):
    client.force_login(demo["users"]["director"])
    page = client.get(reverse("agreement-list"), {"status": "signing"}).content.decode()
    assert agreements[SIGNING].reference in page
    assert agreements[IN_REVIEW].reference not in page
    page = client.get(reverse("agreement-list"), {"expiring_within": "90"}).content.decode()
    assert agreements["Productive Struggle Classroom Study"].reference in page
    assert agreements[SIGNING].reference not in page
    response = client.get(reverse("agreement-list"), {"expiring_within": "-4"})
    assert "Ensure this value is greater than or equal to 1" in response.content.decode()


def test_list_query_count_does_not_grow(client, demo, agreements, django_assert_max_num_queries):
    client.force_login(demo["users"]["facilitator"])
    # session, user, trios for the filter, count, page of agreements, trio members (+orgs).
    with django_assert_max_num_queries(7):
        client.get(reverse("agreement-list"))
    source = agreements[SIGNING]
    for n in range(30):
        Agreement.objects.create(
            reference=f"AIMS-2030-{n:03d}",
            trio=source.trio,
            template_version=source.template_version,
            title=f"Copy {n}",
            purpose="p",
            sharing_mode="analysis",
            start_date=source.start_date,
            expires_on=source.expires_on,
            breach_notice_hours=72,
            retention_days=30,
            status="draft",
            status_changed_at=source.status_changed_at,
        )
    with django_assert_max_num_queries(7):
        client.get(reverse("agreement-list"))


def test_detail_query_count_is_fixed(client, demo, agreements, django_assert_max_num_queries):
    client.force_login(demo["users"]["director"])
    # session, user, the agreement with its related rows as JSON (members, clauses,
    # overrides, responses, data elements, their questions, research questions, approvals,
    # signatures, transitions, comments), party roles, render jobs, consent requirements,
    # coverage.
    with django_assert_max_num_queries(8):
        response = client.get(detail(agreements[NEGOTIATING]))
    assert response.status_code == 200
    # The largest demo agreement: more overrides do not add queries.
    override_propose(
        agreement=agreements[NEGOTIATING],
        by=demo["users"]["counsel"],
        kind="replace",
        clause_key="audits",
        body="Audits once a year.",
        rationale="Fewer audits.",
    )
    with django_assert_max_num_queries(8):
        client.get(detail(agreements[NEGOTIATING]))


@pytest.mark.parametrize(
    "name",
    ["agreement-detail", "agreement-history", "agreement-sign", "data-element-add"],
)
def test_strangers_get_404(client, demo, agreements, outsider, name):
    lakeshore = agreements[LAKESHORE]
    for user in (outsider, demo["users"]["director"]):
        client.force_login(user)
        assert client.get(reverse(name, args=[lakeshore.pk])).status_code == 404


@pytest.mark.parametrize(
    "name",
    [
        "agreement-open-negotiation",
        "override-propose",
        "clause-comment",
        "agreement-submit",
        "agreement-reopen",
        "agreement-approve",
        "agreement-terminate",
    ],
)
def test_strangers_get_404_on_actions(client, demo, agreements, outsider, name):
    client.force_login(outsider)
    before = Agreement.objects.get(pk=agreements[LAKESHORE].pk).status
    response = client.post(reverse(name, args=[agreements[LAKESHORE].pk]), {"reason": "x"})
    assert response.status_code == 404
    assert Agreement.objects.get(pk=agreements[LAKESHORE].pk).status == before


def test_director_sees_conflict_and_pending_proposals(client, demo, agreements):
    client.force_login(demo["users"]["director"])
    page = client.get(detail(agreements[NEGOTIATING])).content.decode()
    assert "Conflict: several parties propose different changes." in page
    assert "propose different changes to 16. Security Incidents and Breach Notification" in page
    # The conflict is the university's and the vendor's to settle (issue 17 item 4).
    assert "Resolve the conflict" not in page
    assert "can settle this conflict; you can propose your own text." in page
    # The submit button is disabled and says why.
    assert 'disabled aria-describedby="why-submit"' in page


def test_researcher_cannot_approve_and_is_told_why(client, demo, agreements):
    client.force_login(demo["users"]["researcher"])
    page = client.get(detail(agreements[IN_REVIEW])).content.decode()
    assert "Only a party&#x27;s legal team can approve." in page


def test_director_approves_in_the_browser_flow(client, demo, agreements):
    client.force_login(demo["users"]["director"])
    agreement = agreements[IN_REVIEW]
    text_hash = Agreement.objects.get(pk=agreement.pk).text_hash
    response = client.post(
        reverse("agreement-approve", args=[agreement.pk]),
        {"text_hash": text_hash, "confirmed": "on"},
        follow=True,
    )
    assert "You approved this text for your organisation." in response.content.decode()
    assert Agreement.objects.get(pk=agreement.pk).status == Status.SIGNING


def test_stale_approval_is_refused_with_a_message(client, demo, agreements):
    client.force_login(demo["users"]["director"])
    agreement = agreements[IN_REVIEW]
    response = client.post(
        reverse("agreement-approve", args=[agreement.pk]),
        {"text_hash": "f" * 64, "confirmed": "on"},
        follow=True,
    )
    assert "The text changed since you opened it" in response.content.decode()
    assert Agreement.objects.get(pk=agreement.pk).status == Status.IN_REVIEW


def test_director_signs_with_intent_and_the_agreement_becomes_active(client, demo, agreements):
    otp_verified(client, demo["users"]["director"])  # signatories need two-factor (issue 9)
    agreement = agreements[SIGNING]
    url = reverse("agreement-sign", args=[agreement.pk])
    page = client.get(url).content.decode()
    assert "I intend my typed name to be my signature" in page
    text_hash = Agreement.objects.get(pk=agreement.pk).text_hash
    response = client.post(
        url, {"text_hash": text_hash, "signer_title": "Superintendent", "typed_name": "Maya Okafr"}
    )
    content = response.content.decode()
    assert "Type your full name exactly as “Maya Okafor” to sign." in content
    assert "Tick the box to confirm you intend to sign." in content
    response = client.post(
        url,
        {
            "text_hash": text_hash,
            "signer_title": "Superintendent",
            "typed_name": "Maya Okafor",
            "intent_confirmed": "on",
        },
        HTTP_USER_AGENT="Browser/1.0",
        follow=True,
    )
    assert "You signed the agreement" in response.content.decode()
    agreement.refresh_from_db()
    assert agreement.status == Status.ACTIVE
    signature = agreement.signatures.get(organisation__slug="riverbend-usd")
    assert signature.user_agent == "Browser/1.0"
    assert signature.ip_address == "127.0.0.1"


def test_counsel_proposes_in_the_browser_and_others_are_notified(client, demo, agreements):
    client.force_login(demo["users"]["counsel"])
    agreement = agreements[NEGOTIATING]
    response = client.post(
        reverse("override-propose", args=[agreement.pk]),
        {
            "kind": "replace",
            "clause_key": "insurance",
            "body": "Each party self-insures.",
            "rationale": "Public university.",
        },
        follow=True,
    )
    assert "Your proposal is recorded" in response.content.decode()
    recipients = set(
        Notification.objects.filter(
            event="override_proposed",
            agreement=agreement,
            subject__regex=r"proposes a change to \d+\. Insurance$",
        ).values_list("recipient__username", flat=True)
    )
    assert {"director", "vendor"} <= recipients
    assert "counsel" not in recipients
    # Each notification lands on the clause the proposal is about.
    urls = set(
        Notification.objects.filter(
            event="override_proposed",
            agreement=agreement,
            subject__regex=r"proposes a change to \d+\. Insurance$",
        ).values_list("url", flat=True)
    )
    assert urls == {reverse("agreement-detail", args=[agreement.pk]) + "#clause-insurance"}


def test_proposal_without_rationale_is_refused_with_a_message(client, demo, agreements):
    client.force_login(demo["users"]["counsel"])
    agreement = agreements[NEGOTIATING]
    response = client.post(
        reverse("override-propose", args=[agreement.pk]),
        {"kind": "replace", "clause_key": "insurance", "body": "x", "rationale": ""},
        follow=True,
    )
    assert (
        "Explain why you propose this change: the other parties read your rationale."
        in response.content.decode()
    )


PAYLOADS = [
    "{{ settings.SECRET_KEY }}",
    "{% debug %}",
    "{% load log %}",
    "<script>alert(1)</script>",
]


def test_clause_text_is_shown_literally_everywhere(client, demo, agreements, settings):
    agreement = agreements[NEGOTIATING]
    body = " ".join(reversed(PAYLOADS))  # short enough to survive the history page's excerpt
    override_propose(
        agreement=agreement,
        by=demo["users"]["counsel"],
        kind="insert",
        clause_key="audits",
        new_key="payload",
        heading="<b>Heading</b> {{ 7|add:1 }}",
        body=body,
        rationale="{% debug %} <img src=x onerror=alert(1)>",
    )
    client.force_login(demo["users"]["director"])
    pages = [
        client.get(detail(agreement)).content.decode(),
        client.get(reverse("agreement-history", args=[agreement.pk])).content.decode(),
    ]
    for page in pages:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script>alert(1)</script>" not in page
        assert "{{ settings.SECRET_KEY }}" in page
        assert settings.SECRET_KEY not in page
        assert "{% debug %}" in page
    assert "&lt;b&gt;Heading&lt;/b&gt; {{ 7|add:1 }}" in pages[0]
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[0]
    text = consolidated_text(with_agreement_detail(Agreement.objects.all()).get(pk=agreement.pk))
    assert text.clause("audits") is not None


def test_history_page_shows_bulk_updates_too(client, demo, agreements):
    agreement = agreements[NEGOTIATING]
    Agreement.objects.filter(pk=agreement.pk).update(title="Renamed behind the app's back")
    client.force_login(demo["users"]["director"])
    page = client.get(reverse("agreement-history", args=[agreement.pk])).content.decode()
    assert "Renamed behind the app&#x27;s back" in page


def test_one_built_page_statement_keeps_every_viewer_to_their_own_agreements(
    client, demo, outsider, builds
):
    """The page's statement is built once per shape (a superuser or not) and run with each
    viewer and agreement as its parameters: every viewer still sees exactly the agreements
    the access rule gives them, and a 404 for the rest (including an unknown id)."""
    import uuid

    from django.contrib.auth import get_user_model

    from agreements.selectors import agreements_visible_to
    from agreements.web import views

    builds.watch(views, "_page_statement")
    root = get_user_model().objects.create_superuser("page-root", password="x" * 16)
    viewers = [*demo["users"].values(), outsider, root]
    every = list(Agreement.objects.order_by("reference"))
    shown = 0
    for viewer in viewers:
        client.force_login(viewer)
        visible = set(agreements_visible_to(viewer).values_list("pk", flat=True))
        for agreement in every:
            response = client.get(detail(agreement))
            expected = 200 if agreement.pk in visible else 404
            assert response.status_code == expected, (viewer.username, agreement.reference)
            if expected == 200:
                assert response.context["agreement"].pk == agreement.pk
                shown += 1
        assert client.get(reverse("agreement-detail", args=[uuid.uuid4()])).status_code == 404
    assert 0 < shown < len(viewers) * len(every)
    assert sorted(builds.of("_page_statement")) == [(False,), (True,)]
