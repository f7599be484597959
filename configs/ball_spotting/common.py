"""Fields every ball-spotting model shares: data from video, augmentations, loss, post-processing.

A model config (e2e_spot.py, tdeed.py, tdeed_team_joint.py) starts from `base(variant)` and sets
its `model` fields. Variants: `synthetic` (the default without real data: small synthetic videos,
about ten minutes on 2 CPU cores), `baseline` (the published recipe, for real data on a GPU), `tiny`
(seconds, for tests) and `pretrain` (SoccerNet-v2 action-spotting videos, 17 classes at about
2 fps, to fine-tune from with `--config.init_from`).
"""

import ml_collections

from configs import common

VARIANTS = ("synthetic", "baseline", "tiny", "pretrain")


def base(variant: str) -> ml_collections.ConfigDict:
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; expected one of {VARIANTS}.")
    config = common.base()
    config.task = "ball_spotting"

    config.data = ml_collections.ConfigDict()
    # 2023 (PASS, DRIVE; two halves), 2024 (12 classes), 2025 (12 classes + team), or v2_video
    # (SoccerNet-v2 action-spotting videos, 17 classes) for pretraining.
    config.data.dataset = "2025"
    config.data.manual_dir = ""  # official tree (league/season/game/<video> + labels); empty: synthetic
    config.data.data_dir = ""  # where the TFDS index is built; empty: <workdir>/tfds
    config.data.frame_size = (96, 160)  # (height, width) frames are resized to when decoded
    config.data.stride = 2  # keep every stride-th frame: 25 fps / 2 = 12.5 fps (T-DEED)
    config.data.clip_len = 100  # frames per clip, after striding
    config.data.overlap = 0.9  # fraction of a training clip shared with the next one
    config.data.train_split = "train"
    # Fraction of training clips drawn around a labelled event instead of uniformly along the
    # videos, and how much those events are re-balanced towards rare classes (1: every class as
    # often, 0: natural frequencies). The published recipes sample uniformly (0.0).
    config.data.event_clip_fraction = 0.0
    config.data.event_class_balance = 1.0
    config.data.read_threads = 2  # threads decoding and augmenting clips ahead of the train step
    config.data.synthetic = ml_collections.ConfigDict()  # only used when manual_dir is empty
    config.data.synthetic.games_per_split = {"train": 4, "valid": 1, "test": 2, "challenge": 2}
    config.data.synthetic.video_seconds = 120.0
    config.data.synthetic.test_video_seconds = 0.0  # the test games' length; 0: video_seconds
    config.data.synthetic.events_per_minute = 30.0
    config.data.synthetic.width = 160
    config.data.synthetic.height = 96
    config.data.synthetic.seed = 0

    config.augment = ml_collections.ConfigDict()
    config.augment.flip_p = 0.5  # horizontal flip; swaps the left and right team labels
    config.augment.crop_size = ()  # (height, width) random crop of the decoded frames; () none
    config.augment.camera_motion_p = 0.0  # smooth random rotation + translation over the clip
    config.augment.max_rotation_degrees = 5.0
    config.augment.max_translation = 0.05  # fraction of the frame size
    config.augment.color_jitter_p = 0.0
    config.augment.brightness = 0.2
    config.augment.contrast = 0.2
    config.augment.saturation = 0.2
    config.augment.hue = 0.02
    config.augment.mixup = True  # blend clips and their targets (both recipes use it)
    config.augment.mixup_alpha = 0.2  # Beta(alpha, alpha) weights

    config.model = ml_collections.ConfigDict()
    config.model.name = "tdeed"  # e2e_spot | tdeed
    config.model.backbone = "regnety_002"  # regnety_002 | regnety_008 | regnety_micro (CPU-sized)
    config.model.temporal_shift = "gsf"  # gsf | gsm | tsm | none
    config.model.team_mode = "head"  # none | head (team head, T-DEED) | joint (12x2 + 1 classes)
    config.model.remat = False  # recompute each backbone block in the backward pass (less memory)

    config.loss = ml_collections.ConfigDict()
    config.loss.foreground_weight = 5.0  # cross-entropy weight of every non-background class
    config.loss.focal_gamma = 0.0  # > 0: softmax focal loss instead of cross-entropy
    config.loss.label_expansion = 0  # frames on each side of an event that also get its class
    config.loss.displacement_radius = 4  # frames within which the displacement head is trained (T-DEED)
    config.loss.displacement_weight = 1.0
    config.loss.team_weight = 2.0

    config.optimizer.name = "adamw"
    config.optimizer.learning_rate = 8e-4
    config.optimizer.weight_decay = 0.01
    config.optimizer.schedule = "cosine"  # linear warm-up, then cosine decay

    config.eval.split = "test"
    config.eval.batch_size = 8  # clips per inference batch
    config.eval.overlap = 0.5  # inference clips overlap by this fraction; scores are averaged
    config.eval.postprocessing = "soft_nms"  # soft_nms (T-DEED) | nms (E2E-Spot)
    config.eval.nms_window = 12  # frames at the strided rate on each side of a kept peak
    config.eval.nms_threshold = 0.01
    config.eval.metric = "at1"  # at1 = mAP@1 (Team mAP@1 for 2025); at1..at5, tight

    if variant == "synthetic":
        # Sized for about ten minutes on 2 CPU cores: a micro RegNetY on 64x112 frames (the real
        # recipes use regnety_002 / regnety_008 on 224p-448p frames: the baseline variant).
        config.model.backbone = "regnety_micro"
        config.data.frame_size = (64, 112)
        config.data.clip_len = 24
        config.data.overlap = 0.5
        config.data.synthetic.video_seconds = 300.0  # 4 training games: ~600 events, 6-47 of each rare class
        # 2 test games of 30 min: a few dozen of each rare class, so the metric is steady over seeds.
        config.data.synthetic.test_video_seconds = 1800.0
        # What a short run needs to see the rare classes at all (measured on this variant, README):
        # half the clips hold an event, classes balanced; one frame of label expansion on each
        # side; no mixup; the displacement loss (squared frames) down-weighted so that it does not
        # drown the class loss.
        config.data.event_clip_fraction = 0.5
        config.loss.label_expansion = 1
        config.loss.displacement_weight = 0.2
        config.augment.mixup = False
        config.train.batch_size = 4
        config.train.num_steps = 3000
        config.train.log_every_steps = 50
        config.train.checkpoint_every_steps = 500
        config.optimizer.learning_rate = 2e-3
        config.optimizer.warmup_steps = 100
        config.eval.batch_size = 8
    elif variant == "tiny":
        config.data.synthetic.games_per_split = {"train": 1, "valid": 1, "test": 1, "challenge": 1}
        config.data.synthetic.video_seconds = 120.0  # the shortest game that shows all 12 classes
        config.data.synthetic.width = 64
        config.data.synthetic.height = 48
        config.data.frame_size = (48, 64)
        config.model.backbone = "regnety_micro"
        config.data.clip_len = 8
        config.data.overlap = 0.5
        config.data.read_threads = 0
        config.train.batch_size = 4
        config.train.num_steps = 3
        config.train.log_every_steps = 1
        config.train.checkpoint_every_steps = 2
        config.train.keep_checkpoints = 2
        config.optimizer.warmup_steps = 1
        config.eval.batch_size = 4
        config.eval.overlap = 0.0
    elif variant == "baseline":
        # T-DEED's SoccerNet-Ball recipe: 448x796 frames at stride 2, clips of 100, batch 4, 35
        # epochs of 500k frames (about 44k steps), 3 warm-up epochs, AdamW 8e-4, mixup.
        config.data.frame_size = (448, 796)
        config.train.batch_size = 4
        config.train.num_steps = 43_750
        config.optimizer.warmup_steps = 3_750
        config.train.checkpoint_every_steps = 1_250
        config.train.eval_every_steps = 6_250
        config.eval.split = "valid"
        config.eval.batch_size = 4
    elif variant == "pretrain":
        config.data.dataset = "v2_video"
        config.data.stride = 12  # 25 fps / 12: about 2 fps, as T-DEED's SoccerNet-v2 frames
        config.data.overlap = 0.5
        config.model.team_mode = "none"
        config.eval.metric = "tight"
        config.eval.nms_window = 2
        config.data.synthetic.games_per_split = {"train": 4, "valid": 1, "test": 1, "challenge": 1}
        config.data.clip_len = 32
        config.train.batch_size = 8
        config.train.num_steps = 300
        config.train.log_every_steps = 25
        config.train.checkpoint_every_steps = 100
        config.optimizer.warmup_steps = 30
    return config
