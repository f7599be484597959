"""A light keypoint and line heatmap network for camera calibration: ResNet-18 with a feature
pyramid merged at stride 4, one backbone for both heads (57 keypoints + background and 23 lines +
background at stride 2, softmax), the same targets, solver and evaluation as hrnet.py.

    python train.py --config configs/calibration/resnet_fpn.py --workdir runs/calib_fpn

Variants after the colon: synthetic (default: trains on 2 CPU cores on the synthetic images at
224x128 with a 64-channel pyramid), baseline (960x540, the published training recipe with this
backbone), tiny (see common.py).
"""

from configs.calibration import common

VARIANTS = common.VARIANTS


def get_config(arg: str | None = None):
    variant = arg or "synthetic"
    config = common.base(variant)
    config.model.backbone = "resnet_fpn"
    config.model.resnet_depth = 18
    config.model.width = 128  # FPN channels
    config.model.separate_networks = False
    if variant == "synthetic":
        config.model.width = 64
    elif variant == "tiny":
        config.model.width = 16
        config.model.resnet_depth = 10  # one block per stage: a quick compile
    return config
