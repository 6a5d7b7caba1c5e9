"""``{% stamp %}`` renders a repeated fragment once and gives the same HTML as an include."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Engine
from django.utils.safestring import SafeString

from collaboratory.safe_html import stamped

FRAGMENTS = {
    "plain.html": '<p id="x-{{ key }}" title="{{ who.name }}">{{ key }} for {{ who.name }}</p>',
    # A slot through a filter: its placeholder would come out changed, so no stamping.
    "filtered.html": "<p>{{ key|upper }}</p>",
    # Uses a loop variable it is not given: it must be missing, not frozen at its first value.
    "leaky.html": "<p>{{ key }}:{{ item }}</p>",
}


def _engine() -> Engine:
    return Engine(
        loaders=[("django.template.loaders.locmem.Loader", FRAGMENTS)],
        libraries={"stamps": "agreements.templatetags.stamps"},
    )


def _render(source: str, **values) -> str:
    return _engine().from_string("{% load stamps %}" + source).render(Context(values))


def test_a_stamped_fragment_reads_as_the_include_would_with_values_escaped():
    keys = ["alpha", 'quote"<b>&', "gamma"]
    who = {"name": "Ada & <Co>"}
    looped = "{% for key in keys %}{% stamp 'plain.html' key=key page='who' %}{% endfor %}"
    included = "{% for key in keys %}{% include 'plain.html' %}{% endfor %}"
    stamped_html = _render(looped, keys=keys, who=who)
    assert stamped_html == _render(included, keys=keys, who=who)
    assert "quote&quot;&lt;b&gt;&amp;" in stamped_html and "<b>" not in stamped_html
    assert not re.search(r"stamp[0-9a-f]{16}", stamped_html)


def test_a_slot_changed_by_a_filter_is_rendered_each_time_instead():
    html = _render(
        "{% for key in keys %}{% stamp 'filtered.html' key=key %}{% endfor %}", keys=["a", "b"]
    )
    assert html == "<p>A</p><p>B</p>"


def test_the_fragment_sees_only_its_slots_and_the_page_values_it_names():
    html = _render(
        "{% for item in items %}{% stamp 'leaky.html' key=item %}{% endfor %}", items=["1", "2"]
    )
    assert html == "<p>1:</p><p>2:</p>"


def test_stamped_takes_only_rendered_html_and_real_placeholders():
    with pytest.raises(TypeError):
        stamped("<p>stamp0123456789abcdef</p>", {"stamp0123456789abcdef": "x"})  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        stamped(SafeString("<p>KEY</p>"), {"KEY": "x"})
    out = stamped(SafeString("<p>stamp0123456789abcdef</p>"), {"stamp0123456789abcdef": "<i>"})
    assert isinstance(out, SafeString) and out == "<p>&lt;i&gt;</p>"


def test_the_agreement_page_stamps_the_same_forms_the_includes_render(demo, client):
    """Every clause's "Start a discussion" form and "Notify someone" list on the real page
    reads exactly as the include renders it for that clause (the CSRF token aside)."""
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from agreements.access import parties_in_role, roles_by_party
    from agreements.negotiation import discussions

    agreement = demo["agreements"]["Adaptive Practice Real-Time Dashboard Pilot"]
    counsel = demo["users"]["counsel"]
    client.force_login(counsel)
    page = client.get(f"/agreements/{agreement.pk}/").content.decode()
    assert not re.search(r"stamp[0-9a-f]{16}", page)
    request = RequestFactory().get("/")
    request.user = counsel
    context = {
        "agreement": agreement,
        "discussion": discussions.page_context(
            agreement, set(parties_in_role(roles_by_party(counsel, agreement)))
        ),
        "request": request,
        "csrf_token": "TOKEN",
    }
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    blocks = re.findall(
        r'<details class="inline-form" id="discuss-([^"]+)".*?</details>', page, re.S
    )
    assert len(blocks) >= 10
    for key in blocks:
        shown = re.search(
            rf'<details class="inline-form" id="discuss-{key}".*?</details>', page, re.S
        )
        assert shown is not None
        expected = render_to_string(
            "agreements/includes/discussion_start.html", {**context, "key": key}
        ).split("{% endcomment %}")[-1]
        assert token.sub("", shown.group(0)) == token.sub("", expected.strip())


def test_the_agreement_page_stamps_each_clause_discussion_as_the_include_renders_it(demo, client):
    """A clause without threads gets its whole discussion section stamped: on the real page,
    each reads exactly as clause_discussion.html renders it for that clause with no threads
    (the CSRF token aside), and a clause with threads still shows them."""
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from agreements.access import parties_in_role, roles_by_party
    from agreements.negotiation import discussions
    from agreements.selectors import consolidated_text, with_agreement_detail

    agreement = demo["agreements"]["Adaptive Practice Real-Time Dashboard Pilot"]
    counsel = demo["users"]["counsel"]
    client.force_login(counsel)
    page = client.get(f"/agreements/{agreement.pk}/").content.decode()
    mine = set(parties_in_role(roles_by_party(counsel, agreement)))
    threads = discussions.threads_by_clause(
        discussions.visible_among(agreement.comments.all(), mine)
    )
    request = RequestFactory().get("/")
    request.user = counsel
    context = {
        "agreement": agreement,
        "discussion": discussions.page_context(agreement, mine),
        "request": request,
        "csrf_token": "TOKEN",
    }
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    text = consolidated_text(with_agreement_detail(type(agreement).objects).get(pk=agreement.pk))
    stamped_sections = 0
    for clause in text.clauses:
        shown = re.search(
            rf'<section class="discussion" aria-labelledby="discussion-{re.escape(clause.key)}-h">'
            r".*?</section>",
            page,
            re.S,
        )
        assert shown is not None, f"no discussion under clause {clause.key}"
        if threads.get(clause.key):
            assert 'class="discussion__threads"' in shown.group(0)
            continue
        expected = render_to_string(
            "agreements/includes/clause_discussion.html", {**context, "key": clause.key}
        ).split("{% endcomment %}")[-1]
        assert token.sub("", shown.group(0)) == token.sub("", expected.strip())
        stamped_sections += 1
    assert stamped_sections >= 10
