"""``manage.py verify_audit``: walk the audit chain; exit non-zero at the first bad entry."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit.services import verify_chain


class Command(BaseCommand):
    help = "Check the audit chain: every entry's hash, its link to the previous one, no gaps."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--expect-head",
            metavar="SEQ:HASH",
            help="A head recorded earlier (printed by this command): it must still be in the "
            "chain, which catches removal of the newest entries.",
        )

    def handle(self, *args, expect_head: str | None = None, **options) -> None:
        report = verify_chain()
        if report.problem is not None:
            raise CommandError(
                f"Audit chain broken at seq {report.problem.seq}: {report.problem.message}. "
                f"{report.checked} entries before it are intact."
            )
        if expect_head:
            self._check_head(expect_head, report.head_seq)
        self.stdout.write(
            f"Audit chain intact: {report.checked} entries; head {report.head_seq}:"
            f"{report.head_hash}"
        )

    def _check_head(self, expect_head: str, head_seq: int) -> None:
        from audit.models import AuditEntry

        seq_text, _, digest = expect_head.partition(":")
        if not seq_text.isdigit() or len(digest) != 64:
            raise CommandError("--expect-head takes SEQ:HASH as printed by verify_audit.")
        seq = int(seq_text)
        found = AuditEntry.objects.filter(seq=seq).values_list("entry_hash", flat=True).first()
        if found != digest:
            raise CommandError(
                f"Audit chain broken at seq {seq}: the recorded head is "
                + (
                    "missing (the chain ends at " + str(head_seq) + ")"
                    if found is None
                    else "different"
                )
                + "."
            )
