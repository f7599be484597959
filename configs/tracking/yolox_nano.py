"""YOLOX-nano detector of players, referees and the ball (task tracking_detector).

    python train.py --config configs/tracking/yolox_nano.py --workdir runs/yolox_nano
    python evaluate.py --workdir runs/yolox_nano --split test   # mAP@0.5 and SNMOT-XXX/det/det.txt files

Variants: synthetic (default), baseline (the SoccerNet ByteTrack recipe on real data), tiny (tests).
"""

from configs.tracking import common

VARIANTS = common.DETECTOR_VARIANTS


def get_config(arg=None):
    return common.detector_config(arg, "nano")
