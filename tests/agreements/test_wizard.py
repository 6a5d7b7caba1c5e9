"""The guided "new agreement" flow: each step validates, the answers live in the session,
the summary shows them, and creating makes the draft, its data elements and its consent
requirement in one transaction. Only the purpose statement enters the text; the informal
answers are the non-binding project summary (issue 16 item 4)."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from agreements.models import Agreement, DataElement
from agreements.negotiation.coherence import identifiability_mismatches
from agreements.selectors import consolidated_text
from partners.models import ResearchQuestion

TRIO = ("aims", "adaptive-practice")
PURPOSE = "Learn whether weekly adaptive practice helps Algebra I students grow."
GOALS = "Help teachers decide how much practice to assign."
SUCCESS = "A 0.1 SD difference in unit assessment scores."
BENEFITS = "Brightpath learns which practice patterns help."


def step_url(step: str) -> str:
    return reverse("agreement-wizard", args=[*TRIO, step])


@pytest.fixture
def director_client(client, demo):
    client.force_login(demo["users"]["director"])
    return client


def _orgs(demo):
    return {k: demo["orgs"][k].pk for k in ("riverbend-usd", "northfield-university")}


def _need_and_data(client, demo, *, identifiability="deidentified"):
    trio = demo["trios"]["adaptive-practice"]
    question = trio.research_questions.order_by("position").first()
    orgs = _orgs(demo)
    response = client.post(
        step_url("need"),
        {
            "title": "Practice and growth 2027",
            "need": PURPOSE,
            "research_questions": [str(question.pk)],
            "new_question": "Does practice time predict unit test growth?",
            "goals": GOALS,
            "success": SUCCESS,
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
    # De-identified data under analysis: terms that agree (pseudonymous data would not).
    _need_and_data(client, demo)
    response = client.post(step_url("value"), {"sharing_mode": "analysis", "benefits": BENEFITS})
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
    response = director_client.post(step_url("summary"))
    agreement = Agreement.objects.get(title="Practice and growth 2027")
    assert response["Location"] == reverse("agreement-detail", args=[agreement.pk])
    assert agreement.status == "draft" and agreement.template_version == version
    assert agreement.breach_notice_hours == 48
    assert agreement.destruction_date.isoformat() == "2028-03-15"  # expiry + 60 days
    assert agreement.purpose == PURPOSE
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


def _without_tags(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_informal_answers_stay_out_of_the_text(director_client, demo):
    """The benefit and the measure of success are the project summary, shown apart and marked
    non-binding; the Purpose clause quotes the purpose statement alone."""
    _walk_to_summary(director_client, demo)
    response = director_client.get(step_url("summary"))
    # The last step shows the Purpose clause as it will read, then the notes, apart.
    binding = response.context["purpose_clauses"]
    assert [item["clause"].key for item in binding] == ["purpose"]
    clause_words = _without_tags(str(binding[0]["html"]))
    assert f"The purpose of this Agreement (the “Purpose”) is: {PURPOSE}" in clause_words
    assert BENEFITS not in clause_words and SUCCESS not in clause_words
    page = response.content.decode()
    binding_section = page[page.index('id="sum-binding"') : page.index('id="sum-project"')]
    assert PURPOSE in binding_section and BENEFITS not in binding_section
    project = page[page.index('id="sum-project"') : page.index('id="sum-need"')]
    assert "not part of the agreement" in project
    assert BENEFITS in project and SUCCESS in project and GOALS in project

    director_client.post(step_url("summary"))
    agreement = Agreement.objects.get(title="Practice and growth 2027")
    assert agreement.purpose == PURPOSE
    assert agreement.project_summary == {"goals": GOALS, "success": SUCCESS, "benefits": BENEFITS}
    text = consolidated_text(agreement)
    everything = "\n".join(
        [text.canonical, *(c.heading + "\n" + c.body for c in text.clauses), *sum(text.header, ())]
    )
    assert f"The purpose of this Agreement (the “Purpose”) is: {PURPOSE}\n" in (
        text.clause("purpose").body
    )
    for informal in (BENEFITS, SUCCESS, GOALS, "Brightpath learns", "0.1 SD"):
        assert informal not in everything, informal

    detail = director_client.get(reverse("agreement-detail", args=[agreement.pk])).content.decode()
    start = detail.index('id="project-summary"')
    summary_panel = detail[start : detail.index("</section>", start)]
    assert "not part of the agreement" in summary_panel
    assert BENEFITS in summary_panel and SUCCESS in summary_panel and GOALS in summary_panel
    # Nowhere else on the page: the text shown is the text that binds.
    assert detail.count(BENEFITS) == 1


def test_the_need_and_value_steps_mark_the_notes_as_not_binding(director_client, demo):
    need = director_client.get(step_url("need"))
    assert [f.name for f in need.context["summary_fields"]] == ["goals", "success"]
    assert "not part of the agreement" in need.content.decode()
    _need_and_data(director_client, demo)
    value = director_client.get(step_url("value"))
    assert [f.name for f in value.context["summary_fields"]] == ["benefits"]
    assert "not part of the agreement" in value.content.decode()


def test_a_new_data_element_starts_at_the_least_identifying_level(director_client, demo):
    trio = demo["trios"]["adaptive-practice"]
    director_client.post(
        step_url("need"),
        {
            "title": "T",
            "need": "A purpose statement long enough to pass.",
            "success": "S",
            "research_questions": [str(trio.research_questions.first().pk)],
        },
    )
    formset = director_client.get(step_url("data")).context["formset"]
    assert formset.forms[0]["identifiability"].value() == "aggregate"
    more = director_client.post(
        step_url("data"),
        {
            "elements-TOTAL_FORMS": "1",
            "elements-INITIAL_FORMS": "0",
            "elements-MIN_NUM_FORMS": "0",
            "elements-MAX_NUM_FORMS": "1000",
            "elements-0-identifiability": "identifiable",
            "add": "1",
        },
    )
    rows = more.context["formset"].forms
    assert [row["identifiability"].value() for row in rows] == ["identifiable", "aggregate"]


def test_pseudonymous_data_needs_operations_mode_by_default(director_client, demo):
    _need_and_data(director_client, demo, identifiability="pseudonymous")
    form = director_client.get(step_url("value")).context["form"]
    assert form["sharing_mode"].value() == "operations"
    refused = director_client.post(step_url("value"), {"sharing_mode": "analysis"})
    assert refused.status_code == 200
    assert "“Unit assessment scores” is pseudonymous, but this agreement shares only" in (
        refused.content.decode()
    )


def test_a_mismatch_is_flagged_and_no_draft_is_created_until_resolved(director_client, demo):
    _walk_to_summary(director_client, demo)  # analysis, de-identified: coherent
    org = _orgs(demo)
    question = demo["trios"]["adaptive-practice"].research_questions.order_by("position").first()
    # Back to the data supply: the element becomes pseudonymous under analysis.
    response = director_client.post(
        step_url("data"),
        {
            "elements-TOTAL_FORMS": "1",
            "elements-INITIAL_FORMS": "1",
            "elements-MIN_NUM_FORMS": "0",
            "elements-MAX_NUM_FORMS": "1000",
            "elements-0-name": "Unit assessment scores",
            "elements-0-source": str(org["riverbend-usd"]),
            "elements-0-recipient": str(org["northfield-university"]),
            "elements-0-identifiability": "pseudonymous",
            "elements-0-research_questions": [str(question.pk), "new"],
            "to_summary": "1",
        },
    )
    # Sent to the step that resolves it, which says why.
    assert response["Location"] == step_url("value")
    flag = "“Unit assessment scores” is pseudonymous, but this agreement shares only aggregate"
    assert flag in director_client.get(step_url("value")).content.decode()
    assert flag in director_client.get(step_url("data")).content.decode()
    summary = director_client.get(step_url("summary"))
    page = summary.content.decode()
    assert flag in page and "The draft cannot be created until they agree" in page
    assert re.search(r'<button type="submit" class="button button--primary" disabled', page)
    before = Agreement.objects.count()
    refused = director_client.post(step_url("summary"))
    assert refused.status_code == 200 and flag in refused.content.decode()
    assert Agreement.objects.count() == before

    # Resolved by the sharing mode: the draft is created.
    director_client.post(step_url("value"), {"sharing_mode": "operations", "to_summary": "1"})
    assert (
        "The draft cannot be created"
        not in director_client.get(step_url("summary")).content.decode()
    )
    director_client.post(step_url("summary"))
    agreement = Agreement.objects.get(title="Practice and growth 2027")
    assert agreement.sharing_mode == "operations"
    assert identifiability_mismatches(agreement) == []

    # The same question asked of the agreement (what review will ask).
    agreement.sharing_mode = "analysis"
    agreement.save(update_fields=["sharing_mode"])
    assert identifiability_mismatches(agreement) == [
        "“Unit assessment scores” is pseudonymous, but this agreement shares only aggregate or "
        "de-identified data (analysis mode): change the element's identifiability or the "
        "sharing mode."
    ]
    DataElement.objects.filter(agreement=agreement).update(identifiability="deidentified")
    assert identifiability_mismatches(agreement) == []


def test_the_service_refuses_a_mismatch_and_leaves_nothing(demo):
    from agreements.negotiation.wizard import DataElementAnswer, agreement_create_from_wizard
    from collaboratory.errors import DomainError

    trio = demo["trios"]["adaptive-practice"]
    version = demo["agreements"]["Adaptive Practice Outcomes Study 2026-2028"].template_version
    before = Agreement.objects.count(), ResearchQuestion.objects.count()
    with pytest.raises(DomainError) as refused:
        agreement_create_from_wizard(
            trio=trio,
            by=demo["users"]["director"],
            template_version=version,
            title="Names under analysis",
            purpose="A purpose statement long enough to pass.",
            sharing_mode="analysis",
            start_date=dt.date(2027, 1, 1),
            term_months=12,
            expires_on=dt.date(2028, 1, 1),
            destruction_date=None,
            breach_notice_hours=72,
            retention_days=90,
            placeholder_values={},
            research_questions=[],
            new_question="Who practises most?",
            elements=[
                DataElementAnswer(
                    name="Student names",
                    source=demo["orgs"]["riverbend-usd"],
                    recipient=demo["orgs"]["northfield-university"],
                    identifiability="identifiable",
                    research_questions=["new"],
                )
            ],
            project_summary={"benefits": "A report."},
        )
    assert "“Student names” is identifiable" in refused.value.messages[0]
    assert (Agreement.objects.count(), ResearchQuestion.objects.count()) == before
