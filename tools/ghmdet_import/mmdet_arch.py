"""mmdetection v2 `RetinaNet` (ResNet + FPN + RetinaHead) checkpoints -> ghmdet tensor table and config.

mmdetection v2 names (`model.state_dict()` under the checkpoint's `state_dict` key):
  backbone.*                              the ResNet (style 'pytorch', see resnet.py)
  neck.lateral_convs.{i}.conv.{weight,bias}   1x1 lateral convs (ConvModule)    -> neck/lateral{i}
  neck.fpn_convs.{i}.conv.{weight,bias}       3x3 output convs, i < 3           -> neck/fpn{i}
                                              extra 3x3/2 convs, i >= 3 (P6, P7) -> neck/extra{i - 3}
  bbox_head.cls_convs.{i}.conv.{weight,bias}  stacked 3x3 conv + ReLU           -> head/cls_convs{i}
  bbox_head.reg_convs.{i}.conv.{weight,bias}                                    -> head/reg_convs{i}
  bbox_head.retina_cls.{weight,bias}          3x3 conv to A*K logits            -> head/retina_cls
  bbox_head.retina_reg.{weight,bias}          3x3 conv to A*4 deltas            -> head/retina_reg

The rest of the model is not in the weights. It is read from the run's merged config, which mmdetection v2 keeps
in `meta['config']` (or from `--mmdet-config FILE`, a merged config such as the copy mmdetection writes into its
work_dir); without either, the values of `retinanet_r50_fpn_1x_coco.py` apply: FPN `add_extra_convs='on_input'`
without ReLU, `AnchorGenerator(octave_base_scale=4, scales_per_octave=3, ratios=[0.5, 1, 2], strides=[8, ...,
128])`, `DeltaXYWHBBoxCoder(target_stds=[1, 1, 1, 1])`, `test_cfg=dict(nms_pre=1000, min_bbox_size=0,
score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)`, the (1333, 800) keep-ratio resize,
ImageNet mean/std in 0..255 with `to_rgb=True`, padding to 32, and FocalLoss / L1Loss.
"""
from .categories import mmdet_categories
from .errors import CheckpointError
from .config_text import dig, read_config_text
from .resnet import add_resnet_rows, backbone_config, infer_resnet
from .table import TensorTable

RETINANET_DEFAULTS = {
    "anchor_generator": {"octave_base_scale": 4, "scales_per_octave": 3, "ratios": [0.5, 1.0, 2.0], "strides": [8, 16, 32, 64, 128]},
    "bbox_coder": {"target_means": [0.0, 0.0, 0.0, 0.0], "target_stds": [1.0, 1.0, 1.0, 1.0]},
    "loss_cls": {"type": "FocalLoss", "use_sigmoid": True, "gamma": 2.0, "alpha": 0.25, "loss_weight": 1.0},
    "loss_bbox": {"type": "L1Loss", "loss_weight": 1.0},
    "assigner": {"pos_iou_thr": 0.5, "neg_iou_thr": 0.4, "min_pos_iou": 0, "ignore_iof_thr": -1},
    "test_cfg": {"nms_pre": 1000, "score_thr": 0.05, "nms_iou": 0.5, "max_per_img": 100},
    "img_scale": [1333, 800],
    "mean": [123.675, 116.28, 103.53],
    "std": [58.395, 57.12, 57.375],
    "to_rgb": True,
    "size_divisor": 32,
}
GHMDET_LOSSES = {"CrossEntropyLoss", "OHEMLoss", "FocalLoss", "GHMC", "SmoothL1Loss", "L1Loss", "ASL1Loss", "GHMR"}


