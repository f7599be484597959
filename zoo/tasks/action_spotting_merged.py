"""The calibration paper's final model as a pipeline: the spots of a calibration-aware CALF run on
the 8 patterned classes and of a plain CALF run on the 9 fuzzy classes, merged per half, then
written and scored as every action_spotting model (Cioppa et al., CVPRW 2021). Nothing is trained
here: `configs/action_spotting/calf_calibration_merged.py` names the two runs.
"""

from __future__ import annotations

from zoo.tasks import action_spotting, action_spotting_calf

TASK = action_spotting.Task(
    name="action_spotting_merged",
    make_model=None,
    example_inputs=None,
    make_loss=None,
    make_train_data=None,
    predict_split=action_spotting_calf.predict_split,
    write_submission=action_spotting.write_submission,
    score=action_spotting.score,
    zip_submission=action_spotting.zip_submission,
    check_config=action_spotting_calf.check_config,
    stages=action_spotting_calf.CLASS_STAGES,
)
