"""soccernet_v2_calibration: SoccerNet-v2 features and labels with the per-frame camera
calibrations and player detections (TFDS)."""

from soccernet_datasets.soccernet_v2_calibration.soccernet_v2_calibration_dataset_builder import Builder

__all__ = ["Builder"]
