"""Uploads have size limits, type checks and clear errors (issue 9, item 7).

A zip-bomb .docx is refused from its central directory before anything is inflated; a 1 GB
upload streamed over a real socket is refused with a 413 after its headers, and the test
process (which runs the live server) does not grow by more than 100 MB.
"""

from __future__ import annotations

import io
import resource
import select
import socket
import time
import zipfile
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.http.multipartparser import MultiPartParser
from django.test import RequestFactory
from django.urls import reverse

from agreements.standards.upload import parse_upload
from collaboratory.uploads import LimitedUploadHandler

GB = 1024**3
MB = 1024**2
CHUNK = b"0" * (64 * 1024)

CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"/>'
)


def _docx_like(extra: dict[str, int] | None = None, *, document: bool = True) -> bytes:
    """A zip shaped like a .docx; ``extra`` adds parts of that many zero bytes, written in
    chunks so the test never holds them in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        package.writestr("[Content_Types].xml", CONTENT_TYPES)
        if document:
            package.writestr("word/document.xml", "<w:document/>")
        for name, size in (extra or {}).items():
            with package.open(name, "w", force_zip64=True) as part:
                for _ in range(size // len(CHUNK)):
                    part.write(CHUNK)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bomb_100mb() -> bytes:
    return _docx_like({"word/media/zeros.bin": 100 * MB})


@pytest.fixture
def nothing_inflates(monkeypatch):
    """Call it once the test's files are built: from then on, opening a zip member (which is
    what inflates it) fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a zip member was opened")

    return lambda: monkeypatch.setattr(zipfile.ZipFile, "open", refuse)


def test_a_100mb_zip_bomb_docx_is_refused_without_inflating_it(bomb_100mb, nothing_inflates):
    assert len(bomb_100mb) < 1 * MB  # ~100 KB on disk
    nothing_inflates()
    report = parse_upload(bomb_100mb, filename="template.docx")
    assert not report.ok
    message = str(report.errors[0])
    assert "unpacks to 100.0 MiB" in message and "was not opened" in message


def test_a_zip_bomb_under_the_total_limit_is_refused_by_its_compression_ratio(nothing_inflates):
    bomb = _docx_like({"word/media/zeros.bin": 20 * MB})
    nothing_inflates()
    report = parse_upload(bomb, filename="template.docx")
    assert not report.ok
    message = str(report.errors[0])
    assert "word/media/zeros.bin would unpack to 20.0 MiB" in message
    assert "to 1), which no Word document does" in message


def test_files_that_are_not_word_documents_get_a_clear_error(nothing_inflates):
    cases = {
        b"just some text pretending": "This is not a Word document: upload a .docx file",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100: "old-format Word file (.doc)",
        b"PK\x03\x04 broken": "The file is damaged or not a Word document",
        _docx_like(document=False): "is it another Office file?",
    }
    nothing_inflates()
    for data, expected in cases.items():
        report = parse_upload(data, filename="template.docx")
        assert not report.ok and expected in str(report.errors[0]), (data[:20], report.errors)


def test_the_template_size_limit_comes_from_settings(settings):
    settings.TEMPLATE_UPLOAD_MAX_BYTES = 1000
    report = parse_upload(_docx_like() + b"\0" * 2000, filename="template.docx")
    assert "the limit is 0.0 MiB" in str(report.errors[0])


def _admin_client(client, demo):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser(username="upload-admin", password="x" * 20)
    client.force_login(admin)
    try:
        from tests.conftest import otp_verified

        otp_verified(client, admin)
    except ImportError:  # pragma: no cover - before two-factor authentication exists
        pass
    return client


