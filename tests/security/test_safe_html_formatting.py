"""html_format / html_join / html_concat write exactly what Django's format_html /
format_html_join write (they only skip the lazy-string wrappers), for any value."""

from __future__ import annotations

import pytest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st

from collaboratory.safe_html import html_concat, html_format, html_join

VALUES = st.one_of(
    st.text(),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
    st.text().map(SafeString),
    st.just(gettext_lazy("Any status")),
)


@given(VALUES, VALUES)
def test_html_format_writes_what_format_html_writes(first, second):
    ours = html_format('<span title="{}">{}</span> {}', first, second, first)
    assert isinstance(ours, SafeString)
    assert ours == format_html('<span title="{}">{}</span> {}', first, second, first)


@given(st.lists(st.tuples(VALUES, VALUES), max_size=5), st.sampled_from(["", "\n", "<br>"]))
def test_html_join_writes_what_format_html_join_writes(rows, separator):
    assert html_join(separator, "<li>{}: {}</li>", rows) == format_html_join(
        separator, "<li>{}: {}</li>", rows
    )


def test_html_concat_joins_html_and_refuses_plain_strings():
    assert html_concat([SafeString("<p>a</p>"), html_format("<p>{}</p>", "<b>")]) == (
        "<p>a</p><p>&lt;b&gt;</p>"
    )
    with pytest.raises(TypeError):
        html_concat([SafeString("<p>"), "<script>"])  # type: ignore[list-item]
