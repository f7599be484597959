"""The dense-captioning baseline's captioner: NetVLAD++ over 45 s around a comment, LSTM decoder.

    python train.py --config configs/captioning/netvlad_lstm.py --workdir runs/captioner
    python train.py --config configs/captioning/spotter.py --workdir runs/spotter \
        --config.init_from=runs/captioner
    python evaluate.py --workdir runs/captioner --split test --config.pipeline.spotter=runs/spotter

The baseline trains the captioner first (evaluated at the end on the ground-truth times: "oracle
spots", reported as oracle_METEOR@30 ...), then the comment spotter from the captioner's encoder,
then evaluates the two as a pipeline (METEOR@30 ...). `python -m zoo.predict captioning
--checkpoint runs/captioner --spotter runs/spotter --features 1_x.npy 2_x.npy --out
results_dense_captioning.json` captions one game. docs/captioning.md has the details.

Arguments after the colon: `synthetic` (the default without real data, trains in minutes on 2 CPU
cores), `tiny` (seconds, for tests), `baseline` (the official recipe on real data: Baidu features
at 1 fps, vocabulary of the train captions seen 5 times, 4 LSTM layers, Adam 1e-3 with plateau
decay, batch 256).
"""

import ml_collections

from configs import common
from configs.captioning import common as captioning_common

VARIANTS = captioning_common.VARIANTS


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    variant = arg or "synthetic"
    config = common.base()
    config.task = "captioning"

    config.data = captioning_common.data(variant)
    config.data.window_seconds = 45.0  # the window centred on each comment
    config.data.vocabulary = ()  # derived: the dataset's vocabulary of the train captions

    config.model = ml_collections.ConfigDict()
    config.model.name = "captioner"
    config.model.num_words = 0  # derived: the vocabulary's size
    config.model.decoder = "lstm"  # lstm | transformer
    config.model.vocab_size = 64  # NetVLAD clusters in total, half before and half after the centre
    config.model.projection_dim = 512  # features of another width are projected to this first
    config.model.embed_dim = 256
    config.model.hidden_dim = 512
    config.model.num_layers = 2
    config.model.num_heads = 8  # transformer only
    config.model.mlp_dim = 2048  # transformer only
    config.model.dropout_rate = 0.4
    config.model.max_length = 50  # tokens generated at most (end token included); longer captions are cut
    config.model.beam_width = 4  # 1: greedy decoding
    config.model.length_penalty = 0.0  # beam search's GNMT length normalisation exponent

    config.eval.spots = "auto"  # auto | spotter | oracle (the ground-truth times)
    config.eval.window_sizes = (30,)  # METEOR@30 ranks the challenge; the baseline also reports 5
    config.eval.batch_size = 256
    config.pipeline.spotter = ""  # the caption_spotting run; empty: oracle spots under eval.spots=auto

    if variant == "synthetic":
        # Sized for 2 CPU cores: the baseline's 512-d x 64-cluster code (32768 inputs to the decoder)
        # costs seconds a step there. The spotter's synthetic config has the same encoder.
        config.model.vocab_size = 32
        config.model.projection_dim = 128
        config.model.embed_dim = 128
        config.model.hidden_dim = 256
        config.model.max_length = 32  # the synthetic captions have at most 20 tokens
        config.train.batch_size = 64
        config.train.num_steps = 800
        config.train.log_every_steps = 50
        config.train.checkpoint_every_steps = 400
        config.eval.split = "test"
    elif variant == "baseline":
        config.model.num_layers = 4  # the README command's --num_layers 4
        config.train.batch_size = 256
        config.train.num_steps = 30_000
        config.train.eval_every_steps = 5_000
        config.optimizer.schedule = "plateau"
        config.optimizer.plateau_patience = 10
        config.optimizer.plateau_accumulation = 500
        config.eval.window_sizes = (30, 5)
    elif variant == "tiny":
        config.model.vocab_size = 8
        config.model.projection_dim = 16  # exercise the projection path on 512-d input
        config.model.embed_dim = 16
        config.model.hidden_dim = 32
        config.model.num_layers = 1  # compile time: the tests' end-to-end compiles this model four ways
        config.model.num_heads = 2
        config.model.mlp_dim = 64
        config.model.max_length = 24
        config.model.beam_width = 2
        config.train.batch_size = 8
        config.train.num_steps = 12
        config.train.log_every_steps = 4
        config.train.checkpoint_every_steps = 4
        config.train.keep_checkpoints = 2
        config.eval.split = "test"
        config.eval.batch_size = 32
    return config
