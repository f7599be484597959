"""Fields shared by the re-identification configs; a model file sets `config.model` and variants.

Variants (the argument after the colon):
  synthetic  the default: the built-in synthetic players, sized to train in minutes on a CPU;
  baseline   for real SoccerNet ReID data: 256x128 input, P x K = 16 x 4, 60 epochs-ish;
  tiny       a seconds-long run for tests.
"""

import ml_collections

from configs import common

VARIANTS = ("synthetic", "tiny", "baseline")


def reid_config(variant: str | None) -> ml_collections.ConfigDict:
    variant = variant or "synthetic"
    config = common.base()
    config.task = "reid"

    config.data = ml_collections.ConfigDict()
    config.data.manual_dir = ""  # official tree holding train/ valid/ test/ challenge/; empty: synthetic
    config.data.data_dir = ""  # TFDS data dir; empty: <workdir>/tfds
    config.data.height = 256  # input size; fine-tune at 384x192 from a 256x128 run with init_from
    config.data.width = 128
    config.data.sampler = "identity"  # identity: P x K batches; action: players of one action together
    config.data.instances_per_identity = 4  # K of P x K
    config.data.read_threads = 2  # threads decoding and augmenting batches ahead of the step
    config.data.synthetic = ml_collections.ConfigDict()  # only used when manual_dir is empty
    config.data.synthetic.actions_per_split = {"train": 60, "valid": 6, "test": 8, "challenge": 2}
    config.data.synthetic.seed = 0

    config.augment = ml_collections.ConfigDict()  # 0 switches an augmentation off
    config.augment.flip = 0.5  # horizontal flip probability
    config.augment.padding = 10  # zero-pad then random-crop back, in pixels
    config.augment.brightness = 0.2  # colour jitter strengths
    config.augment.contrast = 0.15
    config.augment.saturation = 0.0
    config.augment.hue = 0.0
    config.augment.erasing = 0.5  # random erasing probability

    config.model = ml_collections.ConfigDict()
    config.model.name = "reid"  # zoo.models registry: ReidModel (backbone + BNNeck head)
    config.model.backbone = "resnet50"  # resnet50 | osnet_ain (x1.0) | osnet_ain_x0_75 | ...
    config.model.num_classes = 0  # training identities; 0: read from the dataset
    config.model.pooling = "avg"  # avg | gem (resnet50)
    config.model.reduction_dim = 0  # e.g. 512 for resnet50_fc512; 0: none
    config.model.last_stride = 1  # ResNet's last stride (1 in the strong baseline)
    config.model.remat = False  # recompute each backbone block in the backward pass (less memory)

    config.loss = ml_collections.ConfigDict()
    config.loss.identity_weight = 0.5  # the SoccerNet baseline weighs both losses 0.5
    config.loss.label_smoothing = 0.1
    config.loss.metric = "triplet"  # triplet (batch hard) | infonce (supervised contrastive)
    config.loss.metric_weight = 0.5
    config.loss.margin = 0.3  # triplet margin
    config.loss.temperature = 0.1  # infonce temperature

    config.optimizer.name = "adamw"
    config.optimizer.learning_rate = 3.5e-4
    config.optimizer.weight_decay = 5e-4
    config.optimizer.schedule = "cosine"
    config.optimizer.warmup_steps = 500
    config.optimizer.end_learning_rate = 1e-6

    config.eval.split = "valid"
    config.eval.batch_size = 128
    config.eval.feature = "bn"  # bn: the BNNeck output (retrieval feature of the strong baseline); raw: before it
    config.eval.flip = False  # also embed mirrored images and average
    config.eval.rerank = False  # k-reciprocal re-ranking within each action
    config.eval.rerank_k1 = 20
    config.eval.rerank_k2 = 6
    config.eval.rerank_lambda = 0.3
    config.eval.ensemble_mode = "concat"  # concat: joined embeddings; distance: weighted mean distance
    config.eval.ensemble_weights = ()  # one per run, this one first; empty: equal

    config.train.batch_size = 64
    if variant == "synthetic":
        # Trained from scratch on a few hundred rendered players, in minutes on a CPU: a small
        # input, a higher learning rate, the triplet loss weighted up (it learns first; the
        # identity classifier needs many epochs), and no extra augmentation (the renderer
        # already varies scale, crop, blur, occlusion and light between views).
        config.data.height, config.data.width = 64, 32
        config.train.batch_size = 32
        config.train.num_steps = 1000
        config.train.log_every_steps = 20
        config.train.checkpoint_every_steps = 200
        config.train.eval_every_steps = 250
        config.optimizer.learning_rate = 3e-3
        config.optimizer.warmup_steps = 50
        config.loss.identity_weight = 0.5
        config.loss.metric_weight = 1.0
        config.augment.padding = 4
        config.augment.brightness = config.augment.contrast = 0.0
        config.augment.erasing = 0.0
        config.eval.split = "test"
    elif variant == "baseline":
        config.train.num_steps = 30_000
        config.train.checkpoint_every_steps = 1_000
        config.train.eval_every_steps = 5_000
    elif variant == "tiny":
        config.data.synthetic.actions_per_split = {"train": 6, "valid": 2, "test": 2, "challenge": 1}
        config.data.height, config.data.width = 64, 32
        config.data.read_threads = 0
        config.train.batch_size = 8
        config.train.num_steps = 4
        config.train.log_every_steps = 2
        config.train.checkpoint_every_steps = 2
        config.train.keep_checkpoints = 2
        config.optimizer.warmup_steps = 1
        config.eval.split = "test"
        config.eval.batch_size = 32
    else:
        raise ValueError(f"Unknown variant {variant!r}; expected synthetic, baseline or tiny.")
    return config
