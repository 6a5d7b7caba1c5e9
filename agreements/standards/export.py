"""Writing a template out as Markdown (:func:`export_markdown`) or Word (:func:`export_docx`).

Each clause heading carries its key as an attribute block, ``## 4. Data security
{#data-security}``, so the key survives a round trip. In Word the block is a *hidden* run
(Word's hidden-text font attribute): it survives edits in Word without cluttering the page (Word
shows it only with formatting marks on).

Round trips: ``parse_markdown(export_markdown(t, cs))`` and ``parse_docx(export_docx(t, cs))``
give back ``t`` and ``cs`` exactly for clauses as the readers produce them (stripped headings,
LF newlines, no leading or trailing blank lines in bodies, no pandoc spans; for Word, body
paragraphs separated by exactly one blank line).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable

from agreements.standards.markdown_import import Fences, atx_level
from agreements.standards.report import (
    ClauseLike,
    clean_inline,
    key_problem,
    split_attributes,
    split_number,
)


def _fields(clause: ClauseLike) -> tuple[str, str, str, str]:
    number = "" if clause.number is None else str(clause.number)
    return str(clause.key), number, str(clause.heading or ""), str(clause.body or "")


def export_markdown(title: str, clauses: Iterable[ClauseLike]) -> str:
    """The template as Markdown in the ``"headings"`` style, with an explicit key per clause.

    ``parse_markdown`` reads it back to the same title and clauses (see the module docstring).
    Raises ValueError for what cannot be written so: a multi-line title or heading, an invalid
    key, or a body with a line that would start a clause or a title (``# `` / ``## ``) or with
    an unclosed code fence.
    """
    if "\n" in title or "\r" in title:
        raise ValueError("The template title must be one line.")
    parts = [f"# {title.strip()}"] if title.strip() else []
    for position, clause in enumerate(clauses, start=1):
        key, number, heading, body = _fields(clause)
        where = f"Clause {position} ('{key}')"
        visible, attributes = _heading_text(number, heading, key, where=where)
        parts.append(f"## {visible} {attributes}")
        if body.strip():
            _check_markdown_body(body, where=where)
            parts.append(body)
    return "\n\n".join(parts) + "\n"


def _check_markdown_body(body: str, *, where: str) -> None:
    fences = Fences()
    for line in body.splitlines():
        if not fences.inside_after(line) and atx_level(line):
            raise ValueError(
                f"{where}: the body line {line[:40]!r} would start a new clause or title; "
                "use '###' for headings inside a clause."
            )
    if fences.open is not None:
        raise ValueError(f"{where}: the body opens a code fence ({fences.open}) it never closes.")


# Characters XML 1.0 cannot hold; Word would refuse the file.
_XML_INVALID_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def export_docx(title: str, clauses: Iterable[ClauseLike]) -> bytes:
    """The template as a .docx: title as Heading 1, each clause as a Heading 2 "4. Data security"
    with its key in hidden text, then one Word paragraph per body paragraph.

    ``parse_docx`` reads it back to the same title and clauses (see the module docstring).
    Raises ValueError for a multi-line title or heading, an invalid key, or control characters.
    """
    import docx

    if "\n" in title or "\r" in title:
        raise ValueError("The template title must be one line.")
    document = docx.Document()
    document.core_properties.title = title.strip()[:255]
    if title.strip():
        _check_xml_text(title, where="The template title")
        document.add_heading(title.strip(), level=1)
    for position, clause in enumerate(clauses, start=1):
        key, number, heading, body = _fields(clause)
        where = f"Clause {position} ('{key}')"
        _check_xml_text(heading + body, where=where)
        visible, attributes = _heading_text(number, heading, key, where=where)
        paragraph = document.add_heading(visible, level=2)
        paragraph.add_run(f" {attributes}").font.hidden = True
        for text in re.split(r"\n(?:[ \t]*\n)+", body.strip("\n")) if body.strip() else []:
            run = document.add_paragraph().add_run()
            for index, line in enumerate(text.split("\n")):
                if index:
                    run.add_break()
                run.add_text(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _check_xml_text(text: str, *, where: str) -> None:
    if _XML_INVALID_RE.search(text):
        raise ValueError(f"{where} contains a control character that Word cannot store.")


def _heading_text(number: str, heading: str, key: str, *, where: str) -> tuple[str, str]:
    """The visible heading text and the attribute block that parse back to exactly these."""
    if "\n" in heading or "\r" in heading:
        raise ValueError(f"{where}: a heading must be one line.")
    if problem := key_problem(key):
        raise ValueError(f"{where}: {problem}")
    heading = heading.strip()
    if not heading:
        raise ValueError(f"{where}: every clause needs a heading.")
    attributes = [f"#{key}"]
    if number:
        visible = f"{number} {heading}" if "." in number else f"{number}. {heading}"
        if clean_inline(visible) != visible or split_number(visible) != (number, heading):
            if re.search(r'["{}\n]', number):
                raise ValueError(f"{where}: the clause number {number!r} cannot be written.")
            visible = heading
            attributes.append(f'number="{number}"')
    else:
        visible = heading
        if split_number(heading)[0]:
            attributes.append(".unnumbered")
    if clean_inline(heading) != heading or split_attributes(visible + " {x=y}")[0] != visible:
        raise ValueError(f"{where}: the heading {heading!r} would not read back the same.")
    return visible, "{" + " ".join(attributes) + "}"
