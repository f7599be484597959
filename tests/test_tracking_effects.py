"""Camera-motion compensation does what it is for: on synthetic sequences with a panning, zooming
camera (and shot changes), it raises HOTA over plain ByteTrack on the same public detections."""

import os

import pytest

from configs.tracking import bytetrack
from zoo.tasks import get_task
from zoo.train.task import Models, Shard

TRACKING = get_task("tracking")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("effects"))


def _hota(workdir, out, **tracking):
    config = bytetrack.get_config()
    config.data.synthetic.sequences_per_split = {"test": 2}
    config.data.synthetic.frames = 150  # 6 s: fast pans after long balls, zooms
    for key, value in tracking.items():
        config.tracking[key] = value
    records = TRACKING.predict_split(config, workdir, Models(own=None), "test", Shard())
    TRACKING.write_submission(config, records, out)
    return TRACKING.score(config, workdir, "test", out, records).headline["HOTA"]


def test_camera_motion_compensation_raises_hota(workdir, tmp_path):
    plain = _hota(workdir, str(tmp_path / "plain"))
    compensated = _hota(workdir, str(tmp_path / "cmc"), cmc="sparse_flow")
    compensated_xywh = _hota(workdir, str(tmp_path / "xywh"), cmc="sparse_flow", kalman="xywh")
    assert compensated > plain + 0.05, (plain, compensated)
    assert compensated_xywh > plain + 0.05, (plain, compensated_xywh)
    assert os.path.isfile(tmp_path / "cmc" / "soccernet_mot_results.zip")
