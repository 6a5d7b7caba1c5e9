from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from agreements.documents.sealing import generate_dev_certificate


class Command(BaseCommand):
    help = (
        "Create a self-signed development sealing certificate and key if missing: at "
        "SEALING_CERT_FILE / SEALING_KEY_FILE, or as cert.pem / key.pem in --dir. The key is "
        "encrypted with SEALING_KEY_PASSWORD when that is set. Not for production."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dir", type=Path, help="write cert.pem and key.pem here instead")

    def handle(self, *args, dir: Path | None = None, **options) -> None:
        if dir is not None:
            cert_file, key_file = dir / "cert.pem", dir / "key.pem"
        else:
            cert_file = Path(settings.SEALING_CERT_FILE)
            key_file = Path(settings.SEALING_KEY_FILE)
        created = generate_dev_certificate(
            cert_file=cert_file, key_file=key_file, password=settings.SEALING_KEY_PASSWORD
        )
        state = "created" if created else "already present"
        self.stdout.write(f"Development sealing certificate {state}: {cert_file}")
