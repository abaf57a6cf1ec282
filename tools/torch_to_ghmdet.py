#!/usr/bin/env python3
"""Converts a PyTorch RetinaNet (or ResNet) checkpoint into a ghmdet model directory.

    python3 tools/torch_to_ghmdet.py CHECKPOINT --arch ARCH --out MODEL_DIR [options]

ARCH:
  torchvision_retinanet_v1   torchvision's retinanet_resnet50_fpn (P6/P7 from P5, heads without norm)
  torchvision_retinanet_v2   torchvision's retinanet_resnet50_fpn_v2 (P6/P7 from C5, GroupNorm heads)
  mmdet_retinanet            mmdetection v2 RetinaNet R-50-FPN, retinanet_ghm_r50_fpn_1x included
  torchvision_resnet50       an ImageNet ResNet classifier: the backbone only, for `ghmdet train --init`

Every tensor is mapped by name through the architecture's table (tools/ghmdet_import/*_arch.py), convolutions
converted from OIHW to HWIO, BatchNorm kept with its running statistics; a checkpoint with a missing, unexpected or
misshapen tensor is refused with its name. Needs Python 3 with torch and numpy only.

Exit status: 0 converted, 1 the checkpoint or an option was refused, 2 bad usage, 3 torch or numpy missing.
"""
import argparse
import json
import os
import sys

ARCHS = ["torchvision_retinanet_v1", "torchvision_retinanet_v2", "mmdet_retinanet", "torchvision_resnet50"]
EXIT_REFUSED = 1
EXIT_MISSING_DEPENDENCY = 3


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="torch_to_ghmdet.py",
        description="Convert a PyTorch RetinaNet / ResNet checkpoint into a ghmdet model directory.",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a .pth file (state_dict, mmdetection or torchvision)")
    p.add_argument("--arch", required=True, choices=ARCHS, help="the checkpoint's architecture")
    p.add_argument("--out", metavar="MODEL_DIR", help="model directory to write (model.json, weights.bin)")
    p.add_argument("--force", action="store_true", help="replace the model files in MODEL_DIR if present")
    p.add_argument("--dry-run", action="store_true", help="check the checkpoint and print the table; write nothing")
    p.add_argument("--json", action="store_true", help="print a one-line JSON report on stdout")
    p.add_argument("--bn-eps", type=float, metavar="EPS",
                   help="BatchNorm epsilon (default: 0 for torchvision_retinanet_v1, whose COCO weights run with "
                        "eps 0, else 1e-5)")
    p.add_argument("--gn-groups", type=int, metavar="G", help="GroupNorm groups of a v2 head (default 32)")
    p.add_argument("--img-scale", metavar="LONG,SHORT",
                   help="resize bound of the model's preprocessing (default 1333,800; torchvision: max_size,min_size)")
    p.add_argument("--num-classes", type=int, default=80, metavar="K",
                   help="torchvision_resnet50: classes of the detector the backbone is imported into (default 80)")
    p.add_argument("--categories", metavar="FILE",
                   help="JSON list of {id, name} per class index, or a COCO annotation file (its categories by id)")
    p.add_argument("--mmdet-config", metavar="FILE",
                   help="mmdet_retinanet: the run's merged config (when the checkpoint's meta has none)")
    args = p.parse_args(argv)
    if args.out is None and not args.dry_run:
        p.error("--out MODEL_DIR is required (or --dry-run)")
    if args.img_scale is not None:
        try:
            long_edge, short_edge = (int(v) for v in args.img_scale.split(","))
            assert long_edge > 0 and short_edge > 0
        except (ValueError, AssertionError):
            p.error(f"--img-scale expects LONG,SHORT (two positive integers), got {args.img_scale!r}")
        args.img_scale = (long_edge, short_edge)
    if args.num_classes < 1:
        p.error(f"--num-classes expects a positive integer, got {args.num_classes}")
    return args


def read_categories(path):
    from ghmdet_import.errors import CheckpointError

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"--categories {path} could not be read as JSON: {e}") from e
    if isinstance(data, dict) and isinstance(data.get("categories"), list):
        data = sorted(data["categories"], key=lambda c: c["id"])
    if not isinstance(data, list) or not all(isinstance(c, dict) and "id" in c and "name" in c for c in data):
        raise CheckpointError(f"--categories {path}: expected a list of {{id, name}} or a COCO annotation file")
    return [{"id": int(c["id"]), "name": str(c["name"])} for c in data]


