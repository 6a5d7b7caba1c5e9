"""The guided "new agreement" flow: each step validates, the answers live in the session,
the summary shows them, and creating makes the draft, its data elements and its consent
requirement in one transaction."""

import pytest
from django.urls import reverse

from agreements.models import Agreement
from partners.models import ResearchQuestion

TRIO = ("aims", "adaptive-practice")


def step_url(step: str) -> str:
    return reverse("agreement-wizard", args=[*TRIO, step])


@pytest.fixture
def director_client(client, demo):
    client.force_login(demo["users"]["director"])
    return client


def _orgs(demo):
    return {k: demo["orgs"][k].pk for k in ("riverbend-usd", "northfield-university")}


def _need_and_data(client, demo, *, identifiability="pseudonymous"):
    trio = demo["trios"]["adaptive-practice"]
    question = trio.research_questions.order_by("position").first()
    orgs = _orgs(demo)
    response = client.post(
        step_url("need"),
        {
            "title": "Practice and growth 2027",
            "need": "Learn whether weekly adaptive practice helps Algebra I students grow.",
            "research_questions": [str(question.pk)],
            "new_question": "Does practice time predict unit test growth?",
            "success": "A 0.1 SD difference in unit assessment scores.",
        },
    )
    assert response.status_code == 302 and response["Location"] == step_url("data")
    response = client.post(
        step_url("data"),
        {
            "elements-TOTAL_FORMS": "2",
            "elements-INITIAL_FORMS": "0",
            "elements-MIN_NUM_FORMS": "0",
            "elements-MAX_NUM_FORMS": "1000",
            "elements-0-name": "Unit assessment scores",
            "elements-0-description": "Units 1-8",
            "elements-0-source": str(orgs["riverbend-usd"]),
            "elements-0-recipient": str(orgs["northfield-university"]),
            "elements-0-identifiability": identifiability,
            "elements-0-research_questions": [str(question.pk), "new"],
            # An untouched extra row is ignored.
        },
    )
    assert response.status_code == 302, response.context and response.context["formset"].errors


