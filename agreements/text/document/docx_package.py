"""Opening a Word file safely: the package checks, then the XML parts, never their entities.

A .docx is a zip of XML parts. Before anything is parsed:

- the upload checks of :mod:`agreements.standards.limits` (size, a zip and not an old .doc,
  members, unpacked size, no zip-bomb part, ``word/document.xml`` present);
- no XML part may declare a DTD (``<!DOCTYPE``) or entities (``<!ENTITY``): Word never
  writes them, and they are how XML external-entity and "billion laughs" attacks arrive. Such
  a file is refused, naming the part.

Parts are parsed by lxml with entities unresolved, no DTD loading, no network and no huge-tree
mode, so even a part that slipped past the check cannot reach out or expand.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass, field
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from agreements.standards.limits import (
    DEFAULT_MAX_UNCOMPRESSED_BYTES,
    DEFAULT_MAX_ZIP_MEMBERS,
    docx_package_problem,
    max_upload_bytes,
)

REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, dtd_validation=False
)
_DTD_MARKERS = ("<!DOCTYPE", "<!ENTITY")


class PackageError(ValueError):
    """The file is not a Word document we may open; the message says why, for the user."""


@dataclass(frozen=True)
class Relationship:
    kind: str  # the last segment of the relationship type: "numbering", "image", "hyperlink"
    target: str  # a part name inside the package, or a URL when external
    external: bool


@dataclass
class WordPackage:
    """The parsed parts of one Word file that the importer reads or reports on."""

    document: Any  # the w:document root
    document_part: str
    relationships: dict[str, Relationship]  # of the main document, by r:id
    parts: dict[str, Any] = field(default_factory=dict)  # other parsed parts, by name
    names: frozenset[str] = frozenset()

    def related(self, kind: str) -> list[tuple[str, Any]]:
        """(part name, parsed root) of the document's related parts of ``kind``."""
        found = []
        for rel in self.relationships.values():
            if rel.kind == kind and not rel.external and rel.target in self.parts:
                found.append((rel.target, self.parts[rel.target]))
        return found

    def first(self, kind: str) -> Any | None:
        found = self.related(kind)
        return found[0][1] if found else None


def _declares_dtd(raw: bytes) -> bool:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16", errors="replace")
    else:
        text = raw.decode("utf-8", errors="replace")
    return any(marker in text for marker in _DTD_MARKERS)


def _parse(raw: bytes, name: str) -> Any:
    try:
        return etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError:
        raise PackageError(
            f"The part {name} is damaged: open the file in Word and save it again as .docx."
        ) from None


def _relationships(package: zipfile.ZipFile, source: str) -> dict[str, Relationship]:
    folder, base = posixpath.split(source)
    rels_name = posixpath.join(folder, "_rels", base + ".rels")
    try:
        raw = package.read(rels_name)
    except KeyError:
        return {}
    root = _parse(raw, rels_name)
    found = {}
    for rel in root.iterfind(f"{{{REL_NS}}}Relationship"):
        external = rel.get("TargetMode") == "External"
        target = rel.get("Target") or ""
        if not external:
            target = posixpath.normpath(posixpath.join(folder, target)).lstrip("/")
            if target.startswith("/"):
                target = target[1:]
        kind = (rel.get("Type") or "").rsplit("/", 1)[-1]
        found[rel.get("Id") or ""] = Relationship(kind, target, external)
    return found


# The parts the importer reads; anything else is only listed.
_PARSED_KINDS = {"styles", "numbering", "comments", "footnotes", "endnotes", "header", "footer"}


def open_package(
    data: bytes,
    *,
    max_bytes: int | None = None,
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES,
    max_members: int = DEFAULT_MAX_ZIP_MEMBERS,
) -> WordPackage:
    """The parsed parts of a .docx; :class:`PackageError` with a message for the user when the
    file is refused (see the module docstring)."""
    problem = docx_package_problem(
        data,
        max_bytes=max_upload_bytes() if max_bytes is None else max_bytes,
        max_uncompressed_bytes=max_uncompressed_bytes,
        max_members=max_members,
    )
    if problem:
        raise PackageError(problem)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return _read(package)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError):
        raise PackageError(
            "The file is damaged or not a Word document: save it again as .docx."
        ) from None


def _read(package: zipfile.ZipFile) -> WordPackage:
    names = frozenset(package.namelist())
    raws: dict[str, bytes] = {}
    for name in sorted(names):
        if name.endswith((".xml", ".rels")) or name == "[Content_Types].xml":
            raw = package.read(name)
            if _declares_dtd(raw):
                raise PackageError(
                    f"The part {name} declares a DTD or XML entities (<!DOCTYPE>), which Word "
                    "never writes and which can be used to read files from the server; the "
                    "document was not opened. Save it again as .docx in Word."
                )
            raws[name] = raw
    main = next(
        (r.target for r in _relationships(package, "").values() if r.kind == "officeDocument"),
        "word/document.xml",
    )
    if main not in raws:
        raise PackageError("This is not a Word document (.docx); is it another Office file?")
    relationships = _relationships(package, main)
    parts = {
        rel.target: _parse(raws[rel.target], rel.target)
        for rel in relationships.values()
        if rel.kind in _PARSED_KINDS and not rel.external and rel.target in raws
    }
    return WordPackage(_parse(raws[main], main), main, relationships, parts, names)
