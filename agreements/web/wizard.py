"""The guided "new agreement" flow for a trio, in the practitioners' steps:

1. the need: what the partnership wants to learn, its research questions and how success
   will be measured;
2. the data supply: each data element, from whom to whom, how identifiable, and the
   questions it answers;
3. the value: the sharing mode and what each partner gains;
4. the match: the standard agreement (template version), dates and the values to fill in;
then the steps the apps above agreements add (``agreements.extensions.wizard_steps``:
consent's requirement), a summary, and one service that creates the draft, its data
elements and what those steps add in one transaction — all of it or nothing
(agreements/negotiation/wizard.py).

The answers live in the session until then (one entry per trio), so the steps can be
revisited in any order once reached. Only the purpose statement enters the agreement's text
(the Purpose clause quotes it); the goals, the measure of success and the gains are the
agreement's non-binding project summary, and the summary step shows the two apart, the
Purpose clause exactly as it will read (issue 16). A data element the sharing mode does not
admit (agreements.negotiation.coherence) is flagged on the data, value and summary steps, and
the draft is not created until the two agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from agreements import extensions
from agreements.models import Agreement, Identifiability, SharingMode
from agreements.negotiation.coherence import LEAST_IDENTIFYING, admits, mismatches
from agreements.negotiation.services import add_months
from agreements.negotiation.wizard import (
    NEW_QUESTION,
    PROJECT_SUMMARY,
    DataElementAnswer,
    agreement_create_from_wizard,
    binding_purpose,
)
from agreements.standards.workspace import offered_versions
from agreements.text.document.html import HtmlRenderer
from agreements.web import wizard_forms as wf
from collaboratory.errors import DomainError
from collaboratory.web import error_messages
from partners.models import Trio
from partners.selectors import trio_detail_for_user


@dataclass(frozen=True)
class Step:
    slug: str
    title: str
    intro: str


OWN_STEPS = (
    Step(
        "need",
        "The need",
        "What the data will be used for, in the words the agreement will bind, and the "
        "research questions it answers; then, for the partners only, what you hope to achieve "
        "and how you will know it worked.",
    ),
    Step(
        "data",
        "The data supply",
        "List only the data that answers a question: for each element, who sends it, who "
        "receives it and how identifiable it is. Each starts at the least identifying level, "
        "aggregate; raise it only where the study needs more.",
    ),
    Step(
        "value",
        "The value",
        "How the data will be shared, and (for the partners only) what each partner gains.",
    ),
    Step(
        "match",
        "The match",
        "Choose the standard agreement to start from and fill in its dates and values.",
    ),
)
SUMMARY = Step("summary", "Summary", "Check everything, then create the draft.")


def _steps() -> list[Step]:
    """The flow's own steps, then those the apps above agreements add, then the summary."""
    added = [Step(s.slug, s.title, s.intro) for s in extensions.wizard_steps]
    return [*OWN_STEPS, *added, SUMMARY]


def _slugs() -> list[str]:
    return [s.slug for s in _steps()]


def _added_step(slug: str) -> extensions.WizardStep | None:
    return next((s for s in extensions.wizard_steps if s.slug == slug), None)


def _trio(request: HttpRequest, collaboratory: str, slug: str) -> Trio:
    return get_object_or_404(
        trio_detail_for_user(request.user), collaboratory__slug=collaboratory, slug=slug
    )


def _key(trio: Trio) -> str:
    return f"agreement-wizard:{trio.pk}"


def _state(request: HttpRequest, trio: Trio) -> dict:
    return dict(request.session.get(_key(trio), {}))


def _save(request: HttpRequest, trio: Trio, step: str, data: dict) -> None:
    state = _state(request, trio)
    state[step] = data
    request.session[_key(trio)] = state


def _url(trio: Trio, step: str) -> str:
    return reverse("agreement-wizard", args=[trio.collaboratory.slug, trio.slug, step])


def _first_missing(state: dict) -> str:
    needed = [s for s in _slugs() if s != SUMMARY.slug]
    return next((s for s in needed if s not in state), SUMMARY.slug)


def _questions(trio: Trio, state: dict) -> list[tuple[str, str]]:
    """The research questions chosen in step 1, as (value, text); a new one is ``new``."""
    need = state.get("need", {})
    chosen = set(need.get("research_questions", []))
    questions = [(str(q.pk), q.text) for q in trio.research_questions.all() if str(q.pk) in chosen]
    if need.get("new_question"):
        questions.append((NEW_QUESTION, need["new_question"]))
    return questions


def _parties(trio: Trio):
    return [m.organisation for m in trio.members.all()]


