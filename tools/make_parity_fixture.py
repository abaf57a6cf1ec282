#!/usr/bin/env python3
"""Writes the PyTorch side of the parity tests (test/parity/): for each ARCH, a small model with random weights
(fixed seed), run in PyTorch on a few small images, and converted with tools/torch_to_ghmdet.py.

    python3 tools/make_parity_fixture.py [--out test/fixtures/parity] [--arch ARCH ...] [--keep-checkpoints]

Per ARCH, `OUT/ARCH/`:
  model/             the converted model directory (model.json, weights.bin), exactly what `ghmdet import` writes
  expected.json      the run: images, resize results, PyTorch's final detections of the batch and of each image
                     alone (`detect()` runs one image, whose padding differs from the batch's), a manifest of
                     expected.bin
  expected.bin       float32/uint8 arrays: the raw images, the preprocessed batch (NHWC), the raw head outputs
                     (`[N, sum_l H_l*W_l*A, K]` logits, `[N, ..., 4]` deltas, anchor order (y, x, anchor) per level),
                     the anchors, and for torchvision_resnet50 the body's C2..C5 (NHWC)
  checkpoint.pth     only with --keep-checkpoints (the tests regenerate into a temporary folder and import it)

The models are the real torchvision classes (`RetinaNet`, `BackboneWithFPN`, `LastLevelP6P7`, `RetinaNetHead` with
v2's GroupNorm through `norm_layer`, the default `AnchorGenerator`, torchvision's ResNet `Bottleneck` blocks in a
narrow ResNet body named like torchvision's `ResNet`) and, for mmdet_retinanet, tools/mmdet_reference.py (a
reference implementation of mmdetection v2's RetinaNet; mmdetection itself is not installable here). Widths are
reduced so the fixture stays small. Random weights are made informative: BatchNorm statistics and affine
parameters are random, and the classification bias is raised so that PyTorch keeps hundreds of detections per
image and every post-processing step (threshold, top-k, NMS, the per-image cap) has work to do.
"""
import argparse
import json
import os
import sys
import tempfile
from functools import partial

import numpy as np
import torch
import torchvision
from torch import nn
from torchvision.models.detection import RetinaNet
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.retinanet import RetinaNetHead
from torchvision.models.resnet import Bottleneck
from torchvision.ops.feature_pyramid_network import LastLevelP6P7

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mmdet_reference  # noqa: E402
import torch_to_ghmdet  # noqa: E402

ARCHS = ["torchvision_retinanet_v1", "torchvision_retinanet_v2", "mmdet_retinanet", "torchvision_resnet50"]
SEED = 20240615
NUM_CLASSES = 5
STEM = 8
WIDTHS = [4, 8, 16, 32]  # bottleneck inner widths; C2..C5 have 4x these channels
BLOCKS = [1, 2, 1, 1]
FPN_CHANNELS = 16
GN_GROUPS = 4
# Logits ~ N(LOGIT_MEAN, LOGIT_STD^2) over the fixture's anchors: a few percent of the (anchor, class) pairs pass
# score_thr 0.05, with scores spread over (0.05, 1) so that near-ties are rare.
LOGIT_MEAN = -5.0
LOGIT_STD = 1.5
IMG_SCALE = (128, 80)  # (long, short): torchvision max_size / min_size, mmdetection img_scale
IMAGE_SIZES = [(84, 120), (90, 64), (60, 60)]  # (height, width) of the raw images


