"""Sealing executed agreements: a PAdES baseline (B-B) signature, SHA-256, made with the
platform's certificate, and the check that a PDF still carries an intact platform seal.

The certificate, its key and the key's password come from settings (``SEALING_CERT_FILE``,
``SEALING_KEY_FILE``, ``SEALING_KEY_PASSWORD``, each readable from the environment, the
password also as ``SEALING_KEY_PASSWORD_FILE``). ``make run`` and the tests create a
self-signed development certificate with ``generate_dev_certificate`` (management command
``ensure_dev_certificate``); production points the settings at a real one.

The seal is a *certification* signature that allows no later change (DocMDP level 1), so a
PDF reader shows any edit, and the verification here reports anything appended after it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import io
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from django.conf import settings
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

log = logging.getLogger(__name__)

SEAL_FIELD = "CollaboratorySeal"


def outside_event_loop[T](function: Callable[..., T], /, *args, **kwargs) -> T:
    """Call one of pyHanko's synchronous functions (they use ``asyncio.run``) even from a
    thread whose event loop is running (an ASGI server, Playwright in tests): then in a
    short-lived helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


class SealingError(Exception):
    """The platform certificate or key is missing or unusable."""


@dataclass(frozen=True)
class SealIdentity:
    cert_file: Path
    key_file: Path
    password: str


def configured_identity() -> SealIdentity:
    return SealIdentity(
        cert_file=Path(settings.SEALING_CERT_FILE),
        key_file=Path(settings.SEALING_KEY_FILE),
        password=settings.SEALING_KEY_PASSWORD,
    )


def _stamp(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0


@functools.lru_cache(maxsize=4)
def _signer(cert_file: Path, key_file: Path, password: str, _stamps: tuple) -> signers.Signer:
    for what, path in (("SEALING_CERT_FILE", cert_file), ("SEALING_KEY_FILE", key_file)):
        if not path.is_file():
            raise SealingError(
                f"{what} points at {str(path)!r}, which does not exist. Run `manage.py "
                "ensure_dev_certificate` for a development certificate, or configure the "
                "platform's sealing certificate."
            )
    signer = signers.SimpleSigner.load(
        key_file=str(key_file),
        cert_file=str(cert_file),
        key_passphrase=password.encode() if password else None,
    )
    if signer is None:  # pyHanko logs the reason and returns None
        raise SealingError(
            "The sealing key or certificate cannot be loaded; check SEALING_KEY_FILE, "
            "SEALING_CERT_FILE and SEALING_KEY_PASSWORD."
        )
    return signer


def platform_signer(identity: SealIdentity | None = None) -> signers.Signer:
    """The platform's signer, loaded once per process (reloaded when the files change)."""
    identity = identity or configured_identity()
    stamps = (_stamp(identity.cert_file), _stamp(identity.key_file))
    return _signer(identity.cert_file, identity.key_file, identity.password, stamps)


def platform_certificate(identity: SealIdentity | None = None) -> asn1_x509.Certificate:
    return platform_signer(identity).signing_cert


def seal(pdf: bytes, *, reason: str, identity: SealIdentity | None = None) -> bytes:
    """``pdf`` with the platform's PAdES B-B certification seal (SHA-256) appended."""
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        reason=reason,
        name="Collaboratory",
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    output = outside_event_loop(signers.sign_pdf, writer, meta, signer=platform_signer(identity))
    return output.getvalue()


@dataclass(frozen=True)
class SealCheck:
    """What the seal of one PDF says. ``intact``: the signed bytes are unchanged and nothing
    was added after the seal. ``by_platform``: made with the platform's own certificate."""

    sha256: str
    signed: bool = False
    intact: bool = False
    valid: bool = False
    by_platform: bool = False
    signer: str = ""
    signing_time: dt.datetime | None = None
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.valid and self.by_platform


def check(pdf: bytes, identity: SealIdentity | None = None) -> SealCheck:
    """Validate the last signature of ``pdf`` against the platform certificate (no network:
    the platform certificate is the only trust root, revocation is not fetched)."""
    digest = hashlib.sha256(pdf).hexdigest()
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except Exception as error:  # any parse failure means: not a PDF we can vouch for
        log.info("unreadable PDF %s: %s", digest[:12], error)
        return SealCheck(sha256=digest, problems=("The file is not a readable PDF.",))
    if not signatures:
        return SealCheck(sha256=digest, problems=("The file carries no digital signature.",))
    platform_cert = platform_certificate(identity)
    embedded = signatures[-1]
    try:
        status = outside_event_loop(
            validate_pdf_signature,
            embedded,
            ValidationContext(trust_roots=[platform_cert], allow_fetching=False),
        )
    except Exception as error:  # a mangled signature is a failed check, not a crash
        log.info("signature of %s does not validate: %s", digest[:12], error)
        return SealCheck(
            sha256=digest,
            signed=True,
            problems=("The signature is damaged and cannot be checked.",),
        )
    cert = status.signing_cert
    # The platform's key made this signature (its value checks out against the platform's
    # certificate); whether the signed bytes are unchanged is ``intact``.
    by_platform = bool(cert is not None and cert.sha256 == platform_cert.sha256 and status.valid)
    entire = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    problems = []
    if not status.intact:
        problems.append("The signed content was altered after sealing.")
    elif not status.valid:
        problems.append("The signature value does not match the signed content.")
    if not entire:
        problems.append("Content was added to the file after it was sealed.")
    if not by_platform and status.valid:
        problems.append("The signature was not made with this platform's sealing certificate.")
    return SealCheck(
        sha256=digest,
        signed=True,
        intact=bool(status.intact and entire),
        valid=bool(status.valid),
        by_platform=by_platform,
        signer=_signer_name(cert),
        signing_time=status.signer_reported_dt,
        problems=tuple(problems),
    )


def _signer_name(cert: asn1_x509.Certificate | None) -> str:
    """ "Common name (organisation)" of a certificate's subject."""
    if cert is None:
        return ""
    subject = cert.subject.native
    name = subject.get("common_name") or cert.subject.human_friendly
    organisation = subject.get("organization_name")
    return f"{name} ({organisation})" if organisation else name


# --- development certificate ---------------------------------------------------------------


def generate_dev_certificate(
    *,
    cert_file: Path,
    key_file: Path,
    password: str = "",
    common_name: str = "Collaboratory development seal",
    days: int = 3650,
) -> bool:
    """Write a self-signed RSA-2048 sealing certificate and its key, unless both exist.

    For development and tests only: a real deployment uses a certificate from a CA its
    partners trust. Returns True when new files were written.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning

    if cert_file.exists() and key_file.exists():
        return False
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Collaboratory (development only)"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    encryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    key_file.parent.mkdir(parents=True, exist_ok=True)
    cert_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    key_file.chmod(0o600)
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return True
