"""CALF (Cioppa et al., "A Context-Aware Loss Function for Action Spotting in Soccer Videos",
CVPR 2020) on SoccerNet-v2 2 fps features, with the official benchmark's recipe.

    python train.py --config configs/action_spotting/calf.py --workdir runs/calf
    python train.py --config configs/action_spotting/calf.py:tiny --workdir /tmp/calf
    python train.py --config configs/action_spotting/calf.py:baseline \
        --config.data.manual_dir=/data/SoccerNet --workdir runs/calf
    python train.py --config configs/action_spotting/calf.py --config.data.classes=fuzzy --workdir runs/calf_fuzzy

Arguments after the colon: `synthetic` (the default without real data: CPU-sized, on the
synthetic games with calibrations and players, the same data as the calibration-aware configs so
that their patterned-class scores compare), `tiny` (seconds, for tests), `baseline` (the
published recipe for real data: ResNET_TF2_PCA512 input, 120 s chunks, 40 s receptive field, 15
detections per chunk, capsules of 16, lambda_coord 5, lambda_noobj 0.5, segmentation weight
0.000367, batch 32, Adam 1e-3 (eps 1e-7) with plateau decay after 25 epochs of 18000 chunks,
NMS 20 s). `config.data.classes` = fuzzy / patterned trains the calibration paper's second
network on its class subset (the K parameters are the subset's columns).

The calibration-aware configs (`calf_calibration_*.py`) build on `calf_config` here.
"""

import ml_collections

from configs import common


VARIANTS = ("synthetic", "tiny", "baseline")


