"""YOLOX-x detector of players, referees and the ball (task tracking_detector).

    python train.py --config configs/tracking/yolox_x.py --workdir runs/yolox_x
    python evaluate.py --workdir runs/yolox_x --split test   # mAP@0.5 and SNMOT-XXX/det/det.txt files

Variants: synthetic (default), baseline (the SoccerNet ByteTrack recipe on real data), tiny (tests).
"""

from configs.tracking import common

VARIANTS = common.DETECTOR_VARIANTS


def get_config(arg=None):
    return common.detector_config(arg, "x")
