"""The calibration paper's final model (Cioppa et al., CVPRW 2021): the spots of a calibration-
aware network on the 8 patterned classes and of a plain CALF network on the 9 fuzzy classes,
merged per game (46.8 % loose Average-mAP on the SoccerNet-v2 test set with the top-view
features). Nothing is trained here (the `action_spotting_merged` pipeline task): name the two runs.

    python evaluate.py --config configs/action_spotting/calf_calibration_merged.py --workdir runs/calf_merged \
        --config.pipeline.patterned=runs/calf_topview --config.pipeline.fuzzy=runs/calf_fuzzy --split test

Each stage is restored with its own saved config (its data, classes and context branch).
"""

import ml_collections

from configs.action_spotting.calf import calf_config


VARIANTS = ("synthetic", "tiny", "baseline")


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    config = calf_config(arg or "synthetic")
    config.task = "action_spotting_merged"
    config.pipeline.patterned = ""  # a run of a calf_calibration_*.py config ("workdir" or "workdir:step")
    config.pipeline.fuzzy = ""  # a run of calf.py with --config.data.classes=fuzzy
    return config
