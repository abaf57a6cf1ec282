"""torchvision's RetinaNet (`retinanet_resnet50_fpn`, `retinanet_resnet50_fpn_v2`) and ResNet classifier
(`resnet50`) checkpoints -> ghmdet tensor tables and configs.

torchvision RetinaNet names (torchvision 0.14, `RetinaNet(BackboneWithFPN(ResNet), RetinaNetHead)`):
  backbone.body.*                                the ResNet (see resnet.py), C3..C5 returned (`returned_layers=[2, 3, 4]`)
  backbone.fpn.inner_blocks.{i}.0.{weight,bias}  1x1 lateral convs         -> neck/lateral{i}
  backbone.fpn.layer_blocks.{i}.0.{weight,bias}  3x3 output convs          -> neck/fpn{i}
  backbone.fpn.extra_blocks.p6, .p7              `LastLevelP6P7`            -> neck/extra0, neck/extra1
  head.classification_head.conv.{i}.0            4 x (3x3 conv [+ GroupNorm .1] + ReLU) -> head/cls_convs{i}
  head.classification_head.cls_logits            3x3 conv to A*K logits     -> head/retina_cls
  head.regression_head.conv.{i}.0, .bbox_reg     the same for A*4 deltas    -> head/reg_convs{i}, head/retina_reg
Checkpoints saved before torchvision's version-2 module layout (`conv.{2i}`, `inner_blocks.{i}`) are renamed
the way torchvision's own `_load_from_state_dict` does.

Behaviour that is not in the weights, taken from torchvision's code:
  - `LastLevelP6P7(in, out)` takes P6 from P5 when in == out (v1) and from C5 otherwise (v2), and always puts a
    ReLU between P6 and P7;
  - anchors: `AnchorGenerator` with sizes (x, int(x * 2^(1/3)), int(x * 2^(2/3))) for x = 32..512, ratios
    0.5/1/2, base anchors rounded, strides = padded input size // feature size;
  - `BoxCoder(weights=(1, 1, 1, 1))`, dw/dh clamped from above at log(1000 / 16);
  - `GeneralizedRCNNTransform(min_size=800, max_size=1333)`, ImageNet mean/std on 0-1 images, padding to a
    multiple of 32;
  - `score_thresh=0.05`, `topk_candidates=1000` per level, `nms_thresh=0.5`, `detections_per_img=300`;
  - BatchNorm: v1 with torchvision's COCO weights runs `FrozenBatchNorm2d` with eps 0 (`overwrite_eps(model,
    0.0)`), v2 `BatchNorm2d` in eval mode with eps 1e-5; the v2 head's GroupNorm has 32 groups.
"""
from .errors import CheckpointError
from .categories import torchvision_coco_categories
from .resnet import add_resnet_rows, backbone_config, infer_resnet
from .table import TensorTable

HEAD_CONVS = 4
DEFAULT_GN_GROUPS = 32
IMAGENET_MEAN_255 = [123.675, 116.28, 103.53]  # 255 * (0.485, 0.456, 0.406)
IMAGENET_STD_255 = [58.395, 57.12, 57.375]  # 255 * (0.229, 0.224, 0.225)


def torchvision_anchor_sizes():
    """`_default_anchorgen()`'s sizes: int() truncates, so the octave steps are 40/50, 80/101, ..."""
    return [[x, int(x * 2 ** (1.0 / 3)), int(x * 2 ** (2.0 / 3))] for x in [32, 64, 128, 256, 512]]


def _rename_legacy(tensors):
    """torchvision's version-1 names -> version 2 (`_v1_to_v2_weights`, FPN `_load_from_state_dict`)."""
    out = dict(tensors)
    for branch in ("classification_head", "regression_head"):
        for i in range(HEAD_CONVS):
            for kind in ("weight", "bias"):
                old = f"head.{branch}.conv.{2 * i}.{kind}"
                if old in out:
                    out[f"head.{branch}.conv.{i}.0.{kind}"] = out.pop(old)
    for block in ("inner_blocks", "layer_blocks"):
        for i in range(8):
            for kind in ("weight", "bias"):
                old = f"backbone.fpn.{block}.{i}.{kind}"
                if old in out:
                    out[f"backbone.fpn.{block}.{i}.0.{kind}"] = out.pop(old)
    return out


