"""Live changes folded into a walk graph: the overlay between two snapshots.

Saves and unsaves arrive as ordered deltas (`walks/deltas.py`). A batch of them is first
reduced to its net effect (`fold`), then merged into the current graph (`merge`), which
gives a new `WalkGraph` with the same snapshot version and `deltas` counting what was
folded in since. Queries keep the graph they started with, so merging never blocks them.

The merge costs one copy of the CSR arrays and no sort: the arrays are already grouped by
source, so the untouched runs are copied as they are and only touched pins and boards get
new neighbour lists. New ids are ULIDs, which sort after the old ones, so indices rarely
move; when one does sort in between, every index is remapped in one vectorised pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from walks.export import BoardRow
from walks.graph import WalkGraph, id_bytes

SAVE, UNSAVE, DROP_PIN, BOARD = "save", "unsave", "drop_pin", "board"
OPS = frozenset({SAVE, UNSAVE, DROP_PIN, BOARD})


@dataclass(frozen=True)
class Delta:
    """One change: a pin saved to or unsaved from a board, a pin deleted, or a board
    whose privacy, topics or existence changed (its edges are then read from the store)."""

    op: str
    pin: str = ""
    board: str = ""


@dataclass
class Folded:
    """The net effect of a batch of deltas, last one winning per edge."""

    edges: dict[tuple[str, str], bool] = field(default_factory=dict)  # (pin, board) -> saved
    dropped_pins: set[str] = field(default_factory=set)
    boards: set[str] = field(default_factory=set)  # to be replaced by the store's truth

    def boards_to_read(self, graph: WalkGraph) -> set[str]:
        """Boards whose truth the merge needs: changed ones, and boards saved to that the
        graph has no edges of: new ones, and ones that left (made secret, emptied), whose
        empty rows stay until the next snapshot. The store says whether they are public,
        and gives their topics and owner language."""
        saved_to = {board for (_, board), saved in self.edges.items() if saved}
        return self.boards | (saved_to - _linked(graph, saved_to))


def fold(deltas: Iterable[Delta]) -> Folded:
    folded = Folded()
    for delta in deltas:
        if delta.op == SAVE:
            folded.edges[(delta.pin, delta.board)] = True
        elif delta.op == UNSAVE:
            folded.edges[(delta.pin, delta.board)] = False
        elif delta.op == DROP_PIN:
            folded.dropped_pins.add(delta.pin)
        elif delta.op == BOARD:
            folded.boards.add(delta.board)
    return folded


def merge(graph: WalkGraph, folded: Folded, truth: dict[str, BoardRow], count: int) -> WalkGraph:
    """`graph` with `folded` applied. `truth` holds the boards of `folded.boards_to_read`
    that are public now (the others are gone or secret: their edges leave the graph);
    `count` is the number of deltas the batch had."""
    replaced = folded.boards_to_read(graph)
    # A board the graph has is public unless re-read; one re-read is public if in `truth`.
    # Pins saved only to other boards (secret ones) get no row.
    pins_new = {
        pin
        for (pin, board), saved in folded.edges.items()
        if saved and (board in truth or board not in replaced)
    }
    pins_new |= {pin for row in truth.values() for pin in row.pins}
    pins_new -= folded.dropped_pins
    pin_ids, pin_remap = _union(graph.pin_ids, pins_new)
    board_ids, board_remap = _union(graph.board_ids, set(truth))
    pin_of = _Index(pin_ids).many(
        {pin for pin, _ in folded.edges} | folded.dropped_pins
        | {pin for row in truth.values() for pin in row.pins}
    )  # fmt: skip
    board_of = _Index(board_ids).many({board for _, board in folded.edges} | replaced)
    old = _Adjacency(graph, pin_remap, board_remap)

    removed: set[tuple[int, int]] = set()
    added: set[tuple[int, int]] = set()
    for (pin, board), saved in folded.edges.items():
        if board in replaced or pin in folded.dropped_pins:
            continue
        p, b = pin_of.get(pin, -1), board_of.get(board, -1)
        if p < 0 or b < 0:
            continue  # an unsave of an edge the graph never had
        (added if saved else removed).add((p, b))
    for pin in folded.dropped_pins:
        p = pin_of.get(pin, -1)
        if p >= 0:
            removed.update((p, int(b)) for b in old.boards_of(p))
    for board in replaced:
        b = board_of.get(board, -1)
        if b >= 0:
            removed.update((int(p), b) for p in old.pins_of(b))
        row = truth.get(board)
        if row is not None:
            added.update((pin_of[pin], b) for pin in row.pins if pin not in folded.dropped_pins)
    removed -= added
    added = {(p, b) for p, b in added if not old.has(p, b)}

    pin_lists = _lists(old.boards_of, removed, added, source=0)
    board_lists = _lists(old.pins_of, removed, added, source=1)
    pin_ptr, pin_boards = _splice(
        graph.pin_ptr, graph.pin_boards, pin_remap, len(pin_ids), board_remap, pin_lists
    )
    board_ptr, board_pins = _splice(
        graph.board_ptr, graph.board_pins, board_remap, len(board_ids), pin_remap, board_lists
    )
    topics, langs = _features(graph, board_ids, board_remap, truth)
    return replace(
        graph,
        pin_ids=pin_ids,
        board_ids=board_ids,
        pin_ptr=pin_ptr,
        pin_boards=pin_boards,
        board_ptr=board_ptr,
        board_pins=board_pins,
        board_topics=topics,
        board_lang=langs[0],
        langs=langs[1],
        deltas=graph.deltas + count,
    )


class _Index:
    """Positions of ids in a sorted S16 array."""

    def __init__(self, ids: NDArray[np.bytes_]) -> None:
        self.ids = ids

    def get(self, value: str) -> int:
        return self.many({value}).get(value, -1)

    def many(self, values: set[str]) -> dict[str, int]:
        """The positions of those of `values` that are present."""
        if not values or not len(self.ids):
            return {}
        ordered = list(values)
        keys = id_bytes(ordered)
        at = np.minimum(np.searchsorted(self.ids, keys), len(self.ids) - 1)
        found = self.ids[at] == keys
        return {value: int(i) for value, i, ok in zip(ordered, at, found, strict=True) if ok}


class _Adjacency:
    """The old graph's neighbour lists, in the new index space."""

    def __init__(
        self, graph: WalkGraph, pin_remap: NDArray[np.int64] | None,
        board_remap: NDArray[np.int64] | None,
    ) -> None:  # fmt: skip
        self.graph = graph
        self.pin_remap, self.board_remap = pin_remap, board_remap
        self.pin_back = _inverse(pin_remap)
        self.board_back = _inverse(board_remap)

    def boards_of(self, pin: int) -> NDArray[np.int64]:
        g = self.graph
        return _row(self.pin_back(pin), g.pins, g.pin_ptr, g.pin_boards, self.board_remap)

    def pins_of(self, board: int) -> NDArray[np.int64]:
        g = self.graph
        return _row(self.board_back(board), g.boards, g.board_ptr, g.board_pins, self.pin_remap)

    def has(self, pin: int, board: int) -> bool:
        return bool(np.any(self.boards_of(pin) == board))


