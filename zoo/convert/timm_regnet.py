"""timm `regnety_002` / `regnety_008` state dicts -> Flax variables of the ball-spotting backbone.

The Flax `RegNetY` (zoo.models.regnet) names its modules after timm's keys, so the mapping is the
renaming of `zoo.convert.torch_resnet` (`s1/b1/conv1/bn/mean` <-> `s1.b1.conv1.bn.running_mean`,
conv OIHW -> HWIO, grouped convs included) plus one layout rule: timm's squeeze-excitation `fc1` /
`fc2` are 1x1 convolutions [out, in, 1, 1], here Dense kernels [in, out].

The result is the tree of the `backbone` module of `E2ESpot` and `TDEED`: {"params": {"backbone":
...}, "batch_stats": {"backbone": ...}}. Temporal-shift modules (GSM/GSF `shift`), the temporal
model and the heads are not in an ImageNet checkpoint; `init_from` leaves them freshly initialised.
timm's ImageNet classifier `head.fc.*` is dropped and reported. Every other key must map, and
every backbone leaf must be found, or a ValueError names the keys.

Accepts timm's checkpoints (`pytorch_model.bin`, a `.pth` of `model.state_dict()`, or
`model.safetensors` read by `zoo.convert.cli`), bare or wrapped in {"state_dict": ...} /
{"model": ...}, keys maybe prefixed `module.`. The original pycls key names (`f.a.0` ...) and
E2E-Spot / T-DEED training checkpoints (`_features.` prefixes, `conv1.net.` wrappers) are not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from zoo.convert.torch_resnet import Conversion, check_consumed, rename, unwrap_state_dict
from zoo.models.regnet import REGNETY, RegNetY

SE_KEYS = (".se.fc1.weight", ".se.fc2.weight")


def abstract_backbone(arch: str) -> dict[str, Any]:
    """Shapes of the plain (unshifted) backbone's params and batch_stats, nothing computed."""
    model = RegNetY(arch)
    return jax.eval_shape(
        lambda: model.init(jax.random.key(0), jnp.zeros((1, 32, 32, 3), jnp.float32), train=False)
    )


def squeeze_se_weights(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """timm's SE 1x1 conv weights [out, in, 1, 1] -> Linear weights [out, in]."""
    out = dict(state)
    for key, value in state.items():
        if key.endswith(SE_KEYS) and value.ndim == 4 and value.shape[2:] == (1, 1):
            out[key] = value[:, :, 0, 0]
    return out


def _variant_hint(state: dict[str, np.ndarray], arch: str) -> str:
    """'; is it regnety_008?' when the stage widths in `state` are another known variant's."""
    widths = []
    for stage in range(1, 5):
        key = f"s{stage}.b1.conv3.conv.weight"
        if key not in state:
            return ""
        widths.append(int(state[key].shape[0]))
    fits = [name for name, spec in REGNETY.items() if list(spec.widths) == widths and name != arch]
    return f"; its stage widths {widths} are {' or '.join(fits)}'s" if fits else ""


def convert_regnet(checkpoint: Mapping[str, Any], *, arch: str = "regnety_002") -> Conversion:
    """A timm RegNetY checkpoint -> the variables of `E2ESpot` / `TDEED`'s `backbone`.

    Args:
      checkpoint: a state dict (tensors or arrays) or a dict wrapping one (see unwrap_state_dict).
      arch: "regnety_002" or "regnety_008".

    Returns:
      Conversion({"params": {"backbone": ...}, "batch_stats": {"backbone": ...}}, dropped keys).

    Raises:
      ValueError naming every missing, unexpected or misshapen key.
    """
    if arch not in REGNETY:
        raise ValueError(f"Unknown RegNet {arch!r}; expected one of {', '.join(REGNETY)}.")
    state = squeeze_se_weights(unwrap_state_dict(checkpoint))
    backbone, used, problems = rename(state, abstract_backbone(arch))
    if problems:
        problems[0] += _variant_hint(state, arch)
    dropped = {key: f"ImageNet classifier of timm's {arch}" for key in ("head.fc.weight", "head.fc.bias")
               if key in state}
    check_consumed(state, used, dropped, problems, arch)
    return Conversion(
        {"params": {"backbone": backbone["params"]}, "batch_stats": {"backbone": backbone["batch_stats"]}},
        dropped,
    )