def _test_pipeline_values(cfg):
    """(img_scale, keep_ratio, size_divisor) of the test pipeline, None where absent."""
    pipeline = dig(cfg, "data", "test", "pipeline") or cfg.get("test_pipeline") or []
    img_scale = keep_ratio = size_divisor = None
    stack = list(pipeline)
    while stack:
        step = stack.pop(0)
        if not isinstance(step, dict):
            continue
        if step.get("type") == "MultiScaleFlipAug":
            img_scale = step.get("img_scale", img_scale)
            stack[:0] = list(step.get("transforms") or [])
        elif step.get("type") == "Resize":
            keep_ratio = step.get("keep_ratio", keep_ratio)
            img_scale = step.get("img_scale", img_scale)
        elif step.get("type") == "Pad":
            size_divisor = step.get("size_divisor", size_divisor)
    if isinstance(img_scale, list) and img_scale and isinstance(img_scale[0], (list, tuple)):
        if len(img_scale) != 1:
            raise CheckpointError(f"the test pipeline resizes to several scales {img_scale}; ghmdet tests at one")
        img_scale = img_scale[0]
    return img_scale, keep_ratio, size_divisor


def _extra_convs_mode(neck):
    mode = neck.get("add_extra_convs", "on_input")
    if mode is True:  # mmdetection v2's older spelling
        mode = "on_input" if neck.get("extra_convs_on_inputs", True) else "on_output"
    if mode not in ("on_input", "on_output"):
        raise CheckpointError(
            f"the FPN's add_extra_convs is {mode!r}; ghmdet supports 'on_input' (C5) and 'on_output' (P5)"
        )
    return mode


def _loss(cfg, which):
    loss = dig(cfg, "model", "bbox_head", which) or RETINANET_DEFAULTS[which]
    if loss.get("type") not in GHMDET_LOSSES:
        # Inference does not use the loss; fine-tuning falls back to the RetinaNet default.
        return dict(RETINANET_DEFAULTS[which])
    return dict(loss)


