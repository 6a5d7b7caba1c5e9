"""Reading and checking consent CSV files: file checks, then row-level validation.

Pure functions over bytes and plain values (no database): the services pass in what the
checks need (the agreement's forms, the students already known and their histories), so
the preview and the confirmation run exactly the same checks.

The file: UTF-8 (a byte-order mark is fine), comma-separated, one header row.

    student_key,decision,given_by,method,date,school,grade,birth_year,witness,form_language,form_version
    RB-000123,granted,parent,paper,2026-09-14,Cedar Hill Middle,7,2013,,,

Required columns: student_key, decision, given_by, method, date. A row with an empty
decision (and empty given_by, method, date) registers a student in the cohort without a
decision yet ("no response"). form_language/form_version pick the form version the family
saw; without them the form chosen at upload applies.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeGuard

from consent.rules import Action, Decision, GivenBy, Method, is_adult
from partners.student_keys import key_problem as basic_key_problem

REQUIRED_COLUMNS = ("student_key", "decision", "given_by", "method", "date")
OPTIONAL_COLUMNS = ("school", "grade", "birth_year", "witness", "form_language", "form_version")
ALL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAX_STORED_ERRORS = 500
STUDENT_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
EARLIEST_DATE = dt.date(2000, 1, 1)

DECISIONS = {
    "granted": Action.GRANTED,
    "grant": Action.GRANTED,
    "refused": Action.REFUSED,
    "refuse": Action.REFUSED,
    "withdrawn": Action.WITHDRAWN,
    "withdraw": Action.WITHDRAWN,
}
GIVERS = {"parent": GivenBy.PARENT, "guardian": GivenBy.PARENT, "student": GivenBy.STUDENT}
METHODS = {"paper": Method.PAPER, "electronic": Method.ELECTRONIC, "verbal": Method.VERBAL}
BINARY_SIGNATURES = {
    b"PK\x03\x04": "an Excel workbook or another zip file",
    b"\xd0\xcf\x11\xe0": "an old Excel or Word file",
    b"%PDF": "a PDF",
}


class FileRejected(ValueError):
    """The file as a whole cannot be read as a consent CSV; the message says why."""


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(slots=True)
class Row:
    """One valid file row. ``action`` None: register the student without a decision."""

    number: int
    student_key: str
    action: str | None = None
    given_by: str | None = None
    method: str | None = None
    witness: str = ""
    decided_on: dt.date | None = None
    form_id: int | None = None
    school: str | None = None
    grade: int | None = None
    birth_year: int | None = None
    #: False when a check of this row alone failed; cross-row checks still see the row
    #: (so one pass reports as much as possible) but it is never imported.
    valid: bool = True

    def decision(self) -> Decision:
        # File rows come after every stored record, in (date, row) order.
        assert self.action and self.given_by and self.decided_on
        return Decision(self.action, self.given_by, self.decided_on, 10**12 + self.number)


class DecidedRow(Protocol):
    """A valid row that carries a decision: every column of its consent record is known."""

    @property
    def number(self) -> int: ...
    @property
    def student_key(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def given_by(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def witness(self) -> str: ...
    @property
    def decided_on(self) -> dt.date: ...
    @property
    def form_id(self) -> int: ...


def is_decided(row: Row) -> TypeGuard[DecidedRow]:
    """Whether ``row`` carries a decision (else it only registers the student). Validation
    fills every record column of such a row; a row it did not is a bug, so it fails here
    rather than reaching the database half empty."""
    if not row.action:
        return False
    assert row.given_by and row.method and row.decided_on and row.form_id is not None
    return True


@dataclass(frozen=True)
class FormRef:
    id: int
    language: str
    version: int
    effective_date: dt.date


@dataclass(frozen=True)
class KnownStudent:
    """What the checks need of a student already in the cohort."""

    birth_year: int | None


@dataclass
class CheckResult:
    rows: list[Row] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    row_count: int = 0

    def add(self, row: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_STORED_ERRORS:
            self.errors.append(RowError(row, column, message))

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def counts(self) -> dict[str, int]:
        counts = {"granted": 0, "refused": 0, "withdrawn": 0, "no_decision": 0}
        for row in self.rows:
            counts[row.action or "no_decision"] += 1
        counts["students"] = len({row.student_key for row in self.rows})
        return counts


# --- the file -----------------------------------------------------------------------------


def decode(content: bytes, *, max_bytes: int) -> str:
    """The file's text, or FileRejected saying what is wrong with it."""
    if not content:
        raise FileRejected("The file is empty.")
    if len(content) > max_bytes:
        raise FileRejected(
            f"The file is {len(content) / 1_000_000:.1f} MB; the limit is "
            f"{max_bytes / 1_000_000:.1f} MB. Split it into smaller files."
        )
    for signature, what in BINARY_SIGNATURES.items():
        if content.startswith(signature):
            raise FileRejected(
                f"This file looks like {what}, not a CSV file. In your spreadsheet program "
                "choose Save As → “CSV UTF-8 (comma delimited)” and upload that."
            )
    if b"\x00" in content:
        raise FileRejected(
            "This file contains binary data, so it is not a CSV text file. Export the data as "
            "“CSV UTF-8” and upload that."
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileRejected(
            f"The file is not UTF-8 text (an unreadable byte at position {error.start}). Save "
            "it as “CSV UTF-8” and upload it again."
        ) from None
    if not text.strip():
        raise FileRejected("The file is empty.")
    return text


def _normalise_header(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def read_rows(text: str, *, max_rows: int) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header columns and (file row number, values) pairs; FileRejected past ``max_rows``."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as error:
        raise FileRejected(f"The first line cannot be read as CSV: {error}.") from None
    rows: list[tuple[int, list[str]]] = []
    try:
        for values in reader:
            if not values or (not values[0].strip() and not "".join(values).strip()):
                continue  # blank lines (often ",,,," at the end) are not rows
            if len(rows) >= max_rows:
                raise FileRejected(
                    f"The file has more than {max_rows:,} rows; the limit is {max_rows:,}. "
                    "Split it into smaller files."
                )
            rows.append((reader.line_num, values))
    except csv.Error as error:
        raise FileRejected(f"Line {reader.line_num} cannot be read as CSV: {error}.") from None
    return [_normalise_header(h) for h in header], rows


# --- rows ---------------------------------------------------------------------------------


def _parse_date(value: str) -> dt.date | None:
    """Only YYYY-MM-DD: other spellings (14/09/2026, 09/14/2026) are ambiguous."""
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _choice(value: str, options: Mapping[str, str]) -> str | None:
    return options.get(value) or options.get(value.lower())


def _allowed(options: Iterable[str]) -> str:
    return ", ".join(sorted(set(options)))


def check_file(
    text: str,
    *,
    max_rows: int,
    today: dt.date,
    default_form: FormRef,
    forms: Iterable[FormRef],
    lookup: Callable[
        [set[str], set[str]], tuple[Mapping[str, KnownStudent], Mapping[str, list[Decision]]]
    ]
    | None = None,
    key_problem: Callable[[str], str] | None = None,
) -> CheckResult:
    """Validate every row; the result lists each problem with row number and column.

    ``lookup(keys, withdrawing_keys)`` returns what is stored about the file's students:
    the cohort's known students by key, and the stored decisions of the students the file
    withdraws (a withdrawal must follow a grant by the same giver).

    ``key_problem(key)`` says why a key cannot be a new student's key ("" when it can): the
    district's format, or the rule against keys shaped like names
    (``partners.student_keys``); without it only the name rule applies. Students already
    in the cohort keep their key. A refused key is reported by row, never by value.
    """
    header, raw_rows = read_rows(text, max_rows=max_rows)
    result = CheckResult(row_count=len(raw_rows))
    unknown = [h for h in header if h not in ALL_COLUMNS]
    for name in unknown:
        result.add(
            1,
            name or "(blank)",
            f"Unknown column “{name}”. Allowed columns: {', '.join(ALL_COLUMNS)}.",
        )
    for name in REQUIRED_COLUMNS:
        if name not in header:
            result.add(1, name, f"The column “{name}” is missing.")
    repeated = sorted({h for h in header if header.count(h) > 1})
    for name in repeated:
        result.add(1, name, f"The column “{name}” appears more than once.")
    if not result.ok:
        return result
    known: Mapping[str, KnownStudent] = {}
    history: Mapping[str, list[Decision]] = {}
    if lookup is not None and raw_rows:
        # Looked up before the rows are checked: a student already in the cohort keeps
        # their key even when the district's format has changed since.
        known, history = lookup(*_keys_of(header, raw_rows))
    checker = _RowChecker(
        header, result, today, default_form, forms, key_problem or _name_rule, known
    )
    append = result.rows.append
    for number, values in raw_rows:
        row = checker.check(number, values)
        if row is not None:
            append(row)
    check_rows(result, known=known, history=history)
    return result


def _name_rule(key: str) -> str:
    return basic_key_problem(key, None)


def _keys_of(header: list[str], raw_rows: list[tuple[int, list[str]]]) -> tuple[set[str], set[str]]:
    """The file's student keys, and those of rows that withdraw (for ``lookup``)."""
    key_at, decision_at = header.index("student_key"), header.index("decision")
    keys: set[str] = set()
    withdrawing: set[str] = set()
    for _, values in raw_rows:
        if len(values) <= key_at:
            continue
        key = values[key_at].strip()
        keys.add(key)
        if (
            len(values) > decision_at
            and _choice(values[decision_at].strip(), DECISIONS) == Action.WITHDRAWN
        ):
            withdrawing.add(key)
    keys.discard("")
    withdrawing.discard("")
    return keys, withdrawing


class _RowChecker:
    """Checks one row at a time, written for 100,000-row files: column positions are looked
    up once, and each distinct combination of attribute cells, and of decision cells, is
    checked once (a district file repeats the same schools, dates and decisions
    thousands of times)."""

    def __init__(self, header, result, today, default_form, forms, key_problem, known) -> None:
        self.key_rule = key_problem
        self.known = known
        self.width = len(header)
        position = {name: i for i, name in enumerate(header)}
        # Absent optional columns read an extra empty value appended to every row.
        at = {name: position.get(name, self.width) for name in ALL_COLUMNS}
        self.key_at = at["student_key"]
        self.attribute_at = (at["school"], at["grade"], at["birth_year"])
        self.decision_at = (
            at["decision"],
            at["given_by"],
            at["method"],
            at["date"],
            at["witness"],
            at["form_language"],
            at["form_version"],
        )
        self.result = result
        self.today = today
        self.default_form = default_form
        self.forms_by_ref = {(f.language, f.version): f for f in forms}
        self.keys: dict[str, str] = {}
        self.attributes: dict[tuple, tuple] = {}
        self.decisions: dict[tuple, tuple] = {}

    def key_problem(self, key: str) -> str:
        problem = self.keys.get(key)
        if problem is None:
            if not key:
                problem = "The student key is empty."
            elif key in self.known and STUDENT_KEY_RE.fullmatch(key):
                problem = ""  # already in the cohort: the key was accepted then
            else:
                # Never echo the value: a wrong key may well be a name.
                problem = self.key_rule(key)
            self.keys[key] = problem
        return problem

    def attribute_cells(self, cells: tuple[str, str, str]) -> tuple:
        """(school, grade, birth_year, problems) for the attribute cells."""
        school, grade, birth_year = cells
        problems = []
        if school and (len(school) > 100 or CONTROL_RE.search(school)):
            problems.append(
                ("school", "The school name must be at most 100 characters of plain text.")
            )
        grade_value = None
        if grade:
            if grade.isdigit() and int(grade) <= 12:
                grade_value = int(grade)
            elif grade.upper() in ("K", "KG"):
                grade_value = 0
            else:
                problems.append(("grade", f"“{grade[:20]}” is not a grade: use K or 1-12."))
        year = None
        if birth_year:
            if (
                len(birth_year) == 4
                and birth_year.isdigit()
                and (1980 <= int(birth_year) <= self.today.year)
            ):
                year = int(birth_year)
            else:
                problems.append(
                    (
                        "birth_year",
                        f"“{birth_year[:20]}” is not a birth year: use four digits, e.g. 2013.",
                    )
                )
        return (school or None, grade_value, year, tuple(problems))

    def decision_cells(self, cells: tuple[str, ...]) -> tuple:
        """(action, given_by, method, witness, decided_on, form_id, problems)."""
        decision, given_by, method, date, witness, language, version = cells
        problems: list[tuple[str, str]] = []
        if not decision:
            for name, value in (("given_by", given_by), ("method", method), ("date", date)):
                if value:
                    problems.append(
                        (
                            name,
                            "The decision is empty, so this row only registers "
                            f"the student; leave {name} empty too, or fill in the "
                            "decision.",
                        )
                    )
            return (None, None, None, "", None, None, tuple(problems))
        action = _choice(decision, DECISIONS)
        if action is None:
            problems.append(
                (
                    "decision",
                    f"“{decision[:30]}” is not a decision: use {_allowed(DECISIONS.values())}.",
                )
            )
        giver = _choice(given_by, GIVERS)
        if giver is None:
            problems.append(
                (
                    "given_by",
                    f"“{given_by[:30]}” is not who decided: use parent (or guardian) or student."
                    if given_by
                    else "Say who decided: parent or student.",
                )
            )
        how = _choice(method, METHODS)
        if how is None:
            problems.append(
                (
                    "method",
                    f"“{method[:30]}” is not a method: use {_allowed(METHODS.values())}."
                    if method
                    else "Say how the decision was given: paper, electronic or verbal.",
                )
            )
        if witness and (len(witness) > 200 or CONTROL_RE.search(witness)):
            problems.append(
                ("witness", "The witness must be at most 200 characters of plain text.")
            )
        if how == Method.VERBAL and not witness:
            problems.append(
                (
                    "witness",
                    "A verbal decision needs the name of the staff member who witnessed it.",
                )
            )
        day = _parse_date(date)
        if day is None:
            problems.append(
                (
                    "date",
                    f"“{date[:30]}” is not a date: use YYYY-MM-DD, e.g. 2026-09-14."
                    if date
                    else "The date of the decision is empty.",
                )
            )
        elif day > self.today:
            problems.append(("date", f"{day} is in the future."))
        elif day < EARLIEST_DATE:
            problems.append(("date", f"{day} is before {EARLIEST_DATE}."))
        form = self.default_form
        if language or version:
            if version and not version.isdigit():
                problems.append(("form_version", f"“{version[:20]}” is not a form version number."))
                form = None
            else:
                wanted = (language or form.language, int(version) if version else form.version)
                form = self.forms_by_ref.get(wanted)
                if form is None:
                    problems.append(
                        (
                            "form_version" if version else "form_language",
                            f"There is no consent form version {wanted[1]} in "
                            f"“{wanted[0]}” for this agreement.",
                        )
                    )
        if form is not None and day and day < form.effective_date:
            problems.append(
                (
                    "date",
                    f"The decision ({day}) is dated before the form version "
                    f"it refers to took effect ({form.effective_date}).",
                )
            )
        return (action, giver, how, witness, day, form.id if form else None, tuple(problems))

    def check(self, number: int, values: list[str]) -> Row | None:
        result = self.result
        if len(values) > self.width:
            result.add(
                number,
                "(row)",
                f"The row has {len(values)} values but the header has {self.width} columns.",
            )
            return None
        values = list(map(str.strip, values))
        values.extend([""] * (self.width + 1 - len(values)))
        key = values[self.key_at]
        at = self.attribute_at
        attribute_cells = (values[at[0]], values[at[1]], values[at[2]])
        attributes = self.attributes.get(attribute_cells)
        if attributes is None:
            attributes = self.attributes[attribute_cells] = self.attribute_cells(attribute_cells)
        decision_at = self.decision_at
        decision_cells = (
            values[decision_at[0]],
            values[decision_at[1]],
            values[decision_at[2]],
            values[decision_at[3]],
            values[decision_at[4]],
            values[decision_at[5]],
            values[decision_at[6]],
        )
        decided = self.decisions.get(decision_cells)
        if decided is None:
            decided = self.decisions[decision_cells] = self.decision_cells(decision_cells)
        school, grade, birth_year, attribute_problems = attributes
        action, giver, how, witness, day, form_id, decision_problems = decided
        key_problem = self.key_problem(key)
        valid = not (key_problem or attribute_problems or decision_problems)
        if not valid:
            if key_problem:
                result.add(number, "student_key", key_problem)
            for column, message in (*attribute_problems, *decision_problems):
                result.add(number, column, message)
        return Row(
            number, key, action, giver, how, witness, day, form_id, school, grade, birth_year, valid
        )


def check_rows(
    result: CheckResult,
    *,
    known: Mapping[str, KnownStudent],
    history: Mapping[str, list[Decision]],
) -> None:
    """Checks across rows and against stored data: duplicates, conflicting decisions,
    conflicting birth years, age rules, and withdrawals without an earlier grant. Rows
    that failed a check of their own still take part, so one pass reports all it can."""
    add = result.add
    bad: set[int] = {r.number for r in result.rows if not r.valid}
    key_ok: dict[str, bool] = {}
    birth_years: dict[str, tuple[int, int]] = {}
    seen: dict[tuple, Row] = {}
    decided: list[Row] = []
    fullmatch = STUDENT_KEY_RE.fullmatch
    for row in result.rows:
        key = row.student_key
        ok = key_ok.get(key)
        if ok is None:
            ok = key_ok[key] = fullmatch(key) is not None
        if not ok:
            continue
        birth_year = row.birth_year
        if birth_year is not None:
            first = birth_years.get(key)
            if first is None:
                birth_years[key] = (birth_year, row.number)
            elif first[0] != birth_year:
                add(
                    row.number,
                    "birth_year",
                    f"The birth year differs from row {first[1]} for "
                    f"the same student ({first[0]}).",
                )
                bad.add(row.number)
        decided_on = row.decided_on
        if decided_on is None or not row.action or not row.given_by:
            continue
        same_day = (key, row.given_by, decided_on)
        earlier = seen.get(same_day)
        if earlier is None:
            seen[same_day] = row
            decided.append(row)
        elif earlier.action == row.action:
            add(row.number, "(row)", f"Duplicate of row {earlier.number}.")
            bad.add(row.number)
        else:
            add(
                row.number,
                "decision",
                f"Row {earlier.number} records a different decision by "
                "the same person for the same student on the same day; keep only the right one.",
            )
            bad.add(row.number)

    ages: dict[tuple, str] = {}
    for row in decided:
        birth_year = birth_years.get(row.student_key, (None,))[0]
        if birth_year is None and row.student_key in known:
            birth_year = known[row.student_key].birth_year
        if birth_year is None:
            continue
        age_key = (row.given_by, row.decided_on, birth_year)
        problem = ages.get(age_key)
        if problem is None:
            problem = ages[age_key] = age_problem(row.given_by, row.decided_on, birth_year)
        if problem:
            add(row.number, "birth_year" if row.birth_year else "given_by", problem)
            bad.add(row.number)

    withdrawals = [r for r in decided if r.action == Action.WITHDRAWN]
    if withdrawals:
        withdrawing = {r.student_key for r in withdrawals}
        by_student: dict[str, list[Decision]] = {}
        for row in decided:
            if row.student_key in withdrawing:
                by_student.setdefault(row.student_key, []).append(row.decision())
        for row in withdrawals:
            own = row.decision()
            before = [
                d
                for d in (*history.get(row.student_key, ()), *by_student[row.student_key])
                if d.given_by == row.given_by
                and (d.decided_on, d.sequence) < (own.decided_on, own.sequence)
            ]
            previous = max(before, key=lambda d: (d.decided_on, d.sequence)) if before else None
            if previous is None or previous.action != Action.GRANTED:
                who = "parent" if row.given_by == GivenBy.PARENT else "student"
                add(
                    row.number,
                    "decision",
                    f"Nothing to withdraw: the {who} had not granted "
                    f"consent before {row.decided_on}.",
                )
                bad.add(row.number)
    if bad:
        result.rows = [r for r in result.rows if r.number not in bad]


def age_problem(given_by: str | None, decided_on: dt.date | None, birth_year: int | None) -> str:
    """Why a decision breaks the age rules (empty when it does not)."""
    if birth_year is None or decided_on is None:
        return ""
    youngest = decided_on.year - birth_year - 1
    if youngest < 2 or youngest > 30:
        return (
            f"A student born in {birth_year} would be about {youngest + 1} on "
            f"{decided_on}; check the birth year."
        )
    if given_by == GivenBy.PARENT and is_adult(birth_year, decided_on):
        return (
            f"The student (born {birth_year}) was 18 or older on {decided_on}, so a parent "
            "can no longer decide for them: record the student's own decision "
            "(given_by student)."
        )
    return ""
