from django.core.management.base import BaseCommand

from agreements.costs.demo import seed_costs
from agreements.demo import seed_agreements
from consent.demo import seed_consent
from partners.demo import MAIN_LOGINS, seed_partners


class Command(BaseCommand):
    help = "Create or refresh the demo collaboratory, organisations, trios and logins (idempotent)."

    def handle(self, *args, **options) -> None:
        # Here, in the top app, because it seeds every app: partners, agreements, consent.
        collaboratory = seed_partners()
        seed_agreements(collaboratory)
        seed_consent(collaboratory)
        seed_costs(collaboratory)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready in {collaboratory.name}. Logins (password "
                f"collaboratory-demo): {', '.join(MAIN_LOGINS)}"
            )
        )
