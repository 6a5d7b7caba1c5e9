"""Comparison structures (agreements/comparisons.py): pure functions, no database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agreements.standards.upload import parse_upload
from agreements.text import comparisons
from agreements.text.consolidation import consolidate
from agreements.text.proposals import conflict_positions, upgrade_preview

DEMO = Path(__file__).resolve().parents[2] / "agreements" / "demo"


@dataclass
class C:
    key: str
    number: str
    heading: str
    body: str


@dataclass
class O:  # noqa: E742 - an override, as the consolidation protocol sees it
    id: int
    kind: str
    clause_key: str
    new_key: str = ""
    heading: str = ""
    body: str = ""
    rationale: str = "because"


def clauses(*specs: tuple[str, str]) -> list[C]:
    return [C(key, str(i), key.title(), body) for i, (key, body) in enumerate(specs, start=1)]


STANDARD = clauses(
    ("purpose", "The data is used for the study only."),
    ("security", "Each Party protects the data."),
    ("audits", "The District may audit the Recipient once a year."),
    ("notices", "Notices are given in writing."),
)


def states(rows) -> list[tuple[str, str]]:
    return [(r.key, r.state) for r in rows]


def test_align_marks_every_clause_unchanged_modified_inserted_or_deleted():
    new = [
        STANDARD[0],
        C("security", "2", "Security", "Each Party protects the data with encryption."),
        C("escrow", "3", "Escrow", "A copy is held in escrow."),
        STANDARD[3],
    ]

    rows = comparisons.align(STANDARD, new)

    assert states(rows) == [
        ("purpose", "unchanged"),
        ("security", "modified"),
        ("audits", "deleted"),  # right after the clause that preceded it
        ("escrow", "inserted"),
        ("notices", "unchanged"),
    ]
    assert rows[2].old.body == "The District may audit the Recipient once a year."
    assert rows[2].new is None
    assert rows[3].old is None


def test_a_deleted_clause_stays_where_it_stood_and_a_moved_clause_is_matched_by_key():
    new = [STANDARD[3], STANDARD[0], STANDARD[1]]  # notices moved first, audits deleted

    rows = comparisons.align(STANDARD, new)

    assert states(rows) == [
        ("notices", "unchanged"),
        ("purpose", "unchanged"),
        ("security", "unchanged"),
        ("audits", "deleted"),
    ]


def test_agreement_summary_counts_deviations_conflicts_and_insertions():
    values = {"breach_notice_hours": 24}
    template = [
        *STANDARD,
        C("breach", "5", "Breach", "Notice within [[breach_notice_hours]] hours."),
    ]
    accepted = [
        O(1, "replace", "security", body="Each Party protects the data with encryption."),
        O(2, "delete", "audits"),
        O(3, "insert", "notices", new_key="escrow", heading="Escrow", body="Escrow copy."),
        O(4, "insert", "purpose", new_key="ai", heading="AI", body="No model training."),
    ]
    text = consolidate(clauses=template, accepted_overrides=accepted, values=values)
    standard = comparisons.standard_text(template, values)

    comparison = comparisons.agreement_vs_template(text, standard, conflict_keys={"breach"})

    # Four clauses, "breach" and the data-element schedule, a part of the text like them.
    assert comparison.summary == (
        "2 of 6 clauses deviate from the standard (1 modified, 1 deleted); 1 conflict; "
        "2 inserted clauses"
    )
    breach = next(r for r in comparison.rows if r.key == "breach")
    # Placeholders are filled on both sides: a parameter is not a deviation.
    assert breach.state == "unchanged" and breach.conflict
    assert "24 hours" in breach.new_body
    security = next(r for r in comparison.rows if r.key == "security")
    assert security.override_id == 1
    assert "<ins" in security.inline and "encryption" in security.inline


def test_summary_of_identical_texts_says_nothing_deviates():
    text = comparisons.standard_text(STANDARD, {})

    comparison = comparisons.agreement_vs_template(text, text)

    assert comparison.summary == (  # four clauses and the data-element schedule
        "0 of 5 clauses deviate from the standard; 0 conflicts; 0 inserted clauses"
    )
    assert comparison.changed_rows == []
    assert all("<ins" not in r.inline and "<del" not in r.inline for r in comparison.rows)


def test_navigation_links_each_change_to_the_previous_and_next_one():
    new = [
        C("purpose", "1", "Purpose", "The data is used for this study only."),
        STANDARD[1],
        C("audits", "3", "Audit rights", "The District may audit the Recipient."),
        STANDARD[3],
    ]
    comparison = comparisons.template_vs_template(STANDARD, new, old_label="v1", new_label="v2")

    navigation = comparison.navigation

    assert [(row.key, previous, following) for row, previous, following in navigation] == [
        ("purpose", "", "chg-audits-h-1"),  # the audits heading changed: its change is first
        ("audits", "chg-purpose-1", ""),
    ]
    audits = navigation[1][0]
    assert 'id="chg-audits-h-1"' in audits.heading_inline
    assert 'id="chg-audits-1"' in audits.inline


def test_review_hash_changes_with_the_text_and_the_kind_of_change():
    one = comparisons.align(STANDARD, [C("purpose", "1", "Purpose", "For the study.")])[0]
    two = comparisons.align(STANDARD, [C("purpose", "1", "Purpose", "For the studies.")])[0]
    deleted = comparisons.align(STANDARD, [])[0]

    assert len({one.review_hash, two.review_hash, deleted.review_hash}) == 3
    assert (
        one.review_hash
        == comparisons.align(STANDARD, [C("purpose", "1", "Purpose", "For the study.")])[
            0
        ].review_hash
    )


def test_conflict_positions_are_each_redlined_against_the_filled_standard():
    standard = C("breach", "5", "Breach", "Notice within [[breach_notice_hours]] hours.")
    filled = comparisons.standard_text([standard], {"breach_notice_hours": 72}).clauses[0]
    proposals = [
        ("University", "Proposed", O(1, "replace", "breach", body="Notice within 24 hours.")),
        (
            "Vendor",
            "Proposed",
            O(
                2,
                "replace",
                "breach",
                body="Notice within [[breach_notice_hours]] hours after confirmation.",
            ),
        ),  # noqa: E501
        ("District", "Proposed", O(3, "delete", "breach")),
    ]

    conflict = conflict_positions(
        key="breach", standard=filled, proposals=proposals, values={"breach_notice_hours": 72}
    )

    assert conflict.standard_body == "Notice within 72 hours."
    university, vendor, district = conflict.positions
    assert university.stats == {"words_inserted": 1, "words_deleted": 1, "changes": 1}
    assert "72 hours after confirmation" in vendor.body  # the placeholder is filled
    assert district.body == "" and district.stats["words_deleted"] == 4
    assert len(conflict.pairs) == 3
    assert [p.first.party + ">" + p.second.party for p in conflict.pairs] == [
        "University>Vendor",
        "University>District",
        "Vendor>District",
    ]
    assert 'id="chg-p1-1"' in university.against_standard


def test_text_vs_earlier_includes_changes_to_the_header_and_schedule():
    earlier = consolidate(
        clauses=STANDARD, accepted_overrides=[], values={}, header=[("Title", "Old title")]
    )
    now = consolidate(
        clauses=STANDARD,
        accepted_overrides=[O(1, "delete", "audits")],
        values={},
        header=[("Title", "New title")],
    )

    comparison = comparisons.text_vs_earlier(earlier, now, earlier_label="Approved")

    assert comparison.preamble_changed
    assert "Old" in comparison.preamble_inline and "<del" in comparison.preamble_inline
    assert comparison.summary.startswith(  # four clauses and the data-element schedule
        "1 of 5 clauses changed since then (0 modified, 1 deleted)"
    )
    assert comparison.summary.endswith("the parameters or the data schedule changed too")


def test_demo_template_versions_differ_in_the_clauses_their_readme_lists():
    v1 = parse_upload((DEMO / "standard_dsa_v1.md").read_bytes(), filename="v1.md").clauses
    v2 = parse_upload((DEMO / "standard_dsa_v2.md").read_bytes(), filename="v2.md").clauses

    comparison = comparisons.template_vs_template(v1, v2, old_label="v1", new_label="v2")

    changed = {r.key: r.state for r in comparison.changed_rows}
    assert changed == {
        "ai-model-training": "inserted",
        "destruction-certification": "deleted",
        "data-retention": "modified",
        "breach-notification": "modified",
        "publication-review": "modified",
        "data-minimisation": "modified",
    }
    assert comparison.base_count == 37  # 36 clauses and Schedule A, the data elements
    keys = [r.key for r in comparison.rows]
    assert keys.index("ai-model-training") == keys.index("prohibited-uses") + 1
    assert keys.index("destruction-certification") == keys.index("data-retention") + 1


def test_upgrade_preview_reapplies_overrides_and_flags_those_written_against_an_old_text():
    old = clauses(("purpose", "For the study."), ("audits", "Yearly audits."), ("ip", "IP."))
    new = clauses(("purpose", "For the approved study."), ("audits", "Yearly audits."))
    accepted = [
        O(1, "replace", "purpose", body="For the study and its follow-up."),
        O(2, "delete", "audits"),
        O(3, "insert", "ip", new_key="licence", heading="Licence", body="Open licence."),
    ]
    current = consolidate(clauses=old, accepted_overrides=accepted, values={})

    preview = upgrade_preview(
        current=current,
        old_clauses=old,
        new_clauses=new,
        accepted_overrides=accepted,
        values={},
        current_label="Now",
        new_label="v2",
    )

    outcomes = {c.override_id: c.outcome for c in preview.carried}
    assert outcomes == {1: "standard-changed", 2: "applies", 3: "lost"}
    assert [c.key for c in preview.moved.clauses] == ["purpose", "data-element-schedule"]
    rows = {r.key: r for r in preview.comparison.rows}
    assert rows["purpose"].state == "unchanged"  # the party's text replaces the new standard
    assert "written against the old standard" in rows["purpose"].note
    assert rows["licence"].state == "deleted"
    assert "not in the newer version" in rows["licence"].note
    assert rows["ip"].state == "deleted"


def test_very_long_clauses_compare_within_the_redline_guard():
    body = " ".join(f"word{i % 97}" for i in range(6000))
    edited = body.replace("word5 ", "term5 ", 3)
    rows = comparisons.align([C("long", "1", "Long", body)], [C("long", "1", "Long", edited)])

    assert rows[0].state == "modified"
    assert rows[0].stats["changes"] == 3
    assert rows[0].inline.count("<ins") == 3