def _versions(trio: Trio):
    # Only published, not retired versions of templates published for use (not drafts/tests).
    return list(
        offered_versions()
        .filter(template__collaboratory_id=trio.collaboratory_id)
        .order_by("template__name", "-number")
    )


def _purpose(state: dict) -> str:
    """The purpose statement: the only answer the agreement's text quotes."""
    return state.get("need", {}).get("need", "").strip()


def _project_summary(state: dict) -> dict[str, str]:
    """The informal answers, for the agreement's non-binding project summary."""
    need, value = state.get("need", {}), state.get("value", {})
    answers = {
        "goals": need.get("goals", ""),
        "success": need.get("success", ""),
        "benefits": value.get("benefits", ""),
    }
    return {key: answers[key].strip() for key in PROJECT_SUMMARY if answers[key].strip()}


def _elements(state: dict) -> list[tuple[str, str]]:
    """The data supply as (name, identifiability) pairs."""
    return [(e["name"], e["identifiability"]) for e in state.get("data", {}).get("elements", [])]


def _mismatches(state: dict) -> list[str]:
    """Data elements the chosen sharing mode does not admit (none before it is chosen)."""
    mode = state.get("value", {}).get("sharing_mode")
    return mismatches(mode, _elements(state)) if mode else []


def _steps_nav(trio: Trio, state: dict, current: str) -> list[dict]:
    steps = _steps()
    reachable = [s.slug for s in steps].index(_first_missing(state))
    return [
        {
            "number": index + 1,
            "step": step,
            "url": _url(trio, step.slug),
            "current": step.slug == current,
            "done": step.slug in state,
            "reachable": index <= reachable,
        }
        for index, step in enumerate(steps)
    ]


# --- views ------------------------------------------------------------------------------------


@login_required
def wizard_start(request: HttpRequest, collaboratory: str, slug: str) -> HttpResponse:
    """The old "new agreement" address: continue where the user left off, or start."""
    trio = _trio(request, collaboratory, slug)
    return redirect(_url(trio, _first_missing(_state(request, trio))))


@login_required
@require_POST
def wizard_reset(request: HttpRequest, collaboratory: str, slug: str) -> HttpResponse:
    trio = _trio(request, collaboratory, slug)
    request.session.pop(_key(trio), None)
    messages.info(request, "The answers so far are cleared; start again from the need.")
    return redirect(_url(trio, "need"))


@login_required
def wizard_step(request: HttpRequest, collaboratory: str, slug: str, step: str) -> HttpResponse:
    # Queries: session, user, trio (+members, organisations, research questions); the match
    # step adds the template versions, the summary the version it names.
    slugs = _slugs()
    if step not in slugs:
        raise Http404("No such step.")
    trio = _trio(request, collaboratory, slug)
    state = _state(request, trio)
    if slugs.index(step) > slugs.index(_first_missing(state)):
        messages.info(request, "Answer this step first.")
        return redirect(_url(trio, _first_missing(state)))
    added = _added_step(step)
    if added is not None:
        return _added(request, trio, state, added)
    handler = {
        "need": _need,
        "data": _data,
        "value": _value,
        "match": _match,
        "summary": _summary,
    }[step]
    return handler(request, trio, state)


def _render(
    request, trio, state, step: str, context: dict, *, template: str | None = None
) -> HttpResponse:
    steps = _steps()
    slugs = [s.slug for s in steps]
    return render(
        request,
        template or f"agreements/wizard/{step}.html",
        {
            "trio": trio,
            "step": steps[slugs.index(step)],
            "steps": _steps_nav(trio, state, step),
            "back_url": _url(trio, slugs[slugs.index(step) - 1]) if step != "need" else None,
            "state_complete": _first_missing(state) == "summary" and step != "summary",
            **context,
        },
    )


def _next(request: HttpRequest, trio: Trio, step: str) -> HttpResponse:
    state = _state(request, trio)
    if request.POST.get("to_summary") and _first_missing(state) == "summary":
        return redirect(_url(trio, "summary"))
    slugs = _slugs()
    return redirect(_url(trio, slugs[slugs.index(step) + 1]))


def _need(request, trio, state) -> HttpResponse:
    questions = list(trio.research_questions.all())
    form = wf.NeedForm(request.POST or None, initial=state.get("need"), questions=questions)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        _save(
            request,
            trio,
            "need",
            {
                "title": data["title"].strip(),
                "need": data["need"].strip(),
                "research_questions": data["research_questions"],
                "new_question": data["new_question"].strip(),
                "goals": data["goals"].strip(),
                "success": data["success"].strip(),
            },
        )
        return _next(request, trio, "need")
    return _render(request, trio, state, "need", _grouped(form))