def convert_mmdet_retinanet(ckpt, options):
    """Returns (table, ghmdet config, categories, tensors, config source) for `mmdet_retinanet`."""
    arch = "mmdet_retinanet"
    text = options.mmdet_config_text or (ckpt.meta.get("config") if isinstance(ckpt.meta.get("config"), str) else None)
    cfg = read_config_text(text) if text else {}
    source = "--mmdet-config" if options.mmdet_config_text else ("meta['config']" if text else "defaults")
    model_type = dig(cfg, "model", "type", default="RetinaNet")
    if model_type != "RetinaNet":
        raise CheckpointError(f"the checkpoint's config builds a {model_type}, expected RetinaNet")
    style = dig(cfg, "model", "backbone", "style", default="pytorch")
    if style != "pytorch":
        raise CheckpointError(f"the ResNet has style {style!r}; ghmdet's ResNet strides the 3x3 conv (style 'pytorch')")
    tensors = ckpt.tensors
    body = infer_resnet(tensors, "backbone.", arch)
    c_out = body.out_channels()
    neck = dig(cfg, "model", "neck", default={}) or {}
    mode = _extra_convs_mode(neck)
    relu_extra = bool(neck.get("relu_before_extra_convs", False))
    start_level = neck.get("start_level", 1)
    num_outs = neck.get("num_outs", 5)
    if start_level != 1 or num_outs != 5:
        raise CheckpointError(f"the FPN has start_level {start_level}, num_outs {num_outs}; expected 1 and 5 (P3-P7)")
    lat = tensors.get("neck.lateral_convs.0.conv.weight")
    if lat is None:
        raise CheckpointError(f"missing neck.lateral_convs.0.conv.weight (the FPN) for --arch {arch}")
    fpn_c = int(lat.shape[0])
    n_stacked = 0
    while f"bbox_head.cls_convs.{n_stacked}.conv.weight" in tensors:
        n_stacked += 1
    first = tensors.get("bbox_head.cls_convs.0.conv.weight")
    feat_c = int(first.shape[0]) if first is not None else fpn_c
    reg = tensors.get("bbox_head.retina_reg.weight")
    cls = tensors.get("bbox_head.retina_cls.weight")
    if reg is None or cls is None:
        raise CheckpointError(f"missing bbox_head.retina_reg.weight or retina_cls.weight for --arch {arch}")
    anchors = dict(RETINANET_DEFAULTS["anchor_generator"])
    ag = dig(cfg, "model", "bbox_head", "anchor_generator") or {}
    if ag:
        if ag.get("type", "AnchorGenerator") != "AnchorGenerator" or ag.get("center_offset", 0) != 0:
            raise CheckpointError(f"the anchor generator {ag} is not mmdetection v2's AnchorGenerator with center_offset 0")
        anchors = {k: list(ag[k]) if isinstance(ag[k], (list, tuple)) else ag[k] for k in anchors}
    num_anchors = len(anchors["ratios"]) * anchors["scales_per_octave"]
    if int(reg.shape[0]) != 4 * num_anchors:
        raise CheckpointError(
            f"bbox_head.retina_reg.weight has {reg.shape[0]} outputs, expected 4 x {num_anchors} anchors "
            f"({len(anchors['ratios'])} ratios x {anchors['scales_per_octave']} scales)"
        )
    num_classes = int(cls.shape[0]) // num_anchors

    table = TensorTable()
    add_resnet_rows(table, body, "backbone.")
    for i in range(3):
        table.conv(f"neck.lateral_convs.{i}.conv", f"neck/lateral{i}", fpn_c, c_out[i + 1], 1, bias=True)
        table.conv(f"neck.fpn_convs.{i}.conv", f"neck/fpn{i}", fpn_c, fpn_c, 3, bias=True)
    table.conv("neck.fpn_convs.3.conv", "neck/extra0", fpn_c, c_out[3] if mode == "on_input" else fpn_c, 3, bias=True)
    table.conv("neck.fpn_convs.4.conv", "neck/extra1", fpn_c, fpn_c, 3, bias=True)
    for branch in ("cls_convs", "reg_convs"):
        for i in range(n_stacked):
            table.conv(f"bbox_head.{branch}.{i}.conv", f"head/{branch}{i}", feat_c, fpn_c if i == 0 else feat_c, 3, bias=True)
    last_c = feat_c if n_stacked > 0 else fpn_c
    table.conv("bbox_head.retina_cls", "head/retina_cls", num_anchors * num_classes, last_c, 3, bias=True)
    table.conv("bbox_head.retina_reg", "head/retina_reg", num_anchors * 4, last_c, 3, bias=True)
    table.check(tensors, arch)

    coder = dig(cfg, "model", "bbox_head", "bbox_coder") or {}
    if coder.get("type", "DeltaXYWHBBoxCoder") != "DeltaXYWHBBoxCoder" or coder.get("add_ctr_clamp", False):
        raise CheckpointError(f"the box coder {coder} is not DeltaXYWHBBoxCoder (without add_ctr_clamp)")
    means = list(coder.get("target_means", RETINANET_DEFAULTS["bbox_coder"]["target_means"]))
    stds = list(coder.get("target_stds", RETINANET_DEFAULTS["bbox_coder"]["target_stds"]))
    test = dig(cfg, "model", "test_cfg") or cfg.get("test_cfg") or {}
    nms = test.get("nms") or {}
    test_cfg = dict(RETINANET_DEFAULTS["test_cfg"])
    test_cfg.update({k: test[k] for k in ("nms_pre", "score_thr", "max_per_img") if k in test})
    test_cfg["nms_iou"] = nms.get("iou_threshold", nms.get("iou_thr", test_cfg["nms_iou"]))
    if test.get("min_bbox_size", 0) > 0:
        raise CheckpointError(f"test_cfg.min_bbox_size is {test['min_bbox_size']}; ghmdet's post-processing keeps every size (0)")
    assigner = dig(cfg, "model", "train_cfg", "assigner") or cfg.get("train_cfg", {}).get("assigner") or {}
    norm = cfg.get("img_norm_cfg") or {}
    img_scale, keep_ratio, size_divisor = _test_pipeline_values(cfg)
    if options.img_scale:
        img_scale = options.img_scale
    backbone = dig(cfg, "model", "backbone", default={}) or {}
    requires_grad = bool(dig(backbone, "norm_cfg", "requires_grad", default=True))
    config = {
        "numClasses": num_classes,
        "backbone": backbone_config(
            body,
            options.bn_eps if options.bn_eps is not None else 1e-5,
            norm_requires_grad=requires_grad,
            frozen_stages=backbone.get("frozen_stages", 1),
        ),
        "neck": {
            "type": "FPN",
            "outChannels": fpn_c,
            "startLevel": 1,
            "numOuts": 5,
            "addExtraConvs": mode,
            "reluBeforeExtraConvs": relu_extra,
            "init": "xavier",
        },
        "head": {
            "stackedConvs": n_stacked,
            "featChannels": feat_c,
            "priorProb": 0.01,
            "norm": "none",
            "anchor_generator": anchors,
            "assigner": {
                "pos_iou_thr": assigner.get("pos_iou_thr", 0.5),
                "neg_iou_thr": assigner.get("neg_iou_thr", 0.4),
                "min_pos_iou": assigner.get("min_pos_iou", 0),
                "match_low_quality": assigner.get("match_low_quality", True),
                "ignore_iof_thr": assigner.get("ignore_iof_thr", -1),
            },
            "bbox_coder": {"target_means": means, "target_stds": stds},
            "loss_cls": _loss(cfg, "loss_cls"),
            "loss_bbox": _loss(cfg, "loss_bbox"),
            "loss_granularity": "level",
        },
        "test_cfg": test_cfg,
        "preprocess": {
            "img_scale": list(img_scale or RETINANET_DEFAULTS["img_scale"]),
            "keep_ratio": True if keep_ratio is None else bool(keep_ratio),
            "size_divisor": size_divisor or RETINANET_DEFAULTS["size_divisor"],
            "mean": list(norm.get("mean", RETINANET_DEFAULTS["mean"])),
            "std": list(norm.get("std", RETINANET_DEFAULTS["std"])),
            "to_rgb": bool(norm.get("to_rgb", RETINANET_DEFAULTS["to_rgb"])),
        },
    }
    classes = ckpt.meta.get("CLASSES")
    if options.categories:
        categories = options.categories
    elif classes is not None and len(classes) == num_classes:
        categories = mmdet_categories(classes)
    elif num_classes == 80:
        from .categories import COCO_80

        categories = [{"id": i, "name": n} for i, n in COCO_80]
    else:
        categories = [{"id": k + 1, "name": str(k)} for k in range(num_classes)]
    if len(categories) != num_classes:
        raise CheckpointError(f"--categories lists {len(categories)} categories, the checkpoint has {num_classes} classes")
    config["classNames"] = [c["name"] for c in categories]
    return table, config, categories, tensors, source


