"""Helpers of the document tests (PDF text, PDF structure, a recording HTTP listener)."""

from __future__ import annotations

import http.server
import io
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pypdf import PdfReader
from pypdf.generic import IndirectObject

SIGNING = "Open Curriculum Implementation Data Agreement"
ACTIVE = "Productive Struggle Classroom Study"
LAKESHORE = "Lakeshore Fluency Pathways Data Agreement"


def pdf_text(data: bytes) -> str:
    """``pdftotext`` of the PDF, whitespace collapsed (headings may wrap)."""
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    return " ".join(out.split())


def pdf_layout_text(data: bytes) -> str:
    """``pdftotext -layout``: each printed line as one line, so a label hanging in the margin
    reads on the line of its heading."""
    return subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"],
        input=data,
        capture_output=True,
        check=True,
    ).stdout.decode()


def has_heading(layout: str, label: str, title: str) -> bool:
    """A printed line with ``label`` and then the first word of ``title``, at its start or
    after a gap (a margin note may stand beside a heading)."""
    first = re.escape(title.split()[0])
    return bool(re.search(rf"(?:^|\s\s){re.escape(label)}\s+{first}", layout, re.M))


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def pdf_structure(data: bytes) -> dict[str, Any]:
    """What a PDF carries besides text: embedded files, image XObjects, file annotations."""
    reader = PdfReader(io.BytesIO(data))
    names = _resolve(reader.trailer["/Root"]).get("/Names")
    embedded = bool(names and "/EmbeddedFiles" in _resolve(names))
    images = 0
    file_annotations = 0
    for page in reader.pages:
        resources = _resolve(page.get("/Resources")) or {}
        xobjects = _resolve(resources.get("/XObject")) or {}
        for ref in xobjects.values():
            if _resolve(ref).get("/Subtype") == "/Image":
                images += 1
        for annotation in _resolve(page.get("/Annots")) or []:
            if _resolve(annotation).get("/Subtype") == "/FileAttachment":
                file_annotations += 1
    return {
        "embedded_files": embedded,
        "images": images,
        "file_annotations": file_annotations,
        "pages": len(reader.pages),
        "raw_has_passwd": b"root:x:0:0" in data,
    }


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        body = b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>"
        self.send_response(200)
        self.send_header("Content-Type", "image/svg+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def recording_listener() -> Iterator[http.server.HTTPServer]:
    """An HTTP server on a free loopback port that records every request path in ``.hits``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.hits = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def wait_for[T](probe: Callable[[], T], *, timeout: float, what: str) -> T:
    """Poll ``probe`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def flip_byte(data: bytes, position: int) -> bytes:
    flipped = bytearray(data)
    flipped[position] ^= 0x01
    return bytes(flipped)


def middle_of_a_stream(data: bytes) -> int:
    """A byte inside the first content stream long enough: covered by the seal."""
    for match in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", match.end())
        if end - match.end() > 200:
            return match.end() + (end - match.end()) // 2
    raise AssertionError("no stream found")
