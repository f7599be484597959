"""Official YOLOX / ByteTrack checkpoints -> Flax variables of `zoo.models.yolox.YOLOX`.

Reads `yolox_{nano,tiny,s,m,l,x}.pth` (Megvii, COCO: 80 classes) and ByteTrack's
`bytetrack_{s,m,l,x}_mot{17,20}.pth.tar` (1 class), both `{"model": state_dict, ...}`. The Flax
modules carry the PyTorch names (see `zoo.models.yolox`), so conversion is the renaming and layout
change of `zoo.convert.torch_resnet.rename`; every checkpoint key must be used (BatchNorm's
`num_batches_tracked` counters are dropped) and every Flax leaf found, or the error lists what does
not fit. The number of classes is read from the checkpoint's `head.cls_preds.0` rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from zoo.convert.torch_resnet import Conversion, check_consumed, rename, unwrap_state_dict
from zoo.models.yolox import SIZES, YOLOX

ARCHS = tuple(f"yolox_{size}" for size in SIZES)
# The head's nested Sequential (`cls_convs.0.1`) is one Flax module (`cls_convs_0_1`): joining its
# first index makes the keys follow the one-index rule of `torch_key`.
_NESTED = re.compile(r"\b(cls_convs|reg_convs)\.(\d+)\.(\d+)\.")


def _flax_style(key: str) -> str:
    return _NESTED.sub(r"\1_\2.\3.", key)


def num_classes_of(state: Mapping[str, Any]) -> int:
    key = "head.cls_preds.0.weight"
    if key not in state:
        raise ValueError(f"The checkpoint has no {key}: not a YOLOX state dict.")
    return int(state[key].shape[0])


def convert_yolox(checkpoint: Mapping[str, Any], *, arch: str) -> Conversion:
    """A YOLOX state dict (or {"model": state_dict}) -> {"params", "batch_stats"} of
    `YOLOX(num_classes=<checkpoint's>, size=arch without "yolox_")`."""
    if arch not in ARCHS:
        raise ValueError(f"Unknown YOLOX arch {arch!r}; expected one of {', '.join(ARCHS)}.")
    state = unwrap_state_dict(checkpoint)
    model = YOLOX(num_classes=num_classes_of(state), size=arch.removeprefix("yolox_"))
    expected = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1, 64, 64, 3)), train=False))
    renamed = {_flax_style(k): v for k, v in state.items()}
    variables, used, problems = rename(renamed, dict(expected))
    dropped = {k: "BatchNorm update counter" for k in renamed if k.endswith("num_batches_tracked")}
    check_consumed(renamed, used, dropped, problems, arch)
    return Conversion(variables, dropped)
