"""Walk graphs key pins and boards by ULID bytes, decoded in bulk: exactly python-ulid's."""

from __future__ import annotations

import random

import numpy as np
import pytest
from ulid import ULID

from walks.graph import id_bytes, id_strings


def test_bulk_decoding_matches_python_ulid() -> None:
    rng = random.Random(3)
    ids = [str(ULID.from_bytes(rng.randbytes(16))) for _ in range(5000)]
    ids += ["00000000000000000000000000", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", str(ULID())]
    keys = id_bytes(ids)
    assert list(keys) == [ULID.from_str(value).bytes.rstrip(b"\0") for value in ids]
    assert id_strings(keys) == ids
    assert list(np.sort(keys)) == list(id_bytes(sorted(ids)))  # byte order is id order
    assert id_bytes([ids[0].lower()])[0] == keys[0]


@pytest.mark.parametrize(
    "bad",
    ["8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "0000000000000000000000000U", "01ARZ3NDEKTSV4RRFFQ69G5FA",
     "01ARZ3NDEKTSV4RRFFQ69G5FAVX", "é" * 26, "01ARZ3NDEKTSV4RRFFQ69G5FA!", ""],
)  # fmt: skip
def test_anything_else_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="ULID"):
        id_bytes([str(ULID()), bad])
