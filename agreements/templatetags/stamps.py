"""``{% stamp %}``: a fragment that repeats on a page, rendered once and stamped per copy.

The agreement page has a "Start a discussion" form and a "Notify someone" list under every
clause: the same markup but for the clause's key. Rendering the include 40 times costs more
than the rest of the page; rendering it once with placeholders and putting each copy's values
in (escaped, ``collaboratory.safe_html.stamped``) gives the same HTML.

    {% stamp "agreements/includes/discussion_start.html" key=key page="agreement discussion" %}

The contract, which the tag enforces where it can:
- the template sees only its slots (the keyword arguments, each a plain string put into text
  or an attribute, never through a filter, a comparison or ``{% url %}``), the names listed
  in ``page`` (values the same for the whole page) and ``request`` / ``csrf_token``; a loop
  variable it used by mistake would be missing, not frozen at its first value;
- a slot whose placeholder the first rendering does not show (a filter changed it, an ``if``
  compared it) makes the tag render that template normally for every copy.
"""

from __future__ import annotations

import secrets
from typing import Any, cast

from django import template
from django.utils.safestring import SafeString

from collaboratory.safe_html import stamped

register = template.Library()

_ALWAYS = ("request", "csrf_token")


#: Per page: (template, page names, slot names) -> (placeholders, the rendering or None).
_Cache = dict[
    tuple[str, tuple[str, ...], tuple[str, ...]], tuple[dict[str, str], SafeString | None]
]


@register.simple_tag(takes_context=True)
def stamp(context: template.Context, template_name: str, page: str = "", **slots: Any) -> str:
    names = (*_ALWAYS, *page.split())
    fixed = {name: context.get(name) for name in names}
    renderer = context.template.engine.get_template(template_name)  # type: ignore[union-attr]
    # The bottom of the render context lasts the whole page (each include gets a fresh top).
    bottom = cast(dict[str, Any], context.render_context.dicts[0])
    cache: _Cache = bottom.setdefault("stamps", {})
    key = (template_name, names, tuple(sorted(slots)))
    if key not in cache:
        placeholders = {name: f"stamp{secrets.token_hex(8)}" for name in slots}
        html = renderer.render(context.new({**fixed, **placeholders}))
        whole = isinstance(html, SafeString) and all(p in html for p in placeholders.values())
        cache[key] = (placeholders, html if whole else None)
    placeholders, rendered = cache[key]
    values = {name: "" if value is None else str(value) for name, value in slots.items()}
    if rendered is None:
        return renderer.render(context.new({**fixed, **values}))
    return stamped(rendered, {placeholders[name]: value for name, value in values.items()})