def test_the_admin_template_import_refuses_a_zip_bomb_with_a_clear_error(client, demo, bomb_100mb):
    from agreements.models import DSATemplate, TemplateVersion

    client = _admin_client(client, demo)
    template = DSATemplate.objects.first()
    versions = TemplateVersion.objects.count()
    url = reverse("admin:agreements_dsatemplate_import", args=[template.pk])
    response = client.post(url, {"file": SimpleUploadedFile("standard.docx", bomb_100mb)})
    assert response.status_code == 200
    assert "unpacks to 100.0 MiB" in response.content.decode()
    assert TemplateVersion.objects.count() == versions


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("standard.exe", b"MZ\x90\x00", "is neither Markdown nor Word"),
        ("standard.docx", b"not a zip at all", "This is not a Word document"),
        ("standard.md", "naïve".encode("latin-1"), "is not UTF-8 text"),
    ],
)
def test_the_admin_template_import_explains_what_to_fix(client, demo, name, data, expected):
    from agreements.models import DSATemplate

    client = _admin_client(client, demo)
    url = reverse("admin:agreements_dsatemplate_import", args=[DSATemplate.objects.first().pk])
    response = client.post(url, {"file": SimpleUploadedFile(name, data)})
    assert response.status_code == 200
    assert expected in response.content.decode()


def test_the_admin_template_import_size_limit_is_a_setting(client, demo, settings):
    from agreements.models import DSATemplate

    settings.TEMPLATE_UPLOAD_MAX_BYTES = 1024 * 1024
    client = _admin_client(client, demo)
    url = reverse("admin:agreements_dsatemplate_import", args=[DSATemplate.objects.first().pk])
    data = b"# T\n\n## 1. A {#a}\n\n" + b"x" * (2 * 1024 * 1024)
    response = client.post(url, {"file": SimpleUploadedFile("big.md", data)})
    assert "The file is 2.0 MiB; the limit is 1.0 MiB." in response.content.decode()


# --- consent CSV ---------------------------------------------------------------------------


@pytest.fixture
def csv_study(demo):
    import datetime as dt

    from agreements.demo import seed_templates
    from consent import services as consent_services
    from tests.consent.conftest import activate, make_agreement

    world = dict(demo)
    world["versions"] = seed_templates(demo["collaboratory"])
    agreement = activate(world, make_agreement(world, start=dt.date(2026, 1, 5)))
    form = consent_services.consent_form_add(
        agreement=agreement,
        by=world["users"]["director"],
        language="en",
        title="Parent permission",
        body="May we include your child?",
        effective_date=dt.date(2026, 1, 5),
    )
    return agreement, form, world["users"]["director"]


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("cohort.xlsx", b"PK\x03\x04...", "looks like an Excel workbook, not a CSV file"),
        ("cohort.exe", b"MZ\x90\x00", "“cohort.exe” is not a CSV file"),
        ("cohort.csv", b"PK\x03\x04" + b"\0" * 64, "looks like an Excel workbook"),
        ("cohort.csv", b"%PDF-1.7 ...", "looks like a PDF"),
        ("cohort.csv", b"student_key\x00,decision", "contains binary data"),
        ("cohort.csv", "student_key,école\n".encode("latin-1"), "is not UTF-8 text"),
        ("cohort.csv", b"name;age\nAda;12\n", "Unknown column"),
    ],
)
def test_consent_csv_uploads_are_checked_by_name_and_content(
    client, csv_study, name, data, expected
):
    from consent.models import ConsentImport

    agreement, form, director = csv_study
    client.force_login(director)
    response = client.post(
        reverse("consent-import", args=[agreement.pk]),
        {"file": SimpleUploadedFile(name, data), "default_form": form.pk},
        follow=True,
    )
    assert response.status_code == 200
    assert expected in response.content.decode()
    assert not ConsentImport.objects.filter(agreement=agreement, status="imported").exists()


def test_consent_csv_size_limit_is_a_setting(client, csv_study, settings):
    agreement, form, director = csv_study
    settings.CONSENT_IMPORT_MAX_BYTES = 1_000_000
    client.force_login(director)
    data = b"student_key,decision,given_by,method,date\n" + b"RB-1,,,,\n" * 200_000
    response = client.post(
        reverse("consent-import", args=[agreement.pk]),
        {"file": SimpleUploadedFile("cohort.csv", data), "default_form": form.pk},
    )
    assert "The file is 1.8 MB; the limit is 1.0 MB. Split it into smaller files." in (
        response.content.decode()
    )