def calf_config(variant: str, context: str = "none") -> ml_collections.ConfigDict:
    """A CALF config for `variant` with the given context branch (see zoo.models.calf)."""
    config = common.base()
    config.task = "action_spotting"

    config.data = ml_collections.ConfigDict()
    config.data.manual_dir = ""  # official SoccerNet tree; empty: synthetic data in the workdir
    config.data.data_dir = ""  # TFDS output; empty: <workdir>/tfds
    config.data.features = "ResNET_TF2_PCA512"  # ResNET_TF2_PCA512 | ResNET_TF2 (2 fps)
    config.data.framerate = 2
    config.data.classes = "all"  # all | patterned | fuzzy (the calibration paper's split)
    config.data.chunk_seconds = 120  # T = 240 frames
    config.data.receptive_field_seconds = 40  # RF = 80 frames
    config.data.chunks_per_epoch = 18000  # an "epoch" of the published training, for logging
    config.data.train_split = "train"
    config.data.read_threads = 2  # threads cutting chunks (and rendering top views) ahead of the step
    # Calibration context (used when model.context is not "none").
    config.data.calibration_threshold = 0.75  # frames whose camera confidence is lower are empty
    config.data.max_players = 30  # player slots per frame (graph nodes); more detections: best scores kept
    # Graph node features 7-8: the pitch point under the image centre (True) or zeros (False, as
    # in the published resGCN-14 run, which had calibration_cone off).
    config.data.graph_frame_centre = False
    config.data.topview = ml_collections.ConfigDict()
    config.data.topview.height = 32  # top views for "topview_images" (published radar: 64 x 32)
    config.data.topview.width = 64
    config.data.topview.mode = "colour"  # colour | binary
    config.data.topview.player_size = 2  # player squares, pixels
    config.data.topview.resize = 256  # "topview_features": the published Resize(256) + CenterCrop(224)
    config.data.topview.crop = 224
    config.data.topview.backbone_weights = ""  # torchvision resnet34 .pth; empty: random frozen weights
    config.data.topview.backbone_seed = 0
    config.data.topview.backbone_blocks = (3, 4, 6, 3)  # basic blocks per stage: ResNet-34
    config.data.topview.extract_batch_size = 64
    config.data.synthetic = ml_collections.ConfigDict()  # only used when manual_dir is empty
    config.data.synthetic.games_per_split = {"train": 12, "valid": 2, "test": 4, "challenge": 1}
    config.data.synthetic.half_seconds = 600
    config.data.synthetic.events_per_half = 24  # 2.4 a minute in 10-minute halves, as real halves have
    config.data.synthetic.seed = 0
    config.data.synthetic.with_players = True  # write calibrations and players too
    config.data.synthetic.set_piece_features = "shared"  # the layouts, not the features, name the set piece

    config.model = ml_collections.ConfigDict()
    config.model.name = "calf"
    config.model.dim_capsule = 16
    config.model.num_detections = 15
    config.model.feature_multiplier = 1  # 2 in the calibration paper (152 + 152 channels)
    config.model.context = context  # none | topview_features | topview_images | player_graph
    config.model.context_dropout = 0.0
    config.model.graph_hidden = 64
    config.model.graph_layers = 14
    config.model.graph_dropout = 0.1
    config.model.graph_edge_distance = 25.0  # metres
    config.model.graph_aggregation = "dense"  # dense | segment (equal; see zoo.models.deeper_gcn)

    config.loss = ml_collections.ConfigDict()
    config.loss.lambda_coord = 5.0
    config.loss.lambda_noobj = 0.5
    config.loss.segmentation_weight = 0.000367
    config.loss.spotting_weight = 1.0

    config.optimizer.learning_rate = 1e-3
    config.optimizer.eps = 1e-7
    config.eval.nms_window_seconds = 20
    config.eval.nms_threshold = 0.0
    config.eval.metrics = ("loose", "tight")
    config.eval.batch_size = 32

    if variant == "synthetic":
        config.train.batch_size = 16
        config.train.num_steps = 2000
        config.train.log_every_steps = 50
        config.train.checkpoint_every_steps = 500
        config.train.eval_every_steps = 1000
        # The spotting module reads the segmentation capsules, so it learns only once they mean
        # something; at the published weight (0.000367) the segmentation loss is a few percent of
        # the total and takes published epochs to shape them: after 400 CPU steps the scores
        # near an action were 0.18 against 0.16 far from one, and the spotting loss had not
        # moved. At 0.05 the segmentation leads within 1000 steps and the spotting follows.
        config.loss.segmentation_weight = 0.05
        # A CPU run is a few published epochs, not hundreds: a cosine decay lets the matched
        # spotting targets settle by its end where the plateau decay would not have started.
        config.optimizer.schedule = "cosine"
        config.optimizer.warmup_steps = 100
        config.optimizer.end_learning_rate = 1e-5
        config.eval.split = "test"
    elif variant == "baseline":
        config.train.batch_size = 32
        # Up to 1000 epochs of 18000 chunks as published; the plateau decay ends it in practice.
        config.train.num_steps = 1000 * 563
        config.train.log_every_steps = 563
        config.train.checkpoint_every_steps = 563 * 5
        config.train.eval_every_steps = 563 * 20
        config.optimizer.schedule = "plateau"
        config.optimizer.plateau_patience = 25
        config.optimizer.plateau_accumulation = 563  # one published epoch
        config.optimizer.plateau_factor = 0.1
        config.optimizer.end_learning_rate = 1e-8
    elif variant == "tiny":
        config.data.chunk_seconds = 30
        config.data.receptive_field_seconds = 10
        config.data.read_threads = 0
        config.data.max_players = 12
        config.data.topview.height = 28
        config.data.topview.width = 28
        config.data.topview.resize = 40
        config.data.topview.crop = 32
        config.data.topview.extract_batch_size = 16
        config.data.topview.backbone_blocks = (1, 1, 1, 1)  # a ResNet-10 compiles in seconds
        config.data.synthetic.games_per_split = {"train": 2, "valid": 1, "test": 1, "challenge": 1}
        config.data.synthetic.half_seconds = 120
        config.data.synthetic.events_per_half = 10
        config.model.dim_capsule = 4
        config.model.num_detections = 5
        config.model.graph_hidden = 8
        config.model.graph_layers = 2
        config.train.batch_size = 8
        config.train.num_steps = 6
        config.train.log_every_steps = 2
        config.train.checkpoint_every_steps = 3
        config.train.keep_checkpoints = 2
        config.eval.split = "test"
        config.eval.batch_size = 8
    else:
        raise ValueError(f"Unknown variant {variant!r}; expected tiny, synthetic or baseline.")
    return config


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    return calf_config(arg or "synthetic")
