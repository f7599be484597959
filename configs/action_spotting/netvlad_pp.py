"""NetVLAD++ on SoccerNet-v2 2 fps features: the official action-spotting baseline.

    python train.py --config configs/action_spotting/netvlad_pp.py --workdir runs/nvpp
    python train.py --config configs/action_spotting/netvlad_pp.py:tiny --workdir /tmp/nvpp
    python train.py --config configs/action_spotting/netvlad_pp.py \
        --config.data.manual_dir=/data/SoccerNet --config.data.features=ResNET_TF2 --workdir runs/nvpp

Arguments after the colon: `tiny` (a seconds-long run for tests), `synthetic` (the default
without real data, sized to train in a few minutes on 2 CPU cores), `baseline` (the official
hyper-parameters, for real data: window 15 s, vocabulary 64, batch 256, Adam 1e-3 with plateau
decay, 2048-d ResNET_TF2 input projected to 512).
"""

import ml_collections

from configs import common

VARIANTS = ("synthetic", "tiny", "baseline")


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    variant = arg or "synthetic"
    config = common.base()
    config.task = "action_spotting"

    config.data = ml_collections.ConfigDict()
    config.data.manual_dir = ""  # official SoccerNet tree (league/season/game/...); empty: synthetic data
    config.data.data_dir = ""  # where the TFDS dataset is built; empty: <workdir>/tfds
    config.data.features = "ResNET_TF2_PCA512"  # ResNET_TF2_PCA512 | ResNET_TF2 | baidu_soccer_embeddings
    config.data.framerate = 2  # frames per second of the features (baidu: 1)
    config.data.window_seconds = 15  # window length; the model splits it at its centre
    config.data.train_split = "train"
    config.data.synthetic = ml_collections.ConfigDict()  # only used when manual_dir is empty
    config.data.synthetic.games_per_split = {"train": 12, "valid": 2, "test": 4, "challenge": 1}
    config.data.synthetic.half_seconds = 600
    config.data.synthetic.events_per_half = 40
    config.data.synthetic.seed = 0

    config.model = ml_collections.ConfigDict()
    config.model.name = "netvlad_pp"  # zoo.models registry; the other fields are NetVLADPlusPlus's
    config.model.vocab_size = 64  # NetVLAD clusters in total, half before and half after the centre
    config.model.projection_dim = 512  # features of another width are projected to this; 0: never
    config.model.dropout_rate = 0.4

    config.eval.nms_window_seconds = 30  # per-class NMS window
    config.eval.nms_threshold = 0.0  # keep NMS peaks scoring at least this
    config.eval.metrics = ("loose", "tight")  # Average-mAP variants reported

    if variant == "synthetic":
        config.train.batch_size = 64
        config.train.num_steps = 1500
        config.train.log_every_steps = 50
        config.train.checkpoint_every_steps = 250
        config.train.eval_every_steps = 500
        config.eval.split = "test"
    elif variant == "baseline":
        config.data.features = "ResNET_TF2"
        config.train.batch_size = 256
        config.train.num_steps = 60_000
        config.train.eval_every_steps = 5_000
        config.optimizer.schedule = "plateau"
        config.optimizer.plateau_patience = 10
        config.optimizer.plateau_accumulation = 500
    elif variant == "tiny":
        config.data.synthetic.games_per_split = {"train": 2, "valid": 1, "test": 1, "challenge": 1}
        config.data.synthetic.half_seconds = 120
        config.data.synthetic.events_per_half = 12
        config.model.vocab_size = 8
        config.model.projection_dim = 32  # exercise the projection path on 512-d input
        config.train.batch_size = 8
        config.train.num_steps = 12
        config.train.log_every_steps = 4
        config.train.checkpoint_every_steps = 4
        config.train.keep_checkpoints = 2
        config.eval.split = "test"
        config.eval.batch_size = 64
    else:
        raise ValueError(f"Unknown variant {variant!r}; expected tiny, synthetic or baseline.")
    return config
