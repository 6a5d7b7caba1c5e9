"""Sealing with the platform certificate (PAdES B-B, SHA-256) and checking seals."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from django.core.management import call_command
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from agreements.documents import jobs as documents
from agreements.documents import pdf, sealing
from tests.agreements.pdf_support import flip_byte, middle_of_a_stream


@pytest.fixture(scope="module")
def plain_pdf() -> bytes:
    return pdf.render_html("<html><body><h1>Agreement</h1><p>Terms.</p></body></html>").pdf


@pytest.fixture(scope="module")
def sealed_pdf(plain_pdf) -> bytes:
    return sealing.seal(plain_pdf, reason="test")


def test_a_sealed_pdf_is_a_pades_signature_pyhanko_finds_intact_and_valid(sealed_pdf):
    embedded = PdfFileReader(io.BytesIO(sealed_pdf)).embedded_signatures
    assert len(embedded) == 1
    assert embedded[0].sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    status = sealing.outside_event_loop(
        validate_pdf_signature,
        embedded[0],
        ValidationContext(trust_roots=[sealing.platform_certificate()]),
    )
    assert status.intact and status.valid and status.trusted
    assert status.md_algorithm == "sha256"
    assert status.docmdp_ok  # a certification seal that allows no change


def test_the_platform_check_accepts_its_own_seal(sealed_pdf):
    result = documents.document_verify(sealed_pdf)
    assert result.ok
    assert result.signed and result.intact and result.signed_by_platform
    assert "Collaboratory development seal" in result.signer
    assert result.signing_time is not None and result.problems == ()


def test_flipping_one_sealed_byte_fails_the_check(sealed_pdf):
    tampered = flip_byte(sealed_pdf, middle_of_a_stream(sealed_pdf))
    result = documents.document_verify(tampered)
    assert not result.ok and not result.intact
    assert "The signed content was altered after sealing." in result.problems
    embedded = PdfFileReader(io.BytesIO(tampered)).embedded_signatures[0]
    context = ValidationContext(trust_roots=[sealing.platform_certificate()])
    assert not sealing.outside_event_loop(validate_pdf_signature, embedded, context).intact


def test_an_update_appended_after_the_seal_is_reported(sealed_pdf):
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed_pdf))
    writer.root["/PageMode"] = generic.NameObject("/UseOutlines")
    writer.update_root()
    updated = io.BytesIO()
    writer.write(updated)
    result = documents.document_verify(updated.getvalue())
    assert not result.ok
    assert "Content was added to the file after it was sealed." in result.problems


def test_an_unsealed_pdf_and_a_non_pdf_are_not_verified(plain_pdf):
    unsigned = documents.document_verify(plain_pdf)
    assert not unsigned.ok and not unsigned.signed
    assert unsigned.problems == ("The file carries no digital signature.",)
    garbage = documents.document_verify(b"%PDF-1.7 not really")
    assert not garbage.ok and not garbage.signed


def test_a_seal_made_with_another_certificate_is_not_the_platforms(plain_pdf, tmp_path):
    other = sealing.SealIdentity(tmp_path / "c.pem", tmp_path / "k.pem", "")
    sealing.generate_dev_certificate(
        cert_file=other.cert_file, key_file=other.key_file, common_name="Someone else"
    )
    result = documents.document_verify(sealing.seal(plain_pdf, reason="x", identity=other))
    assert result.signed and result.intact
    assert not result.signed_by_platform and not result.ok
    assert "The signature was not made with this platform's sealing certificate." in (
        result.problems
    )


def test_a_wrong_key_password_or_missing_files_refuse_to_seal(plain_pdf, settings, tmp_path):
    wrong = sealing.SealIdentity(
        Path(settings.SEALING_CERT_FILE), Path(settings.SEALING_KEY_FILE), "not-the-password"
    )
    with pytest.raises(sealing.SealingError, match="SEALING_KEY_PASSWORD"):
        sealing.seal(plain_pdf, reason="x", identity=wrong)
    missing = sealing.SealIdentity(tmp_path / "none.pem", tmp_path / "none.key", "")
    with pytest.raises(sealing.SealingError, match="SEALING_CERT_FILE"):
        sealing.seal(plain_pdf, reason="x", identity=missing)


def test_ensure_dev_certificate_creates_an_encrypted_key_once(tmp_path, settings):
    out = io.StringIO()
    call_command("ensure_dev_certificate", "--dir", str(tmp_path), stdout=out)
    assert "created" in out.getvalue()
    key = (tmp_path / "key.pem").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in key  # SEALING_KEY_PASSWORD is set in tests
    assert stat.S_IMODE((tmp_path / "key.pem").stat().st_mode) == 0o600
    call_command("ensure_dev_certificate", "--dir", str(tmp_path), stdout=out)
    assert "already present" in out.getvalue()
    assert (tmp_path / "key.pem").read_bytes() == key
    identity = sealing.SealIdentity(
        tmp_path / "cert.pem", tmp_path / "key.pem", settings.SEALING_KEY_PASSWORD
    )
    assert sealing.platform_certificate(identity).subject.native["common_name"] == (
        "Collaboratory development seal"
    )
