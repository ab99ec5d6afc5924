"""The walk graph: the bipartite pin-board graph of public saves as CSR arrays, both ways.

Pins and boards are numbered in the order of their ids, which are ULIDs kept as 16 raw bytes
(`S16`), so an id finds its index by binary search and no hash map the size of the graph is
needed. A snapshot is a directory of `.npy` files plus `meta.json`; it is loaded memory-mapped,
so start-up is fast and several processes share the pages.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from ulid import ULID

from domain.errors import BadInput
from graph.model import topic_name

FORMAT = 1
MAX_TOPICS = 64  # board topics are a bitmask in one uint64
ARRAYS = ("pin_ids", "board_ids", "pin_ptr", "pin_boards", "board_ptr", "board_pins",
          "board_topics", "board_lang")  # fmt: skip


ALPHABET = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32, as ULIDs use it
_DIGIT = np.full(256, 255, dtype=np.uint8)
_DIGIT[np.frombuffer(ALPHABET, dtype=np.uint8)] = np.arange(32, dtype=np.uint8)
_DIGIT[np.frombuffer(ALPHABET.lower(), dtype=np.uint8)] = np.arange(32, dtype=np.uint8)
_POWERS = np.uint64(32) ** np.arange(12, -1, -1, dtype=np.uint64)


def id_bytes(ids: Iterable[str]) -> NDArray[np.bytes_]:
    """ULID strings as sortable 16-byte keys; ValueError for anything else.

    Decoded in bulk with numpy: one at a time (python-ulid) took 12 µs per id, most of a
    snapshot build's time for a million pins. The first digit holds 3 bits, the other 25
    five each: digits 0-12 are bits 127-65, digit 13 bits 64-60, digits 14-25 bits 59-0.
    """
    values = list(ids)
    if not values:
        return np.zeros(0, dtype="S16")
    if any(len(value) != 26 for value in values):
        raise ValueError("a ULID is 26 characters of Crockford base 32")
    try:
        text = "".join(values).encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("a ULID is 26 characters of Crockford base 32") from None
    digits = _DIGIT[np.frombuffer(text, dtype=np.uint8)].reshape(-1, 26).astype(np.uint64)
    if (digits == 255).any() or (digits[:, 0] > 7).any():
        raise ValueError("a ULID is 26 characters of Crockford base 32, at most 7ZZZ...")
    first = (digits[:, :13] * _POWERS).sum(axis=1, dtype=np.uint64)
    middle = digits[:, 13]
    last = (digits[:, 14:] * _POWERS[1:]).sum(axis=1, dtype=np.uint64)
    words = np.empty((len(values), 2), dtype=">u8")
    words[:, 0] = (first << np.uint64(1)) | (middle >> np.uint64(4))
    words[:, 1] = ((middle & np.uint64(15)) << np.uint64(60)) | last
    return words.view("S16").reshape(-1)


def id_strings(keys: NDArray[np.bytes_]) -> list[str]:
    # numpy drops trailing NUL bytes from S16 values: pad them back.
    return [str(ULID.from_bytes(bytes(key).ljust(16, b"\0"))) for key in keys]


@dataclass(frozen=True)
class WalkGraph:
    pin_ids: NDArray[np.bytes_]  # sorted, S16
    board_ids: NDArray[np.bytes_]  # sorted, S16
    pin_ptr: NDArray[np.int64] | NDArray[np.int32]  # pin i's boards: pin_boards[ptr[i]:ptr[i+1]]
    pin_boards: NDArray[np.int32]
    board_ptr: NDArray[np.int64] | NDArray[np.int32]
    board_pins: NDArray[np.int32]
    board_topics: NDArray[np.uint64]  # bit t set: the board is about topics[t]
    board_lang: NDArray[np.uint8]  # index into langs
    topics: list[str]
    langs: list[str]
    version: str = ""  # the snapshot's
    built_at: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    stream_id: str = "0-0"  # the last live delta the snapshot includes (walks/deltas.py)
    deltas: int = 0  # live deltas merged in since the snapshot (walks/overlay.py)

    @property
    def revision(self) -> str:
        """The snapshot version, plus the number of live deltas merged in since."""
        return f"{self.version}+{self.deltas}" if self.deltas else self.version

    @property
    def pins(self) -> int:
        return len(self.pin_ids)

    @property
    def boards(self) -> int:
        return len(self.board_ids)

    @property
    def edges(self) -> int:
        return len(self.pin_boards)

    @functools.cached_property
    def linked_pins(self) -> int:
        """Pins with at least one board: a pin whose boards all left keeps an empty row
        until the next snapshot, and must not be counted."""
        return int(np.count_nonzero(np.diff(self.pin_ptr)))

    @functools.cached_property
    def linked_boards(self) -> int:
        return int(np.count_nonzero(np.diff(self.board_ptr)))

    def nbytes(self) -> int:
        return sum(int(getattr(self, name).nbytes) for name in ARRAYS)

    def pin_index(self, ids: list[str]) -> tuple[NDArray[np.int32], list[str]]:
        """Indices of the known ids, in order, and the ids that are not in the graph."""
        keys, known, unknown = [], [], []
        for value in ids:
            try:
                keys.append(ULID.from_str(value).bytes)
                known.append(value)
            except ValueError:
                unknown.append(value)
        if not keys or not self.pins:
            return np.zeros(0, dtype=np.int32), unknown + known
        wanted = np.array(keys, dtype="S16")
        found = np.searchsorted(self.pin_ids, wanted)
        hit = (found < self.pins) & (self.pin_ids[np.minimum(found, self.pins - 1)] == wanted)
        # A pin whose boards all left (made secret, unsaved) keeps its row until the next
        # snapshot; to callers it is as unknown as a pin that never was public.
        at = np.minimum(found, max(self.pins - 1, 0))
        hit &= self.pin_ptr[at + 1] > self.pin_ptr[at]
        unknown += [value for value, ok in zip(known, hit, strict=True) if not ok]
        return found[hit].astype(np.int32), unknown

    def topic_mask(self, names: list[str]) -> int:
        mask = 0
        for name in names:
            if name in self.topics:
                mask |= 1 << self.topics.index(name)
        return mask

    def topic_bias(self, names: list[str]) -> tuple[int, list[str]]:
        """The mask of the named topics, matched as GraphQL's `topic(name:)` matches them
        (case and spacing do not matter), and the names, as given, of no topic of this graph."""
        mask, unknown = 0, []
        for name in names:
            try:
                at = self.topics.index(topic_name(name))
            except (BadInput, ValueError):
                unknown.append(name)
                continue
            mask |= 1 << at
        return mask, unknown

    def lang_code(self, lang: str | None) -> int:
        """The index of `lang`, or -1 when no board has it (no language bias)."""
        return self.langs.index(lang) if lang in self.langs else -1


def build(
    pin_ids: list[str],
    board_ids: list[str],
    edge_pins: NDArray[np.int64],
    edge_boards: NDArray[np.int64],
    board_topics: list[list[str]],
    board_langs: list[str],
    *,
    pin_topics: list[list[str]] | None = None,
    max_board_degree: int | None = None,
    max_board_entropy: float | None = None,
    prune_delta: float | None = None,
    seed: int = 0,
) -> WalkGraph:
    """CSR arrays from an edge list over `pin_ids` x `board_ids` (positions into them).

    Pruning (Pixie section 3.3), in this order:
    - boards with more than `max_board_degree` pins are dropped (huge boards make walks drift);
    - with `pin_topics` (the topic names of each pin, by position) and `max_board_entropy`,
      boards whose pins' topics are spread wider than that entropy (bits) are dropped:
      a catch-all board links pins that have nothing else in common;
    - with `prune_delta`, a pin of degree d keeps ceil(d ** delta) of its boards: those
      whose pins share its topics most when `pin_topics` is given (ties at random,
      seeded), else a random choice. This trims very popular pins' off-topic boards while
      keeping every pin reachable.
    """
    started = time.perf_counter()
    pin_order = np.argsort(id_bytes(pin_ids), kind="stable")
    board_order = np.argsort(id_bytes(board_ids), kind="stable")
    pin_rank = np.empty(len(pin_ids), dtype=np.int64)
    pin_rank[pin_order] = np.arange(len(pin_ids))
    board_rank = np.empty(len(board_ids), dtype=np.int64)
    board_rank[board_order] = np.arange(len(board_ids))
    pins, boards = pin_rank[edge_pins], board_rank[edge_boards]
    dropped_boards = 0
    if max_board_degree is not None:
        degree = np.bincount(boards, minlength=len(board_ids))
        keep = degree[boards] <= max_board_degree
        dropped_boards = int(np.count_nonzero(degree > max_board_degree))
        pins, boards = pins[keep], boards[keep]
    similarity = None
    dropped_diverse = 0
    if pin_topics is not None and (max_board_entropy is not None or prune_delta is not None):
        tags = topic_counts(pins, boards, [pin_topics[n] for n in pin_order], len(board_ids))
        if max_board_entropy is not None:
            diverse = tags.spread() > max_board_entropy
            dropped_diverse = int(np.count_nonzero(diverse))
            keep = ~diverse[boards]
            pins, boards = pins[keep], boards[keep]
        similarity = tags.similarity(pins, boards)
    if prune_delta is not None:
        pins, boards = _prune_pins(pins, boards, len(pin_ids), prune_delta, seed, similarity)
    topic_names = _topic_vocabulary(board_topics)
    masks = np.zeros(len(board_ids), dtype=np.uint64)
    for position, names in enumerate(board_topics):
        bits = 0
        for name in names:
            if name in topic_names:
                bits |= 1 << topic_names.index(name)
        masks[board_rank[position]] = bits
    langs = sorted(set(board_langs))
    lang_codes = np.zeros(len(board_ids), dtype=np.uint8)
    lang_codes[board_rank] = [langs.index(lang) for lang in board_langs]
    pin_ptr, pin_boards = _csr(pins, boards, len(pin_ids))
    board_ptr, board_pins = _csr(boards, pins, len(board_ids))
    return WalkGraph(
        pin_ids=id_bytes(pin_ids)[pin_order],
        board_ids=id_bytes(board_ids)[board_order],
        pin_ptr=pin_ptr,
        pin_boards=pin_boards.astype(np.int32),
        board_ptr=board_ptr,
        board_pins=board_pins.astype(np.int32),
        board_topics=masks,
        board_lang=lang_codes,
        topics=topic_names,
        langs=langs,
        version=str(ULID()),  # sortable by build time
        built_at=time.time(),
        stats={
            "build_s": round(time.perf_counter() - started, 3),
            "dropped_boards": dropped_boards,
            "dropped_diverse_boards": dropped_diverse,
            "edges_in": len(edge_pins),
        },
    )


def _csr(
    sources: NDArray[np.int64], targets: NDArray[np.int64], count: int
) -> tuple[NDArray[np.int64] | NDArray[np.int32], NDArray[np.int64]]:
    order = np.argsort(sources, kind="stable")
    ptr = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(sources, minlength=count), out=ptr[1:])
    if len(targets) < 2**31:  # half the pointer bytes; numba compiles either width
        return ptr.astype(np.int32), targets[order]
    return ptr, targets[order]


def _prune_pins(
    pins: NDArray[np.int64],
    boards: NDArray[np.int64],
    count: int,
    delta: float,
    seed: int,
    similarity: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Each pin's first ceil(d ** delta) edges, most similar first, in a seeded random
    order among equals."""
    rng = np.random.default_rng(seed)
    shuffle = rng.permutation(len(pins))
    pins, boards = pins[shuffle], boards[shuffle]
    rank_first = -similarity[shuffle] if similarity is not None else np.zeros(len(pins))
    order = np.lexsort((rank_first, pins))
    pins, boards = pins[order], boards[order]
    degree = np.bincount(pins, minlength=count)
    starts = np.zeros(count, dtype=np.int64)
    np.cumsum(degree[:-1], out=starts[1:])
    rank = np.arange(len(pins)) - starts[pins]
    keep = rank < np.ceil(degree[pins] ** delta)
    return pins[keep], boards[keep]


