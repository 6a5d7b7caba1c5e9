"""What a Word template holds that the reader does not import as such: found before python-docx
reads the document, listed in the import report, and no text dropped without a word.

python-docx sees the paragraphs and tables that are direct children of the body, and in a
paragraph the runs and hyperlinks that are its direct children; anything wrapped in another
element, and any text after an XML entity reference, would vanish silently.
:func:`prepare_document` reads ``word/document.xml`` (its size already bounded by
:func:`~agreements.standards.limits.docx_package_problem`), rewrites it where needed and
returns the package for python-docx with one warning per kind of content:

- **A DTD and entities**: Word never writes them. Entities are never expanded, internal or
  external (no file is read, no address fetched); each reference stays in the text as written
  (``&name;``) so the author sees where it stood, and the text after it is kept.
- **Content controls** (``w:sdt``), simple fields (``w:fldSimple``), smart tags and custom
  XML wrappers: unwrapped, so their text is imported as plain text.
- **Fields** (simple or ``w:fldChar``): the text Word last showed is imported, not updated;
  the report names the field types (DATE, REF, ...).
- **Tracked changes** (``w:ins``, ``w:del``, moves): text inside them is left out; accept or
  reject them in Word first.
- **Images, drawings, embedded objects and text boxes**: not imported; text in a text box is
  quoted in the report.
- **Comments, footnotes and endnotes**: not imported (the references in the text are listed).

Paragraphs are numbered as ``Issue.line`` numbers them (the body's paragraphs and tables from
1, after unwrapping); content inside a table is reported at the table's number.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from lxml import etree  # type: ignore[import-untyped]

from agreements.standards.report import Issue

DOCUMENT_PART = "word/document.xml"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_NS = {"w": _W}
#: Wrappers whose content python-docx would skip; their children take their place.
_UNWRAP = {"sdt": "sdtContent", "fldSimple": None, "smartTag": None, "customXml": None}
#: Properties of a wrapper, dropped with it.
_WRAPPER_PROPERTIES = {"sdtPr", "sdtEndPr", "smartTagPr", "customXmlPr"}
#: What python-docx iterates in the body (and ``Issue.line`` counts).
BLOCKS = ("p", "tbl")
_QUOTE_CHARS = 60
_LISTED_PARAGRAPHS = 5


@dataclass
class _Found:
    """Paragraph numbers (and details) per kind of unsupported content."""

    dtd: bool = False
    entities: dict[str, list[int]] = field(default_factory=dict)
    content_controls: list[int] = field(default_factory=list)
    fields: dict[str, list[int]] = field(default_factory=dict)
    tracked_changes: list[int] = field(default_factory=list)
    images: list[int] = field(default_factory=list)
    boxed_text: list[str] = field(default_factory=list)
    comments: list[int] = field(default_factory=list)
    notes: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Unwrapped:
    """A wrapper taken out: what it was, and an element now standing where it stood."""

    name: str
    instruction: str
    place: etree._Element


def prepare_document(data: bytes) -> tuple[bytes, list[Issue]]:
    """``data`` rewritten so python-docx drops no text, and the warnings that list what the
    import leaves out or changes. Raises ``etree.XMLSyntaxError`` (or ``KeyError``) for a
    document part that is not well-formed XML; the caller refuses the file then."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        xml = package.read(DOCUMENT_PART)
    parser = etree.XMLParser(
        resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False
    )
    tree = etree.parse(io.BytesIO(xml), parser)
    root = tree.getroot()
    found = _Found(dtd=bool(tree.docinfo.doctype))
    wrappers = root.xpath(" | ".join(f".//w:{tag}" for tag in _UNWRAP), namespaces=_NS)
    # Last first: an inner wrapper comes after its outer one in document order.
    unwrapped = [_unwrap(wrapper) for wrapper in reversed(wrappers)]
    number_of = _paragraph_numbers(root)
    entities = list(root.iter(etree.Entity))
    for entity in entities:
        found.entities.setdefault(entity.text, []).append(number_of(entity))
        _replace_with_text(entity, entity.text)
    for item in unwrapped:
        if item.name == "sdt":
            found.content_controls.append(number_of(item.place))
        elif item.name == "fldSimple":
            found.fields.setdefault(item.instruction, []).append(number_of(item.place))
    _survey(root, found, number_of)
    if found.dtd or unwrapped or entities:
        document = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
        data = _with_part(data, DOCUMENT_PART, document)
    return data, _warnings(found)


def _unwrap(wrapper: etree._Element) -> _Unwrapped:
    """Put ``wrapper``'s content where it stood (its properties go with it)."""
    name = etree.QName(wrapper).localname
    words = (wrapper.get(f"{{{_W}}}instr") or "").split()
    content_tag = _UNWRAP[name]
    if content_tag is not None:
        content = wrapper.find(f"w:{content_tag}", _NS)
        children = list(content) if content is not None else []
    else:
        children = [c for c in wrapper if etree.QName(c).localname not in _WRAPPER_PROPERTIES]
    parent = wrapper.getparent()
    assert parent is not None  # found below the root
    position = parent.index(wrapper)
    for offset, child in enumerate(children):
        parent.insert(position + offset, child)
    _replace_with_text(wrapper, "")
    place = children[0] if children else parent
    return _Unwrapped(name, words[0].upper() if words else "?", place)


def _replace_with_text(node: etree._Element, text: str) -> None:
    """Remove ``node``, leaving ``text`` (and the text after the node) where it stood."""
    parent = node.getparent()
    if parent is None:
        return
    kept = text + (node.tail or "")
    previous = node.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + kept
    else:
        parent.text = (parent.text or "") + kept
    parent.remove(node)