def _walk_to_summary(client, demo, *, consent="parental"):
    _need_and_data(client, demo)
    response = client.post(step_url("value"), {"sharing_mode": "analysis", "benefits": "A report."})
    assert response.status_code == 302
    version = demo["agreements"]["Adaptive Practice Outcomes Study 2026-2028"].template_version
    response = client.post(
        step_url("match"),
        {
            "template_version": str(version.pk),
            "start_date": "2027-01-15",
            "term_months": "12",
            "breach_notice_hours": "48",
            "retention_days": "60",
            "governing_state": "Columbia",
            "publication_review_days": "30",
            "data_custodian_title": "Director of Research",
        },
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    response = client.post(step_url("consent"), {"kind": consent, "legal_basis": ""})
    assert response.status_code == 302 and response["Location"] == step_url("summary")
    return version


def test_old_create_address_starts_the_guided_flow(director_client):
    response = director_client.get(reverse("agreement-create", args=TRIO))
    assert response.status_code == 302
    assert response["Location"] == step_url("need")


def test_steps_cannot_be_skipped(director_client):
    response = director_client.get(step_url("match"))
    assert response.status_code == 302 and response["Location"] == step_url("need")


def test_each_step_validates(director_client, demo):
    response = director_client.post(
        step_url("need"), {"title": "x", "need": "short", "success": ""}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "need" in errors and "success" in errors and "research_questions" in errors


def test_data_elements_must_answer_a_question_and_differ_in_source(director_client, demo):
    trio = demo["trios"]["adaptive-practice"]
    question = trio.research_questions.first()
    director_client.post(
        step_url("need"),
        {
            "title": "T",
            "need": "A need that is long enough to pass.",
            "success": "S",
            "research_questions": [str(question.pk)],
        },
    )
    org = str(demo["orgs"]["riverbend-usd"].pk)
    response = director_client.post(
        step_url("data"),
        {
            "elements-TOTAL_FORMS": "1",
            "elements-INITIAL_FORMS": "0",
            "elements-MIN_NUM_FORMS": "0",
            "elements-MAX_NUM_FORMS": "1000",
            "elements-0-name": "Scores",
            "elements-0-source": org,
            "elements-0-recipient": org,
            "elements-0-identifiability": "aggregate",
        },
    )
    form = response.context["formset"].forms[0]
    assert "recipient" in form.errors and "research_questions" in form.errors
    empty = director_client.post(
        step_url("data"),
        {
            "elements-TOTAL_FORMS": "1",
            "elements-INITIAL_FORMS": "0",
            "elements-MIN_NUM_FORMS": "0",
            "elements-MAX_NUM_FORMS": "1000",
        },
    )
    assert "at least one data element" in empty.content.decode()
    more = director_client.post(
        step_url("data"),
        {
            "elements-TOTAL_FORMS": "1",
            "elements-INITIAL_FORMS": "0",
            "elements-MIN_NUM_FORMS": "0",
            "elements-MAX_NUM_FORMS": "1000",
            "add": "1",
        },
    )
    assert len(more.context["formset"].forms) == 2  # works without JavaScript


def test_identifiable_data_needs_operations_mode(director_client, demo):
    _need_and_data(director_client, demo, identifiability="identifiable")
    response = director_client.post(step_url("value"), {"sharing_mode": "analysis"})
    assert response.status_code == 200
    assert "needs operations mode" in response.content.decode()


def test_summary_then_create_makes_everything_in_one_go(director_client, demo):
    version = _walk_to_summary(director_client, demo)
    summary = director_client.get(step_url("summary")).content.decode()
    assert "Practice and growth 2027" in summary and "Unit assessment scores" in summary
    assert "How success will be measured: A 0.1 SD difference" in summary
    response = director_client.post(step_url("summary"))
    agreement = Agreement.objects.get(title="Practice and growth 2027")
    assert response["Location"] == reverse("agreement-detail", args=[agreement.pk])
    assert agreement.status == "draft" and agreement.template_version == version
    assert agreement.breach_notice_hours == 48
    assert agreement.destruction_date.isoformat() == "2028-03-15"  # expiry + 60 days
    assert "How success will be measured" in agreement.purpose
    element = agreement.data_elements.get()
    assert element.research_questions.count() == 2
    assert ResearchQuestion.objects.filter(text__startswith="Does practice time").exists()
    assert agreement.consent_requirements.get().kind == "parental"
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("created" in m for m in messages)
    # The answers are gone: a new flow starts empty.
    assert director_client.get(reverse("agreement-create", args=TRIO))["Location"] == step_url(
        "need"
    )


def test_a_refusal_while_creating_leaves_nothing_behind(director_client, demo, monkeypatch):
    _walk_to_summary(director_client, demo)
    from collaboratory.errors import DomainError
    from consent import services as consent_services

    def refuse(**kwargs):
        raise DomainError("The consent requirement was refused.")

    monkeypatch.setattr(consent_services, "consent_requirement_set", refuse)
    before = Agreement.objects.count(), ResearchQuestion.objects.count()
    response = director_client.post(step_url("summary"))
    assert response.status_code == 200
    assert "The consent requirement was refused." in response.content.decode()
    assert (Agreement.objects.count(), ResearchQuestion.objects.count()) == before


def test_outsider_gets_404(client, demo, outsider):
    client.force_login(outsider)
    assert client.get(reverse("agreement-create", args=TRIO)).status_code == 404
    assert client.get(step_url("need")).status_code == 404
    assert client.post(reverse("agreement-wizard-reset", args=TRIO)).status_code == 404


def test_step_query_count(director_client, demo, django_assert_max_num_queries):
    # session, user, trio (+collaboratory), members (+organisations), research questions.
    with django_assert_max_num_queries(5):
        assert director_client.get(step_url("need")).status_code == 200
