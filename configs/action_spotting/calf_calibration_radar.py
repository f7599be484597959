"""Calibration-aware CALF with top views through 3-D convolutions (Cioppa et al., CVPRW 2021):
each frame's players, placed on the pitch by its calibration, drawn on a small top view ("radar",
64 x 32: pitch lines, the outline of the visible part of the pitch, players as 2 x 2 squares in
their colour), then per-frame 5 x 5 convolutions and pooling and CALF's temporal pyramid in 3-D
(152 channels next to the 152 of the feature branch). It spots the 8 patterned classes.

    python train.py --config configs/action_spotting/calf_calibration_radar.py --workdir runs/calf_radar

`baseline` is the published command of the official CALF_Calibration README (`--backbone_player
3DConv --calibration --calibration_field --calibration_cone --feature_multiplier 2 --class_split
visual`); `--config.data.topview.mode=binary` gives the binary-channel views (`--calibration_physic`).
"""

import ml_collections

from configs.action_spotting.calf import calf_config


VARIANTS = ("synthetic", "tiny", "baseline")


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    config = calf_config(arg or "synthetic", context="topview_images")
    config.data.classes = "patterned"
    config.model.feature_multiplier = 2
    return config
