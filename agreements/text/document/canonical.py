"""The one canonical serialisation of a document tree: what the text hash covers.

``to_json(tree)`` writes a :class:`~agreements.text.document.model.Document`, a ``Part`` or a
sequence of blocks as JSON; ``from_json(text)`` reads it back, validating everything;
``normalise(tree)`` is the tree ``to_json`` actually writes; ``sha256(tree)`` hashes that JSON.
``from_json(to_json(x)) == normalise(x)`` for every tree ``x``.

**Form.** UTF-8 JSON, no whitespace between tokens (separators ``,`` and ``:``), non-ASCII
characters written as themselves (not ``\\u`` escapes), no trailing newline. Every node is an
object whose first key is ``"t"``, its type tag, followed by *all* its fields in this order
(defaults are written too, so a later change of a default cannot change what a stored text
means):

==============  ===========================================================================
``document``    ``v`` (format version, 1), ``title`` (list of lines, each a list of
                inlines), ``parts``, ``sections``, ``attachments`` (each a series:
                ``{"numbering": N}``)
``part``        ``key``, ``kind`` (preamble, section, unnumbered, attachment), ``title``
                (inlines), ``blocks``, ``label`` (string or null), ``generated``
``paragraph``   ``inlines``
``ordered_list`` ``items``, ``numbering``
``bullet_list`` ``items``
``item``        ``blocks``, ``label`` (string or null)
``table``       ``rows``, ``header_rows``, ``widths`` (numbers)
``row``         ``cells``
``cell``        ``blocks``, ``colspan``, ``rowspan``
``indented``    ``blocks``
``text``        ``text``
``break``       (no fields)
``strong`` ``emph`` ``underline`` ``superscript`` ``term``   ``children`` (inlines)
``blank``       ``kind`` (text, name, title, date, signature, choice), ``prompt``
``ref``         ``target`` (a part key), ``item`` (list of 0-based indexes), ``prefix``
``param``       ``name``
==============  ===========================================================================

A numbering ``N`` is ``{"pattern": "%1.", "formats": ["upper-letter"], "start": 1}`` (formats:
decimal, decimal-zero, lower-letter, upper-letter, lower-roman, upper-roman, none).

**Normalisation** (applied by ``to_json`` and ``from_json``):

1. Text is Unicode NFC; CRLF and CR become LF, and a LF inside text becomes a ``break``;
   control characters other than tab are removed; runs of spaces become one space.
2. Adjacent ``text`` nodes are merged; adjacent ``strong`` (``emph``, ``underline``,
   ``superscript``, ``term``) nodes are merged into one; a styled node directly inside one of
   the same style is unwrapped, and so is a styled node whose only content is one ``blank``.
3. Spaces and breaks at the edges of a styled node move outside it (``**a **`` is ``**a** ``).
4. Spaces and tabs at line ends are removed: at the start and end of a paragraph, a title line
   and a part title, and before and after a ``break``; breaks at their start or end go.
5. Empty text, empty styled nodes, empty paragraphs, lists without items, tables without rows,
   rows without cells, empty indented passages and empty title lines are dropped. List items,
   cells and parts are kept even when empty: they carry numbering and table shape.
6. ``header_rows`` is less than the number of rows (a table of header rows only, or whose
   header rows are all empty, has none);
   ``widths`` are rounded to 6 decimals.
7. A title line or part title that is bold all through loses that bold: headings are bold.

**Validation** (``from_json``): unknown or missing type tags, unknown keys, wrong value types,
unknown enum values, malformed part keys (lowercase letters and digits joined by single
hyphens, at most 50 characters), duplicate part keys, malformed parameter names, negative or
non-integer numbers, non-finite widths and nesting deeper than 60 levels all raise
``ValueError`` naming the JSON path (``$.parts[3].blocks[0].items[1]``) of the offending value.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import MISSING, fields
from typing import Any

from agreements.text.document.memo import IdentityMemo
from agreements.text.document.model import (
    Blank,
    BlankKind,
    Block,
    Break,
    BulletList,
    Cell,
    Document,
    Emph,
    Indented,
    Inline,
    ListItem,
    NumberFormat,
    Numbering,
    OrderedList,
    Paragraph,
    Param,
    Part,
    PartKind,
    Ref,
    Row,
    Series,
    Strong,
    Superscript,
    Table,
    Term,
    Text,
    Underline,
)
from agreements.text.document.normalise import normalise

__all__ = ["VERSION", "from_json", "normalise", "sha256", "to_json"]

VERSION = 1
MAX_DEPTH = 60
KEY_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_KEY_LENGTH = 50
PARAM_RE = re.compile(r"[a-z][a-z0-9_]*")

TAGS: dict[type, str] = {
    Document: "document",
    Part: "part",
    Paragraph: "paragraph",
    OrderedList: "ordered_list",
    BulletList: "bullet_list",
    ListItem: "item",
    Table: "table",
    Row: "row",
    Cell: "cell",
    Indented: "indented",
    Text: "text",
    Break: "break",
    Strong: "strong",
    Emph: "emph",
    Underline: "underline",
    Superscript: "superscript",
    Term: "term",
    Blank: "blank",
    Ref: "ref",
    Param: "param",
}
CLASSES = {tag: cls for cls, tag in TAGS.items()}

BLOCKS = (Paragraph, OrderedList, BulletList, Table, Indented)
INLINES = (Text, Break, Strong, Emph, Underline, Superscript, Term, Blank, Ref, Param)

type Tree = Document | Part | tuple[Block, ...]

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# --- writing ---------------------------------------------------------------------------------


#: Each node class's field names in declaration order (``dataclasses.fields`` is slow to ask
#: for every one of the thousands of nodes of a text).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


#: A part's top-level block encoded, by the identity of the (normal) block, which
#: normalise's own memo hands out: the standard's clauses are encoded once per process.
_PART_BLOCK: IdentityMemo[Any, Any] = IdentityMemo(8192)


def _encode(value: Any) -> Any:
    kind = type(value)
    if kind is tuple:
        return [_encode(item) for item in value]
    tag = TAGS.get(kind)
    if tag is not None:
        node: dict[str, Any] = {"t": tag}
        if kind is Document:
            node["v"] = VERSION
        for name in _field_names(kind):
            field = getattr(value, name)
            if kind is Part and name == "blocks":
                # Shared, never mutated: the nodes only go to json.dumps.
                node[name] = [_PART_BLOCK.get(block, _encode) for block in field]
            else:
                node[name] = _encode(field)
        return node
    if kind is Numbering or kind is Series:
        return {name: _encode(getattr(value, name)) for name in _field_names(kind)}
    if isinstance(value, str):
        return str(value)  # StrEnum -> its value
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if isinstance(value, (int, float)) or value is None:
        return value
    raise TypeError(f"cannot serialise {value!r}")


def to_json(tree: Tree) -> str:
    """The canonical JSON of ``tree`` (module docstring)."""
    return json.dumps(
        _encode(normalise(tree)), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )


def sha256(tree: Tree) -> str:
    """Hex SHA-256 of the UTF-8 bytes of ``to_json(tree)``."""
    return hashlib.sha256(to_json(tree).encode("utf-8")).hexdigest()


# --- reading ---------------------------------------------------------------------------------


class _Reader:
    """Decodes parsed JSON into the tree, raising ValueError with the JSON path of any fault."""

    def __init__(self) -> None:
        self.depth = 0

    def fail(self, path: str, message: str) -> ValueError:
        return ValueError(f"{path}: {message}")

    def node(self, value: Any, path: str, allowed: tuple[type, ...], what: str) -> Any:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected {what} (an object with a 't' tag)")
        tag = value.get("t")
        cls = CLASSES.get(tag) if isinstance(tag, str) else None
        if cls is None or cls not in allowed:
            raise self.fail(path, f"unknown {what} type {value.get('t')!r}")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(path, f"nested deeper than {MAX_DEPTH} levels")
        known = {f.name for f in fields(cls)} | {"t"} | ({"v"} if cls is Document else set())
        if unknown := sorted(set(value) - known):
            raise self.fail(path, f"unknown key {unknown[0]!r} in {TAGS[cls]}")
        if cls is Document and value.get("v", VERSION) != VERSION:
            raise self.fail(f"{path}.v", f"unsupported version {value.get('v')!r}")
        kwargs = {}
        for f in fields(cls):
            if f.name in value:
                kwargs[f.name] = self.field(cls, f.name, value[f.name], f"{path}.{f.name}")
            elif f.default is MISSING and f.default_factory is MISSING:
                raise self.fail(path, f"missing key {f.name!r} in {TAGS[cls]}")
        result = cls(**kwargs)
        self.depth -= 1
        return result

    def field(self, cls: type, name: str, value: Any, path: str) -> Any:
        reader = _FIELD_READERS.get((cls, name)) or _FIELD_READERS[(object, name)]
        return reader(self, value, path)

    def array(self, value: Any, path: str, item: Callable[[Any, str], Any]) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise self.fail(path, "expected a list")
        return tuple(item(entry, f"{path}[{index}]") for index, entry in enumerate(value))

    def string(self, value: Any, path: str, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(value, str):
            raise self.fail(path, "expected a string")
        if _CONTROL_RE.search(value):
            raise self.fail(path, "control characters are not allowed")
        if pattern is not None and (not pattern.fullmatch(value) or len(value) > 200):
            raise self.fail(path, f"malformed value {value!r}")
        return value

    def integer(self, value: Any, path: str, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(path, f"expected a whole number of at least {minimum}")
        return value

    def enum[E: (BlankKind, PartKind, NumberFormat)](
        self, enum: type[E], value: Any, path: str
    ) -> E:
        try:
            return enum(value)
        except ValueError:
            choices = ", ".join(member.value for member in enum)
            raise self.fail(path, f"unknown value {value!r} (one of {choices})") from None

    def inlines(self, value: Any, path: str) -> tuple[Inline, ...]:
        return self.array(value, path, lambda v, p: self.node(v, p, INLINES, "inline"))

    def blocks(self, value: Any, path: str) -> tuple[Block, ...]:
        return self.array(value, path, lambda v, p: self.node(v, p, BLOCKS, "block"))

    def numbering(self, value: Any, path: str) -> Numbering:
        if not isinstance(value, dict) or set(value) - {"pattern", "formats", "start"}:
            raise self.fail(path, "expected a numbering {pattern, formats, start}")
        pattern = self.string(value.get("pattern", "%1."), f"{path}.pattern")
        if not pattern or len(pattern) > 100:
            raise self.fail(f"{path}.pattern", "a pattern has 1 to 100 characters")
        formats = self.array(
            value.get("formats", ["decimal"]),
            f"{path}.formats",
            lambda v, p: self.enum(NumberFormat, v, p),
        )
        return Numbering(pattern, formats, self.integer(value.get("start", 1), f"{path}.start", 0))

    def series(self, value: Any, path: str) -> Series:
        if not isinstance(value, dict) or set(value) != {"numbering"}:
            raise self.fail(path, "expected a series {numbering}")
        return Series(self.numbering(value["numbering"], f"{path}.numbering"))

    def label(self, value: Any, path: str) -> str | None:
        return None if value is None else self.string(value, path)

    def widths(self, value: Any, path: str) -> tuple[float, ...]:
        def width(entry: Any, where: str) -> float:
            number = entry if isinstance(entry, (int, float)) else None
            if isinstance(entry, bool) or number is None or not math.isfinite(number) or number < 0:
                raise self.fail(where, "expected a finite, non-negative number")
            return float(number)

        return self.array(value, path, width)

    def parts(self, value: Any, path: str) -> tuple[Part, ...]:
        parts = self.array(value, path, lambda v, p: self.node(v, p, (Part,), "part"))
        seen: set[str] = set()
        for index, part in enumerate(parts):
            if part.key in seen:
                raise self.fail(f"{path}[{index}].key", f"duplicate part key {part.key!r}")
            seen.add(part.key)
        return parts


_KEY_RE_LIMITED = re.compile(rf"(?=.{{1,{MAX_KEY_LENGTH}}}$){KEY_RE.pattern}")

_FIELD_READERS: dict[tuple[type, str], Callable[[_Reader, Any, str], Any]] = {
    (Document, "title"): lambda r, v, p: r.array(v, p, r.inlines),
    (Document, "parts"): _Reader.parts,
    (Document, "sections"): _Reader.series,
    (Document, "attachments"): _Reader.series,
    (Part, "key"): lambda r, v, p: r.string(v, p, _KEY_RE_LIMITED),
    (Part, "kind"): lambda r, v, p: r.enum(PartKind, v, p),
    (Part, "title"): _Reader.inlines,
    (Part, "generated"): _Reader.string,
    (object, "label"): _Reader.label,
    (object, "blocks"): _Reader.blocks,
    (object, "inlines"): _Reader.inlines,
    (object, "children"): _Reader.inlines,
    (object, "items"): lambda r, v, p: r.array(
        v, p, lambda e, q: r.node(e, q, (ListItem,), "list item")
    ),
    (object, "numbering"): _Reader.numbering,
    (object, "rows"): lambda r, v, p: r.array(v, p, lambda e, q: r.node(e, q, (Row,), "row")),
    (object, "cells"): lambda r, v, p: r.array(v, p, lambda e, q: r.node(e, q, (Cell,), "cell")),
    (object, "header_rows"): lambda r, v, p: r.integer(v, p, 0),
    (object, "colspan"): lambda r, v, p: r.integer(v, p, 1),
    (object, "rowspan"): lambda r, v, p: r.integer(v, p, 1),
    (object, "widths"): _Reader.widths,
    (object, "text"): _Reader.string,
    (object, "prompt"): _Reader.string,
    (object, "prefix"): _Reader.string,
    (object, "kind"): lambda r, v, p: r.enum(BlankKind, v, p),
    (object, "target"): lambda r, v, p: r.string(v, p, _KEY_RE_LIMITED),
    (object, "item"): lambda r, v, p: r.array(v, p, lambda e, q: r.integer(e, q, 0)),
    (object, "name"): lambda r, v, p: r.string(v, p, PARAM_RE),
}


def read_series(value: Any, path: str = "$") -> Series:
    """A series ``{"numbering": N}`` from parsed JSON, validated (for importers' metadata)."""
    return _Reader().series(value, path)


def from_json(text: str | bytes) -> Tree:
    """Read canonical JSON back into a (normalised) tree; ``ValueError`` naming the JSON path
    of anything malformed. The top level is a document, a part, or a list of blocks."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ValueError(f"$: not valid JSON ({error})") from None
    reader = _Reader()
    tree: Tree
    if isinstance(data, list):
        tree = reader.blocks(data, "$")
    else:
        tree = reader.node(data, "$", (Document, Part), "document or part")
    return normalise(tree)
