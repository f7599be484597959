"""PyTorch references of CALF, calibration-aware CALF and their losses, for parity tests and the
speed benchmark.

Written from the method as the official SoccerNet code defines it (`Benchmarks/CALF/src/model.py`,
`loss.py`; `Benchmarks/CALF_Calibration*/src/model.py`), with its layer names and layouts
(inputs [B, 1, T, D] through Conv2d layers, Conv3d on [B, C, T, H, W] top views, PyTorch
Geometric's DeeperGCN written out with scatter operations), so that state dicts have the official
keys and shapes. torch is imported here: import this module only after
`pytest.importorskip("torch")`.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

PYRAMID = ((7, 4), (3, 8), (2, 16), (1, 32))  # (receptive-field divisor, channels per multiplier)


def _pad(kernel: int) -> nn.ZeroPad2d:
    return nn.ZeroPad2d((0, 0, (kernel - 1) // 2, kernel - 1 - (kernel - 1) // 2))


class GENConv(nn.Module):
    """GENConv with softmax aggregation over an edge list (PyG's, 2-layer MLP with LayerNorm)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.t = nn.Parameter(torch.ones(1))
        self.mlp = nn.Sequential(nn.Linear(hidden, 2 * hidden), nn.LayerNorm(2 * hidden), nn.ReLU(),
                                 nn.Linear(2 * hidden, hidden))

    def forward(self, x, edge_index):
        source, target = edge_index
        messages = F.relu(x[source]) + 1e-7
        logits = messages * self.t
        shift = torch.full_like(x, -math.inf).scatter_reduce(0, target[:, None].expand_as(logits), logits, "amax")
        weights = torch.exp(logits - shift[target])
        total = torch.zeros_like(x).index_add(0, target, weights)
        aggregated = torch.zeros_like(x).index_add(0, target, weights * messages) / total.clamp_min(1e-30)
        aggregated = torch.where(total > 0, aggregated, torch.zeros_like(aggregated))
        return self.mlp(x + aggregated)


class DeepGCNLayer(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.conv = GENConv(hidden)
        self.norm = nn.LayerNorm(hidden)


class TorchCALF(nn.Module):
    """The official ContextAwareModel: `context` none | topview_features | topview_images | player_graph."""

    def __init__(self, num_classes=17, input_size=512, chunk_size=240, receptive_field=80, dim_capsule=16,
                 num_detections=15, feature_multiplier=1, context="none", image_size=(32, 64), graph_layers=14,
                 graph_hidden=64, edge_distance=25.0):
        super().__init__()
        self.num_classes, self.dim_capsule, self.num_detections = num_classes, dim_capsule, num_detections
        self.context, self.edge_distance = context, edge_distance
        m = feature_multiplier * (2 if context == "none" else 1)
        kernels = [math.ceil(receptive_field / d) for d, _ in PYRAMID]
        self.conv_1 = nn.Conv2d(1, 64 * m, (1, input_size))
        self.conv_2 = nn.Conv2d(64 * m, 16 * m, (1, 1))
        for i, (k, (_, width)) in enumerate(zip(kernels, PYRAMID), 1):
            setattr(self, f"pad_p_{i}", _pad(k))
            setattr(self, f"conv_p_{i}", nn.Conv2d(16 * m, width * m, (k, 1)))
        if context == "topview_features":
            self.dense_1 = nn.Conv2d(1, 76 * m, (1, 512))
        elif context == "topview_images":
            h, w = image_size
            self.r_conv_1 = nn.Conv3d(3, 16, (1, 5, 5))
            self.r_conv_2 = nn.Conv3d(16, 16 * m, (1, 5, 5))
            pool = (1, int((((h - 4) / 4) - 4) / 2), int((((w - 4) / 4) - 4) / 2))
            self.r_pool = nn.MaxPool3d(pool)
            self.r_pads = [(0, 0, 0, 0, (k - 1) // 2, k - 1 - (k - 1) // 2) for k in kernels]
            for i, (k, (_, width)) in enumerate(zip(kernels, PYRAMID), 1):
                setattr(self, f"r_conv_p_{i}", nn.Conv3d(16 * m, width * m, (k, 1, 1)))
        elif context == "player_graph":
            self.node_encoder = nn.Linear(8, graph_hidden)
            self.edge_encoder = nn.Linear(8, graph_hidden)  # created by the official model, never used
            self.layers = nn.ModuleList([DeepGCNLayer(graph_hidden) for _ in range(graph_layers)])
            self.lin = nn.Linear(graph_hidden, 76 * m)
        width = 152 * feature_multiplier
        self.pad_seg = _pad(3)
        self.conv_seg = nn.Conv2d(width, dim_capsule * num_classes, (3, 1))
        self.batch_seg = nn.BatchNorm2d(chunk_size, momentum=0.01, eps=0.001)
        self.pad_spot = _pad(3)
        self.conv_spot_1 = nn.Conv2d(num_classes * (dim_capsule + 1), 32, (3, 1))
        self.conv_spot_2 = nn.Conv2d(32, 16, (3, 1))
        self.conv_conf = nn.Conv2d(16 * (chunk_size // 8 - 1), num_detections * 2, (1, 1))
        self.conv_class = nn.Conv2d(16 * (chunk_size // 8 - 1), num_detections * num_classes, (1, 1))

    def _features(self, inputs):
        x = F.relu(self.conv_2(F.relu(self.conv_1(inputs))))
        levels = [F.relu(getattr(self, f"conv_p_{i}")(getattr(self, f"pad_p_{i}")(x))) for i in range(1, 5)]
        return torch.cat([x, *levels], 1)

    def _graph(self, nodes, positions, mask):
        """Padded graphs [G, P, ...] -> the official PyG forward on their edge lists -> [G, C]."""
        g, p, _ = nodes.shape
        flat_mask = mask.reshape(-1)
        distance = torch.cdist(positions, positions)
        edges = (distance < self.edge_distance) & mask[:, :, None] & mask[:, None, :] & ~torch.eye(p, dtype=torch.bool)
        graph, target, source = torch.nonzero(edges, as_tuple=True)
        edge_index = torch.stack([graph * p + source, graph * p + target])
        x = self.node_encoder(nodes.reshape(g * p, -1))
        x = self.layers[0].conv(x, edge_index)
        for layer in self.layers[1:]:
            x = x + F.relu(layer.norm(layer.conv(x, edge_index)))  # PyG 1.6.3 "res": no dropout
        x = self.lin(F.dropout(F.relu(self.layers[0].norm(x)), 0.1, self.training))
        x = torch.where(flat_mask[:, None], x, torch.full_like(x, -math.inf)).reshape(g, p, -1).amax(1)
        return torch.where(mask.any(1)[:, None], x, torch.zeros_like(x))

    def _context(self, batch):
        if self.context == "topview_features":
            return F.relu(self.dense_1(batch["topview_features"][:, None]))
        if self.context == "topview_images":
            images = batch["topview_images"].permute(0, 4, 1, 2, 3)  # [B, C, T, H, W]
            x = F.max_pool3d(F.relu(self.r_conv_1(images)), (1, 4, 4))
            x = F.max_pool3d(F.relu(self.r_conv_2(x)), (1, 2, 2))
            levels = [self.r_pool(F.relu(getattr(self, f"r_conv_p_{i}")(F.pad(x, pad))))
                      for i, pad in enumerate(self.r_pads, 1)]
            return torch.cat([self.r_pool(x), *levels], 1).squeeze(-1)
        b, t = batch["graph_nodes"].shape[:2]
        graph = self._graph(batch["graph_nodes"].flatten(0, 1), batch["graph_positions"].flatten(0, 1),
                            batch["graph_mask"].flatten(0, 1))
        return graph.reshape(b, t, -1).permute(0, 2, 1)[..., None]

    def forward(self, batch):
        x = self._features(batch["features"][:, None])
        if self.context != "none":
            x = torch.cat([x, self._context(batch)], 1)
        conv_seg = self.conv_seg(self.pad_seg(x))  # [B, d*C, T, 1]
        b, _, t, _ = conv_seg.shape
        capsules = conv_seg.permute(0, 2, 3, 1).reshape(b, t, self.dim_capsule, self.num_classes)
        segmentation = torch.sqrt(torch.sum(torch.square(torch.sigmoid(self.batch_seg(capsules)) - 0.5), 2)
                                  * 4 / self.dim_capsule)
        reverse = (1 - segmentation)[:, :, None].permute(0, 3, 1, 2)
        y = F.max_pool2d(F.relu(torch.cat([conv_seg, reverse], 1)), (3, 1), (2, 1))
        y = F.max_pool2d(F.relu(self.conv_spot_1(self.pad_spot(y))), (3, 1), (2, 1))
        y = F.max_pool2d(F.relu(self.conv_spot_2(self.pad_spot(y))), (3, 1), (2, 1))
        y = y.reshape(b, -1, 1, 1)
        confidence = torch.sigmoid(self.conv_conf(y).reshape(b, self.num_detections, 2))
        classes = torch.softmax(self.conv_class(y).reshape(b, self.num_detections, self.num_classes), -1)
        return segmentation, torch.cat([confidence, classes], -1)


def context_aware_loss(shifts, score, k, hit_radius=0.1, miss_radius=0.9):
    """The official context-aware loss in its published form: six cases, each a loss times the
    indicator of its interval of the shift (inputs strictly inside (0, 1) keep every case finite)."""
    q = 1 - score
    k0, k1, k2, k3 = k
    zero = torch.zeros_like(q)
    below = lambda x, a: torch.maximum(zero, torch.sign(a - x))
    at_least = lambda x, a: 1 - below(x, a)
    within = lambda x, a, b: at_least(x, a) * below(x, b)
    clamp = lambda x, a, b: torch.minimum(torch.maximum(x, zero + a), zero + b)
    miss, hit = math.log(miss_radius), math.log(1 - hit_radius)
    x = shifts
    return torch.sum(
        below(x, k0) * torch.maximum(zero, -torch.log(q) + miss)
        + within(x, k0, k1) * torch.maximum(zero, -torch.log(q + (1 - q) * (clamp(x, k0, k1) - k0) / (k1 - k0)) + miss)
        + within(x, 0.0, k2) * torch.maximum(zero, -torch.log(1 - q + q * clamp(x, 0.0, k2) / k2) + hit)
        + within(x, k2, k3) * torch.maximum(zero, -torch.log(q + (1 - q) * (clamp(x, k2, k3) - k3) / (k2 - k3)) + miss)
        + at_least(x, k3) * torch.maximum(zero, -torch.log(q) + miss))


def matching_permutation(targets, predictions):
    """The official iterative one-to-one matching, pair by pair in Python: [B, N] prediction per slot."""
    b, n, _ = targets.shape
    permutation = torch.zeros(b, n, dtype=torch.long)
    for i in range(b):
        closeness = 1 - (targets[i, :, 1, None] - predictions[i, None, :, 1]).abs()
        free_columns = set(range(n))
        for wanted in (1.0, 0.0):  # true actions first, then the empty slots
            rows = {r for r in range(n) if float(targets[i, r, 0]) == wanted}
            for _ in range(n):
                if not rows:
                    break
                picks = {r: max(free_columns, key=lambda c: (float(closeness[r, c]), -c)) for r in rows}
                for column in set(picks.values()):
                    pickers = [r for r in rows if picks[r] == column]
                    best = max(pickers, key=lambda r: (float(closeness[r, column]), -r))
                    permutation[i, best] = column
                    rows.discard(best)
                    free_columns.discard(column)
    return permutation


def batched_matching_permutation(targets, predictions):
    """The same matching with whole-batch tensor operations, N rounds per phase, as the official
    SpottingLoss runs it on the GPU (used by the speed benchmark)."""
    alpha = targets[..., 0]
    n = alpha.shape[-1]
    closeness = 1 - (targets[..., 1, None] - predictions[..., None, :, 1]).abs()
    pairs = torch.zeros_like(closeness)
    free_columns = torch.ones_like(alpha)
    for rows in (alpha, 1 - alpha):
        open_rows = rows.clone()
        for _ in range(n):
            masked = closeness * open_rows[..., :, None] * free_columns[..., None, :]
            picks = F.one_hot(masked.argmax(-1), n) * open_rows[..., :, None]
            kept = F.one_hot((picks * masked).argmax(-2), n).transpose(-1, -2)
            new = picks * kept
            pairs = pairs + new
            open_rows = open_rows * (1 - new.sum(-1))
            free_columns = free_columns * (1 - new.sum(-2))
    return pairs.argmax(-1)


def spotting_loss(targets, predictions, lambda_coord=5.0, lambda_noobj=0.5, batched=False):
    matching = batched_matching_permutation if batched else matching_permutation
    with torch.no_grad():
        permutation = matching(targets, predictions.detach())
    matched = torch.gather(predictions, 1, permutation[..., None].expand_as(predictions))
    alpha = targets[..., 0]
    confidence = torch.square(alpha - matched[..., 0])
    return torch.sum(alpha * lambda_coord * torch.square(targets[..., 1] - matched[..., 1]) + alpha * confidence
                     + (1 - alpha) * lambda_noobj * confidence
                     + alpha * torch.square(targets[..., 2:] - matched[..., 2:]).sum(-1))


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet34(nn.Module):
    """torchvision's resnet34 layout (keys conv1, bn1, layer1.0.conv1, ..., fc)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        inplanes = 64
        for stage, blocks in enumerate((3, 4, 6, 3)):
            planes = 64 * 2**stage
            layer = []
            for block in range(blocks):
                layer.append(BasicBlock(inplanes, planes, 2 if stage and not block else 1))
                inplanes = planes
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layer))
        self.fc = nn.Linear(512, 1000)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for stage in range(1, 5):
            x = getattr(self, f"layer{stage}")(x)
        return x.mean((2, 3))
