"""The ResNet body shared by every architecture: torchvision's `ResNet` and mmdetection's `ResNet` (style
'pytorch') have the same module names under their prefix (`conv1`, `bn1`, `layer{1..4}.{b}.conv{1..3}`,
`.bn{1..3}`, `.downsample.{0,1}`) and the same layers (7x7/2 stem, 3x3/2 max-pool, stride on the 3x3 conv of a
bottleneck, i.e. ResNet v1.5).

The layout (stem width, block type, width and depth of each stage) is read from the checkpoint's own shapes, so
reduced-width test models and ResNet-18/34/50/101/152 all convert; the table built from it then checks every
tensor's shape, which catches grouped (ResNeXt) or otherwise different bodies.
"""
import re

from .errors import CheckpointError

STAGES = 4
BOTTLENECK_EXPANSION = 4


class ResNetLayout:
    def __init__(self, stem_channels, block, widths, blocks):
        self.stem_channels = stem_channels
        self.block = block  # 'basic' | 'bottleneck'
        self.widths = widths  # inner width of each stage
        self.blocks = blocks  # residual blocks per stage

    def out_channels(self):
        """Channels of C2..C5."""
        e = BOTTLENECK_EXPANSION if self.block == "bottleneck" else 1
        return [w * e for w in self.widths]

    def depth(self):
        per_block = 3 if self.block == "bottleneck" else 2
        return 2 + per_block * sum(self.blocks)


def infer_resnet(tensors, prefix, arch):
    """Reads the layout of the ResNet under `prefix` (e.g. 'backbone.body.')."""
    stem = tensors.get(f"{prefix}conv1.weight")
    if stem is None:
        raise CheckpointError(
            f"the checkpoint has no {prefix}conv1.weight (the ResNet stem) for --arch {arch}; "
            f"its first names are: {', '.join(list(tensors)[:5])}"
        )
    if tuple(stem.shape[1:]) != (3, 7, 7):
        raise CheckpointError(f"{prefix}conv1.weight has shape {list(stem.shape)}, expected [C, 3, 7, 7] (ResNet stem)")
    pattern = re.compile(re.escape(prefix) + r"layer(\d+)\.(\d+)\.conv1\.weight$")
    counts = {}
    for name in tensors:
        m = pattern.match(name)
        if m:
            s, b = int(m.group(1)), int(m.group(2))
            counts[s] = max(counts.get(s, 0), b + 1)
    if sorted(counts) != list(range(1, STAGES + 1)):
        raise CheckpointError(
            f"the ResNet under {prefix or '(top level)'} has stages {sorted(counts)}, expected layer1..layer4"
        )
    block = "bottleneck" if f"{prefix}layer1.0.conv3.weight" in tensors else "basic"
    widths = [int(tensors[f"{prefix}layer{s}.0.conv1.weight"].shape[0]) for s in range(1, STAGES + 1)]
    if block == "basic":
        widths = [int(tensors[f"{prefix}layer{s}.0.conv2.weight"].shape[0]) for s in range(1, STAGES + 1)]
    return ResNetLayout(int(stem.shape[0]), block, widths, [counts[s] for s in range(1, STAGES + 1)])


def add_resnet_rows(table, layout, prefix):
    """Rows of the ResNet under `prefix` -> ghmdet's `backbone/...` variables (src/detector/backbone.ts)."""
    table.conv(f"{prefix}conv1", "backbone/stem/conv", layout.stem_channels, 3, 7)
    table.norm(f"{prefix}bn1", "backbone/stem/bn", layout.stem_channels)
    in_c = layout.stem_channels
    out_c = layout.out_channels()
    for s in range(STAGES):
        w = layout.widths[s]
        for b in range(layout.blocks[s]):
            src = f"{prefix}layer{s + 1}.{b}"
            dst = f"backbone/stage{s + 1}/block{b}"
            if layout.block == "bottleneck":
                convs = [(w, in_c, 1), (w, w, 3), (out_c[s], w, 1)]
            else:
                convs = [(w, in_c, 3), (w, w, 3)]
            for j, (o, i, k) in enumerate(convs, start=1):
                table.conv(f"{src}.conv{j}", f"{dst}/conv{j}/conv", o, i, k)
                table.norm(f"{src}.bn{j}", f"{dst}/conv{j}/bn", o)
            # ghmdet adds a projection shortcut where the block strides or changes width, as ResNet does.
            stride = 2 if (b == 0 and s > 0) else 1
            if b == 0 and (stride != 1 or in_c != out_c[s]):
                table.conv(f"{src}.downsample.0", f"{dst}/shortcut/conv", out_c[s], in_c, 1)
                table.norm(f"{src}.downsample.1", f"{dst}/shortcut/bn", out_c[s])
            in_c = out_c[s]


def backbone_config(layout, norm_eps, norm_requires_grad, frozen_stages):
    """ghmdet `backbone` config of an imported ResNet: BatchNorm on running statistics; `init` (mmdetection's
    Kaiming) applies only to variables the import does not fill."""
    return {
        "type": "resnet",
        "stemChannels": layout.stem_channels,
        "stemKernel": 7,
        "stemPool": True,
        "block": layout.block,
        "widths": layout.widths,
        "blocks": layout.blocks,
        "downsample": "block",
        "normMomentum": 0.1,
        "normEps": norm_eps,
        "init": "kaiming",
        "norm_eval": True,
        "normRequiresGrad": norm_requires_grad,
        "frozen_stages": frozen_stages,
    }