# --- oversized requests ----------------------------------------------------------------------


class LazyBody(io.RawIOBase):
    """``size`` bytes produced on demand; counts what was read."""

    def __init__(self, size: int, prefix: bytes = b"") -> None:
        self.size, self.prefix, self.read_bytes = size, prefix, 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.read_bytes
        n = left if n is None or n < 0 else min(n, left)
        n = min(n, len(CHUNK))
        if n <= 0:
            return b""
        start = self.read_bytes
        self.read_bytes += n
        if start < len(self.prefix):
            head = self.prefix[start : start + n]
            return head + CHUNK[: n - len(head)]
        return CHUNK[:n]

    def readline(self, n: int = -1) -> bytes:
        return self.read(n)


def _wsgi_post(path: str, body: LazyBody, content_type: str, length: int):
    environ = RequestFactory()._base_environ(
        PATH_INFO=path,
        REQUEST_METHOD="POST",
        CONTENT_TYPE=content_type,
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": body},
    )
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, dict(headers)

    content = b"".join(WSGIHandler()(environ, start_response))
    return started, content


@pytest.mark.parametrize(
    "path",
    ["/agreements/00000000-0000-0000-0000-000000000000/consent/import/", "/api/v1/webhooks/"],
)
def test_a_1gb_request_is_refused_before_its_body_is_read(db, path):
    body = LazyBody(GB)
    started, content = _wsgi_post(path, body, "multipart/form-data; boundary=xyz", GB)
    assert started["status"].startswith("413")
    assert body.read_bytes == 0
    text = content.decode()
    assert "This upload is 1.1 GB; the largest upload accepted is 33.6 MB." in text
    assert "Nothing was saved" in text
    if path.startswith("/api/"):
        assert started["headers"]["Content-Type"] == "application/json"
        assert '"code": "upload_too_large"' in text or '"code":"upload_too_large"' in text


def test_a_streamed_upload_is_stopped_once_it_passes_the_limit(settings):
    """A body whose declared length cannot be trusted (the parser reads the raw stream):
    the handler stops at the limit, and the request says why."""
    settings.UPLOAD_MAX_BYTES = 1 * MB
    prefix = (
        b"--xyz\r\n"
        b'Content-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n"
    )
    body = LazyBody(50 * MB, prefix=prefix)
    request = RequestFactory().post("/", data=b"", content_type="multipart/form-data")
    handler = LimitedUploadHandler(request)
    meta = {"CONTENT_TYPE": "multipart/form-data; boundary=xyz", "CONTENT_LENGTH": "1000"}
    from django.core.files.uploadhandler import MemoryFileUploadHandler

    post, files = MultiPartParser(meta, body, [handler, MemoryFileUploadHandler(request)]).parse()
    assert "file" not in files
    assert body.read_bytes < 2 * MB
    assert "the largest upload accepted is 1.0 MB" in request.upload_refused


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def test_a_1gb_upload_over_a_socket_is_refused_without_exhausting_memory(live_server):
    """Stream 1 GB (generated lazily) to the live server; it answers 413 after the headers,
    and the peak memory of this process (which runs the server) grows by under 100 MB."""
    before = _peak_rss_mb()
    address = urlsplit(live_server.url)
    path = "/agreements/00000000-0000-0000-0000-000000000000/consent/import/"
    sock = socket.create_connection((address.hostname, address.port), timeout=30)
    sent = 0
    response = b""
    deadline = time.monotonic() + 60
    try:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {address.hostname}\r\n"
                "Content-Type: multipart/form-data; boundary=xyz\r\n"
                f"Content-Length: {GB}\r\n\r\n"
            ).encode()
        )
        while sent < GB and time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sent += sock.send(CHUNK)
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.settimeout(10)
        while b"\r\n\r\n" not in response or b"</html>" not in response:
            data = sock.recv(65536)
            if not data:
                break
            response += data
    finally:
        sock.close()
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert b"the largest upload accepted is 33.6 MB" in response
    assert sent < GB  # refused long before the end
    assert _peak_rss_mb() - before < 100