def _row(
    old: int,
    count: int,
    ptr: NDArray[np.int64] | NDArray[np.int32],
    targets: NDArray[np.int32],
    remap: NDArray[np.int64] | None,
) -> NDArray[np.int64]:
    """Old node `old`'s neighbours, in the new index space (none for a new node)."""
    if old < 0 or old >= count:
        return np.zeros(0, dtype=np.int64)
    row = np.asarray(targets[ptr[old] : ptr[old + 1]], dtype=np.int64)
    return row if remap is None else remap[row]


def _inverse(remap: NDArray[np.int64] | None) -> Callable[[int], int]:
    """New index -> old index (-1 for a new id); identity when nothing moved."""
    if remap is None:
        return lambda index: index

    def back(index: int) -> int:
        at = int(np.searchsorted(remap, index))
        return at if at < len(remap) and remap[at] == index else -1

    return back


def _linked(graph: WalkGraph, boards: set[str]) -> set[str]:
    """Which of `boards` the graph has with at least one edge (a public board)."""
    found = _Index(graph.board_ids).many(boards)
    return {b for b, i in found.items() if graph.board_ptr[i + 1] > graph.board_ptr[i]}


def _union(
    ids: NDArray[np.bytes_], values: set[str]
) -> tuple[NDArray[np.bytes_], NDArray[np.int64] | None]:
    """`ids` with the new `values` inserted in order, and old index -> new index (None when
    no old index moved: every new id sorts last, the usual case for ULIDs)."""
    keys = np.unique(id_bytes(values)) if values else np.zeros(0, dtype="S16")
    if len(ids) and len(keys):
        at = np.minimum(np.searchsorted(ids, keys), len(ids) - 1)
        keys = keys[ids[at] != keys]
    if not len(keys):
        return ids, None
    positions = np.searchsorted(ids, keys)
    merged = np.insert(np.asarray(ids), positions, keys)
    if positions.min() == len(ids):
        return merged, None
    shift = np.searchsorted(keys, ids)  # new ids sorting before each old one
    return merged, np.arange(len(ids), dtype=np.int64) + shift


