"""Fields shared by the jersey-number configs (the three stages and the pipeline).

Variants (the argument after the colon):
  synthetic  the default: the built-in synthetic tracklets, sized to train in minutes on a CPU;
  baseline   for the real SoccerNet jersey data, the published recipe (Koshkina & Elder 2024);
  tiny       a seconds-long run for tests.
"""

import ml_collections

from configs import common

VARIANTS = ("synthetic", "baseline", "tiny")


def variant_of(arg) -> str:
    variant = arg or "synthetic"
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; expected one of {VARIANTS}.")
    return variant


def jersey_config(task: str, variant: str) -> ml_collections.ConfigDict:
    config = common.base()
    config.task = task

    config.data = ml_collections.ConfigDict()
    config.data.manual_dir = ""  # the unzipped jersey-2023 tree (train/ test/ challenge/); empty: synthetic
    config.data.data_dir = ""  # TFDS data dir; empty: <workdir>/tfds
    config.data.valid_percent = 30  # train tracklets held out as `valid` (whole tracklets), 0..50
    config.data.read_threads = 2  # threads decoding and augmenting batches ahead of the step
    config.data.synthetic = ml_collections.ConfigDict()  # only used when manual_dir is empty
    config.data.synthetic.tracklets_per_split = {"train": 2000, "test": 120, "challenge": 40}
    config.data.synthetic.frames_per_tracklet = (8, 20)
    config.data.synthetic.image_scale = 1.0
    config.data.synthetic.seed = 0
    if variant == "tiny":
        config.data.synthetic.tracklets_per_split = {"train": 12, "test": 6, "challenge": 3}
        config.data.synthetic.frames_per_tracklet = (3, 5)
        config.data.valid_percent = 30

    config.eval.split = "valid"
    config.eval.batch_size = 64
    config.train.log_every_steps = 50
    config.train.checkpoint_every_steps = 500
    return config


def recognition_config(variant: str) -> ml_collections.ConfigDict:
    """Fields shared by the recogniser configs (parseq.py, crnn.py)."""
    config = jersey_config("jersey_recognition", variant)
    config.data.crop_size = (32, 128)  # (height, width): PARSeq's input (torso crops are stretched)
    config.data.max_label_length = 2  # shirt numbers: at most two digits
    config.data.labels = ""  # a crop-label file (weak labels); empty: the synthetic truth

    config.augment = ml_collections.ConfigDict()
    config.augment.box_scale = 0.1  # torso box size jitter
    config.augment.box_shift = 0.05  # torso box centre jitter, share of its size
    config.augment.brightness = 0.3
    config.augment.contrast = 0.3
    config.augment.blur = 0.2  # probability of a Gaussian blur (sigma 0.4-1.2 px)
    # Colour changes that keep the digits' shapes, so that a tracklet's kit cannot stand for its
    # number (a recogniser trained without them memorised the kits of the training tracklets).
    config.augment.saturation = 0.5
    config.augment.hue = 0.5  # any hue (in turns, +-0.5)
    config.augment.channel_shuffle = 0.5  # probability of permuting the RGB channels
    config.augment.invert = 0.3  # probability of the negative
    config.augment.grey = 0.2  # probability of greyscale
    return config


def shrink_to_tiny(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The loop settings of a seconds-long test run (a stage config calls it last)."""
    config.train.num_steps = 2
    config.train.batch_size = 4
    config.train.log_every_steps = 1
    config.train.checkpoint_every_steps = 2
    config.train.async_checkpoints = False
    config.optimizer.warmup_steps = 0
    config.data.read_threads = 0
    config.eval.batch_size = 8
    return config
