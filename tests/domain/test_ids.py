"""Ids sort by time but cannot be derived from one another."""

from __future__ import annotations

import itertools

from ulid import ULID

from domain.ids import new_id


def test_ids_of_one_millisecond_share_no_sequence() -> None:
    ids = [ULID.from_str(new_id()) for _ in range(5000)]
    same_ms = [(a, b) for a, b in itertools.pairwise(ids) if a.milliseconds == b.milliseconds]
    assert len(same_ms) > 100  # the loop is fast enough to make many in one millisecond
    # A monotonic generator makes the next id the previous one plus one; fresh random bits
    # differ by about 2**79 on average. Two of them fall within 2**40 of each other with
    # probability about 2**-39 per pair (2**60 failed about one run in a hundred).
    assert min(abs(int(b) - int(a)) for a, b in same_ms) > 2**40
    assert len({str(u) for u in ids}) == len(ids)


def test_ids_still_sort_by_millisecond() -> None:
    ids = [ULID.from_str(new_id()) for _ in range(2000)]
    stamps = [u.milliseconds for u in ids]
    assert stamps == sorted(stamps)
