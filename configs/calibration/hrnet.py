"""HRNetV2 keypoint and line heatmap networks with a camera solver (No Bells Just Whistles /
PnLCalib): two HRNetV2-W48 networks at 960x540, 57 keypoints + background and 23 lines +
background at stride 2, softmax, MSE on Gaussian targets, Adam 1e-3 with plateau decay.

    python train.py --config configs/calibration/hrnet.py --workdir runs/calib_hrnet
    python train.py --config configs/calibration/hrnet.py:baseline \
        --config.data.manual_dir=/data/SoccerNet/calibration-2023 --workdir runs/calib_hrnet \
        --config.init_from=weights/hrnet_w48

Variants after the colon: synthetic (default: HRNet-W18 sharing one backbone, 320x180; slow on a
CPU, see resnet_fpn.py for the light model), baseline, tiny (see common.py). To start from the
published weights: `python -m zoo.convert --arch pnlcalib --input SV_kp --lines-input SV_lines
--output weights/pnlcalib`, with `--config.model.line_activation=sigmoid
--config.data.line_target=ends` (PnLCalib's line network predicts line ends).
"""

from configs.calibration import common

VARIANTS = common.VARIANTS


def get_config(arg: str | None = None):
    variant = arg or "synthetic"
    config = common.base(variant)
    config.model.backbone = "hrnet"
    if variant == "synthetic":
        config.model.width = 18
        config.model.separate_networks = False
    elif variant == "tiny":
        config.model.width = 4
        config.model.separate_networks = False
    return config
