"""``manage.py backfill_reviews``: acceptance reviews for proposals accepted before the rule.

Accepting a proposal counts as reviewing the clause it produces (``agreements/review/
clause_reviews.py``). Proposals accepted before that rule recorded no review, so their clauses
still read "not reviewed" for parties that accepted them. This command records those reviews for
every agreement still under review (or those named), never replacing a party's own mark, and
says how many it recorded. It is idempotent: a second run records none.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agreements.lifecycle import REVIEWABLE
from agreements.models import Agreement
from agreements.review.clause_reviews import acceptance_reviews_backfill


class Command(BaseCommand):
    help = "Record acceptance reviews for proposals accepted before accepting counted as review."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "references", nargs="*", help="Agreement references (default: all under review)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        queryset = Agreement.objects.filter(status__in=REVIEWABLE)
        if options["references"]:
            named = Agreement.objects.filter(reference__in=options["references"])
            missing = sorted(
                set(options["references"]) - set(named.values_list("reference", flat=True))
            )
            if missing:
                raise CommandError("No agreement with reference " + ", ".join(missing) + ".")
            queryset = queryset.filter(reference__in=options["references"])
        total = 0
        for agreement in queryset.order_by("reference").iterator(chunk_size=100):
            added = acceptance_reviews_backfill(agreement)
            if added:
                self.stdout.write(f"{agreement.reference}: {added} review(s) recorded")
            total += added
        self.stdout.write(f"{total} acceptance review(s) recorded.")
