"""Trains a PyTorch implementation of the experiment suite's shapes RetinaNet (the module interface of
dump_reference.py) with its own `train` and `predict`, optionally with another weight initialisation of the
backbone and the FPN, and writes the validation detections as COCO results (evaluate them with `ghmdet eval`).

    /usr/bin/python3 tools/torch/train_reference.py REFERENCE.py DATA_DIR OUT.json CLS BOX SEED [ITERS]   (env INIT)

INIT=pytorch (default) keeps the reference's own initialisation (PyTorch's `nn.Conv2d` default, U(-b, b) with
b = 1 / sqrt(fan_in), for the backbone and FPN convolutions and biases). INIT=mmdet re-initialises them as ghmdet's
'kaiming' / 'xavier' options do: backbone convolutions Kaiming-normal (fan-out, ReLU gain), FPN convolutions
Xavier-uniform with zero biases. The head keeps N(0, 0.01) and the prior bias either way. The last line printed is
JSON with `train_s`.
"""
import importlib.util
import json
import os
import sys
import time

if len(sys.argv) < 7:
    sys.exit(__doc__)
ref_path = sys.argv[1]
sys.argv = sys.argv[1:]
init = os.environ.get('INIT', 'pytorch')
if init not in ('pytorch', 'mmdet'):
    sys.exit(f'INIT must be pytorch or mmdet, got {init!r}')
spec = importlib.util.spec_from_file_location('reference', ref_path)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

if init == 'mmdet':
    ReferenceNet = ref.Net

    class MmdetInitNet(ReferenceNet):
        def __init__(self):
            super().__init__()
            for name in ['stem', 'l1', 'l2', 'l3', 'l4']:
                for m in getattr(self, name).modules():
                    if isinstance(m, nn.Conv2d):
                        nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            for m in list(self.lat) + list(self.sm):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    ref.Net = MmdetInitNet

_, train_imgs, train_gts, _ = ref.load('train')
val_ids, val_imgs, _, cats = ref.load('val')
t0 = time.time()
net = ref.train(train_imgs, train_gts)
train_s = time.time() - t0
results = ref.predict(net, val_ids, val_imgs, cats)
with open(ref.OUT, 'w') as f:
    json.dump(results, f)
print(json.dumps({'cls': ref.CLS, 'box': ref.BOX, 'seed': ref.SEED, 'iters': ref.ITERS, 'init': init,
                  'train_s': round(train_s, 1), 'detections': len(results)}))