def _grouped(form) -> dict:
    """The form with its fields in two groups: what enters the agreement and what goes to
    the non-binding project summary (the templates show the second apart)."""
    return {
        "form": form,
        "binding_fields": [f for f in form.visible_fields() if f.name not in form.summary_fields],
        "summary_fields": [f for f in form.visible_fields() if f.name in form.summary_fields],
    }


def _data(request, trio, state) -> HttpResponse:
    questions = _questions(trio, state)
    form_kwargs = {"parties": _parties(trio), "questions": questions}
    initial = state.get("data", {}).get("elements", [])
    if request.method == "POST" and "add" in request.POST:
        # Without JavaScript: the same rows again, plus an empty one.
        data = request.POST.copy()
        total = data.get("elements-TOTAL_FORMS", "0")
        count = int(total) if total.isdigit() else 0
        data["elements-TOTAL_FORMS"] = str(count + 1)
        # The new row starts at the least identifying level, as an unbound one does.
        data[f"elements-{count}-identifiability"] = LEAST_IDENTIFYING
        formset = wf.DataElementFormSet(data, prefix="elements", form_kwargs=form_kwargs)
    elif request.method == "POST":
        formset = wf.DataElementFormSet(request.POST, prefix="elements", form_kwargs=form_kwargs)
        if formset.is_valid():
            elements = [
                {k: v for k, v in f.cleaned_data.items() if k != "DELETE"}
                for f in formset.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE")
            ]
            _save(request, trio, "data", {"elements": elements})
            if _mismatches(_state(request, trio)):
                # The sharing mode chosen earlier no longer fits: the value step says why.
                return redirect(_url(trio, "value"))
            return _next(request, trio, "data")
    else:
        formset = wf.DataElementFormSet(prefix="elements", initial=initial, form_kwargs=form_kwargs)
        if initial:
            formset.extra = 0
    return _render(
        request, trio, state, "data", {"formset": formset, "mismatches": _mismatches(state)}
    )


def _value(request, trio, state) -> HttpResponse:
    elements = _elements(state)
    # Coherent terms by default: analysis unless some element needs operations.
    needs_operations = bool(mismatches(SharingMode.ANALYSIS, elements))
    initial = state.get("value") or {
        "sharing_mode": SharingMode.OPERATIONS if needs_operations else SharingMode.ANALYSIS
    }
    form = wf.ValueForm(request.POST or None, initial=initial, elements=elements)
    if request.method == "POST" and form.is_valid():
        _save(request, trio, "value", dict(form.cleaned_data))
        return _next(request, trio, "value")
    context = _grouped(form)
    context.update(
        needs_operations=needs_operations,
        mismatches=_mismatches(state) if request.method == "GET" else [],
    )
    return _render(request, trio, state, "value", context)


def _match(request, trio, state) -> HttpResponse:
    versions = _versions(trio)
    saved = dict(state.get("match", {}))
    defaults = {
        "template_version": str(versions[0].pk) if versions else "",
        "start_date": timezone.localdate() + dt.timedelta(days=30),
        "term_months": 12,
        "breach_notice_hours": 72,
        "retention_days": 90,
        "governing_state": "",
        "publication_review_days": 30,
        "data_custodian_title": "Director of Research",
    }
    form = wf.MatchForm(request.POST or None, initial={**defaults, **saved}, versions=versions)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        for name in ("start_date", "expires_on"):
            data[name] = data[name].isoformat() if data.get(name) else None
        _save(request, trio, "match", data)
        return _next(request, trio, "match")
    return _render(request, trio, state, "match", {"form": form, "has_versions": bool(versions)})


def _added(request, trio, state, step: extensions.WizardStep) -> HttpResponse:
    """A step another app adds (consent's requirement): its form, its page, its answers."""
    form = step.form(request.POST or None, initial=state.get(step.slug), state=state)
    if request.method == "POST" and form.is_valid():
        _save(request, trio, step.slug, dict(form.cleaned_data))
        return _next(request, trio, step.slug)
    return _render(request, trio, state, step.slug, {"form": form}, template=step.template)


