"""Pseudo-labels of the training crops from the pose and recogniser stages (see
zoo/tasks/jersey_pseudo_labels.py): the label file the legibility classifier (and, as weak labels,
the recogniser) trains on when the data has no per-crop truth.

    python evaluate.py --config configs/jersey/pseudo_labels.py --workdir runs/jersey_labels --split train \
        --config.data.manual_dir=/data/SoccerNet/jersey-2023 \
        --config.pipeline.pose=runs/jersey_pose --config.pipeline.recogniser=runs/jersey_parseq
    # -> runs/jersey_labels/predictions/train/crop_labels.json
    python train.py --config configs/jersey/legibility.py:baseline ... --config.data.labels=<that file>
"""

from configs.jersey import common

VARIANTS = common.VARIANTS


def get_config(arg=None):
    variant = common.variant_of(arg)
    config = common.jersey_config("jersey_pseudo_labels", variant)
    config.pipeline.pose = ""  # run of configs/jersey/pose.py
    config.pipeline.recogniser = ""  # run of configs/jersey/parseq.py or crnn.py
    config.eval.split = "train"
    config.eval.confidence = 0.9  # P(most probable number) that makes a crop legible
    config.eval.keypoint_threshold = 0.4
    config.eval.torso_padding = 5.0
    if variant == "tiny":
        common.shrink_to_tiny(config)
    return config
