"""Calibration-aware CALF with top-view features, the calibration paper's best patterned-class
model (Cioppa et al., CVPRW 2021: 41.83 % Average-mAP on the patterned classes, 46.8 % merged):
each frame's 224 x 224 top view (colour composition: black field, white lines and outline of the
visible part of the pitch, players as 8 x 8 squares in their colour) through a frozen ResNet-34 to
512-d features (computed once per half and cached in the workdir), then one fully connected layer
to 152 channels next to the 152 of the feature branch. It spots the 8 patterned classes.

    python train.py --config configs/action_spotting/calf_calibration_topview.py --workdir runs/calf_topview \
        --config.data.topview.backbone_weights=resnet34-b627a593.pth

`baseline` is the published Calib_Best_VIS model (`--with_resnet 34 --with_dense --calibration
--calibration_field --calibration_cone --feature_multiplier 2 --class_split visual`). The
ResNet-34 takes torchvision's ImageNet weights from `config.data.topview.backbone_weights` (the
`.pth` file; without it, random frozen weights, with a warning). The `synthetic` variant renders
112 x 112 views (resize 128, crop 112) so that the features of the synthetic games take minutes
on a CPU; `tiny` is for tests.
"""

import ml_collections

from configs.action_spotting.calf import calf_config


VARIANTS = ("synthetic", "tiny", "baseline")


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    variant = arg or "synthetic"
    config = calf_config(variant, context="topview_features")
    config.data.classes = "patterned"
    config.model.feature_multiplier = 2
    if variant != "tiny":
        config.data.topview.height = 224
        config.data.topview.width = 224
        config.data.topview.player_size = 8
    if variant == "synthetic":
        config.data.topview.height = 112
        config.data.topview.width = 112
        config.data.topview.player_size = 4
        config.data.topview.resize = 128
        config.data.topview.crop = 112
    return config
