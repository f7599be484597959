"""Calibration-aware CALF with the player-graph branch (Cioppa et al., "Camera Calibration and
Player Localization in SoccerNet-v2 and Investigation of their Representations for Action
Spotting", CVPRW 2021): CALF on the ResNet features plus a DeeperGCN over a graph of the players
of each frame (a node per player placed on the pitch by the frame's calibration: colour, position,
box area; edges under 25 m), max-pooled over the nodes and lifted to 152 channels, next to the
152 of the feature branch. It spots the paper's 8 patterned classes; the fuzzy ones come from a
plain CALF network (`calf.py --config.data.classes=fuzzy`), merged by `calf_calibration_merged.py`.

    python train.py --config configs/action_spotting/calf_calibration_gcn.py --workdir runs/calf_gcn
    python train.py --config configs/action_spotting/calf_calibration_gcn.py:baseline \
        --config.data.manual_dir=/data/SoccerNet --workdir runs/calf_gcn

`baseline` is the published "resGCN-14" run (CALF_resGCN-14_cal_25_scaled_resnet_vis_M2 in the
official repository): 14 GENConv layers of 64 channels with softmax aggregation and a learnt
temperature, dropout 0.1, edges under 25 m, frames kept at calibration confidence 0.75, feature
multiplier 2, CALF's recipe otherwise. `synthetic` (the default) keeps the 14 layers with 32
channels and a batch of 8 to train on a CPU; `tiny` is for tests.
"""

import ml_collections

from configs.action_spotting.calf import calf_config


VARIANTS = ("synthetic", "tiny", "baseline")


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    variant = arg or "synthetic"
    config = calf_config(variant, context="player_graph")
    config.data.classes = "patterned"
    config.model.feature_multiplier = 2
    if variant == "synthetic":
        config.model.graph_hidden = 32
        config.train.batch_size = 8
    return config
