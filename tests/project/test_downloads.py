"""collaboratory.downloads: every stored file is served as an attachment under a safe name,
with nosniff and no caching, and (audited) records one DOWNLOAD entry once the file opened."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models.fields.files import FieldFile

from audit.models import AuditAction, AuditEntry
from collaboratory.downloads import audited_file_response, file_response, safe_filename

NEVER_CACHE = {"max-age=0", "no-cache", "no-store", "must-revalidate", "private"}


@pytest.fixture
def stored(tmp_path):
    """A file in a storage of its own, as a model's FileField hands it to a view."""
    storage = FileSystemStorage(location=tmp_path)
    name = storage.save("letters/irb.pdf", ContentFile(b"%PDF-1.7 letter"))
    field = models.FileField(storage=storage)
    return FieldFile(None, field, name)


def _cache_control(response) -> set[str]:
    return {part.strip() for part in response["Cache-Control"].split(",")}


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("irb-letter.pdf", "irb-letter.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\pi\\wipe log.txt", "wipe log.txt"),
        ("evil\u202egpj.exe", "evilgpj.exe"),  # a right-to-left override disguising .exe
        ("two\r\nlines.pdf", "twolines.pdf"),
        ("  spaced \t  out .pdf ", "spaced out .pdf"),
        ("", "download"),
        ("...", "download"),
        ("/", "download"),
    ],
)
def test_a_filename_loses_paths_and_invisible_characters(name, safe):
    assert safe_filename(name, default="download") == safe


def test_a_long_filename_keeps_its_end_and_extension():
    assert safe_filename("a" * 300 + ".pdf", default="x") == "a" * 196 + ".pdf"


def test_a_download_is_an_attachment_with_nosniff_and_no_caching(stored):
    response = file_response(stored, filename="irb-letter.pdf", content_type="application/pdf")
    assert b"".join(response.streaming_content) == b"%PDF-1.7 letter"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="irb-letter.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert _cache_control(response) == NEVER_CACHE
    assert "Expires" in response


def test_the_type_follows_the_safe_name_when_none_is_given(stored):
    response = file_response(stored, filename="wipe\u202e-log.txt")
    assert response["Content-Type"].startswith("text/plain")
    assert response["Content-Disposition"] == 'attachment; filename="wipe-log.txt"'


def test_quotes_and_letters_beyond_ascii_are_escaped_not_dropped(stored):
    quoted = file_response(stored, filename='say "hi".pdf')
    assert quoted["Content-Disposition"] == r'attachment; filename="say \"hi\".pdf"'
    accented = file_response(stored, filename="Café lettre.pdf")
    assert accented["Content-Disposition"] == (
        "attachment; filename*=utf-8''Caf%C3%A9%20lettre.pdf"
    )


def test_an_audited_download_records_one_entry_with_the_callers_payload(stored, django_user_model):
    reader = django_user_model.objects.create_user(username="reader")
    before = AuditEntry.objects.count()
    response = audited_file_response(
        stored,
        filename="irb-letter.pdf",
        content_type="application/pdf",
        actor=reader,
        target=reader,
        payload={"sha256": "a" * 64, "kind": "irb"},
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditEntry.objects.count() == before + 1
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None
    assert (entry.action, entry.actor_id, entry.object_id) == (
        AuditAction.DOWNLOAD,
        reader.pk,
        str(reader.pk),
    )
    assert entry.payload == {"sha256": "a" * 64, "kind": "irb"}


def test_a_file_missing_from_the_store_records_no_download(stored, django_user_model):
    reader = django_user_model.objects.create_user(username="reader")
    stored.storage.delete(stored.name)
    before = AuditEntry.objects.count()
    with pytest.raises(FileNotFoundError):
        audited_file_response(
            stored, filename="irb-letter.pdf", actor=reader, target=reader, payload={}
        )
    assert AuditEntry.objects.count() == before
