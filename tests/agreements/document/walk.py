"""Helpers for tests: walk a tree, read source tables, strip markup for comparisons."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from agreements.text.document.model import (
    Block,
    BulletList,
    Document,
    Indented,
    Inline,
    OrderedList,
    Paragraph,
    Part,
    Table,
)
from agreements.text.document.plain import blocks_text

MARKUP = ("**", "{.ul}", "^th^", "+---", "|---", "\\.")


def blocks_of(blocks: tuple[Block, ...]) -> Iterator[Block]:
    for block in blocks:
        yield block
        if isinstance(block, (OrderedList, BulletList)):
            for item in block.items:
                yield from blocks_of(item.blocks)
        elif isinstance(block, Table):
            for row in block.rows:
                for cell in row.cells:
                    yield from blocks_of(cell.blocks)
        elif isinstance(block, Indented):
            yield from blocks_of(block.blocks)


def inlines_of(inlines: tuple[Inline, ...]) -> Iterator[Inline]:
    for inline in inlines:
        yield inline
        yield from inlines_of(getattr(inline, "children", ()))


def all_inlines(document: Document) -> Iterator[tuple[Part, Inline]]:
    for part in document.parts:
        for block in blocks_of(part.blocks):
            if isinstance(block, Paragraph):
                for inline in inlines_of(block.inlines):
                    yield part, inline


def tables(document: Document) -> list[Table]:
    return [b for part in document.parts for b in blocks_of(part.blocks) if isinstance(b, Table)]


def squash(text: str) -> str:
    """Text for comparing a cell with its source: no markup, one marker per fill-in line."""
    text = text.replace("\\_", "_").replace("\\", "")
    text = re.sub(r"_{3,}", "____", text.replace("*", "").replace("{.ul}", ""))
    return " ".join(text.split())


def cell_texts(table: Table) -> list[list[str]]:
    return [[squash(" ".join(blocks_text(c.blocks))) for c in row.cells] for row in table.rows]


def source_tables(source: str) -> list[list[list[str]]]:
    """Cell texts of the grid and simple tables in Markdown source, row by row."""
    lines = source.split("\n")
    found, index = [], 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("+-"):
            end = index
            while end < len(lines) and lines[end][:1] in ("+", "|"):
                end += 1
            found.append(_grid(lines[index:end]))
            index = end
        elif re.fullmatch(r"\s*-{3,}(\s+-{3,})+\s*", line):
            header = (
                index > 0
                and lines[index - 1].strip()
                and not lines[index - 1].lstrip().startswith("-")
            )
            start = index - 1 if header else index + 1
            end = index + 1
            while (
                end < len(lines) and lines[end].strip() and not re.fullmatch(r"[\s-]+", lines[end])
            ):
                end += 1
            columns = [m.start() for m in re.finditer(r"-+", line)]
            rows = [lines[start]] if header else []
            rows += lines[index + 1 : end]
            found.append(
                [
                    [squash(row[a:b]) for a, b in zip(columns, [*columns[1:], None], strict=True)]
                    for row in rows
                ]
            )
            index = end + 1
        else:
            index += 1
    return found


def _grid(lines: list[str]) -> list[list[str]]:
    columns = [m.start() for m in re.finditer(r"\+", lines[0])]
    rows, current = [], None
    for line in lines:
        if line.startswith("+"):
            if current is not None:
                rows.append([squash(" ".join(parts)) for parts in current])
            current = [[] for _ in columns[:-1]]
        else:
            for number, (a, b) in enumerate(zip(columns, columns[1:], strict=False)):
                current[number].append(line[a + 1 : b])
    return rows


def html_text(markup: str) -> str:
    """The text a reader sees in HTML: tags gone, entities decoded, one line per block."""
    markup = re.sub(r"</(p|li|h2|tr|td|th|header)>", "\n", markup)
    return html.unescape(re.sub(r"<[^>]+>", "", markup))
