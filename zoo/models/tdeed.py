"""T-DEED: RegNetY + GSF per frame, a temporal encoding, an SGP-Mixer encoder-decoder and heads.

Xarles et al., "T-DEED: Temporal-Discriminability Enhancer Encoder-Decoder for Precise Event
Spotting in Sports Videos", CVPRW 2024 (`arturxe2/T-DEED`; `SoccerNet/sn-teamspotting`, the 2025
Team-BAS baseline, `model/model.py::TDEEDModel.Impl`):
- each frame goes through a RegNetY whose blocks in stages 3 and 4 have a Gate-Shift-Fuse in
  front of their first conv, then global average pooling: [batch, clip_len, dim];
- a learnable temporal encoding [clip_len, dim] (init normal with std 1 / clip_len) is added;
- the SGP-Mixer encoder-decoder (zoo.models.sgp) with `n_layers` levels, kernel `sgp_kernel`
  and window factor `sgp_r`;
- heads, each a dropout (p = 0.5, a mask of its own) and a linear layer per frame:
  classes (K + 1, softmax, column 0 background), displacement (1: the offset t - e from frame t
  to the event e it belongs to, |t - e| <= radi_displacement, trained with MSE) and team
  (1 logit: sigmoid = probability of "right"; left = (1 - p) * p_class, right = p * p_class).

The team-joint Team-BAS variant is `num_classes = 2 * K` (class x team columns) with
`team_head=False`. The clip length is fixed by the temporal encoding (and the GSF's view of time):
frames must have exactly `clip_len` frames, as in the original (which pads shorter clips).
"""

from __future__ import annotations

import flax.linen as nn
import jax
from einops import rearrange

from zoo.models.regnet import RegNetSpec, RegNetY, regnet_spec
from zoo.models.sgp import SGPEncoderDecoder
from zoo.models.temporal_shift import check_shift, torch_default_bias_init, torch_default_kernel_init


class FrameHead(nn.Module):
    """T-DEED's FCLayers: dropout then a linear layer on every frame.

    Call: x [batch, time, dim] -> [batch, time, outputs].
    """

    outputs: int
    dropout_rate: float = 0.5

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool) -> jax.Array:
        x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
        return nn.Dense(self.outputs, kernel_init=torch_default_kernel_init,
                        bias_init=torch_default_bias_init(x.shape[-1]), name="fc")(x)


class TDEED(nn.Module):
    """T-DEED for (team) ball action spotting.

    Attributes:
      num_classes: foreground classes K (the class head has K + 1 columns); 2 * K for the
        team-joint variant.
      clip_len: frames per clip (the temporal encoding's length).
      backbone: "regnety_002" or "regnety_008" (or a RegNetSpec); module `backbone`, the tree
        `zoo.convert.timm_regnet` writes.
      temporal_shift: "gsf" (T-DEED's `rny*_gsf`), "gsm" or "none"; in the blocks of stages 3-4.
      n_layers, sgp_kernel, sgp_r: the encoder-decoder's levels, SGP kernel size and window factor.
      displacement: add the displacement head (T-DEED: when radi_displacement > 0).
      team_head: add the team head (T-DEED's `event_team`).
      dropout_rate: of each head.

    Call: frames [batch, clip_len, height, width, 3] float32, ImageNet-normalised, train ->
      {"class_logits": [batch, clip_len, num_classes + 1],
       "displacement": [batch, clip_len] (if displacement),
       "team_logits": [batch, clip_len] (if team_head)}.
    """

    num_classes: int
    clip_len: int
    backbone: str | RegNetSpec = "regnety_002"
    temporal_shift: str = "gsf"
    n_layers: int = 2
    sgp_kernel: int = 9
    sgp_r: float = 4.0
    displacement: bool = True
    team_head: bool = True
    dropout_rate: float = 0.5
    remat: bool = False  # recompute each backbone block in the backward pass

    @nn.compact
    def __call__(self, frames: jax.Array, *, train: bool) -> dict[str, jax.Array]:
        if frames.ndim != 5 or frames.shape[1] != self.clip_len:
            raise ValueError(
                f"TDEED expects frames [batch, {self.clip_len}, height, width, 3]; got shape {frames.shape}.")
        if check_shift(self.temporal_shift) == "tsm":
            raise ValueError("T-DEED uses temporal_shift 'gsf', 'gsm' or 'none'.")
        spec = regnet_spec(self.backbone)
        batch = frames.shape[0]
        features = RegNetY(spec, self.temporal_shift, shift_stages=(3, 4), remat=self.remat, name="backbone")(
            rearrange(frames, "b t h w c -> (b t) h w c"), self.clip_len, train=train)
        features = rearrange(features, "(b t) d -> b t d", b=batch)
        encoding = self.param("temporal_encoding", nn.initializers.normal(1.0 / self.clip_len),
                              (self.clip_len, spec.num_features))
        features = SGPEncoderDecoder(self.n_layers, self.sgp_kernel, self.sgp_r, name="temporal")(
            features + encoding)
        outputs = {"class_logits": FrameHead(self.num_classes + 1, self.dropout_rate, name="class_head")(
            features, train=train)}
        if self.displacement:
            outputs["displacement"] = FrameHead(1, self.dropout_rate, name="displacement_head")(
                features, train=train)[..., 0]
        if self.team_head:
            outputs["team_logits"] = FrameHead(1, self.dropout_rate, name="team_head")(features, train=train)[..., 0]
        return outputs