def retinanet_ghm_config(body, eps, num_classes):
    """mmdetection's `retinanet_ghm_r50_fpn_1x_coco` model around an imported ResNet `body` (the ghmdet config
    an ImageNet backbone is imported into, for `ghmdet train --init`)."""
    d = RETINANET_DEFAULTS
    fpn_c = 256
    return {
        "numClasses": num_classes,
        "backbone": backbone_config(body, eps, norm_requires_grad=True, frozen_stages=1),
        "neck": {"type": "FPN", "outChannels": fpn_c, "startLevel": 1, "numOuts": 5, "addExtraConvs": "on_input",
                 "reluBeforeExtraConvs": False, "init": "xavier"},
        "head": {
            "stackedConvs": 4,
            "featChannels": fpn_c,
            "priorProb": 0.01,
            "norm": "none",
            "anchor_generator": dict(d["anchor_generator"]),
            "assigner": {**d["assigner"], "match_low_quality": True},
            "bbox_coder": dict(d["bbox_coder"]),
            "loss_cls": {"type": "GHMC", "bins": 30, "momentum": 0.75, "use_sigmoid": True, "loss_weight": 1.0},
            "loss_bbox": {"type": "GHMR", "mu": 0.02, "bins": 10, "momentum": 0.7, "loss_weight": 10.0},
            "loss_granularity": "level",
        },
        "test_cfg": dict(d["test_cfg"]),
        "preprocess": {"img_scale": list(d["img_scale"]), "keep_ratio": True, "size_divisor": d["size_divisor"],
                       "mean": list(d["mean"]), "std": list(d["std"]), "to_rgb": True},
    }
