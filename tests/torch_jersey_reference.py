"""PyTorch reference networks of the jersey pipeline, with the published state-dict key names.

Written for the parity tests from the published descriptions and key names (not copied):
torchvision's ResNet-18/34 (BasicBlock: `layer1.0.conv1`, `layer2.0.downsample.0` ...), PARSeq
(`encoder.blocks.0.attn.qkv`, `decoder.layers.0.self_attn.in_proj_weight`, `text_embed.embedding`,
`pos_queries`, `head`; the decoder attention is torch's own nn.MultiheadAttention, so its packed
projection and mask semantics are checked against the real thing), SimpleBaseline's PoseResNet
(`deconv_layers.0`, `final_layer`) and ViTPose (`backbone.patch_embed.proj`, `backbone.last_norm`,
`keypoint_head.deconv_layers.0`). Import after `pytest.importorskip("torch")`.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


# ----------------------------------------------------------------------------- ResNet-18/34


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + identity)


class ResNetBasic(nn.Module):
    """torchvision resnet18 ((2, 2, 2, 2)) / resnet34 ((3, 4, 6, 3)) with `fc`."""

    def __init__(self, layers=(2, 2, 2, 2), num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = 64
        for i, blocks in enumerate(layers):
            planes = 64 * 2**i
            stage = [BasicBlock(inplanes, planes, 1 if i == 0 else 2)]
            stage += [BasicBlock(planes, planes) for _ in range(blocks - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*stage))
            inplanes = planes
        self.fc = nn.Linear(512, num_classes)

    def features(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


class Legibility(nn.Module):
    """Koshkina & Elder's LegibilityClassifier34: a resnet34 under `model_ft` with one output."""

    def __init__(self, layers=(3, 4, 6, 3)):
        super().__init__()
        self.model_ft = ResNetBasic(layers, num_classes=1)

    def forward(self, x):
        return self.model_ft(x)  # the logit (the published forward applies a sigmoid)


