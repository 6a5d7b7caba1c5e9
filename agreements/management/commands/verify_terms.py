"""``manage.py verify_terms``: does every agreement's text state what its outputs publish?

For each agreement (or those named), ``agreements.terms_check.term_problems`` compares the
consolidated text with the key-terms summary (Terms panel, PDF cover, API), the ODRL policy of
``/terms`` and the calendar feed. Each agreement where they differ is listed with what differs
and the command exits 1, so it can gate a deployment or a nightly job; with none it exits 0.
Data from before terms had one home (a value typed over ``[[breach_notice_hours]]`` in an
accepted proposal) shows up here.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agreements.models import Agreement
from agreements.selectors import with_agreement_detail
from agreements.terms_check import term_problems


class Command(BaseCommand):
    help = "Check that every agreement's text states the terms its outputs publish."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "references", nargs="*", help="Agreement references to check (default: all)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        queryset = Agreement.objects.all()
        if options["references"]:
            queryset = queryset.filter(reference__in=options["references"])
            found = set(queryset.values_list("reference", flat=True))
            missing = sorted(set(options["references"]) - found)
            if missing:
                raise CommandError("No agreement with reference " + ", ".join(missing) + ".")
        checked, failing = 0, 0
        for agreement in (
            with_agreement_detail(queryset).order_by("reference").iterator(chunk_size=100)
        ):
            checked += 1
            problems = term_problems(agreement)
            if problems:
                failing += 1
                self.stderr.write(f"{agreement.reference} ({agreement.get_status_display()}):")
                for problem in problems:
                    self.stderr.write(f"  - {problem}")
        if failing:
            raise CommandError(
                f"{failing} of {checked} agreements state terms their outputs contradict."
            )
        self.stdout.write(f"All {checked} agreements state the terms their outputs publish.")
