"""The image model: the checkpoint reader, the ONNX conversion and its outputs.

The reference (tests/visual/lite0_reference.npz) was made once by scripts/lite0_reference.py
with the original PyTorch model (torch 2.13.0, CPU, `efficientnet-lite-pytorch` 0.1.0) from
the same preprocessed inputs: its L2-normalised pooled features and top-5 ImageNet classes.
"""

from __future__ import annotations

import io
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from media.photos import photo_path
from visual import preprocess
from visual.model import Embedder, ensure_model, weights_path
from visual.weights import LEGACY_MAGIC, CheckpointError, load_state_dict

REFERENCE = Path(__file__).with_name("lite0_reference.npz")
# ImageNet classes: 967 espresso, 968 cup; 281 tabby, 282 tiger cat, 285 Egyptian cat;
# 665 moped; 657 missile; 872 tripod.
EXPECTED_TOP1 = {
    "coffee.png": {967, 968},
    "chelsea.png": {281, 282, 285},
    "motorcycle_left.png": {665, 670},
    "rocket.jpg": {657, 744},
    "camera.png": {872},
}


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    return Embedder(tmp_path_factory.mktemp("models"))


def photo_inputs(names: list[str]) -> np.ndarray:
    return np.stack(
        [preprocess.to_input(preprocess.decode(photo_path(name).read_bytes())) for name in names]
    )


def test_the_converted_model_names_the_photos_and_matches_pytorch(embedder: Embedder) -> None:
    reference = np.load(REFERENCE)
    names = [str(name) for name in reference["names"]]
    assert set(names) == set(EXPECTED_TOP1)
    inputs = photo_inputs(names)
    top1 = embedder.classify(inputs).argmax(axis=1)
    for name, found, torch_top5 in zip(names, top1, reference["top5"], strict=True):
        assert found in EXPECTED_TOP1[name], (name, found)
        assert found == torch_top5[0], (name, found, torch_top5)
    embeddings = embedder.embed(inputs)
    assert embeddings.shape == (len(names), 1280)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)
    cosine = (embeddings * reference["embedding"]).sum(axis=1)
    assert cosine.min() > 0.9999, cosine


def test_a_batch_gives_what_each_image_gives_alone(embedder: Embedder) -> None:
    inputs = photo_inputs(["coffee.png", "chelsea.png", "rocket.jpg"])
    together = embedder.embed(inputs)
    alone = np.concatenate([embedder.embed(inputs[i : i + 1]) for i in range(3)])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert float(together[0] @ together[1]) < 0.9  # different photos, different embeddings


def test_the_model_file_is_converted_once_and_reused(tmp_path: Path) -> None:
    first = ensure_model(tmp_path)
    made = first.stat().st_mtime_ns
    assert ensure_model(tmp_path) == first
    assert first.stat().st_mtime_ns == made
    assert not list(tmp_path.glob("*.part"))
    assert first.name.startswith("efficientnet-lite0-v")


def test_the_checkpoint_reader_reads_every_tensor() -> None:
    weights = load_state_dict(weights_path())
    assert weights["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert weights["_fc.weight"].shape == (1000, 1280)
    assert all(np.isfinite(value).all() for value in weights.values())


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path: Path) -> None:
    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("this must never run",))

    path = tmp_path / "evil.pth"
    out = io.BytesIO()
    for part in (LEGACY_MAGIC, 1001, {"little_endian": True}, {"x": Boom()}):
        pickle.dump(part, out, protocol=2)
    path.write_bytes(out.getvalue())
    with pytest.raises(CheckpointError, match=r"unexpected class .*print"):
        load_state_dict(path)


def test_a_file_that_is_no_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "noise.pth"
    path.write_bytes(pickle.dumps(12345, protocol=2) + struct.pack("<q", 0))
    with pytest.raises(CheckpointError, match="magic"):
        load_state_dict(path)
