"""Reading a PyTorch checkpoint into plain numpy arrays, without the framework that wrote it.

Layouts understood (`torch.load` of a pickled dict of tensors needs neither mmdetection nor torchvision):
  - mmcv / mmdetection v2: `{'meta': {...}, 'state_dict': {name: tensor}, 'optimizer': ...}`;
  - torchvision's reference training scripts: `{'model': {name: tensor}, 'optimizer': ..., 'epoch': ...}`;
  - a bare `state_dict` (what `torch.save(model.state_dict(), path)` and torchvision's hub files hold).
A `module.` prefix on every name (a model saved inside DistributedDataParallel) is removed.
"""
import hashlib
import os
import pickle

import numpy as np

from .errors import CheckpointError


class Checkpoint:
    """`tensors`: name -> float32/int64 numpy array; `meta`: the mmcv `meta` dict (empty otherwise)."""

    def __init__(self, path, tensors, meta, layout, sha256):
        self.path = path
        self.tensors = tensors
        self.meta = meta
        self.layout = layout
        self.sha256 = sha256


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_state_dict(obj, torch):
    return isinstance(obj, dict) and len(obj) > 0 and all(torch.is_tensor(v) for v in obj.values())


def _torch_load(torch, path):
    """`torch.load` with `weights_only=True` (tensors and plain containers only) where torch has it; a checkpoint
    that also pickles Python objects (torchvision's reference scripts save their argparse `args`) is then read with
    `weights_only=False`, which runs its pickled code: convert only checkpoints you trust."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # torch < 1.13 has no weights_only
        return torch.load(path, map_location="cpu")
    except pickle.UnpicklingError:
        return torch.load(path, map_location="cpu", weights_only=False)


def load_checkpoint(path):
    """Loads `path` on the CPU and returns a `Checkpoint`; raises CheckpointError for anything else."""
    import torch  # imported here so that `--help` works without torch

    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path} does not exist or is not a file")
    try:
        obj = _torch_load(torch, path)
    except Exception as e:  # a corrupt or non-PyTorch file: say what torch said
        raise CheckpointError(f"checkpoint {path} could not be read by torch.load: {e}") from e
    meta = {}
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        state, layout = obj["state_dict"], "mmcv"
        meta = obj.get("meta") or {}
    elif isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        state, layout = obj["model"], "torchvision-reference"
    elif _is_state_dict(obj, torch):
        state, layout = obj, "state_dict"
    else:
        kind = type(obj).__name__
        keys = ", ".join(list(obj.keys())[:8]) if isinstance(obj, dict) else ""
        raise CheckpointError(
            f"checkpoint {path} holds a {kind} ({keys}); expected a state_dict, "
            "{'state_dict': ...} (mmdetection) or {'model': ...} (torchvision references). "
            "A whole pickled nn.Module cannot be read without its code: save model.state_dict() instead"
        )
    names = list(state.keys())
    if names and all(n.startswith("module.") for n in names):
        state = {n[len("module."):]: v for n, v in state.items()}
    tensors = {}
    for name, value in state.items():
        if not torch.is_tensor(value):
            raise CheckpointError(f"checkpoint {path}: entry {name!r} is a {type(value).__name__}, expected a tensor")
        t = value.detach().cpu()
        tensors[name] = t.numpy().astype(np.float32) if t.is_floating_point() else t.numpy()
    return Checkpoint(path, tensors, meta, layout, _sha256(path))
