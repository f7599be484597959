"""YOLOX-nano detector of players, referees and the ball (task tracking_detector).

    python train.py --config configs/tracking/yolox_nano.py --workdir runs/yolox_nano
    python evaluate.py --config configs/tracking/yolox_nano.py --workdir runs/yolox_nano   # mAP@0.5, det.txt files

Variants: synthetic (default), baseline (the SoccerNet ByteTrack recipe on real data), tiny (tests).
"""

from configs.tracking import common


def get_config(arg=None):
    return common.detector_config(arg, "nano")
