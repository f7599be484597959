"""soccernet_calibration: SoccerNet camera calibration 2023 images and pitch-line annotations (TFDS)."""

from soccernet_datasets.soccernet_calibration.soccernet_calibration_dataset_builder import Builder

__all__ = ["Builder"]
