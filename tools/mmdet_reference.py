"""A reference PyTorch implementation of mmdetection v2's RetinaNet (ResNet + FPN + RetinaHead) at inference,
written from mmdetection v2's documented behaviour, for the parity fixture (mmdetection itself is not a Debian
package, so the `mmdet_retinanet` parity is proved against this module, not against mmdetection's code).

What it reproduces, with mmdetection v2's module names (so its `state_dict()` is an mmdetection checkpoint):
  - `backbone`: ResNet, style 'pytorch' (stride on the 3x3 conv), 7x7/2 stem + BN + ReLU + 3x3/2 max-pool
    (padding 1), BatchNorm in eval mode (`norm_eval=True`); any stage widths (reduced for the fixture);
  - `neck`: FPN, `start_level=1`, laterals `lateral_convs.{i}.conv` (1x1), top-down sum with nearest
    upsampling to the finer level's size, `fpn_convs.{i}.conv` (3x3), then `add_extra_convs='on_input'` (the
    first extra 3x3/2 conv on C5) or 'on_output' (on P5), the next on the previous extra output, with a ReLU
    in between only when `relu_before_extra_convs`;
  - `bbox_head`: RetinaHead, `stacked_convs` x (3x3 conv + ReLU) per branch (`cls_convs.{i}.conv`,
    `reg_convs.{i}.conv`), `retina_cls` (A*K) and `retina_reg` (A*4);
  - AnchorGenerator (v2): base size = stride, scales = octave_base_scale * 2^(i / scales_per_octave) in float32,
    h_ratio = sqrt(ratio), w_ratio = 1 / h_ratio, ws = base * w_ratio * scale (ratio-major, `scale_major`),
    centred on (0, 0) (`center_offset=0`), no rounding, shifted by (x * stride, y * stride), order (y, x, anchor);
  - DeltaXYWHBBoxCoder.decode: d * stds + means, dw/dh clamped to +-|log(wh_ratio_clip)| with wh_ratio_clip =
    16 / 1000, centres from (x1 + x2) / 2, boxes clipped to the resized image (`max_shape=img_shape`);
  - test: per level sigmoid -> scores > score_thr over (anchor, class) pairs -> the nms_pre best, sorted
    (`filter_scores_and_topk`, mmdetection >= 2.18) -> decode -> concatenate -> rescale to the original image
    (divide by the resize factors) -> class-wise NMS at iou_threshold (`batched_nms`: boxes offset by
    class * (max coordinate + 1)) -> max_per_img;
  - preprocessing: mmcv `rescale_size` (factor = min(long / max(h, w), short / min(h, w)), sides
    int(side * factor + 0.5)), bilinear resize with half-pixel centres, (x - mean) / std in 0..255 RGB
    (`to_rgb=True`), zero padding to a multiple of `size_divisor`. mmcv resizes the uint8 image with OpenCV
    (11-bit fixed-point weights, result rounded to uint8); this reference resizes in float32, like ghmdet, so
    the two differ from mmdetection itself by at most about half a grey level per pixel.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import nms

WH_RATIO_CLIP = 16 / 1000


class ConvModule(nn.Module):
    """mmcv's ConvModule without norm: `.conv`, then an optional ReLU."""

    def __init__(self, in_c, out_c, k, stride=1, relu=True):
        super().__init__()
        self.conv = nn.Conv2d(in_c, out_c, k, stride=stride, padding=k // 2, bias=True)
        self.relu = relu

    def forward(self, x):
        y = self.conv(x)
        return F.relu(y) if self.relu else y


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_c, width, stride):
        super().__init__()
        out_c = width * self.expansion
        self.conv1 = nn.Conv2d(in_c, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_c, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_c)
        self.downsample = None
        if stride != 1 or in_c != out_c:
            self.downsample = nn.Sequential(nn.Conv2d(in_c, out_c, 1, stride=stride, bias=False), nn.BatchNorm2d(out_c))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    def __init__(self, stem_channels, widths, blocks):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_c = stem_channels
        self.out_channels = []
        for s, (w, n) in enumerate(zip(widths, blocks)):
            layer = []
            for b in range(n):
                layer.append(Bottleneck(in_c, w, 2 if (b == 0 and s > 0) else 1))
                in_c = w * Bottleneck.expansion
            setattr(self, f"layer{s + 1}", nn.Sequential(*layer))
            self.out_channels.append(in_c)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        outs = []
        for s in range(4):
            x = getattr(self, f"layer{s + 1}")(x)
            outs.append(x)
        return outs