@dataclass(frozen=True)
class TopicCounts:
    """Each board's pins by topic. A pin weighs 1, split evenly over its tags; untagged pins
    count for nothing."""

    by_pin: sparse.csr_array  # pins x topics, a tagged pin's row summing to 1
    counts: sparse.csr_array  # boards x topics
    tagged: NDArray[np.float64]  # per board: its tagged pins
    pin_entropy: NDArray[np.float64]  # per board: the sum of its pins' own entropies

    def spread(self) -> NDArray[np.float64]:
        """How far each board's pins differ in topic, in bits: the entropy of the board's
        topic mix less the mean entropy of its pins' own tags. A board of pins each tagged
        with the same five topics is not spread at all; one of pins of four different
        topics, one topic each, is spread by two bits."""
        scale = np.divide(1.0, self.tagged, out=np.zeros_like(self.tagged), where=self.tagged > 0)
        shares = (sparse.diags_array(scale) @ self.counts).tocsr()
        shares.data = -shares.data * np.log2(np.maximum(shares.data, 1e-300))
        mix = np.asarray(shares.sum(axis=1)).ravel()
        return mix - self.pin_entropy * scale

    def similarity(self, pins: NDArray[np.int64], boards: NDArray[np.int64]) -> NDArray[np.float64]:
        """For each edge, the share of the board's other tagged pins about the pin's topics
        (leaving the pin out, a board of one pin says nothing: 0)."""
        pointers, topics = self.by_pin.indptr, self.by_pin.indices
        lengths = (pointers[pins + 1] - pointers[pins]).astype(np.int64)
        edge = np.repeat(np.arange(len(pins)), lengths)  # one row per (edge, tag of its pin)
        first = np.repeat(np.cumsum(lengths) - lengths, lengths)
        slot = np.repeat(pointers[pins], lengths) + np.arange(len(edge)) - first
        weight = self.by_pin.data[slot]
        width = np.int64(self.by_pin.shape[1])
        table = self.counts.tocoo()
        keys = table.row.astype(np.int64) * width + table.col
        order = np.argsort(keys)
        wanted = boards[edge] * width + topics[slot]
        together = table.data[order][np.searchsorted(keys[order], wanted)]  # the pin is in it
        others = self.tagged[boards[edge]] - 1.0
        parts = np.divide(weight * (together - weight), others, out=np.zeros(len(edge)),
                          where=others > 0.5)  # fmt: skip
        return np.bincount(edge, weights=parts, minlength=len(pins))


