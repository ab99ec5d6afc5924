"""EfficientNet-Lite0 as an ONNX graph, built from the PyTorch weights without torch.

The architecture is EfficientNet-Lite's (no squeeze-and-excitation, ReLU6, stem and head not
scaled), as defined by the `efficientnet-lite-pytorch` package: a 3x3 stride-2 stem, 16 inverted
residual blocks, a 1x1 head to 1280 channels, global average pooling and a 1000-class linear
layer. Convolutions pad like TensorFlow's "SAME" for a 224x224 input, which is asymmetric for
stride 2; batch norms are folded into the convolution before them.

The graph answers two outputs for a batch of normalised 224x224 RGB images: `embedding`, the
pooled 1280-d features L2-normalised, and `logits`, the ImageNet class scores (used to check
the conversion).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUT_SIDE = 224
BN_EPSILON = 1e-3
OPSET = 17


@dataclass(frozen=True)
class Stage:
    repeats: int
    kernel: int
    stride: int
    expand: int
    inputs: int
    outputs: int


# efficientnet_lite_builder.py's block strings for Lite0 (width and depth multipliers 1.0).
STAGES = (
    Stage(1, 3, 1, 1, 32, 16),
    Stage(2, 3, 2, 6, 16, 24),
    Stage(2, 5, 2, 6, 24, 40),
    Stage(3, 3, 2, 6, 40, 80),
    Stage(3, 5, 1, 6, 80, 112),
    Stage(4, 5, 2, 6, 112, 192),
    Stage(1, 3, 1, 6, 192, 320),
)
STEM_CHANNELS = 32
FEATURES = 1280
CLASSES = 1000


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TensorFlow "SAME" padding: (before, after, output size) along one axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


class _Builder:
    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.used: set[str] = set()
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def weight(self, key: str) -> np.ndarray:
        if key not in self.weights:
            raise ValueError(f"the checkpoint has no {key}: not EfficientNet-Lite0 weights")
        self.used.add(key)
        return self.weights[key].astype(np.float32)

    def constant(self, hint: str, value: np.ndarray) -> str:
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(value.astype(np.float32), name))
        return name

    def conv_bn(
        self, x: str, conv: str, bn: str, *, size: int, stride: int = 1, groups: int = 1
    ) -> tuple[str, int]:
        """A convolution with its batch norm folded in; answers the output and its size."""
        kernel = self.weight(f"{conv}.weight")
        scale = self.weight(f"{bn}.weight") / np.sqrt(self.weight(f"{bn}.running_var") + BN_EPSILON)
        bias = self.weight(f"{bn}.bias") - self.weight(f"{bn}.running_mean") * scale
        self.used.add(f"{bn}.num_batches_tracked")
        folded = kernel * scale[:, None, None, None]
        side = kernel.shape[-1]
        before, after, out = same_pads(size, side, stride)
        y = self.name(conv.replace(".", "_"))
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, self.constant("w", folded), self.constant("b", bias)],
                [y],
                kernel_shape=[side, side],
                strides=[stride, stride],
                pads=[before, before, after, after],
                group=groups,
            )
        )
        return y, out

    def relu6(self, x: str) -> str:
        y = self.name("relu6")
        low, high = self.constant("zero", np.array(0.0)), self.constant("six", np.array(6.0))
        self.nodes.append(helper.make_node("Clip", [x, low, high], [y]))
        return y

    def block(
        self, x: str, index: int, stage: Stage, *, inputs: int, stride: int, size: int
    ) -> tuple[str, int]:
        prefix = f"_blocks.{index}"
        h = x
        if stage.expand != 1:
            h, _ = self.conv_bn(h, f"{prefix}._expand_conv", f"{prefix}._bn0", size=size)
            h = self.relu6(h)
        channels = inputs * stage.expand
        h, out = self.conv_bn(
            h, f"{prefix}._depthwise_conv", f"{prefix}._bn1",
            size=size, stride=stride, groups=channels,
        )  # fmt: skip
        h = self.relu6(h)
        h, _ = self.conv_bn(h, f"{prefix}._project_conv", f"{prefix}._bn2", size=out)
        if stride == 1 and inputs == stage.outputs:
            y = self.name("residual")
            self.nodes.append(helper.make_node("Add", [h, x], [y]))
            h = y
        return h, out


def build_model(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The ONNX model for these EfficientNet-Lite0 weights (see the module docstring)."""
    b = _Builder(weights)
    x, size = b.conv_bn("image", "_conv_stem", "_bn0", size=INPUT_SIDE, stride=2)
    x = b.relu6(x)
    index = 0
    for stage in STAGES:
        for repeat in range(stage.repeats):
            inputs = stage.inputs if repeat == 0 else stage.outputs
            stride = stage.stride if repeat == 0 else 1
            x, size = b.block(x, index, stage, inputs=inputs, stride=stride, size=size)
            index += 1
    x, _ = b.conv_bn(x, "_conv_head", "_bn1", size=size)
    x = b.relu6(x)
    fc_weight = b.constant("fc_w", b.weight("_fc.weight"))
    fc_bias = b.constant("fc_b", b.weight("_fc.bias"))
    b.nodes += [
        helper.make_node("GlobalAveragePool", [x], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["features"], axis=1),
        helper.make_node("LpNormalization", ["features"], ["embedding"], axis=1, p=2),
        helper.make_node("Gemm", ["features", fc_weight, fc_bias], ["logits"], transB=1),
    ]
    unused = set(weights) - b.used
    if unused:
        raise ValueError(f"weights the Lite0 architecture does not use: {sorted(unused)[:5]}")
    image = helper.make_tensor_value_info(
        "image", TensorProto.FLOAT, ["batch", 3, INPUT_SIDE, INPUT_SIDE]
    )
    outputs = [
        helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", FEATURES]),
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", CLASSES]),
    ]
    graph = helper.make_graph(b.nodes, "efficientnet_lite0", [image], outputs, b.initializers)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="pingraph"
    )
    model.ir_version = 8  # readable by every onnxruntime since 1.10
    onnx.checker.check_model(model)
    return model
