"""E2E-Spot (the 2023 Ball Action Spotting baseline): RegNetY + gated shift module per frame and a
bidirectional GRU, per-frame softmax over background + classes.

    python train.py --config configs/ball_spotting/e2e_spot.py --workdir runs/e2e
    python train.py --config configs/ball_spotting/e2e_spot.py:baseline \
        --config.data.manual_dir=/data/SoccerNet --config.data.dataset=2023 --workdir runs/e2e

Variants after the colon: synthetic (default), baseline, tiny, pretrain (see common.py).
"""

from configs.ball_spotting import common

VARIANTS = common.VARIANTS


def get_config(arg: str | None = None):
    variant = arg or "synthetic"
    config = common.base(variant)
    config.model.name = "e2e_spot"
    config.model.temporal_shift = "gsm"
    config.model.hidden_dim = 0  # GRU width; 0: the backbone's feature width capped at 768
    config.model.gru_layers = 1  # 3: E2E-Spot's deeper GRU
    # No team head: on the 2025 data the team is folded into the label (12 x 2 + 1 classes).
    config.model.team_mode = "none" if variant == "pretrain" else "joint"
    config.loss.displacement_weight = 0.0  # E2E-Spot has no displacement head
    config.loss.displacement_radius = 0
    config.eval.postprocessing = "nms"
    config.eval.nms_window = 12  # E2E-Spot ball: 25 frames at 25 fps ~ +-12 at stride 1
    config.init_from_exclude = ("class_head",)
    if variant == "baseline":
        # E2E-Spot defaults: 224x398 frames, crop 224, clip 100 at 25 fps, batch 8, AdamW 1e-3.
        config.data.dataset = "2023"
        config.data.frame_size = (224, 398)
        config.augment.crop_size = (224, 224)
        config.data.stride = 1
        config.train.batch_size = 8
        config.optimizer.learning_rate = 1e-3
        config.model.team_mode = "none"
    return config
