"""``manage.py check_signed_texts``: does every signed agreement still read as it was signed?

For each agreement with signatures, the consolidated text's SHA-256 now must equal the hash
every signature (and the agreement's stored ``text_hash``) holds. Run it after a deployment
that changes how text is stored or hashed (the structured-text migration was one): it lists
each agreement that no longer verifies and exits 1, so a deploy script can stop there.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from agreements.models import Agreement
from agreements.selectors import consolidated_text, with_agreement_detail


class Command(BaseCommand):
    help = "Verify that every signed agreement's text still has the hash its signatures hold."

    def handle(self, *args: Any, **options: Any) -> None:
        agreements = with_agreement_detail(
            Agreement.objects.filter(signatures__isnull=False).distinct()
        ).order_by("reference")
        checked, broken = 0, []
        for agreement in agreements.iterator(chunk_size=100):
            checked += 1
            now = consolidated_text(agreement).sha256
            signed = {s.text_hash for s in agreement.signatures.all()} | {agreement.text_hash}
            if signed != {now}:
                broken.append(
                    f"{agreement.reference}: signed {', '.join(sorted(signed))}, reads {now} now"
                )
        for line in broken:
            self.stderr.write(line)
        if broken:
            raise CommandError(
                f"{len(broken)} of {checked} signed agreements no longer read as signed."
            )
        self.stdout.write(f"All {checked} signed agreements read as they were signed.")