def refuse_existing_output(args):
    """Nothing is written over an existing model without --force (checked before anything is loaded)."""
    from ghmdet_import.errors import CheckpointError
    from ghmdet_import.tfjs_model import MODEL_JSON, WEIGHTS_BIN

    if args.out is not None and not args.dry_run and not args.force:
        for name in (MODEL_JSON, WEIGHTS_BIN):
            if os.path.exists(os.path.join(args.out, name)):
                raise CheckpointError(f"{os.path.join(args.out, name)} exists; pass --force to replace it")


def convert(args):
    """Returns the report dict; raises CheckpointError when the checkpoint is refused."""
    from ghmdet_import.checkpoint import load_checkpoint
    from ghmdet_import.errors import CheckpointError
    from ghmdet_import.mmdet_arch import convert_mmdet_retinanet, retinanet_ghm_config
    from ghmdet_import.tfjs_model import write_model_dir
    from ghmdet_import.torchvision_arch import convert_torchvision_resnet, convert_torchvision_retinanet

    refuse_existing_output(args)
    args.categories = read_categories(args.categories) if args.categories else None
    args.mmdet_config_text = None
    if args.mmdet_config:
        try:
            with open(args.mmdet_config, encoding="utf-8") as f:
                args.mmdet_config_text = f.read()
        except OSError as e:
            raise CheckpointError(f"--mmdet-config {args.mmdet_config} could not be read: {e}") from e
    ckpt = load_checkpoint(args.checkpoint)
    scope = "all"
    config_source = "torchvision's code"
    if args.arch.startswith("torchvision_retinanet_"):
        table, config, categories, tensors = convert_torchvision_retinanet(ckpt, args.arch[-2:], args)
        framework = "torchvision"
    elif args.arch == "mmdet_retinanet":
        table, config, categories, tensors, config_source = convert_mmdet_retinanet(ckpt, args)
        framework = "mmdetection"
    else:
        table, config, tensors = convert_torchvision_resnet(
            ckpt, args, lambda body, eps: retinanet_ghm_config(body, eps, args.num_classes)
        )
        categories = args.categories or [{"id": k + 1, "name": str(k)} for k in range(args.num_classes)]
        if len(categories) != args.num_classes:
            raise CheckpointError(f"--categories lists {len(categories)} categories, --num-classes is {args.num_classes}")
        config["classNames"] = [c["name"] for c in categories]
        framework, scope = "torchvision", "backbone"
    if args.img_scale and "preprocess" in config:
        config["preprocess"]["img_scale"] = list(args.img_scale)
    arrays = table.convert(tensors)
    source = {
        "framework": framework,
        "arch": args.arch,
        "checkpoint": os.path.basename(args.checkpoint),
        "sha256": ckpt.sha256,
        "layout": ckpt.layout,
        "config": config_source,
    }
    if not args.dry_run:
        write_model_dir(args.out, arrays, config, categories, source, scope)
    return {
        "arch": args.arch,
        "out": args.out,
        "written": not args.dry_run,
        "tensors": len(arrays),
        "values": int(sum(a.size for _, a in arrays)),
        "dropped": [{"name": n, "why": why} for n, why in table.dropped(ckpt.tensors)],
        "weights": scope,
        "config_source": config_source,
        "config": config,
        "table": [{"source": r.source, "target": r.target, "shape": list(r.shape)} for r in table.rows],
    }


def main(argv):
    args = parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from ghmdet_import.errors import CheckpointError

    try:
        refuse_existing_output(args)
    except CheckpointError as e:
        print(f"torch_to_ghmdet.py: {e}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
    except ImportError as e:
        print(
            f"torch_to_ghmdet.py: {e.name} is not installed for {sys.executable}; "
            "install PyTorch and numpy (e.g. pip install torch numpy, or apt install python3-torch)",
            file=sys.stderr,
        )
        return EXIT_MISSING_DEPENDENCY
    try:
        report = convert(args)
    except CheckpointError as e:
        print(f"torch_to_ghmdet.py: {e}", file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        print(json.dumps({k: v for k, v in report.items() if k != "table"}))
    else:
        if args.dry_run:
            for r in report["table"]:
                print(f"{r['source']:60s} -> {r['target']}  {r['shape']}")
        reasons = {}
        for d in report["dropped"]:
            reasons.setdefault(d["why"], []).append(d["name"])
        dropped = "; ".join(
            f"{', '.join(names)} ({why})" if len(names) <= 3 else f"{len(names)} x {names[0].rsplit('.', 1)[-1]} ({why})"
            for why, names in reasons.items()
        )
        where = f"into {args.out}" if report["written"] else "(dry run, nothing written)"
        print(
            f"{args.arch}: {report['tensors']} tensors, {report['values']:,} values {where}; "
            f"behaviour from {report['config_source']}" + (f"; dropped {dropped}" if dropped else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