def _count(tensors, fmt):
    n = 0
    while fmt.format(n) in tensors:
        n += 1
    return n


def convert_torchvision_retinanet(ckpt, version, options):
    """Returns (table, ghmdet config, categories, tensors) for `torchvision_retinanet_v1` / `_v2`."""
    arch = f"torchvision_retinanet_{version}"
    tensors = _rename_legacy(ckpt.tensors)
    body = infer_resnet(tensors, "backbone.body.", arch)
    c_out = body.out_channels()
    n_lat = _count(tensors, "backbone.fpn.inner_blocks.{}.0.weight")
    if n_lat != 3:
        raise CheckpointError(
            f"the FPN has {n_lat} lateral convs (backbone.fpn.inner_blocks.*), expected 3 (C3-C5, "
            "returned_layers=[2, 3, 4] as torchvision's RetinaNet builders use)"
        )
    fpn_c = int(tensors["backbone.fpn.inner_blocks.0.0.weight"].shape[0])
    p6 = tensors.get("backbone.fpn.extra_blocks.p6.weight")
    if p6 is None:
        raise CheckpointError(f"missing backbone.fpn.extra_blocks.p6.weight (LastLevelP6P7) for --arch {arch}")
    p6_in = int(p6.shape[1])
    # LastLevelP6P7.use_P5 = in_channels == out_channels.
    from_p5 = p6_in == fpn_c
    if from_p5 != (version == "v1"):
        expected = "P5 (LastLevelP6P7(256, 256))" if version == "v1" else "C5 (LastLevelP6P7(2048, 256))"
        raise CheckpointError(
            f"backbone.fpn.extra_blocks.p6.weight takes {p6_in} channels: P6 comes from "
            f"{'P5' if from_p5 else 'C5'}, but {arch} takes it from {expected}; is --arch right?"
        )
    head_gn = "head.classification_head.conv.0.1.weight" in tensors
    if head_gn != (version == "v2"):
        raise CheckpointError(
            f"the head {'has' if head_gn else 'has no'} GroupNorm (head.classification_head.conv.0.1.weight), "
            f"but {arch} {'has' if version == 'v2' else 'has none'}; is --arch right?"
        )
    reg = tensors.get("head.regression_head.bbox_reg.weight")
    cls = tensors.get("head.classification_head.cls_logits.weight")
    if reg is None or cls is None:
        raise CheckpointError(f"missing head.regression_head.bbox_reg.weight or cls_logits.weight for --arch {arch}")
    num_anchors = int(reg.shape[0]) // 4
    if num_anchors != 9:
        raise CheckpointError(
            f"head.regression_head.bbox_reg.weight has {reg.shape[0]} outputs = {num_anchors} anchors x 4, "
            "expected 9 anchors (torchvision's default AnchorGenerator: 3 sizes x 3 ratios)"
        )
    num_classes = int(cls.shape[0]) // num_anchors

    table = TensorTable()
    add_resnet_rows(table, body, "backbone.body.")
    for i in range(3):
        table.conv(f"backbone.fpn.inner_blocks.{i}.0", f"neck/lateral{i}", fpn_c, c_out[i + 1], 1, bias=True)
        table.conv(f"backbone.fpn.layer_blocks.{i}.0", f"neck/fpn{i}", fpn_c, fpn_c, 3, bias=True)
    table.conv("backbone.fpn.extra_blocks.p6", "neck/extra0", fpn_c, p6_in, 3, bias=True)
    table.conv("backbone.fpn.extra_blocks.p7", "neck/extra1", fpn_c, fpn_c, 3, bias=True)
    for branch, ghm in (("classification_head", "cls_convs"), ("regression_head", "reg_convs")):
        for i in range(HEAD_CONVS):
            table.conv(f"head.{branch}.conv.{i}.0", f"head/{ghm}{i}", fpn_c, fpn_c, 3, bias=not head_gn)
            if head_gn:
                table.norm(f"head.{branch}.conv.{i}.1", f"head/{ghm}{i}/gn", fpn_c, running=False)
    table.conv("head.classification_head.cls_logits", "head/retina_cls", num_anchors * num_classes, fpn_c, 3, bias=True)
    table.conv("head.regression_head.bbox_reg", "head/retina_reg", num_anchors * 4, fpn_c, 3, bias=True)
    table.check(tensors, arch)

    eps = options.bn_eps if options.bn_eps is not None else (0.0 if version == "v1" else 1e-5)
    max_size, min_size = options.img_scale or (1333, 800)
    head = {
        "stackedConvs": HEAD_CONVS,
        "featChannels": fpn_c,
        "priorProb": 0.01,
        "norm": "GN" if head_gn else "none",
        "anchor_generator": {
            "type": "torchvision",
            "sizes": torchvision_anchor_sizes(),
            "ratios": [0.5, 1.0, 2.0],
            "strides": [8, 16, 32, 64, 128],
        },
        # det_utils.Matcher(0.5, 0.4, allow_low_quality_matches=True).
        "assigner": {"pos_iou_thr": 0.5, "neg_iou_thr": 0.4, "min_pos_iou": 0, "match_low_quality": True, "ignore_iof_thr": -1},
        "bbox_coder": {"type": "torchvision", "target_means": [0, 0, 0, 0], "target_stds": [1, 1, 1, 1]},
        "loss_cls": {"type": "FocalLoss", "use_sigmoid": True, "gamma": 2.0, "alpha": 0.25, "loss_weight": 1.0},
        # v1 trains with L1; v2 with GIoU, which ghmdet does not have: fine-tuning here uses L1.
        "loss_bbox": {"type": "L1Loss", "loss_weight": 1.0},
        "loss_granularity": "level",
    }
    if head_gn:
        head["num_groups"] = options.gn_groups or DEFAULT_GN_GROUPS
        if fpn_c % head["num_groups"] != 0:
            raise CheckpointError(
                f"the head's GroupNorm cannot have {head['num_groups']} groups of its {fpn_c} channels; "
                "pass --gn-groups G with the model's group count (torchvision's v2 head: 32)"
            )
    categories = options.categories or (
        torchvision_coco_categories() if num_classes == 91 else [{"id": k, "name": str(k)} for k in range(num_classes)]
    )
    config = {
        "numClasses": num_classes,
        "classNames": [c["name"] for c in categories],
        "backbone": backbone_config(body, eps, norm_requires_grad=version == "v2", frozen_stages=1),
        "neck": {
            "type": "FPN",
            "outChannels": fpn_c,
            "startLevel": 1,
            "numOuts": 5,
            "addExtraConvs": "on_output" if from_p5 else "on_input",
            "reluBeforeExtraConvs": True,
            "init": "xavier",
        },
        "head": head,
        "test_cfg": {"nms_pre": 1000, "score_thr": 0.05, "nms_iou": 0.5, "max_per_img": 300},
        "preprocess": {
            "type": "torchvision",
            "img_scale": [max_size, min_size],
            "keep_ratio": True,
            "size_divisor": 32,
            "mean": IMAGENET_MEAN_255,
            "std": IMAGENET_STD_255,
        },
    }
    if len(categories) != num_classes:
        raise CheckpointError(f"--categories lists {len(categories)} categories, the checkpoint has {num_classes} classes")
    return table, config, categories, tensors


def convert_torchvision_resnet(ckpt, options, detector_config):
    """`torchvision_resnet50`: an ImageNet classifier; only the body is kept (for `ghmdet train --init`).

    `detector_config(layout, eps)` gives the detector config the backbone is meant for.
    """
    arch = "torchvision_resnet50"
    tensors = ckpt.tensors
    body = infer_resnet(tensors, "", arch)
    table = TensorTable()
    add_resnet_rows(table, body, "")
    fc = tensors.get("fc.weight")
    if fc is not None:
        table.drop("fc.weight", "the ImageNet classifier, not part of a detector")
        table.drop("fc.bias", "the ImageNet classifier, not part of a detector")
    table.check(tensors, arch)
    eps = options.bn_eps if options.bn_eps is not None else 1e-5
    return table, detector_config(body, eps), tensors

