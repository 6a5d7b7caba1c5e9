from django.core.management.base import BaseCommand

from partners.demo import PEOPLE, seed_partners


class Command(BaseCommand):
    help = "Create or refresh the demo collaboratory, organisations, trios and logins (idempotent)."

    def handle(self, *args, **options) -> None:
        collaboratory = seed_partners()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready in {collaboratory.name}. Logins (password "
                f"collaboratory-demo): {', '.join(p.username for p in PEOPLE)}"
            )
        )