class FPN(nn.Module):
    def __init__(self, in_channels, out_c, add_extra_convs, relu_before_extra_convs, start_level=1, num_outs=5):
        super().__init__()
        self.start_level = start_level
        self.num_outs = num_outs
        self.add_extra_convs = add_extra_convs
        self.relu_before_extra_convs = relu_before_extra_convs
        used = in_channels[start_level:]
        self.lateral_convs = nn.ModuleList([ConvModule(c, out_c, 1, relu=False) for c in used])
        self.fpn_convs = nn.ModuleList([ConvModule(out_c, out_c, 3, relu=False) for _ in used])
        for i in range(num_outs - len(used)):
            in_c = in_channels[-1] if (i == 0 and add_extra_convs == "on_input") else out_c
            self.fpn_convs.append(ConvModule(in_c, out_c, 3, stride=2, relu=False))

    def forward(self, inputs):
        laterals = [conv(inputs[i + self.start_level]) for i, conv in enumerate(self.lateral_convs)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=laterals[i - 1].shape[2:], mode="nearest")
        used = len(laterals)
        outs = [self.fpn_convs[i](laterals[i]) for i in range(used)]
        source = inputs[-1] if self.add_extra_convs == "on_input" else outs[-1]
        outs.append(self.fpn_convs[used](source))
        for i in range(used + 1, self.num_outs):
            x = F.relu(outs[-1]) if self.relu_before_extra_convs else outs[-1]
            outs.append(self.fpn_convs[i](x))
        return outs


class RetinaHead(nn.Module):
    def __init__(self, num_classes, in_c, stacked_convs, feat_c, num_anchors):
        super().__init__()
        self.num_classes = num_classes
        self.cls_convs = nn.ModuleList(
            [ConvModule(in_c if i == 0 else feat_c, feat_c, 3) for i in range(stacked_convs)]
        )
        self.reg_convs = nn.ModuleList(
            [ConvModule(in_c if i == 0 else feat_c, feat_c, 3) for i in range(stacked_convs)]
        )
        last = feat_c if stacked_convs > 0 else in_c
        self.retina_cls = nn.Conv2d(last, num_anchors * num_classes, 3, padding=1)
        self.retina_reg = nn.Conv2d(last, num_anchors * 4, 3, padding=1)

    def forward(self, feats):
        cls_scores, bbox_preds = [], []
        for x in feats:
            c, r = x, x
            for conv in self.cls_convs:
                c = conv(c)
            for conv in self.reg_convs:
                r = conv(r)
            cls_scores.append(self.retina_cls(c))
            bbox_preds.append(self.retina_reg(r))
        return cls_scores, bbox_preds


class AnchorGenerator:
    def __init__(self, octave_base_scale, scales_per_octave, ratios, strides):
        octave_scales = np.array([2 ** (i / scales_per_octave) for i in range(scales_per_octave)])
        self.scales = torch.Tensor(octave_scales * octave_base_scale)
        self.ratios = torch.Tensor(ratios)
        self.strides = strides

    def base_anchors(self, base_size):
        h_ratios = torch.sqrt(self.ratios)
        w_ratios = 1 / h_ratios
        ws = (base_size * w_ratios[:, None] * self.scales[None, :]).view(-1)
        hs = (base_size * h_ratios[:, None] * self.scales[None, :]).view(-1)
        return torch.stack([-0.5 * ws, -0.5 * hs, 0.5 * ws, 0.5 * hs], dim=-1)

    def grid_priors(self, featmap_sizes):
        out = []
        for (h, w), stride in zip(featmap_sizes, self.strides):
            base = self.base_anchors(stride)
            shift_x = torch.arange(0, w) * stride
            shift_y = torch.arange(0, h) * stride
            xx = shift_x.repeat(h)
            yy = shift_y.view(-1, 1).repeat(1, w).view(-1)
            shifts = torch.stack([xx, yy, xx, yy], dim=-1).type_as(base)
            out.append((base[None, :, :] + shifts[:, None, :]).view(-1, 4))
        return out


def delta2bbox(rois, deltas, means, stds, max_shape):
    means = deltas.new_tensor(means).view(1, -1)
    stds = deltas.new_tensor(stds).view(1, -1)
    d = deltas * stds + means
    pxy = (rois[:, :2] + rois[:, 2:]) * 0.5
    pwh = rois[:, 2:] - rois[:, :2]
    max_ratio = abs(math.log(WH_RATIO_CLIP))
    dwh = d[:, 2:].clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + pwh * d[:, :2]
    gwh = pwh * dwh.exp()
    boxes = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], dim=-1)
    boxes[:, 0::2] = boxes[:, 0::2].clamp(min=0, max=max_shape[1])
    boxes[:, 1::2] = boxes[:, 1::2].clamp(min=0, max=max_shape[0])
    return boxes


