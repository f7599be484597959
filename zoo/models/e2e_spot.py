"""E2E-Spot: a RegNetY with temporal shifts per frame, a bidirectional GRU, per-frame classes.

Hong et al., "Spotting Temporally Precise, Fine-Grained Events in Video", ECCV 2022
(`jhong93/spot`, `train_e2e.py::E2EModel`), the SoccerNet 2023 ball-action-spotting baseline:
- every frame of the clip goes through a RegNetY-200MF/800MF whose every block has a GSM (or TSM)
  in front of its first conv, then global average pooling: [batch, time, dim];
- a bidirectional GRU (1 layer, or 3 for `deeper_gru`) with hidden size dim capped at 768;
- dropout (p = 0.5, PyTorch's nn.Dropout default) and a linear layer to K + 1 classes per frame
  (class 0 is background).

The GRU follows PyTorch's nn.GRU (gates r, z, n; separate input and hidden biases; hidden state
zero at both ends; the second direction reads the clip backwards; layers feed each other the
concatenated directions, no dropout between layers) and its init (uniform within
1 / sqrt(hidden)). The input projections of all frames are one matrix product before the
recurrence, which then scans only the hidden-to-hidden product.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
from einops import rearrange

from zoo.models.regnet import RegNetSpec, RegNetY, regnet_spec
from zoo.models.temporal_shift import check_shift, torch_default_bias_init, torch_default_kernel_init

MAX_GRU_HIDDEN = 768  # E2E-Spot's cap (the width of a RegNetY-800MF)


class GRUDirection(nn.Module):
    """One direction of one nn.GRU layer.

    Parameters (PyTorch's, transposed): `input_kernel` [in, 3 * hidden], `input_bias`,
    `recurrent_kernel` [hidden, 3 * hidden], `recurrent_bias`, gate blocks in the order r, z, n.

    Call: x [batch, time, in] -> hidden states [batch, time, hidden].
    """

    hidden: int
    reverse: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        bound = 1.0 / math.sqrt(self.hidden)
        init = lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound)  # noqa: E731
        h3 = 3 * self.hidden
        input_kernel = self.param("input_kernel", init, (x.shape[-1], h3))
        input_bias = self.param("input_bias", init, (h3,))
        recurrent_kernel = self.param("recurrent_kernel", init, (self.hidden, h3))
        recurrent_bias = self.param("recurrent_bias", init, (h3,))
        projected = jnp.einsum("bti,ig->tbg", x, input_kernel) + input_bias  # [time, batch, 3h]

        def step(h, inputs):
            gates_x = inputs
            gates_h = h @ recurrent_kernel + recurrent_bias
            r = jax.nn.sigmoid(gates_x[:, : self.hidden] + gates_h[:, : self.hidden])
            z = jax.nn.sigmoid(gates_x[:, self.hidden : 2 * self.hidden] + gates_h[:, self.hidden : 2 * self.hidden])
            n = jnp.tanh(gates_x[:, 2 * self.hidden :] + r * gates_h[:, 2 * self.hidden :])
            h = (1.0 - z) * n + z * h
            return h, h

        h0 = jnp.zeros((x.shape[0], self.hidden), x.dtype)
        _, states = jax.lax.scan(step, h0, projected, reverse=self.reverse)
        return rearrange(states, "t b h -> b t h")


class BiGRU(nn.Module):
    """nn.GRU(bidirectional=True, batch_first=True, num_layers=layers) without dropout.

    Modules `l<layer>_forward`, `l<layer>_backward`.
    Call: x [batch, time, in] -> [batch, time, 2 * hidden] (forward states, then backward).
    """

    hidden: int
    layers: int = 1

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in range(self.layers):
            forward = GRUDirection(self.hidden, name=f"l{layer}_forward")(x)
            backward = GRUDirection(self.hidden, reverse=True, name=f"l{layer}_backward")(x)
            x = jnp.concatenate([forward, backward], axis=-1)
        return x


class E2ESpot(nn.Module):
    """RegNetY (+ GSM/TSM) per frame, a bidirectional GRU and per-frame (K + 1)-way logits.

    Attributes:
      num_classes: foreground classes K; the logits have K + 1 columns, column 0 background.
        The team-joint variant of Team-BAS uses K = 2 * classes (class x team columns).
      backbone: "regnety_002" or "regnety_008" (or a RegNetSpec, for small test models); module
        `backbone`, the tree `zoo.convert.timm_regnet` writes.
      temporal_shift: "gsm" (E2E-Spot's `rny*_gsm`), "tsm" or "none", in every backbone block.
      hidden_dim: GRU hidden size; 0 takes the backbone's feature size capped at 768 (E2E-Spot).
      gru_layers: 1 (`gru`) or 3 (`deeper_gru`).
      dropout_rate: before the classifier (E2E-Spot: nn.Dropout(), p = 0.5).

    Call: frames [batch, time, height, width, 3] float32, ImageNet-normalised, train ->
      {"class_logits": [batch, time, num_classes + 1]}. Dropout draws from the "dropout" rng;
      BatchNorm statistics are the mutable `batch_stats` collection in training.
    """

    num_classes: int
    backbone: str | RegNetSpec = "regnety_002"
    temporal_shift: str = "gsm"
    hidden_dim: int = 0
    gru_layers: int = 1
    dropout_rate: float = 0.5
    remat: bool = False  # recompute each backbone block in the backward pass

    @nn.compact
    def __call__(self, frames: jax.Array, *, train: bool) -> dict[str, jax.Array]:
        if frames.ndim != 5:
            raise ValueError(f"E2ESpot expects frames [batch, time, height, width, 3]; got shape {frames.shape}.")
        if check_shift(self.temporal_shift) == "gsf":
            raise ValueError("E2E-Spot uses temporal_shift 'gsm', 'tsm' or 'none' (GSF is T-DEED's).")
        spec = regnet_spec(self.backbone)
        batch, clip_len = frames.shape[:2]
        features = RegNetY(spec, self.temporal_shift, shift_stages=(1, 2, 3, 4), remat=self.remat, name="backbone")(
            rearrange(frames, "b t h w c -> (b t) h w c"), clip_len, train=train)
        features = rearrange(features, "(b t) d -> b t d", b=batch)
        hidden = self.hidden_dim or min(spec.num_features, MAX_GRU_HIDDEN)
        states = BiGRU(hidden, self.gru_layers, name="gru")(features)
        states = nn.Dropout(self.dropout_rate, deterministic=not train)(states)
        classifier = nn.Dense(self.num_classes + 1, kernel_init=torch_default_kernel_init,
                              bias_init=torch_default_bias_init(2 * hidden), name="classifier")
        return {"class_logits": classifier(states)}
