"""Fields shared by the tracking configs: the data (detector and pipeline read the same tree) and
the YOLOX detector (task `tracking_detector`; a size file picks the model).

Detector variants (the argument after the colon):
  synthetic  the default: the built-in synthetic SNMOT sequences, sized to train on a CPU;
  baseline   the SoccerNet ByteTrack recipe on real data: YOLOX's SGD (Nesterov momentum 0.9,
             weight decay 5e-4, ByteTrack's fine-tuning rate 0.001 / 64 per image, cosine with
             a warmup), 896x1600 input, 1 class, mosaic, test confidence 0.001, NMS 0.7,
             initialised from ByteTrack's MOT20 weights (convert bytetrack_x_mot20.pth.tar with
             `python -m zoo.convert --arch yolox_x`);
  tiny       a seconds-long run for tests.
"""

import ml_collections

from configs import common

DETECTOR_VARIANTS = ("synthetic", "baseline", "tiny")


def data_config(variant: str) -> ml_collections.ConfigDict:
    """`config.data` of the tree to read: the official one (manual_dir) or the synthetic default.

    The detector's and the pipeline's synthetic defaults are the same, so a pipeline tracks the
    test sequences of the tree its detector was trained on.
    """
    data = ml_collections.ConfigDict()
    data.manual_dir = ""  # the unzipped official `tracking` folder (train/ test/ challenge/); empty: synthetic
    data.data_dir = ""  # TFDS data dir; empty: <workdir>/tfds
    data.synthetic = ml_collections.ConfigDict()  # only used when manual_dir is empty
    data.synthetic.sequences_per_split = {"train": 8, "test": 2, "challenge": 1}
    data.synthetic.frames = 150  # 6 s at 25 fps
    data.synthetic.width = 384
    data.synthetic.height = 216
    data.synthetic.seed = 0
    if variant == "tiny":
        data.synthetic.sequences_per_split = {"train": 1, "test": 1, "challenge": 1}
        data.synthetic.frames = 6
        data.synthetic.width = 96
        data.synthetic.height = 54
    return data


def detector_config(variant: str | None, size: str) -> ml_collections.ConfigDict:
    variant = variant or "synthetic"
    if variant not in DETECTOR_VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; expected one of {DETECTOR_VARIANTS}.")
    config = common.base()
    config.task = "tracking_detector"

    config.data = data_config(variant)
    config.data.height = 224  # model input (multiples of 32); frames are letterboxed into it
    config.data.width = 384
    config.data.pixel_format = "bgr255"  # bgr255 (YOLOX >= 0.2) | rgb_imagenet (YOLOX 0.1, ByteTrack weights)
    config.data.single_class = False  # True: one class (ByteTrack's); False: the gameinfo roles + ball
    # Ground-truth boxes per training image (after mosaic); 0: derived from the training data
    # (the most boxes of a frame, times 4 with mosaic), so no box is ever cut.
    config.data.max_labels = 0
    config.data.read_threads = 2

    config.augment = ml_collections.ConfigDict()  # YOLOX's augmentations; 0 switches one off
    config.augment.mosaic = 0.5  # probability of a 4-image mosaic
    config.augment.scale = (0.5, 1.5)  # random scale of the affine
    config.augment.degrees = 0.0
    config.augment.translate = 0.1
    config.augment.shear = 0.0
    config.augment.hsv = (0.015, 0.7, 0.4)
    config.augment.flip = 0.5

    config.model = ml_collections.ConfigDict()
    config.model.name = "yolox"
    config.model.size = size  # nano | tiny | s | m | l | x
    config.model.num_classes = 0  # 0: derived from data.single_class
    config.model.remat = False  # recompute each CSP bottleneck in the backward pass (less memory)

    config.loss = ml_collections.ConfigDict()
    config.loss.use_l1 = False  # the official recipe adds an L1 box loss in its last 15 epochs

    # From scratch on the synthetic frames, AdamW converges in far fewer steps than YOLOX's SGD
    # (which the baseline variant uses, as published, for fine-tuning on real data).
    config.optimizer.name = "adamw"
    config.optimizer.learning_rate = 2e-3
    config.optimizer.weight_decay = 5e-4
    config.optimizer.schedule = "cosine"
    config.optimizer.warmup_steps = 100
    config.optimizer.end_learning_rate = 1e-5
    config.optimizer.clip_norm = 10.0

    config.train.batch_size = 8
    config.train.num_steps = 1200
    config.train.log_every_steps = 50
    config.train.checkpoint_every_steps = 300

    config.eval = ml_collections.ConfigDict(config.eval.to_dict())
    config.eval.split = "test"
    config.eval.batch_size = 16
    config.eval.conf_thresh = 0.01  # the baseline evaluates at 0.001
    config.eval.nms_thresh = 0.65
    config.eval.class_agnostic_nms = True
    config.eval.class_agnostic_ap = True  # the challenge scores every box alike
    config.eval.max_detections = 100

    if variant == "baseline":
        config.data.height, config.data.width = 896, 1600
        config.data.pixel_format = "rgb_imagenet"
        config.data.single_class = True
        config.model.num_classes = 1  # ByteTrack's MOT weights: one class, "person"
        config.augment.mosaic = 1.0
        config.augment.scale = (0.1, 2.0)
        config.augment.degrees = 10.0
        config.augment.shear = 2.0
        # ByteTrack's fine-tuning recipe (sn-tracking's yolox_x_soccernet_no_gt.py): 48 images a
        # step, one warmup epoch; here ~9 epochs of the 57 SoccerNet training clips (42,750 frames)
        # from the MOT20 weights. Mixup and the last epochs without augmentation (+ L1 loss,
        # config.loss.use_l1) are not in the zoo's schedule.
        config.train.batch_size = 48
        config.train.num_steps = 8_000
        config.optimizer.name = "sgd"
        config.optimizer.momentum = 0.9
        config.optimizer.nesterov = True
        config.optimizer.learning_rate = 0.001 / 64 * 48
        config.optimizer.weight_decay = 5e-4
        config.optimizer.warmup_steps = 890  # one epoch
        config.optimizer.end_learning_rate = 0.05 * 0.001 / 64 * 48  # YOLOX's min_lr_ratio
        config.optimizer.clip_norm = 0.0
        config.eval.conf_thresh = 0.001
        config.eval.nms_thresh = 0.7
    elif variant == "tiny":
        config.data.height, config.data.width = 64, 96
        config.data.read_threads = 0
        config.model.size = "s"
        config.model.depth = 0.33
        config.model.width = 0.125  # a sliver of YOLOX-s: compiles in seconds
        config.train.batch_size = 4
        config.train.num_steps = 3
        config.optimizer.warmup_steps = 0
        config.eval.batch_size = 4
    return config
