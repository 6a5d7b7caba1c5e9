"""The first text format (v1): clause bodies as Markdown strings, numbered 1..N.

Kept, unchanged, for one reason: agreements approved or signed before structured text (v2,
:mod:`agreements.text.consolidation`) attest to a SHA-256 of *this* canonical form. While such
an agreement's text has not changed since, :func:`agreements.text.consolidation.consolidate`
reports this form's hash, so every signature, approval and sealed PDF still verifies. Nothing
else uses it. Do not change a byte of :func:`canonical_form` or :func:`consolidate`.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from agreements.text.placeholders import PlaceholderValue, fill, missing_values


class ClauseLike(Protocol):
    """A template clause or a consolidated one: read-only members, so frozen dataclasses
    (``ConsolidatedClause``) match as well as model rows."""

    @property
    def key(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def heading(self) -> str: ...
    @property
    def body(self) -> str: ...


class OverrideLike(Protocol):
    id: int
    kind: str
    clause_key: str
    new_key: str
    heading: str
    body: str


@dataclass(frozen=True)
class ConsolidatedClause:
    key: str
    number: str
    heading: str
    body: str
    origin: str  # "template", "replaced" or "inserted"
    override_id: int | None = None
    template_heading: str = ""
    template_body: str = ""


@dataclass(frozen=True)
class ScheduleRow:
    """One data element as it appears in the agreement's schedule."""

    name: str
    source: str
    recipient: str
    identifiability: str
    research_questions: tuple[str, ...] = ()
    description: str = ""
    # Not part of the first format (nothing recorded ownership when texts were signed on it):
    # accepted so that a current schedule row converts as it is, and never written.
    ownership: object = None


@dataclass(frozen=True)
class ConsolidatedText:
    header: tuple[tuple[str, str], ...]
    clauses: tuple[ConsolidatedClause, ...]
    deleted: tuple[ConsolidatedClause, ...]
    schedule: tuple[ScheduleRow, ...]
    unfilled: tuple[str, ...] = field(default=())

    @property
    def canonical(self) -> str:
        return canonical_form(self)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical.encode("utf-8")).hexdigest()

    def clause(self, key: str) -> ConsolidatedClause | None:
        return next((c for c in self.clauses if c.key == key), None)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(line.rstrip() for line in text.strip().split("\n"))


def canonical_form(text: ConsolidatedText) -> str:
    """The exact string that is hashed: header, clauses in order, then the schedule.

    Unicode NFC, LF line ends, no trailing spaces, so the same text always has the same hash
    whichever browser or platform produced it.
    """
    parts = ["AGREEMENT"]
    parts += [f"{name}: {_normalise(value)}" for name, value in text.header]
    for clause in text.clauses:
        parts.append(
            f"\n[{clause.key}] {clause.number}. {_normalise(clause.heading)}\n\n"
            f"{_normalise(clause.body)}"
        )
    parts.append("\nSCHEDULE A: DATA ELEMENTS")
    for row in text.schedule:
        questions = "; ".join(_normalise(q) for q in row.research_questions)
        parts.append(
            f"- {_normalise(row.name)} | {row.source} -> {row.recipient} | "
            f"{row.identifiability} | {questions} | {_normalise(row.description)}"
        )
    return "\n".join(parts) + "\n"


def consolidate(
    *,
    clauses: Sequence[ClauseLike],
    accepted_overrides: Iterable[OverrideLike],
    values: Mapping[str, PlaceholderValue | None],
    header: Sequence[tuple[str, str]] = (),
    schedule: Sequence[ScheduleRow] = (),
) -> ConsolidatedText:
    """Apply accepted overrides (in the order given) to the template clauses, number the
    result 1..N, and fill placeholders by plain substitution.

    An override whose clause is no longer there (deleted, or unknown) is skipped; services
    refuse such proposals up front, so this only guards against inconsistent input.
    """
    working: list[dict] = [
        {
            "key": c.key,
            "heading": c.heading,
            "body": c.body,
            "origin": "template",
            "override_id": None,
            "template_heading": c.heading,
            "template_body": c.body,
            "deleted": False,
        }
        for c in clauses
    ]
    for override in accepted_overrides:
        index = next((i for i, c in enumerate(working) if c["key"] == override.clause_key), None)
        if index is None:
            continue
        if override.kind == "replace":
            target = working[index]
            target["body"] = override.body
            target["heading"] = override.heading or target["heading"]
            target["origin"] = "replaced" if target["origin"] == "template" else target["origin"]
            target["override_id"] = override.id
        elif override.kind == "delete":
            working[index]["deleted"] = True
            working[index]["override_id"] = override.id
        elif override.kind == "insert":
            # After the clause and after anything already inserted after it.
            position = index + 1
            while position < len(working) and working[position].get("inserted_after") == (
                override.clause_key
            ):
                position += 1
            working.insert(
                position,
                {
                    "key": override.new_key,
                    "heading": override.heading,
                    "body": override.body,
                    "origin": "inserted",
                    "override_id": override.id,
                    "template_heading": "",
                    "template_body": "",
                    "deleted": False,
                    "inserted_after": override.clause_key,
                },
            )
    kept: list[ConsolidatedClause] = []
    deleted: list[ConsolidatedClause] = []
    unfilled: list[str] = []
    for item in working:
        heading = fill(item["heading"], values)
        body = fill(item["body"], values)
        if not item["deleted"]:
            # Judged on the text before filling: a value may itself contain "[[...]]".
            raw = item["heading"] + "\n" + item["body"]
            for name in missing_values(raw, values):
                if name not in unfilled:
                    unfilled.append(name)
        clause = ConsolidatedClause(
            key=item["key"],
            number=str(len(kept) + 1) if not item["deleted"] else "",
            heading=heading,
            body=body,
            origin=item["origin"],
            override_id=item["override_id"],
            template_heading=item["template_heading"],
            template_body=item["template_body"],
        )
        (deleted if item["deleted"] else kept).append(clause)
    return ConsolidatedText(
        header=tuple(header),
        clauses=tuple(kept),
        deleted=tuple(deleted),
        schedule=tuple(schedule),
        unfilled=tuple(unfilled),
    )
