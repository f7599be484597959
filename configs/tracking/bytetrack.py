"""Tracking pipeline (task `tracking`): boxes -> ByteTrack / BoT-SORT -> SNMOT-XXX.txt, HOTA.

Not trained itself: `python evaluate.py --config` runs it and keeps its config in its workdir.
Where the boxes come from is `tracking.detections`:

    # association only (the 2022 task), on each sequence's det/det.txt:
    python evaluate.py --config configs/tracking/bytetrack.py --workdir runs/track --split test
    # ... or on the ground-truth boxes:
    python evaluate.py --config configs/tracking/bytetrack.py --workdir runs/track_gt \
        --config.tracking.detections=groundtruth
    # detection + association (2023) with a trained tracking_detector run, BoT-SORT extras and
    # a reid run for appearance:
    python evaluate.py --config configs/tracking/bytetrack.py:botsort --workdir runs/botsort \
        --config.tracking.detections=detector --config.pipeline.detector=runs/yolox_nano \
        --config.pipeline.reid=runs/reid --config.tracking.use_appearance=True
    python evaluate.py --workdir runs/botsort --split challenge   # the saved config, another split
    python -m zoo.predict tracking --checkpoint runs/botsort --video match.mp4 --out tracks.txt \
        --render tracks.mp4

Stages (`config.pipeline`, each "workdir[:step]"): `detector` is needed when
tracking.detections="detector"; `reid` when tracking.use_appearance is on (it also joins the
appearance test of tracklet linking).

Variants: synthetic (the default: ByteTrack on the synthetic SNMOT sequences' det.txt), botsort
(camera-motion compensation, x-y-w-h Kalman, tracklet linking and interpolation), baseline (the
2023 SoccerNet baseline: a YOLOX detector run + ByteTrack with its settings, on real data), tiny
(tests).
"""

import ml_collections

from configs import common
from configs.tracking.common import data_config

VARIANTS = ("synthetic", "botsort", "baseline", "tiny")


def get_config(arg=None):
    variant = arg or "synthetic"
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; expected one of {VARIANTS}.")
    config = common.base()
    config.task = "tracking"
    # The same tree as the detector configs (the same synthetic default): a pipeline tracks the
    # test sequences of the tree its detector run was trained on.
    config.data = data_config(variant)
    config.pipeline.detector = ""  # a tracking_detector run ("workdir[:step]"), for detections="detector"
    config.pipeline.reid = ""  # a reid run, for use_appearance (and appearance-checked linking)

    t = config.tracking = ml_collections.ConfigDict()
    # Where each frame's boxes come from: "public" (the sequence's det/det.txt), "groundtruth"
    # (gt/gt.txt boxes, score 1: the 2022 association task) or "detector" (pipeline.detector).
    t.detections = "public"
    # ByteTrack (the SoccerNet baseline's settings).
    t.track_thresh = 0.5  # high detections: first association, may start tracks
    t.low_thresh = 0.1  # low detections (above this): second association
    t.new_track_thresh = 0.6  # least score that starts a track (ByteTrack: track_thresh + 0.1)
    t.match_thresh = 0.8  # largest first-association cost
    t.track_buffer = 30  # frames (at 30 fps) a lost track waits
    t.fuse_score = True  # IoU x detection score in the first association (off on MOT20)
    t.iou_pixel_offset = 1.0  # 1: the original's inclusive-pixel IoU; 0: plain IoU
    t.min_box_area = 10.0  # output filter of the baseline
    t.aspect_ratio_thresh = 1.6  # boxes wider than 1.6 x their height are not reported
    # BoT-SORT extras.
    t.kalman = "xyah"  # xyah (ByteTrack) | xywh (BoT-SORT)
    t.cmc = "none"  # camera-motion compensation: none | sparse_flow | ecc
    t.cmc_downscale = 1.0  # frames shrunk by this before estimating the motion
    t.use_appearance = False  # fuse ReID embeddings into the first association (needs pipeline.reid)
    t.appearance_thresh = 0.25  # half cosine distance above which appearance cannot match
    t.proximity_thresh = 0.5  # IoU distance above which appearance cannot match
    t.feature_momentum = 0.9  # moving average of a track's embedding
    # Offline post-processing (the 2023 winners').
    t.link_tracklets = False  # join tracklets by motion (and appearance, with a reid run)
    t.link_max_gap = 50  # frames
    t.link_max_distance = 1.5  # box heights between the extrapolated end and the next start
    t.link_appearance_thresh = 0.3  # cosine distance of the tracklets' mean embeddings
    t.interpolate_max_gap = 0  # fill gaps of up to this many frames (0: off)

    config.eval.split = "test"
    config.eval.batch_size = 16  # frames per detector / ReID batch

    if variant == "botsort":
        t.kalman = "xywh"
        t.cmc = "sparse_flow"
        t.track_thresh = 0.6  # BoT-SORT's track_high_thresh / new_track_thresh
        t.new_track_thresh = 0.7
        t.link_tracklets = True
        t.interpolate_max_gap = 20
    elif variant == "baseline":
        t.detections = "detector"  # --config.pipeline.detector=<a yolox_x.py:baseline run>
    elif variant == "tiny":
        config.eval.batch_size = 4
    return config
