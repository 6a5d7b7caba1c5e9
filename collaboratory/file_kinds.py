"""What an uploaded file is, told by its first bytes: never by its name or the browser's claim.

One place for the signatures of the kinds people attach (a PDF, a Word file, a PNG or JPEG
image, UTF-8 text) and for the words a refusal uses, so every upload says the same thing in
the same way. Each feature keeps its own list of accepted kinds and its own size limit, and
chooses one of two rules:

- :func:`identify_content`: the content alone decides (the name is ignored; the stored copy
  takes the kind's own extension and content type), as research-approval letters do;
- :func:`check_named_content`: the name's extension must be one the feature accepts and the
  content must be what that extension says, as destruction evidence files do (a ``.txt`` file
  has no signature; its content must be UTF-8).

Both raise :class:`FileRefused` with a sentence saying what to attach instead; the caller puts
it on its form field. :func:`size_problem` (or :func:`check_size`) words a too-large file
the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class FileKind:
    """A kind of file, as people call it ("a PDF"), with how its content starts (none: text)."""

    label: str
    content_type: str
    #: The first is the one a stored copy gets.
    extensions: tuple[str, ...]
    signatures: tuple[bytes, ...]

    @property
    def extension(self) -> str:
        return self.extensions[0]

    def matches(self, data: bytes) -> bool:
        """Whether ``data`` is this kind: starts with a signature, or (text) decodes as UTF-8."""
        if self.signatures:
            return data.startswith(self.signatures)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True


PDF = FileKind("a PDF", "application/pdf", (".pdf",), (b"%PDF-",))
WORD = FileKind(
    "a Word file (.docx)",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    (".docx",),
    (b"PK\x03\x04",),
)
PNG = FileKind("a PNG image", "image/png", (".png",), (b"\x89PNG\r\n\x1a\n",))
JPEG = FileKind("a JPEG image", "image/jpeg", (".jpg", ".jpeg"), (b"\xff\xd8\xff",))
TEXT = FileKind("UTF-8 text", "text/plain", (".txt",), ())


class FileRefused(ValueError):
    """The file is not one the feature accepts; the message says what to attach instead."""

    @property
    def message(self) -> str:
        return str(self.args[0])


def describe_kinds(kinds: Sequence[FileKind]) -> str:
    """The accepted kinds in one phrase: "a PDF, a Word file (.docx) or a PNG image"."""
    labels = [kind.label for kind in kinds]
    if len(labels) == 1:
        return labels[0]
    return f"{', '.join(labels[:-1])} or {labels[-1]}"


def describe_bytes(size: int) -> str:
    """A size in binary units as the limits are set: "10 MiB", "10.2 MiB", "300 KiB"."""
    for unit, name in ((MIB, "MiB"), (KIB, "KiB")):
        if size >= unit:
            return f"{size // unit} {name}" if size % unit == 0 else f"{size / unit:.1f} {name}"
    return f"{size} bytes"


def size_problem(size: int, max_bytes: int) -> str | None:
    """Why a file of ``size`` bytes is refused under ``max_bytes``, or None when it fits."""
    if size <= max_bytes:
        return None
    return (
        f"The file is {describe_bytes(size)}, larger than allowed: the limit is "
        f"{describe_bytes(max_bytes)}. Attach a smaller file."
    )


def check_size(size: int, max_bytes: int) -> None:
    """:class:`FileRefused` (:func:`size_problem`'s words) when ``size`` is over ``max_bytes``."""
    if problem := size_problem(size, max_bytes):
        raise FileRefused(problem)


def identify_content(data: bytes, kinds: Sequence[FileKind]) -> FileKind:
    """The first of ``kinds`` that ``data`` is, by content alone (binary kinds before text,
    so a PDF is never taken for text); :class:`FileRefused` when it is none of them."""
    if not data:
        raise FileRefused("The file is empty.")
    ordered = sorted(kinds, key=lambda kind: not kind.signatures)
    for kind in ordered:
        if kind.matches(data):
            return kind
    raise FileRefused(f"The file is not {describe_kinds(kinds)}.")


def kind_named(name: str, kinds: Sequence[FileKind]) -> FileKind:
    """The one of ``kinds`` that ``name``'s extension says (any case); :class:`FileRefused`
    when the extension is none of theirs. Asked before reading a file's bytes."""
    extension = PurePath(name).suffix.lower()
    for kind in kinds:
        if extension in kind.extensions:
            return kind
    accepted = ", ".join(e for kind in kinds for e in kind.extensions)
    raise FileRefused(f"The file must be {describe_kinds(kinds)} ({accepted}).")


def check_named_content(data: bytes, *, name: str, kinds: Sequence[FileKind]) -> FileKind:
    """The kind that ``name``'s extension says (:func:`kind_named`), once the content agrees;
    :class:`FileRefused` when the file is empty or its content is something else (a renamed
    file)."""
    named = kind_named(name, kinds)
    if not data:
        raise FileRefused("The file is empty.")
    if not named.matches(data):
        extension = PurePath(name).suffix.lower()
        raise FileRefused(
            f"The file's content is not {named.label}, though its name ends in {extension}: "
            "attach the file itself, not a renamed one."
        )
    return named
