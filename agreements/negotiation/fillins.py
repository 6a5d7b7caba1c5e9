"""Writing in the text's fill-in blanks (agreements.text.document.blanks): a value, or "not
applicable" with a reason.

The entries are part of the consolidated text, so this is a change of the text like any other:
only while it may change (draft or negotiating), by someone who acts for a party, recorded in
the agreement's history (its row is tracked), and approvals on the old text are voided
(``review.services.text_changed``). Each call is ``@transaction.atomic``: a refused request
raises ``DomainError`` naming every problem, by blank id, and saves nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from agreements import lifecycle
from agreements.access import User, acting_party
from agreements.lifecycle import lock, require_status
from agreements.models import Agreement
from agreements.review.services import text_changed
from agreements.selectors import consolidated_text
from agreements.text.document.blanks import (
    Entry,
    FillIn,
    FillInProblem,
    clean_reason,
    clean_value,
    entries_json,
    read_entries,
    shorten,
)
from collaboratory.errors import DomainError


@transaction.atomic
def agreement_fillins_update(
    *,
    agreement: Agreement,
    by: User,
    values: Mapping[str, str],
    not_applicable: Mapping[str, str],
) -> Agreement:
    """Write ``values`` into the blanks they name (an empty value clears the blank) and mark
    the blanks of ``not_applicable`` not applicable, each with its reason. Blanks not named
    keep what they had, so two people filling different blanks do not undo each other.

    Refused, naming each blank: an id that is no blank of the current text (or a signature
    line, which signing completes), a blank both filled and marked not applicable, a value
    the blank's kind does not take (a date that is no date, a text too long, control
    characters), a "not applicable" without a reason. Entries no blank takes any more (its
    part's text was replaced) are dropped on the way.
    """
    agreement = lock(agreement)
    acting_party(by, agreement, action="fill in this agreement's blanks")
    require_status(agreement, lifecycle.EDITABLE, "fill in blanks")
    text = consolidated_text(agreement)
    fillins = {f.id: f for f in text.fillins}
    entries, _unreadable = read_entries(agreement.fillins)
    for stale in text.stale_fillins:
        entries.pop(stale.id, None)
    problems: dict[str, list[str]] = {}
    for blank_id in sorted(set(values) | set(not_applicable)):
        fillin = fillins.get(blank_id)
        try:
            if fillin is None:
                raise FillInProblem(
                    f"There is no blank “{shorten(blank_id)}” in this agreement's text now; "
                    "reload the page and fill in what it shows."
                )
            entry = _entry(fillin, values.get(blank_id), not_applicable.get(blank_id))
        except FillInProblem as problem:
            problems[blank_id] = [str(problem)]
            continue
        if entry is None:
            entries.pop(blank_id, None)
        else:
            entries[blank_id] = entry
    if problems:
        raise DomainError(problems, code="fillin_invalid")
    stored = entries_json(entries)
    if stored == agreement.fillins:
        return agreement
    before = agreement.fillins if isinstance(agreement.fillins, dict) else {}
    changed = [
        fillins[key].where
        for key in sorted(set(stored) | set(before), key=_order(text.fillins))
        if key in fillins and stored.get(key) != before.get(key)
    ]
    agreement.fillins = stored
    agreement.full_clean()
    agreement.save(update_fields=["fillins", "updated_at"])
    where = ", ".join(dict.fromkeys(changed))
    reason = f"fill-ins changed: {where}" if where else "outdated fill-ins dropped"
    text_changed(agreement, by=by, reason=reason)
    return agreement


def _order(fillins: tuple[FillIn, ...]):
    """Sort key: blanks in document order, ids no blank has last."""
    position = {f.id: index for index, f in enumerate(fillins)}
    return lambda key: (position.get(key, len(position)), key)


def _entry(fillin: FillIn, value: str | None, reason: str | None) -> Entry | None:
    """The entry for one blank, None to clear it; ``FillInProblem`` says what is wrong."""
    if reason is not None:
        if value is not None and value.strip():
            raise FillInProblem(
                f"{fillin.place}, {fillin.asks}: either fill it in or mark it not applicable, "
                "not both."
            )
        return Entry(
            not_applicable=clean_reason(fillin, reason),
            prompt=fillin.prompt,
            anchor=fillin.anchor,
        )
    cleaned = clean_value(fillin, value or "")
    if not cleaned:
        return None
    return Entry(value=cleaned, prompt=fillin.prompt, anchor=fillin.anchor)
