"""T-DEED with team folded into the label (12 classes x 2 teams + background = 25 outputs), no team head.

    python train.py --config configs/ball_spotting/tdeed_team_joint.py --workdir runs/tdeed_joint

The class columns follow the official 2025 evaluator: column 1 + 2k + team (left 0, right 1).
Variants after the colon: synthetic (default), baseline, tiny (see common.py).
"""

from configs.ball_spotting import tdeed

VARIANTS = tuple(v for v in tdeed.VARIANTS if v != "pretrain")  # no teams in SoccerNet-v2


def get_config(arg: str | None = None):
    if arg == "pretrain":
        raise ValueError("Pretrain with configs/ball_spotting/tdeed.py:pretrain (no teams in SoccerNet-v2).")
    config = tdeed.get_config(arg)
    config.model.team_mode = "joint"
    config.loss.team_weight = 0.0
    return config
