"""Tables in the Word export: real Word tables a lawyer can edit.

Header rows repeat at the top of each page (``w:tblHeader``), rows do not break across pages
(``w:cantSplit``), merged cells are Word's own (``w:gridSpan`` across, ``w:vMerge`` down),
column widths follow the tree's relative widths over the text width (equal when it has none),
and a row with fewer cells than the grid ends early (``w:gridAfter``). Every cell ends with a
paragraph, as Word requires. The exact widths are also kept in ``cb:widths`` so the import
gives them back unrounded.
"""

from __future__ import annotations

from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from agreements.text.document.docx_import import cb
from agreements.text.document.model import Table
from agreements.text.document.word_numbering import w

TEXT_WIDTH = 9360  # twips: Letter with one-inch margins


def write_table(writer: Any, table: Table, parent: Any | None, base: int) -> None:
    grid = _grid(table)
    columns = max((len(row) for row in grid), default=0)
    if not columns:
        return
    widths = list(table.widths[:columns]) if table.widths else []
    if len(widths) < columns or sum(widths) <= 0:
        widths = [1.0] * columns
    total = TEXT_WIDTH - base
    twips = [max(1, round(total * width / sum(widths))) for width in widths]
    tbl = etree.Element(w("tbl"))
    tbl.set(cb("widths"), " ".join(repr(width) for width in table.widths))
    if parent is None:
        writer.sect_pr.addprevious(tbl)
    else:
        parent.append(tbl)
    tpr = etree.SubElement(tbl, w("tblPr"))
    etree.SubElement(tpr, w("tblStyle"), {w("val"): "TableGrid"})
    etree.SubElement(tpr, w("tblW"), {w("w"): str(sum(twips)), w("type"): "dxa"})
    if base:
        etree.SubElement(tpr, w("tblInd"), {w("w"): str(base), w("type"): "dxa"})
    etree.SubElement(tpr, w("tblLayout"), {w("type"): "fixed"})
    tgrid = etree.SubElement(tbl, w("tblGrid"))
    for width in twips:
        etree.SubElement(tgrid, w("gridCol"), {w("w"): str(width)})
    for r, row in enumerate(grid):
        tr = etree.SubElement(tbl, w("tr"))
        trpr = etree.SubElement(tr, w("trPr"))
        etree.SubElement(trpr, w("cantSplit"))
        if r < table.header_rows:
            etree.SubElement(trpr, w("tblHeader"))
        used = sum(span for _, span, _ in row)
        if used < columns:
            trpr.insert(0, etree.Element(w("gridAfter"), {w("val"): str(columns - used)}))
        column = 0
        for cell, span, merge in row:
            tc = etree.SubElement(tr, w("tc"))
            tcpr = etree.SubElement(tc, w("tcPr"))
            width = sum(twips[column : column + span])
            etree.SubElement(tcpr, w("tcW"), {w("w"): str(width), w("type"): "dxa"})
            if span > 1:
                etree.SubElement(tcpr, w("gridSpan"), {w("val"): str(span)})
            if merge:
                attrs = {w("val"): "restart"} if merge == "restart" else {}
                etree.SubElement(tcpr, w("vMerge"), attrs)
            if cell is not None and merge != "continue":
                writer.blocks(cell.blocks, tc, 0, (), [0], ())
            if tc[-1].tag != w("p"):  # Word wants every cell to end with a paragraph
                writer.paragraph(tc)
            column += span


def _grid(table: Table) -> list[list[tuple[Any, int, str]]]:
    """Each row's cells in grid order: (cell, colspan, "" | "restart" | "continue"), with
    the cells that a row span from above covers written as continuations."""
    covered: dict[tuple[int, int], tuple[Any, int]] = {}
    out = []
    for r, row in enumerate(table.rows):
        cells, column = [], 0
        pending = list(row.cells)
        while pending or (r, column) in covered:
            if (r, column) in covered:
                cell, span = covered[(r, column)]
                cells.append((cell, span, "continue"))
                column += span
                continue
            cell = pending.pop(0)
            for below in range(1, cell.rowspan):
                covered[(r + below, column)] = (cell, cell.colspan)
            cells.append((cell, cell.colspan, "restart" if cell.rowspan > 1 else ""))
            column += cell.colspan
        out.append(cells)
    # Spans running past the last row get rows of their own, as Word needs.
    r = len(table.rows)
    while any(row >= r for row, _ in covered):
        cells = [
            (cell, span, "continue")
            for (row, _column), (cell, span) in sorted(covered.items())
            if row == r
        ]
        out.append(cells)
        r += 1
    return out