def topic_counts(
    pins: NDArray[np.int64],
    boards: NDArray[np.int64],
    pin_topics: list[list[str]],
    board_count: int,
) -> TopicCounts:
    """The topic counts of the boards of an edge list (`pin_topics` by pin index)."""
    vocabulary: dict[str, int] = {}
    rows, columns, values = [], [], []
    own = np.zeros(len(pin_topics))
    for pin, names in enumerate(pin_topics):
        distinct = sorted(set(names))
        if distinct:
            own[pin] = np.log2(len(distinct))
        for name in distinct:
            rows.append(pin)
            columns.append(vocabulary.setdefault(name, len(vocabulary)))
            values.append(1.0 / len(distinct))
    by_pin = sparse.csr_array(
        (values, (rows, columns)), shape=(len(pin_topics), max(1, len(vocabulary)))
    )
    by_pin.sort_indices()
    incidence = sparse.csr_array(
        (np.ones(len(pins)), (boards, pins)), shape=(board_count, len(pin_topics))
    )
    counts = (incidence @ by_pin).tocsr()
    tagged_pin = (np.diff(by_pin.indptr) > 0).astype(np.float64)
    return TopicCounts(
        by_pin=by_pin,
        counts=counts,
        tagged=incidence @ tagged_pin,
        pin_entropy=incidence @ own,
    )