def batched_nms(boxes, scores, labels, iou_threshold):
    offsets = labels.to(boxes) * (boxes.max() + torch.tensor(1).to(boxes))
    keep = nms(boxes + offsets[:, None], scores, iou_threshold)
    return keep


class RetinaNet(nn.Module):
    """mmdetection v2 `RetinaNet` at inference; `cfg` holds the fields of a merged mmdetection config."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        b, n, h = cfg["backbone"], cfg["neck"], cfg["bbox_head"]
        self.backbone = ResNet(b["stem_channels"], b["widths"], b["blocks"])
        self.neck = FPN(self.backbone.out_channels, n["out_channels"], n["add_extra_convs"], n["relu_before_extra_convs"])
        ag = h["anchor_generator"]
        self.anchor_generator = AnchorGenerator(ag["octave_base_scale"], ag["scales_per_octave"], ag["ratios"], ag["strides"])
        num_anchors = len(ag["ratios"]) * ag["scales_per_octave"]
        self.bbox_head = RetinaHead(h["num_classes"], n["out_channels"], h["stacked_convs"], h["feat_channels"], num_anchors)

    def forward_features(self, batch):
        """`batch: [N, 3, H, W]` -> (cls_scores, bbox_preds), per level `[N, A*K, H_l, W_l]`, `[N, A*4, H_l, W_l]`."""
        return self.bbox_head(self.neck(self.backbone(batch)))

    def get_bboxes(self, cls_scores, bbox_preds, img_shapes, scale_factors):
        test = self.cfg["test_cfg"]
        coder = self.cfg["bbox_head"]["bbox_coder"]
        k = self.bbox_head.num_classes
        priors = self.anchor_generator.grid_priors([s.shape[-2:] for s in cls_scores])
        results = []
        for i, (img_shape, sf) in enumerate(zip(img_shapes, scale_factors)):
            boxes_l, scores_l, labels_l = [], [], []
            for cls, reg, anchors in zip(cls_scores, bbox_preds, priors):
                scores = cls[i].permute(1, 2, 0).reshape(-1, k).sigmoid()
                deltas = reg[i].permute(1, 2, 0).reshape(-1, 4)
                valid = scores > test["score_thr"]
                kept = scores[valid]
                idxs = torch.nonzero(valid)
                kept, order = kept.sort(descending=True)
                top = order[: min(test["nms_pre"], idxs.size(0))]
                kept = kept[: top.numel()]
                anchor_idx, labels = idxs[top].unbind(dim=1)
                boxes_l.append(delta2bbox(anchors[anchor_idx], deltas[anchor_idx], coder["target_means"], coder["target_stds"], img_shape))
                scores_l.append(kept)
                labels_l.append(labels)
            boxes = torch.cat(boxes_l) / boxes_l[0].new_tensor(sf)
            scores, labels = torch.cat(scores_l), torch.cat(labels_l)
            if boxes.numel() == 0:
                results.append((boxes, scores, labels))
                continue
            keep = batched_nms(boxes, scores, labels, test["nms"]["iou_threshold"])[: test["max_per_img"]]
            results.append((boxes[keep], scores[keep], labels[keep]))
        return results


def rescale_size(height, width, img_scale):
    """mmcv.rescale_size with keep_ratio: ((new_h, new_w), (w_scale, h_scale))."""
    long_edge, short_edge = max(img_scale), min(img_scale)
    factor = min(long_edge / max(height, width), short_edge / min(height, width))
    new_w, new_h = int(width * float(factor) + 0.5), int(height * float(factor) + 0.5)
    return (new_h, new_w), (new_w / width, new_h / height)


def preprocess(images, img_scale, mean, std, size_divisor):
    """`images`: uint8 RGB `[H, W, 3]` arrays -> (batch [N, 3, Hp, Wp], img_shapes, scale_factors)."""
    resized, shapes, factors = [], [], []
    for img in images:
        (nh, nw), (sw, sh) = rescale_size(img.shape[0], img.shape[1], img_scale)
        t = torch.from_numpy(img.astype(np.float32)).permute(2, 0, 1)[None]
        t = F.interpolate(t, size=(nh, nw), mode="bilinear", align_corners=False)[0]
        t = (t - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
        resized.append(t)
        shapes.append((nh, nw))
        factors.append([sw, sh, sw, sh])
    hp = max(math.ceil(t.shape[1] / size_divisor) * size_divisor for t in resized)
    wp = max(math.ceil(t.shape[2] / size_divisor) * size_divisor for t in resized)
    batch = torch.zeros(len(images), 3, hp, wp)
    for i, t in enumerate(resized):
        batch[i, :, : t.shape[1], : t.shape[2]] = t
    return batch, shapes, factors
