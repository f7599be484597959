"""The jersey-number pipeline: trained stage runs composed, evaluated on a split, batched across tracklets.

    python evaluate.py --config configs/jersey/pipeline.py --workdir runs/jersey --split test \
        --config.pipeline.pose=runs/jersey_pose --config.pipeline.legibility=runs/jersey_legibility \
        --config.pipeline.recogniser=runs/jersey_parseq [--config.pipeline.reid=runs/reid]
    python -m zoo.predict jersey --checkpoint runs/jersey --tracklets FOLDER --out numbers.json \
        --contact-sheet sheet.png

Ablations: `--config.eval.crop=upper_body` (no pose crop), `--config.eval.use_legibility=False`
(no legibility filter), `--config.pipeline.recogniser=runs/jersey_crnn` (CTC instead of PARSeq).
"""

from configs.jersey import common

VARIANTS = common.VARIANTS


def get_config(arg=None):
    variant = common.variant_of(arg)
    config = common.jersey_config("jersey", variant)
    config.pipeline.pose = ""  # run of configs/jersey/pose.py ("workdir" or "workdir:step")
    config.pipeline.legibility = ""  # run of configs/jersey/legibility.py
    config.pipeline.recogniser = ""  # run of configs/jersey/parseq.py or crnn.py
    config.pipeline.reid = ""  # optional: a reid run (configs/reid/*.py), to drop crops of other people

    config.eval.split = "test"
    config.eval.tracklets_per_chunk = 32  # tracklets whose crops go through each model together
    config.eval.max_crops_per_tracklet = 0  # read at most this many crops per tracklet, spread; 0: all
    config.eval.ball_max_height = 35.0  # a tracklet of crops this small on average is a ball (-1)
    config.eval.ball_max_width = 30.0
    config.eval.remove_outliers = True  # with a reid stage: drop crops far from the tracklet's appearance
    config.eval.outlier_threshold = 3.5  # in standard deviations of the distances (Koshkina & Elder: 3.5)
    config.eval.outlier_rounds = 3
    config.eval.crop = "pose"  # pose: torso from the keypoints | upper_body: a fixed box (ablation)
    config.eval.keypoint_threshold = 0.4  # the torso keypoints must score this, else the crop is not read
    config.eval.torso_padding = 5.0  # pixels added left, right and above the torso box
    config.eval.use_legibility = True  # False: read every crop (ablation)
    config.eval.legibility_threshold = 0.5
    config.eval.probability_floor = 1e-3  # no crop gives a number less than this probability
    config.eval.min_confidence = 0.5  # geometric-mean posterior the number needs, else -1
    config.eval.min_legible = 1  # crops that must be read, else -1
    if variant == "tiny":
        common.shrink_to_tiny(config)
        config.eval.tracklets_per_chunk = 4
    return config