def _topic_vocabulary(board_topics: list[list[str]]) -> list[str]:
    counts: dict[str, int] = {}
    for names in board_topics:
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    ranked = sorted(counts, key=lambda name: (-counts[name], name))
    return sorted(ranked[:MAX_TOPICS])


def save(graph: WalkGraph, directory: Path) -> Path:
    """Write a snapshot atomically: a temporary directory renamed into place."""
    target = directory / graph.version
    partial = directory / f".{graph.version}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name in ARRAYS:
        np.save(partial / f"{name}.npy", getattr(graph, name))
    meta = {
        "format": FORMAT,
        "version": graph.version,
        "builtAt": graph.built_at,
        "topics": graph.topics,
        "langs": graph.langs,
        "stats": graph.stats,
        "streamId": graph.stream_id,
    }
    (partial / "meta.json").write_text(json.dumps(meta, indent=2))
    partial.rename(target)
    return target


def load(path: Path) -> WalkGraph:
    meta = json.loads((path / "meta.json").read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"snapshot {path} has format {meta.get('format')}, expected {FORMAT}")
    arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
    return WalkGraph(
        **arrays,
        topics=meta["topics"],
        langs=meta["langs"],
        version=meta["version"],
        built_at=meta["builtAt"],
        stats=meta.get("stats", {}),
        stream_id=meta.get("streamId", "0-0"),
    )


def newest(directory: Path) -> Path | None:
    """The most recent complete snapshot in `directory`."""
    return max(complete(directory), key=lambda p: p.name, default=None)


def complete(directory: Path) -> list[Path]:
    """The snapshots in `directory`, oldest first; not those still being written (named
    `.<version>...partial` until they are renamed into place)."""
    if not directory.is_dir():
        return []
    found = (p for p in directory.iterdir() if not p.name.startswith("."))
    return sorted(p for p in found if (p / "meta.json").is_file())


def prune_old(directory: Path, keep: int = 2, *, partial_after_s: float = 3600.0) -> None:
    """Keep the `keep` newest snapshots; also clear partial ones a killed writer left."""
    for old in complete(directory)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    for partial in directory.glob(".*.partial"):
        with contextlib.suppress(OSError):  # another process just finished or removed it
            if time.time() - partial.stat().st_mtime > partial_after_s:
                shutil.rmtree(partial, ignore_errors=True)