class NarrowResNet(nn.Module):
    """torchvision's `ResNet` layout and names (conv1, bn1, relu, maxpool, layer1..4, fc) with narrow stages."""

    def __init__(self, num_classes=None):
        super().__init__()
        self.conv1 = nn.Conv2d(3, STEM, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(STEM)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_c = STEM
        for s, (w, n) in enumerate(zip(WIDTHS, BLOCKS)):
            layer = []
            for b in range(n):
                stride = 2 if (b == 0 and s > 0) else 1
                out_c = w * Bottleneck.expansion
                down = None
                if b == 0 and (stride != 1 or in_c != out_c):
                    down = nn.Sequential(nn.Conv2d(in_c, out_c, 1, stride=stride, bias=False), nn.BatchNorm2d(out_c))
                layer.append(Bottleneck(in_c, w, stride, down))
                in_c = out_c
            setattr(self, f"layer{s + 1}", nn.Sequential(*layer))
        self.out_channels = [w * Bottleneck.expansion for w in WIDTHS]
        if num_classes is not None:
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(in_c, num_classes)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outs = []
        for s in range(4):
            x = getattr(self, f"layer{s + 1}")(x)
            outs.append(x)
        return outs


def randomize_norms(model, gen):
    """Random BatchNorm statistics and affine parameters, random GroupNorm affine parameters."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            c = m.weight.shape[0]
            with torch.no_grad():
                m.weight.copy_(torch.empty(c).uniform_(0.5, 1.5, generator=gen))
                m.bias.copy_(torch.empty(c).normal_(0, 0.2, generator=gen))
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.empty(c).normal_(0, 0.2, generator=gen))
                m.running_var.copy_(torch.empty(c).uniform_(0.5, 1.5, generator=gen))


def informative_head(head_convs, cls_conv, reg_conv, gen):
    """Head weights that carry the image into the outputs (the frameworks' std-0.01 initialisation shrinks the
    features ~10x per conv, leaving logits equal to their bias, i.e. near-tied scores): He-normal stacked convs,
    then logits spread around score ~0.1 and deltas of a few tenths."""
    with torch.no_grad():
        for conv in head_convs:
            fan_in = conv.weight[0].numel()
            conv.weight.normal_(0, (2 / fan_in) ** 0.5, generator=gen)
            if conv.bias is not None:
                conv.bias.normal_(0, 0.1, generator=gen)
        cls_conv.weight.normal_(0, 1 / cls_conv.weight[0].numel() ** 0.5, generator=gen)
        cls_conv.bias.normal_(LOGIT_MEAN, 0.5, generator=gen)
        reg_conv.weight.normal_(0, 0.3 / reg_conv.weight[0].numel() ** 0.5, generator=gen)
        reg_conv.bias.normal_(0, 0.1, generator=gen)


def calibrate_logits(cls_conv, logits_of):
    """Scales the classification weights so that the image-dependent part of the logits has std LOGIT_STD
    (`logits_of()` -> the logits, any layout, of the fixture's images)."""
    with torch.no_grad():
        bias = cls_conv.bias.clone()
        cls_conv.bias.zero_()
        spread = logits_of().std().item()
        cls_conv.bias.copy_(bias)
        # Rounded to 3 significant digits, so that the last bits of a CPU's convolutions do not reach the weights.
        cls_conv.weight.mul_(float(f"{LOGIT_STD / spread:.3g}"))


def make_images(seed):
    """Smooth random RGB images with a few flat rectangles, uint8 `[H, W, 3]`."""
    rng = np.random.RandomState(seed)
    out = []
    for h, w in IMAGE_SIZES:
        coarse = rng.uniform(0, 255, size=(h // 8 + 2, w // 8 + 2, 3))
        img = np.kron(coarse, np.ones((8, 8, 1)))[:h, :w]
        for _ in range(3):
            y, x = rng.randint(0, h - 8), rng.randint(0, w - 8)
            img[y : y + rng.randint(6, h // 2), x : x + rng.randint(6, w // 2)] = rng.uniform(0, 255, size=3)
        img += rng.normal(0, 6, size=img.shape)
        out.append(np.clip(np.round(img), 0, 255).astype(np.uint8))
    return out


def nchw_to_nhwc(t):
    return t.detach().permute(0, 2, 3, 1).contiguous().numpy()


def flat_head(per_level, k):
    """Per level `[N, A*k, H, W]` -> `[N, sum H*W*A, k]` in (y, x, anchor) order (mmdetection's layout)."""
    n = per_level[0].shape[0]
    return torch.cat([t.permute(0, 2, 3, 1).reshape(n, -1, k) for t in per_level], dim=1).detach().numpy()


def detections_json(boxes, scores, labels):
    return [
        {"box": [float(v) for v in b], "score": float(s), "label": int(c)}
        for b, s, c in zip(boxes.tolist(), scores.tolist(), labels.tolist())
    ]


def build_torchvision(version, gen):
    body = NarrowResNet()
    c = body.out_channels
    extra = LastLevelP6P7(FPN_CHANNELS, FPN_CHANNELS) if version == "v1" else LastLevelP6P7(c[3], FPN_CHANNELS)
    backbone = BackboneWithFPN(
        body, {"layer2": "0", "layer3": "1", "layer4": "2"}, c[1:], FPN_CHANNELS, extra_blocks=extra
    )
    norm = partial(nn.GroupNorm, GN_GROUPS) if version == "v2" else None
    head = RetinaNetHead(FPN_CHANNELS, 9, NUM_CLASSES, norm_layer=norm)
    model = RetinaNet(backbone, NUM_CLASSES, min_size=IMG_SCALE[1], max_size=IMG_SCALE[0], head=head)
    randomize_norms(model, gen)
    outputs = (head.classification_head.cls_logits, head.regression_head.bbox_reg)
    stacked = [m for m in head.modules() if isinstance(m, nn.Conv2d) and not any(m is o for o in outputs)]
    informative_head(stacked, head.classification_head.cls_logits, head.regression_head.bbox_reg, gen)
    return model.eval()


def run_torchvision(version, images, gen):
    model = build_torchvision(version, gen)
    tensors = [torch.from_numpy(img).permute(2, 0, 1).float() / 255 for img in images]

    def logits():
        batch = model.transform(tensors)[0].tensors
        return model.head(list(model.backbone(batch).values()))["cls_logits"]

    calibrate_logits(model.head.classification_head.cls_logits, logits)
    with torch.no_grad():
        image_list, _ = model.transform(tensors)
        feats = list(model.backbone(image_list.tensors).values())
        head = model.head(feats)
        anchors = model.anchor_generator(image_list, feats)[0]
        dets = model(tensors)
        singles = [model([t])[0] for t in tensors]
    arrays = {
        "batch": nchw_to_nhwc(image_list.tensors),
        "cls_logits": head["cls_logits"].numpy(),
        "bbox_deltas": head["bbox_regression"].numpy(),
        "anchors": anchors.numpy(),
    }
    run = {
        "resized_sizes": [list(s) for s in image_list.image_sizes],
        "feature_sizes": [list(f.shape[-2:]) for f in feats],
        "detections": [detections_json(d["boxes"], d["scores"], d["labels"]) for d in dets],
        "detections_single": [detections_json(d["boxes"], d["scores"], d["labels"]) for d in singles],
    }
    return model.state_dict(), arrays, run, None


MMDET_TEST_CFG = {"nms_pre": 1000, "min_bbox_size": 0, "score_thr": 0.05, "nms": {"type": "nms", "iou_threshold": 0.5}, "max_per_img": 100}
MMDET_NORM = {"mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375], "to_rgb": True}


def mmdet_config_text():
    """The merged config text mmdetection v2 stores in `meta['config']`, for the narrow model."""
    return f"""model = dict(
    type='RetinaNet',
    backbone=dict(type='ResNet', depth=50, num_stages=4, out_indices=(0, 1, 2, 3), frozen_stages=1,
                  norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True, style='pytorch'),
    neck=dict(type='FPN', in_channels={[w * 4 for w in WIDTHS]}, out_channels={FPN_CHANNELS}, start_level=1,
              add_extra_convs='on_input', num_outs=5),
    bbox_head=dict(
        type='RetinaHead', num_classes={NUM_CLASSES}, in_channels={FPN_CHANNELS}, stacked_convs=2,
        feat_channels={FPN_CHANNELS},
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
                              ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0],
                        target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='GHMC', bins=30, momentum=0.75, use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='GHMR', mu=0.02, bins=10, momentum=0.7, loss_weight=10.0)),
    train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0,
                                 ignore_iof_thr=-1), allowed_border=-1, pos_weight=-1, debug=False),
    test_cfg={MMDET_TEST_CFG!r})
img_norm_cfg = dict(mean={MMDET_NORM['mean']}, std={MMDET_NORM['std']}, to_rgb=True)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiScaleFlipAug', img_scale={IMG_SCALE}, flip=False,
         transforms=[dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'),
                     dict(type='Normalize', **img_norm_cfg), dict(type='Pad', size_divisor=32),
                     dict(type='ImageToTensor', keys=['img']), dict(type='Collect', keys=['img'])])
]
"""


def run_mmdet(images, gen):
    cfg = {
        "backbone": {"stem_channels": STEM, "widths": WIDTHS, "blocks": BLOCKS},
        "neck": {"out_channels": FPN_CHANNELS, "add_extra_convs": "on_input", "relu_before_extra_convs": False},
        "bbox_head": {
            "num_classes": NUM_CLASSES,
            "stacked_convs": 2,
            "feat_channels": FPN_CHANNELS,
            "anchor_generator": {"octave_base_scale": 4, "scales_per_octave": 3, "ratios": [0.5, 1.0, 2.0], "strides": [8, 16, 32, 64, 128]},
            "bbox_coder": {"target_means": [0.0] * 4, "target_stds": [1.0] * 4},
        },
        "test_cfg": MMDET_TEST_CFG,
    }
    model = mmdet_reference.RetinaNet(cfg)
    randomize_norms(model, gen)
    stacked = [m.conv for m in [*model.bbox_head.cls_convs, *model.bbox_head.reg_convs]]
    informative_head(stacked, model.bbox_head.retina_cls, model.bbox_head.retina_reg, gen)
    model.eval()
    batch, shapes, factors = mmdet_reference.preprocess(images, IMG_SCALE, MMDET_NORM["mean"], MMDET_NORM["std"], 32)
    calibrate_logits(model.bbox_head.retina_cls, lambda: torch.cat([c.flatten() for c in model.forward_features(batch)[0]]))
    with torch.no_grad():
        cls_scores, bbox_preds = model.forward_features(batch)
        dets = model.get_bboxes(cls_scores, bbox_preds, shapes, factors)
        singles = []
        for img in images:
            b1, s1, f1 = mmdet_reference.preprocess([img], IMG_SCALE, MMDET_NORM["mean"], MMDET_NORM["std"], 32)
            singles.append(model.get_bboxes(*model.forward_features(b1), s1, f1)[0])
        anchors = torch.cat(model.anchor_generator.grid_priors([s.shape[-2:] for s in cls_scores]))
    arrays = {
        "batch": nchw_to_nhwc(batch),
        "cls_logits": flat_head(cls_scores, NUM_CLASSES),
        "bbox_deltas": flat_head(bbox_preds, 4),
        "anchors": anchors.numpy(),
    }
    run = {
        "resized_sizes": [list(s) for s in shapes],
        "feature_sizes": [list(s.shape[-2:]) for s in cls_scores],
        "detections": [detections_json(*d) for d in dets],
        "detections_single": [detections_json(*d) for d in singles],
    }
    meta = {"CLASSES": tuple(f"class{k}" for k in range(NUM_CLASSES)), "config": mmdet_config_text()}
    return model.state_dict(), arrays, run, meta


def run_resnet(gen):
    model = NarrowResNet(num_classes=10)
    randomize_norms(model, gen)
    model.eval()
    x = torch.empty(1, 3, 64, 96).normal_(0, 1, generator=gen)
    with torch.no_grad():
        feats = model.features(x)
    arrays = {"batch": nchw_to_nhwc(x)}
    for i, f in enumerate(feats):
        arrays[f"c{i + 2}"] = nchw_to_nhwc(f)
    return model.state_dict(), arrays, {"feature_sizes": [list(f.shape[-2:]) for f in feats]}, None


def write_arrays(path, arrays):
    manifest, offset = [], 0
    with open(path, "wb") as f:
        for name, a in arrays.items():
            dtype = "uint8" if a.dtype == np.uint8 else "float32"
            data = np.ascontiguousarray(a, dtype=np.uint8 if dtype == "uint8" else "<f4").tobytes()
            f.write(data)
            manifest.append({"name": name, "shape": list(a.shape), "dtype": dtype, "offset": offset, "bytes": len(data)})
            offset += len(data)
    return manifest


def make_arch(arch, out_dir, keep_checkpoint):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + 1)
    images = make_images(SEED)
    if arch.startswith("torchvision_retinanet_"):
        state, arrays, run, meta = run_torchvision(arch[-2:], images, gen)
    elif arch == "mmdet_retinanet":
        state, arrays, run, meta = run_mmdet(images, gen)
    else:
        state, arrays, run, meta = run_resnet(gen)
    if arch != "torchvision_resnet50":
        for i, img in enumerate(images):
            arrays[f"image{i}"] = img
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(out_dir if keep_checkpoint else tmp, "checkpoint.pth")
        torch.save({"meta": meta, "state_dict": state} if meta is not None else state, ckpt)
        argv = [ckpt, "--arch", arch, "--out", os.path.join(out_dir, "model"), "--force", "--json"]
        if arch.startswith("torchvision_retinanet_") or arch == "mmdet_retinanet":
            argv += ["--img-scale", f"{IMG_SCALE[0]},{IMG_SCALE[1]}"]
        if arch == "torchvision_retinanet_v1":
            argv += ["--bn-eps", "1e-5"]  # nn.BatchNorm2d's eps (torchvision's COCO weights would run with 0)
        if arch == "torchvision_retinanet_v2":
            argv += ["--gn-groups", str(GN_GROUPS)]
        if arch == "torchvision_resnet50":
            argv += ["--num-classes", str(NUM_CLASSES)]
        report = torch_to_ghmdet.convert(torch_to_ghmdet.parse_args(argv))
    exporter_options = argv[argv.index("--json") + 1 :]
    manifest = write_arrays(os.path.join(out_dir, "expected.bin"), arrays)
    expected = {
        "arch": arch,
        "seed": SEED,
        "generator": {"torch": torch.__version__, "torchvision": torchvision.__version__, "numpy": np.__version__},
        "image_sizes": [list(s) for s in IMAGE_SIZES] if arch != "torchvision_resnet50" else [],
        "img_scale": list(IMG_SCALE),
        "num_classes": NUM_CLASSES,
        "converted_tensors": report["tensors"],
        "exporter_options": exporter_options,
        **run,
        "arrays": manifest,
    }
    with open(os.path.join(out_dir, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, separators=(",", ":"))
        f.write("\n")
    counts = [len(d) for d in run.get("detections", [])]
    return f"{arch}: {report['tensors']} tensors" + (f", detections per image {counts}" if counts else "")


def main(argv):
    p = argparse.ArgumentParser(description="Write the PyTorch side of ghmdet's parity tests.")
    p.add_argument("--out", default=os.path.join("test", "fixtures", "parity"))
    p.add_argument("--arch", action="append", choices=ARCHS, help="only these (repeatable); default all")
    p.add_argument("--keep-checkpoints", action="store_true", help="also write each checkpoint.pth")
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # one thread: the same reduction order on every machine
    for arch in args.arch or ARCHS:
        print(make_arch(arch, os.path.join(args.out, arch), args.keep_checkpoints))


if __name__ == "__main__":
    main(sys.argv[1:])
