"""Reading a PyTorch checkpoint (`torch.save` of a state dict) without torch.

The EfficientNet-Lite0 weights pingraph uses were saved by torch 1.5 in the *legacy* format: a
run of pickles (magic number, protocol version, system info, the state dict, the storage keys)
followed by each storage's raw bytes. The newer format is a zip holding the same pickle as
`data.pkl` and one file per storage; both are read here. The unpickler only ever builds the
handful of classes a state dict needs, so a hostile file cannot run code.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class CheckpointError(ValueError):
    """The file is not a state dict this reader understands."""


@dataclass(frozen=True)
class _StorageType:
    dtype: type[np.generic]


@dataclass
class _Storage:
    dtype: type[np.generic]
    key: str
    size: int
    data: np.ndarray | None = None


@dataclass(frozen=True)
class _TensorRef:
    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def to_numpy(self) -> np.ndarray:
        if self.storage.data is None:
            raise CheckpointError(f"storage {self.storage.key} has no data")
        item = self.storage.data.itemsize
        return np.lib.stride_tricks.as_strided(
            self.storage.data[self.offset :],
            shape=self.shape,
            strides=tuple(step * item for step in self.stride),
        ).copy()


def _rebuild_tensor(storage: _Storage, offset: int, shape: Any, stride: Any, *_: Any) -> _TensorRef:
    return _TensorRef(storage, int(offset), tuple(shape), tuple(stride))


def _rebuild_parameter(tensor: _TensorRef, *_: Any) -> _TensorRef:
    return tensor


class _StateDictUnpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], storages: dict[str, _Storage]) -> None:
        super().__init__(file, encoding="utf-8")
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(STORAGE_DTYPES[name])
        raise CheckpointError(f"unexpected class {module}.{name} in the checkpoint")

    def persistent_load(self, saved_id: Any) -> _Storage:
        # ('storage', storage type, key, location, number of elements[, view metadata])
        if not isinstance(saved_id, tuple) or saved_id[0] != "storage":
            raise CheckpointError(f"unexpected persistent id {saved_id!r}")
        storage_type, key, _location, size = saved_id[1:5]
        if not isinstance(storage_type, _StorageType):
            raise CheckpointError(f"unexpected storage type {storage_type!r}")
        key = str(key)
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type.dtype, key, int(size))
        return self.storages[key]


def load_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a saved state dict, by name, as a numpy array."""
    raw = path.read_bytes()
    refs = _load_zip(raw) if zipfile.is_zipfile(io.BytesIO(raw)) else _load_legacy(raw)
    if not isinstance(refs, dict):
        raise CheckpointError("the checkpoint does not hold a state dict")
    return {str(name): ref.to_numpy() for name, ref in refs.items()}


def _load_legacy(raw: bytes) -> Any:
    stream = io.BytesIO(raw)
    plain = _StateDictUnpickler(stream, {})
    if plain.load() != LEGACY_MAGIC:
        raise CheckpointError("not a PyTorch checkpoint (wrong magic number)")
    plain.load()  # protocol version
    sys_info = plain.load()
    if not sys_info.get("little_endian", True):
        raise CheckpointError("big-endian checkpoints are not supported")
    storages: dict[str, _Storage] = {}
    result = _StateDictUnpickler(stream, storages).load()
    keys = _StateDictUnpickler(stream, storages).load()
    for key in keys:
        storage = storages[str(key)]
        (count,) = struct.unpack("<q", stream.read(8))
        width = np.dtype(storage.dtype).itemsize
        storage.data = np.frombuffer(stream.read(count * width), dtype=storage.dtype)
    return result


def _load_zip(raw: bytes) -> Any:
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        names = archive.namelist()
        pickled = next((name for name in names if name.endswith("/data.pkl")), None)
        if pickled is None:
            raise CheckpointError("no data.pkl in the checkpoint archive")
        root = pickled.removesuffix("data.pkl")
        storages: dict[str, _Storage] = {}
        result = _StateDictUnpickler(io.BytesIO(archive.read(pickled)), storages).load()
        for storage in storages.values():
            data = archive.read(f"{root}data/{storage.key}")
            storage.data = np.frombuffer(data, dtype=storage.dtype)
    return result
