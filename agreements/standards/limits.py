"""How large and what shape a template upload may be, checked before any reader parses it.

One place for the limits: the upload size (``TEMPLATE_UPLOAD_MAX_BYTES``, which
:func:`agreements.standards.upload.parse_upload` checks first), and the Word package checks
:func:`agreements.text.document.docx_package.open_package` runs before it parses any part: that
it is a zip (not an old .doc or a password-protected file), that it unpacks to at most
:data:`DEFAULT_MAX_UNCOMPRESSED_BYTES` in at most :data:`DEFAULT_MAX_ZIP_MEMBERS` members with no
zip-bomb part, and that it has ``word/document.xml``. Nothing here inflates a zip member. (The
Markdown reader's own length limit is
:data:`agreements.text.document.markdown_import.MAX_MARKDOWN_CHARS`.)
"""

from __future__ import annotations

import io
import zipfile

MIB = 1024 * 1024
DEFAULT_MAX_UPLOAD_BYTES = 5 * MIB
DEFAULT_MAX_UNCOMPRESSED_BYTES = 50 * MIB
DEFAULT_MAX_ZIP_MEMBERS = 1000
MAX_COMPRESSION_RATIO = 100
DEFAULT_MAX_MARKDOWN_CHARS = 2_000_000

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def mib(size: int) -> str:
    return f"{size / MIB:.1f} MiB"


def looks_like_word(data: bytes) -> bool:
    """True when ``data`` starts like a .docx (a zip) or an old .doc (an OLE file)."""
    return data.startswith((_ZIP_MAGIC, _OLE_MAGIC))


def size_problem(size: int, max_bytes: int) -> str | None:
    """Why an upload of ``size`` bytes is refused, or None when it is small enough."""
    if size > max_bytes:
        return f"The file is {mib(size)}; the limit is {mib(max_bytes)}."
    return None


def max_upload_bytes() -> int:
    """TEMPLATE_UPLOAD_MAX_BYTES (the default outside a configured Django project)."""
    from django.conf import settings

    return getattr(settings, "TEMPLATE_UPLOAD_MAX_BYTES", DEFAULT_MAX_UPLOAD_BYTES)


def docx_package_problem(
    data: bytes, *, max_bytes: int, max_uncompressed_bytes: int, max_members: int
) -> str | None:
    """Why ``data`` must not be opened as a Word package, or None if it may."""
    if not data:
        return "The file is empty."
    if too_big := size_problem(len(data), max_bytes):
        return too_big
    if data.startswith(_OLE_MAGIC):
        return (
            "This is an old-format Word file (.doc) or a password-protected document: open it "
            "in Word, remove any password and save it as a Word Document (.docx)."
        )
    if not data.startswith(_ZIP_MAGIC):
        return "This is not a Word document: upload a .docx file (or the template as Markdown)."
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            members = package.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        return "The file is damaged or not a Word document: save it again as .docx."
    if len(members) > max_members:
        return f"The file has {len(members):,} parts; a Word document has far fewer."
    # zipfile stops at each member's declared size (and fails its CRC check beyond it), so the
    # declared sizes bound what the reader can inflate.
    unpacked = sum(member.file_size for member in members)
    if unpacked > max_uncompressed_bytes:
        return (
            f"The file unpacks to {mib(unpacked)}, more than the {mib(max_uncompressed_bytes)} "
            "a template can need; it was not opened."
        )
    # A zip bomb: a part that inflates far more than text and XML ever do (they compress
    # about 5-20 to 1), judged from the central directory before anything is inflated.
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > MIB and ratio > MAX_COMPRESSION_RATIO:
            return (
                f"The part {member.filename} would unpack to {mib(member.file_size)} from "
                f"{mib(member.compress_size)} ({ratio:.0f} to 1), which no Word document "
                "does; it was not opened. Save the template again as .docx in Word."
            )
    names = {member.filename for member in members}
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        return "This is not a Word document (.docx); is it another Office file?"
    return None
