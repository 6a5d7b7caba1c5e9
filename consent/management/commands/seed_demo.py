from django.core.management.base import BaseCommand

from agreements.approvals.demo import seed_research_approvals
from agreements.costs.demo import seed_costs
from agreements.demo import seed_agreements
from consent.demo import seed_consent
from partners.demo import MAIN_LOGINS, seed_partners
from partners.student_key_settings import seed_student_key_formats


class Command(BaseCommand):
    help = "Create or refresh the demo collaboratory, organisations, trios and logins (idempotent)."

    def handle(self, *args, **options) -> None:
        # Here, in the top app, because it seeds every app: partners, agreements, consent.
        collaboratory = seed_partners()
        # Issue 20: Riverbend's key format (RB-######), set before its consent file is
        # imported, which must pass it. Not part of the tests' demo (tests/conftest.py seeds
        # partners and agreements only), whose consent tests use short keys such as A1.
        seed_student_key_formats()
        seed_agreements(collaboratory)
        seed_consent(collaboratory)
        # After consent's roster export: the template's requirement applies from here on.
        seed_research_approvals(collaboratory)
        seed_costs(collaboratory)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready in {collaboratory.name}. Logins (password "
                f"collaboratory-demo): {', '.join(MAIN_LOGINS)}"
            )
        )
