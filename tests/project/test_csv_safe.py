"""Every CSV export goes through collaboratory.csv_safe, which no spreadsheet runs as formulas."""

import csv
import decimal
import io
import pathlib

import pytest

from collaboratory import csv_safe

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "text", ["=1+2", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=cmd|' /C calc'!A0"]
)
def test_a_cell_that_a_spreadsheet_would_run_gets_a_quote_in_front(text):
    buffer = io.StringIO()
    csv_safe.writer(buffer).writerow([text, "plain"])

    assert next(csv.reader(io.StringIO(buffer.getvalue(), newline=""))) == ["'" + text, "plain"]


def test_numbers_and_ordinary_text_are_written_as_they_are():
    buffer = io.StringIO()
    csv_safe.writer(buffer, lineterminator="\n").writerows(
        [[-3, 1.5, decimal.Decimal("-2.50"), None, "Cedar Hill", "K", "A-1", "a=b"]]
    )

    assert buffer.getvalue() == "-3,1.5,-2.50,,Cedar Hill,K,A-1,a=b\n"


def test_no_export_writes_csv_without_the_helper():
    # consent/demo.py writes an *import* file for the demo, read back by our own importer.
    allowed = {"collaboratory/csv_safe.py", "consent/demo.py"}
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("collaboratory", "partners", "agreements", "consent", "audit")
        for path in (ROOT / package).rglob("*.py")
        if str(path.relative_to(ROOT)) not in allowed
        and ("csv.writer(" in path.read_text() or "csv.DictWriter(" in path.read_text())
    ]
    assert offenders == []
