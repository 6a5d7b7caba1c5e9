"""References follow the items they cite when a clause's text is replaced.

A reference to an item (``Ref(target, item=(1, 2))``: "Section 7.2(c)") names it by its place
in the part. When a party's replacement inserts a sub-item before (c), the old (c) is now the
fourth item: the references in *other* parts must cite it there ("Section 7.2(d)"), or they
would silently cite the new item instead. :func:`item_path_map` pairs the old items with the
new ones the way the structured redline does (same or similar content, moves kept), and
:func:`retarget` rewrites the references of a part. A reference to an item the replacement
removed cites nothing any more (it reads "Section ?" and the redline shows it), never
another item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from agreements.text.document.memo import IdentityMemo
from agreements.text.document.model import (
    Block,
    BulletList,
    Document,
    Emph,
    Indented,
    Inline,
    OrderedList,
    Paragraph,
    Part,
    Ref,
    Row,
    Strong,
    Superscript,
    Table,
    Term,
    Underline,
)
from agreements.text.document.plain import plain_text
from agreements.text.document.redline import (
    BlockDiff,
    IndentedDiff,
    ItemDiff,
    ListDiff,
    Status,
    diff_blocks,
)
from agreements.text.document.resolver import Resolver, ordered_items

type Path = tuple[int, ...]
GONE: Path = (10_000,)  # a path no part has: the reference cites nothing

_OLD_ONLY = (Status.DELETED, Status.MOVED_FROM)
_NEW_ONLY = (Status.INSERTED, Status.MOVED_TO)


def cited_paths(parts: Iterable[Part], key: str) -> bool:
    """Whether any of ``parts`` cites an item of part ``key`` (so a map is worth making)."""
    return any(ref.target == key and ref.item for part in parts for ref in _refs(part.blocks))


def item_path_map(old: Sequence[Block], new: Sequence[Block]) -> dict[Path, Path]:
    """Old item path -> new item path, for every item of ``old`` that ``new`` still has."""
    diff = diff_blocks(old, new)
    mapping: dict[Path, Path] = {}
    moves: dict[int, Path] = {}
    arrivals: dict[int, Path] = {}
    _walk(diff.blocks, (), (), mapping, moves, arrivals)
    for change, old_path in moves.items():
        if change in arrivals:
            mapping[old_path] = arrivals[change]
    return mapping


def _walk(
    blocks: Sequence[BlockDiff],
    old_prefix: Path,
    new_prefix: Path,
    mapping: dict[Path, Path],
    moves: dict[int, Path],
    arrivals: dict[int, Path],
    counters: list[int] | None = None,
) -> None:
    counters = counters if counters is not None else [0, 0]
    for block in blocks:
        if isinstance(block, IndentedDiff):
            _walk(block.blocks, old_prefix, new_prefix, mapping, moves, arrivals, counters)
        elif isinstance(block, ListDiff) and block.ordered:
            for item in block.items:
                _item(item, old_prefix, new_prefix, mapping, moves, arrivals, counters)


def _item(
    item: ItemDiff,
    old_prefix: Path,
    new_prefix: Path,
    mapping: dict[Path, Path],
    moves: dict[int, Path],
    arrivals: dict[int, Path],
    counters: list[int],
) -> None:
    old_path = new_path = None
    if item.status not in _NEW_ONLY:
        old_path = (*old_prefix, counters[0])
        counters[0] += 1
    if item.status not in _OLD_ONLY:
        new_path = (*new_prefix, counters[1])
        counters[1] += 1
    if old_path is not None and new_path is not None:
        mapping[old_path] = new_path
    elif old_path is not None and item.status is Status.MOVED_FROM and item.change is not None:
        moves[item.change] = old_path
    elif new_path is not None and item.status is Status.MOVED_TO and item.change is not None:
        arrivals[item.change] = new_path
    # Nested items count within their own item, on each side it exists.
    _walk(
        item.blocks,
        old_path if old_path is not None else (*old_prefix, -1),
        new_path if new_path is not None else (*new_prefix, -1),
        mapping if old_path is not None and new_path is not None else {},
        moves,
        arrivals,
    )


def retarget(part: Part, key: str, mapping: dict[Path, Path]) -> Part:
    """``part`` with its references to items of part ``key`` moved along ``mapping``."""
    if not cited_paths([part], key):
        return part

    def move(ref: Ref) -> Ref:
        return replace(ref, item=mapping.get(ref.item, GONE)) if ref.target == key else ref

    return replace(part, blocks=_map_refs(part.blocks, move))


def by_citation(blocks: Sequence[Block], document: Document | None) -> tuple[Block, ...]:
    """``blocks`` with each item reference standing for the text of the item it cites in
    ``document`` rather than its place, so two texts citing the same item compare equal
    whatever its number ("Section 7.2(c)" before an insertion, "7.2(d)" after)."""
    if document is None:
        return tuple(blocks)
    parts = {part.key: part for part in document.parts}

    def cite(ref: Ref) -> Ref:
        part = parts.get(ref.target)
        found: list[Block] = list(part.blocks) if part is not None else []
        text = ""
        for index in ref.item:
            item = next(
                (i for n, (_l, _x, i) in enumerate(ordered_items(found)) if n == index), None
            )
            if item is None:
                text = ""
                break
            found = list(item.blocks)
            text = plain_text(item.blocks)
        return replace(ref, item=(), prefix=f"{ref.prefix}\x00{text}")

    return _map_refs(blocks, cite)


def _map_refs(blocks: Sequence[Block], cite: Callable[[Ref], Ref]) -> tuple[Block, ...]:
    def inlines(seq: Sequence[Inline]) -> tuple[Inline, ...]:
        out: list[Inline] = []
        for inline in seq:
            if isinstance(inline, Ref) and inline.item:
                out.append(cite(inline))
            elif isinstance(inline, (Strong, Emph, Underline, Superscript, Term)):
                out.append(replace(inline, children=inlines(inline.children)))
            else:
                out.append(inline)
        return tuple(out)

    def walk(seq: Sequence[Block]) -> tuple[Block, ...]:
        out: list[Block] = []
        for block in seq:
            match block:
                case Paragraph():
                    out.append(Paragraph(inlines(block.inlines)))
                case OrderedList() | BulletList():
                    out.append(
                        replace(
                            block,
                            items=tuple(replace(i, blocks=walk(i.blocks)) for i in block.items),
                        )
                    )
                case Table():
                    out.append(
                        replace(
                            block,
                            rows=tuple(
                                Row(tuple(replace(c, blocks=walk(c.blocks)) for c in r.cells))
                                for r in block.rows
                            ),
                        )
                    )
                case Indented():
                    out.append(Indented(walk(block.blocks)))
        return tuple(out)

    return walk(blocks)


def refs_in(blocks: Sequence[Block]) -> tuple[Ref, ...]:
    """Every reference in ``blocks``, in reading order."""
    return tuple(_refs(blocks))


#: The references of a part's blocks, by the blocks' identity (agreements.text.document.memo).
_REFS: IdentityMemo[tuple[Block, ...], tuple[Ref, ...]] = IdentityMemo(4096)


def refs_read(blocks: tuple[Block, ...], resolver: Resolver) -> tuple[str | None, ...]:
    """What each reference in ``blocks`` reads in ``resolver``'s document (None: missing): with
    the numbering chain, all that a part's text or HTML takes from the rest of the document."""
    return tuple(resolver.ref_text(ref) for ref in _REFS.get(blocks, refs_in))


def _refs(blocks: Sequence[Block]) -> Iterable[Ref]:
    for block in blocks:
        match block:
            case Paragraph():
                yield from _inline_refs(block.inlines)
            case OrderedList() | BulletList():
                for item in block.items:
                    yield from _refs(item.blocks)
            case Table():
                for row in block.rows:
                    for cell in row.cells:
                        yield from _refs(cell.blocks)
            case Indented():
                yield from _refs(block.blocks)


def _inline_refs(inlines: Sequence[Inline]) -> Iterable[Ref]:
    for inline in inlines:
        if isinstance(inline, Ref):
            yield inline
        elif isinstance(inline, (Strong, Emph, Underline, Superscript, Term)):
            yield from _inline_refs(inline.children)
