"""Pixie random walks: a numba kernel and a plain-Python reference with the same signature.

Eksombatchai et al., "Pixie: A System for Recommending 3+ Billion Items to 200+ Million Users
in Real-Time", WWW 2018, Algorithms 2 and 3.

For each query pin q, `steps[q]` pin -> board -> pin hops are taken by `WALKERS` independent
walkers advanced in turn. Interleaving them lets the CPU fetch several walkers' neighbour
lists at once instead of waiting on one cache miss after another. After every hop a walker
restarts at q with probability `restart`. The board is chosen uniformly, or, when a bias is
given, by rejection: up to `bias_tries` draws, keeping the first board whose topics intersect
`topic_mask` or whose language is `lang`. Every pin reached is counted in `counts`. A query
pin's walk stops early once `early_np` pins have `early_nv` visits (`early_np` = 0: never).

Per query pin the counts are folded into `boost` as sqrt(V_q[p]), so that after all query
pins `boost[p] ** 2` is Pixie's multi-hit boosted score (Σ_q √V_q[p])², and into `visits` as
plain totals. `touched` lists the pins with a non-zero score. The scratch arrays are
pin-sized and owned by the caller, which resets only the touched entries, so a query costs
nothing proportional to the graph.

Randomness is one xorshift64* stream from `seed`, so a seed gives the same counts in both
implementations.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

Pointers = NDArray[np.int64] | NDArray[np.int32]  # CSR offsets: int32 below 2**31 edges
WALKERS = 16
MASK64 = (1 << 64) - 1
MULTIPLIER = 0x2545F4914F6CDD1D  # xorshift64*'s output multiplier
RESTART_MULTIPLIER = 0xD1342543DE82EF95  # an independent odd multiplier for the restart bit
GOLDEN = 0x9E3779B97F4A7C15


@numba.njit(nogil=True, cache=True, inline="always")
def _next(state: np.uint64) -> np.uint64:
    state ^= state >> np.uint64(12)
    state ^= state << np.uint64(25)
    state ^= state >> np.uint64(27)
    return state


@numba.njit(nogil=True, cache=True, inline="always")
def _scale(bits32: np.uint64, n: np.uint64) -> np.uint64:
    """Map 32 random bits into [0, n) by multiply-shift (no division)."""
    return (bits32 * n) >> np.uint64(32)


@numba.njit(nogil=True, cache=True)
def walk_counts(
    pin_ptr: Pointers,
    pin_boards: NDArray[np.int32],
    board_ptr: Pointers,
    board_pins: NDArray[np.int32],
    board_topics: NDArray[np.uint64],
    board_lang: NDArray[np.uint8],
    query_pins: NDArray[np.int32],
    steps: NDArray[np.int64],
    restart: float,
    seed: int,
    topic_mask: int,
    lang: int,
    bias_tries: int,
    early_np: int,
    early_nv: int,
    counts: NDArray[np.int32],
    boost: NDArray[np.float64],
    visits: NDArray[np.int32],
    touched: NDArray[np.int32],
) -> tuple[int, int, int]:
    """Returns (pins touched, steps taken, query pins stopped early).

    Walkers move in rounds, one stage for all of them at a time (pick boards, then pins,
    then count), so each stage's memory loads are independent of one another. One 64-bit
    draw per step gives the board (high 32 bits of its product) and the pin (low 32 bits);
    a second product of the same draw decides the restart. `touched` must hold twice the
    number of pins: a query pin's new pins are listed after earlier ones, then merged.
    """
    state = np.uint64(seed) ^ np.uint64(GOLDEN)
    if state == np.uint64(0):
        state = np.uint64(GOLDEN)
    mask = np.uint64(topic_mask)
    low32 = np.uint64(0xFFFFFFFF)
    biased = topic_mask != 0 or lang >= 0
    threshold = np.uint64(restart * 9007199254740992.0)  # restart when a 53-bit draw is below
    n_touched = 0
    taken = 0
    stopped = 0
    # Unsigned indices throughout: numba then skips its negative-index check on every load,
    # which made the loop about 40% faster.
    one = np.uint64(1)
    walkers = np.empty(WALKERS, dtype=np.uint64)
    draws = np.empty(WALKERS, dtype=np.uint64)
    boards = np.empty(WALKERS, dtype=np.uint64)
    for q in range(len(query_pins)):
        start = np.uint64(query_pins[q])
        budget = steps[q]
        if budget <= 0 or pin_ptr[start + one] == pin_ptr[start]:
            continue
        walkers[:] = start
        first_new = n_touched
        high = 0
        done = 0
        early = False
        while done < budget and not early:
            for w in range(WALKERS):  # stage 1: a board of each walker's pin
                lo = np.uint64(pin_ptr[walkers[w]])
                degree = np.uint64(pin_ptr[walkers[w] + one]) - lo
                state = _next(state)
                draw = state * np.uint64(MULTIPLIER)
                board = np.uint64(pin_boards[lo + _scale(draw >> np.uint64(32), degree)])
                if biased:
                    tries = 1
                    while tries < bias_tries and not (
                        (board_topics[board] & mask) != np.uint64(0)
                        or (lang >= 0 and np.int64(board_lang[board]) == lang)
                    ):
                        state = _next(state)
                        draw = state * np.uint64(MULTIPLIER)
                        board = np.uint64(pin_boards[lo + _scale(draw >> np.uint64(32), degree)])
                        tries += 1
                boards[w] = board
                draws[w] = state
            for w in range(WALKERS):  # stage 2: a pin of each board
                blo = np.uint64(board_ptr[boards[w]])
                bdegree = np.uint64(board_ptr[boards[w] + one]) - blo
                bits = (draws[w] * np.uint64(MULTIPLIER)) & low32
                walkers[w] = np.uint64(board_pins[blo + _scale(bits, bdegree)])
            for w in range(WALKERS):  # stage 3: count, restart, stop
                pin = walkers[w]
                c = counts[pin]
                if c == 0:
                    touched[n_touched] = pin
                    n_touched += 1
                counts[pin] = c + 1
                if c + 1 == early_nv:
                    high += 1
                done += 1
                if (draws[w] * np.uint64(RESTART_MULTIPLIER)) >> np.uint64(11) < threshold:
                    walkers[w] = start
                if done >= budget or (early_np > 0 and high >= early_np):
                    early = done < budget
                    break
        taken += done
        if early:
            stopped += 1
        # Fold this query pin's counts into the boosted scores and reset them.
        merged = first_new
        for i in range(first_new, n_touched):
            pin = np.uint64(touched[i])
            c = counts[pin]
            counts[pin] = 0
            if boost[pin] == 0.0:
                touched[merged] = pin
                merged += 1
            boost[pin] += math.sqrt(c)
            visits[pin] += c
        n_touched = merged
    return n_touched, taken, stopped


def walk_counts_reference(
    pin_ptr: Pointers,
    pin_boards: NDArray[np.int32],
    board_ptr: Pointers,
    board_pins: NDArray[np.int32],
    board_topics: NDArray[np.uint64],
    board_lang: NDArray[np.uint8],
    query_pins: NDArray[np.int32],
    steps: NDArray[np.int64],
    restart: float,
    seed: int,
    topic_mask: int,
    lang: int,
    bias_tries: int,
    early_np: int,
    early_nv: int,
    counts: NDArray[np.int32],
    boost: NDArray[np.float64],
    visits: NDArray[np.int32],
    touched: NDArray[np.int32],
) -> tuple[int, int, int]:
    """The same walk in plain Python, written for reading: the kernel must agree with it."""

    def advance(x: int) -> int:
        x ^= x >> 12
        x ^= (x << 25) & MASK64
        x ^= x >> 27
        return x

    def scale(bits32: int, n: int) -> int:
        return (bits32 * n) >> 32

    def matches(board: int) -> bool:
        return bool(int(board_topics[board]) & topic_mask) or (
            lang >= 0 and int(board_lang[board]) == lang
        )

    state = (seed & MASK64) ^ GOLDEN or GOLDEN
    threshold = int(restart * 9007199254740992.0)
    biased = topic_mask != 0 or lang >= 0
    order: list[int] = []  # pins with a score, in first-reached order
    taken = stopped = 0
    for q, budget in zip(query_pins.tolist(), steps.tolist(), strict=True):
        if budget <= 0 or pin_ptr[q + 1] == pin_ptr[q]:
            continue
        reached: dict[int, int] = {}
        walkers = [q] * WALKERS
        high = done = 0
        early = False
        while done < budget and not early:
            chosen = []
            for pin in walkers:  # every walker picks a board ...
                lo, degree = int(pin_ptr[pin]), int(pin_ptr[pin + 1] - pin_ptr[pin])
                state = advance(state)
                board = int(pin_boards[lo + scale(((state * MULTIPLIER) & MASK64) >> 32, degree)])
                tries = 1
                while biased and tries < bias_tries and not matches(board):
                    state = advance(state)
                    draw = ((state * MULTIPLIER) & MASK64) >> 32
                    board = int(pin_boards[lo + scale(draw, degree)])
                    tries += 1
                chosen.append((board, state))
            for w, (board, draw) in enumerate(chosen):  # ... then a pin of it
                blo, bdegree = int(board_ptr[board]), int(board_ptr[board + 1] - board_ptr[board])
                walkers[w] = int(board_pins[blo + scale((draw * MULTIPLIER) & 0xFFFFFFFF, bdegree)])
            for w, (_, draw) in enumerate(chosen):
                pin = walkers[w]
                reached[pin] = reached.get(pin, 0) + 1
                if reached[pin] == early_nv:
                    high += 1
                done += 1
                if ((draw * RESTART_MULTIPLIER) & MASK64) >> 11 < threshold:
                    walkers[w] = q
                if done >= budget or (early_np > 0 and high >= early_np):
                    early = done < budget
                    break
        taken += done
        stopped += int(early)
        for pin, c in reached.items():
            if boost[pin] == 0.0:
                order.append(pin)
            boost[pin] += math.sqrt(c)
            visits[pin] += c
    touched[: len(order)] = order
    return len(order), taken, stopped
