"""The one place that may declare a string safe HTML.

Clause text, comments and names are data: templates escape them, and code that builds HTML
from them escapes every piece first (``django.utils.html.escape`` / ``format_html``). Where a
module must hand a finished HTML fragment to a template (search highlighting, glossary
markup), it passes the fragment through :func:`sanitised`, which cleans it with nh3 against
an explicit allow-list of tags and attributes before marking it safe. So even a bug in the
escaping upstream cannot produce a script, an event handler or a ``javascript:`` URL. A
fragment a template rendered once and repeats with other values goes through :func:`stamped`,
which puts each value in escaped.

``tests/security/test_no_unsafe_markup.py`` fails on ``mark_safe`` / ``SafeString(...)`` /
``|safe`` / ``{% autoescape off %}`` anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape as _escape_text

import nh3
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

#: Tags our own fragments use; anything else is stripped (its text kept, escaped).
ALLOWED_TAGS: frozenset[str] = frozenset({"p", "br", "mark", "span", "button", "del", "ins"})
#: Attributes per tag. No URLs and no ``on*`` handlers at all; no ``style``.
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "span": {"class", "id", "role"},
    "button": {"class", "type", "aria-describedby"},
    "del": {"class", "id", "aria-label", "data-change"},
    "ins": {"class", "id", "aria-label", "data-change"},
    "mark": set(),
    "p": set(),
    "br": set(),
}
#: Content dropped with its tag, should any reach the cleaner.
DROPPED_WITH_CONTENT: frozenset[str] = frozenset({"script", "style"})

# A tag as nh3 (html5ever) serialises it: attribute values always in double quotes, with any
# double quote inside written as &quot;. Text between tags never holds a raw "<".
_TAG_RE = re.compile(r'(<[^>"]*(?:"[^"]*"[^>"]*)*>)')


def _quotes_escaped(html: str) -> str:
    """nh3 writes quotes in text as they are; write them as Django's ``escape`` does, so a
    fragment reads the same before and after cleaning (and stays safe inside an attribute
    should a template ever put it there)."""
    parts = _TAG_RE.split(html)
    for index in range(0, len(parts), 2):  # even indexes are text, odd ones tags
        parts[index] = parts[index].replace('"', "&quot;").replace("'", "&#x27;")
    return "".join(parts)


def sanitised(html: str) -> SafeString:
    """``html`` cleaned by nh3 (allow-listed tags and attributes only, no URLs, no comments),
    marked safe for templates. With :func:`stamped`, the only function in the project that
    calls ``mark_safe``."""
    cleaned = nh3.clean(
        str(html),
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(),
        strip_comments=True,
        link_rel=None,
    )
    return mark_safe(_quotes_escaped(cleaned))  # noqa: S308 - nh3 just cleaned it against the allow-list


#: What a stamp placeholder looks like: letters and digits only, so HTML escaping leaves it as
#: it is wherever a template puts it (text or attribute).
STAMP_PLACEHOLDER = re.compile(r"stamp[0-9a-f]{16}")


def stamped(fragment: SafeString, slots: dict[str, str]) -> SafeString:
    """``fragment`` (HTML a template rendered, every value in it already escaped) with each
    placeholder of ``slots`` replaced by its value, escaped. The other function that calls
    ``mark_safe``: nothing unescaped goes in, so what comes out is as safe as the template.

    Used by the ``{% stamp %}`` tag (``agreements/templatetags/stamps.py``) to render a
    fragment that repeats on a page (a form under each clause) once and stamp it per copy."""
    if not isinstance(fragment, SafeString):
        raise TypeError("stamped() takes HTML a template rendered (a SafeString)")
    html = str(fragment)
    for placeholder, value in slots.items():
        if not STAMP_PLACEHOLDER.fullmatch(placeholder):
            raise ValueError(f"{placeholder!r} is not a stamp placeholder")
        html = html.replace(placeholder, escape(value))
    return mark_safe(html)  # noqa: S308 - a rendered template with escaped values put in


def _escaped(value: object) -> str:
    """``django.utils.html.conditional_escape`` without its lazy-string wrapper: markup that
    says it is HTML (``__html__``) as it is, anything else escaped as Django escapes it
    (``html.escape`` with quotes; Django's ``escape`` is that function)."""
    if isinstance(value, Promise):
        value = str(value)
    as_html = getattr(value, "__html__", None)
    if as_html is not None:
        return as_html()
    return _escape_text(str(value), quote=True)


# The renderers' helpers below make SafeString directly: ``mark_safe`` is wrapped for lazy
# strings, which cost more than the formatting itself over the ~30,000 pieces of a text.


def escape_text(text: str) -> SafeString:
    """``django.utils.html.escape`` of a ``str``, without its lazy-string wrapper: the
    document renderers escape every run of text of a clause with it."""
    return SafeString(_escape_text(text, quote=True))


def html_format(format_string: str, *args: object) -> SafeString:
    """``django.utils.html.format_html`` for the document renderers' hot paths, which call it
    for every word run of a clause: the same result (each argument escaped unless it is
    already HTML), without the per-call cost of Django's lazy-string wrappers (a third of a
    structured redline's time). ``format_string`` must be a literal, as for format_html
    (the markup lint checks both)."""
    return SafeString(format_string.format(*map(_escaped, args)))


def html_join(separator: str, format_string: str, rows: Iterable[Iterable[object]]) -> SafeString:
    """``django.utils.html.format_html_join`` as :func:`html_format` is ``format_html``."""
    return SafeString(
        _escaped(separator).join(format_string.format(*map(_escaped, row)) for row in rows)
    )


def html_concat(pieces: Iterable[SafeString]) -> SafeString:
    """Pieces that are each already HTML (escaped text or fixed tags), one after another;
    anything else is refused, not escaped, since a plain string here is a bug upstream."""
    checked = []
    for piece in pieces:
        if not isinstance(piece, SafeString):
            raise TypeError("only escaped pieces may be joined")
        checked.append(piece)
    return SafeString("".join(checked))