# ----------------------------------------------------------------------------- ViT blocks


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        weights = ((q * (d // self.heads) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio=4):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, dim * mlp_ratio)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, dim, patch, padding=0):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch, padding)

    def forward(self, x):
        return self.proj(x)


class Encoder(nn.Module):
    """timm's VisionTransformer without class token (PARSeq's encoder): tokens after `norm`."""

    def __init__(self, image_size, patch, dim, depth, heads, mlp_ratio=4):
        super().__init__()
        self.patch_embed = PatchEmbed(dim, patch)
        n = (image_size[0] // patch[0]) * (image_size[1] // patch[1])
        self.pos_embed = nn.Parameter(torch.randn(1, n, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


# ----------------------------------------------------------------------------- PARSeq


class DecoderLayer(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.linear1 = nn.Linear(dim, dim * mlp_ratio)
        self.linear2 = nn.Linear(dim * mlp_ratio, dim)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.norm_q, self.norm_c = nn.LayerNorm(dim), nn.LayerNorm(dim)

    def stream(self, tgt, tgt_norm, kv, memory, mask, padding):
        tgt = tgt + self.self_attn(tgt_norm, kv, kv, attn_mask=mask, key_padding_mask=padding,
                                   need_weights=False)[0]
        m = self.norm1(tgt)
        tgt = tgt + self.cross_attn(m, memory, memory, need_weights=False)[0]
        return tgt + self.linear2(F.gelu(self.linear1(self.norm2(tgt))))

    def forward(self, query, content, memory, query_mask, content_mask, padding, update_content):
        content_norm = self.norm_c(content)
        query = self.stream(query, self.norm_q(query), content_norm, memory, query_mask, padding)
        if update_content:
            content = self.stream(content, content_norm, content_norm, memory, content_mask, padding)
        return query, content


class Decoder(nn.Module):
    def __init__(self, dim, depth, heads, mlp_ratio):
        super().__init__()
        self.layers = nn.ModuleList([DecoderLayer(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, query, content, memory, query_mask, content_mask, padding):
        for i, layer in enumerate(self.layers):
            query, content = layer(query, content, memory, query_mask, content_mask, padding,
                                   i < len(self.layers) - 1)
        return self.norm(query)


class TokenEmbedding(nn.Module):
    def __init__(self, tokens, dim):
        super().__init__()
        self.embedding = nn.Embedding(tokens, dim)
        self.dim = dim

    def forward(self, x):
        return math.sqrt(self.dim) * self.embedding(x)


class PARSeqReference(nn.Module):
    """PARSeq in eval mode (no dropout); tokens: EOS 0, chars 1..n, BOS n+1, PAD n+2."""

    def __init__(self, charset_size, max_length, image_size=(32, 128), patch=(4, 8), dim=384,
                 enc_depth=12, enc_heads=6, dec_depth=1, dec_heads=12, mlp_ratio=4):
        super().__init__()
        self.max_length, self.n = max_length, charset_size
        self.encoder = Encoder(image_size, patch, dim, enc_depth, enc_heads, mlp_ratio)
        self.decoder = Decoder(dim, dec_depth, dec_heads, mlp_ratio)
        self.head = nn.Linear(dim, charset_size + 1)
        self.text_embed = TokenEmbedding(charset_size + 3, dim)
        self.pos_queries = nn.Parameter(torch.randn(1, max_length + 1, dim) * 0.02)

    def decode(self, tokens, memory, content_mask=None, padding=None, query=None, query_mask=None):
        n, length = tokens.shape
        content = torch.cat([self.text_embed(tokens[:, :1]),
                             self.pos_queries[:, : length - 1] + self.text_embed(tokens[:, 1:])], 1)
        if query is None:
            query = self.pos_queries[:, :length].expand(n, -1, -1)
        return self.decoder(query, content, memory, query_mask, content_mask, padding)

    def read(self, images, refine_iters=1):
        """Greedy autoregressive decoding (all T + 1 steps) then cloze refinement: logits."""
        memory = self.encoder(images)
        b, steps = images.shape[0], self.max_length + 1
        bos, pad = self.n + 1, self.n + 2
        pos = self.pos_queries[:, :steps].expand(b, -1, -1)
        causal = torch.triu(torch.ones(steps, steps, dtype=torch.bool), 1)
        tokens = torch.full((b, steps), pad, dtype=torch.long)
        tokens[:, 0] = bos
        logits = []
        for i in range(steps):
            out = self.decode(tokens[:, : i + 1], memory, causal[: i + 1, : i + 1], None,
                              pos[:, i : i + 1], causal[i : i + 1, : i + 1])
            step = self.head(out)
            logits.append(step)
            if i + 1 < steps:
                tokens[:, i + 1] = step[:, 0].argmax(-1)
        logits = torch.cat(logits, 1)
        cloze = causal.clone()
        cloze[torch.triu(torch.ones(steps, steps, dtype=torch.bool), 2)] = False
        for _ in range(refine_iters):
            tokens = torch.cat([torch.full((b, 1), bos, dtype=torch.long), logits[:, :-1].argmax(-1)], 1)
            padding = (tokens == 0).int().cumsum(-1) > 0
            logits = self.head(self.decode(tokens, memory, causal, padding, pos, cloze))
        return logits

    def training_loss(self, images, tokens, perms):
        """The permutation-LM loss for the given orderings perms [K, T + 2] (BOS first, EOS last)."""
        memory = self.encoder(images)
        tokens_in, targets = tokens[:, :-1], tokens[:, 1:].clone()
        pad, eos = self.n + 2, 0
        padding = (tokens_in == pad) | (tokens_in == eos)
        total, count = 0.0, 0
        for k, perm in enumerate(perms):
            size = perm.shape[0]
            mask = torch.zeros(size, size, dtype=torch.bool)
            for i in range(size):
                mask[perm[i], perm[i + 1 :]] = True
            content_mask = mask[:-1, :-1].clone()
            mask[torch.eye(size, dtype=torch.bool)] = True
            query_mask = mask[1:, :-1]
            logits = self.head(self.decode(tokens_in, memory, content_mask, padding, None, query_mask))
            n = int((targets != pad).sum())
            total = total + n * F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=pad)
            count += n
            if k == 1:
                targets = torch.where(targets == eos, pad, targets)
        return total / count


# ----------------------------------------------------------------------------- pose


def deconv_layers(inplanes, filters):
    layers = []
    for f in filters:
        layers += [nn.ConvTranspose2d(inplanes, f, 4, 2, 1, 0, bias=False), nn.BatchNorm2d(f), nn.ReLU()]
        inplanes = f
    return nn.Sequential(*layers)


class PoseResNet(nn.Module):
    """SimpleBaseline (microsoft/human-pose-estimation.pytorch key names) on a basic-block ResNet."""

    def __init__(self, layers=(2, 2, 2, 2), filters=(256, 256, 256), joints=17):
        super().__init__()
        trunk = ResNetBasic(layers)
        for name in ("conv1", "bn1", "maxpool", "layer1", "layer2", "layer3", "layer4"):
            setattr(self, name, getattr(trunk, name))
        self.deconv_layers = deconv_layers(512, filters)
        self.final_layer = nn.Conv2d(filters[-1], joints, 1)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.final_layer(self.deconv_layers(x))


class ViTPoseBackbone(nn.Module):
    def __init__(self, image_size, dim, depth, heads):
        super().__init__()
        self.patch_embed = PatchEmbed(dim, 16, padding=2)
        grid = ((image_size[0] + 4 - 16) // 16 + 1) * ((image_size[1] + 4 - 16) // 16 + 1)
        self.pos_embed = nn.Parameter(torch.randn(1, grid + 1, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.last_norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x):
        x = self.patch_embed(x)
        b, d, h, w = x.shape
        x = x.flatten(2).transpose(1, 2) + self.pos_embed[:, 1:] + self.pos_embed[:, :1]
        for block in self.blocks:
            x = block(x)
        return self.last_norm(x).transpose(1, 2).reshape(b, d, h, w)


class KeypointHead(nn.Module):
    def __init__(self, inplanes, filters, joints):
        super().__init__()
        self.deconv_layers = deconv_layers(inplanes, filters)
        self.final_layer = nn.Conv2d(filters[-1], joints, 1)

    def forward(self, x):
        return self.final_layer(self.deconv_layers(x))


class ViTPose(nn.Module):
    """ViTPose (mmpose TopDown key names: `backbone.*`, `keypoint_head.*`)."""

    def __init__(self, image_size=(256, 192), dim=384, depth=12, heads=12, filters=(256, 256), joints=17):
        super().__init__()
        self.backbone = ViTPoseBackbone(image_size, dim, depth, heads)
        self.keypoint_head = KeypointHead(dim, filters, joints)

    def forward(self, x):
        return self.keypoint_head(self.backbone(x))