def _paragraph_numbers(root: etree._Element) -> Callable[[etree._Element], int]:
    """A function giving the body-level paragraph or table number of any element."""
    body = root.find("w:body", _NS)
    blocks = [] if body is None else [c for c in body if etree.QName(c).localname in BLOCKS]
    numbers = {block: number for number, block in enumerate(blocks, start=1)}

    def number_of(element: etree._Element) -> int:
        for current in (element, *element.iterancestors()):
            if current in numbers:
                return numbers[current]
        return 0

    return number_of


def _survey(
    root: etree._Element, found: _Found, number_of: Callable[[etree._Element], int]
) -> None:
    for element in root.iter(f"{{{_W}}}fldChar"):
        if element.get(f"{{{_W}}}fldCharType") == "begin":
            found.fields.setdefault(_instruction_after(element), []).append(number_of(element))
    for name in ("ins", "del", "moveFrom", "moveTo"):
        found.tracked_changes += [number_of(e) for e in root.iter(f"{{{_W}}}{name}")]
    pictures = {f"{{{_W}}}{name}" for name in ("drawing", "pict", "object")}
    for element in root.iter(*pictures):
        if any(ancestor.tag in pictures for ancestor in element.iterancestors()):
            continue  # a picture inside a picture is one
        found.images.append(number_of(element))
        text = " ".join(
            "".join(t.text or "" for t in paragraph.iter(f"{{{_W}}}t"))
            for paragraph in element.iter(f"{{{_W}}}p")
        ).strip()
        if text:
            found.boxed_text.append(text)
    found.comments = [number_of(e) for e in root.iter(f"{{{_W}}}commentReference")]
    found.notes = [
        number_of(e) for e in root.iter(f"{{{_W}}}footnoteReference", f"{{{_W}}}endnoteReference")
    ]


def _instruction_after(begin: etree._Element) -> str:
    """The field type (first word of the instruction) of the field ``begin`` starts."""
    run = begin.getparent()
    while run is not None:
        run = run.getnext()
        if run is None:
            break
        text = "".join(t.text or "" for t in run.iter(f"{{{_W}}}instrText")).split()
        if text:
            return text[0].upper()
    return "?"


def _with_part(data: bytes, name: str, content: bytes) -> bytes:
    source, target = io.BytesIO(data), io.BytesIO()
    with (
        zipfile.ZipFile(source) as original,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy,
    ):
        for item in original.infolist():
            copy.writestr(item, content if item.filename == name else original.read(item))
    return target.getvalue()


# -- the report -----------------------------------------------------------------------------


def _where(numbers: Iterable[int]) -> str:
    listed = sorted({n for n in numbers if n})
    if not listed:
        return "outside the body text"
    if len(listed) == 1:
        return f"paragraph {listed[0]}"
    shown, rest = listed[:_LISTED_PARAGRAPHS], len(listed) - _LISTED_PARAGRAPHS
    if rest > 0:
        return f"paragraphs {', '.join(map(str, shown))} and {rest} more"
    return f"paragraphs {', '.join(map(str, shown[:-1]))} and {shown[-1]}"


def _count(numbers: list[int], one: str, many: str) -> str:
    return f"1 {one}" if len(numbers) == 1 else f"{len(numbers)} {many}"


def _verb(numbers: list[int]) -> str:
    return "was" if len(numbers) == 1 else "were"


def _quote(text: str) -> str:
    return f"“{text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1] + '…'}”"


def _warnings(found: _Found) -> list[Issue]:
    messages = []
    if found.tracked_changes:
        messages.append(
            f"The document has tracked changes ({_where(found.tracked_changes)}). Only text "
            "outside them was imported: accept or reject all changes in Word and upload it "
            "again."
        )
    if found.entities:
        listed = "; ".join(f"{name} in {_where(at)}" for name, at in found.entities.items())
        messages.append(
            "The document declares a DTD with entities, which Word never writes: they were "
            f"not expanded and are left as written ({listed}). Replace them with the text "
            "they stand for."
        )
    elif found.dtd:
        messages.append("The document declares a DTD, which Word never writes; it was ignored.")
    if found.content_controls:
        at = found.content_controls
        messages.append(
            f"{_count(at, 'content control', 'content controls')} ({_where(at)}) {_verb(at)} "
            "imported as plain text."
        )
    if found.fields:
        at = [n for numbers in found.fields.values() for n in numbers]
        kinds = ", ".join(sorted(found.fields))
        it = "it" if len(at) == 1 else "them"
        messages.append(
            f"{_count(at, 'field', 'fields')} ({kinds}; {_where(at)}) {_verb(at)} imported as "
            f"the text Word last showed for {it}."
        )
    if found.images:
        at = found.images
        message = (
            f"{_count(at, 'image or drawing', 'images or drawings')} ({_where(at)}) "
            f"{_verb(at)} not imported"
        )
        if found.boxed_text:
            message += ", with the text in it: " + ", ".join(map(_quote, found.boxed_text))
        messages.append(message + ".")
    if found.comments:
        at = found.comments
        messages.append(
            f"{_count(at, 'comment', 'comments')} ({_where(at)}) {_verb(at)} not imported."
        )
    if found.notes:
        at = found.notes
        messages.append(
            f"{_count(at, 'footnote or endnote', 'footnotes or endnotes')} ({_where(at)}) "
            f"{_verb(at)} not imported."
        )
    return [Issue(None, None, message) for message in messages]
