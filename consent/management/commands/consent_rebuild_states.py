from django.core.management.base import BaseCommand, CommandError

from agreements.models import Agreement
from consent.models import StudentConsent
from consent.services import consent_states_rebuild


class Command(BaseCommand):
    help = (
        "Re-derive the per-student consent states from the full history and report how many "
        "were wrong (normally none: they are maintained with every write)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("references", nargs="*", help="Agreement references; default: all.")

    def handle(self, *args, references: list[str], **options) -> None:
        agreements = Agreement.objects.filter(
            pk__in=StudentConsent.objects.values("agreement_id")
        ).order_by("reference")
        if references:
            agreements = Agreement.objects.filter(reference__in=references).order_by("reference")
            missing = set(references) - {a.reference for a in agreements}
            if missing:
                raise CommandError(f"No agreement {', '.join(sorted(missing))}.")
        for agreement in agreements:
            wrong = consent_states_rebuild(agreement=agreement)
            self.stdout.write(f"{agreement.reference}: {wrong} state(s) corrected")
