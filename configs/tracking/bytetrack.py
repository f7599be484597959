"""Tracking pipeline (task `tracking`): detector run + optional ReID run + ByteTrack / BoT-SORT.

    # association only, on each sequence's det/det.txt (or ground-truth boxes):
    python evaluate.py --config configs/tracking/bytetrack.py --workdir runs/track
    # detection + association with a trained detector, BoT-SORT extras and a ReID run:
    python evaluate.py --config configs/tracking/bytetrack.py:botsort --workdir runs/track \
        --config.pipeline.detector=runs/yolox_nano --config.pipeline.reid=runs/reid
    python -m zoo.predict tracking --checkpoint runs/track --video match.mp4 --out tracks.txt --render tracks.mp4

Variants: synthetic (the default: the synthetic SNMOT sequences), baseline (the SoccerNet ByteTrack
baseline's tracker settings on real data), botsort (camera-motion compensation, x-y-w-h Kalman,
ReID fusion, tracklet linking and interpolation), tiny (tests).
"""

import ml_collections

from configs import common
from configs.tracking.common import detector_config


def get_config(arg=None):
    variant = arg or "synthetic"
    if variant not in ("synthetic", "baseline", "botsort", "tiny"):
        raise ValueError(f"Unknown variant {variant!r}; expected synthetic, baseline, botsort or tiny.")
    config = common.base()
    config.task = "tracking"
    # The same data fields as the detector (the same tree, the same synthetic default).
    config.data = detector_config("tiny" if variant == "tiny" else "synthetic", "nano").data
    config.pipeline.detector = ""  # a tracking_detector run ("workdir[:step]"); empty: tracking.detections
    config.pipeline.reid = ""  # a reid run for appearance (BoT-SORT fusion, linking); empty: none

    t = config.tracking = ml_collections.ConfigDict()
    t.detections = "public"  # without a detector: "public" (det/det.txt) | "groundtruth" (gt boxes, score 1)
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
    t.use_appearance = False  # fuse ReID embeddings (needs pipeline.reid)
    t.appearance_thresh = 0.25
    t.proximity_thresh = 0.5
    t.feature_momentum = 0.9
    # Offline post-processing (the 2023 winners').
    t.link_tracklets = False  # join tracklets by motion (and appearance with a ReID run)
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
        t.iou_pixel_offset = 1.0
    elif variant == "tiny":
        config.eval.batch_size = 4
    return config