def _summary(request, trio, state) -> HttpResponse:
    versions = {str(v.pk): v for v in _versions(trio)}
    match = state["match"]
    version = versions.get(str(match.get("template_version")))
    parties = {str(o.pk): o for o in _parties(trio)}
    questions = dict(_questions(trio, state))
    start = dt.date.fromisoformat(match["start_date"])
    expires = (
        dt.date.fromisoformat(match["expires_on"])
        if match.get("expires_on")
        else add_months(start, match["term_months"])
    )
    destruction = expires + dt.timedelta(days=match["retention_days"])
    elements = [
        {
            **element,
            "source_name": getattr(parties.get(element["source"]), "name", "?"),
            "recipient_name": getattr(parties.get(element["recipient"]), "name", "?"),
            "identifiability_label": Identifiability(element["identifiability"]).label,
            "mismatch": not admits(state["value"]["sharing_mode"], element["identifiability"]),
            "question_texts": [questions.get(q, "?") for q in element["research_questions"]],
        }
        for element in state["data"]["elements"]
    ]
    blockers = _mismatches(state)
    errors: list[str] = []
    # A mismatch keeps the draft from being created; the page lists it and says so.
    if request.method == "POST" and version is None:
        errors.append("Choose a published template version in step 4.")
    elif request.method == "POST" and not blockers:
        try:
            agreement = _create(
                request,
                trio,
                state,
                version=version,
                parties=parties,
                start=start,
                expires=expires,
                destruction=destruction,
            )
        except DomainError as error:
            errors = error_messages(error)
        else:
            request.session.pop(_key(trio), None)
            messages.success(
                request,
                f"Draft {agreement.reference} created with its data elements. Read it, then "
                "open negotiation when the partners should propose changes.",
            )
            return redirect("agreement-detail", agreement.pk)
    return _render(
        request,
        trio,
        state,
        "summary",
        {
            "state": state,
            "version": version,
            "purpose": _purpose(state),
            "purpose_clauses": _purpose_clauses(
                trio, state, version=version, start=start, expires=expires, destruction=destruction
            ),
            "project_summary": [
                (PROJECT_SUMMARY[key], text) for key, text in _project_summary(state).items()
            ],
            "mismatches": blockers,
            "questions": list(questions.values()),
            "elements": elements,
            "sharing_mode": SharingMode(state["value"]["sharing_mode"]).label,
            "start": start,
            "expires": expires,
            "destruction": destruction,
            "added_steps": [
                {
                    "number": number,
                    "slug": step.slug,
                    "title": step.title,
                    "rows": step.summary(state[step.slug]),
                }
                for number, step in enumerate(extensions.wizard_steps, start=len(OWN_STEPS) + 1)
                if step.slug in state
            ],
            "errors": errors,
            "placeholders": [
                (wf.PLACEHOLDERS[name].label, match.get(name)) for name in wf.FREE_PLACEHOLDERS
            ],
        },
    )


def _purpose_clauses(trio, state, *, version, start, expires, destruction) -> list[dict]:
    """The parts of the chosen template that quote the purpose statement, as the draft's
    text will read them (label, heading and safe HTML of the body); none before a template
    version is chosen or when the template does not quote it."""
    if version is None:
        return []
    match = state["match"]
    draft = Agreement(
        trio=trio,
        template_version=version,
        title=state["need"]["title"],
        purpose=_purpose(state),
        sharing_mode=state["value"]["sharing_mode"],
        start_date=start,
        term_months=match.get("term_months"),
        expires_on=expires,
        breach_notice_hours=match["breach_notice_hours"],
        retention_days=match["retention_days"],
        destruction_date=destruction,
        placeholder_values={name: match.get(name) for name in wf.FREE_PLACEHOLDERS},
    )
    text, clauses = binding_purpose(draft)
    renderer = HtmlRenderer(text.document, id_prefix="binding-")
    return [
        {"clause": clause, "html": renderer.body(clause.part)}
        for clause in clauses
        if clause.part is not None
    ]


def _create(request, trio, state, *, version, parties, start, expires, destruction):
    need, match = state["need"], state["match"]
    return agreement_create_from_wizard(
        trio=trio,
        by=request.user,
        template_version=version,
        title=need["title"],
        purpose=_purpose(state),
        sharing_mode=state["value"]["sharing_mode"],
        start_date=start,
        term_months=match.get("term_months"),
        expires_on=expires,
        destruction_date=destruction,
        breach_notice_hours=match["breach_notice_hours"],
        retention_days=match["retention_days"],
        placeholder_values={name: match.get(name) for name in wf.FREE_PLACEHOLDERS},
        research_questions=need.get("research_questions", []),
        new_question=need.get("new_question", ""),
        elements=[
            DataElementAnswer(
                name=element["name"],
                description=element.get("description", ""),
                source=parties[element["source"]],
                recipient=parties[element["recipient"]],
                identifiability=element["identifiability"],
                research_questions=element["research_questions"],
            )
            for element in state["data"]["elements"]
        ],
        step_answers={s.slug: state[s.slug] for s in extensions.wizard_steps if s.slug in state},
        project_summary=_project_summary(state),
    )