def _lists(
    neighbours: Callable[[int], NDArray[np.int64]],
    removed: set[tuple[int, int]],
    added: set[tuple[int, int]],
    *,
    source: int,
) -> dict[int, NDArray[np.int32]]:
    """New neighbour lists of every source node an edge change touches."""
    gone: dict[int, set[int]] = {}
    new: dict[int, list[int]] = {}
    for edge in removed:
        gone.setdefault(edge[source], set()).add(edge[1 - source])
    for edge in added:
        new.setdefault(edge[source], []).append(edge[1 - source])
    lists = {}
    for node in gone.keys() | new.keys():
        current = neighbours(node)
        if node in gone:
            current = current[~np.isin(current, list(gone[node]))]
        fresh = np.array(sorted(new.get(node, [])), dtype=np.int64)
        lists[node] = np.concatenate([current, fresh]).astype(np.int32)
    return lists


def _splice(
    ptr: NDArray[np.int64] | NDArray[np.int32],
    targets: NDArray[np.int32],
    src_remap: NDArray[np.int64] | None,
    sources: int,
    dst_remap: NDArray[np.int64] | None,
    lists: dict[int, NDArray[np.int32]],
) -> tuple[NDArray[np.int64] | NDArray[np.int32], NDArray[np.int32]]:
    """A CSR with `lists` replacing some sources' neighbours; the other sources' runs are
    copied unchanged (a run may span new sources: they have no edges unless in `lists`)."""
    old_count = len(ptr) - 1
    if dst_remap is not None:
        targets = dst_remap[targets].astype(np.int32)
    old_degree = np.diff(np.asarray(ptr, dtype=np.int64))
    degree = np.zeros(sources, dtype=np.int64)
    if src_remap is None:
        degree[:old_count] = old_degree
    else:
        degree[src_remap] = old_degree
    for node, values in lists.items():
        degree[node] = len(values)
    new_ptr = np.zeros(sources + 1, dtype=np.int64)
    np.cumsum(degree, out=new_ptr[1:])
    out = np.empty(int(new_ptr[-1]), dtype=np.int32)

    def new_index(old: int) -> int:
        return old if src_remap is None else int(src_remap[old])

    def before(node: int) -> int:  # old sources whose new index is below `node`
        if src_remap is None:
            return min(node, old_count)
        return int(np.searchsorted(src_remap, node))

    def copy_run(first: int, end: int) -> None:
        if first < end:
            start = int(new_ptr[new_index(first)])
            out[start : start + int(ptr[end] - ptr[first])] = targets[ptr[first] : ptr[end]]

    cursor = 0
    for node in sorted(lists):
        end = before(node)
        copy_run(cursor, end)
        out[new_ptr[node] : new_ptr[node + 1]] = lists[node]
        cursor = end + 1 if end < old_count and new_index(end) == node else end
    copy_run(cursor, old_count)
    if len(out) < 2**31:
        return new_ptr.astype(np.int32), out
    return new_ptr, out


def _features(
    graph: WalkGraph,
    board_ids: NDArray[np.bytes_],
    board_remap: NDArray[np.int64] | None,
    truth: dict[str, BoardRow],
) -> tuple[NDArray[np.uint64], tuple[NDArray[np.uint8], list[str]]]:
    """Topic masks and language codes for every board, the store's truth for `truth`."""
    topics = np.zeros(len(board_ids), dtype=np.uint64)
    codes = np.zeros(len(board_ids), dtype=np.uint8)
    if board_remap is None:
        topics[: graph.boards] = graph.board_topics
        codes[: graph.boards] = graph.board_lang
    else:
        topics[board_remap] = graph.board_topics
        codes[board_remap] = graph.board_lang
    langs = list(graph.langs)
    index = _Index(board_ids)
    for board, row in truth.items():
        if row.lang not in langs and len(langs) < 255:
            langs.append(row.lang)
        at = index.get(board)
        topics[at] = graph.topic_mask(row.topics)
        codes[at] = langs.index(row.lang) if row.lang in langs else 0
    return topics, (codes, langs)
