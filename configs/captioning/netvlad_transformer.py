"""The captioner with a Transformer decoder over the NetVLAD++ clusters (see netvlad_lstm.py).

    python train.py --config configs/captioning/netvlad_transformer.py --workdir runs/captioner_tf

Same data, encoder, variants and pipeline as netvlad_lstm.py; the decoder attends to the 64
NetVLAD++ cluster descriptors of the 45 s window.
"""

import ml_collections

from configs.captioning import netvlad_lstm

VARIANTS = netvlad_lstm.VARIANTS


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    config = netvlad_lstm.get_config(arg)
    config.model.decoder = "transformer"
    config.model.dropout_rate = 0.1
    if (arg or "synthetic") != "tiny":
        config.model.hidden_dim = 256
        config.model.num_layers = 2
        config.model.num_heads = 4
        config.model.mlp_dim = 1024
        config.optimizer.warmup_steps = 200
        config.optimizer.clip_norm = 1.0
    return config
