"""Dumps what `compareReference.ts` compares ghmdet against, from a PyTorch implementation of the experiment
suite's shapes RetinaNet: its initial weights, one batch's targets, features, head outputs, the losses of every
classification / regression pair and two pairs' gradients, the BatchNorm running statistics after that forward,
(STEPS > 0) the per-step losses and final weights of STEPS training steps on fixed batches, and (TRAIN > 0) the
weights and validation detections (COCO results) of a model trained by the reference's own `train` for TRAIN
iterations of CE + smooth L1.

    /usr/bin/python3 tools/torch/dump_reference.py REFERENCE.py DATA_DIR OUT_DIR SEED   (env STEPS, TRAIN: 0)

REFERENCE.py is imported as a module (with argv `DATA_DIR - ce sl1 SEED`) and must define `Net` (modules `stem`,
`l1`..`l4`, `lat`, `sm`, `cls`, `box`; forward returning per level (logits [B, A_l, K], deltas [B, A_l, 4])),
`load(split)`, `targets(gt)`, `train(imgs, gts)`, `predict(net, ids, imgs, cats)`, `cls_loss`, `box_loss` (selected by its globals `CLS`, `BOX`), `ghmc` / `ghmr` (EMA
state in `.acc`), `LEVEL_SIZES` and `lr_at(it)`. The batch is the first 8 training images in file order, no
flips; training step k uses images 8k..8k+7, SGD lr `lr_at(k)`, momentum 0.9, weight decay 1e-4, clipping at 5.
OUT_DIR gets `manifest.json` and `data.bin` (little-endian float32, PyTorch layouts; see tensorDump.ts).
"""
import importlib.util
import json
import os
import sys

import numpy as np

ref_path, data_dir, out_dir, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
steps = int(os.environ.get('STEPS', '0'))
train_iters = int(os.environ.get('TRAIN', '0'))
sys.argv = [ref_path, data_dir, os.devnull, 'ce', 'sl1', str(seed)] + ([str(train_iters)] if train_iters > 0 else [])
spec = importlib.util.spec_from_file_location('reference', ref_path)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
import torch  # noqa: E402  (after the reference module has set the thread count)

BATCH = 8
tensors = []
losses = {}


def add(name, t):
    tensors.append((name, np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32))))


def batch_targets(gts):
    t = [ref.targets(g) for g in gts]
    lab, valid, pos, box = (torch.stack([x[i] for x in t]) for i in range(4))
    return lab, valid, pos, box, max(pos.sum().item(), 1.0)


def batch_loss(out, lab, valid, pos, box, npos):
    loss_cls, loss_box, off = 0, 0, 0
    for (c, d), m in zip(out, ref.LEVEL_SIZES):
        sl = slice(off, off + m)
        off += m
        loss_cls = loss_cls + ref.cls_loss(c, lab[:, sl], valid[:, sl], npos)
        loss_box = loss_box + ref.box_loss(d, box[:, sl], pos[:, sl], npos)
    return loss_cls, loss_box


def reset_loss_states(cls, box):
    ref.CLS, ref.BOX = cls, box
    ref.ghmc.acc.zero_()
    ref.ghmr.acc.zero_()


def fresh_net():
    torch.manual_seed(seed)
    return ref.Net()


net = fresh_net()
for k, v in net.state_dict().items():
    if not k.endswith('num_batches_tracked'):
        add('init/' + k, v)
_, imgs, gts, _ = ref.load('train')
x = imgs[:BATCH].clone()
add('input/images', x)
lab, valid, pos, box, npos = batch_targets(gts[:BATCH])
batch_npos = npos
for name, t in [('labels', lab), ('valid', valid), ('pos', pos), ('box', box)]:
    add('targets/' + name, t.float())

feats = {}
for name, module in [('C3', net.l2), ('C4', net.l3), ('C5', net.l4)] + [(f'P{i + 3}', m) for i, m in enumerate(net.sm)]:
    module.register_forward_hook(lambda m, i, o, name=name: feats.__setitem__(name, o))
net.train()
out = net(x)
for k, v in feats.items():
    add('feats/' + k, v)
for level, (c, d) in enumerate(out):
    add(f'out/cls{level}', c)
    add(f'out/box{level}', d)
for cls in ['ce', 'fl', 'ghmc']:
    for bx in ['sl1', 'ghmr']:
        reset_loss_states(cls, bx)
        lc, lb = batch_loss(out, lab, valid, pos, box, npos)
        losses[f'{cls}+{bx}'] = [float(lc), float(lb)]
        if (cls, bx) in [('ce', 'sl1'), ('ghmc', 'ghmr')]:
            net.zero_grad()
            (lc + lb).backward(retain_graph=True)
            for k, p in net.named_parameters():
                add(f'grad_{cls}_{bx}/' + k, p.grad)
for k, v in net.state_dict().items():
    if 'running' in k:
        add('after/' + k, v)

for cls, bx in [('ce', 'sl1'), ('ghmc', 'ghmr')] if steps > 0 else []:
    reset_loss_states(cls, bx)
    net = fresh_net()
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4)
    log = []
    for it in range(steps):
        lab, valid, pos, box, npos = batch_targets(gts[BATCH * it:BATCH * (it + 1)])
        for group in opt.param_groups:
            group['lr'] = ref.lr_at(it)
        lc, lb = batch_loss(net(imgs[BATCH * it:BATCH * (it + 1)]), lab, valid, pos, box, npos)
        opt.zero_grad()
        (lc + lb).backward()
        norm = torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        log.append([float(lc), float(lb), float(norm)])
    for k, v in net.state_dict().items():
        if not k.endswith('num_batches_tracked'):
            add(f'steps_{cls}_{bx}/' + k, v)
    losses[f'steps_{cls}_{bx}'] = log

predictions = None
if train_iters > 0:
    reset_loss_states('ce', 'sl1')
    trained = ref.train(imgs, gts)
    for k, v in trained.state_dict().items():
        if not k.endswith('num_batches_tracked'):
            add('trained/' + k, v)
    val_ids, val_imgs, _, cats = ref.load('val')
    predictions = ref.predict(trained, val_ids, val_imgs, cats)

os.makedirs(out_dir, exist_ok=True)
manifest, offset = [], 0
with open(os.path.join(out_dir, 'data.bin'), 'wb') as f:
    for name, a in tensors:
        f.write(a.tobytes())
        manifest.append({'name': name, 'shape': list(a.shape), 'offset': offset})
        offset += a.size * 4
with open(os.path.join(out_dir, 'manifest.json'), 'w') as f:
    json.dump({'tensors': manifest, 'losses': losses, 'numPos': batch_npos, 'steps': steps,
               'trainIters': train_iters, 'predictions': predictions}, f)
print(json.dumps({'tensors': len(manifest), 'losses': {k: v for k, v in losses.items() if '+' in k}}))
