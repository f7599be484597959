"""T-DEED (the 2025 Team Ball Action Spotting baseline): RegNetY-002 + gate-shift-fuse, an SGP-mixer
encoder-decoder over frames, and class, displacement and team heads.

    python train.py --config configs/ball_spotting/tdeed.py --workdir runs/tdeed
    python train.py --config configs/ball_spotting/tdeed.py:baseline \
        --config.data.manual_dir=/data/SoccerNet --workdir runs/tdeed
    # pretrain on SoccerNet-v2 action-spotting videos, then fine-tune on the ball data:
    python train.py --config configs/ball_spotting/tdeed.py:pretrain --workdir runs/tdeed_sn
    python train.py --config configs/ball_spotting/tdeed.py --workdir runs/tdeed_ft \
        --config.init_from=runs/tdeed_sn

Variants after the colon: synthetic (default), baseline, tiny, pretrain (see common.py).
"""

from configs.ball_spotting import common

VARIANTS = common.VARIANTS


def get_config(arg: str | None = None):
    config = common.base(arg or "synthetic")
    config.model.name = "tdeed"
    config.model.temporal_shift = "gsf"
    config.model.n_layers = 2  # encoder-decoder levels (max-pool x2 per level)
    config.model.sgp_kernel = 9
    config.model.sgp_r = 4
    config.eval.postprocessing = "soft_nms"
    config.eval.nms_window = 12
    # Fine-tuning from the 17-class pretraining: its class head does not fit 12 classes.
    config.init_from_exclude = ("class_head",)
    if arg == "tiny":
        config.model.n_layers = 1
        config.model.sgp_kernel = 3
    elif (arg or "synthetic") == "synthetic":
        config.model.sgp_kernel = 5
    return config
