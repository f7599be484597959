"""YOLOX training targets (SimOTA) and losses, with fixed shapes for jit.

Ground truth comes padded: boxes [batch, G, 4] (cx, cy, w, h in input pixels), classes [batch, G]
and a mask [batch, G] of the real ones. SimOTA (Ge et al. 2021, §2.3), per image:

  1. candidates: anchors whose centre lies inside some ground-truth box or within 2.5 strides of
     its centre;
  2. cost of (gt, anchor) = BCE(sqrt(sigmoid(cls) * sigmoid(obj)), one-hot class) summed over classes
     + 3 * -log(IoU + 1e-8) + 1e5 where the anchor is not both inside the box and near its centre;
  3. dynamic k per gt = max(1, int(sum of its 10 largest candidate IoUs)); each gt takes its k
     cheapest candidates; an anchor taken by several gts keeps the cheapest gt.

Losses, each summed over the batch and divided by the number of foreground anchors (at least 1):
5 x IoU loss (1 - IoU^2) of the foreground boxes, BCE of objectness against the foreground mask
over all anchors, BCE of the foreground class logits against one-hot x IoU, plus (optionally, the
official recipe's last epochs) an L1 loss on the raw box regression. The assignment uses the
predictions without gradient, as the official code does (it runs under no_grad).

Padding never changes the result: padded gts take part in nothing (masked rows), and a real gt
with no candidate anchor takes none.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from zoo.models.yolox import anchor_points

CENTER_RADIUS = 2.5
TOPK_CANDIDATES = 10
IOU_COST_WEIGHT = 3.0
OUTSIDE_COST = 1e5
NOT_CANDIDATE_COST = 1e8  # larger than any real cost: never among a gt's cheapest
REG_WEIGHT = 5.0


def box_iou_cxcywh(a: jax.Array, b: jax.Array) -> jax.Array:
    """IoU of every pair: [n, 4] x [m, 4] (cx, cy, w, h) -> [n, m] (YOLOX's `bboxes_iou`)."""
    tl = jnp.maximum(a[:, None, :2] - a[:, None, 2:] / 2, b[None, :, :2] - b[None, :, 2:] / 2)
    br = jnp.minimum(a[:, None, :2] + a[:, None, 2:] / 2, b[None, :, :2] + b[None, :, 2:] / 2)
    inside = jnp.all(tl < br, axis=-1)
    inter = jnp.prod(br - tl, axis=-1) * inside
    return inter / (jnp.prod(a[:, 2:], -1)[:, None] + jnp.prod(b[:, 2:], -1)[None, :] - inter)


def _bce_with_logits(logits: jax.Array, targets: jax.Array) -> jax.Array:
    return jnp.maximum(logits, 0) - logits * targets + jnp.log1p(jnp.exp(-jnp.abs(logits)))


def _log_clamped(p: jax.Array) -> jax.Array:
    return jnp.maximum(jnp.log(p), -100.0)  # torch's binary_cross_entropy clamps log at -100


def simota_assign(
    pred_boxes: jax.Array,
    obj_logits: jax.Array,
    cls_logits: jax.Array,
    gt_boxes: jax.Array,
    gt_classes: jax.Array,
    gt_mask: jax.Array,
    centres: jax.Array,
    strides: jax.Array,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """SimOTA for one image.

    pred_boxes [A, 4] decoded (cx, cy, w, h), obj_logits [A], cls_logits [A, C]; gt_boxes [G, 4],
    gt_classes [G] int, gt_mask [G] bool; centres [A, 2] and strides [A] of the anchors.
    Returns foreground [A] bool, matched gt [A] int (0 where not foreground) and the IoU of each
    foreground anchor's prediction with its gt [A].
    """
    num_classes = cls_logits.shape[-1]
    gx, gy, gw, gh = (gt_boxes[:, i : i + 1] for i in range(4))
    ax, ay = centres[None, :, 0], centres[None, :, 1]
    in_box = (ax > gx - gw / 2) & (ax < gx + gw / 2) & (ay > gy - gh / 2) & (ay < gy + gh / 2)
    radius = CENTER_RADIUS * strides[None, :]
    in_centre = (ax > gx - radius) & (ax < gx + radius) & (ay > gy - radius) & (ay < gy + radius)
    valid = gt_mask[:, None]
    in_box, in_centre = in_box & valid, in_centre & valid
    candidate = jnp.any(in_box | in_centre, axis=0)  # [A]

    iou = box_iou_cxcywh(gt_boxes, pred_boxes) * (candidate[None, :] & valid)  # [G, A]
    p = jnp.sqrt(jax.nn.sigmoid(cls_logits) * jax.nn.sigmoid(obj_logits)[:, None])  # [A, C]
    one_hot = jax.nn.one_hot(gt_classes, num_classes)  # [G, C]
    cls_cost = -(one_hot @ _log_clamped(p).T + (1 - one_hot) @ _log_clamped(1 - p).T)  # [G, A]
    cost = (cls_cost + IOU_COST_WEIGHT * -jnp.log(iou + 1e-8)
            + OUTSIDE_COST * ~(in_box & in_centre))
    cost = jnp.where(candidate[None, :] & valid, cost, NOT_CANDIDATE_COST)

    k = min(TOPK_CANDIDATES, pred_boxes.shape[0])
    top_ious, _ = jax.lax.top_k(iou, k)
    dynamic_k = jnp.maximum(jnp.sum(top_ious, axis=1).astype(jnp.int32), 1)  # [G]
    _, cheapest = jax.lax.top_k(-cost, k)  # [G, k], cheapest first
    chosen = jnp.arange(k)[None, :] < dynamic_k[:, None]
    rows = jnp.arange(cost.shape[0])[:, None]
    matching = jnp.zeros(cost.shape, jnp.int32).at[rows, cheapest].max(chosen.astype(jnp.int32)) > 0
    matching &= candidate[None, :] & valid
    # An anchor matched by several gts goes to the cheapest of all gts (as the official code does).
    several = jnp.sum(matching, axis=0) > 1
    cheapest_gt = jnp.argmin(cost, axis=0)
    matching = jnp.where(several[None, :], rows == cheapest_gt[None, :], matching)
    foreground = jnp.any(matching, axis=0)
    matched = jnp.argmax(matching, axis=0)
    matched_iou = jnp.take_along_axis(iou, matched[None, :], axis=0)[0] * foreground
    return foreground, matched, matched_iou


def yolox_loss(
    raw: jax.Array,
    gt_boxes: jax.Array,
    gt_classes: jax.Array,
    gt_mask: jax.Array,
    *,
    height: int,
    width: int,
    use_l1: bool = False,
) -> tuple[jax.Array, dict[str, tuple[jax.Array, jax.Array]]]:
    """The YOLOX loss of a batch.

    raw: the training outputs [b, A, 5 + C]; gt_*: padded ground truth (module docstring).
    Returns (total loss, metrics as (sum, count) pairs: the parts, foreground anchors per gt).
    """
    cells, strides = anchor_points(height, width)
    cells, strides = jnp.asarray(cells), jnp.asarray(strides)
    centres = (cells + 0.5) * strides[:, None]
    xy = (raw[..., :2] + cells) * strides[:, None]
    wh = jnp.exp(raw[..., 2:4]) * strides[:, None]
    boxes = jnp.concatenate([xy, wh], axis=-1)
    obj, cls = raw[..., 4], raw[..., 5:]

    assign = jax.vmap(simota_assign, in_axes=(0, 0, 0, 0, 0, 0, None, None))
    foreground, matched, matched_iou = jax.lax.stop_gradient(
        assign(boxes, obj, cls, gt_boxes, gt_classes, gt_mask, centres, strides))
    target_boxes = jnp.take_along_axis(gt_boxes, matched[..., None], axis=1)  # [b, A, 4]
    target_classes = jnp.take_along_axis(gt_classes, matched, axis=1)
    num_fg = jnp.maximum(jnp.sum(foreground), 1).astype(jnp.float32)
    fg = foreground.astype(jnp.float32)

    iou = jax.vmap(jax.vmap(lambda a, b: box_iou_cxcywh(a[None], b[None])[0, 0]))(boxes, target_boxes)
    iou_loss = jnp.sum((1 - iou**2) * fg) / num_fg
    obj_loss = jnp.sum(_bce_with_logits(obj, fg)) / num_fg
    cls_target = jax.nn.one_hot(target_classes, cls.shape[-1]) * matched_iou[..., None]
    cls_loss = jnp.sum(_bce_with_logits(cls, cls_target) * fg[..., None]) / num_fg
    total = REG_WEIGHT * iou_loss + obj_loss + cls_loss
    one = jnp.ones((), jnp.float32)
    metrics = {"iou_loss": (REG_WEIGHT * iou_loss, one), "obj_loss": (obj_loss, one),
               "cls_loss": (cls_loss, one),
               "foreground_per_gt": (jnp.sum(foreground).astype(jnp.float32), jnp.sum(gt_mask).astype(jnp.float32))}
    if use_l1:
        l1_target = jnp.concatenate([
            target_boxes[..., :2] / strides[:, None] - cells,
            jnp.log(target_boxes[..., 2:] / strides[:, None] + 1e-8)], axis=-1)
        l1_loss = jnp.sum(jnp.abs(raw[..., :4] - l1_target) * fg[..., None]) / num_fg
        total = total + l1_loss
        metrics["l1_loss"] = (l1_loss, one)
    return total, metrics
