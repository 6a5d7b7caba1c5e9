"""``manage.py issue_api_token --org <slug> --name <label> [--scopes ...] [--expires-in-days N]``

Prints only the token (so scripts can capture it); it is not stored and cannot be shown again.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from collaboratory.errors import DomainError
from collaboratory.web import error_messages
from partners.api_auth import api_token_issue
from partners.models import ApiScope, Organisation


class Command(BaseCommand):
    help = "Issue an API token for an organisation and print it (only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="The organisation's slug.")
        parser.add_argument("--name", required=True, help="What will use the token.")
        parser.add_argument(
            "--scopes",
            nargs="+",
            default=[ApiScope.AGREEMENTS_READ.value],
            choices=ApiScope.values,
            help="Default: agreements:read.",
        )
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args, **options) -> None:
        organisation = Organisation.objects.filter(slug=options["org"]).first()
        if organisation is None:
            raise CommandError(f"No organisation with the slug {options['org']!r}.")
        days = options["expires_in_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        try:
            _, token = api_token_issue(
                organisation=organisation,
                name=options["name"],
                scopes=options["scopes"],
                expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
            )
        except DomainError as error:
            raise CommandError(" ".join(error_messages(error))) from None
        self.stdout.write(token)
