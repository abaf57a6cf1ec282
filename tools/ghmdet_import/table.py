"""The tensor table of a conversion: one row per checkpoint tensor, naming its ghmdet variable and layout change.

Layouts: PyTorch convolutions are OIHW (`[out, in, kh, kw]`), ghmdet (TF.js, NHWC) kernels are HWIO
(`[kh, kw, in, out]`), so a conv weight is transposed (2, 3, 1, 0); vectors (biases, norm parameters, running
statistics) are copied. BatchNorm is kept (not folded into the convolutions): ghmdet's frozen BatchNorm computes
`gamma * (x - moving_mean) / sqrt(moving_variance + eps) + beta` with the imported statistics, as PyTorch's
`FrozenBatchNorm2d` and `BatchNorm2d.eval()` do, and fine-tuning can unfreeze it.
"""
import numpy as np

from .errors import CheckpointError

# PyTorch BatchNorm entry -> ghmdet BatchNorm variable.
BN_NAMES = {
    "weight": "gamma",
    "bias": "beta",
    "running_mean": "moving_mean",
    "running_var": "moving_variance",
}
# Present in nn.BatchNorm2d state dicts, meaningless at inference: accepted and dropped.
BN_COUNTER = "num_batches_tracked"


class Row:
    def __init__(self, source, target, shape, kind):
        self.source = source  # checkpoint name
        self.target = target  # ghmdet logical variable name
        self.shape = tuple(shape)  # expected checkpoint shape
        self.kind = kind  # 'conv' (OIHW -> HWIO) or 'copy'


class TensorTable:
    """Rows in ghmdet's variable creation order, plus names that may be present and are dropped on purpose."""

    def __init__(self):
        self.rows = []
        self.droppable = {}  # checkpoint name -> why it is dropped

    def conv(self, source, target, out_c, in_c, k, bias=False):
        self.rows.append(Row(f"{source}.weight", f"{target}/kernel", (out_c, in_c, k, k), "conv"))
        if bias:
            self.rows.append(Row(f"{source}.bias", f"{target}/bias", (out_c,), "copy"))

    def norm(self, source, target, channels, running=True):
        """A BatchNorm (running statistics) or GroupNorm (`running=False`: affine parameters only)."""
        for name, ghm in BN_NAMES.items():
            if running or name in ("weight", "bias"):
                self.rows.append(Row(f"{source}.{name}", f"{target}/{ghm}", (channels,), "copy"))
        if running:
            self.droppable[f"{source}.{BN_COUNTER}"] = "BatchNorm's update counter"

    def drop(self, name, why):
        self.droppable[name] = why

    def check(self, tensors, arch):
        """Raises CheckpointError naming every missing, unexpected or misshapen tensor."""
        problems = []
        expected = {r.source for r in self.rows}
        for r in self.rows:
            t = tensors.get(r.source)
            if t is None:
                problems.append(f"missing {r.source} (expected shape {list(r.shape)})")
            elif tuple(t.shape) != r.shape:
                problems.append(f"{r.source} has shape {list(t.shape)}, expected {list(r.shape)}")
        unexpected = [n for n in tensors if n not in expected and n not in self.droppable]
        problems += [f"unexpected tensor {n} (shape {list(tensors[n].shape)})" for n in unexpected]
        if problems:
            shown = problems[:12] + ([f"... and {len(problems) - 12} more"] if len(problems) > 12 else [])
            raise CheckpointError(
                f"the checkpoint does not match --arch {arch}: " + "; ".join(shown)
                + f". Is it a {arch} checkpoint?"
            )

    def convert(self, tensors):
        """[(ghmdet name, float32 array in ghmdet layout)] in row order."""
        out = []
        for r in self.rows:
            a = np.asarray(tensors[r.source], dtype=np.float32)
            out.append((r.target, np.ascontiguousarray(a.transpose(2, 3, 1, 0) if r.kind == "conv" else a)))
        return out

    def dropped(self, tensors):
        """[(checkpoint name, why)] of the droppable tensors the checkpoint holds."""
        return [(n, why) for n, why in self.droppable.items() if n in tensors]
