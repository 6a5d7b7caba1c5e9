"""``manage.py audit_grant_app_role ROLE``: give the application's database role what it needs
and no more. Run as the tables' owner (the role that runs migrations), after ``migrate``.

The application role may read and write the application's tables but may only SELECT and
INSERT audit entries: PostgreSQL itself then refuses UPDATE, DELETE and TRUNCATE from it,
even with the triggers disabled.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from audit.models import AuditEntry


def grant_statements(role: str) -> list[str]:
    quote = connection.ops.quote_name
    table = quote(AuditEntry._meta.db_table)
    role = quote(role)
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"REVOKE ALL ON {table} FROM {role}",
        f"GRANT SELECT, INSERT ON {table} TO {role}",
    ]


class Command(BaseCommand):
    help = "Grant ROLE the application's privileges: read/write, but append-only audit entries."

    def add_arguments(self, parser) -> None:
        parser.add_argument("role", help="The login role the web app and workers connect as.")
        parser.add_argument(
            "--print", action="store_true", help="Print the SQL instead of running it."
        )

    def handle(self, *args, role: str, print: bool = False, **options) -> None:  # noqa: A002
        statements = grant_statements(role)
        if print:
            self.stdout.write(";\n".join(statements) + ";")
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                raise CommandError(f"There is no database role {role!r}; create it first.")
            with transaction.atomic():
                for statement in statements:
                    cursor.execute(statement)
        self.stdout.write(f"Granted {role}: read/write, audit entries SELECT and INSERT only.")
